"""WRONG RESULT (default schedule): ``vx.argmin``/``vx.argmax`` over an RDom whose minimum is
negative (a stencil window ``vx.RDom([(-1, 3)])``, read through a boundary condition) lose the
point r = -1: the kernel's accumulator uses -1 as its "no point yet" mark
(``if ((f_acc_at < 0) || (v < f_acc)) …`` with ``f_acc_at = -1``), so after r = -1 is taken the
next point r = 0 replaces it whatever its value.

Found by the fuzzer (case 222958:272: ``vx.argmin(vx.abs(vx.cast(vx.float32, f1_mi[x + r1])))``
over ``RDom([(-1, 3)])``; every element off).
Expected (reference): the coordinate of the first minimum, e.g. -1 for the window [1, 5, 9]
and for a constant image (ties go to the first point); got 0.
"""
import sys

import numpy as np

import vortex as vx

N = vx.Dim("N")
x = vx.Var("x")
a = vx.Input("a", vx.int32, (N,))
src = vx.repeat_edge(a)
r = vx.RDom([(-1, 3)], name="r")
lo = vx.Func("lo", shape=(N,))
lo[x] = vx.argmin(src[x + r])
hi = vx.Func("hi", shape=(N,))
hi[x] = vx.argmax(-src[x + r])
pipe = vx.Pipeline(lo, hi)
k = vx.compile(pipe, schedule=vx.Schedule(pipe), target="opencl")
bad = False
for v in (np.array([1, 5, 9, 4], np.int32), np.array([3, 3, 3], np.int32)):
    for name, got, want in zip(("argmin", "argmax"), k(a=v), pipe.reference(a=v)):
        print(f"{name} a={v}: expected {want}, got {got}")
        bad = bad or not np.array_equal(got, want)
sys.exit(1 if bad else 0)
