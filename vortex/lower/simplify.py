"""Algebraic simplification of lowered code: constant folding (integer arithmetic and
comparisons), identities (x + 0, x * 1, x // 1), constant conditions, and one-trip loops
replaced by their single iteration (the locals it declares renamed where the enclosing scope
could hold the same name)."""
from __future__ import annotations

from collections import Counter
from dataclasses import fields, replace

from ..algorithm.expr import BinaryOp, BinOp, Const, Expr, Select
from ..algorithm.walk import rebuild
from .ir import (Allocate, Block, BufferLoad, Comment, Declare, For, If, Ref, Stmt, block,
                 local_name)
from .walk import map_stmt, stmts

_FOLD = {
    BinaryOp.ADD: lambda a, b: a + b, BinaryOp.SUB: lambda a, b: a - b,
    BinaryOp.MUL: lambda a, b: a * b, BinaryOp.MIN: min, BinaryOp.MAX: max,
    BinaryOp.FLOORDIV: lambda a, b: a // b if b else None,
    BinaryOp.MOD: lambda a, b: a % b if b else None,
}
_COMPARE = {BinaryOp.EQ: int.__eq__, BinaryOp.NE: int.__ne__, BinaryOp.LT: int.__lt__,
            BinaryOp.LE: int.__le__, BinaryOp.GT: int.__gt__, BinaryOp.GE: int.__ge__}


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
    if isinstance(n, BinOp) and n.op in _COMPARE:      # an unrolled copy's ``if (3 == 0)``
        a, b = _int(n.a), _int(n.b)
        if a is not None and b is not None:
            return Const.make(bool(_COMPARE[n.op](int(a), int(b))), n.dtype)
    if isinstance(n, Select) and isinstance(n.cond, Const):
        return n.true_value if n.cond.value else n.false_value
    return None


def simplify_expr(e: Expr) -> Expr:
    return rebuild(e, _simplify_node)


def _declared(s: Stmt):
    """The names the statements in ``s`` declare (locals, local arrays, loop counters)."""
    for x in stmts(s):
        if isinstance(x, (Declare, Allocate)):
            yield x.name
        elif isinstance(x, For):
            yield x.var


class _OneTrip:
    """Replaces a one-trip loop by its body, the counter by its min. The body leaves the loop's
    C scope for the enclosing one, so a local it declares that is declared elsewhere in the
    kernel too (the accumulator's coordinates in a reduction's update and in its finalize) is
    renamed ``name.t<i>``, fresh in the kernel."""

    def __init__(self, s: Stmt):
        self.count = Counter(_declared(s))
        self.taken = set(self.count)

    def fresh(self, name: str) -> str:
        i = 0
        while local_name(name, f"t{i}") in self.taken:
            i += 1
        self.taken.add(local_name(name, f"t{i}"))
        return local_name(name, f"t{i}")

    def __call__(self, s: For) -> Stmt:
        names = {n: self.fresh(n) for n in dict.fromkeys(_declared(s.body)) if self.count[n] > 1}

        def leaf(n):
            if isinstance(n, Ref):
                return s.min if n.name == s.var else (
                    Ref(names[n.name], n.dtype) if n.name in names else None)
            if isinstance(n, BufferLoad) and n.buffer in names:
                return replace(n, buffer=names[n.buffer])
            return None

        def rename(x):   # every name a statement holds (a local, a loop counter, a buffer)
            if isinstance(x, Comment):
                return x
            renamed = {f.name: names[v] for f in fields(x)
                       if isinstance(v := getattr(x, f.name), str) and v in names}
            return replace(x, **renamed) if renamed else x
        return map_stmt(s.body, rename, lambda e: simplify_expr(rebuild(e, leaf)))


def _simplify_stmt(s: Stmt, one_trip: _OneTrip) -> Stmt:
    if isinstance(s, If) and isinstance(s.cond, Const):
        return s.then if s.cond.value else (s.otherwise or Block(()))
    if isinstance(s, For) and _int(s.extent) == 1:  # one trip: the counter is its min
        return one_trip(s)
    if isinstance(s, Block):
        return block(*s.stmts)
    return s


def simplify_stmt(s: Stmt) -> Stmt:
    """Simplify every expression and statement of ``s`` (a kernel body)."""
    one_trip = _OneTrip(s)
    return map_stmt(s, lambda x: _simplify_stmt(x, one_trip), simplify_expr)
