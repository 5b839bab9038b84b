"""The CUDA runtime: NVRTC compiles the generated CUDA C++ to a CUBIN (:mod:`.nvrtc`), the
driver API loads, launches and times it (:mod:`.cuda_device`, :mod:`.cuda_arrays`).

Without a GPU (docs/design.md) ``load(ks, arch="sm_90")`` still compiles and gives an executable with
``binary`` (CUBIN bytes), ``ptx``, ``resources`` (per kernel: registers, shared bytes, spill
stores/loads, stack bytes, from ptxas ``-v``) and ``launch_config``; ``run``/``time`` raise
``vx.DeviceError("no CUDA device: …")``. Launch limits (threads per block, shared memory per
block; grid sizes at each call) are checked before NVRTC runs: ``vx.ScheduleError`` naming the
directive. A kernel over 48 KB of shared memory declares it dynamically
(vortex.codegen.shared_memory): its function's ``CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES``
is raised to that size once, when the module is loaded, and every launch passes it as
``sharedMemBytes``. Kernels launch in order on the legacy default stream of the device's primary
context (the stream CuPy and PyTorch use by default); ``run`` waits for them to finish.
"""
from __future__ import annotations

import re
import statistics

import numpy as np

from .. import errors
from ..versions import package_version
from ..codegen.kernel_source import BufferRole
from ..target import Target
from . import nvrtc
from .base import (Executable, Runtime, buffer_shape, check_launch_args, check_out,
                   check_out_names, out_arrays, scalar_value)
from .cuda_arrays import DeviceArray, device_view, empty_like
from .cuda_device import (all_devices, call, describe, driver, driver_version,  # noqa: F401
                          has_cuda_device, select_device)
from .. import archs
from ..codegen.shared_memory import dynamic_shared
from .limits import check_launches, with_dynamic_shared

__all__ = ["CUDARuntime", "CUDAExecutable", "load", "info", "has_cuda_device", "select_device"]


def _compatible(arch: str, device_arch: str) -> bool:
    """A CUBIN for sm_XY runs on sm_XZ with Z >= Y; one for sm_XYa only on sm_XY; one for
    sm_XYf on sm_XZ with Z >= Y (CUDA C Programming Guide, "Binary Compatibility" and "Feature
    Availability")."""
    mine, dev = archs.facts(Target.CUDA, arch), archs.facts(Target.CUDA, device_arch)
    if arch.endswith("a"):
        return mine.number == dev.number
    return mine.number // 10 == dev.number // 10 and dev.number >= mine.number


def _allow_dynamic_shared(functions: dict, nbytes: dict) -> None:
    """Opt each CUfunction in to the dynamic shared memory it is launched with (above 48 KB a
    launch fails without it; CUDA driver API, ``cuFuncSetAttribute``)."""
    drv = driver()
    for entry, n in nbytes.items():
        if n:
            attr = drv.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
            call(drv.cuFuncSetAttribute, functions[entry], attr, n)


