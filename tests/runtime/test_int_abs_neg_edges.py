"""Integer ``abs`` and negation wrap at the most negative value as numpy's do (``abs(MIN) ==
MIN``, ``-MIN == MIN``; docs/semantics.md): C leaves signed overflow undefined, and PoCL's
compiler, assuming ``abs(x) >= 0``, dropped the sign test of a floor division that followed
(``abs(MIN) // 15`` gave -143165576 for -143165577: fuzz case 20261206:882,
fuzz/found/Y_WRONG_abs_int_min_then_floor_division.py). The printers compute both in the
unsigned type and cast back."""
import numpy as np
import pytest

import vortex as vx

TYPES = (vx.int8, vx.int16, vx.int32, vx.int64)


def abs_neg(t):
    n, i = vx.Dim("N"), vx.Var("i")
    a, b = vx.Input("a", t, (n,)), vx.Input("b", t, (n,))
    q, m = vx.Func("q", shape=(n,)), vx.Func("m", shape=(n,))
    q[i] = abs(a[i]) // b[i]
    m[i] = -a[i] // b[i]
    return vx.Pipeline(q, m)


@pytest.mark.parametrize("vector", [False, True], ids=["scalar", "vectorized"])
@pytest.mark.parametrize("t", TYPES, ids=str)
def test_abs_and_negation_of_min_wrap_as_numpy(opencl_device, t, vector):
    p = abs_neg(t)
    s = vx.Schedule(p)
    if vector:
        for f in ("q", "m"):
            s[f].vectorize("i", 4)
    lo, hi = np.iinfo(t.np).min, np.iinfo(t.np).max
    a = np.array([lo, lo, lo, lo + 1, hi, -7, 7, 0, lo, -1, 3], t.np)
    b = np.array([15, 7, 1, 15, 15, 2, 2, 3, -3, 1, 2], t.np)
    kernel = vx.compile(p, s, target="opencl", device=opencl_device)
    q, m = kernel(a=a, b=b)
    with np.errstate(over="ignore"):
        want_q, want_m = np.abs(a) // b, (-a) // b
    np.testing.assert_array_equal(q, want_q)
    np.testing.assert_array_equal(m, want_m)
    ref_q, ref_m = p.reference(a=a, b=b)
    np.testing.assert_array_equal(ref_q, want_q)
    np.testing.assert_array_equal(ref_m, want_m)


@pytest.mark.parametrize("t", (vx.int32, vx.int64), ids=str)
def test_wrapping_abs_compiles_for_cuda_and_hip(offline, t):
    target, build = offline
    kernel = build(abs_neg(t))
    assert "vx_abs_" in kernel.source and "(0 - (" in kernel.source
