"""The HIP runtime: compile HIP C++ with hiprtc for an AMD GPU architecture, report each kernel's
resource usage from the code object, and launch/time it through the HIP runtime when an AMD GPU
is present. All ROCm access goes through ctypes (:mod:`vortex.runtime.rocm`); compiling and the
compile cache are in :mod:`vortex.runtime.hiprtc`.

Without a GPU (docs/design.md): ``vx.compile(pipe, schedule=s, target="hip", arch="gfx90a")`` compiles
and gives ``kernel.binary`` (the code object) and ``kernel.resources`` (per kernel: VGPRs, SGPRs,
LDS bytes, scratch bytes, …); calling the kernel raises ``vx.DeviceError("no HIP device: …")``.

A kernel over 64 KB of LDS (an arch with more, such as gfx950; gfx90a/gfx942 allow 64 KB and
refuse more before compiling) declares it dynamically (vortex.codegen.shared_memory) and each
launch passes the size as ``hipModuleLaunchKernel``'s ``sharedMemBytes``. HIP needs no opt-in
attribute for that: the LDS a work-group may allocate is the limit, and AMD's runtime ignores
the function attributes (HIP runtime API reference, ``hipFuncAttribute``); the exported launcher
calls ``hipFuncSetAttribute`` anyway, as CUDA code ported to HIP does.
"""
from __future__ import annotations

import contextlib
import ctypes
import statistics

import numpy as np

from .. import errors
from ..codegen.kernel_source import BufferRole
from ..target import Target
from . import code_object, hiprtc, rocm
from .base import (Executable, Runtime, buffer_shape, check_out_names, out_arrays,
                   scalar_value)
from .. import archs
from .limits import check_launches, with_dynamic_shared
from .alignment import check_alignment

__all__ = ["HIPRuntime", "HIPExecutable", "info"]


@contextlib.contextmanager
def _device_errors(what: str):
    try:
        yield
    except rocm.HipCallError as e:
        raise errors.DeviceError(f"{what}: {e}") from None


class _DeviceMemory:
    """Device pointers of one call by buffer name; frees what it allocated on exit."""

    def __init__(self, lib):
        self.lib, self.ptrs, self.owned = lib, {}, []

    def alloc(self, name: str, nbytes: int) -> int:
        p = ctypes.c_void_p()
        self.lib.call("hipMalloc", ctypes.byref(p), max(nbytes, 1))
        self.owned.append(p)
        self.ptrs[name] = p.value
        return p.value

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for p in self.owned:
            self.lib.call("hipFree", p)


def _device_pointer(name: str, value, shape: tuple, dtype) -> int:
    """Zero-copy: the data pointer of an array exposing ``__cuda_array_interface__`` (CuPy and
    PyTorch on ROCm), after checking shape, dtype, C-contiguity and 16-byte alignment
    (:mod:`.alignment`)."""
    cai = value.__cuda_array_interface__
    if tuple(cai["shape"]) != shape or np.dtype(cai["typestr"]) != dtype:
        raise errors.InputError(f"{name!r} must have shape {shape} and dtype {dtype}, got "
                                f"{tuple(cai['shape'])} {np.dtype(cai['typestr'])}")
    c_strides = tuple(int(np.prod(shape[i + 1:])) * dtype.itemsize for i in range(len(shape)))
    if cai.get("strides") not in (None, c_strides):
        raise errors.InputError(f"{name!r} must be C-contiguous; pass a contiguous copy")
    return check_alignment(name, int(cai["data"][0]))


def _on_device(value) -> bool:
    return hasattr(value, "__cuda_array_interface__")


