"""The OpenCL runtime (pyopencl): build OpenCL C 1.2 kernels, launch them, time them with
profiling events. It runs everywhere PoCL does, which makes it the correctness oracle of CI.

Compile cache (docs/design.md): built programs are kept in memory under ``cache_key`` — sha256 of the
source, build options, dialect, :func:`device_key` (platform, device, driver and OpenCL versions),
the pyopencl version and the Vortex version — and pyopencl keeps the binaries on disk across
processes. Build options default to ``-cl-std=CL1.2`` and nothing that changes numerics (no
``-cl-fast-relaxed-math`` unless ``fast_math=True``), so results match numpy: the source's
prelude turns contraction off (``#pragma OPENCL FP_CONTRACT OFF``) unless that flag is given.
"""
from __future__ import annotations

import hashlib
import re
import statistics
from dataclasses import replace

import numpy as np
import pyopencl as cl
import pyopencl.array as cla

from .. import errors
from ..codegen.kernel_source import BufferRole
from ..target import Target
from .base import (Executable, Runtime, buffer_shape, check_launch_args, check_out,
                   check_out_names, out_arrays, scalar_value, source_excerpt)
from .limits import check_launches
from .opencl_device import (ENV_VAR, all_devices, context_queue,  # noqa: F401
                            describe, device_key, device_limits, device_slug, list_devices,
                            select_device)

__all__ = ["OpenCLRuntime", "OpenCLExecutable", "ProgramCache", "PROGRAM_CACHE", "BUILD_OPTIONS",
           "MATH_OPTIONS", "load", "cache_key", "select_device", "list_devices", "device_key",
           "device_slug"]

BUILD_OPTIONS = ("-cl-std=CL1.2",)
# fast_math → flags (docs/semantics.md): strict float math is the source's FP_CONTRACT OFF, which
# -cl-fast-relaxed-math lifts (it defines __FAST_RELAXED_MATH__, see codegen.dialect).
MATH_OPTIONS = {False: (), True: ("-cl-fast-relaxed-math",)}
_EXTENSION = re.compile(r"#pragma\s+OPENCL\s+EXTENSION\s+(\w+)\s*:\s*enable")
_LOCATION = re.compile(r":(\d+):(\d+):")


def cache_key(source: str, options, device) -> str:
    """sha256 hex of everything a built OpenCL program depends on."""
    import vortex
    parts = (source, " ".join(options), Target.OPENCL.value, device_key(device),
             cl.VERSION_TEXT, vortex.__version__)
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


class ProgramCache:
    """Built programs by :func:`cache_key`; ``builds`` and ``hits`` count compiler calls and
    reuses in this process."""

    def __init__(self):
        self.programs: dict = {}
        self.builds = 0
        self.hits = 0

    def clear(self) -> None:
        self.programs.clear()
        self.builds = self.hits = 0

    def get(self, device, source: str, options: tuple, entries: tuple):
        key = cache_key(source, options, device)
        if key in self.programs:
            self.hits += 1
            return self.programs[key]
        ctx, _ = context_queue(device)
        self.builds += 1
        try:
            program = cl.Program(ctx, source).build(options=list(options), devices=[device])
        except cl.Error as e:
            raise _build_error(str(e), source, options, entries, device) from None
        self.programs[key] = program
        return program


PROGRAM_CACHE = ProgramCache()


def _build_error(message: str, source: str, options, entries, device):
    m = re.search(r"Build on [^\n]*:\n(.*?)\n*\(options:", message, re.S)
    log = (m.group(1) if m else message).strip()
    if "unknown target CPU" in log:
        return errors.DeviceError(f"the OpenCL driver of {describe(device)} cannot compile for "
                                  f"this CPU ({log.splitlines()[0]}); pick another device with "
                                  f"{ENV_VAR}, or install a PoCL that knows this CPU (Debian/"
                                  "Ubuntu: apt-get install pocl-opencl-icd)")
    excerpt = source_excerpt(source, {int(n) for n, _ in _LOCATION.findall(log)})
    text = (f"OpenCL build failed for kernel(s) {', '.join(entries)} on {describe(device)} "
            f"(options: {' '.join(options)})\ncompiler log:\n{log}")
    if excerpt:
        text += "\nsource:\n" + excerpt
    return errors.CompileError(text)


