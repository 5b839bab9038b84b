"""The ``partition`` pass: interior tiles run without their bounds guards (Halide's
``PartitionLoops``, applied per tile, the multi-versioning of GPU kernels).

A guard ``a < b`` (or ``<=``, ``>``, ``>=``) inside a loop of a statement ``s`` holds at every
iteration when it holds at the extreme values of the loop counters it reads: ``a`` affine in the
counters (constant coefficients, constant loop ranges; locals declared inside ``s`` are read
through their definitions) is at most its value with each counter at the end of its range that
makes it largest, and ``b`` at least the one that makes it smallest. So ``s`` becomes::

    if (max(a) < min(b) && …)   // one test per execution of s, not per iteration
        s without those guards  // the steady state: no bounds checks
    else
        s                       // an edge tile: every guard as before

which is correct for every size, whatever the test says. A guard that reads no counter of ``s``
(the tile's own bounds, ``xo * 32 + xt * 4 < N``) joins the test as it is when ``s`` is
versioned for another guard. A clamp ``min(max(a, lo), hi)`` in the statement (``vx.clamp`` of a
boundary condition) is a pair of guards ``lo <= a``, ``a <= hi``: the steady copy reads ``a``. A
stage under ``specialize`` keeps the versions its schedule chose (two versions of a
register-tiled matmul already fill the register budget: a third made the shipped A100 kernel
spill). The statements versioned are the largest ones inside the GPU block loops (each tile
decides for itself) that hold no barrier and hold a guard or a clamp inside one of their loops;
a statement with a barrier is not versioned as a whole (a barrier in a branch is legal for a
block-uniform condition, but some OpenCL drivers fail on it): its parts are. A guard that reads
anything else inside ``s`` (a load, a local assigned in a loop, a counter with a non-constant
range, a min/max/division of counters) stays.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

from ..algorithm import dtypes as T
from ..algorithm.construct import binary
from ..algorithm.expr import BinaryOp, BinOp, Cast, Const, Dim, Expr
from ..algorithm.walk import find, rebuild
from .ir import (Assign, AsyncCopy, Barrier, Block, BufferLoad, Declare, For, ForKind, GpuAxis,
                 GpuIndex, If, Kernel, Ref, Stmt, block, conj, i32)
from .passes import Pass
from .walk import stmts

I32 = T.int32
FLIP = {BinaryOp.GT: BinaryOp.LT, BinaryOp.GE: BinaryOp.LE}


@dataclass(frozen=True)
class Form:
    """``rest + const + Σ coeff·counter``: ``rest`` an expression of names from outside the
    versioned statement (None for 0)."""

    counters: tuple      # ((key, coeff), ...): key a loop counter's name or a thread GpuAxis
    rest: Expr | None
    const: int

    def scaled(self, k: int) -> "Form":
        rest = None if self.rest is None else binary(BinaryOp.MUL, self.rest, i32(k))
        return Form(tuple((c, n * k) for c, n in self.counters), rest, self.const * k)

    def plus(self, o: "Form", sign: int = 1) -> "Form":
        merged = dict(self.counters)
        for c, n in o.counters:
            merged[c] = merged.get(c, 0) + sign * n
        if o.rest is None:
            rest = self.rest
        else:
            other = o.rest if sign > 0 else binary(BinaryOp.MUL, o.rest, i32(-1))
            rest = other if self.rest is None else binary(BinaryOp.ADD, self.rest, other)
        return Form(tuple((c, n) for c, n in merged.items() if n), rest, self.const + sign * o.const)

    def extreme(self, ranges: dict, largest: bool) -> Expr:
        total = self.const
        for c, n in self.counters:
            lo, hi = ranges[c]
            total += n * (hi if (n > 0) == largest else lo)
        if self.rest is None:
            return i32(total)
        return self.rest if total == 0 else binary(BinaryOp.ADD, self.rest, i32(total))


class Scope:
    """What the analysis of guards inside one statement ``s`` knows: the ranges of the counters
    of its loops with constant bounds (and of the thread indices), the locals declared in it."""

    def __init__(self, s: Stmt, threads: tuple):
        self.ranges, self.defs, self.inside = {}, {}, set()
        assigned = {x.name for x in stmts(s) if isinstance(x, Assign)}
        self.inside |= assigned    # changes inside s, wherever it is declared
        for axis, n in threads:
            self.ranges[axis] = (0, n - 1)
        for x in stmts(s):
            if isinstance(x, For):
                self.inside.add(x.var)
                if isinstance(x.min, Const) and isinstance(x.extent, Const) and x.extent.value > 0:
                    lo = int(x.min.value)
                    self.ranges[x.var] = (lo, lo + int(x.extent.value) - 1)
            elif isinstance(x, Declare):
                self.inside.add(x.name)
                if x.value is not None and x.name not in assigned and x.dtype == I32:
                    self.defs[x.name] = x.value
            elif hasattr(x, "name") and isinstance(x.name, str):
                self.inside.add(x.name)

    def form(self, e: Expr, depth: int = 0) -> Form | None:
        if depth > 32:
            return None
        if isinstance(e, Const) and e.dtype == I32:
            return Form((), None, int(e.value))
        if isinstance(e, Ref) and e.name in self.ranges:
            return Form(((e.name, 1),), None, 0)
        if isinstance(e, Ref) and e.name in self.defs:
            return self.form(self.defs[e.name], depth + 1)
        if isinstance(e, GpuIndex) and e.axis in self.ranges:
            return Form(((e.axis, 1),), None, 0)
        if isinstance(e, Cast) and e.dtype == I32 and e.value.dtype == I32:
            return self.form(e.value, depth + 1)
        if isinstance(e, BinOp) and e.op in (BinaryOp.ADD, BinaryOp.SUB):
            a, b = self.form(e.a, depth + 1), self.form(e.b, depth + 1)
            if a is None or b is None:
                return None
            return a.plus(b, 1 if e.op is BinaryOp.ADD else -1)
        if isinstance(e, BinOp) and e.op is BinaryOp.MUL:
            a, b = self.form(e.a, depth + 1), self.form(e.b, depth + 1)
            if a is None or b is None:
                return None
            for x, y in ((a, b), (b, a)):
                if not x.counters and x.rest is None:
                    return y.scaled(x.const)
            if not a.counters and not b.counters:
                return self._outside(e)
            return None
        return self._outside(e)

    def _outside(self, e: Expr) -> Form | None:
        """``e`` as a whole, if it reads nothing that changes inside the statement."""
        if e.dtype != I32 or find(e, lambda x: isinstance(x, Ref) and x.name in self.inside or
                                  isinstance(x, GpuIndex) and x.axis in self.ranges or
                                  isinstance(x, BufferLoad)):
            return None
        return Form((), e, 0)

    def sides(self, c: Expr):
        """``(form of a, form of b, op)`` of a guard ``a < b`` or ``a <= b`` (``>``/``>=``
        flipped), or None when ``c`` is not such a comparison of analysable forms."""
        if not (isinstance(c, BinOp) and c.op in (BinaryOp.LT, BinaryOp.LE, *FLIP)):
            return None
        a, b, op = (c.b, c.a, FLIP[c.op]) if c.op in FLIP else (c.a, c.b, c.op)
        fa, fb = self.form(a), self.form(b)
        return None if fa is None or fb is None else (fa, fb, op)

    def interior(self, c: Expr, ranges: dict):
        """A condition outside the statement under which the guard ``c`` holds at every
        iteration inside it, given the counters' ``ranges`` there: an Expr, True (it always
        holds), an :class:`Invariant` (``c`` reads no counter: it is its own test), or None
        (it may fail at some iteration whatever the outside, or ``c`` is not of the form
        analysed)."""
        sides = self.sides(c)
        if sides is None:
            return None
        fa, fb, op = sides
        hi, lo = fa.extreme(ranges, True), fb.extreme(ranges, False)
        if isinstance(hi, Const) and isinstance(lo, Const):
            holds = hi.value < lo.value if op is BinaryOp.LT else hi.value <= lo.value
            return True if holds else None
        test = binary(op, hi, lo)     # of names from outside the statement only
        return test if fa.counters or fb.counters else Invariant(test)

    def never(self, cond: Expr):
        """What makes ``cond`` false wherever the steady copy runs (recorded like the outside
        test of a guard), or None: a tile's versions decide no condition false."""
        return None

    def narrowed(self, cond: Expr, ranges: dict) -> dict:
        """``ranges`` inside ``if (cond)``: a conjunct ``v < n`` / ``v <= n`` / ``v >= n`` /
        ``v > n`` (``v`` a counter or a thread index, ``n`` a constant) narrows ``v``'s range."""
        out = dict(ranges)
        for c in conjuncts(cond):
            if not (isinstance(c, BinOp) and isinstance(c.b, Const) and c.b.dtype == I32):
                continue
            key = c.a.name if isinstance(c.a, Ref) else getattr(c.a, "axis", None)
            if key not in out:
                continue
            lo, hi = out[key]
            n = int(c.b.value)
            lo, hi = {BinaryOp.LT: (lo, min(hi, n - 1)), BinaryOp.LE: (lo, min(hi, n)),
                      BinaryOp.GT: (max(lo, n + 1), hi), BinaryOp.GE: (max(lo, n), hi)}.get(
                          c.op, (lo, hi))
            if lo <= hi:
                out[key] = (lo, hi)
        return out


