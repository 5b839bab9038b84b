"""numpy meets a Vortex expression: numpy scalars' operators build typed nodes (NEP 50), numpy
functions and conversions to arrays are vx.TypeErrors naming the vx function to use, and nothing
becomes an object array."""
import numpy as np
import pytest

import vortex as vx

X = vx.Var("x")
F = vx.cast(vx.float32, X)


@pytest.mark.parametrize("make, dtype", [
    (lambda: np.float32(2) * F, vx.float32),
    (lambda: np.float32(2) * X, vx.float64),        # int32 with float32: float64, as numpy
    (lambda: np.int8(3) + X, vx.int32),
    (lambda: np.uint8(1) << vx.cast(vx.uint8, X), vx.uint8),
    (lambda: np.float64(1.5) < F, vx.bool_),          # numpy passes its scalar as a 0-d array
    (lambda: np.float16(2) - vx.cast(vx.float16, X), vx.float16),
    (lambda: np.fmax(F, np.float32(0)), vx.float32),     # vx.max is NaN-ignoring, as np.fmax
    (lambda: np.negative(F), vx.float32),
    (lambda: np.abs(X), vx.int32),
])
def test_numpy_scalars_and_operator_ufuncs_build_typed_nodes(make, dtype):
    e = make()
    assert isinstance(e, vx.Expr) and e.dtype == dtype


def test_a_numpy_scalar_operand_computes_like_the_python_operator():
    n = vx.Dim("N")
    a = vx.Input("a", vx.float32, (n,))
    f = vx.Func("f", shape=(n,))
    f[X] = np.float32(2.5) * a[X] - np.float32(1)
    v = np.arange(5, dtype=np.float32)
    got = vx.Pipeline(f).reference(a=v)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.float32(2.5) * v - np.float32(1))


@pytest.mark.parametrize("call, vx_name", [
    (lambda: np.sqrt(F), "vx.sqrt"), (lambda: np.exp(F), "vx.exp"), (lambda: np.tanh(F), "vx.tanh"),
    (lambda: np.rint(F), "vx.round"), (lambda: np.minimum(F, 1), "vx.min"),
    (lambda: np.sum(F), "vx.sum"), (lambda: np.where(X > 0, F, 0), "vx.select"),
    (lambda: np.clip(F, 0, 1), "vx.clamp"), (lambda: np.max(F), "vx.maximum"),
])
def test_numpy_math_names_the_vx_function(call, vx_name):
    with pytest.raises(vx.TypeError, match=r"np\.\w+ cannot be applied to the Vortex expression "
                                           r".*: Vortex expressions are symbolic, numpy needs "
                                           rf"values; use {vx_name}\(…\) instead"):
        call()


def test_np_sqrt_message_in_full():
    with pytest.raises(vx.TypeError) as e:
        np.sqrt(F)
    assert str(e.value) == ("np.sqrt cannot be applied to the Vortex expression "
                            "vx.cast(vx.float32, x): Vortex expressions are symbolic, numpy needs "
                            "values; use vx.sqrt(…) instead")


def test_other_numpy_functions_get_the_generic_hint():
    for call in (lambda: np.arctan2(F, F), lambda: np.add.reduce(F), lambda: np.stack([F, F])):
        with pytest.raises(vx.TypeError, match=r"use the vx functions \(vx.exp, vx.select, "
                                               r"vx.cast, …; docs/semantics.md\) on expressions, "
                                               r"or evaluate the pipeline with pipe.reference"):
            call()
    with pytest.raises(vx.TypeError, match=r"np.logical_and cannot .* use the & operator instead"):
        np.logical_and(X > 0, X < 3)


def test_no_object_arrays():
    for call in (lambda: np.array([X, X]), lambda: np.asarray(X), lambda: np.array(F)):
        with pytest.raises(vx.TypeError, match=r"the Vortex expression .* has no array value "
                                               r"\(np.array / np.asarray of an expression\): it "
                                               r"is symbolic"):
            call()
    with pytest.raises(vx.TypeError, match=r"array\(\[0, 1, 2\]\) of type ndarray cannot be used "
                                           r"in a Vortex expression"):
        np.arange(3) * X


def test_ufunc_out_argument_is_refused():
    with pytest.raises(vx.TypeError, match=r"np.add with out= cannot write a Vortex expression x "
                                           r"into an array: expressions are symbolic; use the "
                                           r"operator itself"):
        np.add(X, 1, out=np.zeros(1))


def test_a_one_dimensional_rdom_behaves_as_its_variable():
    k = vx.RDom(4, name="k")
    assert (np.int32(2) * k).dtype == vx.int32
    with pytest.raises(vx.TypeError, match=r"np.sqrt cannot be applied .* use vx.sqrt"):
        np.sqrt(k)
