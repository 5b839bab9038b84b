"""Producer bandwidth of ``warp_specialize``: can the producer warps issue a stage's copies while
the consumer warps issue its math? Read from the lowered IR, no GPU needed.

For each pipelined loop of a warp-specialized kernel (the loop whose body holds the named
producer/consumer barriers, e.g. ``ko`` of a matmul) and for one iteration of it (a *stage*):

- **producer instructions per warp**: the :class:`AsyncCopy` statements a producer thread runs,
  each counted once per iteration of the loops around it inside the stage (a warp issues one
  instruction for its 32 threads). With ``p`` producer warps and copies of ``w`` bytes that is
  ``bytes per stage / (32 p w)``; copies narrower than 16 bytes cost ``16 / w`` times more.
- **consumer instructions per warp**: float operations (a multiply feeding an add or subtract
  counts once, as the fused multiply-add the compilers emit) plus memory-load instructions, per
  thread of the first consumer warp. The loads of one iteration of the innermost loop are
  evaluated at their first iteration for the warp's 32 lanes (as :mod:`vortex.analysis` does):
  a load the iteration repeats counts once, and loads at consecutive addresses are merged into
  one 16-, 8- or 4-byte load when every lane's address is aligned to that width (what the
  device compilers do when they can prove the alignment; the ``.isa`` report counts what they
  did). Loads of register arrays are not instructions and are not counted.

Producers are the bottleneck when producer instructions per warp exceed consumer instructions
per warp: every warp issues at most one instruction per cycle, so a producer warp with more
instructions per stage than a consumer warp finishes its copies later and the consumers wait at
the "tile ready" barrier (docs/warp_specialization.md derives it). The verdict counts copy
instructions only, so it is a lower bound on the producers' work: ``index_ops`` adds the integer
operations of the copies' addresses in the IR (an upper bound: the compiler folds some), and
the report cautions when those would tip the balance. Loop overhead and the per-stage
commit/wait/barriers are not counted; the rule compares issue slots, not memory bandwidth.
Statements under an ``if`` are counted on the branch an interior tile takes (``then``: the
prefetch, the whole-vector copy, the unguarded steady state).

Sources: Bauer, Cook, Khailany, "CudaDMA: Optimizing GPU Memory Bandwidth via Warp
Specialization" (SC'11); Bauer, Treichler, Aiken, "Singe: Leveraging Warp Specialization for
High Performance on GPUs" (PPoPP'14); NVIDIA CUTLASS warp-specialized ("ping-pong") kernels;
CUDA C Programming Guide, compute capabilities (warp schedulers issue one instruction per clock).
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from .algorithm.expr import BinaryOp, BinOp, Call, Select, UnOp
from .algorithm.walk import children
from .analysis import LANES, KernelReport, _Warp, producer_threads
from .lower.ir import (Allocate, Assign, AsyncCopy, AsyncWait, Barrier, Block, Declare, For,
                       GpuAxis, If, Store)
from .lower.walk import stmts

WIDEST = 16   # bytes: the widest copy (cp.async.cg) and shared load (LDS.128) per thread


@dataclass(frozen=True)
class StageFigures:
    """Per stage (one iteration of ``loop``) of a warp-specialized kernel. ``copies``: bytes per
    copy → copy instructions per producer warp, counted in the IR; ``tiles``: (tile buffer,
    bytes per stage, bytes per copy) of each staged tile; ``math``: float instructions and
    ``loads``: bytes per load → load instructions, per consumer warp; ``index_ops``: integer
    operations of the copies' addresses per producer warp, in the IR; ``version`` of
    ``versions``: which copy of the loop (``specialize`` and loop partitioning make several)."""

    loop: str
    producer_warps: int
    consumer_warps: int
    copies: dict
    tiles: tuple
    math: int
    loads: dict
    index_ops: int = 0
    version: int = 1
    versions: int = 1

    @property
    def stage_bytes(self) -> int:
        return sum(b for _, b, _ in self.tiles)

    @property
    def producer_instructions(self) -> int:
        return sum(self.copies.values())

    @property
    def consumer_instructions(self) -> int:
        return self.math + sum(self.loads.values())

    @property
    def bottleneck(self) -> bool:
        """True when the producers issue more instructions per warp than the consumers."""
        return self.producer_instructions > self.consumer_instructions

    def copies_per_warp(self, warps: int | None = None, width: int | None = None) -> int:
        """Copy instructions per producer warp per stage with ``warps`` producer warps and
        copies of ``width`` bytes (default: as scheduled): each tile's bytes / width copies,
        shared by 32 × warps threads (a warp with any thread copying issues the instruction)."""
        warps = warps or self.producer_warps
        return sum(math.ceil(b / (width or w) / (LANES * warps)) for _, b, w in self.tiles)

    @property
    def producers_needed(self) -> int | None:
        """The fewest producer warps (≤ 32) whose copies per warp do not exceed the consumers'
        instructions per warp at the scheduled widths; None if no count does."""
        return next((p for p in range(1, 33)
                     if self.copies_per_warp(p) <= self.consumer_instructions), None)

    def advice(self) -> list[str]:
        """What to change when the producers are the bottleneck (empty otherwise)."""
        if not self.bottleneck:
            return []
        need = self.producers_needed
        out = [f"more producer warps: warp_specialize(producers={need})" if need else
               "more producer warps cannot fix it at these copy widths (32 would not suffice)"]
        narrow = sum(n for w, n in self.copies.items() if w < WIDEST)
        if narrow:
            out.append(f"wider copies: {narrow} of {self.producer_instructions} are under "
                       f"{WIDEST} B; {WIDEST} B copies would take "
                       f"{self.copies_per_warp(width=WIDEST)} per warp (staged rows a multiple "
                       f"of {WIDEST} B and aligned: specialize on divisible sizes)")
        out.append("more math per staged byte: a larger tile per thread or block (the k tile "
                   "scales both sides alike)")
        return out

    @property
    def arithmetic_may_bind(self) -> bool:
        """True when the copies alone keep up but copies plus their index arithmetic in the IR
        (an upper bound: the compiler folds some) exceed the consumers' instructions."""
        total = self.producer_instructions + self.index_ops
        return not self.bottleneck and total > self.consumer_instructions

    def lines(self) -> list[str]:
        where = f" (version {self.version} of {self.versions})" if self.versions > 1 else ""
        copies = ", ".join(f"{n} x {w} B" for w, n in sorted(self.copies.items()))
        loads = ", ".join(f"{n} x {w} B" for w, n in sorted(self.loads.items())) or "none"
        verdict = "producers are the bottleneck" if self.bottleneck else "producers keep up"
        head = (f"  warp specialization, per stage of loop {self.loop}{where}: "
                f"{self.producer_warps} producer / {self.consumer_warps} consumer warps")
        producers = (f"    producers: {self.producer_instructions} copy instructions per warp "
                     f"({self.stage_bytes} B: {copies}; {self.index_ops} integer ops of their "
                     "addresses in the IR)")
        consumers = (f"    consumers: {self.consumer_instructions} instructions per warp "
                     f"({self.math} float ops, a multiply-add once; loads {loads})")
        verdict = (f"    {verdict} ({self.producer_instructions} vs "
                   f"{self.consumer_instructions} instructions per warp per stage)")
        out = [head, producers, consumers, verdict]
        if self.arithmetic_may_bind:
            out.append("    the copies keep up, their address arithmetic may not (copies + IR "
                       f"integer ops: {self.producer_instructions + self.index_ops}): read "
                       "kernel.analysis().isa")
        out += [f"    change: {a}" for a in self.advice()]
        return out