@dataclass(frozen=True)
class Invariant:
    """The outside test of a guard that reads no counter of the statement (``cond``: the guard
    with the statement's locals replaced by their definitions)."""

    cond: Expr


def conjuncts(c: Expr) -> list:
    if isinstance(c, BinOp) and c.op is BinaryOp.AND:
        return conjuncts(c.a) + conjuncts(c.b)
    return [c]


def steady(s: Stmt, scope: Scope, found: dict, ranges: dict) -> Stmt:
    """``s`` without the guard conjuncts that ``scope`` can test once (their outside
    conditions are recorded in ``found``, by text); ``ranges``: the counters' ranges here."""
    def drop(cond):
        kept = []
        for c in conjuncts(cond):
            outside = scope.interior(c, ranges)
            if outside is None:
                kept.append(c)
            elif isinstance(outside, Invariant):
                found.setdefault(repr(outside.cond), outside)
            elif outside is not True:
                found.setdefault(repr(outside), outside)
        return conj(kept)
    if isinstance(s, Block):
        return block(*(steady(x, scope, found, ranges) for x in s.stmts))
    if isinstance(s, For):
        return replace(s, body=steady(s.body, scope, found, ranges))
    if isinstance(s, If):
        never = scope.never(s.cond)
        if never is not None:        # false in the steady state: the else branch alone
            found.setdefault(repr(never), never)
            return Block(()) if s.otherwise is None else steady(s.otherwise, scope, found,
                                                                ranges)
        then = steady(s.then, scope, found, scope.narrowed(s.cond, ranges))
        other = None if s.otherwise is None else steady(s.otherwise, scope, found, ranges)
        cond = drop(s.cond)
        return then if cond is None else If(cond, then, other)
    if isinstance(s, AsyncCopy) and s.cond is not None:
        s = replace(s, cond=drop(s.cond))
    return _unclamped(s, scope, found, ranges)


