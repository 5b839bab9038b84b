"""Where a kernel's shared memory lives: static arrays, or one dynamic array carved at offsets.

The lowering puts a kernel's shared arrays at the top of its body as
``Allocate(name, dtype, size, MemorySpace.SHARED)``. :func:`plan` decides how they are declared:

- **static** (every kernel at most the target's static cap, :data:`vortex.archs.STATIC_SHARED`,
  48 KB on CUDA, and every OpenCL kernel): each array is a ``__shared__`` / ``__local`` array
  of constant size, as before; the compiler sizes and reports it.
- **dynamic** (more than the cap on CUDA/HIP, :func:`vortex.archs.dynamic_shared`): one
  ``extern __shared__`` byte array aligned to :data:`ALIGN` bytes, each allocation a typed
  pointer into it at a constant byte offset, each offset rounded up to :data:`ALIGN` (so a
  128-bit access to the start of any tile is aligned). The launch passes the total
  (``cuLaunchKernel``'s ``sharedMemBytes``) after raising the function's limit
  (``CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES``; ``cudaFuncSetAttribute`` in an export).

A static array that 16-byte copies write (``AsyncCopy.lanes`` > 1) is declared aligned to
:data:`ALIGN` bytes (:data:`ALIGNED`; C only aligns it to its element type).

Each buffer also records which schedule directive made it (:class:`Origin`), so a kernel
that needs more shared memory than an arch has is refused naming the directive behind its
biggest allocation (:func:`vortex.runtime.limits.check_launches`).

Source: CUDA C Programming Guide, "Shared Memory" (dynamic shared memory, the opt-in above
48 KB) and the driver API's ``cuFuncSetAttribute``; Halide packs a kernel's shared allocations
into one buffer at offsets the same way (``FuseGPUThreadLoops.cpp``,
``ExtractSharedAndHeapAllocations``).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .. import archs, errors
from ..lower.ir import SEP, Allocate, AsyncCopy, MemorySpace
from ..lower.walk import stmts

ALIGN = 16                  # bytes: the dynamic array, every offset into it, vector-copied arrays
ALIGNED = f" __attribute__((aligned({ALIGN})))"   # after a static array's declarator (C, C++)
DYNAMIC_NAME = "vx_smem"    # in Vortex's reserved vx_ namespace (codegen/names.py)


class Origin(Enum):
    """The directive behind a shared buffer: (how the message names it, what to change)."""

    STAGE = ("stage({f}, ...)", "use a smaller tile for stage({f}, ...) (smaller split/tile "
             "factors around its loop) or fewer stages in pipeline(...)")
    COMPUTE_AT = ("compute_at(...).store_in(\"shared\") of Func {f!r}",
                  "compute {f!r} at an inner loop, use smaller tiles around its compute_at "
                  "loop, or store_in(\"register\")")


@dataclass(frozen=True)
class SharedBuffer:
    """One shared array: ``name`` (IR), ``nbytes``, ``offset`` (bytes into the dynamic array;
    0 when static), ``origin`` and ``func`` (the staged source or compute_at Func),
    ``aligned`` (16-byte copies write it: its start must be :data:`ALIGN`-aligned)."""

    name: str
    nbytes: int
    offset: int
    origin: Origin
    func: str
    aligned: bool = False

    @property
    def directive(self) -> str:
        return self.origin.value[0].format(f=self.func)

    @property
    def change(self) -> str:
        return self.origin.value[1].format(f=self.func)


@dataclass(frozen=True)
class SharedPlan:
    """A kernel's shared memory: ``buffers`` in declaration order, ``nbytes`` per block (with
    the alignment padding when dynamic), ``dynamic``."""

    buffers: tuple
    nbytes: int
    dynamic: bool

    def buffer(self, name: str) -> SharedBuffer:
        return next(b for b in self.buffers if b.name == name)


def _round_up(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


def plan(kernel, target) -> SharedPlan:
    """The SharedPlan of lowered ``kernel`` (vortex.lower.ir.Kernel) printed for ``target``."""
    body = list(stmts(kernel.body))
    staged = {s.dst: s.src for s in body if isinstance(s, AsyncCopy) and s.dst_shared}
    vector = {s.dst for s in body if isinstance(s, AsyncCopy) and s.lanes > 1}
    allocs = [s for s in body if isinstance(s, Allocate) and s.memory is MemorySpace.SHARED]
    sizes = [a.size * a.dtype.itemsize for a in allocs]
    dynamic = archs.dynamic_shared(target, sum(sizes))
    buffers, end = [], 0
    for a, n in zip(allocs, sizes):
        offset = _round_up(end) if dynamic else 0
        # a compute_at buffer is named local_name(<its Func>, "sh", ...): the Func it is made for
        origin, func = ((Origin.STAGE, staged[a.name]) if a.name in staged
                        else (Origin.COMPUTE_AT, a.name.split(SEP)[0]))
        buffers.append(SharedBuffer(a.name, n, offset, origin, func, a.name in vector))
        end = offset + n if dynamic else end + n
    return SharedPlan(tuple(buffers), end, dynamic)


def dynamic_shared(kernel_source) -> dict:
    """``{entry: bytes}``: the dynamic shared memory each kernel entry is launched with (the
    most over its launches; 0 for static kernels). A runtime or an exported launcher raises
    the entry's opt-in limit to it once and passes it at every launch."""
    out: dict = {}
    for launch in kernel_source.launches:
        out[launch.entry] = max(out.get(launch.entry, 0), launch.dynamic_shared_bytes)
    return out


def check_shared(launch, limits, where: str) -> None:
    """Raise vx.ScheduleError when ``launch`` needs more shared memory per block than
    ``limits.max_shared`` (vortex.archs.Limits), naming the directive behind its biggest
    buffer and what to change; ``where`` starts the message ("kernel 'C_kernel' on sm_75")."""
    if launch.shared_bytes <= limits.max_shared:
        return
    big = max(launch.shared, key=lambda b: b.nbytes, default=None)
    advice = ("use smaller tiles in stage(...), fewer stages in pipeline(...), or a smaller "
              "compute_at + store_in(\"shared\") footprint") if big is None else (
        f"the biggest shared buffer is {big.directive} ({big.nbytes} bytes): {big.change}")
    raise errors.ScheduleError(f"{where}: {launch.shared_bytes} bytes of shared memory per "
                               f"block exceed the {limits.max_shared} bytes allowed; {advice}")