class CUDAExecutable(Executable):
    """A KernelSource compiled to a CUBIN for ``arch``. ``binary`` (CUBIN bytes), ``ptx``,
    ``log`` (NVRTC/ptxas), ``resources`` (``{entry: {"registers", "shared_bytes",
    "spill_stores", "spill_loads", "stack_bytes"}}``; ``shared_bytes`` is ptxas' static count
    plus the dynamic shared memory the entry is launched with), ``compile_seconds`` (0.0 on a cache
    hit), ``device`` (a CudaDevice once loaded on one, else None)."""

    def __init__(self, kernel_source, compiled, device=None, selector=None):
        self.kernel_source, self.arch = kernel_source, compiled.arch
        self.binary, self.ptx, self.log = compiled.cubin, compiled.ptx, compiled.log
        self.resources = with_dynamic_shared(compiled.resources, kernel_source)
        self.compile_seconds = compiled.seconds
        self.device, self._selector, self._functions = device, selector, None
        self.entries = tuple(dict.fromkeys(launch.entry for launch in kernel_source.launches))
        check_launch_args(kernel_source)
        defined = set(re.findall(r"\.entry\s+(\w+)", self.ptx))
        missing = [e for e in self.entries if e not in defined]
        if missing:
            raise errors.CompileError(f"kernel(s) {missing} are not defined (extern \"C\" "
                                      f"__global__) in the source of {kernel_source.pipeline!r}")

    def _load(self) -> dict:
        """CUfunction by entry, loading the CUBIN into the device's primary context once."""
        if self._functions is None:
            try:
                dev = self.device or select_device(self._selector)
            except errors.DeviceError as e:
                raise errors.DeviceError(f"{e}; the kernels of {self.kernel_source.pipeline!r} "
                                         f"are compiled for {self.arch} (.binary) but cannot run "
                                         "here") from None
            if not _compatible(self.arch, dev.arch):
                raise errors.DeviceError(f"the kernels are compiled for {self.arch}, which "
                                         f"{describe(dev)} cannot run; compile with arch="
                                         f"{dev.arch!r} or without arch=")
            dev.activate()
            self._module = call(driver().cuModuleLoadData, self.binary)
            self._functions = {e: call(driver().cuModuleGetFunction, self._module, e.encode())
                               for e in self.entries}
            _allow_dynamic_shared(self._functions, dynamic_shared(self.kernel_source))
            self.device = dev
        self.device.activate()
        return self._functions

    # ---- buffers ------------------------------------------------------------------------------
    def _buffers(self, binding, out: dict) -> tuple[dict, dict, object]:
        """(pointer by buffer name, owner by name, first device input or None)."""
        ks, dev = self.kernel_source, self.device
        check_out_names(ks, out)
        ptrs, owners, template = {}, {}, None
        for buf in (b for b in ks.buffers if b.role is BufferRole.INPUT):
            if buf.name not in binding.arrays:
                raise errors.InputError(f"input {buf.name!r} is missing from the call")
            value, shape, dtype = binding.arrays[buf.name], buffer_shape(buf, binding), buf.dtype.np
            view = device_view(buf.name, value, shape, dtype)
            if view is not None:
                template = value if template is None else template
                ptrs[buf.name], owners[buf.name] = view.ptr, view
                continue
            host = np.asarray(value)
            if host.shape != shape or host.dtype != dtype:
                raise errors.InputError(f"input {buf.name!r} must have shape {shape} and dtype "
                                        f"{dtype}, got {host.shape} {host.dtype}")
            owners[buf.name] = DeviceArray.from_host(host, dev)
            ptrs[buf.name] = owners[buf.name].ptr
        for buf in (b for b in ks.buffers if b.role is not BufferRole.INPUT):
            shape, dtype = buffer_shape(buf, binding), buf.dtype.np
            given = out.get(buf.name)
            view = device_view(buf.name, given, shape, dtype) if given is not None else None
            if view is None:
                new = (empty_like(template, shape, dtype, dev)
                       if template is not None and buf.role is BufferRole.OUTPUT
                       else DeviceArray(shape, dtype, dev))
                view = device_view(buf.name, new, shape, dtype)
            ptrs[buf.name], owners[buf.name] = view.ptr, view.owner
        return ptrs, owners, template

    def _enqueue(self, binding, ptrs: dict, functions: dict) -> None:
        drv, scalars = driver(), {s.name: s for s in self.kernel_source.scalars}
        check_launches(self.kernel_source, self.device.limits, binding)   # grid sizes
        for launch, cfg in zip(self.kernel_source.launches, self.launch_config(binding)):
            if 0 in cfg["global_size"]:
                continue
            grid, block = (tuple(v) + (1,) * (3 - len(v)) for v in (cfg["grid"], cfg["block"]))
            held = [np.array([ptrs[a]], np.uint64) if a in ptrs
                    else np.array([scalar_value(scalars[a], binding)]) for a in launch.args]
            params = np.array([h.ctypes.data for h in held], np.uint64)
            call(drv.cuLaunchKernel, functions[launch.entry], *grid, *block,
                 launch.dynamic_shared_bytes, 0, params.ctypes.data, 0)

    # ---- public -------------------------------------------------------------------------------
    def run(self, binding, out=None, *, outputs=None) -> tuple:
        """See :meth:`Executable.run`. ``out`` values may be device arrays (CuPy, PyTorch, any
        ``__cuda_array_interface__``/DLPack array; written in place) or numpy arrays (filled
        from the device). Outputs not in ``out`` are numpy arrays when every input is on the
        host, else arrays of the first device input's library (CuPy, PyTorch) or
        :class:`~vortex.runtime.cuda_arrays.DeviceArray`. Raises vx.DeviceError without a
        CUDA device."""
        out = out_arrays(self.kernel_source, out, outputs)
        functions = self._load()
        ptrs, owners, template = self._buffers(binding, out)
        self._enqueue(binding, ptrs, functions)
        call(driver().cuStreamSynchronize, 0)
        results = []
        for name in self.kernel_source.outputs:
            target, owner = out.get(name), owners[name]
            if isinstance(target, np.ndarray):
                check_out(name, target, owner.shape, owner.dtype)
                results.append(owner.get(target))
            elif target is not None or template is not None:
                results.append(target if target is not None else owner)
            else:
                results.append(owner.get())
        return tuple(results)

    def time(self, binding, warmup: int = 3, repeat: int = 10) -> float:
        """See :meth:`Executable.time`: median ms between CUDA events recorded before the
        first and after the last launch of one run."""
        if repeat < 1 or warmup < 0:
            raise errors.InputError(f"time(): need repeat >= 1 and warmup >= 0, got "
                                    f"repeat={repeat}, warmup={warmup}")
        drv, functions = driver(), self._load()
        ptrs, _owners, _ = self._buffers(binding, {})
        start, end = (call(drv.cuEventCreate, drv.CUevent_flags.CU_EVENT_DEFAULT)
                      for _ in range(2))
        try:
            for _ in range(warmup):
                self._enqueue(binding, ptrs, functions)
            samples = []
            for _ in range(repeat):
                call(drv.cuEventRecord, start, 0)
                self._enqueue(binding, ptrs, functions)
                call(drv.cuEventRecord, end, 0)
                call(drv.cuEventSynchronize, end)
                samples.append(call(drv.cuEventElapsedTime, start, end))
        finally:
            drv.cuEventDestroy(start)
            drv.cuEventDestroy(end)
        return float(statistics.median(samples))


