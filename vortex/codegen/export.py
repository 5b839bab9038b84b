"""Export: generated kernels plus a small host launcher, to build into another project.

CUDA/HIP: ``<name>.cu`` / ``<name>.hip`` holds the kernels and ``extern "C"`` function
``<name>_launch(<device pointers>, <sizes>, <params>, stream)``, which allocates the
intermediate (compute_root) buffers stream-ordered, launches every kernel in order and returns
the runtime's error code; ``<name>.h`` declares it, with a comment block giving each launch's
grid, block and shared memory and the schedule it came from. A kernel over the static
shared-memory cap (48 KB on CUDA, vortex.codegen.shared_memory) is launched with its dynamic
shared memory, after the launcher raises the kernel's limit to it
(``cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes)``;
``hipFuncSetAttribute`` on HIP); an export whose kernels need more shared memory than ``arch``
has is refused (vx.ScheduleError naming the directive, vortex.codegen.shared_memory).
OpenCL: ``<name>.cl`` plus ``<name>.json`` with the launch metadata (a host must run the
kernels itself).

The launcher's parameters are the pipeline's Input, output, Dim and Param names, spelled by
:mod:`vortex.codegen.names` in the launcher's own scope: unchanged for ordinary names; a C word
or a kernel entry's name gets a trailing '_' or a suffix (a Func ``int`` → ``int_``), and a
comment above the declaration lists every such renaming. The stream parameter is ``stream``
(``stream_1`` if a pipeline name is ``stream``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .. import archs
from ..lower.ir import local_name
from ..lower.sym import from_sympy
from ..target import Target
from .c_printer import CPrinter
from .dialect import DIALECTS
from .kernel_source import BufferRole
from .names import Namer
from .shared_memory import check_shared, dynamic_shared

STREAM = local_name("", "stream")   # the launcher's stream parameter (spelled "stream")


@dataclass(frozen=True)
class HostDialect:
    """Host-side runtime API names of one target."""

    extension: str
    include: str
    stream: str
    error: str
    last_error: str
    malloc: str      # format with {ptr}, {bytes}
    free: str        # format with {ptr}
    success: str
    max_dynamic_shared: str   # format with {entry}, {bytes}: opt in to that much dynamic shared


HOSTS = {
    Target.CUDA: HostDialect(".cu", "#include <cuda_runtime.h>", "cudaStream_t", "cudaError_t",
                             "cudaGetLastError()",
                             "cudaMallocAsync((void**)&{ptr}, {bytes}, {stream})",
                             "cudaFreeAsync({ptr}, {stream})", "cudaSuccess",
                             "cudaFuncSetAttribute({entry}, "
                             "cudaFuncAttributeMaxDynamicSharedMemorySize, {bytes})"),
    Target.HIP: HostDialect(".hip", "#include <hip/hip_runtime.h>", "hipStream_t", "hipError_t",
                            "hipGetLastError()", "hipMalloc((void**)&{ptr}, {bytes})",
                            "hipFree({ptr})", "hipSuccess",
                            "hipFuncSetAttribute((const void*){entry}, "
                            "hipFuncAttributeMaxDynamicSharedMemorySize, {bytes})"),
}


def _c(printer: CPrinter, sym) -> str:
    return printer.expr(from_sympy(sym))


def _launcher_names(ks, name: str) -> Namer:
    """The launcher's scope: kernel entries and the launcher itself are taken, then the
    pipeline's names are spelled, then the stream parameter."""
    names = Namer(taken=[launch.entry for launch in ks.launches] + [f"{name}_launch"])
    names.declare([b.name for b in ks.buffers] + [s.name for s in ks.scalars])
    names.c_name(STREAM)
    return names


def _signature(ks, name: str, host: HostDialect, printer: CPrinter) -> str:
    """The launcher's declaration, after a comment naming the renamed parameters (if any)."""
    d, c = printer.d, printer.ident
    bufs = [b for b in ks.buffers if b.role is not BufferRole.INTERMEDIATE]
    args = [f"{'const ' if b.role is BufferRole.INPUT else ''}{d.ctype(b.dtype, storage=True)}* "
            f"{c(b.name)}" for b in bufs]
    args += [f"{d.ctype(s.dtype, storage=True)} {c(s.name)}" for s in ks.scalars]
    args.append(f"{host.stream} {c(STREAM)}")
    renamed = [f"{n} -> {c(n)}" for n in [b.name for b in bufs] + [s.name for s in ks.scalars]
               if c(n) != n]
    note = f"// C names of renamed pipeline names: {', '.join(renamed)}\n" if renamed else ""
    return f'{note}extern "C" {host.error} {name}_launch({", ".join(args)})'


def _opt_in(ks, host: HostDialect, error: str) -> list[str]:
    """Launcher lines raising each dynamic-shared kernel's limit, first (nothing allocated
    yet), returning the runtime's error if the device refuses."""
    lines = []
    for entry, n in dynamic_shared(ks).items():
        if n:
            call = host.max_dynamic_shared.format(entry=entry, bytes=n)
            lines.append(f"  if (({error} = {call}) != {host.success}) return {error};")
    return [f"  {host.error} {error};", *lines] if lines else []


