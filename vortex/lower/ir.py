"""The loop IR: statements (frozen dataclasses) over algorithm expressions plus a few
lowering-only expression nodes (buffer loads, GPU indices, named locals).

A lowered pipeline is a list of :class:`Kernel` s, each a statement tree run by every GPU
thread of its launch grid. Passes are pure functions returning new trees; the builders at the end
(``block``, ``i32``, ``conj``, ``guarded``, ``serial_nest``) are shared by the lowering passes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from ..algorithm import dtypes as T
from ..algorithm.construct import binary
from ..algorithm.expr import BinaryOp, Const, Expr, node
from ..loop_kinds import ForKind, GpuAxis  # noqa: F401  (part of the IR's vocabulary)


class MemorySpace(Enum):
    GLOBAL = "global"
    SHARED = "shared"
    LOCAL = "local"  # per-thread (registers / private memory)


# --- names -------------------------------------------------------------------------------------
SEP = "."


def local_name(base: str, *tags) -> str:
    """The name of something the lowering makes for ``base`` (a user name, or a name made by
    this function): ``"base.tag…"``, e.g. ``local_name("y", "c") == "y.c"``. User names are
    identifiers, which never hold a '.', so a made name can never equal a user name; the
    printer spells both as distinct C identifiers (:mod:`vortex.codegen.names`)."""
    return SEP.join((base, *map(str, tags)))


# --- expressions -------------------------------------------------------------------------------
@node
class GpuIndex(Expr):
    """blockIdx/threadIdx (CUDA) = get_group_id/get_local_id (OpenCL) along ``axis``."""

    axis: GpuAxis

    @property
    def dtype(self) -> T.DType:
        return T.int32


@node
class Ref(Expr):
    """A named local scalar (loop variable, accumulator, let-bound value)."""

    name: str
    dtype: T.DType


@node
class ShuffleXor(Expr):
    """``value`` of the lane whose index within its segment of ``width`` lanes is this lane's
    XOR ``mask`` (a butterfly step: ``__shfl_xor_sync`` on CUDA, ``__shfl_xor`` on HIP). Made
    only by the printer's expansion of :class:`ThreadReduce`, for dialects with shuffles."""

    value: Expr
    mask: int
    width: int

    @property
    def dtype(self) -> T.DType:
        return self.value.dtype


@node
class BufferLoad(Expr):
    """``buffer[index]`` with a flat element index."""

    buffer: str
    index: Expr
    dtype: T.DType


# --- statements --------------------------------------------------------------------------------
class Stmt:
    """Base of statements."""


stmt = dataclass(frozen=True)


@stmt
class For(Stmt):
    """``for var in [min, min + extent)``; a loop of a GPU kind runs its iterations on the
    hardware ``axis`` (one block or thread each) instead of in sequence."""

    var: str
    min: Expr
    extent: Expr
    kind: ForKind
    body: Stmt
    axis: "GpuAxis | None" = None


@stmt
class Block(Stmt):
    stmts: tuple


@stmt
class If(Stmt):
    cond: Expr
    then: Stmt
    otherwise: Stmt | None = None


@stmt
class Store(Stmt):
    buffer: str
    index: Expr
    value: Expr


@stmt
class AtomicStore(Store):
    """``buffer[index] = buffer[index] op value`` as one atomic read-modify-write (an update
    stage under ``atomic()``, :mod:`vortex.schedule.races`): the target's atomic operation, or a
    compare-and-swap loop where it has none (:mod:`vortex.codegen.atomics`)."""

    op: BinaryOp = BinaryOp.ADD


@stmt
class Assign(Stmt):
    """``name = value`` for a local declared by :class:`Declare`."""

    name: str
    value: Expr


@stmt
class Declare(Stmt):
    """A local scalar, optionally initialised: ``T name = value;``."""

    name: str
    dtype: T.DType
    value: Expr | None = None


@stmt
class Allocate(Stmt):
    """A fixed-size array in ``memory`` (shared per block, or local per thread)."""

    name: str
    dtype: T.DType
    size: int
    memory: MemorySpace


@stmt
class Barrier(Stmt):
    """Block-wide barrier for shared memory (``__syncthreads`` / ``barrier(CLK_LOCAL_MEM_FENCE)``).

    Under warp specialization ``named`` > 0 gives a producer/consumer barrier: the first
    ``producers`` threads arrive and the others wait (or the reverse with ``producers_wait``),
    ``total`` threads in all — ``bar.arrive``/``bar.sync`` on CUDA; dialects without named
    barriers print the plain block barrier, which orders the same memory operations."""

    named: int = 0
    producers: int = 0
    total: int = 0
    producers_wait: bool = False


@stmt
class ThreadReduce(Barrier):
    """A block-wide collective: the locals ``value`` (and ``at``, the position of an
    argmax/argmin) of the ``lanes`` threads along ``axis`` that share their other thread
    indices (a *group*) are combined with ``op``; afterwards every thread of the group holds the
    result in the same locals. ``block``: the launch block (x, y, z); ``scratch`` (and
    ``at_scratch``): shared arrays of one element per thread of the block, allocated by the
    lowering. Every thread of the block runs it, so it is a :class:`Barrier` to every pass (never
    under a thread-dependent condition, never versioned); the printer expands it per dialect:
    warp shuffles then shared memory, or a shared-memory tree (vortex/lower/thread_reduce.py)."""

    op: object = None                # algorithm.operators.ReduceOp
    value: Expr | None = None        # Ref of the accumulator
    at: Expr | None = None           # Ref of the position (argmax/argmin), else None
    axis: "GpuAxis | None" = None
    block: tuple = (1, 1, 1)
    scratch: str = ""
    at_scratch: str = ""


