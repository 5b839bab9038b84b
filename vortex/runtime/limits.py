"""Launch limits per architecture, checked before any compiler runs.

A schedule that asks for more threads per block, more shared memory per block or a bigger grid
than the target allows is a :class:`vx.ScheduleError` that names the directive to change
(``gpu_threads``/``gpu_tile`` factors, ``store_in("shared")`` footprints, ``gpu_blocks``).

The limits of each arch are in :mod:`vortex.archs` (one table per target); an OpenCL device's
are read from the device (``CL_DEVICE_LOCAL_MEM_SIZE``), a CUDA device's from the driver
(``CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN``). Shared memory counts static and
dynamic arrays alike (vortex.codegen.shared_memory); the message names the directive behind the
kernel's biggest shared buffer.
"""
from __future__ import annotations

from .. import errors
from ..archs import Limits  # noqa: F401 - the limits of one arch (vortex.archs)
from ..codegen.shared_memory import check_shared, dynamic_shared


def with_dynamic_shared(resources: dict, kernel_source, key: str = "shared_bytes") -> dict:
    """``resources`` (entry → dict from the compiler, which counts static arrays only) with
    each entry's dynamic shared bytes added to ``key``: all the shared memory a block of the
    entry uses."""
    extra = dynamic_shared(kernel_source)
    return {e: ({**r, key: r[key] + extra[e]} if extra.get(e) and key in r else r)
            for e, r in resources.items()}


def check_launches(kernel_source, limits: Limits, binding=None):
    """Raise vx.ScheduleError when a launch of ``kernel_source`` exceeds ``limits``. Grid sizes
    are checked only when a Binding (concrete sizes) is given."""
    for launch in kernel_source.launches:
        threads = 1
        for b in launch.block:
            threads *= int(b)
        where = f"kernel {launch.entry!r} on {limits.name}"
        if threads > limits.max_threads or any(
                int(b) > m for b, m in zip(launch.block, limits.max_block)):
            raise errors.ScheduleError(
                f"{where}: a block of {'×'.join(map(str, launch.block))} = {threads} threads "
                f"exceeds the limit of {limits.max_threads} (per axis {limits.max_block}); use "
                "smaller gpu_threads / gpu_tile factors")
        check_shared(launch, limits, where)
        if binding is not None:
            grid = [binding.evaluate(g) for g in launch.grid]
            for axis, (g, m) in enumerate(zip(grid, limits.max_grid)):
                if g > m:
                    raise errors.ScheduleError(
                        f"{where}: {g} blocks along {'xyz'[axis]} exceed {m}; bind a larger "
                        "loop to gpu_blocks' x axis (the last var) or use larger tiles")