def _launcher(ks, name: str, host: HostDialect, printer: CPrinter) -> str:
    d, c = printer.d, printer.ident
    body, stream = _opt_in(ks, host, c(local_name("", "err"))), c(STREAM)
    temps = [b for b in ks.buffers if b.role is BufferRole.INTERMEDIATE]
    for b in temps:
        count = " * ".join(f"(size_t)({_c(printer, s)})" for s in b.shape) or "1"
        ptr = c(b.name)
        size = f"{count} * sizeof(*{ptr})"
        body += [f"  {d.ctype(b.dtype, storage=True)}* {ptr} = nullptr;",
                 f"  {host.malloc.format(ptr=ptr, bytes=size, stream=stream)};"]
    for i, launch in enumerate(ks.launches):
        grid = ", ".join(f"(unsigned)({_c(printer, g)})" for g in launch.grid)
        block = ", ".join(str(int(b)) for b in launch.block)
        smem = launch.dynamic_shared_bytes
        body.append(f"  {launch.entry}<<<dim3({grid}), dim3({block}), {smem}, {stream}>>>"
                    f"({', '.join(map(c, launch.args))});")
    body += [f"  {host.free.format(ptr=c(b.name), stream=stream)};" for b in temps]
    body.append(f"  return {host.last_error};")
    return _signature(ks, name, host, printer) + " {\n" + "\n".join(body) + "\n}\n"


def _header(ks, name: str, host: HostDialect, printer: CPrinter, schedule_text: str,
            about: list) -> str:
    lines = [f"// {name}: generated by Vortex from pipeline '{ks.pipeline}' ({ks.target.value}).",
             *[f"// {line}" for line in about],
             "// Launches, in order (grid in blocks, as C expressions of the sizes):"]
    for launch in ks.launches:
        grid = ", ".join(_c(printer, g) for g in launch.grid)
        dynamic = " (dynamic: the launcher opts in)" if launch.dynamic_shared else ""
        lines.append(f"//   {launch.entry}: grid ({grid}), block {tuple(launch.block)}, "
                     f"{launch.shared_bytes} bytes of shared memory{dynamic}")
    lines.append("// Schedule:")
    lines += [f"//   {line}" for line in schedule_text.strip().splitlines()]
    guard = f"VORTEX_{name.upper()}_H"
    lines += [f"#ifndef {guard}", f"#define {guard}", host.include,
              _signature(ks, name, host, printer) + ";", f"#endif  // {guard}", ""]
    return "\n".join(lines)


def export_source(ks, schedule_text: str, out_dir, name: str | None = None, arch=None,
                  arch_note: str = "", origin: str = "") -> list[Path]:
    """Write the export files of KernelSource ``ks`` into ``out_dir``; returns their paths. The
    header names ``arch`` (with ``arch_note`` when it was not asked for) and the schedule's
    ``origin``. Raises vx.ScheduleError when a kernel exceeds ``arch``'s launch limits."""
    if arch is not None and ks.target in archs.PARSERS:
        limits = archs.facts(ks.target, arch).limits
        for launch in ks.launches:
            check_shared(launch, limits, f"kernel {launch.entry!r} on {limits.name}")
    about = ([f"Arch: {arch}" + (f" ({arch_note})" if arch_note else "")] if arch else []) \
        + ([f"Schedule origin: {origin}"] if origin else [])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = name or ks.pipeline
    if ks.target is Target.OPENCL:
        return _export_opencl(ks, schedule_text, out, name)
    host = HOSTS[ks.target]
    printer = CPrinter(DIALECTS[ks.target], _launcher_names(ks, name))
    launcher = _launcher(ks, name, host, printer)
    helpers = "".join(h for h in printer.helpers.values() if h not in ks.code)
    src = out / f"{name}{host.extension}"
    hdr = out / f"{name}.h"
    src.write_text(f'#include "{hdr.name}"\n' + ks.code + "\n" + helpers + launcher)
    hdr.write_text(_header(ks, name, host, printer, schedule_text, about))
    return [src, hdr]


def _export_opencl(ks, schedule_text: str, out: Path, name: str) -> list[Path]:
    printer = CPrinter(DIALECTS[Target.OPENCL])
    meta = {
        "pipeline": ks.pipeline,
        "launches": [{"entry": launch.entry, "grid": [_c(printer, g) for g in launch.grid],
                      "block": list(launch.block), "args": list(launch.args),
                      "shared_bytes": launch.shared_bytes} for launch in ks.launches],
        "buffers": [{"name": b.name, "dtype": b.dtype.name, "role": b.role.value,
                     "shape": [_c(printer, s) for s in b.shape]} for b in ks.buffers],
        "scalars": [{"name": s.name, "dtype": s.dtype.name} for s in ks.scalars],
        "outputs": list(ks.outputs),
        "schedule": schedule_text,
        "note": "global work size = grid * block per axis (x, y, z)",
    }
    cl, js = out / f"{name}.cl", out / f"{name}.json"
    cl.write_text(ks.code)
    js.write_text(json.dumps(meta, indent=2) + "\n")
    return [cl, js]
