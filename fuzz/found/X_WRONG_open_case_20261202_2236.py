"""OPEN (fuzz case 2236 of seed 20261202, found at the end of a session, not yet fixed): one Func over a 3-D gpu_tile (16, 5, 2): 2 of 629 int32 elements differ (expected 0, got -1); the same with the partition, cse and prove-guards passes each removed, so not those passes; not diagnosed.

Exits 0 once fixed.
"""
import numpy as np  # noqa: F401  (the harness run_standalone defines reads np)

import vortex as vx

C, H, W = vx.dims('C H W')
c, y, x, b = vx.vars('c y x b')
in0 = vx.Input('in0', vx.float32, (C, 2 * H, W))
gain = vx.Param("gain", vx.float32)
k = vx.Param("k", vx.int32, range=(0, 3))
in0_ce = vx.constant_exterior(in0, -0.75)
out0 = vx.Func('out0', shape=(C, H, W,))
out0[c, y, x] = vx.select((vx.saturating_cast(vx.uint8, x) >= vx.max(vx.saturating_cast(vx.uint8, in0_ce[c + 2, 2 * y + 0, vx.clamp(x + 1, 0, W - 1)]), vx.saturating_cast(vx.uint8, in0_ce[c, y, x]))), vx.min(vx.select(((vx.mux(x % 4, [vx.saturating_cast(vx.int32, in0_ce[c + k, y + 1, W - 1 - x]), vx.saturating_cast(vx.int32, in0_ce[c - 1, H - y, x // 2 - 1]), k]) <= vx.saturating_cast(vx.int32, in0_ce[c, y * 3 // 2, x - 1])) ^ (vx.saturating_cast(vx.int32, in0_ce[c, 2 * y, 2 * x]) != vx.saturating_cast(vx.int32, in0[C - 1 - c, 2 * y + 1, vx.clamp(x + -2, 0, W - 1)]))), c, 3), (vx.saturating_cast(vx.int32, in0_ce[c, y // 2 - 1, W - x]) % vx.saturating_cast(vx.int32, in0[c, 2 * y + 1, x]))), (vx.saturating_cast(vx.int32, in0_ce[c, y + 2, vx.clamp(x + 1, 0, W - 1)]) % vx.saturating_cast(vx.int32, in0_ce[C - 1 - c, 2 * y + 1, x * 3 // 2])))
pipe = vx.Pipeline(out0)

s = vx.Schedule(pipe)
s["out0"].gpu_tile("c", "y", "x", "co1", "yo2", "xo3", "ci4", "yi5", "xi6", 16, 5, 2)

INPUTS = {'in0': ('float32', [('C', 1), ('H', 2), ('W', 1)], True)}
PARAMS = {'gain': 0.5, 'k': 3}
SIZES = [{'C': 1, 'H': 17, 'W': 37}, {'C': 4, 'H': 11, 'W': 16}]
TARGETS = ('opencl',)


if __name__ == "__main__":
    import pathlib
    import sys
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))
    from fuzz.case import run_standalone   # the fuzzer's harness: arguments, comparison, main
    sys.exit(run_standalone(globals()))
