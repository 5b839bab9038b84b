"""Inline reductions inside update definitions (``over=`` and the implicit form), updates with
ordered pure loops, and the vectorized/compiled reference for updates (issue 12, items 6a, 6b,
7): numbers against numpy loops and the OpenCL kernel on PoCL, and one test per error message."""
from __future__ import annotations

import numpy as np
import pytest

import vortex as vx
from vortex.algorithm.reference_updates import split_loops

OPS = {vx.sum: np.sum, vx.product: np.prod, vx.maximum: np.max, vx.minimum: np.min,
       vx.argmax: np.argmax, vx.argmin: np.argmin}


def _row_reduce(op, over: bool):
    """f[r] = op over k of a[r, k] + f[r - 1]-free: an update over r with k reduced inline."""
    N, K = vx.dims("N K")
    a = vx.Input("a", vx.float32, (N, K))
    x = vx.Var("x")
    r, k = vx.RDom(N, name="r"), vx.RDom(K, name="k")
    t = vx.float32 if op not in (vx.argmax, vx.argmin) else vx.int32
    f = vx.Func("f", shape=(N,))
    f[x] = vx.cast(t, 0)
    f[r] = op(a[r, k], over=k) if over else op(a[r, k])
    return vx.Pipeline(f)


@pytest.mark.parametrize("over", [True, False], ids=["over", "implicit"])
@pytest.mark.parametrize("op", list(OPS), ids=lambda o: o.__name__)
def test_reduction_over_an_update_rvar(opencl_device, op, over):
    pipe = _row_reduce(op, over)
    a = np.random.default_rng(3).standard_normal((13, 7)).astype(np.float32)
    want = OPS[op](a, axis=1).astype(pipe.outputs[0].dtype.np)
    got = pipe.reference(a=a)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    kernel = vx.compile(pipe, schedule=vx.Schedule.default(pipe), target="opencl",
                        device=opencl_device)
    np.testing.assert_allclose(kernel(a=a), got, rtol=1e-5)


def test_nested_reductions_with_over_in_a_pure_definition(opencl_device):
    """g[x] = Σ_j max_k a[x, j, k]: the inner reduction names k; j stays free for the outer."""
    N, J, K = vx.dims("N J K")
    a = vx.Input("a", vx.float32, (N, J, K))
    x = vx.Var("x")
    j, k = vx.RDom(J, name="j"), vx.RDom(K, name="k")
    g = vx.Func("g", shape=(N,))
    g[x] = vx.sum(vx.maximum(a[x, j, k], over=k))
    pipe = vx.Pipeline(g)
    v = np.random.default_rng(4).standard_normal((5, 3, 7)).astype(np.float32)
    np.testing.assert_allclose(pipe.reference(a=v), v.max(axis=2).sum(axis=1), rtol=1e-6)
    kernel = vx.compile(pipe, schedule=vx.Schedule.default(pipe), target="opencl",
                        device=opencl_device)
    np.testing.assert_allclose(kernel(a=v), pipe.reference(a=v), rtol=1e-6)


def test_update_rdom_only_inside_an_over_reduction(opencl_device):
    """s[0] += max over k of A[r, k]: the update iterates r, which appears only inside the
    reduction (free there); without over= the same form is ambiguous."""
    N, K = vx.dims("N K")
    A = vx.Input("A", vx.float32, (N, K))
    x = vx.Var("x")
    r, k = vx.RDom(N, name="r"), vx.RDom(K, name="k")
    s = vx.Func("s", shape=(1,))
    s[x] = vx.cast(vx.float32, 0)
    with pytest.raises(vx.TypeError, match=r"could reduce over any of \['k', 'r'\]"):
        s[0] = s[0] + vx.maximum(A[r, k])
    s[0] = s[0] + vx.maximum(A[r, k], over=k)
    pipe = vx.Pipeline(s)
    kernel = vx.compile(pipe, schedule=vx.Schedule.default(pipe), target="opencl",
                        device=opencl_device)
    for n in (1, 7, 13):
        a = np.random.default_rng(n).standard_normal((n, 5)).astype(np.float32)
        want = np.float32(0)
        for row in a:
            want = want + row.max()
        np.testing.assert_array_equal(pipe.reference(A=a), [want])
        np.testing.assert_allclose(kernel(A=a), [want], rtol=1e-6)


