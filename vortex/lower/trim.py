"""The ``trim no-ops`` pass: a serial loop holding barriers runs only over the range of its
counter where its body does something for *some* thread of the block, with bounds that are the
same for every thread (so all of them still reach the same barriers).

Source: Halide's ``TrimNoOps`` (src/TrimNoOps.cpp): a loop is truncated to the region of its
counter over which its body is not a no-op, found by solving, for the counter, the conditions
under which something happens. :mod:`vortex.lower.tighten` does that per thread for loops
without barriers; this pass does it per block for the loops it leaves alone.

The case it is for: a causal attention's key-tile loop (``examples/attention.py``): for a block
owning queries ``[16·so, 16·so + 16)``, each iteration ``ro`` fills a score box of 32 keys in
shared memory between two barriers, then each thread runs the keys ``ri`` of the tile with
``32·ro + ri <= 16·so + si`` (``si`` its query). For ``32·ro > 16·so + 15`` no thread runs any
key, and the fill is wasted: half of all tiles. So::

    for ro in [0, (S + 31) // 32):             for ro in [0, max(min((S + 31) // 32,
        barrier                                                     (16·so + 15) // 32 + 1), 0)):
        fill score.sh                 →            … the same body …
        barrier
        for ri in [0, max(min(32, 16·so + si - 32·ro + 1, S - 32·ro), 0)):
            F[…] = …

What "does something" means. In one iteration of ``for v in [m, m + e)`` (``B`` its body), the
statements with an effect are stores, atomic stores, asynchronous copies and matrix tiles into
a buffer that is not a *box of that loop*, assignments to locals declared outside ``B``, block
reductions into such locals, and any statement of a kind not listed here; declarations,
allocations, barriers, waits and comments have none. A box of the loop is an array allocated
inside ``B``, or one allocated for a Func computed at the loop (``compute_at(…, v)``) without
``store_at``, or for a source staged at the loop (``stage(X, at=v)``) without ``pipeline(v)``
(so refilled at every iteration before it is read), every access of which is inside the loop
— a sliding window (``store_at`` an outer loop, carried across iterations) or a pipelined
staged tile (filled for a later iteration, its first slots before the loop) is not one, and
its writes are effects.

Each effect runs under a *path*: the conditions of the ``If`` s around it inside ``B`` (the
``then`` side; an ``else`` side adds none), and for each loop ``for u in [a, a + n)`` around it
inside ``B``, ``n > 0`` split at ``min`` (``min(x, y) > 0`` is ``x > 0 && y > 0``) and at
``max`` with a non-positive constant (``max(x, 0) > 0`` is ``x > 0``). A conjunct ``k·v + R op
c`` (``op`` one of ``<``, ``<=``, ``>``, ``>=``) affine in ``v`` with ``R`` affine in the
thread indices (the launch's thread axes, GPU thread loops around the loop: their ranges
known), the counters of constant loops inside ``B`` and names that are the same for all the
block's threads (Dims, Params, block counters, serial counters outside, locals of those) holds
for *some* thread and inner counter only if it holds with ``R`` at its least value (``k·v <= c
- min R``: the extreme over the thread ranges, as in :mod:`vortex.lower.partition`'s forms),
which is a bound on ``v`` uniform over the block. An effect's range is the intersection of its
conjuncts' bounds (the others are left out: a larger range); the loop runs over the hull of its
effects' ranges, within ``[m, m + e)``, extent clamped at 0. Every iteration it skips does
nothing in any thread: each effect's path fails for every thread there.

Left alone: loops without a barrier (``tighten loops`` takes them, per thread), loops of other
kinds, a loop with an effect none of whose path conjuncts bound ``v`` (on both sides of the
hull it would widen to the whole loop), bounds that would read a load, a per-thread name or a
division by a non-constant, loops with no effect at all, and a loop of at most 16 constant
iterations whose new bounds are not constants (as in ``tighten loops``).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from ..algorithm import dtypes as T
from ..algorithm.construct import binary
from ..algorithm.expr import BinaryOp, BinOp, Const, Expr
from ..algorithm.walk import find
from .ir import (Allocate, Assign, AsyncCopy, AsyncCommit, AsyncWait, AtomicStore, Barrier,
                 Block, BufferLoad, Comment, Declare, For, ForKind, FragmentLoad, GpuAxis,
                 GpuIndex, If, Kernel, MmaTile, Ref, SEP, Stmt, Store, ThreadReduce, block, i32)
from ..schedule import gpu_directives as G
from .partition import conjuncts
from .partition_loops import _Bound, _floordiv, _LoopScope, _unrolled_by_the_compiler
from .passes import Pass
from .plan import Level
from .simplify import simplify_expr
from .sliding import store_level
from .tighten import _safe, _tidy
from .walk import stmt_exprs, stmts

_QUIET = (Declare, Allocate, Barrier, AsyncCommit, AsyncWait, Comment, FragmentLoad)
_WRITTEN = {Store: lambda s: s.buffer, AtomicStore: lambda s: s.buffer,
            AsyncCopy: lambda s: s.dst, MmaTile: lambda s: s.acc}


@dataclass(frozen=True)
class _Outer:
    """What is known around a loop: thread counters' ranges, names uniform over the block, and
    int locals' definitions (read through by the forms)."""

    ranges: dict
    uniform: frozenset
    defs: dict


