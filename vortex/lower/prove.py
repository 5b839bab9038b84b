"""The ``prove guards`` pass: drop the conditions a kernel can prove from what it knows (Halide's
``Simplify`` with its bounds and alignment facts, for conditions).

Walking a kernel top-down it knows:

- the range of every loop counter, ``[min, min + extent)``; of every local bound to a GPU loop,
  ``[0, extent)`` (``Kernel.ranges``: the loop's extent, whatever index arithmetic computes
  it, e.g. under ``swizzle_blocks``); of GPU indices, from the launch (``thread_x < 288``); of
  other locals, the interval of their value;
- the facts of the enclosing ``If`` conditions: ``v < e``, ``v + c < e``, ``v >= c`` narrow
  ``v``'s range (a GPU index or a local); ``D % n == 0`` (a ``specialize`` condition) makes
  the Dim ``D`` a multiple of ``n`` (``D = n * D'``, ``D' >= 1``).

A conjunct of an ``If`` or of a staged copy's condition is dropped when it is proven true for
every size, and an ``If`` whose condition is proven false keeps only its ``else``. Proofs use
the interval arithmetic of :mod:`vortex.algorithm.bounds` and the sound prover of
:mod:`vortex.algorithm.symbolic`: a condition is removed only when it holds for every value.
The effect: the divisible version of a specialized stage carries no bounds checks.
"""
from __future__ import annotations

from dataclasses import replace

import sympy as sp

from ..algorithm import dtypes as T
from ..algorithm.construct import binary
from ..algorithm.bounds import Context, interval, type_range
from ..algorithm.expr import BinaryOp, BinOp, Cast, Const, Dim, Expr
from ..algorithm.symbolic import dim_symbol, prove_nonneg, smax, smin
from .ir import (Assign, AsyncCopy, Block, BufferLoad, Declare, For, GpuAxis, GpuIndex, If, Kernel,
                 Ref, Stmt, block, conj)
from .walk import stmts

_FLIP = {BinaryOp.GT: BinaryOp.LT, BinaryOp.GE: BinaryOp.LE}


class _Lazy:
    """The range of a local or loop counter, computed when a condition first asks for it (most
    locals of a kernel are never asked about, and each interval costs sympy arithmetic)."""

    __slots__ = ("thunk", "value", "done")

    def __init__(self, thunk):
        self.thunk, self.value, self.done = thunk, None, False

    def get(self):
        if not self.done:
            self.value, self.done = self.thunk(), True
        return self.value