def clamp_parts(e: Expr):
    """``(a, lo, hi)`` of an int32 ``min(max(a, lo), hi)`` (``vx.clamp``), else None."""
    if (isinstance(e, BinOp) and e.op is BinaryOp.MIN and e.dtype == I32
            and isinstance(e.a, BinOp) and e.a.op is BinaryOp.MAX):
        return e.a.a, e.a.b, e.b
    return None


def _unclamped(s: Stmt, scope: Scope, found: dict, ranges: dict) -> Stmt:
    """The leaf statement ``s`` with each clamp ``min(max(a, lo), hi)`` whose bounds one test
    outside can prove (``lo <= a <= hi`` at the counters' extremes, as for guards) replaced by
    ``a``: the interior of a boundary condition reads without clamping (Halide's
    ``PartitionLoops`` on the clamps of ``BoundaryConditions``), so its index stays affine."""
    def fn(e):
        parts = clamp_parts(e)
        if parts is None:
            return None
        a, lo, hi = parts
        tests = [scope.interior(binary(BinaryOp.LE, lo, a), ranges),
                 scope.interior(binary(BinaryOp.LE, a, hi), ranges)]
        if any(t is None for t in tests):
            return None
        for t in tests:
            if isinstance(t, Invariant):
                found.setdefault(repr(t.cond), t)
            elif t is not True:
                found.setdefault(repr(t), t)
        return a
    changes = {f.name: rebuild(getattr(s, f.name), fn) for f in fields(s)
               if isinstance(getattr(s, f.name), Expr)}
    return replace(s, **changes) if changes else s


