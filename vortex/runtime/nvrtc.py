"""NVRTC: CUDA C++ → CUBIN at run time through ``cuda.bindings.nvrtc`` (no GPU and no CUDA
toolkit needed: the pip wheels ``nvidia-cuda-nvrtc`` and ``nvidia-cuda-runtime`` carry the
compiler and the ``cuda_fp16.h``/``cuda_bf16.h`` headers, found with ``cuda.pathfinder``).

Resources: NVRTC runs ptxas when it compiles to CUBIN; with ``--ptxas-options=-v`` ptxas writes,
per kernel, into the program log (the format nvcc ``-Xptxas -v`` prints)::

    ptxas info    : Compiling entry function 'blur_kernel' for 'sm_90'
    ptxas info    : Function properties for blur_kernel
    ptxas         .     0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
    ptxas info    : Used 30 registers, used 1 barriers, 640 bytes smem, 400 bytes cmem[0]

:func:`parse_ptxas` turns it into ``{entry: {"registers", "shared_bytes", "spill_stores",
"spill_loads", "stack_bytes"}}`` (ints; bytes). Source: NVRTC User Guide §"Supported compile
options" (``--ptxas-options``), CUDA Compiler Driver NVCC §"ptxas options" (``--verbose``).

Compile cache (docs/design.md): :class:`CubinCache` keys on sha256 of the source, the options, the
dialect, the arch, the NVRTC version and headers, the cuda-bindings and Vortex versions
(:func:`cache_key`); it keeps results in memory and on disk under ``$VORTEX_CACHE_DIR/cuda``
(default ``~/.cache/vortex/cuda``): ``<key>.cubin`` plus ``<key>.json`` (PTX, log, resources),
written atomically.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .. import archs, errors
from ..target import Target
from .base import source_excerpt

__all__ = ["Compiled", "CubinCache", "CUBIN_CACHE", "compile_cuda", "parse_ptxas", "check_arch",
           "BASE_OPTIONS", "MATH_OPTIONS", "include_dir", "version", "supported_archs",
           "source_excerpt", "cache_dir"]

CACHE_ENV = "VORTEX_CACHE_DIR"
BASE_OPTIONS = ("--std=c++17", "--ptxas-options=-v")
# fast_math → flags (docs/semantics.md). Strict: --fmad=false prints mul.rn/add.rn, which ptxas
# never fuses into an fma, so a * b + c rounds twice as in the reference. Fast: --use_fast_math
# (implies --fmad=true --ftz=true --prec-div=false --prec-sqrt=false); it is not combined with
# --fmad=false, which would win. Source: NVRTC User Guide §"Supported compile options".
MATH_OPTIONS = {False: ("--fmad=false",), True: ("--use_fast_math",)}
_LOCATION = re.compile(r"\((\d+)\): (?:catastrophic )?error")
_ENTRY = re.compile(r"Compiling entry function '([^']+)'")
_PROPERTIES = re.compile(r"Function properties for (\S+)")
_FIELDS = {"registers": r"Used (\d+) registers", "shared_bytes": r"(\d+) bytes smem",
           "stack_bytes": r"(\d+) bytes stack frame", "spill_stores": r"(\d+) bytes spill stores",
           "spill_loads": r"(\d+) bytes spill loads"}


@functools.lru_cache(maxsize=None)
def _nvrtc():
    """``cuda.bindings.nvrtc`` once libnvrtc loads; vx.DeviceError saying what to install."""
    try:
        from cuda.bindings import nvrtc
        nvrtc.nvrtcVersion()
    except Exception as e:  # noqa: BLE001 - ImportError, or cuda.pathfinder's not-found errors
        raise errors.DeviceError(f"NVRTC is not available ({type(e).__name__}: {e}); install "
                                 'it with pip install "vortex[cuda]"') from None
    return nvrtc


def _check(result, what: str):
    """Unpack a ``(nvrtcResult, *values)`` tuple: None, the value, or a list of values; a
    failure is a vx.CompileError."""
    err, *values = result
    if err != _nvrtc().nvrtcResult.NVRTC_SUCCESS:
        raise errors.CompileError(f"NVRTC {what} failed: {err.name}")
    return values[0] if len(values) == 1 else (values or None)


@functools.lru_cache(maxsize=None)
def version() -> tuple[int, int]:
    """NVRTC (major, minor)."""
    return tuple(_check(_nvrtc().nvrtcVersion(), "nvrtcVersion"))


@functools.lru_cache(maxsize=None)
def supported_archs() -> tuple[str, ...]:
    """Every ``sm_XX`` this NVRTC can compile for (``nvrtcGetSupportedArchs``)."""
    return tuple(f"sm_{a}" for a in _check(_nvrtc().nvrtcGetSupportedArchs(),
                                           "nvrtcGetSupportedArchs"))


@functools.lru_cache(maxsize=None)
def include_dir() -> str | None:
    """The directory holding ``cuda_fp16.h``/``cuda_bf16.h`` (the pip ``nvidia-cuda-runtime``
    headers, a conda or ``$CUDA_HOME`` toolkit — ``cuda.pathfinder``'s search order), or None."""
    try:
        from cuda.pathfinder import find_nvidia_header_directory
        return find_nvidia_header_directory("cudart")
    except Exception:  # noqa: BLE001 - no pathfinder or nothing found: reported by info()
        return None


def check_arch(arch: str) -> str:
    """``arch`` ("sm_90", "sm_90a", …) normalised, if this NVRTC compiles for it; vx.CompileError
    listing the valid ones (sorted numerically) otherwise. See :mod:`vortex.archs`."""
    return archs.arch(Target.CUDA, arch).name


@dataclass(frozen=True)
class Compiled:
    """One NVRTC compile: ``cubin`` (ELF bytes), ``ptx`` (text), ``log`` (NVRTC + ptxas),
    ``resources`` (see :func:`parse_ptxas`), ``seconds`` (compile wall time; 0 on cache hits)."""

    arch: str
    options: tuple
    cubin: bytes
    ptx: str
    log: str
    resources: dict
    seconds: float = 0.0


def parse_ptxas(log: str) -> dict:
    """``{entry: {"registers", "shared_bytes", "spill_stores", "spill_loads", "stack_bytes"}}``
    from a ``ptxas -v`` log. Non-kernel (``__noinline__``) functions are left out; a field
    ptxas does not print (no ``smem`` when there is none) is 0."""
    out, entry, props = {}, None, None
    for line in log.splitlines():
        if m := _ENTRY.search(line):
            entry, props = m.group(1), None
            out[entry] = dict.fromkeys(_FIELDS, 0)
            continue
        if m := _PROPERTIES.search(line):
            props = m.group(1)
            continue
        if entry is None or (props is not None and props != entry and "Used" not in line):
            continue
        for field, pattern in _FIELDS.items():
            if m := re.search(pattern, line):
                out[entry][field] = int(m.group(1))
    return out




def _options(arch: str, extra) -> tuple:
    inc = include_dir()
    return (f"--gpu-architecture={arch}",) + BASE_OPTIONS \
        + ((f"-I{inc}",) if inc else ()) + tuple(extra)


def compile_cuda(source: str, arch: str, name: str = "vortex.cu", options=()) -> Compiled:
    """Compile ``source`` for ``arch`` (checked by :func:`check_arch`) with :data:`BASE_OPTIONS`,
    the header directory and ``options``. Raises vx.CompileError with the log and the offending
    source lines."""
    nvrtc = _nvrtc()
    opts = _options(arch, options)
    prog = _check(nvrtc.nvrtcCreateProgram(source.encode(), name.encode(), 0, [], []),
                  "nvrtcCreateProgram")
    try:
        start = time.perf_counter()
        (err,) = nvrtc.nvrtcCompileProgram(prog, len(opts), [o.encode() for o in opts])
        seconds = time.perf_counter() - start
        log = _read(nvrtc.nvrtcGetProgramLogSize, nvrtc.nvrtcGetProgramLog, prog, "log")
        log = log.rstrip(b"\0").decode(errors="replace")
        if err != nvrtc.nvrtcResult.NVRTC_SUCCESS:
            raise _compile_error(err.name, log, source, name, opts)
        cubin = _read(nvrtc.nvrtcGetCUBINSize, nvrtc.nvrtcGetCUBIN, prog, "CUBIN")
        ptx = _read(nvrtc.nvrtcGetPTXSize, nvrtc.nvrtcGetPTX, prog, "PTX").rstrip(b"\0").decode()
    finally:
        nvrtc.nvrtcDestroyProgram(prog)
    return Compiled(arch, opts, cubin, ptx, log, parse_ptxas(log), seconds)


def _read(size_fn, get_fn, prog, what: str) -> bytes:
    """The whole buffer (text ones end with the C string's NUL, stripped by the caller)."""
    n = _check(size_fn(prog), f"reading the {what} size")
    buf = b" " * n
    _check(get_fn(prog, buf), f"reading the {what}")
    return buf


def _compile_error(code: str, log: str, source: str, name: str, opts) -> errors.CompileError:
    log = log.strip()
    text = f"NVRTC failed ({code}) on {name} (options: {' '.join(opts)})\ncompiler log:\n{log}"
    if "could not open source file" in log and include_dir() is None:
        text += ("\nhint: the CUDA headers were not found; pip install nvidia-cuda-runtime "
                 "(or set CUDA_HOME to a CUDA toolkit)")
    excerpt = source_excerpt(source, {int(n) for n in _LOCATION.findall(log)})
    if excerpt:
        text += "\nsource:\n" + excerpt
    return errors.CompileError(text)


def cache_dir() -> Path:
    """``$VORTEX_CACHE_DIR/cuda``, else ``$XDG_CACHE_HOME/vortex/cuda`` (``~/.cache``)."""
    root = os.environ.get(CACHE_ENV) or Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vortex"
    return Path(root) / "cuda"


@functools.lru_cache(maxsize=None)
def _headers_id() -> str:
    """Size and mtime of the cuda_fp16.h in use: a header upgrade at the same path recompiles."""
    inc = include_dir()
    try:
        st = os.stat(Path(inc) / "cuda_fp16.h")
        return f"{st.st_size}:{st.st_mtime_ns}"
    except (OSError, TypeError):
        return "no headers"


def cache_key(source: str, arch: str, options: tuple) -> str:
    """sha256 hex of everything a CUBIN depends on (docs/design.md). No device name or driver
    version: a CUBIN depends only on the compiler, its headers and the arch (which stands for
    the device's compute capability); whether a device can load it is checked at launch."""
    import cuda.bindings

    import vortex
    parts = (source, " ".join(options), "cuda", arch, ".".join(map(str, version())),
             _headers_id(), cuda.bindings.__version__, vortex.__version__)
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


class CubinCache:
    """Compiled CUBINs by :func:`cache_key`, in memory and on disk. ``directory``: None for
    :func:`cache_dir` (read at each call), or a path; ``disk=False`` keeps memory only.
    Counters for this process: ``compiles`` (NVRTC runs), ``hits`` (memory), ``disk_hits``."""

    def __init__(self, directory=None, disk: bool = True):
        self.directory, self.disk = directory, disk
        self.entries: dict = {}
        self.compiles = self.hits = self.disk_hits = 0

    def clear(self) -> None:
        """Forget the in-memory entries and counters (the disk stays)."""
        self.entries.clear()
        self.compiles = self.hits = self.disk_hits = 0

    def get(self, source: str, arch: str, name: str = "vortex.cu", options=()) -> Compiled:
        key = cache_key(source, arch, _options(arch, options))
        if key in self.entries:
            self.hits += 1
            return self.entries[key]
        folder = Path(self.directory) if self.directory else cache_dir()
        compiled = self._read(folder, key) if self.disk else None
        if compiled is not None:
            self.disk_hits += 1
        else:
            self.compiles += 1
            compiled = compile_cuda(source, arch, name, options)
            if self.disk:
                self._write(folder, key, compiled)
        self.entries[key] = compiled
        return compiled

    @staticmethod
    def _read(folder: Path, key: str) -> Compiled | None:
        try:
            meta = json.loads((folder / f"{key}.json").read_text())
            cubin = (folder / f"{key}.cubin").read_bytes()
            meta["options"] = tuple(meta["options"])
            return Compiled(**{**meta, "cubin": cubin, "seconds": 0.0})
        except (OSError, ValueError, TypeError, KeyError):
            return None   # absent or damaged: compile again

    @staticmethod
    def _write(folder: Path, key: str, compiled: Compiled) -> None:
        meta = {k: v for k, v in asdict(compiled).items() if k not in ("cubin", "seconds")}
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for suffix, data in ((".cubin", compiled.cubin), (".json", json.dumps(meta).encode())):
                tmp = folder / f"{key}{suffix}.{os.getpid()}.tmp"
                tmp.write_bytes(data)
                os.replace(tmp, folder / f"{key}{suffix}")   # .json last: marks a whole entry
        except OSError:
            pass   # a read-only cache directory only costs recompiles


CUBIN_CACHE = CubinCache()
