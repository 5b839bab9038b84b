"""Algebraic simplification of lowered code: constant folding, identities (x + 0, x * 1,
x // 1), constant conditions, and one-trip loops replaced by their single iteration."""
from __future__ import annotations

from ..algorithm.expr import BinaryOp, BinOp, Const, Expr, Select
from ..algorithm.walk import rebuild
from .ir import Block, For, If, Ref, Stmt, block
from .walk import map_stmt

_FOLD = {
    BinaryOp.ADD: lambda a, b: a + b, BinaryOp.SUB: lambda a, b: a - b,
    BinaryOp.MUL: lambda a, b: a * b, BinaryOp.MIN: min, BinaryOp.MAX: max,
    BinaryOp.FLOORDIV: lambda a, b: a // b if b else None,
    BinaryOp.MOD: lambda a, b: a % b if b else None,
}


def _int(e: Expr):
    return e.value if isinstance(e, Const) and e.dtype.is_int else None


def _simplify_node(n: Expr):
    if isinstance(n, BinOp) and n.dtype.is_int:
        a, b = _int(n.a), _int(n.b)
        if a is not None and b is not None and n.op in _FOLD:
            v = _FOLD[n.op](a, b)
            lo, hi = n.dtype.value_range()
            if v is not None and lo <= v <= hi:
                return Const.make(v, n.dtype)
        if (n.op in (BinaryOp.ADD, BinaryOp.SUB) and b == 0) or (
                n.op in (BinaryOp.MUL, BinaryOp.FLOORDIV) and b == 1):
            return n.a
        if (n.op is BinaryOp.ADD and a == 0) or (n.op is BinaryOp.MUL and a == 1):
            return n.b
        if n.op is BinaryOp.MOD and b == 1:
            return Const.make(0, n.dtype)
    if isinstance(n, Select) and isinstance(n.cond, Const):
        return n.true_value if n.cond.value else n.false_value
    return None


def simplify_expr(e: Expr) -> Expr:
    return rebuild(e, _simplify_node)


def _simplify_stmt(s: Stmt) -> Stmt:
    if isinstance(s, If) and isinstance(s.cond, Const):
        return s.then if s.cond.value else (s.otherwise or Block(()))
    if isinstance(s, For) and _int(s.extent) == 1:  # one trip: the counter is its min
        return map_stmt(s.body, lambda x: x, lambda e: simplify_expr(rebuild(
            e, lambda n: s.min if isinstance(n, Ref) and n.name == s.var else None)))
    if isinstance(s, Block):
        return block(*s.stmts)
    return s


def simplify_stmt(s: Stmt) -> Stmt:
    """Simplify every expression and statement of ``s``."""
    return map_stmt(s, _simplify_stmt, simplify_expr)
