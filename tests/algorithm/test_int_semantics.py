"""Scalar semantics of the reference evaluator against Python's, and NEP 50 type promotion
against numpy's own.

Integer results are Python's on the same values, wrapped to the operation's dtype: floor ``//``
and ``%``, ``x // 0 == x % 0 == 0`` (a documented choice: GPUs do not trap), shift counts modulo
the bit width, two's-complement wraparound. Float ``//`` and ``%`` are Python's (floor) for
non-zero divisors.
"""
import operator
from functools import lru_cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vortex as vx

SETTINGS = settings(max_examples=200, deadline=None)
INT_TYPES = [vx.int8, vx.int16, vx.int32, vx.int64, vx.uint8]


def wrap(v: int, t: vx.DType) -> int:
    """A Python int reduced to the two's-complement range of ``t``."""
    v &= (1 << t.bits) - 1
    if t.kind.value == "i" and v >= 1 << (t.bits - 1):
        v -= 1 << t.bits
    return v


def py_floordiv(a, b):
    return 0 if b == 0 else a // b


def py_mod(a, b):
    return 0 if b == 0 else a % b


BINARY = {"//": py_floordiv, "%": py_mod, "&": operator.and_, "|": operator.or_,
          "^": operator.xor, "<<": operator.lshift, ">>": operator.rshift,
          "+": operator.add, "-": operator.sub, "*": operator.mul}
VX_BINARY = {"//": operator.floordiv, "%": operator.mod, **{k: v for k, v in BINARY.items()
                                                           if k not in ("//", "%")}}
UNARY = {"-": (operator.neg, operator.neg), "~": (operator.invert, operator.invert)}


@lru_cache(maxsize=None)
def binary_pipeline(op: str, t: vx.DType):
    N = vx.Dim("N")
    x = vx.Var("x")
    a, b = vx.Input("a", t, (N,)), vx.Input("b", t, (N,))
    f = vx.Func("f", shape=(N,))
    f[x] = VX_BINARY[op](a[x], b[x])
    assert f.dtype == t
    return vx.Pipeline(f)


@lru_cache(maxsize=None)
def unary_pipeline(op: str, t: vx.DType):
    N = vx.Dim("N")
    x = vx.Var("x")
    a = vx.Input("a", t, (N,))
    f = vx.Func("f", shape=(N,))
    f[x] = UNARY[op][0](a[x])
    return vx.Pipeline(f)


@st.composite
def int_operands(draw, shift=False, shift_range=None):
    t = draw(st.sampled_from(INT_TYPES))
    lo, hi = t.value_range()
    n = draw(st.integers(1, 8))
    a = draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n))
    if shift:
        blo, bhi = shift_range(t)
        b = draw(st.lists(st.integers(max(lo, blo), min(hi, bhi)), min_size=n, max_size=n))
    else:  # bias towards negatives, zeros and the extremes
        special = st.sampled_from([0, 1, -1, lo, hi, -2, 7] if lo < 0 else [0, 1, hi, 7])
        b = draw(st.lists(st.one_of(st.integers(lo, hi), special.filter(lambda v: lo <= v <= hi)),
                          min_size=n, max_size=n))
    return t, a, b


def check_binary(op, t, a, b):
    got = binary_pipeline(op, t).reference(a=np.array(a, t.np), b=np.array(b, t.np))
    assert got.dtype == t.np
    want = [wrap(BINARY[op](x, y), t) for x, y in zip(a, b)]
    assert got.tolist() == want, (op, t, a, b)


@pytest.mark.parametrize("op", ["//", "%", "&", "|", "^", "+", "-", "*"])
@SETTINGS
@given(data=int_operands())
def test_integer_binary_ops_match_python(op, data):
    check_binary(op, *data)


@pytest.mark.parametrize("op", ["<<", ">>"])
@SETTINGS
@given(data=int_operands(shift=True, shift_range=lambda t: (0, t.bits - 1)))
def test_shifts_match_python(op, data):
    check_binary(op, *data)