class OpenCLExecutable(Executable):
    """A KernelSource built for one OpenCL device. ``context`` and ``queue`` are the ones input
    pyopencl Arrays must live on (``pyopencl.array.to_device(exe.queue, a)``)."""

    def __init__(self, kernel_source, device, program):
        self.kernel_source = kernel_source
        self.device = device
        self.context, self.queue = context_queue(device)
        self.kernels = {}
        check_launch_args(kernel_source)
        for launch in kernel_source.launches:
            if launch.entry not in self.kernels:
                try:
                    self.kernels[launch.entry] = cl.Kernel(program, launch.entry)
                except cl.Error:
                    raise errors.CompileError(f"kernel {launch.entry!r} is not defined in the "
                                              f"source of pipeline {kernel_source.pipeline!r}"
                                              ) from None
            self._check_fits(launch)

    def _check_fits(self, launch):
        """What only the built kernel knows, as :func:`check_launches` limits: its work-group
        maximum ``CL_KERNEL_WORK_GROUP_SIZE`` (below the device's when it needs many registers)
        and the local memory the implementation adds to its own ``__local`` arrays."""
        kernel, dev, info = self.kernels[launch.entry], self.device, cl.kernel_work_group_info
        group = kernel.get_work_group_info(info.WORK_GROUP_SIZE, dev)
        added = max(0, kernel.get_work_group_info(info.LOCAL_MEM_SIZE, dev) - launch.shared_bytes)
        device = device_limits(dev)
        built = replace(device, name=f"{device.name} (as built)",
                        max_threads=min(device.max_threads, group),
                        max_shared=device.max_shared - added)
        check_launches(replace(self.kernel_source, launches=(launch,)), built)

    # ---- buffers ------------------------------------------------------------------------------
    def _device_array(self, name, value, shape, dtype):
        if value.context != self.context:
            raise errors.InputError(f"{name!r} is a pyopencl Array of another context; allocate "
                                    "it on the executable's queue (pyopencl.array.to_device("
                                    "exe.queue, a))")
        if tuple(value.shape) != shape or value.dtype != dtype:
            raise errors.InputError(f"{name!r} must have shape {shape} and dtype {dtype}, got "
                                    f"{tuple(value.shape)} {value.dtype}")
        if not value.flags.c_contiguous or value.offset:
            raise errors.InputError(f"{name!r} must be a C-contiguous pyopencl Array without "
                                    "offset; pass a copy")
        return value

    def _buffers(self, binding, out: dict) -> dict:
        ks, q = self.kernel_source, self.queue
        check_out_names(ks, out)
        bufs = {}
        for buf in ks.buffers:
            shape, dtype = buffer_shape(buf, binding), buf.dtype.np
            if buf.role is BufferRole.INPUT:
                if buf.name not in binding.arrays:
                    raise errors.InputError(f"input {buf.name!r} is missing from the call")
                value = binding.arrays[buf.name]
                if isinstance(value, cla.Array):
                    bufs[buf.name] = self._device_array(buf.name, value, shape, dtype)
                elif tuple(value.shape) != shape or value.dtype != dtype:
                    raise errors.InputError(f"input {buf.name!r} must have shape {shape} and "
                                            f"dtype {dtype}, got {value.shape} {value.dtype}")
                else:
                    bufs[buf.name] = cla.to_device(q, np.ascontiguousarray(value))
            elif isinstance(out.get(buf.name), cla.Array):
                bufs[buf.name] = self._device_array(buf.name, out[buf.name], shape, dtype)
            else:
                bufs[buf.name] = cla.empty(q, shape, dtype)
        return bufs

    def _enqueue(self, binding, bufs: dict) -> list:
        scalars = {s.name: s for s in self.kernel_source.scalars}
        events = []
        for launch, cfg in zip(self.kernel_source.launches, self.launch_config(binding)):
            if 0 in cfg["global_size"]:
                continue
            args = [bufs[name].base_data if name in bufs else _scalar(scalars[name], binding)
                    for name in launch.args]
            kernel = self.kernels[launch.entry]
            kernel.set_args(*args)
            events.append(cl.enqueue_nd_range_kernel(self.queue, kernel, cfg["global_size"],
                                                     cfg["block"]))
        return events

    # ---- public -------------------------------------------------------------------------------
    def run(self, binding, out=None, *, outputs=None) -> tuple:
        """See :meth:`Executable.run`. ``out`` values may be pyopencl Arrays (written in place on
        the device) or numpy arrays (filled from the device); ``outputs`` is an alias of
        ``out``. Outputs not in ``out`` are numpy arrays, or pyopencl Arrays when any input is
        one."""
        out = out_arrays(self.kernel_source, out, outputs)
        bufs = self._buffers(binding, out)
        self._enqueue(binding, bufs)
        on_device = any(isinstance(a, cla.Array) for a in binding.arrays.values())
        results = []
        for name in self.kernel_source.outputs:
            target, arr = out.get(name), bufs[name]
            if isinstance(target, np.ndarray):
                check_out(name, target, arr.shape, arr.dtype)
                arr.get(self.queue, ary=target)
                results.append(target)
            elif target is not None or on_device:
                results.append(arr)
            else:
                results.append(arr.get(self.queue))
        self.queue.finish()
        return tuple(results)

    def time(self, binding, warmup: int = 3, repeat: int = 10) -> float:
        """See :meth:`Executable.time`: median ms of the summed OpenCL profiling intervals
        (``CL_PROFILING_COMMAND_START`` to ``END``) of one run's launches."""
        if repeat < 1 or warmup < 0:
            raise errors.InputError(f"time(): need repeat >= 1 and warmup >= 0, got "
                                    f"repeat={repeat}, warmup={warmup}")
        bufs = self._buffers(binding, {})
        for _ in range(warmup):
            self._enqueue(binding, bufs)
        self.queue.finish()
        samples = []
        for _ in range(repeat):
            events = self._enqueue(binding, bufs)
            if events:
                cl.wait_for_events(events)
            samples.append(sum(e.profile.end - e.profile.start for e in events) * 1e-6)
        return float(statistics.median(samples))


