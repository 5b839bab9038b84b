"""The kinds of loops and the GPU hardware axes: shared vocabulary of the schedule (a loop nest
marks loops with them) and of the lowering's IR (a ``For`` carries them), kept apart from both so
that neither package imports the other for it."""
from __future__ import annotations

from enum import Enum


class ForKind(Enum):
    """How a loop runs. The GPU kinds (a ``For`` with its hardware ``axis``) stay in the IR until
    the ``gpu offload`` pass turns each into its block or thread index; ``GPU_LANE`` (a warp's
    lanes) and ``PARALLEL`` (CPU threads) are reserved for the passes that will make them."""

    SERIAL = "serial"
    UNROLLED = "unrolled"
    VECTORIZED = "vectorized"
    GPU_BLOCK = "gpu_block"
    GPU_THREAD = "gpu_thread"
    GPU_LANE = "gpu_lane"
    PARALLEL = "parallel"

    @property
    def is_gpu(self) -> bool:
        return self in (ForKind.GPU_BLOCK, ForKind.GPU_THREAD, ForKind.GPU_LANE)


class GpuAxis(Enum):
    """A hardware index: (is_block, dimension 0=x 1=y 2=z)."""

    BLOCK_X = (True, 0)
    BLOCK_Y = (True, 1)
    BLOCK_Z = (True, 2)
    THREAD_X = (False, 0)
    THREAD_Y = (False, 1)
    THREAD_Z = (False, 2)

    @property
    def is_block(self) -> bool:
        return self.value[0]

    @property
    def dim(self) -> int:
        return self.value[1]
