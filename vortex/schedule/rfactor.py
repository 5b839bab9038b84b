"""``rfactor``: split an associative update into a parallel intermediate Func and a merge.

``s[f].update(n).rfactor(rv, u)`` rewrites update ``n`` of ``f``, which must have the form
``f[L] = f[L] op e`` (``op`` in + * min max & | ^, ``e`` not reading ``f``: the form ``atomic()``
takes, :func:`vortex.schedule.races.atomic_form`) over an RDom with RVar ``rv`` (its range
``[lo, lo + n)``), into

- ``f_intm[u, x...] = identity(op)`` (a new pure Var ``u`` of extent n, then ``f``'s pure
  Vars: each partial result is contiguous),
- ``f_intm[u, L'] = f_intm[u, L'] op e'`` over the RDom's other dimensions (``L'``, ``e'``:
  ``rv`` replaced by ``lo + u``; a 1-D RDom leaves no RVar: the update runs once per point),
- ``f[x...] = f[x...] op f_intm[rv, x...]``: the merge, over a 1-D RDom named ``rv``,

so the partial results along ``u`` are independent (``u`` is a pure Var of ``f_intm``: it may
be bound to blocks or threads without atomics) and the merge combines them. The intermediate is
a Func like any other: ``s["f_intm"]`` and ``s["f_intm"].update(0)`` schedule it, and directives
after ``rfactor`` on ``s[f].update(n)`` schedule the merge (its loops: ``f``'s pure Vars, then
``rv``). For floats the sum is reassociated, so its rounding may differ from the sequential
order. A Tuple update that keeps the elements of the strictly better key (an argmax carrying
index and value: ``(vx.select(e > f[L][k], i, f[L][0]), …, vx.select(e > f[L][k], e,
f[L][k]))``, or ``<``) factors too: the partial results start from the worst key and the merge
keeps a partial whose key is strictly better, in the factored RVar's order — the RDom's
outermost, so that ties keep the first point as the sequential update does. ``where``
predicates move with their RVars: those of the remaining dimensions stay on the
intermediate's RDom; one on ``rv`` alone becomes a select in the intermediate's update.

Source: Halide's ``Stage::rfactor`` (Suriana, Adams, Kamil, "Parallel associative reductions in
Halide", CGO 2017).
"""
from __future__ import annotations

import copy

import numpy as np

from ..algorithm import dtypes as T
from ..algorithm.construct import binary
from ..algorithm.expr import (BinaryOp, BinOp, Const, Load, RVar, Select, TupleValue, Var,
                               element_name, same)
from ..algorithm.func import Definition, Func
from ..algorithm.graph import collect
from ..algorithm.ops import select
from ..algorithm.printer import show
from ..algorithm.rdom import RDom
from ..algorithm.walk import find, rebuild
from . import directives as D
from .nest import Reject, located
from .races import atomic_form
from .stages import parse, update_rdom, update_stage


def intermediate_name(func: str) -> str:
    """The name of the Func ``rfactor`` makes for ``func``'s update (Halide's ``f_intm``)."""
    return f"{func}_intm"


def identity(op: BinaryOp, dtype: T.DType) -> Const:
    """The value ``x`` with ``x op y == y`` for every ``y`` of ``dtype``."""
    lo, hi = (-np.inf, np.inf) if dtype.is_float else dtype.value_range()
    ones = -1 if dtype.kind is T.Kind.INT else hi
    value = {BinaryOp.ADD: 0, BinaryOp.MUL: 1, BinaryOp.MIN: hi, BinaryOp.MAX: lo,
             BinaryOp.AND: ones, BinaryOp.OR: 0, BinaryOp.XOR: 0}[op]
    return Const.make(value, dtype)


def rfactors(directives: dict) -> list:
    """(stage name, RFactor directive) of every rfactor in ``directives``."""
    return [(stage, d) for stage, ds in directives.items() for d in ds
            if isinstance(d, D.RFactor)]


def rfactored(pipe, directives: dict):
    """``pipe`` with every ``rfactor`` of ``directives`` applied (``pipe`` itself when there
    is none), on a copy of its Funcs: the user's algorithm is never changed. Raises
    vx.ScheduleError naming the directive when one cannot be applied."""
    todo = rfactors(directives)
    if not todo:
        return pipe
    from ..algorithm.pipeline import Pipeline
    outputs = copy.deepcopy(pipe.outputs)
    funcs = {f.name: f for f in collect(outputs)[0]}
    for stage, d in todo:
        st = parse(stage)
        if st.update is None:
            continue        # refused by the replay: rfactor applies to update stages
        entry = directives[stage].index(d) + 1
        try:
            if entry != 1:
                raise Reject("rfactor must be the first directive of its stage: the directives "
                             "after it schedule the merge")
            _split(funcs[st.func], st.update, d.rvar, d.var, funcs)
        except Reject as why:
            raise located(d, stage, entry, why) from None
    return Pipeline(*outputs, name=pipe.name)


class _Fold:
    """``f[L] = f[L] op e``: partial results combine with ``op`` from ``identity(op)``."""

    def __init__(self, f, op, e):
        self.f, self.op, self.e = f, op, e

    def identity(self):
        return identity(self.op, self.f.dtype)

    def step(self, acc, sub):
        return binary(self.op, acc, sub(self.e))

    def keep(self, q, new, acc):
        return select(q, new, acc)

    def merge(self, whole, part):
        return binary(self.op, whole, part)


