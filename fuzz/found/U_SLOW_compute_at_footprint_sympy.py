"""HANG (slow lowering): the footprint of a ``compute_at`` Func read at several affine, clamped
and floor-divided indices is simplified with sympy, and the time grows with the number of reads:
6 reads of one boundary condition take ~3-6 s here just to reach a ScheduleError; the fuzzer's
case (10 reads) passed its 60 s limit (19 s of CPU on an idle core, 80 s under a profiler).

Found by the fuzzer (case 222958:264, counted as a hang: ``vectorize(y, 3)`` then
``compute_at(out0, 'y_vi')`` of a constant_exterior). The time goes to
``vortex/lower/sites.py`` ``_grouped`` → ``_extent`` → ``sympy.simplify`` (1003 calls).
Same family as issue 10's "build time explodes with symbolic sizes" (item 8: interval
arithmetic on the IR's own expressions, sympy only where a proof needs it).
Expected: the lowering answers (a kernel or a vx.ScheduleError) in well under a second.
"""
import sys
import time

import vortex as vx

H, W = vx.dims("H W")
y, x = vx.vars("y x")
a = vx.Input("a", vx.int32, (H, W))
src = vx.constant_exterior(a, 100)
out = vx.Func("out", shape=(H, W))
out[y, x] = (src[y, 2 * x + 1] + src[vx.clamp(y + 3, 0, H - 1), x // 2] + src[y * 3 // 2, W - x]
             + src[2 * y + 1, x] + src[vx.clamp(y - 1, 0, H - 1), vx.clamp(x - 2, 0, W - 1)]
             + src[vx.clamp(y + 3, 0, H - 1), 2 * x + 1])
pipe = vx.Pipeline(out)
s = vx.Schedule(pipe)
s[out].vectorize(y, 3).gpu_blocks(y)
s[src].compute_at(out, "y_vi")
t = time.perf_counter()
try:
    vx.source(pipe, s, "opencl")
    what = "a kernel"
except vx.VortexError as e:
    what = f"{type(e).__name__}: {str(e)[:90]}…"
took = time.perf_counter() - t
print(f"lowering took {took:.1f} s ({what})")
sys.exit(0 if took < 1.0 else 1)