class CUDARuntime(Runtime):
    """Runtime of ``Target.CUDA``."""

    target = Target.CUDA

    def load(self, kernel_source, device=None, *, arch=None, build_options=(),
             fast_math: bool = False, cache=None) -> CUDAExecutable:
        """Compile ``kernel_source.code`` with NVRTC for ``arch`` (any of
        ``vortex.archs.supported("cuda")``: "sm_75" … "sm_121", "sm_90a", …), or, without ``arch``, for the arch of ``device`` (see
        :func:`select_device`). ``build_options``: extra NVRTC flags; ``fast_math`` gives
        ``--use_fast_math``, else ``--fmad=false`` (no contraction, see nvrtc.MATH_OPTIONS); ``cache``: a :class:`~vortex.runtime.nvrtc.CubinCache`.

        Raises vx.ScheduleError (a launch exceeds the arch's limits; before compiling),
        vx.CompileError (unknown arch; NVRTC log and source lines), vx.DeviceError (no
        ``arch`` and no CUDA device)."""
        if arch is None:
            try:
                dev = select_device(device)
            except errors.DeviceError as e:
                raise errors.DeviceError(f"{e}; to compile without a GPU pass arch= (one of "
                                         f"{', '.join(archs.supported(Target.CUDA))})") from None
            arch, limits = nvrtc.check_arch(dev.arch), dev.limits
        else:
            dev, arch = None, nvrtc.check_arch(arch)
            limits = archs.facts(Target.CUDA, arch).limits
        check_launches(kernel_source, limits)
        options = nvrtc.MATH_OPTIONS[bool(fast_math)] + tuple(build_options)
        compiled = (cache or nvrtc.CUBIN_CACHE).get(kernel_source.code, arch,
                                                    f"{kernel_source.pipeline}.cu", options)
        return CUDAExecutable(kernel_source, compiled, device=dev, selector=device)


def load(kernel_source, device=None, **options) -> CUDAExecutable:
    """Module-level shortcut for :meth:`CUDARuntime.load`."""
    return CUDARuntime().load(kernel_source, device=device, **options)


def info() -> list[str]:
    """Lines for ``vortex info``: cuda-bindings, NVRTC and its archs, the header directory,
    the driver and its devices (or why there are none)."""
    lines = [f"  cuda-bindings {package_version('cuda-bindings')}, cuda-pathfinder "
             f"{package_version('cuda-pathfinder')}"]
    try:
        lines.append(f"  NVRTC {'.'.join(map(str, nvrtc.version()))}: compiles for "
                     f"{' '.join(archs.supported(Target.CUDA))}")
    except Exception as e:  # noqa: BLE001 - report, don't crash
        lines.append(f"  NVRTC unavailable: {e} (pip install \"vortex[cuda]\")")
    inc = nvrtc.include_dir()
    lines.append(f"  headers (cuda_fp16.h, cuda_bf16.h): {inc}" if inc else
                 "  headers not found: pip install nvidia-cuda-runtime (or set CUDA_HOME)")
    lines.append(f"  compile cache: {nvrtc.cache_dir()}")
    if not has_cuda_device():
        try:
            driver()
        except errors.DeviceError as e:
            lines.append(f"  {e} (compiling with arch= still works)")
        return lines
    lines.append(f"  driver: CUDA {driver_version()}")
    lines += [f"  - {describe(d)}" for d in all_devices()]
    return lines
