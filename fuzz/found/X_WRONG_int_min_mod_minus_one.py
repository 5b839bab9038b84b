"""Floor division and modulo of the most negative integer by -1 (fuzz case 2236 of seed 20261202:
a saturating cast of -inf gives INT32_MIN, then ``% -1``).

Expected (docs/semantics.md, numpy): ``MIN % -1 == 0`` and ``MIN // -1 == MIN`` (wrapping). The
kernels computed them with C's ``%`` and ``/``, whose ``MIN / -1`` overflows (undefined in C; PoCL
gave ``MIN % -1 == -1``). Exits 0 once fixed.
"""
import numpy as np

import vortex as vx

N, = vx.dims("N")
i, = vx.vars("i")
a = vx.Input("a", vx.int32, (N,))
b = vx.Input("b", vx.int32, (N,))
q, r = vx.Func("q", shape=(N,)), vx.Func("r", shape=(N,))
q[i] = a[i] // b[i]
r[i] = a[i] % b[i]
pipe = vx.Pipeline(q, r)


if __name__ == "__main__":
    import sys
    lo = np.iinfo(np.int32).min
    av = np.array([lo, lo, lo, 7, -7, lo + 1], np.int32)
    bv = np.array([-1, 1, 0, -1, -1, -1], np.int32)
    kernel = vx.compile(pipe, target="opencl")
    got, want = kernel(a=av, b=bv), pipe.reference(a=av, b=bv)
    ok = all(np.array_equal(g, w) for g, w in zip(got, want))
    print("quotients", got[0], "expected", want[0])
    print("remainders", got[1], "expected", want[1])
    sys.exit(0 if ok else 1)
