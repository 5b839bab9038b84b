"""Update definitions in the reference evaluator, vectorized where that is provably the same.

An update ``f[L] = v`` applies once per point of its RDom (first dimension outermost) and, at
each, over its pure Vars (docs/semantics.md). A loop variable — a pure Var or an RVar — is
**pinned** when some left-hand index *is* that variable and every read of ``f`` in the update
(value, indices, ``where`` predicates, inline reductions) has that same variable at that
position: iterations with different values of it then touch disjoint points of ``f`` and
commute, so all of them run at once as numpy arrays (``f[r] = f[r] * 2``; a pure Var of an
ordinary update). The other variables run one point at a time, in order: the RDom's, then the
*ordered* pure Vars (read at another point of their dimension, Floyd–Warshall's ``P[i, k]``), in
left-hand-side order. When every variable is sequential, each point is evaluated by Python
closures compiled once from the expression (:mod:`vortex.algorithm.reference_scalar`), which
compute the same numpy operations on numpy scalars. An update ``f[L] = f[L] op e`` (op in + * min
max, ``e`` not reading ``f``) uses ``ufunc.at``, which applies the points in sequential order.

Halide's race analysis for parallel update loops is the source of the pinning rule
(``Func.cpp``, "pure var ... is used in a self-reference at another position"); a private copy
here keeps the reference independent of the schedule.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from .expr import BinaryOp, BinOp, Const, Load, RVar, Var, same
from .func import rvars_in
from .reference_scalar import compile_expr
from .walk import find

UPDATE_UFUNCS = {BinaryOp.ADD: np.add, BinaryOp.MUL: np.multiply, BinaryOp.MIN: np.fmin,
                 BinaryOp.MAX: np.fmax}


def _update_rdom(d):
    rv = [v for e in (*d.lhs, d.value) for v in rvars_in(e)]
    return rv[0].rdom if rv else None


def _self_loads(f, d, rdom) -> list:
    exprs = (*d.lhs, d.value, *(rdom.predicates if rdom is not None else ()))
    return [ld for e in exprs for ld in find(e, lambda x: isinstance(x, Load) and x.source is f)]


def pinned(var, lhs: tuple, loads: list) -> bool:
    """Whether loop variable ``var`` (Var or RVar) is pinned (module docstring)."""
    return any(same(a, var) and all(same(ld.args[pos], var) for ld in loads)
               for pos, a in enumerate(lhs))


def _offset(e) -> tuple:
    """(base, c) with ``e == base + c`` for an int constant ``c`` (base None: ``e`` is ``c``)."""
    if isinstance(e, Const):
        return None, int(e.value)
    if isinstance(e, BinOp) and e.op in (BinaryOp.ADD, BinaryOp.SUB) and isinstance(e.b, Const):
        return e.a, int(e.b.value) * (1 if e.op is BinaryOp.ADD else -1)
    return e, 0


def separated(ld, lhs: tuple, outer: set) -> bool:
    """Whether read ``ld`` of ``f`` never hits a point written while the loop variables named in
    ``outer`` keep their values: at some position the written index depends on those only and
    the read index is it plus a nonzero constant (``S[r - 1, i, j]`` against ``S[r, i, j]``)."""
    for a, b in zip(lhs, ld.args):
        used = find(a, lambda x: isinstance(x, (Var, RVar, Load)))
        if all(isinstance(x, RVar) and x.name in outer for x in used):
            (base_a, ca), (base_b, cb) = _offset(a), _offset(b)
            if ca != cb and (base_a is None and base_b is None or base_a is not None
                             and base_b is not None and same(base_a, base_b)):
                return True
    return False


def split_loops(lhs: tuple, loops: list, loads: list) -> tuple:
    """(vectorized, sequential) loops, each a list of (variable, (min, extent)): for each
    prefix of the RDom's loops kept sequential, the later variables that are pinned for every
    read not :func:`separated` by the prefix run at once; the split with the fewest sequential
    points wins."""
    n_rvars = sum(1 for v, _ in loops if isinstance(v, RVar))
    best = None
    for k in range(n_rvars + 1):
        outer = {v.name for v, _ in loops[:k]}
        near = [ld for ld in loads if not separated(ld, lhs, outer)]
        vec = [(v, b) for v, b in loops[k:] if pinned(v, lhs, near)]
        seq = loops[:k] + [(v, b) for v, b in loops[k:] if not pinned(v, lhs, near)]
        points = math.prod(n for _, (_, n) in seq)
        if best is None or points < best[0]:
            best = (points, vec, seq)
    return best[1], best[2]


def accumulate_op(f, d, rdom):
    """(ufunc, e) for ``f[L] = f[L] op e`` with ``e``, ``L`` and the predicates not reading
    ``f``; else None."""
    v = d.value
    if rdom is None or not isinstance(v, BinOp) or v.op not in UPDATE_UFUNCS:
        return None
    reads_f = lambda e: find(e, lambda x: isinstance(x, Load) and x.source is f)  # noqa: E731
    if any(reads_f(e) for e in (*d.lhs, *rdom.predicates)):
        return None  # indices or predicates that read f must see each point's update
    for own, other in ((v.a, v.b), (v.b, v.a)):
        if isinstance(own, Load) and own.source is f and all(
                same(a, b) for a, b in zip(own.args, d.lhs)) and not reads_f(other):
            return UPDATE_UFUNCS[v.op], other
    return None


def update_loops(ev, d, rdom, origin: tuple, shape: tuple):
    """(the loops of update ``d`` — its RDom's, then its pure Vars' — as (variable, (min,
    extent)), the evaluator to apply it with). An RDom whose bounds use the update's pure Vars
    (or data) iterates the box over their points, each point's own range kept by the mask, and
    its loads are clipped (:class:`_Clipped`)."""
    from .reference import Scope
    pure = [(a, (origin[i], shape[i])) for i, a in enumerate(d.lhs) if isinstance(a, Var)]
    if rdom is None:
        return pure, ev
    varying = bool(rdom.bound_predicates())
    over = Scope((), {}).extend([a.name for a, _ in pure], [b for _, b in pure]) \
        if varying else Scope((), {})
    loops = list(zip(rdom.vars, ev.rdom_bounds(rdom, over)))
    return loops + pure, (_Clipped(ev) if varying else ev)


def run_update(ev, f, d, arr: np.ndarray, origin: tuple):
    """Apply update definition ``d`` of ``f`` to ``arr`` (``f``'s buffer, origin ``origin``)
    in place, as :class:`~vortex.algorithm.reference.Evaluator` does."""
    rdom = _update_rdom(d)
    # (variable, (min, extent)) in the order the update applies them
    loops, ev = update_loops(ev, d, rdom, origin, arr.shape)
    op = accumulate_op(f, d, rdom)
    if op is not None:
        return _update_at(ev, d, arr, origin, rdom, loops, op)
    vec, seq = split_loops(d.lhs, loops, _self_loads(f, d, rdom))
    point = _point_runner(ev, d, arr, origin, rdom, vec, seq)
    ranges = [[np.int32(i) for i in range(lo, lo + n)] for _, (lo, n) in seq]
    if seq and _batchable(f, d, rdom):
        return _run_batched(ev, f, d, arr, origin, rdom, vec, seq, point, ranges)
    for p in itertools.product(*ranges):
        point(p)


class _Clipped:
    """The evaluator ``ev`` whose scopes clip loads (:class:`~vortex.algorithm.reference.Scope`):
    for an update whose RDom's bounds use its pure Vars, iterated over their box."""

    def __init__(self, ev):
        self._ev = ev

    def __getattr__(self, name):
        return getattr(self._ev, name)

    def eval(self, e, scope):
        return self._ev.eval(e, scope.clipped() if scope is not None else scope)

    def index(self, args, origin, scope):
        return self._ev.index(args, origin, scope.clipped())

    def mask(self, rdom, scope, own_ranges: bool = True):
        return self._ev.mask(rdom, scope.clipped(), own_ranges)


def _mask(ev, rdom, scope):
    return None if rdom is None else ev.mask(rdom, scope)


def _point_runner(ev, d, arr, origin, rdom, vec, seq):
    """A function applying the update at one point of the sequential loops (int32 values):
    over arrays of the vectorized loops, or through compiled closures when there are none."""
    from .reference import Scope
    names = [v.name for v, _ in seq]
    if vec:
        scope = Scope((), {}).extend([v.name for v, _ in vec], [b for _, b in vec])

        def at(point):
            s = scope.bind(names, point)
            idx, value = ev.index(d.lhs, origin, s), ev.eval(d.value, s)
            mask = _mask(ev, rdom, s)
            if mask is None:
                arr[idx] = value
                return
            m = np.broadcast_to(mask, s.shape)   # only the points kept: none clipped is written
            arr[tuple(np.broadcast_to(i, s.shape)[m] for i in idx)] = \
                np.broadcast_to(value, s.shape)[m]
        return at
    index = [compile_expr(ev, a) for a in d.lhs]
    value = compile_expr(ev, d.value)
    conds = [compile_expr(ev, p) for p in
             ((*rdom.predicates, *rdom.bound_predicates()) if rdom is not None else ())]

    def one(point):
        env = dict(zip(names, point))
        if all(c(env) for c in conds):
            arr[tuple(int(i(env)) - o for i, o in zip(index, origin))] = value(env)
    return one


def _batchable(f, d, rdom) -> bool:
    """Only the value reads ``f``, and not inside an inline reduction."""
    reads = lambda e, skip=False: find(  # noqa: E731
        e, lambda x: isinstance(x, Load) and x.source is f, skip_reductions=skip)
    return not any(reads(e) for e in (*d.lhs, *(rdom.predicates if rdom else ()))) and \
        len(reads(d.value)) == len(reads(d.value, True))


def _run_batched(ev, f, d, arr, origin, rdom, vec, seq, point, ranges):
    """Blocks of the sequential loops run at once, speculatively: the points of a block (the
    loops from level ``k`` in, the outer ones fixed) are evaluated on the state before them and
    committed only when that is what running them in order gives — distinct points written,
    and no point read by one iteration changed (bit for bit) by another (Floyd–Warshall's
    ``P[i, k]`` is rewritten with its own value). A block that fails splits into the blocks of
    the next level, down to single points; a level that fails twice in a row is not tried
    again."""
    from .reference import Scope
    scopes = [Scope((), {}).extend([v.name for v, _ in vec + seq[k:]],
                                   [b for _, b in vec + seq[k:]]) for k in range(len(seq))]
    names = [v.name for v, _ in seq]
    loads = find(d.value, lambda x: isinstance(x, Load) and x.source is f)
    misses = [0] * len(seq)

    def block(prefix: tuple):
        k = len(prefix)
        if k == len(seq):
            return point(prefix)
        if misses[k] < 2 and len(ranges[k]) > 1:
            if _commit_batch(ev, d, arr, origin, rdom, scopes[k].bind(names[:k], prefix), loads):
                misses[k] = 0
                return
            misses[k] += 1
        for v in ranges[k]:
            block(prefix + (v,))
    block(())


def _bits(x: np.ndarray) -> np.ndarray:
    return x.view(f"u{x.dtype.itemsize}") if x.dtype.kind in "fc" else x


def _commit_batch(ev, d, arr, origin, rdom, s, loads) -> bool:
    full = s.shape
    m = _mask(ev, rdom, s)
    m = np.ones(full, bool) if m is None else np.broadcast_to(m, full)

    def flat(args):
        return np.ravel_multi_index(tuple(np.broadcast_to(i, full)[m]
                                          for i in ev.index(args, origin, s)), arr.shape)
    try:
        w = flat(d.lhs)
        new = np.broadcast_to(ev.eval(d.value, s), full)[m]
        reads = [flat(ld.args) for ld in loads]
    except (ValueError, IndexError):   # an index outside the buffer: run point by point
        return False
    flat_arr = arr.reshape(-1)
    changed = w[_bits(new) != _bits(flat_arr[w])]
    if np.unique(w).size != w.size or any(np.isin(r[r != w], changed).any() for r in reads):
        return False
    flat_arr[w] = new
    return True


def _update_at(ev, d, arr, origin, rdom, loops, op):
    """``f[L] = f[L] op e``: ``ufunc.at`` over every point, in chunks of the RDom's first
    dimension (pure Vars outer in the flattened order: each pure point's RDom points stay in
    RDom order)."""
    ufunc, other = op
    from .reference import Scope
    pure = [(v.name, b) for v, b in loops if isinstance(v, Var)]
    scope = Scope((), {}).extend([n for n, _ in pure], [b for _, b in pure])
    rnames = [v.name for v in rdom.vars]
    for sub in ev._chunks(scope, rnames, [b for v, b in loops if not isinstance(v, Var)]):
        full = sub.shape
        idx = [np.broadcast_to(i, full).ravel() for i in ev.index(d.lhs, origin, sub)]
        vals = np.broadcast_to(ev.eval(other, sub), full).ravel()
        mask = ev.mask(rdom, sub)
        if mask is not None:
            m = np.broadcast_to(mask, full).ravel()
            idx, vals = [i[m] for i in idx], vals[m]
        ufunc.at(arr, tuple(idx), vals.astype(arr.dtype, copy=False))