@pytest.mark.parametrize("op", ["<<", ">>"])
@SETTINGS
@given(data=int_operands(shift=True, shift_range=lambda t: (-2 * t.bits, 2 * t.bits)))
def test_shift_count_is_taken_modulo_bit_width(op, data):
    t, a, b = data
    got = binary_pipeline(op, t).reference(a=np.array(a, t.np), b=np.array(b, t.np))
    want = [wrap(BINARY[op](x, y % t.bits), t) for x, y in zip(a, b)]
    assert got.tolist() == want


@pytest.mark.parametrize("op", ["-", "~"])
@SETTINGS
@given(data=int_operands())
def test_integer_unary_ops_match_python(op, data):
    t, a, _ = data
    got = unary_pipeline(op, t).reference(a=np.array(a, t.np))
    assert got.dtype == t.np
    assert got.tolist() == [wrap(UNARY[op][1](x), t) for x in a]


@pytest.mark.parametrize("t", INT_TYPES)
def test_division_by_zero_gives_zero(t):
    lo, hi = t.value_range()
    a = np.array([lo, -1 if lo else 0, 0, 1, hi], t.np)
    zero = np.zeros_like(a)
    for op in ("//", "%"):
        assert binary_pipeline(op, t).reference(a=a, b=zero).tolist() == [0] * 5


def test_int_min_floordiv_minus_one_wraps():
    for t in (vx.int8, vx.int64):
        lo, _ = t.value_range()
        got = binary_pipeline("//", t).reference(a=np.array([lo], t.np), b=np.array([-1], t.np))
        assert got.tolist() == [wrap(-lo, t)] == [lo]


def test_bool_invert_is_logical_not():
    got = unary_pipeline("~", vx.bool_).reference(a=np.array([True, False]))
    assert got.dtype == np.bool_ and got.tolist() == [False, True]


FINITE = st.floats(-1e12, 1e12, allow_nan=False, allow_infinity=False)


@pytest.mark.parametrize("op", ["//", "%"])
@SETTINGS
@given(pairs=st.lists(st.tuples(FINITE, FINITE.filter(lambda v: v != 0)), min_size=1,
                      max_size=8))
def test_float_floordiv_and_mod_match_python(op, pairs):
    a, b = (np.array(v, np.float64) for v in zip(*pairs))
    got = binary_pipeline(op, vx.float64).reference(a=a, b=b)
    fn = operator.floordiv if op == "//" else operator.mod
    assert got.tolist() == [fn(x, y) for x, y in pairs]


def test_float_division_by_zero_is_ieee():
    a = np.array([-5.0, 5.0, 0.0])
    zero = np.zeros(3)
    fd = binary_pipeline("//", vx.float64).reference(a=a, b=zero)
    md = binary_pipeline("%", vx.float64).reference(a=a, b=zero)
    assert fd[0] == -np.inf and fd[1] == np.inf and np.isnan(fd[2])
    assert np.isnan(md).all()


@SETTINGS
@given(vals=st.lists(st.floats(-1e9, 1e9, allow_nan=False), min_size=1, max_size=8),
       t=st.sampled_from([vx.int8, vx.int32, vx.int64, vx.uint8]))
def test_float_to_int_cast_truncates_toward_zero(vals, t):
    N = vx.Dim("N")
    x = vx.Var("x")
    a = vx.Input("a", vx.float64, (N,))
    f = vx.Func("f", shape=(N,))
    f[x] = vx.cast(t, a[x])
    lo, hi = t.value_range()
    vals = [v for v in vals if lo <= v <= hi] or [0.0]  # out-of-range casts are target-defined
    got = vx.Pipeline(f).reference(a=np.array(vals))
    assert got.tolist() == [int(v) for v in vals]


def test_integer_power_negative_exponent():
    """numpy refuses int ** negative; the reference gives trunc(1 / a ** -b), wrapping otherwise."""
    a = np.array([2, -1, -1, 1, 0, 3, 2, 5], np.int8)
    b = np.array([-1, -3, -2, -5, -1, 2, 0, 7], np.int8)
    N = vx.Dim("N")
    x = vx.Var("x")
    A, B = vx.Input("a", vx.int8, (N,)), vx.Input("b", vx.int8, (N,))
    f = vx.Func("f", shape=(N,))
    f[x] = A[x] ** B[x]
    want = [wrap(int(p ** q) if q >= 0 else int(1 / p ** -q) if p else 0, vx.int8)
            for p, q in zip(a.tolist(), b.tolist())]
    assert vx.Pipeline(f).reference(a=a, b=b).tolist() == want == [0, -1, 1, 1, 0, 9, 1, 45]


