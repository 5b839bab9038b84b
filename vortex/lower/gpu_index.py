"""The value of each GPU-bound loop counter: the hardware index, remapped where a schedule says
so — ``warp_specialize`` (compute threads follow the producer warps in a 1-D block) and
``swizzle_blocks`` (grouped rasterization of the x/y block grid, Triton's GROUP_SIZE_M)."""
from __future__ import annotations

from ..algorithm import dtypes as T
from ..algorithm.construct import binary
from ..algorithm.expr import BinaryOp, Cast, Const
from ..schedule import gpu_directives as G
from .ir import GpuAxis, GpuIndex, i32
from .sym import from_sympy

U32 = T.uint32


def _u(e):
    return Cast(U32, e)


def _uc(v):
    return Const.make(int(v), U32)


def gpu_indices(stage, gpu_loops) -> dict:
    """Loop name → int32 expression of its index for the loops in ``gpu_loops``."""
    out = {lp.name: GpuIndex(lp.axis) for lp in gpu_loops}
    producers = stage.staging.producers
    if producers:
        bx, by, _ = stage.launch_compute()
        ctid = _u(binary(BinaryOp.SUB, GpuIndex(GpuAxis.THREAD_X), i32(producers)))
        parts = {GpuAxis.THREAD_X: binary(BinaryOp.MOD, ctid, _uc(bx)),
                 GpuAxis.THREAD_Y: binary(BinaryOp.MOD, binary(BinaryOp.FLOORDIV, ctid, _uc(bx)),
                                          _uc(by)),
                 GpuAxis.THREAD_Z: binary(BinaryOp.FLOORDIV, ctid, _uc(bx * by))}
        for lp in gpu_loops:
            if not lp.axis.is_block:
                out[lp.name] = Cast(T.int32, parts[lp.axis])
    groups = [d.group for d in stage.plan.directives if isinstance(d, G.SwizzleBlocks)]
    if groups:
        out.update(_swizzled(stage, gpu_loops, groups[-1]))
    return out


def _swizzled(stage, gpu_loops, g: int) -> dict:
    """Blocks in row-major launch order visit tiles in groups of ``g`` tile rows, column by
    column inside a group, so ``g`` rows of A tiles and one column of B tiles stay in L2."""
    grid = stage.launch()[0]
    gx, gy = _u(from_sympy(grid[0])), _u(from_sympy(grid[1]))
    pid = binary(BinaryOp.ADD, binary(BinaryOp.MUL, _u(GpuIndex(GpuAxis.BLOCK_Y)), gx),
                 _u(GpuIndex(GpuAxis.BLOCK_X)))
    width = binary(BinaryOp.MUL, _uc(g), gx)
    first = binary(BinaryOp.MUL, binary(BinaryOp.FLOORDIV, pid, width), _uc(g))
    size = binary(BinaryOp.MIN, binary(BinaryOp.SUB, gy, first), _uc(g))
    within = binary(BinaryOp.MOD, pid, width)
    new = {GpuAxis.BLOCK_Y: binary(BinaryOp.ADD, first, binary(BinaryOp.MOD, within, size)),
           GpuAxis.BLOCK_X: binary(BinaryOp.FLOORDIV, within, size)}
    return {lp.name: Cast(T.int32, new[lp.axis]) for lp in gpu_loops if lp.axis in new}