def _accesses(s: Stmt, name: str) -> int:
    """How many statements and loads of ``s`` read or write buffer ``name``."""
    n = sum(isinstance(x, tuple(_WRITTEN)) and _WRITTEN[type(x)](x) == name or
            isinstance(x, AsyncCopy) and x.src == name or
            isinstance(x, FragmentLoad) and x.buffer == name for x in stmts(s))
    return n + sum(len(find(e, lambda v: isinstance(v, BufferLoad) and v.buffer == name))
                   for e in stmt_exprs(s))


def _boxes(f: For, kernel: Stmt, refilled: set) -> set:
    """The buffers of ``f``'s body whose writes are not effects (module docstring)."""
    inner = {x.name for x in stmts(f.body) if isinstance(x, Allocate)}
    mine = {x.name for x in stmts(kernel) if isinstance(x, Allocate)
            and x.name.split(SEP)[0] in refilled
            and _accesses(kernel, x.name) == _accesses(f, x.name)}
    return inner | mine


def _effect(s: Stmt, boxes: set, local: set) -> bool:
    """Whether the leaf statement ``s`` does something outside one iteration of the loop."""
    if isinstance(s, ThreadReduce):
        return any(r is not None and r.name not in local for r in (s.value, s.at))
    if isinstance(s, _QUIET):
        return False
    if type(s) in _WRITTEN:
        return _WRITTEN[type(s)](s) not in boxes
    if isinstance(s, Assign):
        return s.name not in local
    return True


def _positive(e: Expr) -> list:
    """Conjuncts equivalent to (or implied by) ``e > 0`` for an int32 extent ``e``."""
    if isinstance(e, BinOp) and e.op is BinaryOp.MIN:
        return _positive(e.a) + _positive(e.b)
    if isinstance(e, BinOp) and e.op is BinaryOp.MAX:
        for x, y in ((e.a, e.b), (e.b, e.a)):
            if isinstance(y, Const) and y.value <= 0:
                return _positive(x)
        return []
    return [binary(BinaryOp.GT, e, i32(0))]


def _paths(s: Stmt, path: list, boxes: set, local: set, out: list) -> None:
    """Append to ``out`` the path (a list of conjuncts) of every effect in ``s``."""
    if isinstance(s, Block):
        for x in s.stmts:
            _paths(x, path, boxes, local, out)
    elif isinstance(s, If):
        _paths(s.then, path + conjuncts(s.cond), boxes, local, out)
        if s.otherwise is not None:
            _paths(s.otherwise, path, boxes, local, out)
    elif isinstance(s, For):
        _paths(s.body, path + _positive(s.extent), boxes, local, out)
    elif _effect(s, boxes, local):
        out.append(path)