class HIPExecutable(Executable):
    """A KernelSource compiled by hiprtc for one arch. Attributes: ``binary`` (the code object
    hiprtc returned, bytes), ``code_object`` (its ELF), ``resources`` (kernel name → dict, see
    :func:`vortex.runtime.code_object.kernel_resources`), ``arch`` ("gfx90a"), ``device`` (HIP
    device index, or None when compiled without a device), ``compile_seconds`` (hiprtc wall
    time; 0.0 on a cache hit)."""

    def __init__(self, kernel_source, arch: str, binary: bytes, device=None, lib=None,
                 compile_seconds: float = 0.0):
        self.kernel_source, self.arch, self.binary = kernel_source, arch, binary
        self.device = device
        self.compile_seconds = compile_seconds
        self._lib = lib or hiprtc.library()
        self.code_object = code_object.unbundle(binary, arch)
        self.resources = with_dynamic_shared(with_dynamic_shared(
            code_object.kernel_resources(self.code_object), kernel_source, "lds_bytes"),
            kernel_source)
        for launch in kernel_source.launches:
            if launch.entry not in self.resources:
                raise errors.CompileError(f"kernel {launch.entry!r} is not defined in the code "
                                          f"object of pipeline {kernel_source.pipeline!r}")
            threads = int(np.prod([int(b) for b in launch.block]))
            if threads > self.resources[launch.entry]["max_threads"] > 0:
                raise errors.ScheduleError(
                    f"kernel {launch.entry!r} on {arch}: {threads} threads per block exceed the "
                    f"{self.resources[launch.entry]['max_threads']} it was compiled for; use "
                    "smaller gpu_threads / gpu_tile factors")
        self._functions = None

    def _ready(self) -> dict:
        """Kernel name → hipFunction_t, loading the module on first use."""
        if self._functions is None:
            devices, reason = self._lib.devices()
            if self.device is None or not devices:
                raise errors.DeviceError(f"no HIP device: {reason or 'compiled without one'}. "
                                         f"The kernels are compiled for {self.arch}: "
                                         "kernel.binary holds the code object, kernel.resources "
                                         "their resource usage")
            _, name, dev_arch = devices[self.device]
            if dev_arch.split(":")[0] != self.arch:
                raise errors.DeviceError(f"the kernels are compiled for {self.arch} but HIP "
                                         f"device {self.device} ({name}) is {dev_arch}: compile "
                                         "without arch= to target it")
            with _device_errors(f"loading the code object on {name}"):
                module = ctypes.c_void_p()
                self._lib.call("hipSetDevice", self.device)
                self._lib.call("hipModuleLoadData", ctypes.byref(module), self.binary)
                fns = {}
                for entry in self.resources:
                    fns[entry] = ctypes.c_void_p()
                    self._lib.call("hipModuleGetFunction", ctypes.byref(fns[entry]), module,
                                   entry.encode())
            self._module, self._functions = module, fns
        else:   # the caller may have made another device current since
            with _device_errors(f"selecting HIP device {self.device}"):
                self._lib.call("hipSetDevice", self.device)
        return self._functions

    def _prepare(self, binding, out: dict, mem: _DeviceMemory) -> tuple[dict, list]:
        """Bind every buffer to a device pointer in ``mem``: (results by output name,
        [(device pointer, numpy array to fill after the launches)])."""
        ks, lib = self.kernel_source, self._lib
        check_out_names(ks, out)
        cupy = None
        if any(_on_device(a) for a in binding.arrays.values()):
            with contextlib.suppress(ImportError):
                import cupy
        results, fetch = {}, []
        for buf in ks.buffers:
            shape, dtype = buffer_shape(buf, binding), buf.dtype.np
            value = binding.arrays.get(buf.name) if buf.role is BufferRole.INPUT \
                else out.get(buf.name)
            if buf.role is BufferRole.INPUT and value is None:
                raise errors.InputError(f"input {buf.name!r} is missing from the call")
            if buf.role is BufferRole.OUTPUT and value is None and cupy is not None:
                value = cupy.empty(shape, dtype)   # device inputs give device outputs
            if value is not None and _on_device(value):
                mem.ptrs[buf.name] = _device_pointer(buf.name, value, shape, dtype)
                results[buf.name] = value
                continue
            if value is not None and (tuple(value.shape) != shape or value.dtype != dtype):
                raise errors.InputError(f"{buf.name!r} must have shape {shape} and dtype "
                                        f"{dtype}, got {tuple(value.shape)} {value.dtype}")
            ptr = mem.alloc(buf.name, int(np.prod(shape)) * dtype.itemsize)
            if buf.role is BufferRole.INPUT:
                host = np.ascontiguousarray(value)
                lib.call("hipMemcpyHtoD", ptr, host.ctypes.data, host.nbytes)
            elif buf.role is BufferRole.OUTPUT:
                if value is not None and not value.flags.c_contiguous:
                    raise errors.InputError(f"out[{buf.name!r}] must be C-contiguous")
                results[buf.name] = np.empty(shape, dtype) if value is None else value
                fetch.append((ptr, results[buf.name]))
        return results, fetch

    def _enqueue(self, binding, fns: dict, ptrs: dict) -> None:
        scalars = {s.name: s for s in self.kernel_source.scalars}
        for launch, cfg in zip(self.kernel_source.launches, self.launch_config(binding)):
            if 0 in cfg["global_size"]:
                continue
            values = [np.array([ptrs[n]], np.uintp) if n in ptrs
                      else np.array(scalar_value(scalars[n], binding)) for n in launch.args]
            params = (ctypes.c_void_p * len(values))(*[v.ctypes.data for v in values])
            grid = (tuple(cfg["grid"]) + (1, 1, 1))[:3]
            block = (tuple(cfg["block"]) + (1, 1, 1))[:3]
            self._lib.call("hipModuleLaunchKernel", fns[launch.entry], *grid, *block,
                           launch.dynamic_shared_bytes, None, params, None)

    def run(self, binding, out=None, *, outputs=None) -> tuple:
        """See :meth:`Executable.run`. numpy inputs are copied; arrays exposing
        ``__cuda_array_interface__`` (CuPy, PyTorch on ROCm) are used in place, and then outputs
        are CuPy arrays when CuPy is installed. ``out`` values are written in place."""
        out = out_arrays(self.kernel_source, out, outputs)
        fns = self._ready()
        with _device_errors(f"running {self.kernel_source.pipeline!r} on HIP device "
                            f"{self.device}"), _DeviceMemory(self._lib) as mem:
            results, fetch = self._prepare(binding, out, mem)
            self._enqueue(binding, fns, mem.ptrs)
            self._lib.call("hipDeviceSynchronize")
            for ptr, host in fetch:
                self._lib.call("hipMemcpyDtoH", host.ctypes.data, ptr, host.nbytes)
        return tuple(results[name] for name in self.kernel_source.outputs)

    def time(self, binding, warmup: int = 3, repeat: int = 10) -> float:
        """See :meth:`Executable.time`: median ms between HIP events recorded before the first
        and after the last launch of a run, on the null stream."""
        if repeat < 1 or warmup < 0:
            raise errors.InputError(f"time(): need repeat >= 1 and warmup >= 0, got "
                                    f"repeat={repeat}, warmup={warmup}")
        fns, lib = self._ready(), self._lib
        events = [ctypes.c_void_p(), ctypes.c_void_p()]
        with _device_errors(f"timing {self.kernel_source.pipeline!r}"), \
                _DeviceMemory(lib) as mem:
            self._prepare(binding, {}, mem)
            for _ in range(warmup):
                self._enqueue(binding, fns, mem.ptrs)
            for e in events:
                lib.call("hipEventCreate", ctypes.byref(e))
            samples, ms = [], ctypes.c_float()
            for _ in range(repeat):
                lib.call("hipEventRecord", events[0], None)
                self._enqueue(binding, fns, mem.ptrs)
                lib.call("hipEventRecord", events[1], None)
                lib.call("hipEventSynchronize", events[1])
                lib.call("hipEventElapsedTime", ctypes.byref(ms), *events)
                samples.append(ms.value)
            for e in events:
                lib.call("hipEventDestroy", e)
        return float(statistics.median(samples))