def test_implicit_reduction_in_an_update_index(opencl_device):
    """h[r % 2, argmax_k A[r, k]] += 1: the argmax in the left-hand side reduces over k, since
    the update iterates r (its other index)."""
    N, K = vx.dims("N K")
    A = vx.Input("A", vx.float32, (N, K))
    y, x = vx.vars("y x")
    r, k = vx.RDom(N, name="r"), vx.RDom(K, name="k")
    h = vx.Func("h", shape=(2, K))
    h[y, x] = vx.cast(vx.int32, 0)
    h[r % 2, vx.argmax(A[r, k])] += 1
    pipe = vx.Pipeline(h)
    kernel = vx.compile(pipe, schedule=vx.Schedule.default(pipe), target="opencl",
                        device=opencl_device)
    a = np.random.default_rng(2).standard_normal((29, 5)).astype(np.float32)
    want = np.zeros((2, 5), np.int32)
    for row in range(29):
        want[row % 2, a[row].argmax()] += 1
    np.testing.assert_array_equal(pipe.reference(A=a), want)
    np.testing.assert_array_equal(kernel(A=a), want)


def test_over_must_be_an_rdom():
    a = vx.Input("a", vx.float32, (4, 4))
    k = vx.RDom(4, name="k")
    with pytest.raises(vx.TypeError, match=r"over= takes the RDom to reduce over"):
        vx.sum(a[k, 0], over=k[0])



def test_ambiguous_reduction_in_an_update():
    a = vx.Input("a", vx.float32, (4, 4, 4))
    r, k, m = (vx.RDom(4, name=n) for n in "rkm")
    x = vx.Var("x")
    f = vx.Func("f", shape=(4,))
    f[x] = vx.cast(vx.float32, 0)
    with pytest.raises(vx.TypeError, match=r"vx\.sum\(a\[r, k, m\]\) in an update of 'f' could "
                       r"reduce over any of \['k', 'm'\].*iterates \['r'\].*over=k"):
        f[r] = vx.sum(a[r, k, m])


def test_reduction_over_only_the_updates_own_rdoms():
    a = vx.Input("a", vx.float32, (4, 4))
    r, s = vx.RDom(4, name="r"), vx.RDom(4, name="s")
    x, y = vx.vars("x y")
    f = vx.Func("f", shape=(4, 4))
    f[y, x] = vx.cast(vx.float32, 0)
    with pytest.raises(vx.TypeError, match=r"has no RDom left to reduce over: the update itself "
                       r"iterates \['r', 's'\]; write which RDom it reduces over with over="):
        f[r, s] = vx.sum(a[r, s])


def test_ambiguous_reduction_in_a_pure_definition():
    a = vx.Input("a", vx.float32, (4, 4))
    r, k = vx.RDom(4, name="r"), vx.RDom(4, name="k")
    g = vx.Func("g")
    with pytest.raises(vx.TypeError, match=r"vx\.sum\(a\[r, k\]\) in the pure definition of 'g' "
                       r"must reduce over exactly one RDom, found RDoms \['k', 'r'\].*over="):
        g[vx.Var("x")] = vx.sum(a[r, k])


def test_ambiguous_reduction_in_a_where_predicate():
    a = vx.Input("a", vx.float32, (4, 4))
    x = vx.Var("x")
    r, k, m = (vx.RDom(4, name=n) for n in "rkm")
    r.where(vx.sum(a[k, m]) > 0)
    f = vx.Func("f", shape=(4,))
    f[x] = vx.cast(vx.float32, 0)
    f[r] = f[r] + 1
    with pytest.raises(vx.TypeError, match=r"vx\.sum\(a\[k, m\]\) in Func 'f' \(an index or a "
                       r"where\(\) predicate\) must reduce over exactly one RDom"):
        vx.Pipeline(f)


# --- ordered pure loops (item 6b) ------------------------------------------------------------

