"""Bug: ``stage(src, at=x)`` followed by a directive that replaces loop ``x`` (split, tile,
gpu_tile, fuse) is accepted by the schedule, and the lowering then crashes with a bare
StopIteration: the staging looks for a loop named ``x`` that no longer exists.

Found by the fuzzer (case ci:165: ``stage('in0', at='in0_d1')`` then ``gpu_tile(in0_d0, in0_d1,
…)`` on a compute_root boundary condition).
    File "vortex/lower/sites.py", line 47, in fixed_loops
        site_loop = next(lp for lp in loops if lp.name == site)
    StopIteration
Expected: a vx.ScheduleError naming stage() and the loop (as ``pipeline(ko)`` does for a loop
with no stage), or the stage following the loop that took x's place.
"""
import sys

import numpy as np

import vortex as vx

N = vx.Dim("N")
x = vx.Var("x")
a = vx.Input("a", vx.float32, (N,))
f = vx.Func("f", shape=(N,))
f[x] = a[x] * 2
pipe = vx.Pipeline(f)
s = vx.Schedule(pipe)
s[f].stage("a", at="x", memory="register")
s[f].split(x, "xo", "xi", 4)          # accepted: loop x is gone now
v = np.arange(5, dtype=np.float32)
try:
    k = vx.compile(pipe, schedule=s, target="opencl")
except vx.VortexError as e:
    print("fixed: VortexError:", type(e).__name__, e)
    sys.exit(0)
except Exception as e:  # noqa: BLE001
    print(f"BUG: non-Vortex exception {type(e).__name__}: {e}")
    sys.exit(1)
got, want = k(a=v), pipe.reference(a=v)
print(f"compiled: expected {want}, got {got}")
sys.exit(0 if np.array_equal(got, want) else 1)