class Facts:
    """Ranges of locals and GPU indices (sympy intervals, or :class:`_Lazy` ones) and Dim
    substitutions known at one point of a kernel; immutable: ``with_*`` return new Facts."""

    def __init__(self, ranges: dict, subs: dict, fixed=frozenset(), assigned=frozenset()):
        self.ranges, self.subs, self.fixed, self.assigned = ranges, subs, fixed, assigned

    def _new(self, ranges=None, subs=None) -> "Facts":
        return Facts(self.ranges if ranges is None else ranges,
                     self.subs if subs is None else subs, self.fixed, self.assigned)

    def with_range(self, key, lo, hi) -> "Facts":
        """Narrow ``key``'s range by a fact (intersection with what is known)."""
        old = self.range(key)
        if old is not None:
            lo, hi = smax(old[0], lo), smin(old[1], hi)
        return self._new(ranges={**self.ranges, key: (lo, hi)})

    def define(self, key, r) -> "Facts":
        """``key`` is (re)defined here with range ``r`` (None: unknown); a GPU loop's local
        (in ``fixed``) keeps its loop's range, a local that an Assign changes has none."""
        if key in self.fixed:
            return self
        ranges = dict(self.ranges)
        if r is None or key in self.assigned:
            ranges.pop(key, None)
        else:
            ranges[key] = r
        return self._new(ranges=ranges)

    def range(self, key):
        """The known range of ``key`` (a local's name or a GPU axis), or None."""
        r = self.ranges.get(key)
        return r.get() if isinstance(r, _Lazy) else r

    def _leaf(self, e: Expr):
        if isinstance(e, Ref):
            return self.range(e.name) or type_range(e.dtype)
        if isinstance(e, GpuIndex):
            return self.range(e.axis) or type_range(e.dtype)
        if isinstance(e, BufferLoad):
            return type_range(e.dtype) if not e.dtype.is_float else None
        return None

    def raw(self, e: Expr):
        """Interval of ``e`` in Dims (ranges are stored this way)."""
        return interval(e, Context(leaf=self._leaf))

    def interval(self, e: Expr):
        """Interval of ``e`` with the Dim facts substituted (for proofs)."""
        r = self.raw(e)
        if r is None or not self.subs:
            return r
        return tuple(sp.expand(x.subs(self.subs)) for x in r)

    def nonneg(self, e: Expr) -> bool:
        """``e >= 0`` for every value (False when not proven)."""
        r = self.interval(e)
        return r is not None and prove_nonneg(r[0])

    def holds(self, cond: Expr) -> bool | None:
        """True/False when ``cond`` (a comparison) is proven true/false; None otherwise."""
        if not (isinstance(cond, BinOp) and cond.op.category == "compare" and cond.a.dtype.is_int
                and cond.b.dtype.is_int):
            return None
        a, b, op = cond.a, cond.b, cond.op
        if op in _FLIP:
            a, b, op = b, a, _FLIP[op]
        if op is BinaryOp.LT:            # a < b  ⇔  b - a - 1 >= 0
            true, false = _diff(b, a, 1), _diff(a, b, 0)
        elif op is BinaryOp.LE:
            true, false = _diff(b, a, 0), _diff(a, b, 1)
        else:
            return None
        if self.nonneg(true):
            return True
        if self.nonneg(false):
            return False
        return None

    def assume(self, cond: Expr) -> "Facts":
        """These facts and the conjuncts of ``cond``, where they bound a local or GPU index or
        make a Dim a multiple."""
        facts = self
        for c in _conjuncts(cond):
            facts = facts._assume_one(c)
        return facts

    def _assume_one(self, c: Expr) -> "Facts":
        if not isinstance(c, BinOp):
            return self
        multiple = _divisibility(c)
        if multiple is not None:
            dim, n = multiple
            sym = dim_symbol(dim)
            if sym in self.subs:
                return self
            q = sp.Symbol(f"{dim}.q{n}", integer=True, positive=True)
            return self._new(subs={**self.subs, sym: n * q})
        a, b, op = c.a, c.b, c.op
        if op in _FLIP:
            a, b, op = b, a, _FLIP[op]
        if op not in (BinaryOp.LT, BinaryOp.LE):
            return self
        lim = self.raw(b)
        key, off = _atom(a)
        if key is not None and lim is not None:         # key + off < b (or <=)
            hi = lim[1] - off - (1 if op is BinaryOp.LT else 0)
            return self.with_range(key, type_range(a.dtype)[0], hi)
        key, off = _atom(b)
        low = self.raw(a)
        if key is not None and low is not None:         # a < key + off (or <=)
            lo = low[0] - off + (1 if op is BinaryOp.LT else 0)
            return self.with_range(key, lo, type_range(b.dtype)[1])
        return self._refine(_diff(b, a, 1 if op is BinaryOp.LT else 0))

    def _refine(self, slack: Expr) -> "Facts":
        """The fact ``slack >= 0`` on sizes alone: when it reads ``s - c >= 0`` for one size
        symbol ``s`` (a Dim, or the quotient of a Dim by a multiple), ``s`` becomes
        ``c - 1 + s'`` with ``s' >= 1``."""
        r = self.raw(slack)
        if r is None or r[0] != r[1]:
            return self
        e = sp.expand(r[0].subs(self.subs))
        syms = list(e.free_symbols)
        if len(syms) != 1 or sp.diff(e, syms[0]) != 1 or not syms[0].is_positive:
            return self
        s, c = syms[0], -(e - syms[0])
        if not (c.is_Integer and c > 1):
            return self
        fresh = sp.Symbol(f"{s.name}.ge{c}", integer=True, positive=True)
        repl = {s: fresh + c - 1}
        subs = {k: sp.expand(v.subs(repl)) for k, v in self.subs.items()}
        if not any(s in v.free_symbols for v in self.subs.values()):
            subs[s] = fresh + c - 1
        return self._new(subs=subs)