def _bound(scope: _LoopScope, c: Expr) -> _Bound | None:
    """A bound on the loop counter outside which ``c`` fails for every thread and every inner
    counter: ``k·v + R op 0`` with ``R`` at its least value (its greatest for ``k < 0``)."""
    sides = scope.sides(c)
    if sides is None:
        return None
    fa, fb, op = sides
    d = fa.plus(fb, -1)                                    # d op 0, op one of <, <=
    k = dict(d.counters).get(scope.var, 0)
    if k == 0:
        return None
    rest = replace(d, counters=tuple((n, x) for n, x in d.counters if n != scope.var))
    room = binary(BinaryOp.SUB, i32(-1 if op is BinaryOp.LT else 0),
                  rest.extreme(scope.ranges, False))       # k·v <= room for some thread
    if k > 0:      # v < room // k + 1, spelt (room + k) // k like a loop's ceil-div end
        return _Bound(False, _tidy(_floordiv(_tidy(binary(BinaryOp.ADD, room, i32(k))), k)))
    return _Bound(True, _tidy(binary(BinaryOp.SUB, i32(0), _floordiv(_tidy(room), -k))))


def _uniform(e: Expr, outer: _Outer) -> bool:
    return _safe(e) and not find(e, lambda n: isinstance(n, Ref) and n.name not in outer.uniform
                                 or isinstance(n, GpuIndex) and not n.axis.is_block)


def _hull(f: For, ranges: list, keep_start: bool = False):
    """``(min, extent)``: the hull of the effects' ``(lower, upper)`` bounds within ``f``'s
    range (from ``f``'s own start with ``keep_start``); None when an effect is unbounded on
    both sides."""
    end = simplify_expr(binary(BinaryOp.ADD, f.min, f.extent))
    if any(lo is None and hi is None for lo, hi in ranges):
        return None
    lo, hi = f.min, end
    if all(r[0] is not None for r in ranges) and not keep_start:
        lo = binary(BinaryOp.MAX, f.min, _fold(BinaryOp.MIN, [r[0] for r in ranges]))
    if all(r[1] is not None for r in ranges):
        hi = binary(BinaryOp.MIN, end, _fold(BinaryOp.MAX, [r[1] for r in ranges]))
    lo, hi = simplify_expr(lo), simplify_expr(hi)
    return lo, simplify_expr(binary(BinaryOp.MAX, binary(BinaryOp.SUB, hi, lo), i32(0)))


def _fold(op: BinaryOp, exprs: list) -> Expr:
    out = _tidy(exprs[0])
    for e in exprs[1:]:
        out = binary(op, out, _tidy(e))
    return out


def _effect_range(f: For, scope: _LoopScope, path: list, outer: _Outer):
    """(lower, upper) bounds of one effect's iterations (None: unbounded on that side); a
    bound spelt as the loop's own start or end is left out (it trims nothing)."""
    lows, highs = [], []
    own = {True: repr(_tidy(f.min)),
           False: repr(_tidy(simplify_expr(binary(BinaryOp.ADD, f.min, f.extent))))}
    for c in path:
        b = _bound(scope, c)
        if b is None or not _uniform(b.expr, outer) or repr(b.expr) == own[b.lower]:
            continue
        (lows if b.lower else highs).append(b.expr)
    return (_fold(BinaryOp.MAX, lows) if lows else None,
            _fold(BinaryOp.MIN, highs) if highs else None)


def trim_loop(f: For, outer: _Outer, boxes: set, keep_start: bool = False) -> For:
    """``f`` (a serial loop holding a barrier) over the range where its body does something
    for some thread of the block (module docstring), from its own start with ``keep_start``;
    ``f`` itself when that is not found."""
    local = {x.name for x in stmts(f.body) if isinstance(x, Declare)}
    paths = []
    _paths(f.body, [], boxes, local, paths)
    if not paths:
        return f
    scope = _LoopScope(f.body, f.var, f.min, peel=False)
    for name, rng in outer.ranges.items():
        scope.ranges.setdefault(name, rng)
    for name, value in outer.defs.items():
        if name not in scope.inside:
            scope.defs.setdefault(name, value)
    ranges = {repr(r): r for r in (_effect_range(f, scope, p, outer) for p in paths)}
    rng = _hull(f, list(ranges.values()), keep_start)
    if rng is None or repr(rng) == repr((f.min, f.extent)):
        return f
    if _unrolled_by_the_compiler(f) and not all(isinstance(x, Const) for x in rng):
        return f
    return replace(f, min=rng[0], extent=rng[1])


