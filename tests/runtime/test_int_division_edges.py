"""Integer ``//`` and ``%`` at the edges (docs/semantics.md): by 0 gives 0, and the most negative
value by -1 gives ``MIN // -1 == MIN`` (wrapping, as numpy) and ``MIN % -1 == 0`` on every
target — C's ``MIN / -1`` overflows (undefined; PoCL gave ``MIN % -1 == -1``, fuzz case 2236 of
seed 20261202, fuzz/found/X_WRONG_int_min_mod_minus_one.py)."""
import numpy as np
import pytest

import vortex as vx

TYPES = (vx.int8, vx.int16, vx.int32, vx.int64)


def div_mod(t):
    n, i = vx.Dim("N"), vx.Var("i")
    a, b = vx.Input("a", t, (n,)), vx.Input("b", t, (n,))
    q, r = vx.Func("q", shape=(n,)), vx.Func("r", shape=(n,))
    q[i] = a[i] // b[i]
    r[i] = a[i] % b[i]
    return vx.Pipeline(q, r)


def edge_operands(t):
    lo, hi = np.iinfo(t.np).min, np.iinfo(t.np).max
    a = np.array([lo, lo, lo, lo, hi, hi, 7, -7, lo + 1, 0, -1, 5], t.np)
    b = np.array([-1, 1, 0, lo, -1, lo, -1, -1, -1, -1, -1, -3], t.np)
    return a, b


@pytest.mark.parametrize("t", TYPES, ids=str)
def test_min_by_minus_one_matches_numpy_on_opencl(opencl_device, t):
    p = div_mod(t)
    a, b = edge_operands(t)
    kernel = vx.compile(p, target="opencl", device=opencl_device)
    q, r = kernel(a=a, b=b)
    with np.errstate(over="ignore", divide="ignore"):
        want_q = np.where(b == 0, 0, a // np.where(b == 0, 1, b)).astype(t.np)
        want_r = np.where(b == 0, 0, a % np.where(b == 0, 1, b)).astype(t.np)
    np.testing.assert_array_equal(q, want_q)
    np.testing.assert_array_equal(r, want_r)
    assert q[0] == np.iinfo(t.np).min and r[0] == 0
    ref_q, ref_r = p.reference(a=a, b=b)
    np.testing.assert_array_equal(ref_q, want_q)
    np.testing.assert_array_equal(ref_r, want_r)


@pytest.mark.parametrize("t", (vx.int8, vx.int64), ids=str)
def test_division_helpers_compile_for_cuda_and_hip(offline, t):
    target, build = offline
    kernel = build(div_mod(t))
    assert "b == -1" in kernel.source
