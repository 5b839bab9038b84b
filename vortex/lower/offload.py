"""The ``gpu offload`` pass: each ``For`` loop of a GPU kind becomes its hardware index.

Until this pass a kernel's GPU-bound loops are ordinary ``For`` loops of kind ``GPU_BLOCK`` /
``GPU_THREAD`` with their ``axis`` (Halide keeps them as loops until its GPU offload too), so
the passes before it see their ranges as loops. Here ``for v in [0, n) on axis a: body``
becomes ``v = blockIdx.a / threadIdx.a; body``; a thread loop shorter than the kernel's block
on its axis runs under ``threadIdx.a < n`` (the spare threads skip it). The launch itself
(``Kernel.grid``/``Kernel.block``) is the GPU loops' extents, set when the kernel is made.
"""
from __future__ import annotations

from dataclasses import replace

from ..algorithm import dtypes as T
from ..algorithm.construct import binary
from ..algorithm.expr import BinaryOp, Const
from .ir import Declare, For, GpuIndex, If, Kernel, Stmt, block
from .passes import Pass
from .walk import map_stmt


def _offload(k: Kernel):
    def visit(s: Stmt) -> Stmt:
        if not (isinstance(s, For) and s.kind.is_gpu):
            return s
        index = GpuIndex(s.axis)
        body = s.body
        if not s.axis.is_block:
            ext = s.extent.value if isinstance(s.extent, Const) else None
            if ext != k.block[s.axis.dim]:
                body = If(binary(BinaryOp.LT, index, s.extent), body)
        return block(Declare(s.var, T.int32, index), body)
    return visit


def offload(k: Kernel) -> Kernel:
    """``k`` with its GPU loops replaced by hardware indices (see the module docstring)."""
    return replace(k, body=map_stmt(k.body, _offload(k), lambda e: e))


OFFLOAD = Pass("gpu offload", lambda prog: prog.map_kernels(offload),
               "no GPU loop remains: each For of kind GPU_BLOCK/GPU_THREAD is a local bound to "
               "its block or thread index, under a guard where the loop is shorter than the block")