def test_update_reading_its_pure_dimension_elsewhere_runs_in_order(opencl_device):
    """f[x] = f[x - 1] + a[x] (no RDom): the pure loop runs in order, a prefix sum."""
    N = vx.Dim("N")
    a = vx.Input("a", vx.int32, (N,))
    x = vx.Var("x")
    f = vx.Func("f", shape=(N,))
    f[x] = a[x]
    f[x] = f[vx.max(x - 1, 0)] + vx.select(x > 0, a[x], 0)
    pipe = vx.Pipeline(f)
    kernel = vx.compile(pipe, schedule=vx.Schedule.default(pipe), target="opencl",
                        device=opencl_device)
    for n in (1, 2, 7, 13, 20):
        v = np.arange(1, n + 1, dtype=np.int32)
        np.testing.assert_array_equal(pipe.reference(a=v), np.cumsum(v))
        np.testing.assert_array_equal(kernel(a=v), np.cumsum(v))


def test_ordered_pure_var_out_of_bounds_is_a_bounds_error():
    N = vx.Dim("N")
    x = vx.Var("x")
    f = vx.Func("f", shape=(N,))
    f[x] = vx.cast(vx.int32, 1)
    f[x] = f[x - 1] + 1
    with pytest.raises(vx.BoundsError, match=r"Func 'f' accesses f\[x - 1\] out of bounds"):
        vx.Pipeline(f).reference(N=4)


# --- which loops the reference vectorizes (item 7) -------------------------------------------

def _loops(f, n=0):
    d = f.updates[n]
    rv = [v for e in (*d.lhs, d.value) for v in vx.algorithm.func.rvars_in(e)]
    loops = [(v, (0, 4)) for v in (rv[0].rdom.vars if rv else ())]
    loops += [(a, (0, 4)) for a in d.lhs if isinstance(a, vx.Var)]
    loads = [ld for e in (*d.lhs, d.value) for ld in
             vx.algorithm.walk.find(e, lambda q: isinstance(q, vx.algorithm.expr.Load)
                                    and q.source is f)]
    vec, seq = split_loops(d.lhs, loops, loads)
    return [v.name for v, _ in vec], [v.name for v, _ in seq]


def test_split_loops():
    N = vx.Dim("N")
    i, j, t = vx.vars("i j t")
    r = vx.RDom(N, name="r")
    f = vx.Func("f", shape=(N,))
    f[i] = vx.cast(vx.float32, 1)
    f[r] = f[r] * f[r] + 1                                     # pinned RVar
    f[r] = f[vx.max(r - 1, 0)] + f[r]                          # a scan: sequential
    assert _loops(f, 0) == (["r"], [])
    assert _loops(f, 1) == ([], ["r"])
    P = vx.Func("P", shape=(N, N))
    P[i, j] = vx.cast(vx.int32, 0)
    P[i, j] = vx.min(P[i, j], P[i, r] + P[r, j])               # floyd-warshall: all ordered
    assert _loops(P) == ([], ["r", "i", "j"])
    S = vx.Func("S", shape=(N, N))
    S[t, i] = vx.cast(vx.float32, 0)
    q = vx.RDom([(1, N - 1)], name="q")
    S[q, i] = S[q - 1, vx.max(i - 1, 0)] + S[q - 1, i]         # time steps: i at once per q
    assert _loops(S) == (["i"], ["q"])
    g = vx.Func("g", shape=(2, N))
    g[t, i] = vx.cast(vx.float32, 0)
    g[0, i] = g[1, vx.max(i - 1, 0)] + g[0, i]                 # rows apart: i at once
    assert _loops(g) == (["i"], [])


def test_partly_vectorized_update_matches_numpy_loops():
    """f[r0, r1] = 2 f[r0, r1 - 1] + a[r0, r1] over a 2-D RDom: r0 at once, r1 in order; and a
    pure Var at once inside time steps (the reference's two vectorized paths)."""
    N, M = vx.dims("N M")
    a = vx.Input("a", vx.float32, (N, M))
    y, x = vx.vars("y x")
    r = vx.RDom([(0, N), (1, M - 1)], name="r")
    f = vx.Func("f", shape=(N, M))
    f[y, x] = a[y, x]
    f[r[0], r[1]] = 2 * f[r[0], r[1] - 1] + a[r[0], r[1]]
    v = np.random.default_rng(5).standard_normal((7, 13)).astype(np.float32)
    want = v.copy()
    for c in range(1, 13):
        for row in range(7):
            want[row, c] = np.float32(2) * want[row, c - 1] + v[row, c]
    np.testing.assert_array_equal(vx.Pipeline(f).reference(a=v), want)


