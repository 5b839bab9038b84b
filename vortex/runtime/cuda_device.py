"""CUDA devices through the driver API (``cuda.bindings.driver``).

The driver (``libcuda``) comes with the NVIDIA display driver, not with pip; on a machine without
it every entry point here raises ``vx.DeviceError("no CUDA device: <reason>")`` — while NVRTC
(:mod:`vortex.runtime.nvrtc`) still compiles. Each device is used through its *primary context*,
the one CuPy, PyTorch and Numba use too, so their device pointers are valid in Vortex kernels.

``device=`` selectors: None (``$VORTEX_CUDA_DEVICE``, else ordinal 0), an ordinal, or a
:class:`CudaDevice`.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass

from .. import errors
from .limits import Limits

__all__ = ["CudaDevice", "ENV_VAR", "driver", "call", "has_cuda_device", "all_devices",
           "select_device", "describe", "driver_version"]

ENV_VAR = "VORTEX_CUDA_DEVICE"


@functools.lru_cache(maxsize=None)
def _init():
    """(driver module, None) once cuInit succeeded and a device exists, else (None, reason)."""
    try:
        from cuda.bindings import driver as drv
        (err,) = drv.cuInit(0)
    except Exception as e:  # noqa: BLE001 - no libcuda: cuda.pathfinder raises its own errors
        return None, f"{type(e).__name__}: {str(e).rstrip('. ')}"
    if err != drv.CUresult.CUDA_SUCCESS:
        return None, f"cuInit failed: {_error_text(drv, err)}"
    err, count = drv.cuDeviceGetCount()
    if err != drv.CUresult.CUDA_SUCCESS or count == 0:
        return None, "the CUDA driver is installed but reports no device"
    return drv, None


def _error_text(drv, err) -> str:
    _, text = drv.cuGetErrorString(err)
    return f"{getattr(err, 'name', err)} ({text.decode() if text else 'no description'})"


def driver():
    """The initialised ``cuda.bindings.driver`` module; vx.DeviceError if no device/driver."""
    drv, reason = _init()
    if drv is None:
        raise errors.DeviceError(f"no CUDA device: {reason}")
    return drv


def call(fn, *args):
    """``fn(*args)`` for a driver function returning ``(CUresult, *values)``: None, the value,
    or a list of values. A failure is a vx.DeviceError naming the call and the CUDA error."""
    drv = driver()
    err, *values = fn(*args)
    if err != drv.CUresult.CUDA_SUCCESS:
        raise errors.DeviceError(f"{fn.__name__} failed: {_error_text(drv, err)}")
    return values[0] if len(values) == 1 else (values or None)


def has_cuda_device() -> bool:
    """True when the CUDA driver initialises and reports at least one device."""
    return _init()[0] is not None


def driver_version() -> str:
    """The driver's CUDA version, e.g. "12.4"."""
    v = call(driver().cuDriverGetVersion)
    return f"{v // 1000}.{v % 1000 // 10}"


@dataclass(frozen=True, eq=False)
class CudaDevice:
    """One CUDA device: ``ordinal``, ``name``, ``arch`` ("sm_90"), the driver ``handle`` and
    primary ``context``, and its launch ``limits`` (read from the device's attributes; shared
    memory per block is the opt-in maximum, which dynamic shared memory may use)."""

    ordinal: int
    name: str
    arch: str
    handle: object
    context: object
    limits: Limits

    def activate(self) -> None:
        """Make this device's primary context current on the calling thread."""
        call(driver().cuCtxSetCurrent, self.context)


@functools.lru_cache(maxsize=None)
def _open(ordinal: int) -> CudaDevice:
    drv = driver()
    count = call(drv.cuDeviceGetCount)
    if not 0 <= ordinal < count:
        raise errors.DeviceError(f"no CUDA device {ordinal}: there are {count} "
                                 f"(ordinals 0..{count - 1}; see {ENV_VAR})")
    handle = call(drv.cuDeviceGet, ordinal)
    attr = drv.CUdevice_attribute

    def get(name: str) -> int:
        return call(drv.cuDeviceGetAttribute, getattr(attr, f"CU_DEVICE_ATTRIBUTE_{name}"), handle)

    arch = f"sm_{get('COMPUTE_CAPABILITY_MAJOR')}{get('COMPUTE_CAPABILITY_MINOR')}"
    limits = Limits(arch, get("MAX_THREADS_PER_BLOCK"),
                    tuple(get(f"MAX_BLOCK_DIM_{a}") for a in "XYZ"),
                    get("MAX_SHARED_MEMORY_PER_BLOCK_OPTIN"),
                    tuple(get(f"MAX_GRID_DIM_{a}") for a in "XYZ"))
    name = call(drv.cuDeviceGetName, 256, handle).split(b"\0")[0].decode()
    context = call(drv.cuDevicePrimaryCtxRetain, handle)
    return CudaDevice(ordinal, name, arch, handle, context, limits)


def select_device(device=None) -> CudaDevice:
    """The CudaDevice for a ``device=`` selector (see the module docstring)."""
    if isinstance(device, CudaDevice):
        return device
    if device is None:
        device = os.environ.get(ENV_VAR, "0")
    try:
        ordinal = int(device)
    except (TypeError, ValueError):
        raise errors.DeviceError(f"CUDA device={device!r}: give a device ordinal (0, 1, …) or "
                                 "None for the default") from None
    return _open(ordinal)


def all_devices() -> list[CudaDevice]:
    """Every CUDA device (empty when there is no driver or device)."""
    if not has_cuda_device():
        return []
    return [_open(i) for i in range(call(driver().cuDeviceGetCount))]


def describe(device: CudaDevice) -> str:
    return f"CUDA device {device.ordinal} {device.name!r} ({device.arch})"
