"""Lowering expressions: inlining, buffer addressing and in-place reductions.

``inline(e, funcs)`` substitutes the pure definitions of inlined Funcs (Halide's default
``compute_inline``). ``ExprLowerer`` turns an algorithm expression into an IR expression plus the
statements that must run first: every ``Load`` becomes a ``BufferLoad`` with a flat row-major
index, and every inline ``Reduce`` becomes a declared accumulator updated by a serial loop nest
over its RDom (predicates as guards).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

from ..algorithm import dtypes as T
from ..algorithm.construct import binary
from ..algorithm.ops import select
from ..algorithm.expr import (BinaryOp, Const, Expr, Load, Reduce, ReduceOp, RVar, Var)
from ..algorithm.walk import map_children, rebuild
from .ir import (Allocate, Assign, BufferLoad, Declare, If, MemorySpace, Ref, Store, block, i32,
                 local_name, serial_nest)


def inline(e: Expr, inlined: dict, memo: dict | None = None) -> Expr:
    """``e`` with every Load of a Func in ``inlined`` (name → Func) replaced by its definition,
    in reduction bodies and in their ``where`` predicates alike.

    Each distinct read (a Func at structurally equal indices) is inlined once and shared
    (``memo``: Load key → inlined Expr): a chain of n 3-tap stencils reads its first stage at
    2n + 1 distinct points, not 3**n times (the expression is a DAG; Halide's inliner shares
    the same way before its CSE)."""
    memo = {} if memo is None else memo

    def fn(n):
        if isinstance(n, Load) and n.name in inlined:
            if n.key not in memo:
                f = inlined[n.name]
                memo[n.key] = inline(instance(f, {v.name: a for v, a in zip(f.pure_vars, n.args)}),
                                     inlined, memo)
            return memo[n.key]
        if isinstance(n, Reduce) and n.rdom.predicates:
            rdom = n.rdom.copy(n.rdom_name, lambda p: inline(p, inlined, memo))
            if any(a is not b for a, b in zip(rdom.predicates, n.rdom.predicates)):
                return replace(n, body=rdom.rebind(n.rdom_name)(n.body), rdom=rdom)
        return None
    return rebuild(e, fn)


def instance(f, args: dict) -> Expr:
    """The pure definition of ``f`` at ``args`` (pure Var name → Expr): a capture-avoiding
    substitution. Each reduction first gets a domain of its own, named after ``f`` (``r`` →
    ``r.f``): an RVar of the consumer inside ``args`` (``f[x + r]`` under a reduction over the
    same ``r``) must stay the consumer's. The domain's predicates are substituted like the body
    (a ``where`` on a pure Var of ``f`` means ``f``'s point)."""
    def go(n: Expr) -> Expr:
        if isinstance(n, Var):
            return args.get(n.name, n)
        if isinstance(n, Reduce):
            rdom = n.rdom.copy(local_name(n.rdom_name, f.name), go)
            return replace(n, body=go(rdom.rebind(n.rdom_name)(n.body)), rdom_name=rdom.name,
                           rdom=rdom)
        return map_children(n, go)
    return go(f.definitions[0].value)


@dataclass(frozen=True)
class Layout:
    """Where a Func/Input lives: buffer name, per-dimension origin and extent (IR Exprs)."""

    buffer: str
    origin: tuple
    extents: tuple

    def flat(self, coords) -> Expr:
        local = [c if _is_zero(o) else binary(BinaryOp.SUB, c, o)
                 for c, o in zip(coords, self.origin)]
        idx = flat_index(local, self.extents)
        return idx if idx is not None else i32(0)

    def load(self, n: Load, coords) -> Expr:
        """The IR read of the algorithm Load ``n`` at the IR ``coords`` (a source held in
        several boxes picks the box by the read: :class:`vortex.lower.sites.ReadLayout`)."""
        return BufferLoad(self.buffer, self.flat(coords), n.dtype)


def _is_zero(e: Expr) -> bool:
    return isinstance(e, Const) and e.value == 0


def flat_index(coords, extents) -> Expr | None:
    """Row-major offset of ``coords`` in a box of ``extents`` (IR Exprs), in Horner form
    ``(c0 * n1 + c1) * n2 + c2``; None for no coordinates."""
    idx = None
    for c, n in zip(coords, extents):
        idx = c if idx is None else binary(BinaryOp.ADD, binary(BinaryOp.MUL, idx, n), c)
    return idx


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


# The binary operator that combines two partial results of a value reduction.
COMBINE = {ReduceOp.SUM: BinaryOp.ADD, ReduceOp.PRODUCT: BinaryOp.MUL,
           ReduceOp.MAXIMUM: BinaryOp.MAX, ReduceOp.MINIMUM: BinaryOp.MIN}

NO_POINT = -2 ** 31   # argmax/argmin position before the first point: no RDom position (an RDom
                     # min of -2**31 would need an extent of over 2**31 - 1 points to reach 0)


class Accumulator:
    """The state of one reduction: value (and position, for argmax/argmin) held in scalar locals,
    or — with ``size`` — in per-thread arrays indexed by the pure loops inside the reduction.
    The position starts at :data:`NO_POINT`, never a position: -1 is one (an RDom from -1)."""

    def __init__(self, op: ReduceOp, body_type: T.DType, name: str, size: int | None = None):
        self.op, self.t, self.name, self.size = op, body_type, name, size
        self.has_pos = op in (ReduceOp.ARGMAX, ReduceOp.ARGMIN)
        self.at_name = local_name(name, "at")

    def _read(self, name, t, idx):
        return Ref(name, t) if self.size is None else BufferLoad(name, idx, t)

    def _write(self, name, value, idx):
        return Assign(name, value) if self.size is None else Store(name, idx, value)

    def declare(self):
        names = [(self.name, self.t)] + ([(self.at_name, T.int32)] if self.has_pos else [])
        if self.size is None:
            inits = [identity(self.op, self.t), i32(NO_POINT)]
            return block(*(Declare(n, t, v) for (n, t), v in zip(names, inits)))
        return block(*(Allocate(n, t, self.size, MemorySpace.LOCAL) for n, t in names))

    def init(self, idx=None):
        out = [self._write(self.name, identity(self.op, self.t), idx)]
        if self.has_pos:
            out.append(self._write(self.at_name, i32(NO_POINT), idx))
        return block(*out)

    def update(self, value: Expr, pos: Expr | None = None, idx=None):
        a = self._read(self.name, self.t, idx)
        combine = COMBINE.get(self.op)
        if combine is not None:
            return self._write(self.name, binary(combine, a, value), idx)
        at = self._read(self.at_name, T.int32, idx)
        better = binary(BinaryOp.GT if self.op is ReduceOp.ARGMAX else BinaryOp.LT, value, a)
        first = binary(BinaryOp.EQ, at, i32(NO_POINT))
        tie = binary(BinaryOp.AND, binary(BinaryOp.EQ, value, a), binary(BinaryOp.LT, pos, at))
        take = binary(BinaryOp.OR, binary(BinaryOp.OR, first, better), tie)
        return If(take, block(self._write(self.name, value, idx),
                              self._write(self.at_name, pos, idx)))

    def result(self, default_pos: Expr | None = None, idx=None) -> Expr:
        if not self.has_pos:
            return self._read(self.name, self.t, idx)
        at = self._read(self.at_name, T.int32, idx)
        return select(binary(BinaryOp.EQ, at, i32(NO_POINT)), default_pos, at)


def rdom_position(rdom, coords: list[Expr], extents: list[Expr], mins=None) -> Expr:
    """argmax position: the coordinate for a 1-D RDom, the row-major flat offset otherwise
    (``mins``, ``extents``: the domain's bounds as IR, at this point when they use Vars)."""
    if rdom.ndim == 1:
        return coords[0]
    mins = [lo for lo, _ in rdom.bounds] if mins is None else mins
    return flat_index([binary(BinaryOp.SUB, c, lo) for lo, c in zip(mins, coords)], extents)


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
                return self.layouts[n.name].load(n, [conv(a) for a in n.args])
            return map_children(n, conv)

        out = conv(e)
        return block(*pre), out

    def reduce(self, r: Reduce):
        acc = Accumulator(r.op, r.body.dtype, local_name(r.rdom_name, f"acc{next(self.names)}"))
        names = [local_name(v.name, next(self.names)) for v in r.rdom.vars]
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
        pos = rdom_position(r.rdom, coords, [e for _, e in lo_ext],
                            [lo for lo, _ in lo_ext]) if acc.has_pos else None
        stmt = block(pre_body, acc.update(body, pos))
        for p in r.rdom.predicates:
            pre_p, cond = inner.lower(p)
            stmt = block(pre_p, If(cond, stmt))
        stmt = serial_nest([(n, ext_ir) for n, (_, ext_ir) in zip(names, lo_ext)], stmt)
        default = lo_ext[0][0] if r.rdom.ndim == 1 else i32(0)
        return block(acc.declare(), stmt), acc.result(default)


def replace_reduce(e: Expr, r, replacement: Expr) -> Expr:
    """``e`` with the Reduce node ``r`` (by identity) replaced."""
    return rebuild(e, lambda n: replacement if n is r else None)
