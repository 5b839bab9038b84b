"""vortex.algorithm.invariance.invariant_elements: which elements of a (Tuple-valued) Func are
provably equal along one pure dimension. FlashAttention-2's state (m, l, acc) over (b, h, s, d):
m and l do not vary along d, acc does, nothing is invariant along s; and the cases that make an
element vary (the Var itself, a dropped element it reads — through a chain, which needs the
fixed point —, the Func read at another point, a ``where`` reading the Var, a scatter)."""
from pathlib import Path

import pytest

import vortex as vx
from vortex.algorithm.invariance import invariant_elements
from vortex.examples import load_example

ROOT = Path(__file__).resolve().parents[2]
attention = load_example(ROOT / "examples" / "attention.py")
ZERO = vx.cast(vx.float32, 0)


def func(pipe, name):
    return next(f for f in pipe.funcs if f.name == name)


@pytest.mark.parametrize("key_block", [None, 16], ids=["per_key", "key_blocks"])
def test_attention_state_max_and_sum_do_not_vary_along_d(key_block):
    F = func(attention.pipeline(64, key_block=key_block), "F")
    assert [invariant_elements(F, dim) for dim in range(4)] == [
        frozenset(), frozenset(), frozenset(), frozenset({0, 1})]


def _chain(last):
    """f[x, y] = (0, 0, 0); per r: (e1 + 1, e2 * 2, e2 + last): e0 reads e1 reads e2."""
    N = vx.Dim("N")
    x, y = vx.vars("x y")
    r = vx.RDom(N, name="r")
    f = vx.Func("f", shape=(N, N))
    f[x, y] = (ZERO, ZERO, ZERO)
    e0, e1, e2 = f[x, y]
    f[x, y] = (e1 + 1, e2 * 2, e2 + vx.cast(vx.float32, last(x, y, r)))
    return f


def test_a_dependence_on_the_var_propagates_through_the_elements():
    assert invariant_elements(_chain(lambda x, y, r: x + r), 1) == frozenset({0, 1, 2})
    assert invariant_elements(_chain(lambda x, y, r: y), 1) == frozenset()
    assert invariant_elements(_chain(lambda x, y, r: y), 0) == frozenset({0, 1, 2})


def _update(value, where=None, lhs=None):
    """g[x, y] = 0 then g[x, y] (or g[lhs]) = value(g, x, y, r) over r (where: r's predicate)."""
    N = vx.Dim("N")
    x, y = vx.vars("x y")
    a = vx.Input("a", vx.float32, (N, N))
    r = vx.RDom(N, name="r")
    if where is not None:
        r.where(where(r, x, y))
    g = vx.Func("g", shape=(N, N))
    g[x, y] = ZERO
    g[(x, y) if lhs is None else lhs(x, y, r)] = value(g, a, x, y, r)
    return g


@pytest.mark.parametrize("value, where, lhs, want", [
    (lambda g, a, x, y, r: g[x, y] + a[x, r], None, None, {0}),           # a row sum
    (lambda g, a, x, y, r: g[x, y] + a[y, r], None, None, set()),         # reads y
    (lambda g, a, x, y, r: g[x, 0] + a[x, r], None, None, set()),         # g at another point
    (lambda g, a, x, y, r: g[x, y] + a[x, r], lambda r, x, y: r <= y, None, set()),
    (lambda g, a, x, y, r: g[x, y] + a[x, r], lambda r, x, y: r <= x, None, {0}),
    (lambda g, a, x, y, r: g[x, r] + 1, None, lambda x, y, r: (x, r), set()),   # a scatter
], ids=["row_sum", "reads_y", "other_point", "where_y", "where_x", "scatter"])
def test_what_makes_an_element_vary_along_y(value, where, lhs, want):
    assert invariant_elements(_update(value, where, lhs), 1) == frozenset(want)


def test_an_inline_reduction_whose_where_reads_the_var_varies():
    N = vx.Dim("N")
    x, y = vx.vars("x y")
    a = vx.Input("a", vx.float32, (N, N))
    r, k = vx.RDom(N, name="r"), vx.RDom(N, name="k")
    k.where(k <= y)
    g = vx.Func("g", shape=(N, N))
    g[x, y] = ZERO
    g[x, y] = g[x, y] + vx.sum(a[x, k], over=k) + a[r, x]
    assert invariant_elements(g, 1) == frozenset()
    assert invariant_elements(g, 0) == frozenset()


def test_a_dimension_outside_the_func_is_an_index_error():
    with pytest.raises(IndexError, match="Func 'F' has 4 dimensions, not 5"):
        invariant_elements(func(attention.pipeline(64), "F"), 4)
