"""Fuzz case 20261201:2026: wrong (WRONG) in phase 'run opencl sizes {'H': 48, 'W': 61}'.

output 0: 1 of 48 elements differ; first at (10,): expected np.float32(inf), got np.float32(nan)

Expected: the reference's numbers on PoCL, CUDA/HIP sources that compile, or a clean vx.*Error.
Run: python <this file>; exits 0 once the case passes (run a crash case in a subprocess).
"""
import numpy as np  # noqa: F401  (the harness run_standalone defines reads np)

import vortex as vx

H, W = vx.dims('H W')
y, x, b = vx.vars('y x b')
in0 = vx.Input('in0', vx.int32, (H, W))
gain = vx.Param("gain", vx.float32)
f0 = vx.Func('f0', shape=(H, W,))
f0[y, x] = vx.min(vx.cast(vx.float32, in0[y, x]), vx.cast(vx.float32, in0[vx.clamp(y + -1, 0, H - 1), vx.clamp(x + -1, 0, W - 1)]))
r0 = vx.RDom([(1, H - 1)], name='r0')
f0[r0, x] = (f0[r0 - 1, x] * f0[r0, x])
f1 = vx.Func('f1')
f1[y, x] = vx.saturating_cast(vx.uint8, (in0[y, x] * vx.cast(vx.int32, vx.clamp(f0[y, x], -1000.0, 1000.0))))
f2 = vx.Func('f2', shape=(16,))
f2[b] = vx.float32(3.0)
r1 = vx.RDom([(0, H), (0, W)], name='r1')
f2[f1[r1[0], r1[1]] // 16] += 1
out0 = vx.Func('out0', shape=(H,))
r2 = vx.RDom(W, name='r2')
out0[y] = vx.sum(f0[H - 1 - y, r2])
pipe = vx.Pipeline(out0)

s = vx.Schedule(pipe)
s["out0"].split("y", "yo1", "yi2", 2)
s["out0"].split("r2", "r2", "r2i3", 32)
s["out0"].unroll("r2i3", 4)
s["out0"].split("yi2", "yi2", "yi2i4", 16)
s["f0"].compute_root()
s["f0"].reorder("x", "y")
s["f0"].unroll("y", 2)

INPUTS = {'in0': ('int32', [('H', 1), ('W', 1)], False)}
PARAMS = {'gain': 0.0}
SIZES = [{'H': 61, 'W': 23}, {'H': 48, 'W': 61}]
TARGETS = ('opencl', 'cuda', 'hip')


if __name__ == "__main__":
    import pathlib
    import sys
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))
    from fuzz.case import run_standalone   # the fuzzer's harness: arguments, comparison, main
    sys.exit(run_standalone(globals()))
