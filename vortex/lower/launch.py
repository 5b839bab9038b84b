"""The launch shape of a stage from its loop nest: blocks from the loops bound to
``gpu_blocks``, threads from those bound to ``gpu_threads`` (constant extents)."""
from __future__ import annotations

import sympy as sp

from .. import errors
from ..algorithm.symbolic import show
from .ir import For, ForKind, i32
from .sym import from_sympy


def launch_shape(nest, stage: str) -> tuple[tuple, tuple]:
    """(grid: sympy blocks per axis x, y, z; block: int threads per axis) of ``nest``.
    Raises vx.ScheduleError when an axis is bound twice or a thread extent is not constant."""
    grid, blk = [sp.Integer(1)] * 3, [1] * 3
    seen = set()
    for lp in nest.loops:
        if lp.axis is None:
            continue
        if lp.axis in seen:
            raise errors.ScheduleError(f"Func {stage!r}: two loops are bound to "
                                       f"{lp.axis.name.lower()}; bind each GPU axis once")
        seen.add(lp.axis)
        ext = sp.sympify(lp.extent)
        if lp.axis.is_block:
            grid[lp.axis.dim] = ext
        elif not ext.is_Integer:
            raise errors.ScheduleError(
                f"gpu_threads({lp.name}) on Func {stage!r}: the thread extent {show(ext)} "
                "is not a constant; split the loop with a constant factor first (e.g. gpu_tile)")
        else:
            blk[lp.axis.dim] = int(ext)
    return tuple(grid), tuple(blk)


def bound_loops(nest, body):
    """``body`` inside ``nest``'s GPU-bound loops as ``For`` loops of kind GPU_BLOCK /
    GPU_THREAD (blocks outside threads, each in nest order), for the offload pass."""
    gpu = [lp for lp in nest.loops if lp.axis is not None]
    order = [lp for lp in gpu if lp.axis.is_block] + [lp for lp in gpu if not lp.axis.is_block]
    for lp in reversed(order):
        kind = ForKind.GPU_BLOCK if lp.axis.is_block else ForKind.GPU_THREAD
        body = For(lp.name, i32(0), from_sympy(lp.extent), kind, body, lp.axis)
    return body
