"""Python-syntax printing of expressions, used in every error message (``img[y, x - 1]``)."""
from __future__ import annotations

from .expr import (BinOp, Call, Cast, Const, Dim, Expr, Load, Param, Reduce, RVar, Select,
                   UnaryOp, UnOp, Var)

_ATOM = 100


def _prec(e: Expr) -> int:
    if isinstance(e, BinOp) and e.op.category != "minmax":
        return e.op.precedence
    if isinstance(e, UnOp) and e.op is not UnaryOp.ABS:
        return 13
    return _ATOM


def _wrap(e: Expr, parent: int, right: bool = False) -> str:
    p = _prec(e)
    s = show(e)
    return f"({s})" if p < parent or (right and p == parent and p != _ATOM) else s


def show(e: Expr) -> str:
    """The expression as the user would have written it."""
    if isinstance(e, Const):
        return repr(e.value)
    if isinstance(e, (Var, Dim, Param, RVar)):
        return e.name
    if isinstance(e, BinOp):
        if e.op.category == "minmax":
            return f"vx.{e.op.symbol}({show(e.a)}, {show(e.b)})"
        p = e.op.precedence
        return f"{_wrap(e.a, p)} {e.op.symbol} {_wrap(e.b, p, right=True)}"
    if isinstance(e, UnOp):
        if e.op is UnaryOp.ABS:
            return f"vx.abs({show(e.a)})"
        return f"{e.op.value}{_wrap(e.a, 13)}"
    if isinstance(e, Select):
        return f"vx.select({show(e.cond)}, {show(e.true_value)}, {show(e.false_value)})"
    if isinstance(e, Cast):
        return f"vx.cast(vx.{e.dtype}, {show(e.value)})"
    if isinstance(e, Call):
        return f"vx.{e.fn.value}({', '.join(map(show, e.args))})"
    if isinstance(e, Load):
        return f"{e.name}[{', '.join(map(show, e.args))}]"
    if isinstance(e, Reduce):
        return f"vx.{e.op.value}({show(e.body)})"
    return type(e).__name__
