"""``mma`` on a ``compute_at`` producer: the box of a producer computed at a consumer loop, filled
by the consumer block's warps with matrix instructions (docs/tensor_cores.md, "At a site").

A producer ``p[…, i, …, j, …] = sum(a * b)`` (an epilogue allowed) computed at a block-bound or
shared serial loop of its consumer takes its own loop directives over its box
(:mod:`vortex.lower.fill`); with ``mma(i, j, k)`` among them its reduction is lowered by
:func:`vortex.lower.mma.lower` as a root mma Func's is, over the box: the lane loop on thread
axis x, the warps on the loops the producer binds with ``gpu_threads``, the results stored into
the box. The consumer's block must hold whole warps along x (its x extent a multiple of the
instruction's lanes): lanes of one warp are then threads x = 32w … 32w + 31 of one (y, z) row,
and a lane or warp loop shorter than the block skips whole warps. On OpenCL the instruction is
the lanes' plain loops (each lane its own C elements, k in order): the same sum as the loop nest.

Refused (vx.ScheduleError): a site that is not block-bound or shared (each thread computes its
own box: no warp; so is a sliding window's, ``store_at``), a block whose x extent is not a
multiple of the lanes, a producer with update definitions.
"""
from __future__ import annotations

from dataclasses import replace

from .. import errors
from ..algorithm.construct import binary
from ..algorithm.expr import BinaryOp
from . import mma
from .cross_thread import box_counters
from .exprs import ExprLowerer
from .ir import For, GpuAxis, GpuIndex, guarded, i32
from .sym import from_sympy
from .threads import thread_loop


class _NoStaging:
    tiles: dict = {}


class BoxStage:
    """What :func:`vortex.lower.mma.lower` reads of a stage, for one box of a compute_at
    producer: its ``plan``, renamed ``nest`` (the producer's loops named apart from the
    consumer's), ``coords`` of its Vars and RVars over the box, ``pure_guards`` (inexact splits,
    the producer's required region), ``red_guards``, ``reduce`` and ``value``."""

    staging = _NoStaging()

    def __init__(self, ctx, plan, nest, layout, layouts: dict, tags: tuple):
        p = plan.func
        self.ctx, self.plan, self._layouts = ctx, plan, layouts
        var, env, self.pure_guards, self.red_guards = box_counters(p.name, nest, tags)
        self.nest = replace(nest, loops=[replace(lp, name=var[lp.name]) for lp in nest.loops],
                            mma=tuple(var[n] for n in nest.mma))
        coords = {}
        for v, origin, (rlo, rhi) in zip(p.pure_vars, layout.origin, ctx.pipe.regions[p.name]):
            c = binary(BinaryOp.ADD, origin, env[v.name])
            coords[v.name] = c
            self.pure_guards += [binary(BinaryOp.GE, c, from_sympy(rlo)),
                                 binary(BinaryOp.LE, c, from_sympy(rhi))]
        self.value = ctx.value(p)
        self.reduce = plan.reduce_in(self.value)
        outer = ExprLowerer(dict(coords), layouts, ctx.names)
        for v, (lo, _) in zip(self.reduce.rdom.vars, self.reduce.rdom.bounds):
            coords[v.name] = binary(BinaryOp.ADD, outer.lower(lo)[1], env[v.name])
        self.coords = coords
        self.layouts = {p.buffers[0][0]: layout}

    def layouts_in(self, loops) -> dict:
        return self._layouts

    @staticmethod
    def _serial(loops, inner):
        for lp in reversed(loops):
            inner = For(lp.name, i32(0), from_sympy(lp.extent), lp.kind, inner)
        return inner

    _nest = _serial


def fill(ctx, plan, nest, layout, layouts: dict, tags: tuple, blk: tuple, shared: bool,
         where: str):
    """The statements filling ``layout``'s box of ``plan``'s Func (scheduled with ``mma`` in
    ``nest``, its own loops over the box) with the warps of a block ``blk``."""
    p = plan.func
    what = f"mma on Func {p.name!r} computed at {where}"
    if not shared:
        raise errors.ScheduleError(
            f"{what}: each thread computes its own box there, and a matrix instruction needs "
            "a warp; compute it at a gpu_blocks loop, or at a serial loop with "
            "store_in(\"shared\") (the block's warps fill one box)")
    if p.updates:
        raise errors.ScheduleError(
            f"{what}: it has update definitions; the instruction computes a pure sum of "
            "products: compute the updates in a Func of their own")
    st = BoxStage(ctx, plan, nest, layout, layouts, tags)
    lane = next(lp for lp in st.nest.loops if lp.name == st.nest.mma[3])
    if blk[0] % int(lane.extent):
        raise errors.ScheduleError(
            f"{what}: the consumer's block is {tuple(blk)} threads, and a warp's "
            f"{int(lane.extent)} lanes are threads along x: bind the consumer's threads so "
            f"that its x extent is a multiple of {int(lane.extent)}")
    loops = [lp for lp in st.nest.loops if lp.axis is None]
    first = next(x for x, lp in enumerate(loops) if lp.reduction)
    body = mma.lower(st, loops[first:], into=layout)
    inner = {lp.name for lp in loops[first:]}
    for lp in reversed([lp for lp in st.nest.loops if lp.name not in inner]):
        body = (thread_loop(lp.name, int(lp.extent), lp.axis, blk[lp.axis.dim], body)
                if lp.axis is not None else
                For(lp.name, i32(0), i32(int(lp.extent)), lp.kind, body))
    bound = {lp.axis for lp in st.nest.loops if lp.axis is not None}
    spare = [binary(BinaryOp.LT, GpuIndex(a), i32(1)) for a in
             (GpuAxis.THREAD_X, GpuAxis.THREAD_Y, GpuAxis.THREAD_Z)
             if a not in bound and blk[a.dim] > 1]     # unbound axes: their thread 0 only
    return guarded(spare, body)
