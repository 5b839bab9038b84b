"""WRONG RESULT (against docs/semantics.md): ``vx.min``/``vx.max``/``vx.clamp`` and the
``vx.maximum``/``vx.minimum`` reductions drop NaN on every target (C's fmin/fmax and the
``acc = max(acc, v)`` loop), while the reference — and the documented meaning, "vx.min/max/clamp
are np.minimum/np.maximum" — propagates it.

Found by the fuzzer on cases whose float inputs hold NaN/inf (about 6 % of cases), e.g. a stencil
``vx.min(img[y, x], …)``. Either the targets print a NaN-propagating min/max, or the
reference and docs/semantics.md take the targets' meaning; today the two disagree with no error.
Expected (reference, a = [0.5, nan, 3]): min(a, 1) = [0.5 nan 1], clamp(a, -1, 1) = [0.5 nan 1],
maximum(a) = [nan]; got [0.5 1 1], [0.5 -1 1], [3].
"""
import sys

import numpy as np

import vortex as vx

N = vx.Dim("N")
x = vx.Var("x")
a = vx.Input("a", vx.float32, (N,))
f = vx.Func("f", shape=(N,))
f[x] = vx.min(a[x], 1.0)
g = vx.Func("g", shape=(N,))
g[x] = vx.clamp(a[x], -1.0, 1.0)
r = vx.RDom(N, name="r")
h = vx.Func("h", shape=(1,))
h[x] = vx.maximum(a[r])
pipe = vx.Pipeline(f, g, h)
k = vx.compile(pipe, schedule=vx.Schedule(pipe), target="opencl")
v = np.array([0.5, np.nan, 3.0], np.float32)
bad = False
for name, got, want in zip(("min", "clamp", "maximum"), k(a=v), pipe.reference(a=v)):
    same = np.array_equal(got, want, equal_nan=True)
    print(f"{name}: expected {want}, got {got}" + ("" if same else "   <- differs"))
    bad = bad or not same
sys.exit(1 if bad else 0)
