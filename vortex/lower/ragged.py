"""The ``ragged_split`` directive's lowering: the tile table, its inspector kernel, and the reads
of the table in the Func's kernel (the inspector–executor model).

A ragged split of pure Var ``t`` (extent E) by Input ``offsets`` (n values, monotone, within
[0, E]) cuts [0, E) at the boundaries c_0 = 0, c_k = offsets[k - 1] (1 <= k <= n), c_{n+1} =
E into n + 1 segments. Segment k (rows [c_k, c_{k+1}), length L_k) owns the table slots
slot(k) + j, j < ceil(L_k / f), with slot(k) = floor(c_k / f) + k: strictly increasing in k
and never overlapping (with c_k = q f + r, ceil(L / f) <= floor((r + L) / f) + 1 =
slot(k + 1) - slot(k)), all below W = floor(E / f) + n + 1. Slot w holds the tile
``start = c_k + j f``, ``len = clamp(c_{k+1} - start, 0, f)`` (0: a spare slot, at most n + 1).

The inspector (``<f>_tiles``, launched just before the Func's kernel, one thread per slot,
blocks of :data:`THREADS`) finds the segment of its slot by a binary search over k in [0, n]
(the largest k with slot(k) <= w; :data:`STEPS` fixed steps) and writes the table, an int32
intermediate buffer ``<f>.tiles`` of 2 W elements (start, len per slot), allocated per call by
every runtime and by ``vx.export``'s launcher like any root intermediate. The Func's kernel
declares ``start``/``len`` of its block's slot in its prologue; its coordinate is ``start +
inner`` under the pure guard ``inner < len`` (:func:`vortex.lower.counters.counters`), which
the ``partition`` pass versions: ``factor - 1 < len`` (every tile but a segment's last) runs
unguarded.

Sources: Saltz et al.'s inspector–executor (IEEE TC 1991); CUTLASS grouped GEMM's problem
visitor; FlashAttention varlen's ``cu_seqlens`` tiles.
"""
from __future__ import annotations

import sympy as sp

from .. import errors
from ..algorithm import dtypes as T
from ..algorithm.ops import clamp, max as vmax, min as vmin, select
from ..algorithm.symbolic import floordiv, prove_nonneg
from ..schedule.nest import RaggedRecord
from .buffers import BufferArg, BufferRole
from .ir import (Assign, BufferLoad, Declare, For, ForKind, GpuAxis, If, Kernel, Ref, Store,
                 block, i32, local_name)
from .sym import from_sympy

I32 = T.int32
THREADS = 64     # inspector threads per block
STEPS = 32       # binary-search steps: enough for any int32 number of offsets


def record(nest) -> RaggedRecord | None:
    """The nest's ragged split, if any (at most one per Func)."""
    return next((r for r in nest.records if isinstance(r, RaggedRecord)), None)


def table(func: str) -> str:
    """The tile table's buffer name for Func ``func`` (a made name: never a user's)."""
    return local_name(func, "tiles")


def refs(rec: RaggedRecord) -> tuple[Ref, Ref]:
    """The locals holding the start row and the length of the block's tile."""
    return (Ref(local_name(rec.outer, "start"), I32), Ref(local_name(rec.outer, "len"), I32))


def _width(nest, rec):
    return sp.sympify(nest.loop(rec.outer).extent)


def tables(plans) -> list:
    """The tile-table buffers of the root Funcs with a ragged split (int32, 2 W elements)."""
    from .plan import Level
    out = []
    for p in plans.values():
        nest = p.nest() if p.level is Level.ROOT else None
        rec = None if nest is None else record(nest)
        if rec is not None:
            out.append(BufferArg(table(p.name), I32, BufferRole.INTERMEDIATE,
                                 (2 * _width(nest, rec),), (sp.Integer(0),)))
    return out


