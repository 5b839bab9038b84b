"""Bounds inference is symbolic (regions are sympy expressions of the Dims, valid for every size)
and runs once, when the Pipeline is built — never again at a call."""
import numpy as np
import pytest
import sympy as sp

import pipelines as P
import vortex as vx
import vortex.algorithm.infer as infer_module
import vortex.algorithm.pipeline as pipeline_module
from vortex.algorithm.symbolic import dim_symbol

H_, W_ = dim_symbol("H"), dim_symbol("W")


def _equal(a, b) -> bool:
    """Equal as functions of the sizes: sympy proves it, or (floors written in another canonical
    form, ``floor(W/2 + 1/2) - 1`` for ``floor(W/2 - 1/2)``) every size from 1 to 64 agrees."""
    d = sp.sympify(a - b)
    if sp.simplify(d) == 0:
        return True
    syms = sorted(d.free_symbols, key=lambda s: s.name)
    return all(d.subs({s: n + k for k, s in enumerate(syms)}) == 0 for n in range(1, 65))


def _same(region, want):
    assert len(region) == len(want)
    for (lo, hi), (wlo, whi) in zip(region, want):
        assert _equal(lo, wlo) and _equal(hi, whi), (region, want)


def test_blur_regions_are_symbolic():
    pipe = P.blur(gain=False)
    _same(pipe.regions["blur"], [(0, H_ - 1), (0, W_ - 1)])
    _same(pipe.regions["blur_x"], [(-1, H_), (0, W_ - 1)])
    _same(pipe.regions["img_repeat_edge"], [(-1, H_), (-1, W_)])
    assert pipe.regions["blur_x"][0][1].free_symbols == {H_}
    assert [f.name for f in pipe.funcs] == ["img_repeat_edge", "blur_x", "blur"]


def test_reference_does_not_rerun_inference(monkeypatch):
    pipe = P.blur(gain=False)

    def boom(*_):
        raise AssertionError("bounds inference ran during a call")
    with monkeypatch.context() as m:
        for name in ("infer_regions", "_check", "_visit_load", "interval"):
            m.setattr(infer_module, name, boom)
        m.setattr(pipeline_module, "infer_regions", boom)
        a = np.random.default_rng(0).random((5, 6), dtype=np.float32)
        first = pipe.reference(img=a)
        second = pipe.reference(img=a[:4, :3].copy())  # other sizes: same symbolic regions
    assert first.shape == (5, 6) and second.shape == (4, 3)
    calls = []
    real = pipeline_module.infer_regions
    monkeypatch.setattr(pipeline_module, "infer_regions", lambda *a: calls.append(a) or real(*a))
    P.blur(gain=False)  # building a Pipeline is what runs it, once
    assert len(calls) == 1


