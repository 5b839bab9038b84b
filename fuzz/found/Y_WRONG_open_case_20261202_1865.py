"""OPEN (fuzz case 1865 of seed 20261202, found at the end of a session, not yet fixed): output 1: 1 of 2852 int32 elements differ by one (517088 vs 517089); not diagnosed.

Exits 0 once fixed.
"""
import numpy as np  # noqa: F401  (the harness run_standalone defines reads np)

import vortex as vx

C, H, W = vx.dims('C H W')
c, y, x, b = vx.vars('c y x b')
in0 = vx.Input('in0', vx.float32, (C, H, W))
in1 = vx.Input('in1', vx.float32, (C, H, W))
k = vx.Param("k", vx.int32, range=(0, 3))
f0 = vx.Func('f0')
f0[c, y, x] = vx.select((vx.cast(vx.int32, vx.select((c != 3), vx.cast(vx.uint8, vx.clamp(in1[C - 1 - c, y, x], 0.0, 255.0)), vx.cast(vx.uint8, vx.clamp(in0[vx.clamp(c + 1, 0, C - 1), y, x], 0.0, 255.0)))) == vx.mux(c % 4, [vx.saturating_cast(vx.int32, in0[c, vx.clamp(y + -2, 0, H - 1), x]), vx.saturating_cast(vx.int32, in1[C - 1 - c, vx.clamp(y + 3, 0, H - 1), W - 1 - x]), vx.cast(vx.int32, vx.clamp(in1[c, vx.clamp(y + -1, 0, H - 1), W - 1 - x], -1000.0, 1000.0))])), vx.min(vx.cast(vx.uint8, vx.clamp(in1[c, vx.clamp(y + 1, 0, H - 1), vx.clamp(x + -1, 0, W - 1)], 0.0, 255.0)), vx.abs(vx.cast(vx.uint8, vx.clamp(in0[vx.clamp(c + 1, 0, C - 1), y, x], 0.0, 255.0)))), vx.cast(vx.uint8, vx.cast(vx.int32, vx.cast(vx.uint8, x))))
f1 = vx.Func('f1', shape=(C, H, W,))
f1[c, y, x] = (vx.cast(vx.uint8, vx.clamp(in1[C - 1 - c, vx.clamp(y + 1, 0, H - 1), x], 0.0, 255.0)) ^ (vx.saturating_cast(vx.uint8, in0[c, vx.clamp(y + 3, 0, H - 1), vx.clamp(x + -2, 0, W - 1)]) * f0[c, H - 1 - y, vx.clamp(x + -2, 0, W - 1)]))
out0 = vx.Func('out0', shape=(C, H, W,))
out0[c, y, x] = f1[vx.clamp(c + -1, 0, C - 1), y, x]
out1 = vx.Func('out1', shape=(C, H, W,))
r0 = vx.RDom(W, name='r0')
r0.where((out0[vx.clamp(c + 3, 0, C - 1), y, r0] >= out0[c, vx.clamp(y + -2, 0, H - 1), W - 1 - x]))
out1[c, y, x] = vx.saturating_cast(vx.int32, (vx.cast(vx.float32, out0[vx.clamp(c + -1, 0, C - 1), vx.clamp(y + -2, 0, H - 1), x]) * vx.sum(vx.exp(vx.clamp(vx.cast(vx.float32, out0[c, y, r0]), -8.0, 8.0)))))
pipe = vx.Pipeline(out0, out1)

s = vx.Schedule(pipe)
s["out1"].gpu_tile("x", "xo1", "xi2", 16)
s["out1"].gpu_blocks("c")
s["out0"].gpu_tile("x", "xo3", "xi4", 8)
s["f1"].compute_root()
s["f1"].gpu_tile("x", "xo5", "xi6", 16)

INPUTS = {'in0': ('float32', [('C', 1), ('H', 1), ('W', 1)], False), 'in1': ('float32', [('C', 1), ('H', 1), ('W', 1)], False)}
PARAMS = {'k': 0}
SIZES = [{'C': 4, 'H': 61, 'W': 31}, {'C': 4, 'H': 23, 'W': 31}]
TARGETS = ('opencl',)


if __name__ == "__main__":
    import pathlib
    import sys
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))
    from fuzz.case import run_standalone   # the fuzzer's harness: arguments, comparison, main
    sys.exit(run_standalone(globals()))
