"""A stand-in for ``cuda.bindings.driver`` so the CUDA runtime's host side (allocation, copies,
kernel-parameter packing, output hand-back, event timing) is tested without a GPU.

"Device memory" is host memory (ctypes buffers), so a numpy-backed object exposing
``__cuda_array_interface__`` is a valid "device array". ``cuLaunchKernel`` decodes the
``kernelParams`` array of pointers exactly as the driver would — each entry points at a pointer
or at a by-value scalar of the kernel's parameter type — reads the inputs through those
pointers, evaluates ``pipe.reference`` and writes the outputs through the output pointers. So a
wrongly packed argument (type, order, address) gives wrong numbers here.
"""
from __future__ import annotations

import ctypes
from types import SimpleNamespace

import numpy as np

from vortex.algorithm.binding import Binding
from vortex.codegen.kernel_source import BufferRole
from vortex.runtime.base import buffer_shape

OK = 0


class FakeDriver:
    CUresult = SimpleNamespace(CUDA_SUCCESS=OK)
    CUevent_flags = SimpleNamespace(CU_EVENT_DEFAULT=0)

    def __init__(self, kernel_source, pipe):
        self.ks, self.pipe = kernel_source, pipe
        self.memory: dict[int, ctypes.Array] = {}
        self.launches: list[dict] = []
        self.copies = {"htod": 0, "dtoh": 0}
        self.modules = 0

    # ---- memory --------------------------------------------------------------------------------
    def cuMemAlloc(self, n):
        buf = ctypes.create_string_buffer(n)
        self.memory[ctypes.addressof(buf)] = buf
        return OK, ctypes.addressof(buf)

    def cuMemFree(self, ptr):
        self.memory.pop(ptr, None)
        return (OK,)

    def cuMemcpyHtoD(self, dst, src, n):
        self.copies["htod"] += 1
        ctypes.memmove(dst, src, n)
        return (OK,)

    def cuMemcpyDtoH(self, dst, src, n):
        self.copies["dtoh"] += 1
        ctypes.memmove(dst, src, n)
        return (OK,)

    # ---- modules, launches, sync ----------------------------------------------------------------
    def cuCtxSetCurrent(self, ctx):
        return (OK,)

    def cuModuleLoadData(self, image):
        assert image[:4] == b"\x7fELF"
        self.modules += 1
        return OK, "module"

    def cuModuleGetFunction(self, module, name):
        return OK, name.decode()

    def cuLaunchKernel(self, f, gx, gy, gz, bx, by, bz, smem, stream, params, extra):
        launch = next(launch for launch in self.ks.launches if launch.entry == f)
        slots = (ctypes.c_uint64 * len(launch.args)).from_address(params)
        scalars = {s.name: s.dtype.np for s in self.ks.scalars}
        values = {}
        for name, addr in zip(launch.args, slots):
            dtype = scalars.get(name, np.dtype(np.uint64))   # buffers: a device pointer
            values[name] = np.frombuffer(ctypes.string_at(addr, dtype.itemsize), dtype)[0]
        dims = {d: int(values[d]) for d in self.pipe.dims}
        binding = Binding(dims, {}, {})
        arrays = {}
        for buf in self.ks.buffers:
            shape, dtype = buffer_shape(buf, binding), buf.dtype.np
            n = int(np.prod(shape)) * dtype.itemsize
            raw = (ctypes.c_char * n).from_address(int(values[buf.name]))
            arrays[buf.name] = np.frombuffer(raw, dtype).reshape(shape)
        args = {k: arrays[k] for k in self.pipe.inputs}
        args.update({k: values[k] for k in self.pipe.params})
        ref = self.pipe.reference(**args)
        outs = [b for b in self.ks.buffers if b.role is BufferRole.OUTPUT]
        for buf, r in zip(outs, ref if isinstance(ref, tuple) else (ref,)):
            arrays[buf.name][...] = r
        self.launches.append({"entry": f, "grid": (gx, gy, gz), "block": (bx, by, bz),
                              "shared": smem, "stream": stream, "values": values})
        return (OK,)

    def cuStreamSynchronize(self, stream):
        return (OK,)

    def cuEventCreate(self, flags):
        return OK, object()

    def cuEventRecord(self, event, stream):
        return (OK,)

    def cuEventSynchronize(self, event):
        return (OK,)

    def cuEventElapsedTime(self, start, end):
        return OK, 0.25

    def cuEventDestroy(self, event):
        return (OK,)

    def cuGetErrorString(self, err):
        return OK, b"fake error"


class HostBackedCudaArray:
    """A numpy array presented as a device array (valid under FakeDriver only)."""

    def __init__(self, array: np.ndarray):
        self.array, self.shape, self.dtype = array, array.shape, array.dtype

    @property
    def __cuda_array_interface__(self):
        a = self.array
        return {"shape": a.shape, "typestr": a.dtype.str, "data": (a.ctypes.data, False),
                "strides": None if a.flags.c_contiguous else a.strides, "version": 3}


class DLPackOnly:
    """Exposes only DLPack, claiming kDLCUDA (the capsule itself is numpy's)."""

    def __init__(self, array: np.ndarray):
        self.array, self.shape, self.dtype = array, array.shape, array.dtype

    def __dlpack__(self, stream=None):
        assert stream == 1, "CUDA consumers must ask for the legacy default stream"
        return self.array.__dlpack__()

    def __dlpack_device__(self):
        return 2, 0
