"""Launch limits per architecture, checked before any compiler runs.

A schedule that asks for more threads per block, more shared memory per block or a bigger grid
than the target allows is a :class:`vx.ScheduleError` that names the directive to change
(``gpu_threads``/``gpu_tile`` factors, ``store_in("shared")`` footprints, ``gpu_blocks``).

The limits of each arch are in :mod:`vortex.archs` (one table per target); an OpenCL device's
are read from the device.
"""
from __future__ import annotations

from .. import errors
from ..archs import Limits  # noqa: F401 - the limits of one arch (vortex.archs)


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
        if launch.shared_bytes > limits.max_shared:
            raise errors.ScheduleError(
                f"{where}: {launch.shared_bytes} bytes of shared memory per block exceed the "
                f"{limits.max_shared} bytes allowed; use smaller tiles in stage(...), fewer "
                "stages in pipeline(...), or a smaller compute_at + store_in(\"shared\") "
                "footprint")
        if binding is not None:
            grid = [binding.evaluate(g) for g in launch.grid]
            for axis, (g, m) in enumerate(zip(grid, limits.max_grid)):
                if g > m:
                    raise errors.ScheduleError(
                        f"{where}: {g} blocks along {'xyz'[axis]} exceed {m}; bind a larger "
                        "loop to gpu_blocks' x axis (the last var) or use larger tiles")
