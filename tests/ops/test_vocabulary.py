"""Halide's everyday vocabulary in the reference evaluator: vx.lerp, vx.mux, vx.absd,
vx.saturating_cast and vx.fast_exp/fast_log against independent Python/numpy oracles (exact
integer arithmetic where the result is an integer), and one test per error message.

The same pipelines run on PoCL and compile for CUDA/HIP in test_vocabulary_targets.py."""
import math
from functools import lru_cache

import numpy as np
import pytest

import vortex as vx

RNG = np.random.default_rng(2024)


@lru_cache(maxsize=None)
def unary_pipe(kind: str, src: vx.DType, dst: vx.DType = None):
    """f[x] = op(a[x]) for op in saturating_cast (to dst), fast_exp, fast_log."""
    n, x = vx.Dim("N"), vx.Var("x")
    a = vx.Input("a", src, (n,))
    f = vx.Func("f", shape=(n,))
    f[x] = {"sat": lambda v: vx.saturating_cast(dst, v), "fast_exp": vx.fast_exp,
            "fast_log": vx.fast_log}[kind](a[x])
    return vx.Pipeline(f)


@lru_cache(maxsize=None)
def lerp_pipe(vt: vx.DType, wt: vx.DType):
    n, x = vx.Dim("N"), vx.Var("x")
    a, b, w = vx.Input("a", vt, (n,)), vx.Input("b", vt, (n,)), vx.Input("w", wt, (n,))
    f = vx.Func("f", shape=(n,))
    f[x] = vx.lerp(a[x], b[x], w[x])
    return vx.Pipeline(f)


