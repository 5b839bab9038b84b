"""Python-syntax printing of expressions, used in every error message (``img[y, x - 1]``)."""
from __future__ import annotations

from .expr import (BinOp, Call, Cast, Const, Dim, Expr, Load, Param, Reduce, RVar, Select, TupleValue,
                   UnaryOp, UnOp, Var)

_ATOM = 100


def _prec(e: Expr) -> int:
    if isinstance(e, BinOp) and e.op.category != "minmax":
        return e.op.precedence
    if isinstance(e, UnOp) and e.op is not UnaryOp.ABS:
        return 13
    return _ATOM


def _wrap(e: Expr, parent: int, right: bool = False, leaf=None) -> str:
    p = _prec(e)
    s = show(e, leaf)
    return f"({s})" if p < parent or (right and p == parent and p != _ATOM) else s


def show(e: Expr, leaf=None) -> str:
    """The expression as the user would have written it. ``leaf(node)`` may spell nodes this
    printer does not know (the loop IR's locals and buffer loads): a string, or None."""
    spelled = leaf(e) if leaf is not None else None
    if spelled is not None:
        return spelled

    def sub(x):
        return show(x, leaf)

    def wrap(x, parent, right=False):
        return _wrap(x, parent, right, leaf)
    if isinstance(e, Const):
        return repr(e.value)
    if isinstance(e, (Var, Dim, Param, RVar)):
        return e.name
    if isinstance(e, BinOp):
        if e.op.category == "minmax":
            return f"vx.{e.op.symbol}({sub(e.a)}, {sub(e.b)})"
        p = e.op.precedence
        return f"{wrap(e.a, p)} {e.op.symbol} {wrap(e.b, p, right=True)}"
    if isinstance(e, UnOp):
        if e.op is UnaryOp.ABS:
            return f"vx.abs({sub(e.a)})"
        return f"{e.op.value}{wrap(e.a, 13)}"
    if isinstance(e, Select):
        return f"vx.select({sub(e.cond)}, {sub(e.true_value)}, {sub(e.false_value)})"
    if isinstance(e, Cast):
        return f"vx.cast(vx.{e.dtype}, {sub(e.value)})"
    if isinstance(e, Call):
        return f"vx.{e.fn.value}({', '.join(map(sub, e.args))})"
    if isinstance(e, Load):
        return f"{e.name}[{', '.join(map(sub, e.args))}]"
    if isinstance(e, Reduce):
        return f"vx.{e.op.value}({sub(e.body)})"
    if isinstance(e, TupleValue):
        return f"({', '.join(map(sub, e.values))})"
    return type(e).__name__
