"""A GPU block's threads sharing work: the flat thread index, strided loops over a count of
items, and row-major coordinates of a flat index (used to fill compute_at footprints and staged
tiles cooperatively)."""
from __future__ import annotations

import math

from ..algorithm import dtypes as T
from ..algorithm.construct import binary
from ..algorithm.expr import BinaryOp, Cast, Const, Expr
from .ir import Declare, For, ForKind, GpuAxis, GpuIndex, If, Ref, block, i32, local_name

I32 = T.int32


def unflatten(t: Expr, extents) -> list:
    """Row-major coordinates (int32) of the non-negative flat index ``t`` in a box of constant
    ``extents`` (unsigned division: exact for t >= 0, and cheap)."""
    out, stride = [], math.prod(extents)
    for ext in extents:
        stride //= ext
        part = binary(BinaryOp.MOD, binary(BinaryOp.FLOORDIV, Cast(T.uint32, t),
                                           Const.make(stride, T.uint32)), Const.make(ext, T.uint32))
        out.append(Cast(I32, part))
    return out


def thread_id(block_dims) -> Expr:
    """The flat thread index within a block, x fastest."""
    bx, by, _ = block_dims
    return binary(BinaryOp.ADD, GpuIndex(GpuAxis.THREAD_X), binary(
        BinaryOp.MUL, binary(BinaryOp.ADD, GpuIndex(GpuAxis.THREAD_Y), binary(
            BinaryOp.MUL, GpuIndex(GpuAxis.THREAD_Z), i32(by))), i32(bx)))


def strided(t: str, size: int, nthreads: int, tid: Expr, body) -> For:
    """``for t in [tid, size) step nthreads: body`` — the block's threads share ``size``
    items, consecutive threads on consecutive items (coalesced)."""
    it = local_name(t, "it")
    flat = binary(BinaryOp.ADD, binary(BinaryOp.MUL, Ref(it, I32), i32(nthreads)), tid)
    return For(it, i32(0), i32(-(-size // nthreads)), ForKind.SERIAL,
               block(Declare(t, I32, flat), If(binary(BinaryOp.LT, Ref(t, I32), i32(size)), body)))


def thread_loop(var: str, extent: int, axis: GpuAxis, threads: int, body):
    """A loop over [0, extent) bound to the block's ``threads`` threads along ``axis``: one
    item per thread when they suffice (the others skip it), else the threads stride over the
    items (Halide's gpu_threads on a loop longer than the block)."""
    tid = GpuIndex(axis)
    if extent <= threads:
        inner = block(Declare(var, I32, tid), body)
        return inner if extent == threads else If(binary(BinaryOp.LT, tid, i32(extent)), inner)
    return strided(var, extent, threads, tid, body)
