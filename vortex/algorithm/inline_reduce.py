"""Which RDom an inline reduction reduces over, and the RVars left free around it.

``vx.sum(e)`` reduces over the one RDom free in ``e``. Inside an update definition, ``e`` may
also use the update's own RVars, which stay free (Halide's ``sum(RDom, Expr)``): then either the
reduction names its domain, ``vx.sum(L[r, k] * x[k], over=k)``, or — written without ``over=`` —
it stays a :class:`PendingReduce` until the update is defined (``Func._define_update`` calls
:func:`resolve`): the RDoms whose RVars the update uses outside reductions (its left-hand side,
or free in its value) are the update's own, and the one RDom left is the reduced one. Anything
else (two RDoms left, none left, or a pure definition) is a vx.TypeError asking for ``over=``.

Source: Halide ``inline_reductions.h`` (``sum(RDom r, Expr e)``: reduce over ``r``, other RVars
free), Halide tutorial lesson 9.
"""
from __future__ import annotations

from dataclasses import field

from .. import errors
from . import dtypes as T
from .construct import cast
from .expr import Expr, Reduce, ReduceOp, RVar, node
from .printer import show
from .walk import children, rebuild


@node
class PendingReduce(Expr):
    """An inline reduction whose body has several RDoms free (``rdom_names``, sorted); which one
    it reduces over is decided by the update definition it is written in (:func:`resolve`)."""

    op: ReduceOp
    body: Expr
    rdom_names: tuple
    dtype: T.DType
    rdoms: tuple = field(compare=False, repr=False)

    def spelled(self) -> str:
        return f"vx.{self.op.value}({show(self.body)})"


def free_rvars(e: Expr, skip_pending: bool = False) -> list:
    """The RVars of ``e`` not bound by an enclosing reduction over their RDom, in pre-order
    (repeats kept). With ``skip_pending``, nothing inside a :class:`PendingReduce` is looked at."""
    out, stack = [], [(e, frozenset())]
    while stack:
        n, bound = stack.pop()
        if isinstance(n, RVar) and n.rdom_name not in bound:
            out.append(n)
        if isinstance(n, PendingReduce) and skip_pending:
            continue
        inner = bound | {n.rdom_name} if isinstance(n, Reduce) else bound
        stack.extend((c, inner) for c in reversed(children(n)))
    return out


def _rdoms(e: Expr, skip_pending: bool = False) -> dict:
    return {v.rdom_name: v.rdom for v in free_rvars(e, skip_pending)}


def reduce_over(op: ReduceOp, body: Expr, rdom) -> Reduce:
    """The Reduce node of ``op`` over ``rdom`` (argmax/argmin are int32; a bool body is int8
    for them and a vx.TypeError for sum/product)."""
    if op in (ReduceOp.ARGMAX, ReduceOp.ARGMIN):
        return Reduce(op, cast(T.int8, body) if body.dtype.is_bool else body, rdom.name,
                      T.int32, rdom)
    if op in (ReduceOp.SUM, ReduceOp.PRODUCT) and body.dtype.is_bool:
        raise errors.TypeError(f"vx.{op.value} of the bool {body}: cast it, "
                               f"vx.{op.value}(vx.cast(vx.int32, …))")
    return Reduce(op, body, rdom.name, body.dtype, rdom)


def reduction(op: ReduceOp, body: Expr, over=None) -> Expr:
    """``vx.<op>(body, over=)``: a Reduce over ``over`` (an RDom), else over the one RDom free in
    ``body``, else (several) a PendingReduce. Raises vx.TypeError when ``over`` is not an RDom
    or no RDom is free in ``body``."""
    from .rdom import RDom
    if over is not None:
        if not isinstance(over, RDom):
            raise errors.TypeError(f"vx.{op.value}({body}, over={over!r}): over= takes the RDom "
                                   f"to reduce over (e.g. k = vx.RDom(K, name='k'); "
                                   f"vx.{op.value}(A[i, k], over=k))")
        return reduce_over(op, body, over)
    rdoms = _rdoms(body)
    if not rdoms:
        raise errors.TypeError(f"vx.{op.value}({body}) must reduce over exactly one RDom, found "
                               f"no RDom; e.g. k = vx.RDom(K, name='k'); vx.{op.value}(A[i, k])")
    if len(rdoms) == 1:
        return reduce_over(op, body, *rdoms.values())
    dtype = T.int32 if op in (ReduceOp.ARGMAX, ReduceOp.ARGMIN) else body.dtype
    names = tuple(sorted(rdoms))
    return PendingReduce(op, body, names, dtype, tuple(rdoms[n] for n in names))


def pending_in(e: Expr) -> list:
    from .walk import find
    return find(e, lambda x: isinstance(x, PendingReduce))


def refuse_pending(e: Expr, where: str):
    """vx.TypeError for a PendingReduce in ``e`` (a pure definition, an RDom predicate: places
    with no update RVars to tell the reduced RDom from)."""
    for p in pending_in(e)[:1]:
        raise errors.TypeError(
            f"{p.spelled()} in {where} must reduce over exactly one RDom, found RDoms "
            f"{list(p.rdom_names)}; use one multi-dimensional RDom, or say which with over= "
            f"(vx.{p.op.value}(…, over={p.rdom_names[0]}))")


def resolve(func: str, lhs: tuple, value: Expr) -> tuple:
    """(lhs, value) of an update of ``func`` with each PendingReduce replaced by the Reduce over
    the one RDom in its body that the update does not iterate itself (see the module docstring).
    Raises vx.TypeError naming the candidates when that is not exactly one RDom."""
    if not any(pending_in(e) for e in (*lhs, value)):
        return lhs, value
    own = {}
    for e in (*lhs, value):
        own.update(_rdoms(e, skip_pending=True))

    def fn(n):
        if not isinstance(n, PendingReduce):
            return None
        left = sorted(set(_rdoms(n.body)) - set(own))
        if len(left) == 1:
            return reduce_over(n.op, n.body, _rdoms(n.body)[left[0]])
        which = (f"could reduce over any of {left}" if left else
                 "has no RDom left to reduce over")
        raise errors.TypeError(
            f"{n.spelled()} in an update of {func!r} {which}: the update itself iterates "
            f"{sorted(own) or 'no RDom'}; write which RDom it reduces over with over=, e.g. "
            f"vx.{n.op.value}(…, over={(left or list(n.rdom_names))[0]})")
    return tuple(rebuild(a, fn) for a in lhs), rebuild(value, fn)