def prologue(nest, func: str):
    """``start``/``len`` of the block's tile read from the table (None without a ragged
    split); inside the GPU loops, before the computation."""
    rec = record(nest)
    if rec is None:
        return None
    start, length = refs(rec)
    at = Ref(rec.outer, I32) * 2
    return block(Declare(start.name, I32, BufferLoad(table(func), at, I32)),
                 Declare(length.name, I32, BufferLoad(table(func), at + 1, I32)))


def _check(plan, nest, rec):
    lp = nest.loop(rec.outer)
    if lp.axis is None or not lp.axis.is_block:
        raise errors.ScheduleError(
            f"{_call(rec)} on Func {plan.name!r}: the tile loop {rec.outer!r} must be bound to "
            f"gpu_blocks (each block runs one tile of the table); add gpu_blocks({rec.outer})")
    i = [v.name for v in plan.func.pure_vars].index(rec.old)
    lo = plan.loop_box[i][0]
    if not (prove_nonneg(lo) and prove_nonneg(-lo)):
        raise errors.ScheduleError(
            f"{_call(rec)} on Func {plan.name!r}: the rows of {rec.old!r} start at {lo}, not 0; "
            "ragged_split covers [0, extent) (split an output, or compute the Func over a "
            "region starting at 0)")


def _call(rec) -> str:
    return f"ragged_split({rec.old}, {rec.offsets}, {rec.outer}, {rec.inner}, {rec.factor})"


def inspector(plan, nest) -> Kernel | None:
    """The kernel writing ``plan``'s tile table (None without a ragged split). Raises
    vx.ScheduleError when the tile loop is not bound to gpu_blocks or the rows do not start
    at 0."""
    rec = record(nest)
    if rec is None:
        return None
    _check(plan, nest, rec)
    f, n = rec.factor, from_sympy(sp.sympify(rec.count))
    extent, width = from_sympy(sp.sympify(rec.old_extent)), _width(nest, rec)
    name = table(plan.name)
    bx, tx = Ref(local_name(name, "b"), I32), Ref(local_name(name, "t"), I32)
    w = bx * THREADS + tx
    slot_w, lo, hi, mid = (Ref(local_name(name, x), I32) for x in ("w", "lo", "hi", "mid"))

    def row(k):          # c_k: 0, offsets[k - 1] ..., E (k in [0, n + 1])
        load = BufferLoad(rec.offsets, vmin(vmax(k - 1, 0), n - 1), I32)
        return select(k > n, extent, select(k > 0, load, i32(0)))

    def slot(k):
        return row(k) // f + k

    step = block(Declare(mid.name, I32, (lo + hi + 1) // 2),
                 If(slot(mid) <= slot_w, Assign(lo.name, mid), Assign(hi.name, mid - 1)))
    start = Ref(local_name(name, "start"), I32)
    body = block(
        Declare(slot_w.name, I32, w),
        If(slot_w < from_sympy(width), block(
            Declare(lo.name, I32, i32(0)), Declare(hi.name, I32, n),
            For(local_name(name, "step"), i32(0), i32(STEPS), ForKind.SERIAL,
                If(lo < hi, step)),
            Declare(start.name, I32, row(lo) + (slot_w - slot(lo)) * f),
            Store(name, slot_w * 2, start),
            Store(name, slot_w * 2 + 1, clamp(row(lo + 1) - start, 0, f)))))
    blocks = floordiv(width + THREADS - 1, THREADS)
    body = For(tx.name, i32(0), i32(THREADS), ForKind.GPU_THREAD, body, GpuAxis.THREAD_X)
    body = For(bx.name, i32(0), from_sympy(blocks), ForKind.GPU_BLOCK, body, GpuAxis.BLOCK_X)
    return Kernel(f"{plan.name}_tiles", (), body, (blocks, sp.Integer(1), sp.Integer(1)),
                  (THREADS, 1, 1), ranges=((bx.name, blocks), (tx.name, sp.Integer(THREADS))))