def _exprs(u, w):
    """Integer wrap, floor division and modulo (by negatives and zero), shifts, float32 rounding,
    NaN-ignoring min/max, float→int casts, a select."""
    i8 = vx.cast(vx.int8, u) * vx.cast(vx.int8, w * 37) + vx.cast(vx.int8, 100)
    div = (u // (w - 3)) + (u % (w - 3)) + (u << (w % 9)) + (-u >> 2)
    fl = vx.cast(vx.float32, u) / vx.cast(vx.float32, w - 3) * 1.1
    mm = vx.max(fl, vx.cast(vx.float32, w) / 0.0 * 0.0) + vx.min(fl, 3.5)
    return [vx.cast(vx.int32, i8), div, vx.cast(vx.int32, fl * 1e9), mm,
            vx.select(u > w, fl, -fl)]


@pytest.mark.parametrize("which", range(5))
def test_sequential_points_match_the_vectorized_evaluator(which):
    """The same expression as a pure definition (evaluated on arrays) and as a scan's value
    (evaluated one point at a time by compiled closures): the same bits, with a where()."""
    N = vx.Dim("N")
    u_in, w_in = vx.Input("u", vx.int32, (N,)), vx.Input("w", vx.int32, (N,))
    x = vx.Var("x")
    e_pure = _exprs(u_in[x], w_in[x])[which]
    pure = vx.Func("pure", shape=(N,))
    pure[x] = e_pure
    r = vx.RDom(N, name="r")
    r.where(r % 3 != 1)
    scan = vx.Func("scan", shape=(N,))
    scan[x] = vx.cast(e_pure.dtype, 7)
    e_scan = _exprs(u_in[r], w_in[r])[which]
    scan[r] = vx.select(r < 0, scan[vx.max(r - 1, 0)], e_scan)   # reads f elsewhere: sequential
    assert _loops(scan) == ([], ["r"])
    rng = np.random.default_rng(which)
    u = rng.integers(-300, 300, 29).astype(np.int32)
    w = rng.integers(-5, 12, 29).astype(np.int32)
    want = vx.Pipeline(pure).reference(u=u, w=w)
    got = vx.Pipeline(scan).reference(u=u, w=w)
    keep = np.arange(29) % 3 == 1
    np.testing.assert_array_equal(got[~keep], want[~keep])
    assert (got[keep] == 7).all()


@pytest.mark.parametrize("negative", [False, True], ids=["paths", "negative_cycles"])
def test_speculative_blocks_match_numpy_loops(negative):
    """Floyd–Warshall with a where() on k: the reference runs each k's (i, j) block at once when
    no point read changes within it; with negative weights on the diagonal P[i, k] does change
    at j == k, and those blocks split down to single points — same numbers either way."""
    N = vx.Dim("N")
    w = vx.Input("w", vx.int32, (N, N))
    i, j = vx.vars("i j")
    k = vx.RDom(N, name="k")
    k.where(k % 3 != 1)
    P = vx.Func("P", shape=(N, N))
    P[i, j] = w[i, j]
    P[i, j] = vx.min(P[i, j], P[i, k] + P[k, j])
    rng = np.random.default_rng(7)
    for n in (1, 2, 7, 13):
        v = np.where(rng.random((n, n)) < 0.4, rng.integers(1, 9, (n, n)), 10 ** 5)
        if negative:
            v[np.diag_indices(n)] = -rng.integers(0, 3, n)
        v = v.astype(np.int32)
        want = v.copy()
        for kk in range(n):
            if kk % 3 != 1:
                for ii in range(n):
                    for jj in range(n):
                        want[ii, jj] = min(want[ii, jj], want[ii, kk] + want[kk, jj])
        np.testing.assert_array_equal(vx.Pipeline(P).reference(w=v), want)
