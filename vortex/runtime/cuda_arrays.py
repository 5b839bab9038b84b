"""Arrays for the CUDA runtime: device allocations, and zero-copy views of other libraries'
device arrays.

A device array is taken without a copy when it exposes

- ``__cuda_array_interface__`` (v2/v3: CuPy, Numba, PyTorch CUDA tensors), or
- DLPack (``__dlpack__`` + ``__dlpack_device__`` with device type kDLCUDA: JAX, PyTorch, …).

Its dtype, shape, C-contiguity and 16-byte alignment (:mod:`.alignment`) are checked
(vx.InputError naming the argument otherwise).
Host arrays (numpy, or DLPack on kDLCPU) are copied. Sources: Numba's "CUDA Array Interface
(Version 3)"; DLPack ``dlpack.h`` v0.8 (``DLManagedTensor``) and the Python array API
``__dlpack__`` protocol (``stream=1``: the legacy default stream, the one Vortex launches on).
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass

import numpy as np

from .. import errors
from .alignment import check_alignment
from .cuda_device import call, driver

__all__ = ["DeviceArray", "DeviceView", "device_view", "dlpack_tensor", "empty_like"]

KDL_CPU, KDL_CUDA, KDL_CUDA_HOST, KDL_CUDA_MANAGED = 1, 2, 3, 13
_DL_KINDS = {0: "i", 1: "u", 2: "f"}
_DL_BOOL = 6


class DeviceArray:
    """A C-contiguous allocation (``cuMemAlloc``) on ``device``, freed with the object. It
    exposes ``__cuda_array_interface__`` (so ``cupy.asarray(a)``/``torch.as_tensor(a)`` wrap
    it without a copy); ``get()`` copies it to numpy."""

    def __init__(self, shape, dtype, device):
        self.shape, self.dtype, self.device = tuple(int(s) for s in shape), np.dtype(dtype), device
        self.nbytes = int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize
        device.activate()
        self.ptr = int(call(driver().cuMemAlloc, max(self.nbytes, 1)))

    @classmethod
    def from_host(cls, array: np.ndarray, device) -> "DeviceArray":
        host = np.ascontiguousarray(array)
        arr = cls(host.shape, host.dtype, device)
        if arr.nbytes:
            call(driver().cuMemcpyHtoD, arr.ptr, host.ctypes.data, arr.nbytes)
        return arr

    def get(self, out: np.ndarray | None = None) -> np.ndarray:
        """The contents as numpy (into ``out`` when given: C-contiguous, same shape/dtype)."""
        host = np.empty(self.shape, self.dtype) if out is None else out
        if self.nbytes:
            self.device.activate()
            call(driver().cuMemcpyDtoH, host.ctypes.data, self.ptr, self.nbytes)
        return host

    @property
    def __cuda_array_interface__(self) -> dict:
        return {"shape": self.shape, "typestr": self.dtype.str, "data": (self.ptr, False),
                "strides": None, "version": 3, "stream": None}

    def __del__(self):
        try:
            self.device.activate()
            driver().cuMemFree(self.ptr)
        except Exception:  # noqa: BLE001 - at interpreter exit the driver may be gone
            pass

    def __repr__(self) -> str:
        return f"DeviceArray(shape={self.shape}, dtype={self.dtype}, ptr={self.ptr:#x})"


@dataclass
class DeviceView:
    """A device pointer borrowed from ``owner`` (kept alive while the view lives)."""

    ptr: int
    owner: object


def _c_strides(shape, itemsize: int) -> tuple:
    strides, step = [], itemsize
    for n in reversed(shape):
        strides.append(step)
        step *= n
    return tuple(reversed(strides))


def _check(name: str, shape, dtype, strides, want_shape, want_dtype) -> None:
    """``strides`` in bytes, or None for C-contiguous."""
    if tuple(shape) != tuple(want_shape) or dtype != want_dtype:
        raise errors.InputError(f"{name!r} must have shape {tuple(want_shape)} and dtype "
                                f"{want_dtype}, got {tuple(shape)} {dtype}")
    want = _c_strides(shape, dtype.itemsize)
    if strides is not None and any(s != w for s, w, n in zip(strides, want, shape) if n > 1):
        raise errors.InputError(f"{name!r} is not C-contiguous (strides {tuple(strides)} bytes); "
                                "pass a contiguous copy (cupy.ascontiguousarray, "
                                "tensor.contiguous())")


class _DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class _DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class _DLTensor(ctypes.Structure):   # the first member of DLManagedTensor
    _fields_ = [("data", ctypes.c_void_p), ("device", _DLDevice), ("ndim", ctypes.c_int32),
                ("dtype", _DLDataType), ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)), ("byte_offset", ctypes.c_uint64)]


_capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_pointer.restype = ctypes.c_void_p
_capsule_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]


def dlpack_tensor(value, stream=None) -> dict:
    """Read ``value.__dlpack__(stream=stream)``'s DLTensor without consuming it: ``ptr`` (data +
    byte_offset), ``device_type``, ``shape``, ``dtype`` (numpy; None if it has none),
    ``strides`` (bytes, or None) and ``capsule`` (keep it alive while ``ptr`` is used)."""
    try:
        capsule = value.__dlpack__() if stream is None else value.__dlpack__(stream=stream)
    except TypeError:   # a producer without the stream keyword
        capsule = value.__dlpack__()
    t = _DLTensor.from_address(_capsule_pointer(capsule, b"dltensor"))
    shape = tuple(t.shape[i] for i in range(t.ndim))
    kind = "b" if t.dtype.code == _DL_BOOL else _DL_KINDS.get(t.dtype.code)
    dtype = np.dtype(f"{kind}{t.dtype.bits // 8}") if kind and t.dtype.lanes == 1 else None
    strides = None
    if t.strides and dtype is not None:
        strides = tuple(t.strides[i] * dtype.itemsize for i in range(t.ndim))
    return {"ptr": (t.data or 0) + t.byte_offset, "device_type": t.device.device_type,
            "shape": shape, "dtype": dtype, "strides": strides, "capsule": capsule}


def device_view(name: str, value, shape, dtype) -> DeviceView | None:
    """A zero-copy DeviceView of ``value`` checked against ``shape``/``dtype``, or None when
    ``value`` lives on the host (the caller copies it)."""
    cai = getattr(value, "__cuda_array_interface__", None)
    if cai is not None:
        strides = tuple(cai["strides"]) if cai.get("strides") else None
        _check(name, cai["shape"], np.dtype(cai["typestr"]), strides, shape, dtype)
        return DeviceView(check_alignment(name, int(cai["data"][0] or 0)), value)
    if hasattr(value, "__dlpack__") and hasattr(value, "__dlpack_device__"):
        kind, _ = value.__dlpack_device__()
        if kind in (KDL_CUDA, KDL_CUDA_MANAGED):
            t = dlpack_tensor(value, stream=1)
            _check(name, t["shape"], t["dtype"], t["strides"], shape, dtype)
            return DeviceView(check_alignment(name, t["ptr"]), (value, t["capsule"]))
        if kind != KDL_CPU:
            raise errors.InputError(f"{name!r} lives on DLPack device type {kind}, which the "
                                    "CUDA runtime cannot read; pass a CUDA or host array")
    return None


def _cupy_empty(template, shape, dtype):
    import cupy
    with cupy.cuda.Device(template.device.id):
        return cupy.empty(shape, dtype)


def _torch_empty(template, shape, dtype):
    import torch
    return torch.empty(shape, dtype=getattr(torch, np.dtype(dtype).name), device=template.device)


_ALLOCATORS = {"cupy": _cupy_empty, "torch": _torch_empty}   # by the template's top module


def empty_like(template, shape, dtype, device):
    """An uninitialised output of the same library as ``template`` (a device input): a CuPy
    array, a PyTorch tensor, or else a :class:`DeviceArray`."""
    make = _ALLOCATORS.get(type(template).__module__.split(".")[0])
    return make(template, shape, dtype) if make else DeviceArray(shape, dtype, device)