class _Better:
    """A Tuple ``f[L] = (select(e_k > f[L][k], e_0, f[L][0]), …)`` (or ``<``): the elements of
    the first point whose key ``e_k`` is strictly better — an argmax carrying (index, value).
    Partial results start from the worst key; the merge keeps a partial when its key is
    strictly better, in the order of the factored RVar, so ties resolve as the sequential
    order does when that RVar is the RDom's outermost."""

    def __init__(self, f, cmp, k, trues):
        self.f, self.cmp, self.k, self.trues = f, cmp, k, trues

    def identity(self):
        t = self.f.dtypes[self.k]
        lo, hi = (-np.inf, np.inf) if t.is_float else t.value_range()
        worst = lo if self.cmp is BinaryOp.GT else hi
        return tuple(Const.make(worst if j == self.k else 0, dt)
                     for j, dt in enumerate(self.f.dtypes))

    def step(self, acc, sub):
        c = binary(self.cmp, sub(self.trues[self.k]), acc[self.k])
        return TupleValue(tuple(select(c, sub(t), acc[j]) for j, t in enumerate(self.trues)))

    def keep(self, q, new, acc):
        return TupleValue(tuple(select(q, x, acc[j]) for j, x in enumerate(new.values)))

    def merge(self, whole, part):
        c = binary(self.cmp, part[self.k], whole[self.k])
        return TupleValue(tuple(select(c, part[j], whole[j]) for j in range(len(self.trues))))


def _better_form(f, d):
    """The :class:`_Better` of update ``d`` of Tuple-valued ``f``, or None."""
    v = d.value
    if not isinstance(v, TupleValue) or not all(isinstance(x, Select) for x in v.values):
        return None
    cond = v.values[0].cond
    own = [Load(element_name(f.name, j), d.lhs, t, f) for j, t in enumerate(f.dtypes)]
    if not (isinstance(cond, BinOp) and cond.op in (BinaryOp.GT, BinaryOp.LT)):
        return None
    k = next((j for j, ld in enumerate(own) if same(cond.b, ld)), None)
    reads = [x for e in (*d.lhs, *(x.true_value for x in v.values), cond.a)
             for x in find(e, lambda m: isinstance(m, Load) and m.source is f)]
    if k is None or reads or not same(v.values[k].true_value, cond.a) or not all(
            same(x.cond, cond) and same(x.false_value, ld) for x, ld in zip(v.values, own)):
        return None
    return _Better(f, cond.op, k, tuple(x.true_value for x in v.values))


def _split(f: Func, n: int, rv: str, u_name: str, funcs: dict):
    d = f.updates[n]
    form = atomic_form(f, d)
    fold = _Fold(f, *form) if form is not None else _better_form(f, d)
    if fold is None:
        raise Reject(f"update {n} of {f.name!r} is not of the form {f.name}[...] = "
                     f"{f.name}[...] op e (op one of + * min max & | ^, e not reading "
                     f"{f.name!r}) nor a Tuple keeping the elements of the strictly better key "
                     f"(an argmax: (vx.select(e > {f.name}[...][k], …, {f.name}[...][0]), …)), "
                     "so it cannot be split into partial results")
    rdom = update_rdom(d)
    names = [v.name for v in rdom.vars] if rdom is not None else []
    if rv not in names:
        raise Reject(f"{rv!r} is not an RVar of update {n} of {f.name!r} (its RVars: "
                     f"{', '.join(names) or 'none'})")
    depends = [v.name for v in rdom.bound_vars()] + [show(ld) for ld in rdom.bound_loads()]
    if depends:
        raise Reject(f"RDom {rdom.name!r} has bounds depending on {', '.join(depends)}, so its "
                     "points differ per point of the Func or per call: rfactor cannot split it; "
                     "schedule the update without it")
    name = intermediate_name(f.name)
    if name in funcs or u_name in {v.name for v in f.pure_vars}:
        clash = name if name in funcs else u_name
        raise Reject(f"the name {clash!r} is taken; rename the Func or pick another var name")
    k = names.index(rv)
    if isinstance(fold, _Better) and k != 0:
        raise Reject(f"an argmax-like Tuple update keeps the first of equal keys; only its "
                     f"outermost RVar {names[0]!r} can be factored without changing which")
    lo, ext = rdom.bounds[k]
    u = Var(u_name)
    others = [i for i in range(rdom.ndim) if i != k]
    rest = None
    if others:
        label = rdom.var_name(others[0]) if len(others) == 1 else f"{rdom.name}_rf"
        rest = RDom([rdom.bounds[i] for i in others], name=label)
    moved = {rdom.vars[i].name: rest.vars[j] for j, i in enumerate(others)}
    moved[rv] = binary(BinaryOp.ADD, lo, u)

    def sub(x):
        return rebuild(x, lambda m: moved.get(m.name) if isinstance(m, RVar)
                       and m.rdom_name == rdom.name else None)
    on_u = []
    for p in rdom.predicates:
        q = sub(p)
        if rest is not None and find(q, lambda m: isinstance(m, RVar) and m.rdom is rest):
            rest.where(q)
        else:
            on_u.append(q)
    intm = Func(name, shape=(ext, *f.shape))
    intm[(u, *f.pure_vars)] = fold.identity()
    at = (u, *(sub(a) for a in d.lhs))
    value = fold.step(intm[at], sub)
    for q in on_u:
        value = fold.keep(q, value, intm[at])
    intm[at] = tuple(value.values) if isinstance(value, TupleValue) else value
    merge = RDom([(0, ext)], name=rv)
    pure = tuple(f.pure_vars)
    f.definitions[1 + n] = Definition(pure, fold.merge(f[pure], intm[(merge[0], *pure)]),
                                      update=True)
    funcs[name] = intm
    return update_stage(f.name, n)
