"""Which loops of an update stage may run in parallel, and how an ``atomic()`` update commits.

An update ``f[L] = v`` is applied, in Halide's semantics, once per point of its pure Vars and
RDom, in order. Running some of its loops in parallel (bound to GPU blocks or threads, or
vectorized) is the same computation when the iterations that run at once touch different points
of ``f``:

- a **pure Var** ``x`` writes ``f`` at its own position, so its iterations are independent
  unless the update reads ``f`` at another point along ``x`` (``P[i, j] = min(P[i, j], P[i, k] +
  P[k, j])`` reads column ``k``): then ``x`` is an *ordered* pure loop and stays serial, whatever
  the schedule says (Halide: a pure Var of an update may be parallel only when the update does
  not read across it);
- an **RVar** ``r`` is parallel without atomics only when the writes are *provably distinct*
  (some left-hand index is ``r`` plus terms free of every parallel loop) and ``f`` is read only
  at the point being written; otherwise iterations may collide (``hist[img[r]] += 1``) and the
  update needs ``atomic()``.

``atomic()`` commits each point with one atomic read-modify-write, so it needs the form
``f[L] = f[L] op e`` (``op`` in + * min max & | ^, ``e`` not reading ``f``) on a 32-bit type
(int32, uint32, float32): native atomics where the target has them, a compare-and-swap loop
otherwise (:mod:`vortex.codegen.atomics`). Float atomics commit in an unspecified order, so the
rounding of a float sum may differ from the sequential order (integer-valued float sums below
2^24 are exact). Atomics do not make an ordered pure loop parallel.

Source: Halide's ``Stage::atomic()`` and its race checks (``Func.cpp``; Halide issue #4298
"atomics"); Suriana, Adams, Kamil, "Parallel associative reductions in Halide", CGO 2017.
"""
from __future__ import annotations

from ..algorithm import dtypes as T
from ..algorithm.expr import BinaryOp, BinOp, Load, RVar, Var, same
from ..algorithm.printer import show
from ..algorithm.walk import find
from ..loop_kinds import ForKind
from .nest import FuseRecord, LoopNest
from .stages import update_rdom, update_stage

ATOMIC_OPS = (BinaryOp.ADD, BinaryOp.MUL, BinaryOp.MIN, BinaryOp.MAX, BinaryOp.AND,
              BinaryOp.OR, BinaryOp.XOR)
ATOMIC_TYPES = (T.int32, T.uint32, T.float32)


def _reads(f, e) -> list:
    return find(e, lambda x: isinstance(x, Load) and x.source is f)


def _predicates(d) -> tuple:
    rdom = update_rdom(d)
    return rdom.predicates if rdom is not None else ()


def atomic_form(f, d):
    """``(op, e)`` when update ``d`` of ``f`` is ``f[L] = f[L] op e`` (either operand order)
    with ``e``, ``L`` and the RDom's predicates not reading ``f``; else None."""
    v = d.value
    if not isinstance(v, BinOp) or v.op not in ATOMIC_OPS:
        return None
    if any(_reads(f, a) for a in d.lhs) or any(_reads(f, p) for p in _predicates(d)):
        return None
    for own, other in ((v.a, v.b), (v.b, v.a)):
        if isinstance(own, Load) and own.source is f and not _reads(f, other) and all(
                same(a, b) for a, b in zip(own.args, d.lhs)):
            return v.op, other
    return None


def ordered_pure_vars(f, d) -> dict:
    """Pure Var name → the first read of ``f`` by update ``d`` at another point along it (its
    value, left-hand side or RDom predicates): the update's *ordered* pure loops. Their
    iterations depend on each other, so they run serially, in order, inside the RDom's loops."""
    out = {}
    for pos, a in enumerate(d.lhs):
        if not isinstance(a, Var):
            continue
        for ld in (x for e in (d.value, *d.lhs, *_predicates(d)) for x in _reads(f, e)):
            if not (isinstance(ld.args[pos], Var) and ld.args[pos].name == a.name):
                out.setdefault(a.name, ld)
    return out


def _ranks(nest: LoopNest) -> dict:
    """Leaf loop → (original dim, split path): the position each leaf has in the update's own
    order, splits keeping outer before inner, a fused loop its outer part's."""
    rank = {lp.name: (lp.name, ()) for lp in nest.loops}
    for rec in reversed(nest.records):
        if isinstance(rec, FuseRecord):
            leafs = [k for k, v in rank.items() if v[0] == rec.fused]
            for k in leafs:
                rank[k] = (rec.outer, rank[k][1])
            continue
        for k, (dim, path) in list(rank.items()):
            if dim in (rec.outer, rec.inner):
                rank[k] = (rec.old, ((0 if dim == rec.outer else 1),) + path)
    return rank


def order_check(f, d, nest: LoopNest, initial: list, atomic: bool):
    """``(leaf, why)`` when the serial loops run the RDom's points (or an ordered pure loop) in
    another order than the update's: a reorder may not move an RVar past an earlier one, an
    ordered pure Var outside an RVar, or an inner split part outside its outer one."""
    rank = _ranks(nest)
    ordered = set(ordered_pure_vars(f, d))
    keyed = [(initial.index(rank[lp.name][0]), rank[lp.name][1], lp.name) for lp in nest.loops
             if lp.axis is None and lp.kind is not ForKind.VECTORIZED and rank[lp.name][0] in
             initial and (rank[lp.name][0] in ordered or (not atomic and lp.reduction))]
    for (a, pa, na), (b, pb, nb) in zip(keyed, keyed[1:]):
        if (a, pa) > (b, pb):
            return nb, (f"loop {na!r} runs outside {nb!r}, which changes the order in which the "
                        f"update applies its points (RDom order, ordered pure loops inside it); "
                        f"keep {nb!r} outside {na!r}")
    return None


