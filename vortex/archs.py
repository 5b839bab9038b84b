"""GPU architectures: one table per target of what Vortex needs to know about an arch, and the
one rule that says which arch names are valid.

``arch(target, name)`` parses and checks a name and returns an :class:`Arch` with the launch
limits (checked before any compiler runs), per-SM/CU resources (occupancy estimate in
``kernel.analysis()``) and features (asynchronous copies) of that arch. ``supported(target)``
lists the valid names, sorted numerically; ``vortex info``, the runtimes' checks and every
"unknown arch" error use it.

Which archs are valid is the compiler's say where it can tell:

- **CUDA**: ``sm_XY`` for every XY that ``nvrtcGetSupportedArchs`` returns (NVRTC 13.5 here:
  sm_75 … sm_121), plus the arch-specific variants ``sm_XYa`` (XY >= 90: features of exactly that
  GPU, e.g. ``wgmma`` on sm_90a) and the family variants ``sm_XYf`` (XY >= 100, NVRTC >= 12.9).
  Source: CUDA C Programming Guide, "Feature Availability" (arch-specific and family-specific
  features); NVRTC user guide, ``--gpu-architecture``.
- **HIP**: the ``gfx`` names that hiprtc's comgr reports it can compile for
  (``amd_comgr_get_isa_name``), from gfx900 on (older GCN is not a HIP target); without comgr
  the names of :data:`HIP_RESOURCES`.

Facts per arch come from the CUDA C Programming Guide, "Technical Specifications per Compute
Capability", and AMD's CDNA/RDNA ISA guides. An arch without a row takes the row of the newest
arch below it (of its generation, for AMD): limits rarely shrink.

Shared memory per block (``Limits.max_shared``, ``Resources.shared_optin``) is the opt-in
maximum of that table's row "Maximum amount of shared memory per thread block": sm_70 96 KB,
sm_75 64 KB, sm_80/sm_87 163 KB, sm_86/sm_89/sm_120 99 KB, sm_90/sm_100 227 KB; AMD: the LDS a
work-group may allocate, 64 KB on gfx90a/gfx942 (AMD CDNA2/CDNA3 ISA guides). Static
``__shared__`` arrays are capped lower (:data:`STATIC_SHARED`: 48 KB on CUDA); a kernel that
needs more uses dynamic shared memory with the opt-in attribute (:func:`dynamic_shared`,
docs/targets.md).
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from . import errors
from .target import Target

KIB = 1024


@dataclass(frozen=True)
class Limits:
    """``max_threads``: threads per block (product over axes); ``max_block``: per-axis maxima;
    ``max_shared``: the most shared (OpenCL: local) memory one block may use, static plus
    dynamic, in bytes (CUDA: the opt-in maximum); ``max_grid``: blocks per axis."""

    name: str
    max_threads: int
    max_block: tuple
    max_shared: int
    max_grid: tuple


@dataclass(frozen=True)
class Resources:
    """Per SM (CUDA) or CU (HIP): resident ``threads``, ``shared`` bytes, 32-bit ``registers``;
    ``shared_optin``: the most shared memory one block may use (dynamic, opt-in), bytes;
    ``warp``: threads per warp/wavefront."""

    threads: int
    shared: int
    registers: int
    shared_optin: int
    warp: int = 32


@dataclass(frozen=True)
class Arch:
    """A checked arch: ``name`` as the compiler takes it ("sm_90a", "gfx90a"), ``number`` (the
    compute capability 90, or the gfx number as hex 0x90a), ``limits``, ``resources``,
    ``async_copy`` (cp.async: CUDA sm_80 and newer)."""

    target: Target
    name: str
    number: int
    limits: Limits
    resources: Resources
    async_copy: bool = False


# CUDA: compute capability → per-SM resources (Technical Specifications table).
CUDA_RESOURCES = {
    70: Resources(2048, 96 * KIB, 65536, 96 * KIB),
    75: Resources(1024, 64 * KIB, 65536, 64 * KIB),
    80: Resources(2048, 164 * KIB, 65536, 163 * KIB),
    86: Resources(1536, 100 * KIB, 65536, 99 * KIB),
    87: Resources(1536, 164 * KIB, 65536, 163 * KIB),
    89: Resources(1536, 100 * KIB, 65536, 99 * KIB),
    90: Resources(2048, 228 * KIB, 65536, 227 * KIB),
    100: Resources(2048, 228 * KIB, 65536, 227 * KIB),
    120: Resources(1536, 100 * KIB, 65536, 99 * KIB),
}
_CUDA_GRID = (2 ** 31 - 1, 65535, 65535)

# HIP: gfx arch → per-CU resources (wave64 on CDNA/GCN, wave32 on RDNA).
HIP_RESOURCES = {
    "gfx900": Resources(2560, 64 * KIB, 65536, 64 * KIB, 64),
    "gfx906": Resources(2560, 64 * KIB, 65536, 64 * KIB, 64),
    "gfx908": Resources(2048, 64 * KIB, 131072, 64 * KIB, 64),
    "gfx90a": Resources(2048, 64 * KIB, 131072, 64 * KIB, 64),
    "gfx940": Resources(2048, 64 * KIB, 131072, 64 * KIB, 64),
    "gfx941": Resources(2048, 64 * KIB, 131072, 64 * KIB, 64),
    "gfx942": Resources(2048, 64 * KIB, 131072, 64 * KIB, 64),
    "gfx950": Resources(2048, 160 * KIB, 131072, 160 * KIB, 64),
    "gfx1030": Resources(2048, 128 * KIB, 131072, 64 * KIB, 32),
    "gfx1100": Resources(2048, 128 * KIB, 196608, 64 * KIB, 32),
}
_HIP_GRID = (2 ** 31 - 1,) * 3

# The most static shared memory (``__shared__`` arrays of constant size) one block may declare:
# 48 KB on every CUDA arch (CUDA C Programming Guide, "Shared Memory": "allocations above 48 KB
# per block are architecture-specific, must use dynamic shared memory"), 64 KB of LDS on AMD.
# OpenCL's __local arrays are static only: no entry, never dynamic.
STATIC_SHARED = {Target.CUDA: 48 * KIB, Target.HIP: 64 * KIB}


def dynamic_shared(target, nbytes: int) -> bool:
    """Whether a kernel with ``nbytes`` of shared memory per block declares it dynamically
    (one ``extern __shared__`` array, its size passed at launch, the opt-in attribute set on
    the function): exactly when ``nbytes`` exceeds the target's static cap
    (:data:`STATIC_SHARED`). Smaller kernels keep static arrays, which the compiler sizes and
    reports itself."""
    cap = STATIC_SHARED.get(Target.parse(target))
    return cap is not None and nbytes > cap


# Without an arch, export prints code for this one (named in its output and header).
DEFAULT_EXPORT_ARCH = {Target.CUDA: "sm_75"}

_CUDA_NAME = re.compile(r"sm_(\d+)([af]?)")
_HIP_NAME = re.compile(r"gfx([0-9a-f]{3,4})")


def _newest_below(table: dict, key, order):
    """The row of ``key``, else of the newest key below it, else of the oldest key."""
    if key in table:
        return table[key]
    below = [k for k in table if order(k) <= order(key)]
    return table[max(below, key=order) if below else min(table, key=order)]


def _gfx_order(name: str) -> tuple:
    """gfx names by (generation, model): gfx90a → (9, 0x0a), gfx1030 → (10, 0x30)."""
    digits = name[3:]
    return int(digits[:-2]), int(digits[-2:], 16)


@functools.lru_cache(maxsize=None)
def _cuda_names() -> tuple[str, ...]:
    from .runtime import nvrtc
    numbers = sorted(int(a[3:]) for a in nvrtc.supported_archs())
    family = nvrtc.version() >= (12, 9)
    names = []
    for n in numbers:
        names.append(f"sm_{n}")
        names += [f"sm_{n}a"] * (n >= 90) + [f"sm_{n}f"] * (n >= 100 and family)
    return tuple(names)


@functools.lru_cache(maxsize=None)
def _hip_names() -> tuple[str, ...]:
    known = None
    try:
        from .runtime import rocm
        lib = rocm.library()
        known = lib.toolchain.get("archs") if lib is not None else None
    except Exception:  # noqa: BLE001 - no ROCm: the table's names, unchecked
        known = None
    names = [a for a in (known or HIP_RESOURCES) if _HIP_NAME.fullmatch(a)
             and int(_HIP_NAME.fullmatch(a).group(1), 16) >= 0x900]
    return tuple(sorted(set(names), key=lambda a: int(a[3:], 16)))


SUPPORTED = {Target.CUDA: _cuda_names, Target.HIP: _hip_names}


def supported(target) -> tuple[str, ...]:
    """Every arch name valid for ``target`` on this machine, sorted numerically (empty for
    OpenCL, which has no arch). Raises vx.CompileError when the target's compiler is missing."""
    t = Target.parse(target)
    if t not in SUPPORTED:
        return ()
    try:
        return SUPPORTED[t]()
    except ImportError as e:
        raise errors.CompileError(f"cannot list {t.value} archs: {e}") from None