def stage_figures(kernel) -> list[StageFigures]:
    """The figures of every warp-specialized pipelined loop of ``kernel`` (a lowered
    :class:`vortex.lower.ir.Kernel`); empty without ``warp_specialize``."""
    if not producer_threads(kernel.body):
        return []
    walk = _Stages(kernel)
    walk.run()
    found = walk.found
    return [StageFigures(**f, version=i + 1, versions=len(found)) for i, f in enumerate(found)]


def _specialized(loop: For) -> Barrier | None:
    """The producer/consumer barrier directly in ``loop``'s body, if any."""
    body = loop.body.stmts if isinstance(loop.body, Block) else (loop.body,)
    return next((s for s in body if isinstance(s, Barrier) and s.named and s.producers), None)


class _Stages(_Warp):
    """Walks the kernel for the lanes of the first consumer warp; at each warp-specialized loop
    counts one stage (see module docstring) instead of walking on."""

    def __init__(self, k):
        super().__init__(k, KernelReport(k.name, k.block, k.shared_bytes))
        self.found: list[dict] = []
        self.bytes: dict = {}             # allocation -> bytes (all pipeline slots)
        self.region: dict | None = None   # (buffer, itemsize) -> set of address tuples
        bx, by, _ = k.block
        tid = np.arange(LANES) + producer_threads(k.body)   # the first consumer warp
        self.index = {GpuAxis.THREAD_X: tid % bx, GpuAxis.THREAD_Y: (tid // bx) % by,
                      GpuAxis.THREAD_Z: tid // (bx * by)}

    def stmt(self, s):
        if isinstance(s, Allocate):
            self.bytes[s.name] = s.size * s.dtype.itemsize
        barrier = _specialized(s) if isinstance(s, For) else None
        if barrier is None:
            return super().stmt(s)
        self.env[s.var] = self.expr(s.min)
        self.copies, self.math, self.loads, self.widths = Counter(), 0, Counter(), {}
        self.index_ops, self.copying = 0, False
        self.count(s.body, 1)
        total = barrier.total
        self.found.append({
            "loop": s.var, "producer_warps": barrier.producers // LANES,
            "consumer_warps": (total - barrier.producers) // LANES, "copies": dict(self.copies),
            "tiles": self._tiles(s), "math": self.math, "loads": dict(self.loads),
            "index_ops": self.index_ops})

    def _tiles(self, loop: For) -> tuple:
        """(buffer, bytes per stage, bytes per copy) of each tile the loop copies: its
        allocation over the pipeline depth (the loop's wait leaves depth - 1 copies in flight);
        copies of the branch an interior tile takes."""
        body = loop.body.stmts if isinstance(loop.body, Block) else (loop.body,)
        depth = next((w.pending + 1 for w in body if isinstance(w, AsyncWait)), 1)
        return tuple((t, self.bytes.get(t, 0) // depth, w) for t, w in sorted(self.widths.items()))

    def record(self, buffer, index_expr, kind, itemsize, vector=1):
        index = self.expr(index_expr)      # also records the loads inside the index
        if self.region is None or kind != "read":
            return
        in_memory = self.shared[buffer][0] if buffer in self.shared else buffer in self.params
        if not in_memory:
            return                        # a register array: no load instruction
        addr = np.broadcast_to(np.asarray(index, dtype=np.int64), LANES)
        self.region.setdefault((buffer, itemsize), set()).add(tuple(addr.tolist()))

    # --- one stage ---------------------------------------------------------------------------
    def count(self, s, times: int):
        """Count statement ``s``, run ``times`` times per stage per thread."""
        outer, self.region = self.region, {}
        self._count(s, times)
        for (_, itemsize), addrs in self.region.items():
            for width, n in _load_instructions(addrs, itemsize).items():
                self.loads[width] += n * times
        self.region = outer

    def _count(self, s, times):
        if isinstance(s, Block):
            for x in s.stmts:
                self._count(x, times)
        elif isinstance(s, For):
            self.env[s.var] = self.expr(s.min)
            trip = int(np.max(self.expr(s.extent)))
            outer = self.copying
            self.copying = outer or any(isinstance(x, AsyncCopy) for x in stmts(s.body))
            self.count(s.body, times * trip)
            self.copying = outer
        elif isinstance(s, If):
            self.expr(s.cond)
            self.index_ops += times * _int_ops(s.cond) * self.copying
            self._count(s.then, times)
        elif isinstance(s, AsyncCopy):
            width = s.lanes * s.dtype.itemsize
            self.copies[width] += times
            self.widths[s.dst] = max(width, self.widths.get(s.dst, 0))
            self.index_ops += times * sum(_int_ops(e) for e in (s.dst_index, s.src_index, s.cond)
                                          if e is not None)
        elif isinstance(s, (Declare, Assign, Store)) and s.value is not None:
            value = self.expr(s.value)            # records its loads
            self.math += times * _float_ops(s.value)
            self.index_ops += times * _int_ops(s.value) * self.copying
            if isinstance(s, Store):
                self.expr(s.index)
            elif not s.value.dtype.is_float:
                self.env[s.name] = value


def _float_ops(e, fused: bool = False) -> int:
    """Float instructions of ``e``: each float BinOp/UnOp/Select/Call once, a multiply that is
    an operand of a float add or subtract not at all (fused into it)."""
    n = 0
    if isinstance(e, (BinOp, UnOp, Select, Call)) and e.dtype.is_float:
        mul = isinstance(e, BinOp) and e.op is BinaryOp.MUL
        n += 0 if (mul and fused) else 1
    adds = isinstance(e, BinOp) and e.dtype.is_float and e.op in (BinaryOp.ADD, BinaryOp.SUB)
    return n + sum(_float_ops(c, adds) for c in children(e))


def _int_ops(e) -> int:
    """Integer and comparison operations of ``e`` (BinOp/Select not of a float type; casts
    between integer types are free)."""
    own = isinstance(e, (BinOp, Select)) and not e.dtype.is_float
    return own + sum(_int_ops(c) for c in children(e))


def _load_instructions(addrs: set, itemsize: int) -> Counter:
    """bytes per load → load instructions for one thread, for the distinct lane-address tuples
    ``addrs`` (elements of ``itemsize`` bytes) of one buffer: addresses that differ by the same
    constant in every lane form a row; consecutive elements of a row become one load of 16, 8
    or 4 bytes when every lane's first address is aligned to it."""
    rows: dict = {}
    for a in addrs:
        lane = np.asarray(a, dtype=np.int64)
        rows.setdefault(tuple((lane - lane[0]).tolist()), set()).add(int(lane[0]))
    out = Counter()
    for shape, starts in rows.items():
        shape = np.asarray(shape, dtype=np.int64)
        left = set(starts)
        for o in sorted(starts):
            if o not in left:
                continue
            width = _widest(o, left, shape, itemsize)
            left -= set(range(o, o + width))
            out[width * itemsize] += 1
    return out


def _widest(o: int, present: set, shape, itemsize: int) -> int:
    """The most elements (16, 8 or 4 bytes' worth, else 1) from ``o`` that are all present and
    aligned in every lane."""
    for nbytes in (16, 8, 4):
        n = nbytes // itemsize
        if n > 1 and all(o + j in present for j in range(n)) and \
                not np.any(((o + shape) * itemsize) % nbytes):
            return n
    return 1