def values(t: vx.DType, n: int) -> np.ndarray:
    """``n`` values of integer type ``t``, the extremes first."""
    lo, hi = t.value_range()
    v = RNG.integers(lo, hi, n, endpoint=True, dtype=np.int64 if t.bits < 64 else t.np)
    v[:4] = [lo, hi, 0, hi // 2]
    return v.astype(t.np)


# --- lerp ----------------------------------------------------------------------------------------
def int_lerp_oracle(vt: vx.DType, wt: vx.DType, a, b, w) -> list:
    """round((a' * (M - w') + b' * w') / M) in Python integers, a' = a - min (unsigned), w' the
    weight rescaled to M = 2**bits - 1 as Halide rescales it."""
    m, lo, wm = 2 ** vt.bits - 1, vt.value_range()[0], 2 ** wt.bits - 1
    out = []
    for ai, bi, wi in zip(a.tolist(), b.tolist(), w.tolist()):
        wi = wi * (m // wm) if wt.bits <= vt.bits else wi // (wm // m)
        s = (ai - lo) * (m - wi) + (bi - lo) * wi
        out.append((2 * s + m) // (2 * m) + lo)      # round to nearest (no ties: M is odd)
    return out


@pytest.mark.parametrize("wt", [vx.uint8, vx.uint16, vx.uint32], ids=str)
@pytest.mark.parametrize("vt", [vx.uint8, vx.int8, vx.uint16, vx.int16, vx.uint32, vx.int32],
                         ids=str)
def test_integer_lerp_rounds_exactly(vt, wt):
    a, b, w = values(vt, 4000), values(vt, 4000), values(wt, 4000)
    w[:4] = [0, wt.value_range()[1], 0, wt.value_range()[1]]
    got = lerp_pipe(vt, wt).reference(a=a, b=b, w=w)
    assert got.dtype == vt.np
    assert got.tolist() == int_lerp_oracle(vt, wt, a, b, w)


def test_integer_lerp_endpoints_and_signed_midpoint():
    p = lerp_pipe(vx.int8, vx.uint8)
    a, b = np.array([-128, 5, -7], np.int8), np.array([127, 9, 100], np.int8)
    assert p.reference(a=a, b=b, w=np.zeros(3, np.uint8)).tolist() == a.tolist()
    assert p.reference(a=a, b=b, w=np.full(3, 255, np.uint8)).tolist() == b.tolist()
    assert p.reference(a=a[:1], b=b[:1], w=np.array([128], np.uint8)).tolist() == [0]


def test_integer_lerp_with_a_float_weight_truncates_the_scaled_clamped_weight():
    p = lerp_pipe(vx.uint8, vx.float32)
    w = np.array([0.5, 2.0, -1.0, np.nan, 0.25, 1.0], np.float32)
    got = p.reference(a=np.zeros(6, np.uint8), b=np.full(6, 255, np.uint8), w=w)
    # trunc(clamp(w, 0, 1) * 255) with NaN as 0; lerp(0, 255, k) == k
    assert got.tolist() == [127, 255, 0, 0, 63, 255]


def test_float_lerp_is_a_times_one_minus_w_plus_b_times_w():
    a, b = RNG.standard_normal(50).astype(np.float32), RNG.standard_normal(50).astype(np.float32)
    w = RNG.uniform(-0.5, 1.5, 50).astype(np.float32)       # extrapolates outside [0, 1]
    got = lerp_pipe(vx.float32, vx.float32).reference(a=a, b=b, w=w)
    np.testing.assert_array_equal(got, a * (np.float32(1) - w) + b * w)
    ends = lerp_pipe(vx.float32, vx.float32).reference(a=a, b=b, w=np.ones(50, np.float32))
    np.testing.assert_array_equal(ends, b)


def test_float_lerp_with_an_unsigned_weight_divides_by_its_max():
    got = lerp_pipe(vx.float32, vx.uint8).reference(
        a=np.zeros(3, np.float32), b=np.full(3, 10, np.float32), w=np.array([0, 51, 255], np.uint8))
    np.testing.assert_allclose(got, [0.0, 2.0, 10.0], rtol=1e-6)


def test_bool_lerp_picks_b_above_half_weight():
    got = lerp_pipe(vx.bool_, vx.float32).reference(
        a=np.zeros(3, bool), b=np.ones(3, bool), w=np.array([0.4, 0.5, 0.6], np.float32))
    assert got.tolist() == [False, False, True]


def test_lerp_type_errors():
    v, w8 = vx.Var("v"), vx.cast(vx.uint8, vx.Var("w"))
    with pytest.raises(vx.TypeError, match=r"weight w has type int32: a weight is a float "
                                           r"\(0 … 1\) or an unsigned integer"):
        vx.lerp(vx.cast(vx.float32, v), 1.0, vx.Var("w"))
    with pytest.raises(vx.TypeError, match=r"weight .* has type bool"):
        vx.lerp(1.0, 2.0, v > 0)
    with pytest.raises(vx.TypeError, match=r"lerp of int64 values is not supported: a 64-bit "
                                           r"integer lerp needs a 128-bit product; cast the "
                                           r"values to vx.float64"):
        vx.lerp(vx.cast(vx.int64, v), vx.cast(vx.int64, v), w8)


# --- mux, absd -----------------------------------------------------------------------------------
@lru_cache(maxsize=None)
def mux_pipe(k: int):
    n, x = vx.Dim("N"), vx.Var("x")
    i, a = vx.Input("i", vx.int32, (n,)), vx.Input("a", vx.float32, (n,))
    f = vx.Func("f", shape=(n,))
    f[x] = vx.mux(i[x], [a[x], 1.5, 2, a[x] * 3][:k])
    return vx.Pipeline(f)


@pytest.mark.parametrize("k", [1, 2, 4])
def test_mux_selects_by_index_and_out_of_range_gives_the_last(k):
    i = np.array([0, 1, 2, 3, -1, 4, 1000, -7], np.int32)
    a = np.arange(8, dtype=np.float32) + 0.25
    table = np.stack([a, np.full(8, 1.5, np.float32), np.full(8, 2, np.float32), a * 3])[:k]
    expect = np.where((i >= 0) & (i < k), table[np.clip(i, 0, k - 1), np.arange(8)], table[-1])
    got = mux_pipe(k).reference(**({"i": i, "a": a} if k > 1 else {"a": a}))  # 1 value: no index
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expect)


def test_mux_values_promote_as_numpy_maximum():
    i = vx.Var("i")
    assert vx.mux(i, [1, 2.5]).dtype == vx.float64
    assert vx.mux(i, [1.0, 2.5, vx.cast(vx.float32, i)]).dtype == vx.float32
    assert vx.mux(i, [vx.cast(vx.uint8, i), 3, vx.cast(vx.int8, i)]).dtype == vx.int16


def test_mux_errors():
    i = vx.Var("i")
    with pytest.raises(vx.TypeError, match=r"vx.mux\(i, \[\]\) needs a non-empty list of values"):
        vx.mux(i, [])
    with pytest.raises(vx.TypeError, match=r"needs a non-empty list of values, e.g. "
                                           r"vx.mux\(c, \[r, g, b\]\)"):
        vx.mux(i, 3)
    with pytest.raises(vx.TypeError, match=r"vx.mux index vx.cast\(vx.float32, i\) has type "
                                           r"float32; it must be an integer"):
        vx.mux(vx.cast(vx.float32, i), [1, 2])


@pytest.mark.parametrize("t", [vx.int8, vx.uint8, vx.int16, vx.int32, vx.uint32, vx.int64],
                         ids=str)
def test_absd_of_integers_is_unsigned_and_exact(t):
    n, x = vx.Dim("N"), vx.Var("x")
    a, b = vx.Input("a", t, (n,)), vx.Input("b", t, (n,))
    f = vx.Func("f", shape=(n,))
    f[x] = vx.absd(a[x], b[x])
    assert f.dtype.kind.value == "u" and f.dtype.bits == t.bits
    va, vb = values(t, 500), values(t, 500)[::-1].copy()
    got = vx.Pipeline(f).reference(a=va, b=vb)
    assert got.tolist() == [abs(p - q) for p, q in zip(va.tolist(), vb.tolist())]


def test_absd_of_floats_keeps_the_type_and_errors_on_bool():
    x = vx.cast(vx.float32, vx.Var("x"))
    assert vx.absd(x, 2.5).dtype == vx.float32
    with pytest.raises(vx.TypeError, match=r"vx.absd\(x > 0, 1\) of a bool: cast it to an "
                                           r"integer first"):
        vx.absd(vx.Var("x") > 0, 1)


# --- saturating_cast -----------------------------------------------------------------------------
def sat_oracle(v, dst: vx.DType):
    """Python: NaN → 0 (ints) / NaN (floats), clamp to dst's (finite) range, truncate."""
    if dst.is_float:
        top = float(np.finfo(dst.np).max)
        return v if v != v else min(max(float(v), -top), top)
    lo, hi = dst.value_range()
    if v != v:
        return 0
    if math.isinf(v):
        return hi if v > 0 else lo
    return min(max(math.trunc(v), lo), hi)


SAT_CASES = [(vx.float32, vx.int32), (vx.float32, vx.uint8), (vx.float64, vx.int64),
             (vx.float32, vx.uint64), (vx.float16, vx.int32), (vx.float64, vx.int8),
             (vx.int32, vx.uint8), (vx.uint32, vx.int32), (vx.int64, vx.uint64),
             (vx.int8, vx.uint32), (vx.int32, vx.float16), (vx.float64, vx.float32),
             (vx.float32, vx.float64), (vx.float32, vx.float16)]
SPECIAL = [np.nan, np.inf, -np.inf, 3e9, -3e9, 2147483520.0, -2147483648.0, 1.7, -1.7, 0.0,
           255.9, 256.0, -0.9, 1e19, -1e19, 9.2e18, 65504.0, 70000.0, 1e300, -1e300]


@pytest.mark.parametrize("src, dst", SAT_CASES, ids=[f"{s}-{d}" for s, d in SAT_CASES])
def test_saturating_cast_clamps_to_the_target_range(src, dst):
    if src.is_float:
        with np.errstate(over="ignore"):
            a = np.array(SPECIAL + RNG.uniform(-5e9, 5e9, 30).tolist(), np.float64).astype(src.np)
    else:
        a = values(src, 60)
    got = unary_pipe("sat", src, dst).reference(a=a)
    assert got.dtype == dst.np
    expect = [sat_oracle(v, dst) for v in a.tolist()]
    if dst.is_float:
        np.testing.assert_array_equal(got, np.array(expect, np.float64).astype(dst.np))
    else:
        assert got.tolist() == expect


def test_saturating_cast_of_a_float_above_the_int_max_gives_the_max_not_the_nearest_float():
    # float32 cannot hold 2**31 - 1: the clamp alone would give 2147483520
    got = unary_pipe("sat", vx.float32, vx.int32).reference(a=np.array([3e9, 2.2e9], np.float32))
    assert got.tolist() == [2147483647, 2147483647]


def test_saturating_cast_of_python_numbers_and_same_type():
    x = vx.cast(vx.int16, vx.Var("x"))
    assert vx.saturating_cast(vx.int16, x) is x
    assert vx.saturating_cast(vx.uint8, vx.Var("x") > 0).dtype == vx.uint8
    with pytest.raises(vx.TypeError, match=r"vx.saturating_cast\(vx.bool_, x\): a bool has no "
                                           r"range to clamp to; write x != 0"):
        vx.saturating_cast(vx.bool_, vx.Var("x"))


# --- fast_exp / fast_log -------------------------------------------------------------------------
@pytest.mark.parametrize("kind, exact", [("fast_exp", np.exp), ("fast_log", np.log)])
def test_fast_math_reference_is_the_exact_function(kind, exact):
    a = RNG.uniform(0.01, 20, 100).astype(np.float32)
    np.testing.assert_array_equal(unary_pipe(kind, vx.float32).reference(a=a), exact(a))


@pytest.mark.parametrize("fn, exact", [(vx.fast_exp, "exp"), (vx.fast_log, "log")])
def test_fast_math_needs_float32(fn, exact):
    name = fn.__name__
    with pytest.raises(vx.TypeError, match=rf"vx.{name}\(vx.cast\(vx.float64, x\)\) needs a "
                                           rf"float32 argument, not float64: .* use vx.{exact} "
                                           rf"\(exact, any float type\)"):
        fn(vx.cast(vx.float64, vx.Var("x")))
    with pytest.raises(vx.TypeError, match=rf"vx.{name}\(x\) needs a float32 argument, not int32"):
        fn(vx.Var("x"))