class OpenCLRuntime(Runtime):
    """Runtime of ``Target.OPENCL``."""

    target = Target.OPENCL

    def load(self, kernel_source, device=None, *, build_options=(), fast_math: bool = False,
             cache: ProgramCache | None = None) -> OpenCLExecutable:
        """Build ``kernel_source.code`` for ``device`` (see :func:`select_device`).

        ``build_options``: extra compiler flags after ``BUILD_OPTIONS``; ``fast_math`` adds
        ``-cl-fast-relaxed-math`` (which also lets the compiler contract ``a * b + c``). Raises vx.ScheduleError before the build when a launch's
        block (work-group) or shared (local) memory exceeds the device's limits
        (:func:`device_limits`), naming the directives to change, as on CUDA and HIP, and
        after it when it exceeds the built kernel's own; vx.CompileError (compiler log and
        source lines); vx.DeviceError (no such device, a ``#pragma OPENCL EXTENSION`` the
        device lacks)."""
        dev = select_device(device)
        check_launches(kernel_source, device_limits(dev))
        _check_extensions(kernel_source.code, dev)
        options = BUILD_OPTIONS + MATH_OPTIONS[bool(fast_math)] + tuple(build_options)
        entries = tuple(dict.fromkeys(launch.entry for launch in kernel_source.launches))
        program = (cache or PROGRAM_CACHE).get(dev, kernel_source.code, options, entries)
        return OpenCLExecutable(kernel_source, dev, program)


def _scalar(arg, binding):
    v = scalar_value(arg, binding)
    return np.uint8(v) if v.dtype == np.bool_ else v   # OpenCL kernels cannot take bool


def _check_extensions(code: str, device) -> None:
    have = set(device.extensions.split())
    for ext in _EXTENSION.findall(code):
        if ext not in have:
            what = "half-precision arithmetic (float16 compute)" if ext == "cl_khr_fp16" \
                else "an OpenCL extension"
            raise errors.DeviceError(f"the kernels use {what} through {ext}, which "
                                     f"{describe(device)} does not support; compute in float32 "
                                     f"(float16 storage needs no extension) or choose another "
                                     f"device with {ENV_VAR}")


def load(kernel_source, device=None, **options) -> OpenCLExecutable:
    """Module-level shortcut for :meth:`OpenCLRuntime.load`."""
    return OpenCLRuntime().load(kernel_source, device=device, **options)