class _Trimmer:
    def __init__(self, k: Kernel, refilled: dict, ahead: dict):
        self.kernel, self.refilled, self.ahead = k.body, refilled, ahead
        self.assigned = {x.name for x in stmts(k.body) if isinstance(x, Assign)}

    def stmt(self, s: Stmt, outer: _Outer) -> Stmt:
        if isinstance(s, Block):
            out = []
            for x in s.stmts:
                out.append(self.stmt(x, outer))
                if isinstance(x, Declare) and x.value is not None and x.name not in self.assigned \
                        and x.dtype == T.int32:
                    outer = replace(outer, defs={**outer.defs, x.name: x.value},
                                    uniform=outer.uniform | ({x.name} if _uniform(x.value, outer)
                                                             else set()))
            return block(*out)
        if isinstance(s, If):
            return If(s.cond, self.stmt(s.then, outer),
                      None if s.otherwise is None else self.stmt(s.otherwise, outer))
        if isinstance(s, For):
            return self.loop(s, outer)
        return s

    def loop(self, f: For, outer: _Outer) -> Stmt:
        inside = outer
        if f.kind is ForKind.GPU_THREAD and isinstance(f.min, Const) and \
                isinstance(f.extent, Const) and f.extent.value > 0:
            lo = int(f.min.value)
            inside = replace(outer, ranges={**outer.ranges,
                                            f.var: (lo, lo + int(f.extent.value) - 1)})
        elif f.kind is ForKind.GPU_BLOCK or f.kind is ForKind.SERIAL and \
                _uniform(f.min, outer) and _uniform(f.extent, outer):
            inside = replace(outer, uniform=outer.uniform | {f.var})
        f = replace(f, body=self.stmt(f.body, inside))
        if f.kind is not ForKind.SERIAL or not any(isinstance(x, Barrier) for x in stmts(f.body)):
            return f
        piped = {x.dst for x in stmts(f.body) if isinstance(x, AsyncCopy)
                 and x.dst.split(SEP)[0] in self.ahead.get(f.var, ())}
        out = trim_loop(f, outer, _boxes(f, self.kernel, self.refilled.get(f.var, set())) | piped,
                        keep_start=bool(piped))
        # a skipped iteration's prefetch would fill a later skipped one's slot: only the end
        # moves; the last copy issued is waited for after the loop (no copy left in flight)
        return block(out, AsyncWait(0)) if piped and out is not f else out


def trim(k: Kernel, refilled: dict, ahead: dict | None = None) -> Kernel:
    """``k`` with its serial loops holding barriers trimmed to where they do something
    (module docstring); ``refilled``: loop name → names of the Funcs computed at that loop
    without ``store_at`` and of the sources staged there without ``pipeline``; ``ahead``: loop
    name → names of the sources staged there with ``pipeline`` (:func:`refilled_boxes`)."""
    threads = {axis: (0, int(k.block[axis.dim]) - 1)
               for axis in (GpuAxis.THREAD_X, GpuAxis.THREAD_Y, GpuAxis.THREAD_Z)}
    return replace(k, body=_Trimmer(k, refilled, ahead or {}).stmt(
        k.body, _Outer(threads, frozenset(), {})))


def refilled_boxes(plans: dict, pipelined: bool = False) -> dict:
    """Loop name → names of the Funcs computed at it (``compute_at``) with no ``store_at``,
    and of the sources staged at it (``stage``, of a root or update stage) without a
    ``pipeline`` of that loop; with ``pipelined``, the names of the sources staged at it
    with one (filled for a later iteration)."""
    out = {}
    for name, p in (plans or {}).items():
        if p.level is Level.AT and store_level(p) is None and not pipelined:
            out.setdefault(p.at[1], set()).add(name)
        for ds in (p.directives, *p.update_directives):
            piped = {d.loop for d in ds if isinstance(d, G.PipelineStages) and d.stages > 1}
            for d in ds:
                if isinstance(d, G.Stage) and (d.at in piped) == pipelined:
                    out.setdefault(d.at, set()).add(d.source)
    return out


TRIM = Pass(
    "trim no-ops", lambda prog: prog.map_kernels(
        lambda k: trim(k, refilled_boxes(prog.plans), refilled_boxes(prog.plans, True))),
    "a serial loop holding a barrier runs only over the range of its counter where some thread "
    "of the block does something other than refill the loop's own boxes (bounds the same for "
    "every thread)")