class HIPRuntime(Runtime):
    """Runtime of ``Target.HIP``."""

    target = Target.HIP

    def load(self, kernel_source, device=None, *, arch=None, build_options=(),
             fast_math: bool = False, cache: hiprtc.CodeObjectCache | None = None) -> HIPExecutable:
        """Compile ``kernel_source.code`` with hiprtc for ``arch`` (one of
        ``vortex.archs.supported("hip")``; default: the arch of HIP device ``device``, an index, default 0).

        Options: ``--offload-arch=<arch>``, ``COMPILE_OPTIONS``, ``-ffast-math`` with
        ``fast_math`` (else ``-ffp-contract=off``: see hiprtc.MATH_OPTIONS), then
        ``build_options``. Launch limits are checked first. Raises
        vx.ScheduleError (a block or shared memory the arch cannot hold), vx.CompileError
        (unknown arch, an arch this hiprtc cannot target, compiler log with source lines),
        vx.DeviceError (no ROCm; no device and no ``arch=``)."""
        lib = hiprtc.library()
        arch, index = hiprtc.resolve_arch(lib, arch, device)
        check_launches(kernel_source, archs.facts(Target.HIP, arch).limits)
        options = (f"--offload-arch={arch}",) + hiprtc.COMPILE_OPTIONS \
            + hiprtc.MATH_OPTIONS[bool(fast_math)] + tuple(build_options)
        entries = tuple(dict.fromkeys(launch.entry for launch in kernel_source.launches))
        name = f"{kernel_source.pipeline}.hip"
        binary, seconds = (cache or hiprtc.CODE_OBJECT_CACHE).get(
            lib, hiprtc.hiprtc_source(kernel_source.code), options, arch, entries, name)
        return HIPExecutable(kernel_source, arch, binary, index, lib, seconds)


def info() -> list[str]:
    """Lines for ``vortex info``: library, versions, the archs hiprtc can target, devices."""
    lib = rocm.library()
    if lib is None:
        return ["  libamdhip64 not found: " + hiprtc.INSTALL_HINT]
    comgr, known = lib.toolchain.get("comgr"), lib.toolchain.get("archs")
    lines = [f"  {lib.path}: HIP runtime {lib.runtime_version()}, hiprtc {lib.hiprtc_version()}"
             + (f", comgr {comgr}" if comgr else ""),
             "  compiles for: " + " ".join(archs.supported(Target.HIP))
             + ("" if known else " (comgr not found: unchecked)"),
             f"  compile cache: {hiprtc.cache_dir()}"]
    devices, reason = lib.devices()
    lines += [f"  - device {i}: {name} [{arch}]" for i, name, arch in devices] or \
        [f"  no HIP device: {reason}"]
    return lines