def _guards_in_loops(s: Stmt) -> bool:
    """Whether a loop of ``s`` holds a guard or a clamp (what versioning can remove)."""
    return any(isinstance(x, (If, AsyncCopy)) or
               any(find(e, lambda n: clamp_parts(n) is not None) for e in own_exprs(x))
               for f in stmts(s) if isinstance(f, For) for x in stmts(f.body))


def own_exprs(s: Stmt) -> list:
    return [getattr(s, f.name) for f in fields(s) if isinstance(getattr(s, f.name), Expr)]


def _specialization(x: Stmt) -> bool:
    """Whether ``x`` is the ``If`` of a ``specialize``: ``D % n == 0 && …`` on Dims."""
    return isinstance(x, If) and all(
        isinstance(c, BinOp) and c.op is BinaryOp.EQ and isinstance(c.a, BinOp) and
        c.a.op is BinaryOp.MOD and isinstance(c.a.a, Dim) for c in conjuncts(x.cond))


def _loaded_locals(s: Stmt) -> int:
    """How many of the first statements of Block ``s`` declare a local from a load and are
    never assigned in ``s`` (a ragged tile's ``start``/``len``, :mod:`vortex.lower.ragged`):
    the same in both versions, so they stay before the test, which may then read them."""
    if not isinstance(s, Block):
        return 0
    assigned = {x.name for x in stmts(s) if isinstance(x, Assign)}
    n = 0
    for x in s.stmts:
        if not (isinstance(x, Declare) and x.value is not None and x.name not in assigned
                and find(x.value, lambda e: isinstance(e, BufferLoad))):
            break
        n += 1
    return n if n < len(s.stmts) else 0


def _version(s: Stmt, threads: tuple) -> Stmt:
    if _specialization(s):
        return s      # the schedule chose this stage's versions (and their register budget)
    lead = _loaded_locals(s)
    if lead:
        return block(*s.stmts[:lead], _version(block(*s.stmts[lead:]), threads))
    inner = list(stmts(s))
    whole = not any(isinstance(x, Barrier) or isinstance(x, For) and x.kind is ForKind.GPU_BLOCK
                    or _specialization(x) for x in inner)
    if whole and _guards_in_loops(s):
        found, scope = {}, Scope(s, threads)
        steady_copy = steady(s, scope, found, scope.ranges)
        tests = [c.cond if isinstance(c, Invariant) else c for c in found.values()]
        if all(isinstance(c, Invariant) for c in found.values()):
            return s    # invariant guards alone: no second version (hoist.py tests them once)
        return If(conj(tests), steady_copy, s)
    if isinstance(s, Block):
        return block(*(_version(x, threads) for x in s.stmts))
    if isinstance(s, For):
        return replace(s, body=_version(s.body, threads))
    if isinstance(s, If):
        return If(s.cond, _version(s.then, threads),
                  None if s.otherwise is None else _version(s.otherwise, threads))
    return s


def partition(k: Kernel) -> Kernel:
    """``k`` with each tile's guarded statements versioned (see the module docstring)."""
    if not any(isinstance(x, For) and x.kind is ForKind.GPU_BLOCK for x in stmts(k.body)):
        return k     # one thread (an update kernel): nothing is a tile
    threads = tuple((axis, int(k.block[axis.dim]))
                    for axis in (GpuAxis.THREAD_X, GpuAxis.THREAD_Y, GpuAxis.THREAD_Z))
    return replace(k, body=_version(k.body, threads))


PARTITION = Pass("partition", lambda prog: prog.map_kernels(partition),
                 "each largest barrier-free statement of a tile whose loops hold bounds guards "
                 "or clamps affine in their counters runs without them when one test before it "
                 "proves them (interior tiles), and as before otherwise")
