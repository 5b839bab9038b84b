"""Integer operations at the edges of their type, on every target as numpy (docs/semantics.md).

``//`` and ``%``: by 0 gives 0, and the most negative
value by -1 gives ``MIN // -1 == MIN`` (wrapping, as numpy) and ``MIN % -1 == 0`` on every
target — C's ``MIN / -1`` overflows (undefined; PoCL gave ``MIN % -1 == -1``, fuzz case 2236 of
seed 20261202, fuzz/found/X_WRONG_int_min_mod_minus_one.py).

``abs`` and negation wrap at the most negative value as numpy's do (``abs(MIN) == MIN``,
``-MIN == MIN``): C leaves signed overflow undefined, and PoCL's
compiler, assuming ``abs(x) >= 0``, dropped the sign test of a floor division that followed
(``abs(MIN) // 15`` gave -143165576 for -143165577: fuzz case 20261206:882,
fuzz/found/Y_WRONG_abs_int_min_then_floor_division.py). The printers compute both in the
unsigned type and cast back.
"""
import numpy as np
import pytest

import vortex as vx

TYPES = (vx.int8, vx.int16, vx.int32, vx.int64)


def assert_kernel_and_reference(kernel, pipe, args: dict, want: tuple) -> tuple:
    """The kernel's outputs and the reference's both equal ``want``; the kernel's outputs."""
    got = kernel(**args)
    for g, r, w in zip(got, pipe.reference(**args), want, strict=True):
        np.testing.assert_array_equal(g, w)
        np.testing.assert_array_equal(r, w)
    return got


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
    with np.errstate(over="ignore", divide="ignore"):
        want = (np.where(b == 0, 0, a // np.where(b == 0, 1, b)).astype(t.np),
                np.where(b == 0, 0, a % np.where(b == 0, 1, b)).astype(t.np))
    q, r = assert_kernel_and_reference(kernel, p, {"a": a, "b": b}, want)
    assert q[0] == np.iinfo(t.np).min and r[0] == 0


@pytest.mark.parametrize("t", (vx.int8, vx.int64), ids=str)
def test_division_helpers_compile_for_cuda_and_hip(offline, t):
    target, build = offline
    kernel = build(div_mod(t))
    assert "b == -1" in kernel.source


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
    with np.errstate(over="ignore"):
        want = (np.abs(a) // b, (-a) // b)
    assert_kernel_and_reference(kernel, p, {"a": a, "b": b}, want)


@pytest.mark.parametrize("t", (vx.int32, vx.int64), ids=str)
def test_wrapping_abs_compiles_for_cuda_and_hip(offline, t):
    target, build = offline
    kernel = build(abs_neg(t))
    assert "vx_abs_" in kernel.source and "(0 - (" in kernel.source