@stmt
class AsyncCopy(Stmt):
    """``dst[dst_index + l] = cond ? src[src_index + l] : 0`` for each lane ``l < lanes``,
    possibly asynchronous (``cp.async`` on CUDA sm_80+ into shared memory); visible after
    :class:`AsyncWait` and a barrier. ``lanes`` > 1 (a 16-byte copy) promises that both
    addresses are aligned to ``lanes`` × the element size: the lowering proves it
    (:mod:`vortex.lower.vector_copy`); ``cond`` then covers all lanes together (a chunk is
    entirely inside or outside: zero-filled). ``sync``: a plain load and store even where the
    dialect has ``cp.async`` (the element fallback of a 16-byte tile: no narrow async copy)."""

    dst: str
    dst_index: Expr
    src: str
    src_index: Expr
    dtype: T.DType
    cond: Expr | None = None
    dst_shared: bool = True
    lanes: int = 1
    sync: bool = False


@stmt
class AsyncCommit(Stmt):
    """Close the group of asynchronous copies issued so far (``__pipeline_commit``)."""


@stmt
class AsyncWait(Stmt):
    """Wait until at most ``pending`` committed groups are still in flight."""

    pending: int


@stmt
class MmaTile(Stmt):
    """One warp-level matrix instruction (the ``mma`` directive; :mod:`vortex.lower.mma`): the
    lanes' accumulator fragment ``acc[offset + e]`` (``e`` < the instruction's C elements per
    lane) += A tile × B tile. ``a``, ``b``: Blocks declaring ``mma.a.<e>``, ``mma.b.<e>``, the
    fragment elements this lane holds (its layout's coordinates; 0 outside the domain) — what
    CUDA packs into the instruction's registers and HIP into its vectors; ``emulation``: the
    same accumulation as plain loops, each lane its own C elements over the tile's k in order
    (what OpenCL prints, reading the same addresses); ``a_load``, ``b_load``: Blocks ending in
    a :class:`FragmentLoad` where the operand's registers come from ``ldmatrix`` (None: the
    elements are packed)."""

    instruction: str
    acc: str
    offset: Expr
    a: Stmt
    b: Stmt
    emulation: Stmt
    a_load: Stmt | None = None
    b_load: Stmt | None = None


@stmt
class FragmentLoad(Stmt):
    """The A or B fragment registers of an :class:`MmaTile` loaded by the warp with one
    ``ldmatrix`` (:mod:`vortex.lower.fragment_loads`): each lane supplies the address
    ``buffer[index]`` (a shared tile) of the run of 8 elements its row of the load starts at;
    ``count`` 8×8 matrices, ``trans`` read column-major (:data:`vortex.mma.nvidia.LDMATRIX`).
    The MmaTile's ``a_load``/``b_load`` (what CUDA prints instead of ``a``/``b``); the
    elements of ``a``/``b`` are the same values (the lowering proves it)."""

    operand: str
    buffer: str
    index: Expr
    count: int
    trans: bool


@stmt
class Comment(Stmt):
    text: str


@dataclass(frozen=True)
class KernelParam:
    """A kernel argument: a global buffer (``is_buffer``) or a scalar, with its dtype."""

    name: str
    dtype: T.DType
    is_buffer: bool
    writable: bool = False


@dataclass(frozen=True)
class Kernel:
    """One GPU kernel: ``body`` runs in every thread; ``grid`` (sympy, blocks per axis x, y, z)
    and ``block`` (ints) give the launch; ``ranges``: (local, sympy extent) of the locals bound
    to GPU loops, each in [0, extent) whatever index arithmetic computes it."""

    name: str
    params: tuple
    body: Stmt
    grid: tuple
    block: tuple
    shared_bytes: int = 0
    notes: tuple = field(default=())
    ranges: tuple = ()


def block(*stmts) -> Stmt:
    """A Block of the non-None statements, flattened; a single statement stays itself."""
    flat = []
    for s in stmts:
        if s is None:
            continue
        flat.extend(s.stmts if isinstance(s, Block) else (s,))
    return flat[0] if len(flat) == 1 else Block(tuple(flat))


def i32(v: int) -> Expr:
    """The int32 constant ``v`` (a counter start, extent or stride)."""
    return Const.make(int(v), T.int32)


def conj(conds) -> Expr | None:
    """``c0 & c1 & …`` (left to right), or None for no conditions."""
    out = None
    for c in conds:
        out = c if out is None else binary(BinaryOp.AND, out, c)
    return out


def guarded(conds, s: Stmt) -> Stmt:
    """``s`` under ``If`` the conjunction of ``conds`` (``s`` itself when there are none)."""
    c = conj(conds)
    return s if c is None else If(c, s)


def serial_nest(loops, body: Stmt) -> Stmt:
    """``body`` inside serial loops from 0; ``loops`` = [(name, extent Expr)], outermost first."""
    for name, extent in reversed(loops):
        body = For(name, i32(0), extent, ForKind.SERIAL, body)
    return body
