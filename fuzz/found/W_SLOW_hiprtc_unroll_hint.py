"""Fuzz case 20261201:123: hang (Timeout) in phase 'compile hip'.

no answer after 60 s in phase 'compile hip'

Expected: the reference's numbers on PoCL, CUDA/HIP sources that compile, or a clean vx.*Error.
Run: python <this file>; exits 0 once the case passes (run a crash case in a subprocess).
"""
import numpy as np  # noqa: F401  (the harness run_standalone defines reads np)

import vortex as vx

H, W = vx.dims('H W')
y, x, b = vx.vars('y x b')
in0 = vx.Input('in0', vx.float32, (H, W))
in1 = vx.Input('in1', vx.int32, (H, 2 * W))
half = vx.Input('half', vx.float32, (H, 2 * W))
gain = vx.Param("gain", vx.float32)
in0_mi = vx.mirror_image(in0)
in1_re = vx.repeat_edge(in1)
f0 = vx.Func('f0', shape=(16,))
f0[b] = vx.float32(0.0)
r0 = vx.RDom([(0, H), (0, W)], name='r0')
r0.where((in0[r0[0], r0[1]] == 2.0))
f0[vx.clamp(vx.cast(vx.int32, vx.clamp(in0[r0[0], r0[1]], -1000.0, 1000.0)), 0, 15)] += in0[r0[0], r0[1]]
f1 = vx.Func('f1')
f1[y, x] = ((in1_re[y, x] - vx.saturating_cast(vx.int32, in0_mi[vx.clamp(y + 3, 0, H - 1), x])) // (in1_re[H - 1 - y, x * 3 // 2] // in1_re[H - y, x // 2 - 1]))
f2 = vx.Func('f2')
f2[y, x] = (vx.min(vx.saturating_cast(vx.int32, half[H - 1 - y, vx.clamp(2 * x + 1 + -1, 0, (2 * W) - 1)]), vx.cast(vx.int32, vx.clamp(f0[15], -1000.0, 1000.0))) // vx.abs(y))
out0 = vx.Func('out0', shape=(H, W,))
out0[y, x] = (y ^ f2[H - 1 - y, W - 1 - x])
pipe = vx.Pipeline(out0)

s = vx.Schedule(pipe)
s["out0"].tile("y", "x", "y", "x", "yi1", "xi2", 8, 16)
s["f2"].compute_at("out0", "xi2")
s["f2"].tile("y", "x", "loop_n", "xo4", "idx", "xi6", 3, 4)
s["f2"].split("xo4", "xo4o7", "xo4i8", 32)
s["f2"].vectorize("loop_n", 8)
s["f0"].compute_root()
s["f0"].gpu_tile("b", "bo9", "bi10", 16)

INPUTS = {'in0': ('float32', [('H', 1), ('W', 1)], False), 'in1': ('int32', [('H', 1), ('W', 2)], False), 'half': ('float32', [('H', 1), ('W', 2)], False)}
PARAMS = {'gain': 3.0}
SIZES = [{'H': 1, 'W': 1}, {'H': 7, 'W': 64}]
TARGETS = ('opencl', 'cuda', 'hip')


if __name__ == "__main__":
    import pathlib
    import sys
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))
    from fuzz.case import run_standalone   # the fuzzer's harness: arguments, comparison, main
    sys.exit(run_standalone(globals()))
