"""hiprtc for Vortex: choose and check the GPU architecture, compile HIP C++ to an AMDGPU code
object, and cache code objects in memory and on disk (the HIP counterpart of ``nvrtc.py``).

Compile cache (docs/design.md): code objects are kept in memory and as ``<key>.hsaco`` files in
:func:`cache_dir`, under :func:`cache_key` — sha256 of the source, options, "hip", the arch, the
hiprtc and HIP runtime versions and the Vortex version.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import re
import time as _time
from pathlib import Path

from .. import archs, errors
from ..target import Target
from . import rocm
from .base import source_excerpt

__all__ = ["COMPILE_OPTIONS", "MATH_OPTIONS", "INSTALL_HINT", "CodeObjectCache", "CODE_OBJECT_CACHE", "library",
           "hiprtc_source", "cache_dir", "cache_key", "source_excerpt", "resolve_arch"]

COMPILE_OPTIONS = ("-O3", "-std=c++17")
# fast_math → flags (docs/semantics.md). HIP-Clang contracts a * b + c into an fma by default
# (-ffp-contract=fast-honor-pragmas); strict math turns that off, as the reference rounds twice.
MATH_OPTIONS = {False: ("-ffp-contract=off",), True: ("-ffast-math",)}
INSTALL_HINT = ("apt-get install libamdhip64-dev libhiprtc-builtins5 rocm-device-libs "
                "libamd-comgr-dev (Debian/Ubuntu), or AMD's ROCm in /opt/rocm")
_COMGR_INPUT = re.compile(r"\S*/input/CompileSource")
_FP16_INCLUDE = re.compile(r"^[ \t]*#[ \t]*include[ \t]*<hip/hip_fp16\.h>[ \t]*$", re.M)


def hiprtc_source(code: str) -> str:
    """``code`` as handed to hiprtc. hiprtc's built-in ``hip_runtime.h`` already holds
    ``hip_fp16.h``; including the installed copy too redefines ``__half`` (ROCm 5.2), so that
    line becomes a comment — the line count stays, so error line numbers match ``code``."""
    return _FP16_INCLUDE.sub("// <hip/hip_fp16.h> is built into hiprtc", code)


def cache_dir() -> Path:
    """``$VORTEX_CACHE_DIR/hip``, else ``$XDG_CACHE_HOME/vortex/hip`` (``~/.cache``)."""
    root = os.environ.get("VORTEX_CACHE_DIR") or \
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vortex"
    return Path(root) / "hip"


def library() -> rocm.Hip:
    """The loaded ROCm libraries; vx.DeviceError saying what to install when absent."""
    lib = rocm.library()
    if lib is None:
        raise errors.DeviceError("the HIP target needs ROCm's libamdhip64 (hiprtc and the HIP "
                                 f"runtime), which was not found: {INSTALL_HINT}")
    return lib


def cache_key(source: str, options, arch: str, lib: rocm.Hip) -> str:
    """sha256 hex of everything a code object depends on."""
    import vortex
    parts = (source, " ".join(options), Target.HIP.value, arch, lib.hiprtc_version(),
             lib.runtime_version(), vortex.__version__)
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


class CodeObjectCache:
    """Code objects by :func:`cache_key`, in memory and on disk in ``directory`` (default: the
    :func:`cache_dir` of the moment). ``compiles``, ``hits`` and ``disk_hits`` count hiprtc calls
    and reuses in this process. :meth:`get` returns (code object, seconds hiprtc took: 0.0 on a
    hit)."""

    def __init__(self, directory: Path | str | None = None):
        self.directory = directory
        self.objects: dict = {}
        self.compiles = self.hits = self.disk_hits = 0

    def clear(self) -> None:
        self.objects.clear()
        self.compiles = self.hits = self.disk_hits = 0

    def get(self, lib, source: str, options: tuple, arch: str, entries: tuple, name: str):
        key = cache_key(source, options, arch, lib)
        if key in self.objects:
            self.hits += 1
            return self.objects[key], 0.0
        path = Path(self.directory or cache_dir()) / f"{key}.hsaco"
        if path.is_file():
            self.disk_hits += 1
            self.objects[key] = path.read_bytes()
            return self.objects[key], 0.0
        self.compiles += 1
        t0 = _time.perf_counter()
        binary, log = lib.compile(source, name, options)
        seconds = _time.perf_counter() - t0
        if binary is None:
            raise _compile_error(log, source, options, entries, arch, name)
        self.objects[key] = binary
        with contextlib.suppress(OSError):   # a read-only cache only costs recompiles
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(binary)
            os.replace(tmp, path)
        return binary, seconds


CODE_OBJECT_CACHE = CodeObjectCache()




def _compile_error(log: str, source: str, options, entries, arch: str, name: str):
    log = _COMGR_INPUT.sub(name, log)   # ROCm 5: /tmp/comgr-*/input/CompileSource:5:21: error
    where = re.compile(rf"{re.escape(name)}:(\d+):\d+: (?:fatal )?error")
    excerpt = source_excerpt(source, {int(n) for n in where.findall(log)})
    text = (f"hiprtc failed for kernel(s) {', '.join(entries)} for {arch} (options: "
            f"{' '.join(options)})\ncompiler log:\n{log.strip()}")
    return errors.CompileError(text + (f"\nsource:\n{excerpt}" if excerpt else ""))


def resolve_arch(lib, arch, device) -> tuple[str, int | None]:
    """(gfx arch to compile for, device index or None) for ``arch=`` and ``device=`` (an index;
    with ``arch`` and no HIP device, ``device`` may be the name of the GPU the code is for)."""
    devices, reason = lib.devices()
    index = None
    if devices and isinstance(device, str) and not device.strip().isdigit():
        raise errors.DeviceError(f"HIP device={device!r}: give a device index; this machine has "
                                 f"{[f'{i}: {n}' for i, n, _ in devices]}")
    if devices:
        index = 0 if device is None else int(device)
        if not 0 <= index < len(devices):
            raise errors.DeviceError(f"no HIP device {device}; this machine has "
                                     f"{[f'{i}: {n}' for i, n, _ in devices]}")
    elif device is not None and arch is None:
        raise errors.DeviceError(f"no HIP device: {reason}")
    if arch is None:
        if index is None:
            raise errors.DeviceError(f"no HIP device ({reason}) to compile for: pass arch= "
                                     f"(one of {', '.join(archs.supported(Target.HIP))}) to "
                                     "compile without one")
        arch = devices[index][2].split(":")[0]
    return archs.arch(Target.HIP, arch).name, index
