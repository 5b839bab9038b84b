"""Global value numbering of expressions for the ``cse`` pass (:mod:`vortex.lower.cse`): each
distinct expression (by structure) gets a number, with what the pass needs to know of it — pure?
invariant in the kernel? safe to evaluate where the original did not? worth a name? — and the
counts, orders and rewrites the pass builds on. The idea is Halide's ``CSE.cpp`` (GVN with use
counts); the code is this project's.
"""
from __future__ import annotations

from collections import Counter

from ..algorithm import dtypes as T
from ..algorithm.expr import (BinaryOp, BinOp, Call, Cast, Const, Dim, Expr, Param, Select,
                              UnOp, Var)
from ..algorithm.walk import children, compared_fields, map_children
from .ir import Declare, GpuIndex, Ref

_PURE = (Const, Ref, Dim, Param, GpuIndex, Var, BinOp, UnOp, Select, Cast, Call)
_LEAVES = (Const, Ref, Dim, Param, GpuIndex, Var)
_INVARIANT_LEAVES = (Const, Dim, Param)


class Info:
    """What one value number stands for: a representative node, its children's numbers, and
    whether it is pure, invariant (Dims/Params/constants only, at least one Dim or Param),
    safe (cannot fault, see the module docstring) and worth a name."""

    __slots__ = ("node", "kids", "pure", "invariant", "sized", "safe", "nameable")

    def __init__(self, node: Expr, kids: list, infos: list):
        sub = [infos[k] for k in kids]
        self.node, self.kids = node, kids
        self.pure = isinstance(node, _PURE) and all(s.pure for s in sub)
        leaf_ok = not isinstance(node, _LEAVES) or isinstance(node, _INVARIANT_LEAVES)
        self.invariant = self.pure and leaf_ok and all(s.invariant for s in sub)
        self.sized = isinstance(node, (Dim, Param)) or any(s.sized for s in sub)
        self.safe = self.pure and cannot_fault(node) and all(s.safe for s in sub)
        trivial = isinstance(node, _LEAVES) or (
            isinstance(node, (Cast, UnOp)) and isinstance(node.a if isinstance(node, UnOp)
                                                          else node.value, _LEAVES))
        self.nameable = self.pure and node.dtype.is_int and not trivial


def cannot_fault(n: Expr) -> bool:
    """``n`` itself (not its operands) never traps, whatever its operands' values."""
    if not isinstance(n, BinOp) or not n.a.dtype.is_int:
        return True
    if n.op is BinaryOp.DIV:
        return False
    if n.op in (BinaryOp.FLOORDIV, BinaryOp.MOD) and n.a.dtype.kind is T.Kind.INT:
        return isinstance(n.b, Const) and n.b.value != -1
    return True


def conditional_kids(n: Expr, count: int) -> list:
    """For each of the ``count`` children of ``n`` (in :func:`children` order): is it evaluated
    only sometimes when ``n`` is (C's ``?:``, the short-circuit ``&&``/``||`` the printer writes
    for bools)?"""
    if isinstance(n, Select):
        return [False, True, True]
    if isinstance(n, BinOp) and n.dtype.is_bool and n.op in (BinaryOp.AND, BinaryOp.OR):
        return [False, True]
    return [False] * count


class Numbering:
    """Global value numbering: structurally equal expressions get one number. A float constant
    is told apart by its exact spelling (``-0.0`` is not ``0.0``)."""

    def __init__(self):
        self.table, self.by_id, self.infos = {}, {}, []
        self._reach = (None, {})   # (names, number → does it hold a named number?)

    def number(self, e: Expr) -> int:
        hit = self.by_id.get(id(e))
        if hit is not None:
            return hit[0]
        kids = [self.number(c) for c in children(e)]
        sig = (type(e).__name__, tuple(kids), tuple(
            _plain(v) for v in (getattr(e, name) for name in compared_fields(type(e)))
            if not _holds_expr(v)))
        n = self.table.get(sig)
        if n is None:
            n = self.table[sig] = len(self.infos)
            self.infos.append(Info(e, kids, self.infos))
        self.by_id[id(e)] = (n, e)   # the node is kept alive, so its id is never reused
        return n

    def uses(self, roots) -> Counter:
        """Number → how many distinct parents (or roots) read it."""
        uses, seen, stack = Counter(), set(), []
        for r in roots:
            n = self.number(r)
            uses[n] += 1
            stack.append(n)
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            for k in self.infos[n].kids:
                uses[k] += 1
                stack.append(k)
        return uses

    def unconditional(self, roots) -> set:
        """Numbers evaluated every time the roots are (not only under a select or ``&&``)."""
        out, stack = set(), [self.number(r) for r in roots]
        while stack:
            n = stack.pop()
            if n in out:
                continue
            out.add(n)
            kids = self.infos[n].kids
            stack.extend(k for k, cond in zip(kids, conditional_kids(self.infos[n].node,
                                                                     len(kids))) if not cond)
        return out

    def order(self, roots, chosen) -> list:
        """The numbers of ``chosen`` reached from ``roots``, each after those it contains (the
        order to declare them in)."""
        out, done = [], set()

        def visit(n):
            if n in done:
                return
            done.add(n)
            for k in self.infos[n].kids:
                visit(k)
            if n in chosen:
                out.append(n)
        for r in roots:
            visit(self.number(r))
        return out

    def declarations(self, roots, names: dict) -> list:
        """``Declare`` of every named number (``names``: number → name) reached from ``roots``,
        in :meth:`order`, each value reading the named numbers inside it by name."""
        return [Declare(names[n], self.infos[n].node.dtype,
                        map_children(self.infos[n].node, lambda c: self.substitute(c, names)))
                for n in self.order(roots, names)]

    def substitute(self, e: Expr, names: dict) -> Expr:
        """``e`` with every (outermost) named subexpression read by name (``names``: number →
        name); parts holding none are kept as they are (no copy)."""
        if self._reach[0] is not names:
            self._reach = (names, {})
        n = self.number(e)
        if n in names:
            return Ref(names[n], e.dtype)
        if not self._holds(n, names, self._reach[1]):
            return e
        return map_children(e, lambda c: self.substitute(c, names))

    def _holds(self, n: int, names: dict, memo: dict) -> bool:
        hit = memo.get(n)
        if hit is None:
            hit = memo[n] = any(k in names or self._holds(k, names, memo)
                                for k in self.infos[n].kids)
        return hit


def _holds_expr(v) -> bool:
    return isinstance(v, Expr) or (isinstance(v, tuple) and any(isinstance(x, Expr) for x in v))


def _plain(v):
    return ("float", repr(v)) if isinstance(v, float) else v