def test_strided_and_intermediate_regions():
    W, H = vx.dims("W H")
    x, y = vx.vars("x y")
    img = vx.Input("img", vx.float32, (H, W))
    mid = vx.Func("mid")
    mid[y, x] = img[vx.min(y, H - 1), vx.min(x, W - 1)] * 2
    out = vx.Func("out", shape=(H // 2, W))
    out[y, x] = mid[2 * y + 1, x // 2]
    pipe = vx.Pipeline(out)
    _same(pipe.regions["out"], [(0, sp.floor(H_ / 2) - 1), (0, W_ - 1)])
    _same(pipe.regions["mid"], [(1, 2 * sp.floor(H_ / 2) - 1), (0, sp.floor((W_ - 1) / 2))])
    a = np.arange(7 * 5, dtype=np.float32).reshape(7, 5)
    np.testing.assert_array_equal(pipe.reference(img=a), 2 * a[1:7:2][:, [0, 0, 1, 1, 2]])


def test_data_dependent_region_uses_value_range():
    """A Func read at a uint8 value is computed on [0, 255]; through clamp on [0, 9]."""
    H = vx.Dim("H")
    x, y = vx.vars("x y")
    idx = vx.Input("idx", vx.uint8, (H,))
    sq = vx.Func("sq")
    sq[x] = x * x
    small = vx.Func("small")
    small[x] = x + 1
    out = vx.Func("out", shape=(H,))
    out[y] = sq[idx[y]] + small[vx.clamp(vx.cast(vx.int32, idx[y]), 0, 9)]
    pipe = vx.Pipeline(out)
    assert pipe.regions["sq"] == [(0, 255)]
    assert pipe.regions["small"] == [(0, 9)]
    iv = np.array([0, 3, 200, 255], np.uint8)
    want = iv.astype(np.int32) ** 2 + np.minimum(iv, 9) + 1
    np.testing.assert_array_equal(pipe.reference(idx=iv), want)


def test_param_range_bounds_an_index():
    N = vx.Dim("N")
    x = vx.Var("x")
    a = vx.Input("a", vx.float32, (N,))
    shift = vx.Param("shift", vx.int32, range=(0, 2))
    src = vx.repeat_edge(a)
    out = vx.Func("out", shape=(N,))
    out[x] = src[x + shift]
    pipe = vx.Pipeline(out)
    _same(pipe.regions["a_repeat_edge"], [(0, dim_symbol("N") + 1)])
    av = np.arange(5, dtype=np.float32)
    np.testing.assert_array_equal(pipe.reference(a=av, shift=2), [2, 3, 4, 4, 4])


def test_unproven_access_is_rejected_for_every_size():
    """x + 1 < W fails only for the last column, so no size makes it provable: BoundsError."""
    W = vx.Dim("W")
    x = vx.Var("x")
    a = vx.Input("a", vx.float32, (W,))
    out = vx.Func("out", shape=(W - 1,))
    out[x] = a[x + 1] - a[x]  # fine: the output is one shorter
    pipe = vx.Pipeline(out)
    np.testing.assert_array_equal(pipe.reference(a=np.array([1, 4, 9], np.float32)), [3, 5])
    bad = vx.Func("bad", shape=(W,))
    bad[x] = a[x + 1] - a[x]
    with pytest.raises(vx.BoundsError, match=r"\[1, W\]"):
        vx.Pipeline(bad)


def test_narrow_integer_arithmetic_wraps():
    """uint8 + 200 wraps, so lut[int32(u8 + 200) - 200] may read at negative indices: rejected;
    the same arithmetic in int32 is accepted (32-bit signed overflow is assumed not to happen)."""
    N = vx.Dim("N")
    x = vx.Var("x")
    u8 = vx.Input("u8", vx.uint8, (N,))
    lut = vx.Input("lut", vx.float32, (456,))
    bad = vx.Func("bad", shape=(N,))
    bad[x] = lut[vx.cast(vx.int32, u8[x] + 200) - 200]
    with pytest.raises(vx.BoundsError, match=r"\[-200, 55\]"):
        vx.Pipeline(bad)
    good = vx.Func("good", shape=(N,))
    good[x] = lut[vx.cast(vx.int32, u8[x]) + 200]
    table = np.arange(456, dtype=np.float32)
    uv = np.array([0, 55, 56, 255], np.uint8)
    np.testing.assert_array_equal(vx.Pipeline(good).reference(u8=uv, lut=table), uv + 200.0)


def test_floor_mod_by_negative_constant():
    N = vx.Dim("N")
    x = vx.Var("x")
    a = vx.Input("a", vx.int32, (N,))
    mid = vx.Func("mid")
    mid[x] = x * 10
    out = vx.Func("out", shape=(N,))
    out[x] = mid[x % -3] + a[x]
    pipe = vx.Pipeline(out)
    assert pipe.regions["mid"] == [(-2, 0)]
    got = pipe.reference(a=np.zeros(5, np.int32))
    np.testing.assert_array_equal(got, [10 * (i % -3) for i in range(5)])


def test_twenty_stage_chain_regions_grow_by_one_per_stage():
    n = 20
    pipe = P.stencil_chain(n)
    for s in range(n):
        k = n - 1 - s  # stages between s and the output
        _same(pipe.regions[f"s{s}"], [(-k, H_ - 1 + k), (0, W_ - 1)])
    _same(pipe.regions["img_repeat_edge"], [(-n, H_ - 1 + n), (0, W_ - 1)])
    a = np.random.default_rng(1).random((6, 3), dtype=np.float32)
    # numpy version of the chain: pad by n once (edge), then n "valid" 3-tap averages
    p = np.pad(a, ((n, n), (0, 0)), mode="edge").astype(np.float64)
    for _ in range(n):
        p = (p[:-2] + p[1:-1] + p[2:]) / 3
    np.testing.assert_allclose(pipe.reference(img=a), p, rtol=1e-5)


# --- soundness: whatever vx.Pipeline accepts stays in bounds for every size ----------------------
# (conftest.py checks every load of the reference against the array it reads)

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_N = vx.Dim("N")
_X = vx.Var("x")
_SMALL = st.integers(-4, 4)


def _or_first(fn):
    """fn(p), or p[0] when the combination is ill-typed (e.g. uint8 * -3)."""
    def build(p):
        try:
            return fn(p)
        except vx.TypeError:
            return p[0]
    return build


def _index_exprs():
    """Integer index expressions of x and N, including uint8/int8/int16 ones, which wrap."""
    leaves = st.one_of(st.just(_X), st.just(_N), _SMALL.map(vx.int32),
                       st.sampled_from([vx.uint8, vx.int8, vx.int16]).map(lambda t: vx.cast(t, _X)))
    binary = [lambda p: p[0] + p[1], lambda p: p[0] - p[1], lambda p: vx.min(p[0], p[1]),
              lambda p: vx.max(p[0], p[1])]
    with_const = [lambda p: p[0] * p[1], lambda p: p[0] // p[1], lambda p: p[0] % p[1],
                  lambda p: p[0] >> abs(p[1]), lambda p: p[0] + p[1], lambda p: p[0] & p[1]]
    unary = [lambda e: -e, lambda e: ~e, abs, lambda e: vx.cast(vx.int32, e),
             lambda e: vx.cast(vx.uint8, e)]

    def grow(s):
        return st.one_of(
            st.tuples(s, s, st.sampled_from(binary)).map(lambda p: _or_first(p[2])(p[:2])),
            st.tuples(s, st.integers(-4, 4).filter(bool), st.sampled_from(with_const)).map(
                lambda p: _or_first(p[2])(p[:2])),
            st.tuples(s, st.sampled_from(unary)).map(lambda p: p[1](p[0])),
            st.tuples(s, s, s).map(lambda p: _or_first(lambda q: vx.clamp(*q))(p)),
            st.tuples(s, s, s).map(lambda p: _or_first(
                lambda q: vx.select(q[0] < q[1], q[1], q[2]))(p)))
    return st.recursive(leaves, grow, max_leaves=6)


_OUT_SHAPES = [(_N,), (_N - 1,), (_N // 2,), (2 * _N,), (_N + 3,)]


@settings(max_examples=300, deadline=None)
@given(idx=_index_exprs(), shape=st.sampled_from(_OUT_SHAPES), source=st.sampled_from(
    ["sized", "fixed", "func"]))
def test_accepted_accesses_are_in_bounds_for_every_size(idx, shape, source):
    """source: an Input of size N, an Input of fixed size 300 (a table: narrow types must wrap),
    or an intermediate Func whose region is inferred from this read."""
    a = vx.Input("a", vx.int32, (300,) if source == "fixed" else (_N,))
    src = a
    if source == "func":
        src = vx.Func("mid")
        src[_X] = a[vx.clamp(_X, 0, _N - 1)] * 2
    out = vx.Func("out", shape=shape)
    out[_X] = src[idx]
    try:
        pipe = vx.Pipeline(out)
    except vx.BoundsError:
        return
    for n in (1, 2, 3, 7, 16, 40):  # conftest's checked loads assert every index is in range
        args = {"a": np.arange(300, dtype=np.int32), "N": n} if source == "fixed" \
            else {"a": np.arange(n, dtype=np.int32)}
        assert pipe.reference(**args).ndim == 1