def parallel_dims(nest: LoopNest) -> dict:
    """Original dim (pure Var or RVar name) → the leaf loop that makes it parallel (bound to a
    GPU axis or vectorized), for every dim some such leaf derives from."""
    parallel = {lp.name: lp.name for lp in nest.loops
                if lp.axis is not None or lp.kind is ForKind.VECTORIZED}
    for rec in reversed(nest.records):
        made = (rec.fused,) if isinstance(rec, FuseRecord) else (rec.outer, rec.inner)
        olds = (rec.outer, rec.inner) if isinstance(rec, FuseRecord) else (rec.old,)
        leaf = next((parallel[m] for m in made if m in parallel), None)
        for m in made:
            parallel.pop(m, None)
        if leaf is not None:
            for o in olds:
                parallel.setdefault(o, leaf)
    return parallel


def _own_position(dim: str, lhs, parallel: set) -> bool:
    """Whether some left-hand index is ``dim`` plus terms free of every parallel dim."""
    def names(e):
        return {x.name for x in find(e, lambda n: isinstance(n, (Var, RVar)))}
    for a in lhs:
        if isinstance(a, (Var, RVar)) and a.name == dim:
            return True
        if isinstance(a, BinOp) and a.op in (BinaryOp.ADD, BinaryOp.SUB):
            for me, rest in ((a.a, a.b), (a.b, a.a)):
                if isinstance(me, (Var, RVar)) and me.name == dim and not (names(rest) & parallel):
                    if a.op is BinaryOp.ADD or me is a.a:
                        return True
    return False


def check(f, n: int, nest: LoopNest, atomic: bool):
    """``(leaf loop or None, why)`` for each reason update ``n`` of ``f`` cannot run as
    scheduled (see the module docstring); empty when it can."""
    d = f.updates[n]
    where = f"update {n} of {f.name!r} ({f.name}[{', '.join(map(show, d.lhs))}] = {show(d.value)})"
    stage = update_stage(f.name, n)
    form = atomic_form(f, d)
    if atomic:
        if form is None:
            yield None, (f"{where} is not of the form {f.name}[...] = {f.name}[...] op e (op one "
                         "of + * min max & | ^, e not reading it at another point), so it cannot "
                         "commit with one atomic operation; drop atomic() and keep the "
                         "conflicting loops serial")
            return
        if f.dtype not in ATOMIC_TYPES:
            yield None, (f"{where}: atomic operations commit 32-bit values "
                         f"({', '.join(map(str, ATOMIC_TYPES))}), and {f.name!r} is {f.dtype}; "
                         f"declare {f.name!r} with one of those types")
            return
        if f.dtype.is_float and form[0] in (BinaryOp.AND, BinaryOp.OR, BinaryOp.XOR):
            yield None, f"{where}: a bitwise atomic needs an integer type, not {f.dtype}"
            return
    from .stages import update_loops
    bad = order_check(f, d, nest, [lp.name for lp in update_loops(f, n)], atomic)
    if bad is not None:
        yield bad[0], f"{where}: {bad[1]}"
        return
    par = parallel_dims(nest)
    if atomic:
        for leaf in par.values():
            if nest.loop(leaf).kind is ForKind.VECTORIZED:
                yield leaf, (f"{where} commits with atomic(), one point at a time; vector lanes "
                             f"cannot: unroll {leaf!r} instead of vectorizing it")
                return
    pure = {a.name: pos for pos, a in enumerate(d.lhs) if isinstance(a, Var)}
    ordered = ordered_pure_vars(f, d)
    reads = [ld for e in (d.value, *d.lhs, *_predicates(d)) for ld in _reads(f, e)]
    for dim, leaf in par.items():
        how = f"{dim!r}" + ("" if leaf == dim else f" (through loop {leaf!r})")
        if dim in ordered:
            ld, pos = ordered[dim], pure[dim]
            yield leaf, (f"{where} reads {show(ld)} at index {pos} = {show(ld.args[pos])}, "
                         f"not at the pure Var {dim!r}, so its iterations over {dim!r} depend "
                         f"on each other (an ordered pure loop): {how} must stay serial in "
                         f"{stage}")
            return
        if dim in pure:
            continue
        if atomic:
            continue
        if not _own_position(dim, d.lhs, set(par)):
            yield leaf, (f"{where}: iterations of RVar {how} may write the same point of "
                         f"{f.name!r} (a race); add atomic() "
                         f"(s[{f.name!r}].update({n}).atomic()) or keep {dim!r} serial")
            return
        for ld in reads:
            if not all(same(a, b) for a, b in zip(ld.args, d.lhs)):
                yield leaf, (f"{where}: iterations of RVar {how} read {show(ld)}, which another "
                             f"iteration may write (a race); keep {dim!r} serial")
                return
