"""``kernel.analysis()``: static facts about each generated kernel, from its loop IR.

- **Shared memory** per block (bytes), and for each shared-memory access the bank-conflict
  degree for a warp that executes it (below), computed from the index expressions with 32 banks
  × 4 bytes (the NVIDIA/AMD layout): an access is conflict-free when no two lanes touch different
  words of one bank (lanes reading the same word are a broadcast). The fragments of tensor-core
  tiles count as the GPU loads them: an ``ldmatrix`` as 16 bytes per addressing lane, 8 lanes
  (one 8×8 matrix) per cycle; element-wise fragments as their loads.
- **Coalescing** of global accesses in staged copies and fills: 128-byte segments touched by
  that warp against the minimum for its bytes.
- **Registers and spills** as the compiler reports them (NVRTC/hiprtc; empty for OpenCL).
- **Occupancy** estimate: resident blocks per SM/CU as limited by threads, shared memory and
  registers (per-SM/CU resources of the arch, from :mod:`vortex.archs`).
- **Instruction mix** (``.isa``, CUDA/HIP): the disassembled machine code's instruction classes
  per kernel and per hot innermost loop, and their ratios; see :mod:`vortex.isa`.
- **Producer bandwidth** of ``warp_specialize`` (``stages``): copy instructions per producer
  warp against instructions per consumer warp, per pipeline stage, and whether the producers
  are the bottleneck; see :mod:`vortex.analysis_producers`.
- **Global-memory traffic** (``traffic``): the compulsory bytes each launch reads and writes,
  from the footprints (bounds inference) of the global buffers it touches, and their total
  over the launches; symbolic in the Dims, numbers at ``shape``; see
  :mod:`vortex.analysis_traffic`.

A warp is evaluated symbolically-concretely: lane ``l`` of warp ``w`` is flat thread ``32 w + l``
of block 0, every loop at its first iteration, sizes at ``SIZE`` (1024), Params at 1. The body
is evaluated for the first warp and, under ``warp_specialize(producers=p)`` (the named
barriers' ``producers``: ``32 p`` threads), for the first consumer warp ``p`` as well. An ``if``
whose condition reads the thread ids masks the lanes that fail it (``thread_x >= 32 p`` leaves
no lane of warp 0), as does a loop whose extent reads them (a partitioned loop's consumer
bounds); each access is reported for the first of those warps with a lane that reaches it,
counting only those lanes (``Access.warp``). An access no evaluated lane reaches (an edge
version at ``SIZE``) is reported for all 32 lanes of the warp of its role: warp 0 for a copy,
the first consumer warp for the rest. Source of the bank model: CUDA C Programming Guide,
"Shared Memory" (compute capability 5.x and later); of the warp roles: Bauer, Cook, Khailany,
"CudaDMA" (SC'11), docs/warp_specialization.md.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

from .algorithm.expr import BinaryOp, BinOp, Call, Cast, Const, Dim, Param, Select, UnaryOp, UnOp
from .codegen.names import spelling
from .lower.ir import (Allocate, AsyncCopy, Barrier, Block, BufferLoad, Declare, For,
                       FragmentLoad, GpuAxis, GpuIndex, If, MemorySpace, MmaTile, Ref, Store,
                       Assign)
from .lower.walk import stmts

LANES, BANKS, SIZE = 32, 32, 1024



@dataclass
class Access:
    buffer: str        # as the source spells it (vortex.codegen.names.spelling)
    kind: str          # "read" / "write" / "ldmatrix" (a warp's matrix load, 16 B per lane)
    memory: str        # "shared" / "global"
    ways: int          # shared: max distinct words per bank (1 = conflict-free)
    segments: int = 0  # global: 128-byte segments touched by the warp
    minimum: int = 0   # global: the fewest segments those bytes could take
    warp: int = 0      # the warp evaluated: threads 32 warp … 32 warp + 31 of the block

    @property
    def conflicts(self) -> int:
        """Extra shared-memory transactions (ways - 1); 0 means conflict-free."""
        return self.ways - 1


@dataclass
class KernelReport:
    name: str
    block: tuple
    shared_bytes: int
    accesses: list = field(default_factory=list)
    resources: dict = field(default_factory=dict)
    occupancy: float | None = None
    stages: list = field(default_factory=list)   # analysis_producers.StageFigures
    traffic: object = None   # analysis_traffic.LaunchTraffic: compulsory global bytes

    @property
    def bank_conflicts(self) -> int:
        """Sum over shared-memory accesses of extra transactions for the first warp."""
        return sum(a.conflicts for a in self.accesses if a.memory == "shared")


class Analysis(list):
    """A list of :class:`KernelReport`, one per launch; ``str()`` gives a table. ``isa`` is the
    instruction report of the compiled code (:class:`vortex.isa.ISAReport`, disassembled on
    first access; its ``missing`` says when the tool or the machine code is missing).
    ``traffic`` is the compulsory global-memory traffic of all launches
    (:class:`vortex.analysis_traffic.Traffic`: bytes per launch, read and written, and totals),
    ints at the ``shape`` given to :func:`analyze`, else sympy expressions in the Dims."""

    code: tuple | None = None   # (target, arch, binary) the instruction report reads
    traffic = None              # analysis_traffic.Traffic (None for hand-built IR)

    @functools.cached_property
    def isa(self):
        from .isa import ISAReport, report
        if self.code is None:
            return ISAReport(missing="no machine code: analyze() was given no compiled binary")
        return report(*self.code)

    def __str__(self) -> str:
        lines = []
        for r in self:
            regs = r.resources.get("registers", r.resources.get("vgprs", "-"))
            spills = r.resources.get("spill_stores", r.resources.get("scratch_bytes", "-"))
            occ = "-" if r.occupancy is None else f"{r.occupancy:.0%}"
            lines.append(f"kernel {r.name}: block {r.block}, shared {r.shared_bytes} B, "
                         f"registers {regs}, spills {spills}, occupancy {occ}")
            for a in r.accesses:
                what = (f"{a.ways}-way bank conflict" if a.ways > 1 else "conflict-free") \
                    if a.memory == "shared" else f"{a.segments} segments (min {a.minimum})"
                where = f" (warp {a.warp})" if a.warp else ""
                lines.append(f"  {a.memory:6} {a.kind:5} {a.buffer:16} {what}{where}")
            for stage in r.stages:
                lines.extend(stage.lines())
            if r.traffic is not None:
                lines.append(r.traffic.line())
        if self.traffic is not None:
            lines.extend(self.traffic.lines())
        return "\n".join(lines)


def analyze(lowered, resources: dict | None = None, arch=None, code: tuple | None = None,
            shape: dict | None = None) -> Analysis:
    """Reports for every kernel of ``lowered`` (see module docstring); ``code`` is
    ``(target, arch name, binary)`` for the instruction report (``.isa``); ``shape`` (Dim name
    → size, every Dim) evaluates the traffic figures (vx.InputError for a missing or unknown
    Dim)."""
    from .analysis_producers import stage_figures   # it builds on _Warp below
    from .analysis_traffic import traffic
    out = Analysis()
    if code is not None:
        out.code = code
    out.traffic = traffic(lowered)
    if out.traffic is not None and shape is not None:
        out.traffic = out.traffic.at(shape)
    launches = out.traffic.launches if out.traffic is not None else [None] * len(lowered.kernels)
    for k, launch in zip(lowered.kernels, launches):
        report = KernelReport(k.name, k.block, k.shared_bytes, traffic=launch,
                              resources=dict((resources or {}).get(k.name, {})))
        _Warp(k, report).run()
        report.occupancy = occupancy(k, report.resources, arch)
        report.stages = stage_figures(k)
        out.append(report)
    return out


def occupancy(k, res: dict, arch) -> float | None:
    """Resident threads per SM/CU over the maximum, for ``arch`` (a vortex.archs.Arch; None:
    unknown, e.g. OpenCL)."""
    if arch is None:
        return None
    max_threads, smem, regs = (arch.resources.threads, arch.resources.shared,
                               arch.resources.registers)
    threads = math.prod(k.block)
    blocks = max_threads // threads
    if k.shared_bytes:
        blocks = min(blocks, smem // k.shared_bytes)
    per_thread = res.get("registers") or res.get("vgprs")
    if per_thread:
        blocks = min(blocks, regs // (per_thread * threads))
    return min(1.0, blocks * threads / max_threads)


def producer_threads(body) -> int:
    """The producer threads ``32 p`` of ``warp_specialize(producers=p)`` (the named barriers'
    ``producers``), else 0."""
    return next((s.producers for s in stmts(body)
                 if isinstance(s, Barrier) and s.named and s.producers), 0)


def _ways(words) -> int:
    """The most distinct 4-byte words any one bank holds among ``words`` (1 when empty)."""
    words = np.asarray(words).ravel()
    return max([1] + [len(set(words[words % BANKS == b].tolist())) for b in range(BANKS)])


class _Warp:
    """Evaluates a kernel body for the 32 lanes of the first warp and, in a warp-specialized
    kernel, of the first consumer warp (values of shape (warps, 32)), recording accesses."""

    def __init__(self, k, report: KernelReport):
        self.k, self.report = k, report
        self.env: dict = {}
        self.shared = {}
        self.params = {p.name: p for p in k.params}
        bx, by, _ = k.block
        self.warps = np.array(sorted({0, producer_threads(k.body) // LANES}))
        tid = self.warps[:, None] * LANES + np.arange(LANES)
        self.index = {GpuAxis.THREAD_X: tid % bx, GpuAxis.THREAD_Y: (tid // bx) % by,
                      GpuAxis.THREAD_Z: tid // (bx * by)}
        self.mask = np.ones(tid.shape, dtype=bool)   # the lanes that reach this statement
        self.role = -1   # the warp of an access no lane reaches: 0 for copies, else the last
        self.seen = set()

    def run(self):
        self.stmt(self.k.body)

    # --- statements --------------------------------------------------------------------------
    def stmt(self, s):
        if isinstance(s, Block):
            for x in s.stmts:
                self.stmt(x)
        elif isinstance(s, Allocate):
            self.shared[s.name] = (s.memory is MemorySpace.SHARED, s.dtype.itemsize)
        elif isinstance(s, (Declare, Assign)):
            if s.value is not None:
                value = self.expr(s.value)  # evaluated for the loads it records
                if not s.value.dtype.is_float:
                    self.env[s.name] = value
        elif isinstance(s, For):
            self.env[s.var] = self.expr(s.min)
            self.under(np.asarray(self.expr(s.extent)) > 0, s.body)
        elif isinstance(s, If):
            self.under(self.expr(s.cond), s.then, s.otherwise)
        elif isinstance(s, Store):
            self.record(s.buffer, s.index, "write", s.value.dtype.itemsize)
            self.expr(s.value)
        elif isinstance(s, MmaTile):     # the operands as the GPU loads them
            for op in ("a", "b"):
                load = getattr(s, f"{op}_load")
                self.stmt(getattr(s, op) if load is None else load)
        elif isinstance(s, FragmentLoad):   # 16 bytes from each of 8 lanes per matrix
            outer = self.mask
            self.mask = outer & (np.arange(LANES) < 8 * s.count)
            self.record(s.buffer, s.index, "ldmatrix", 2, 8)
            self.mask = outer
        elif isinstance(s, AsyncCopy):   # the producers' work
            self.role = 0
            self.record(s.src, s.src_index, "read", s.dtype.itemsize, s.lanes)
            self.record(s.dst, s.dst_index, "write", s.dtype.itemsize, s.lanes)
            self.role = -1

    def under(self, cond, then, otherwise=None):
        """Walk ``then`` with the lanes where ``cond`` holds and ``otherwise`` with the others.
        A condition that does not read the thread ids (a scalar: the sizes and counters in it
        are stand-ins) masks no lane: both branches are walked with the same lanes."""
        outer, lanewise = self.mask, np.ndim(cond) > 0
        on = np.broadcast_to(np.asarray(cond, dtype=bool), outer.shape)
        for body, lanes in ((then, on), (otherwise, ~on)):
            if body is not None:
                self.mask = outer & lanes if lanewise else outer
                self.stmt(body)
        self.mask = outer

    def record(self, buffer: str, index_expr, kind: str, itemsize: int, vector: int = 1):
        """One access site of ``vector`` consecutive elements per thread, for the first
        evaluated warp with a lane that reaches it (only those lanes count): the same index
        expression in several versions of a loop (the steady state and the edges of a
        partitioned loop) counts once, as does the same set of addresses. A 16-byte (8-byte)
        shared access is served a quarter (half) warp at a time: its ways are those of the
        worst such phase (CUDA C Programming Guide, shared memory: 128 bytes per cycle)."""
        index = np.broadcast_to(np.asarray(self.expr(index_expr), dtype=np.int64),
                                self.mask.shape)
        reached = self.mask.any(axis=-1)     # per warp: does a lane get here?
        w = int(np.argmax(reached)) if reached.any() else self.role % len(self.warps)
        lanes = self.mask[w] if reached[w] else np.ones(LANES, dtype=bool)
        warp = int(self.warps[w])
        keys = ((buffer, kind, index_expr.key),   # all lanes: an edge version masks some
                (buffer, kind, warp, tuple(index[w].tolist())))
        if any(key in self.seen for key in keys):
            return
        self.seen.update(keys)
        width = itemsize * vector                      # bytes per thread
        step = min(width, 4)
        addr = (index[w] * itemsize)[:, None] + np.arange(0, width, step)   # [lane, word]
        shared, _ = self.shared.get(buffer, (False, itemsize))
        if shared:
            phase = LANES * 4 // max(width, 4)             # lanes served per cycle
            ways = max(_ways(addr[p:p + phase][lanes[p:p + phase]] // 4)
                       for p in range(0, LANES, phase))
            self.report.accesses.append(Access(spelling(buffer), kind, "shared", ways,
                                               warp=warp))
        elif buffer in self.params:
            addr = addr[lanes].ravel()
            segments = len(set((addr // 128).tolist()))
            minimum = -(-len(set(addr.tolist())) * step // 128)
            self.report.accesses.append(Access(spelling(buffer), kind, "global", 1, segments,
                                               minimum, warp))

    # --- expressions -------------------------------------------------------------------------
    def expr(self, e):
        if isinstance(e, Const):
            return np.int64(int(e.value)) if not e.dtype.is_float else np.float64(e.value)
        if isinstance(e, Ref):
            return self.env.get(e.name, np.int64(0))
        if isinstance(e, Dim):
            return np.int64(SIZE)
        if isinstance(e, Param):
            return np.int64(1)
        if isinstance(e, GpuIndex):
            return self.index.get(e.axis, np.int64(0))
        if isinstance(e, BufferLoad):
            self.record(e.buffer, e.index, "read", e.dtype.itemsize)
            return np.int64(0)
        if isinstance(e, BinOp):
            return _binop(e.op, self.expr(e.a), self.expr(e.b))
        if isinstance(e, UnOp):
            a = self.expr(e.a)
            return -a if e.op is UnaryOp.NEG else np.abs(a) if e.op is UnaryOp.ABS else ~np.int64(a)
        if isinstance(e, Select):
            return np.where(self.expr(e.cond), self.expr(e.true_value), self.expr(e.false_value))
        if isinstance(e, Cast):
            v = self.expr(e.value)
            return v if e.dtype.is_float else np.asarray(v).astype(np.int64)
        if isinstance(e, Call):
            for a in e.args:
                self.expr(a)
            return np.float64(0)
        return np.int64(0)


def _binop(op: BinaryOp, a, b):
    with np.errstate(all="ignore"):
        if op in (BinaryOp.FLOORDIV, BinaryOp.MOD):
            b = np.where(b == 0, 1, b)
        if op in (BinaryOp.SHL, BinaryOp.SHR):
            b = np.bitwise_and(np.asarray(b, dtype=np.int64), 63)
        if op is BinaryOp.DIV:
            return np.true_divide(a, np.where(b == 0, 1, b))
        return op.ufunc(a, b)