# --- NEP 50 promotion ------------------------------------------------------------------------

NUMERIC = [vx.int8, vx.int16, vx.int32, vx.int64, vx.uint8, vx.uint16, vx.uint32, vx.uint64,
           vx.float16, vx.float32, vx.float64]
ARITH = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.true_divide,
         "//": np.floor_divide, "%": np.remainder}
VX_OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
          "//": operator.floordiv, "%": operator.mod, "&": operator.and_, "<<": operator.lshift,
          "<": operator.lt}


def _expr(t, name="a"):
    return vx.Input(name, t, (vx.Dim("N"),))[vx.Var("x")]


def _numpy_type(ufunc, *operands):
    """numpy's result dtype, or None when numpy refuses the operands."""
    try:
        with np.errstate(all="ignore"):
            return ufunc(*operands).dtype
    except (TypeError, OverflowError):  # numpy's "no loop" error is a TypeError
        return None


def _vortex_type(op, *operands):
    try:
        return VX_OPS[op](*operands).dtype.np
    except vx.TypeError:
        return None


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "//", "%"])
def test_promotion_of_two_typed_operands_matches_numpy(op):
    wrong = []
    for ta in NUMERIC:
        for tb in NUMERIC:
            want = _numpy_type(ARITH[op], np.zeros(1, ta.np), np.zeros(1, tb.np))
            got = _vortex_type(op, _expr(ta, "a"), _expr(tb, "b"))
            if want != got:
                wrong.append((ta.name, tb.name, want, got))
    assert not wrong


@pytest.mark.parametrize("op", ["+", "*", "//", "-"])
@pytest.mark.parametrize("weak", [1, -1, 127, 300, -129, 2 ** 40, 1.0, 2.5, 1e300])
def test_promotion_with_weak_python_scalar_matches_numpy(op, weak):
    for t in NUMERIC:
        for args in ((np.zeros(1, t.np), weak), (weak, np.zeros(1, t.np))):
            want = _numpy_type(ARITH[op], *args)
            ex = (_expr(t), weak) if args[1] is weak else (weak, _expr(t))
            got = _vortex_type(op, *ex)
            assert got == want, (t, op, args)


def test_nep50_examples():
    u8, i8 = _expr(vx.uint8), _expr(vx.int8)
    assert (u8 + 1).dtype is vx.uint8
    with pytest.raises(vx.TypeError, match="300"):
        u8 + 300
    assert (i8 + 1.0).dtype is vx.float64
    assert (_expr(vx.float16) * 2.0).dtype is vx.float16
    assert (_expr(vx.int32, "a") / _expr(vx.int32, "b")).dtype is vx.float64
    assert (_expr(vx.float32, "a") + _expr(vx.int64, "b")).dtype is vx.float64
    assert np.result_type(np.float32, np.int64) == np.float64
    assert (np.zeros(1, np.uint8) + 1).dtype == np.uint8
    assert (np.zeros(1, np.int8) + 1.0).dtype == np.float64


def test_numpy_scalars_are_strong():
    """A numpy scalar is typed (not weak), as in numpy 2: uint8 + np.int64(1) is int64."""
    assert (_expr(vx.uint8) + np.int64(1)).dtype is vx.int64
    assert (_expr(vx.float32) * np.float64(2)).dtype is vx.float64


def test_comparisons_are_bool_and_bitwise_follows_numpy():
    assert (_expr(vx.uint8) < 3).dtype is vx.bool_
    assert (_expr(vx.int8, "a") & _expr(vx.uint8, "b")).dtype.np == np.bitwise_and(
        np.zeros(1, np.int8), np.zeros(1, np.uint8)).dtype
    assert (_expr(vx.uint8) << 3).dtype is vx.uint8
    assert _vortex_type("<<", _expr(vx.int64, "a"), _expr(vx.uint64, "b")) is None