def _diff(a: Expr, b: Expr, minus: int) -> Expr:
    """``a - b - minus``, in int64 unless the operands are signed and 32 bits or more: narrow and
    unsigned arithmetic wraps (``cast(uint8, v) - 16`` is in [0, 255] whatever ``v`` is)."""
    if not (a.dtype.kind is T.Kind.INT and a.dtype.bits >= 32):
        a, b = Cast(T.int64, a), Cast(T.int64, b)
    e = binary(BinaryOp.SUB, a, b)
    return binary(BinaryOp.SUB, e, Const.make(minus, e.dtype)) if minus else e


def _conjuncts(c: Expr):
    if isinstance(c, BinOp) and c.op is BinaryOp.AND and c.dtype.is_bool:
        yield from _conjuncts(c.a)
        yield from _conjuncts(c.b)
    else:
        yield c


def _atom(e: Expr):
    """(key, constant offset) for ``v`` or ``v + c``: v a local (its name) or a GPU index."""
    off = 0
    if isinstance(e, BinOp) and e.op is BinaryOp.ADD and isinstance(e.b, Const):
        e, off = e.a, int(e.b.value)
    if isinstance(e, Ref):
        return e.name, off
    if isinstance(e, GpuIndex):
        return e.axis, off
    return None, 0


def _divisibility(c: BinOp):
    """(Dim name, n) for ``D % n == 0``."""
    if c.op is not BinaryOp.EQ or not (isinstance(c.b, Const) and c.b.value == 0):
        return None
    m = c.a
    if isinstance(m, BinOp) and m.op is BinaryOp.MOD and isinstance(m.a, Dim) and \
            isinstance(m.b, Const) and int(m.b.value) > 0:
        return m.a.name, int(m.b.value)
    return None


def _reduce(cond: Expr | None, facts: Facts):
    """(``cond`` without its proven conjuncts (None: all proven), proven false?)."""
    if cond is None:
        return None, False
    kept = []
    for c in _conjuncts(cond):
        verdict = facts.holds(c)
        if verdict is False:
            return cond, True
        if verdict is None:
            kept.append(c)
    return conj(kept), False


def _stmt(s: Stmt, facts: Facts) -> Stmt:
    if isinstance(s, Block):
        out = []
        for x in s.stmts:
            out.append(_stmt(x, facts))
            if isinstance(x, Declare):
                facts = facts.define(x.name, None if x.value is None else
                                     _Lazy(lambda f=facts, v=x.value: f.interval(v)))
        return block(*out)
    if isinstance(s, For):
        inner = facts.define(s.var, _Lazy(lambda: _loop_range(facts, s)))
        return replace(s, body=_stmt(s.body, inner))
    if isinstance(s, If):
        cond, false = _reduce(s.cond, facts)
        if false:
            return _stmt(s.otherwise, facts) if s.otherwise is not None else Block(())
        then = _stmt(s.then, facts.assume(s.cond))
        other = _stmt(s.otherwise, facts) if s.otherwise is not None else None
        return then if cond is None else If(cond, then, other)
    if isinstance(s, AsyncCopy):
        cond, false = _reduce(s.cond, facts)
        return s if false else replace(s, cond=cond)
    return s


def _loop_range(facts: Facts, s: For):
    lo, ext = facts.interval(s.min), facts.interval(s.extent)
    return (lo[0], lo[1] + ext[1] - 1) if lo and ext else None


def prove_guards(k: Kernel) -> Kernel:
    """``k`` with every condition it can prove removed (see the module docstring)."""
    ranges = {axis: (sp.Integer(0), sp.sympify(k.grid[axis.dim] if axis.is_block
                                               else k.block[axis.dim]) - 1) for axis in GpuAxis}
    for name, extent in k.ranges:
        ranges[name] = (sp.Integer(0), sp.sympify(extent) - 1)
    assigned = frozenset(x.name for x in stmts(k.body) if isinstance(x, Assign))
    facts = Facts(ranges, {}, frozenset(name for name, _ in k.ranges), assigned)
    return replace(k, body=_stmt(k.body, facts))
