"""The alignment a device buffer must have to be used in place (zero-copy).

Generated CUDA/HIP kernels read and write 16 bytes at a time where the lowering proves the
element offset a multiple of the vector (``float4`` loads and stores, 16-byte ``cp.async``
copies: vortex/codegen/vector_memory.py, vortex/lower/vector_copy.py); the proof takes each
buffer's base address as 16-byte aligned, which every allocation (``cudaMalloc``/``hipMalloc``:
256 bytes, CuPy's and PyTorch's pools) satisfies. A view that starts inside an allocation
(``a[1:]``) need not: a vector access through it would fault or, on some devices, read the
wrong bytes, so such a view is refused before any launch.
"""
from __future__ import annotations

from .. import errors

ALIGNMENT = 16   # bytes: the widest access a generated kernel makes (float4, cp.async 16)


def check_alignment(name: str, ptr: int) -> int:
    """``ptr`` when it is a multiple of :data:`ALIGNMENT`; vx.InputError naming ``name``."""
    if ptr % ALIGNMENT:
        raise errors.InputError(
            f"{name!r} starts at device address {ptr:#x}, not a multiple of {ALIGNMENT} bytes "
            f"(a view such as a[1:] of a larger array); Vortex kernels access buffers "
            f"{ALIGNMENT} bytes at a time: pass a copy (cupy.ascontiguousarray(a.copy()), "
            f"tensor.clone())")
    return ptr
