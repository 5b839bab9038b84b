"""Schedules: how a Pipeline is computed on a GPU, as data (Halide's scheduling vocabulary).

``vx.Schedule(pipe)``, ``s[func].split(...)…``, ``Schedule.load/save/to_toml/to_python``,
``Schedule.default(pipe)``; directives are frozen dataclasses listed in ``DIRECTIVES``;
``vx.Tunable`` placeholders make a schedule a search space (``space.sample(params)``).
"""
from .directives import (DIRECTIVES, Bound, ComputeAt, ComputeInline, ComputeRoot, Directive,
                         Fuse, GpuBlocks, GpuThreads, GpuTile, MemoryType, Reorder, Specialize,
                         Split, StoreAt, StoreIn, Tile, Unroll, Vectorize, divisible)
from .replay import LoopNest
from .schedule import Schedule, Stage
from .tunable import Tunable

__all__ = [
    "Schedule", "Stage", "Tunable", "LoopNest", "MemoryType", "Directive", "DIRECTIVES",
    "divisible",
    "Split", "Tile", "Reorder", "Fuse", "GpuBlocks", "GpuThreads", "GpuTile", "Vectorize",
    "Unroll", "ComputeAt", "ComputeRoot", "ComputeInline", "StoreAt", "StoreIn", "Bound", "Specialize",
]
