"""The ``partition loops`` pass: a serial loop whose guards and clamps hold on a range of its
counter runs as prologue / steady state / epilogue (Halide's ``PartitionLoops``), so that only
the iterations at an edge pay for them.

The ``partition`` pass before it gives each tile two versions; this one works inside the
version that remains guarded (an edge tile, or a statement ``partition`` leaves alone), one
thread at a time. For ``for v in [m, m + e): B``, each guard ``a < b`` (``<=``, ``>``, ``>=``)
and each clamp bound (``lo <= a``, ``a <= hi`` of ``min(max(a, lo), hi)``) of ``B`` that is
affine in ``v``, with the counters of loops inside ``B`` at their extremes, holds for every
iteration with ``v`` on one side of a bound::

    k·v + R <= c    holds for   v <= floor((c - R) / k)      (k > 0)
                                v >= ceil((R - c) / -k)      (k < 0)

and a guard that does not read ``v`` (the tile's or the thread's own bounds) holds for all of
the loop or none of it. So ``B`` becomes::

    int v.lo = clamp(max of the lower bounds, m, m + e)
    int v.hi = all the invariant tests ? clamp(min of the upper bounds, v.lo, m + e) : v.lo
    for v in [m, v.lo):        B                       // prologue: guarded as before
    for v in [v.lo, v.hi):     B without those guards  // steady state: no tests, no clamps
    for v in [v.hi, m + e):    B                       // epilogue

which is exact for every size: each iteration runs once, in order, and a guard is dropped only
where it holds. A test ``v == m`` of the loop's constant start (a sliding window computes its
whole window at the first iteration, Halide's ``SlidingWindow``) is false from ``m + 1`` on: the
first iteration is peeled into the prologue, and the steady state computes only the new rows;
in a loop that also has guards the test stays in the steady state instead (peeled, the first
iteration would run guarded even where it needs no guard: the whole window of an edge tile).
There is no prologue where no guard bounds ``v`` from below, no epilogue where none bounds it
from above; ``v.lo``/``v.hi`` are constants where they fold.

The blur of ``examples/blur.py`` on PoCL (2048², 15% of its tiles at an edge): with every row of
an edge tile guarded and clamped, the kernel ran all tiles that way in 60 ms against 3.7 ms for
the interior version alone; partitioned, only the rows and the threads next to the image border
run clamped.

A loop is partitioned only when its steady state is left with no clamp and no ordering test
(``<``, ``<=``, ``>``, ``>=``): a copy that still tests each iteration is not worth its code (a
block's cooperative fill whose tail guard is affine but whose bounds guards divide by the tile
width keeps its one loop). Not partitioned either: loops that hold a barrier (each thread could
take a different split, and a barrier must be reached by all threads of a block at the same
place), loops of other kinds (unrolled and vectorized loops are expanded or printed as vectors),
and the prologue and epilogue copies (the steady copy is partitioned again for its inner loops);
a loop none of whose guards has a bound keeps its single version, and so does a loop of at most
16 constant iterations whose split points are not constants (the device compiler unrolls it
whole, which keeps the arrays it indexes in registers).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from ..algorithm import dtypes as T
from ..algorithm.construct import binary
from ..algorithm.expr import BinaryOp, BinOp, Const, Expr, Select
from ..algorithm.walk import find
from .ir import (AsyncCopy, Barrier, Block, Declare, For, ForKind, If, Kernel, Ref, Stmt, block,
                 conj, i32)
from .ir import local_name
from .partition import Invariant, Scope, clamp_parts, conjuncts, own_exprs, steady
from .passes import Pass
from .simplify import simplify_expr
from .walk import stmts


@dataclass(frozen=True)
class _Bound:
    """The guard holds for ``v >= expr`` (``lower``) or ``v < expr`` (not ``lower``)."""

    lower: bool
    expr: Expr
    peel: bool = False     # from ``v == first``, not from a guard


def _floordiv(a: Expr, n: int) -> Expr:
    return a if n == 1 else binary(BinaryOp.FLOORDIV, a, i32(n))


class _LoopScope(Scope):
    """The guards of a loop body ``B`` seen from its counter ``var``: each is a :class:`_Bound`
    on ``var``, an outside test (it does not read ``var``), or None (not analysed)."""

    def __init__(self, body: Stmt, var: str, first: Expr, peel: bool = True):
        super().__init__(body, ())
        self.var, self.first = var, first if peel else None
        self.ranges[var] = (0, 0)     # a counter for form(); its range is what is solved for
        self.inside.add(var)          # never part of an outside test

    def interior(self, c: Expr, ranges: dict):
        sides = self.sides(c)
        if sides is None:
            return None
        fa, fb, op = sides
        d = fa.plus(fb, -1)                                  # a - b <= limit
        k = dict(d.counters).get(self.var, 0)
        if k == 0:
            return super().interior(c, ranges)
        rest = replace(d, counters=tuple((n, x) for n, x in d.counters if n != self.var))
        largest = rest.extreme(ranges, True)
        limit = -1 if op is BinaryOp.LT else 0
        room = binary(BinaryOp.SUB, i32(limit), largest)      # k·v <= room
        if k > 0:
            return _Bound(False, simplify_expr(binary(BinaryOp.ADD, _floordiv(room, k), i32(1))))
        return _Bound(True, simplify_expr(binary(BinaryOp.SUB, i32(0), _floordiv(room, -k))))

    def never(self, cond: Expr):
        """``v == first`` (a conjunct of ``cond``, ``first`` the loop's constant start: the
        first iteration of a sliding window) is false for ``v >= first + 1``."""
        if not isinstance(self.first, Const):     # (None: peeling is off)
            return None
        for c in conjuncts(cond):
            if not (isinstance(c, BinOp) and c.op is BinaryOp.EQ):
                continue
            fa, fb = self.form(c.a), self.form(c.b)
            if fa is None or fb is None:
                continue
            d = fa.plus(fb, -1)            # k·v + const == 0
            k = dict(d.counters).get(self.var, 0)
            if abs(k) == 1 and len(d.counters) == 1 and d.rest is None \
                    and -d.const * k == self.first.value:
                return _Bound(True, i32(int(self.first.value) + 1), peel=True)
        return None


_ORDER = (BinaryOp.LT, BinaryOp.LE, BinaryOp.GT, BinaryOp.GE)


def _unguarded(s: Stmt) -> bool:
    """Whether ``s`` holds no clamp and no ordering test (``<``, ``<=``, ``>``, ``>=``) in a
    condition: what a partition must reach to pay for its copies. An equality test may stay.
    """
    for x in stmts(s):
        cond = x.cond if isinstance(x, (If, AsyncCopy)) else None
        if cond is not None and any(isinstance(c, BinOp) and c.op in _ORDER
                                    for c in conjuncts(cond)):
            return False
        if any(find(e, lambda n: clamp_parts(n) is not None) for e in own_exprs(x)):
            return False
    return True


SHORT = 16   # a loop of at most this many iterations is one the device compiler unrolls


def _unrolled_by_the_compiler(f: For) -> bool:
    """A loop of a few constant iterations: NVCC, hipcc and PoCL unroll it whole, so a
    per-thread array it indexes by its counter stays in registers. Split at a point known only
    at run time, it could not be unrolled and the array would go to local memory (the
    warm-up rows of a sliding window on gfx90a: 200 scratch instructions)."""
    return isinstance(f.extent, Const) and int(f.extent.value) <= SHORT


def _fold(op: BinaryOp, exprs: list, start: Expr) -> Expr:
    out = start
    for e in exprs:
        out = binary(op, out, e)
    return out


class _Partitioner:
    def __init__(self):
        self.count = 0

    def loop(self, f: For) -> Stmt:
        if f.kind is not ForKind.SERIAL or any(isinstance(x, Barrier) for x in stmts(f.body)):
            return replace(f, body=self.stmt(f.body))
        scope, found = _LoopScope(f.body, f.var, f.min), {}
        body = steady(f.body, scope, found, scope.ranges)
        if any(not (isinstance(b, _Bound) and b.peel) for b in found.values()) and \
                any(isinstance(b, _Bound) and b.peel for b in found.values()):
            # guarded too: peeling would run the first iteration (a window's whole fill) in
            # the guarded prologue even where it needs no guard; keep its test in the steady
            scope, found = _LoopScope(f.body, f.var, f.min, peel=False), {}
            body = steady(f.body, scope, found, scope.ranges)
        bounds = [b for b in found.values() if isinstance(b, _Bound)]
        if not bounds or not _unguarded(body):
            return replace(f, body=self.stmt(f.body))
        tests = [t.cond if isinstance(t, Invariant) else t for t in found.values()
                 if not isinstance(t, _Bound)]
        m, end = f.min, simplify_expr(binary(BinaryOp.ADD, f.min, f.extent))
        lowers = [b.expr for b in bounds if b.lower]
        uppers = [b.expr for b in bounds if not b.lower]
        names = [local_name(f.var, f"p{self.count}", s) for s in ("lo", "hi")]
        self.count += 1
        lets, start, stop = [], m, end

        def let(name, value):          # a local, or the constant itself
            value = simplify_expr(value)
            if isinstance(value, Const):
                return value
            lets.append(Declare(name, T.int32, value))
            return Ref(name, T.int32)
        if lowers:                     # else the steady state starts the loop: no prologue
            start = let(names[0], binary(BinaryOp.MIN, _fold(BinaryOp.MAX, lowers, m), end))
        if uppers or tests:            # else it ends the loop: no epilogue
            last = binary(BinaryOp.MAX, _fold(BinaryOp.MIN, uppers, end), start)
            if tests:
                last = Select(conj(tests), last, start, T.int32)
            stop = let(names[1], last)

        if _unrolled_by_the_compiler(f) and not (isinstance(start, Const) and
                                                  isinstance(stop, Const)):
            return replace(f, body=self.stmt(f.body))

        def run(a, b, s):
            return For(f.var, a, simplify_expr(binary(BinaryOp.SUB, b, a)), ForKind.SERIAL, s)
        return block(*lets, run(m, start, f.body) if lowers else None,
                     run(start, stop, self.stmt(body)),
                     run(stop, end, f.body) if uppers or tests else None)

    def stmt(self, s: Stmt) -> Stmt:
        if isinstance(s, For):
            return self.loop(s)
        if isinstance(s, Block):
            return block(*(self.stmt(x) for x in s.stmts))
        if isinstance(s, If):
            return If(s.cond, self.stmt(s.then),
                      None if s.otherwise is None else self.stmt(s.otherwise))
        return s


def partition_loops(k: Kernel) -> Kernel:
    """``k`` with its guarded serial loops partitioned (see the module docstring)."""
    return replace(k, body=_Partitioner().stmt(k.body))


PARTITION_LOOPS = Pass(
    "partition loops", lambda prog: prog.map_kernels(partition_loops),
    "a barrier-free serial loop whose guards and clamps hold on a range of its counter runs as "
    "prologue (guarded), steady state (without them) and epilogue (guarded)")