def _cuda(name: str) -> Arch:
    n = int(_CUDA_NAME.fullmatch(name).group(1))
    res = _newest_below(CUDA_RESOURCES, n, lambda k: k)
    limits = Limits(name, 1024, (1024, 1024, 64), res.shared_optin, _CUDA_GRID)
    return Arch(Target.CUDA, name, n, limits, res, async_copy=n >= 80)


def _hip(name: str) -> Arch:
    n = int(name[3:], 16)
    same = {k: v for k, v in HIP_RESOURCES.items() if _gfx_order(k)[0] == _gfx_order(name)[0]}
    res = _newest_below(same or HIP_RESOURCES, name, _gfx_order)
    limits = Limits(name, 1024, (1024, 1024, 1024), res.shared_optin, _HIP_GRID)
    return Arch(Target.HIP, name, n, limits, res)


PARSERS = {Target.CUDA: (_CUDA_NAME, _cuda), Target.HIP: (_HIP_NAME, _hip)}
COMPILERS = {Target.CUDA: "NVRTC", Target.HIP: "hiprtc"}


def facts(target, name: str) -> Arch:
    """The Arch of a well-formed ``name`` without asking the compiler (a device's own arch,
    offline code generation). Raises vx.CompileError for a malformed name."""
    t = Target.parse(target)
    pattern, make = PARSERS[t]
    text = str(name).strip().lower()
    if not pattern.fullmatch(text):
        raise errors.CompileError(f"{name!r} is not a {t.value} arch name; "
                                  f"use one of {list(_listed(t))}")
    return make(text)


def _listed(t: Target) -> tuple:
    try:
        return supported(t)
    except errors.CompileError:
        return tuple(HIP_RESOURCES) if t is Target.HIP else tuple(
            f"sm_{n}" for n in CUDA_RESOURCES)


def arch(target, name: str) -> Arch:
    """The Arch of ``name`` for ``target`` if this machine's compiler takes it. Raises
    vx.CompileError naming the valid archs (sorted numerically) otherwise."""
    t = Target.parse(target)
    text = str(name).strip().lower()
    valid = supported(t)
    if text not in valid:
        raise errors.CompileError(f"unknown {t.value.upper()} arch {name!r}: this machine's "
                                  f"{COMPILERS[t]} compiles for "
                                  f"{', '.join(valid)}")
    return facts(t, text)
