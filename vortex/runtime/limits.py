"""Launch limits per architecture, checked before any compiler runs.

A schedule that asks for more threads per block, more shared memory per block or a bigger grid
than the target allows is a :class:`vx.ScheduleError` that names the directive to change
(``gpu_threads``/``gpu_tile`` factors, ``store_in("shared")`` footprints, ``gpu_blocks``).

Sources: CUDA C Programming Guide, "Technical Specifications per Compute Capability" (1024
threads per block; 48 KiB of static shared memory per block; grid y/z ≤ 65535); AMD CDNA2/RDNA2
ISA guides and the HIP programming guide (1024 threads per block, 64 KiB LDS per work-group).
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import errors


@dataclass(frozen=True)
class Limits:
    """``max_threads``: threads per block (product over axes); ``max_block``: per-axis maxima;
    ``max_shared``: static shared/local memory per block in bytes; ``max_grid``: blocks per
    axis."""

    name: str
    max_threads: int
    max_block: tuple
    max_shared: int
    max_grid: tuple


_CUDA_GRID = (2 ** 31 - 1, 65535, 65535)
CUDA_ARCHS = {f"sm_{cc}": Limits(f"sm_{cc}", 1024, (1024, 1024, 64), 48 * 1024, _CUDA_GRID)
              for cc in (75, 80, 86, 87, 89, 90, 100, 120)}
HIP_ARCHS = {arch: Limits(arch, 1024, (1024, 1024, 1024), 64 * 1024, (2 ** 31 - 1,) * 3)
             for arch in ("gfx908", "gfx90a", "gfx942", "gfx1030", "gfx1100")}


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
