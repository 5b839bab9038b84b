"""Lowering expressions: inlining, buffer addressing and in-place reductions.

``inline(e, funcs)`` substitutes the pure definitions of inlined Funcs (Halide's default
``compute_inline``). ``ExprLowerer`` turns an algorithm expression into an IR expression plus the
statements that must run first: every ``Load`` becomes a ``BufferLoad`` with a flat row-major
index, and every inline ``Reduce`` becomes a declared accumulator updated by a serial loop nest
over its RDom (predicates as guards).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, fields, replace

from ..algorithm import dtypes as T
from ..algorithm.construct import binary
from ..algorithm.ops import select
from ..algorithm.expr import (BinaryOp, Const, Expr, Load, Reduce, ReduceOp, RVar, Var)
from ..algorithm.walk import rebuild, substitute
from .ir import (Allocate, Assign, BufferLoad, Declare, For, ForKind, If, MemorySpace, Ref, Store,
                 block)


def inline(e: Expr, inlined: dict) -> Expr:
    """``e`` with every Load of a Func in ``inlined`` (name → Func) replaced by its definition."""
    def fn(n):
        if isinstance(n, Load) and n.name in inlined:
            f = inlined[n.name]
            body = substitute(f.definitions[0].value,
                              {v.name: a for v, a in zip(f.pure_vars, n.args)}, (Var,))
            return inline(body, inlined)
        return None
    return rebuild(e, fn)


@dataclass(frozen=True)
class Layout:
    """Where a Func/Input lives: buffer name, per-dimension origin and extent (IR Exprs)."""

    buffer: str
    origin: tuple
    extents: tuple

    def flat(self, coords) -> Expr:
        idx = None
        for c, o, n in zip(coords, self.origin, self.extents):
            local = c if _is_zero(o) else binary(BinaryOp.SUB, c, o)
            idx = local if idx is None else binary(BinaryOp.ADD, binary(BinaryOp.MUL, idx, n), local)
        return idx if idx is not None else Const.make(0, T.int32)


def _is_zero(e: Expr) -> bool:
    return isinstance(e, Const) and e.value == 0


def identity(op: ReduceOp, t: T.DType) -> Expr:
    if op is ReduceOp.SUM:
        return Const.make(0, t)
    if op is ReduceOp.PRODUCT:
        return Const.make(1, t)
    lowest = op in (ReduceOp.MAXIMUM, ReduceOp.ARGMAX)
    if t.is_float:
        return Const.make(float("-inf") if lowest else float("inf"), t)
    lo, hi = t.value_range()
    return Const.make(lo if lowest else hi, t)


class Accumulator:
    """The state of one reduction: value (and position, for argmax/argmin) held in scalar locals,
    or — with ``size`` — in per-thread arrays indexed by the pure loops inside the reduction."""

    def __init__(self, op: ReduceOp, body_type: T.DType, name: str, size: int | None = None):
        self.op, self.t, self.name, self.size = op, body_type, name, size
        self.has_pos = op in (ReduceOp.ARGMAX, ReduceOp.ARGMIN)

    def _read(self, name, t, idx):
        return Ref(name, t) if self.size is None else BufferLoad(name, idx, t)

    def _write(self, name, value, idx):
        return Assign(name, value) if self.size is None else Store(name, idx, value)

    def declare(self):
        names = [(self.name, self.t)] + ([(self.name + "_at", T.int32)] if self.has_pos else [])
        if self.size is None:
            inits = [identity(self.op, self.t), Const.make(-1, T.int32)]
            return block(*(Declare(n, t, v) for (n, t), v in zip(names, inits)))
        return block(*(Allocate(n, t, self.size, MemorySpace.LOCAL) for n, t in names))

    def init(self, idx=None):
        out = [self._write(self.name, identity(self.op, self.t), idx)]
        if self.has_pos:
            out.append(self._write(self.name + "_at", Const.make(-1, T.int32), idx))
        return block(*out)

    def update(self, value: Expr, pos: Expr | None = None, idx=None):
        a = self._read(self.name, self.t, idx)
        combine = {ReduceOp.SUM: BinaryOp.ADD, ReduceOp.PRODUCT: BinaryOp.MUL,
                   ReduceOp.MAXIMUM: BinaryOp.MAX, ReduceOp.MINIMUM: BinaryOp.MIN}.get(self.op)
        if combine is not None:
            return self._write(self.name, binary(combine, a, value), idx)
        at = self._read(self.name + "_at", T.int32, idx)
        better = binary(BinaryOp.GT if self.op is ReduceOp.ARGMAX else BinaryOp.LT, value, a)
        first = binary(BinaryOp.LT, at, Const.make(0, T.int32))
        tie = binary(BinaryOp.AND, binary(BinaryOp.EQ, value, a), binary(BinaryOp.LT, pos, at))
        take = binary(BinaryOp.OR, binary(BinaryOp.OR, first, better), tie)
        return If(take, block(self._write(self.name, value, idx),
                              self._write(self.name + "_at", pos, idx)))

    def result(self, default_pos: Expr | None = None, idx=None) -> Expr:
        if not self.has_pos:
            return self._read(self.name, self.t, idx)
        at = self._read(self.name + "_at", T.int32, idx)
        return select(binary(BinaryOp.LT, at, Const.make(0, T.int32)), default_pos, at)


def rdom_position(rdom, coords: list[Expr], extents: list[Expr]) -> Expr:
    """argmax position: the coordinate for a 1-D RDom, the row-major flat offset otherwise."""
    if rdom.ndim == 1:
        return coords[0]
    pos = None
    for (lo, _), c, n in zip(rdom.bounds, coords, extents):
        off = binary(BinaryOp.SUB, c, lo)
        pos = off if pos is None else binary(BinaryOp.ADD, binary(BinaryOp.MUL, pos, n), off)
    return pos


class ExprLowerer:
    """Lowers algorithm expressions for one site. ``coords``: Var/RVar name → IR Expr;
    ``layouts``: source name → Layout; ``names``: the kernel's counter for fresh local names
    (one per kernel, so that lowering twice prints the same source)."""

    def __init__(self, coords: dict, layouts: dict, names=None):
        self.coords, self.layouts = coords, layouts
        self.names = itertools.count() if names is None else names

    def lower(self, e: Expr):
        """(statements to run first, IR expression)."""
        pre = []

        def conv(n: Expr) -> Expr:
            if isinstance(n, Reduce):
                stmts, ref = self.reduce(n)
                pre.append(stmts)
                return ref
            if isinstance(n, (Var, RVar)) and n.name in self.coords:
                return self.coords[n.name]
            if isinstance(n, Load):
                layout = self.layouts[n.name]
                return BufferLoad(layout.buffer, layout.flat([conv(a) for a in n.args]), n.dtype)
            return rebuild_shallow(n, conv)

        out = conv(e)
        return block(*pre), out

    def reduce(self, r: Reduce):
        acc = Accumulator(r.op, r.body.dtype, f"{r.rdom_name}_acc{next(self.names)}")
        names = [f"{v.name}_{next(self.names)}" for v in r.rdom.vars]
        inner = ExprLowerer(dict(self.coords), self.layouts, self.names)
        lo_ext = []
        for (lo, ext) in r.rdom.bounds:
            (_, lo_ir), (_, ext_ir) = self.lower(lo), self.lower(ext)
            lo_ext.append((lo_ir, ext_ir))
        coords = []
        for v, n, (lo_ir, _) in zip(r.rdom.vars, names, lo_ext):
            c = binary(BinaryOp.ADD, Ref(n, T.int32), lo_ir)
            inner.coords[v.name] = c
            coords.append(c)
        pre_body, body = inner.lower(r.body)
        pos = rdom_position(r.rdom, coords, [e for _, e in lo_ext]) if acc.has_pos else None
        stmt = block(pre_body, acc.update(body, pos))
        for p in r.rdom.predicates:
            pre_p, cond = inner.lower(p)
            stmt = block(pre_p, If(cond, stmt))
        for n, (_, ext_ir) in reversed(list(zip(names, lo_ext))):
            stmt = For(n, Const.make(0, T.int32), ext_ir, ForKind.SERIAL, stmt)
        default = lo_ext[0][0] if r.rdom.ndim == 1 else Const.make(0, T.int32)
        return block(acc.declare(), stmt), acc.result(default)


def rebuild_shallow(e: Expr, fn):
    """Rebuild ``e`` with ``fn`` applied to each direct child expression."""
    changes = {}
    for f in fields(e):
        if not f.compare:
            continue
        v = getattr(e, f.name)
        if isinstance(v, Expr):
            changes[f.name] = fn(v)
        elif isinstance(v, tuple):
            changes[f.name] = tuple(fn(x) if isinstance(x, Expr) else x for x in v)
    return replace(e, **changes) if changes else e
