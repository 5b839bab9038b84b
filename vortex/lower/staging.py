"""``stage`` / ``pipeline`` / ``warp_specialize``: copies of operand tiles into fast memory.

For ``stage(X, at=L)`` the footprint of ``X`` read by one iteration of loop ``L`` is computed
with the compute_at machinery, cooperatively (the thread loops range over the block). The tile is
its constant-size box that holds the most reads; the reads of ``X`` inside ``L`` that it holds use
it, every other read of ``X`` (outside ``L``, or in no constant box with the others, such as a
``where`` predicate's ``a[0]`` next to ``a[r]``) reads ``X`` itself, so staging never changes a
result. Every iteration of a serial ``L`` then runs::

    if (L + n - 1 < trip) copy(tile L + n - 1 → slot (L + n - 1) % n)   // prefetch
    commit; wait until at most n - 1 copies are in flight; barrier
    compute, reading slot L % n
    barrier                                                             // slot free again

after a prologue that issues the copies of iterations 0 … n - 2 (``n`` = ``pipeline`` stages, 1
without it). At a GPU-bound ``L`` the copy runs once, in the kernel's prologue. Copies are
:class:`AsyncCopy` statements: ``cp.async`` on CUDA sm_80+, plain guarded loads and stores
elsewhere (same semantics: out-of-range elements read as 0). A copy into shared memory moves 16
bytes (``v`` elements) when aligned (:mod:`.vector_copy`), else one element. Alignment that
holds only for some sizes (a row stride ``K % 4 == 0``) is tested once per copy site, as a
``specialize`` is::

    if (K % 4 == 0 && N % 4 == 0)   // the tiles' alignment facts
        16-byte copies, a chunk outside the source zero-filled (cp.async src-size 0)
    else
        element copies, synchronous (load + shared store: no narrow cp.async)

both into the same layout (the swizzle of ``v``-element chunks). With ``swizzle="xor"`` the
``v``-element chunk ``q`` of row ``r`` is stored at chunk ``q ^ ((r / p) % chunks)``, ``p`` the
rows that share one 128-byte line of the banks (1 for rows of 128 bytes or more): the same
chunk of 8 consecutive rows lands in 8 different 16-byte bank groups, so a warp reading one
column of a tile — or an ``ldmatrix`` reading 8 rows of 16 bytes — is conflict-free (CUTLASS's
``Swizzle<3, 4, 3>`` on 16-byte chunks; a 16-byte copy lands in one aligned chunk; ``v = 1``:
column ``c`` at ``c ^ ((r / p) % width)``).
With ``warp_specialize(producers=p)`` the first ``32 p`` threads copy and the others compute;
every thread takes part in every barrier (block-wide barriers on all targets).

Source: NVIDIA CUTLASS "Efficient GEMM in CUDA" (multistage and warp-specialized pipelines).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import sympy as sp

from .. import errors
from ..algorithm import dtypes as T
from ..algorithm.bounds import to_sympy
from ..algorithm.construct import binary
from ..algorithm.expr import BinaryOp, Expr
from ..algorithm.walk import substitute
from ..schedule import gpu_directives as G
from ..schedule.directives import MemoryType
from .exprs import Layout
from .ir import (Allocate, AsyncCommit, AsyncCopy, AsyncWait, Barrier, Declare, For, ForKind,
                 GpuAxis, GpuIndex, If, MemorySpace, Ref, block, conj, i32, local_name)
from .sites import Realization, bounded_box, constant_boxes, footprint
from .threads import strided, thread_id, unflatten
from .sym import from_sympy, loop_symbol
from .vector_copy import VectorPlan, plan

I32 = T.int32
WARP = 32
LINE = 128   # bytes of one row of the 32 four-byte shared-memory banks


@dataclass(frozen=True)
class StagedLayout(Layout):
    """A staged tile: row-major over the footprint, optionally XOR-swizzled in its last two
    dimensions, at ``slot`` × tile size in a multi-buffered allocation. ``lanes``: elements
    per copy (the last extent is a multiple); the swizzle permutes chunks of that many."""

    slot: Expr | None = None
    swizzle: bool = False
    lanes: int = 1
    itemsize: int = 4

    def flat(self, coords) -> Expr:
        local = [binary(BinaryOp.SUB, c, o) for c, o in zip(coords, self.origin)]
        return self.physical(local)

    def physical(self, local) -> Expr:
        exts = [int(e.value) for e in self.extents]
        if self.swizzle:  # chunk q of row r at q ^ ((r / rows per line) mod chunks): all
            chunks = exts[-1] // self.lanes          # powers of two, so column c moves by
            per_line = max(1, LINE // (self.lanes * self.itemsize * chunks))   # XOR too
            rows = _flat(local[:-1], exts[:-1])   # the mask first: a row term whose low
            key = binary(BinaryOp.AND, rows, i32(chunks * per_line - 1))   # bits are 0 drops
            if per_line > 1:
                key = binary(BinaryOp.SHR, key, i32(per_line.bit_length() - 1))
            if self.lanes > 1:
                key = binary(BinaryOp.MUL, key, i32(self.lanes))
            local = local[:-1] + [binary(BinaryOp.XOR, local[-1], key)]
        idx = _flat(local, exts)
        if self.slot is not None:
            idx = binary(BinaryOp.ADD, binary(BinaryOp.MUL, self.slot, i32(math.prod(exts))), idx)
        return idx


def _flat(local, exts) -> Expr:
    idx = i32(0)
    for c, n in zip(local, exts):
        idx = binary(BinaryOp.ADD, binary(BinaryOp.MUL, idx, i32(n)), c)
    return idx


class Staging:
    """The staged sources of one root stage, grouped by loop."""

    def __init__(self, stage):
        self.stage = stage
        ds = stage.plan.directives
        self.copies = [d for d in ds if isinstance(d, G.Stage)]
        self.depth = {d.loop: d.stages for d in ds if isinstance(d, G.PipelineStages)}
        ws = [d for d in ds if isinstance(d, G.WarpSpecialize)]
        self.producers = ws[-1].producers * WARP if ws else 0
        self.tiles = {}
        self.vector = {}   # source -> VectorPlan of its copies
        for d in self.copies:
            cooperative = d.memory is MemoryType.SHARED
            fp = footprint(stage, d.source, d.at, cooperative=cooperative)
            k, box = self._tile(d, fp)
            self._check(d, box)
            n = self.depth.get(d.at, 1)
            slot = binary(BinaryOp.MOD, Ref(d.at, I32), i32(n)) if n > 1 else None
            los = tuple(Ref(local_name(d.source, f"lo{j}"), I32) for j in range(len(box)))
            name = local_name(d.source, "sh" if cooperative else "reg")
            vec = plan(self._source_dtype(d.source), [e for _, e in box],
                       [lo for lo, _ in box], stage.ctx.layouts[d.source],
                       self._last_bounds(d.source), stage.nest) if cooperative else VectorPlan()
            self.vector[d.source] = vec
            layout = StagedLayout(name, los, tuple(i32(e) for _, e in box), slot,
                                  d.swizzle == "xor", vec.lanes,
                                  self._source_dtype(d.source).itemsize)
            self.tiles[d.source] = (d, box, layout)
            stage.realized[d.source] = Realization(d.source, d.at, fp, {k: layout},
                                                   stage.ctx.layouts[d.source])

    def _tile(self, d, fp) -> tuple:
        """(index, [(lo, extent)]) of the box of ``fp`` to stage: of constant size, holding the
        most reads."""
        what = f"stage({d.source}, at={d.at}) on Func {self.stage.plan.name!r}"
        if not fp.boxes:
            raise errors.ScheduleError(
                f"{what}: no read of {d.source!r} runs inside loop {d.at!r} (in the value of "
                f"{self.stage.plan.name!r} or of a Func computed inside it), so there is nothing "
                f"to stage there; stage {d.source!r} at a loop that holds its reads")
        bounded = {k: bounded_box(fp, k) for k in range(len(fp.boxes))}
        fitting = [k for k, box in bounded.items() if box is not None]
        if not fitting:
            constant_boxes(fp, what, d.at)
        k = max(fitting, key=lambda k: (fp.used(k), -k))
        return k, bounded[k]

    def _check(self, d, box):
        exts = [e for _, e in box]
        if d.swizzle == "xor" and (len(exts) < 2 or exts[-1] & (exts[-1] - 1)):
            raise errors.ScheduleError(
                f"stage({d.source}, at={d.at}, swizzle='xor') on Func {self.stage.plan.name!r}: "
                f"the tile is {'×'.join(map(str, exts))}; an XOR swizzle needs ≥ 2 dimensions and "
                "a power-of-two last extent (change the split/tile factors)")

    def at(self, loop: str) -> list:
        return [t for t in self.tiles.values() if t[0].at == loop]

    # --- code --------------------------------------------------------------------------------
    def allocations(self):
        out = []
        for d, fp, layout in self.tiles.values():
            size = math.prod(e for _, e in fp) * self.depth.get(d.at, 1)
            dtype = self._source_dtype(d.source)
            mem = MemorySpace.SHARED if d.memory is MemoryType.SHARED else MemorySpace.LOCAL
            out.append(Allocate(layout.buffer, dtype, size, mem))
        return out

    def _source_dtype(self, name):
        pipe = self.stage.ctx.pipe
        return pipe.inputs[name].dtype if name in pipe.inputs else pipe.func(name).dtype

    def once(self, lp):
        """The copies of the tiles staged at the GPU-bound loop ``lp``: once per kernel, in
        its prologue, before the code placed at ``lp``."""
        tiles = self.at(lp.name)
        if not tiles:
            return None
        shared = any(t[0].memory is MemoryType.SHARED for t in tiles)
        los = [Declare(r.name, I32, from_sympy(lo)) for d, fp, layout in tiles
               for r, (lo, _) in zip(layout.origin, fp)]
        return block(*los, self._copies(tiles, lp.name, Ref(lp.name, I32), 1), AsyncCommit(),
                     AsyncWait(0), Barrier() if shared else None)

    def wrap(self, lp, body, trip: Expr | None = None):
        """The loop ``lp`` (trip count ``trip``, default its extent) with its staged copies
        (prologue + prefetching body)."""
        tiles = self.at(lp.name)
        if not tiles:
            return None
        n = self.depth.get(lp.name, 1)
        trip = from_sympy(lp.extent) if trip is None else trip
        L = Ref(lp.name, I32)
        ahead = binary(BinaryOp.ADD, L, i32(n - 1))
        prefetch = self._copies(tiles, lp.name, ahead, n)
        if n > 1:
            prefetch = If(binary(BinaryOp.LT, ahead, trip), prefetch)
        shared = any(t[0].memory is MemoryType.SHARED for t in tiles)
        ready, free = (self._barriers() if self.producers else (Barrier(), Barrier())) \
            if shared else (None, None)
        los = [Declare(r.name, I32, from_sympy(lo)) for d, fp, layout in tiles
               for r, (lo, _) in zip(layout.origin, fp)]
        loop_body = block(prefetch, AsyncCommit(), AsyncWait(n - 1), ready, *los, body, free)
        prologue = [If(binary(BinaryOp.LT, i32(s), trip),
                       self._copies(tiles, lp.name, i32(s), n)) for s in range(n - 1)]
        prologue += [AsyncCommit()] * (n - 1)
        return block(*prologue, For(lp.name, i32(0), trip, lp.kind, loop_body))

    def _barriers(self):
        """(tile ready: producers arrive, consumers wait; slot free: consumers arrive,
        producers wait) — CUDA named barriers 1 and 2."""
        total = math.prod(self.stage.launch()[1])
        if total % WARP:
            raise errors.ScheduleError(
                f"warp_specialize on Func {self.stage.plan.name!r}: the compute threads "
                f"({total - self.producers}) must be a multiple of {WARP} (change gpu_threads)")
        return (Barrier(1, self.producers, total, False), Barrier(2, self.producers, total, True))

    def _copies(self, tiles, loop: str, iteration: Expr, n: int):
        """The copies of ``tiles``; under the run-time test of their alignment facts when
        some need one (:mod:`.vector_copy`), with element copies otherwise."""
        fast = block(*(self._copy(d, fp, layout, loop, iteration, n) for d, fp, layout in tiles))
        facts = list(dict.fromkeys(f for d, _, _ in tiles for f in self.vector[d.source].facts))
        if not facts:
            return fast
        test = conj(binary(BinaryOp.EQ, binary(BinaryOp.MOD, from_sympy(dim), i32(m)), i32(0))
                    for dim, m in facts)
        slow = block(*(self._copy(d, fp, layout, loop, iteration, n, aligned=False)
                       for d, fp, layout in tiles))
        return If(test, fast, slow)

    def _copy(self, d, fp, layout, loop: str, iteration: Expr, n: int, aligned: bool = True):
        """Copy the tile of iteration ``iteration`` of ``loop`` into its slot (``aligned``:
        the tile's alignment facts hold, if it has any)."""
        sym = loop_symbol(loop)
        ahead = local_name(loop, "pf")   # the prefetched iteration, substituted below
        it_sym = loop_symbol(ahead)
        vec = self.vector[d.source]
        v = layout.lanes if aligned or not vec.facts else 1
        exts = [e for _, e in fp]
        exts[-1] //= v                   # copies, each of v elements
        size = math.prod(exts)
        t = Ref(local_name(d.source, "t"), I32)
        coords = unflatten(t, exts)
        if v > 1:
            coords[-1] = binary(BinaryOp.MUL, coords[-1], i32(v))
        origin = [substitute(from_sympy(sp.sympify(lo).subs(sym, it_sym)),
                             {ahead: iteration}, (Ref,)) for lo, _ in fp]
        glob = [binary(BinaryOp.ADD, o, c) for o, c in zip(origin, coords)]
        slot = None if n == 1 else binary(BinaryOp.MOD, iteration, i32(n))
        dst = replace(layout, slot=slot)
        copy = self._vector_copy(d, dst, coords, glob, vec.whole) if v > 1 else \
            self._element_copy(d, dst, coords, glob, sync=layout.lanes > 1)
        if d.memory is not MemoryType.SHARED:
            return For(t.name, i32(0), i32(size), ForKind.SERIAL, copy)
        nthreads, tid = self._threads()
        loop_stmt = strided(t.name, size, nthreads, tid, copy)
        return If(binary(BinaryOp.LT, tid, i32(nthreads)), loop_stmt) if self.producers else loop_stmt

    def _element_copy(self, d, dst, coords, glob, sync: bool = False):
        """One element: tile point ``coords`` ← source point ``glob`` (0 outside); ``sync``: a
        plain load and store (the narrow fallback of a tile copied 16 bytes at a time)."""
        src = self.stage.ctx.layouts[d.source]
        return AsyncCopy(dst.buffer, dst.physical(coords), src.buffer, src.flat(glob),
                         self._source_dtype(d.source), self._inside(d.source, glob),
                         d.memory is MemoryType.SHARED, sync=sync)

    def _vector_copy(self, d, dst, coords, glob, whole: bool):
        """``dst.lanes`` elements from tile point ``coords`` (aligned: :mod:`.vector_copy`) in
        one copy: zero-filled when outside the source if chunks are ``whole`` (entirely inside
        or outside), else copied when all lanes are inside and one lane at a time otherwise
        (synchronous, each 0 outside)."""
        v = dst.lanes
        src = self.stage.ctx.layouts[d.source]
        copy = AsyncCopy(dst.buffer, dst.physical(coords), src.buffer, src.flat(glob),
                         self._source_dtype(d.source), None, True, v)
        inside = self._inside(d.source, glob, v - 1)
        if inside is None:
            return copy
        if whole:
            return replace(copy, cond=inside)
        lane = Ref(local_name(d.source, "l"), I32)
        at = glob[:-1] + [binary(BinaryOp.ADD, glob[-1], lane)]
        one = replace(self._element_copy(d, dst, coords, at, sync=True),
                      dst_index=binary(BinaryOp.ADD, copy.dst_index, lane))
        return If(inside, copy, For(lane.name, i32(0), i32(v), ForKind.SERIAL, one))

    def _last_bounds(self, name: str) -> tuple:
        """``(lo, hi)`` (sympy, ``hi`` exclusive) of the valid region of source ``name`` along
        its last dimension (what :meth:`_inside` tests)."""
        pipe = self.stage.ctx.pipe
        if name in pipe.inputs:
            return sp.Integer(0), to_sympy(pipe.inputs[name].shape[-1])
        lo, hi = pipe.regions[name][-1]
        return sp.sympify(lo), sp.sympify(hi) + 1

    def _inside(self, name: str, glob, span: int = 0):
        """The condition that source points ``glob`` … ``glob + span`` (along the last
        dimension) are all inside ``name`` (None: no condition)."""
        pipe = self.stage.ctx.pipe
        conds, last = [], len(glob) - 1
        if name in pipe.inputs:
            bounds = [(i32(0), BinaryOp.LT, n) for n in pipe.inputs[name].shape]
        else:
            bounds = [(from_sympy(lo), BinaryOp.LE, from_sympy(hi))
                      for lo, hi in pipe.regions[name]]
        for dim, (c, (lo, op, hi)) in enumerate(zip(glob, bounds)):
            top = binary(BinaryOp.ADD, c, i32(span)) if dim == last and span else c
            conds += [binary(BinaryOp.GE, c, lo), binary(op, top, hi)]
        return conj(conds)

    def _threads(self):
        """(threads that copy, the copying thread's index among them)."""
        blk = self.stage.launch_compute()
        if self.producers:
            return self.producers, GpuIndex(GpuAxis.THREAD_X)
        return math.prod(blk), thread_id(blk)

