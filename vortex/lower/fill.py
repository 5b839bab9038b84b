"""Filling one footprint box of a ``compute_at`` producer (see :mod:`vortex.lower.sites`).

The producer's loops run over the box (one loop per pure Var, extent = the box's size in that
dimension, outermost first) and take its own loop directives, as in Halide, where a Func computed
inside another keeps its own schedule: ``split``/``tile``/``reorder``/``fuse`` shape them,
``unroll``/``vectorize`` mark them and ``gpu_threads`` binds them to the threads of the consumer's
block (Halide's GPU idiom ``f.compute_at(g, xo).gpu_threads(x, y)``; a bound loop longer than the
block's extent on that axis is strided over it, one shorter skips the spare threads, and block axes
it leaves unbound run on their thread 0 only). At a block-bound site a producer with no
``gpu_threads`` shares its leading serial loops out among the block's threads (all of the box, in
row-major order, when it has no loop directives: coalesced); elsewhere each thread runs all of
them. ``mma`` among its directives computes its reduction with the block's warps, the
instruction tiles over the box (:mod:`vortex.lower.mma_site`). Points outside the producer's
required region and past the end of a split that does not divide its extent are skipped.
"""
from __future__ import annotations

import math
from dataclasses import replace

import sympy as sp

from .. import errors
from ..algorithm import dtypes as T
from ..algorithm.construct import binary
from ..algorithm.expr import BinaryOp
from ..algorithm.walk import map_children, substitute
from ..schedule import directives as D
from . import cross_thread
from .counters import counters
from .exprs import ExprLowerer, Layout, flat_index
from ..algorithm.expr import Reduce, Var
from ..algorithm.func import rvars_in
from .exprs import inline
from .ir import (Allocate, Declare, For, ForKind, GpuAxis, GpuIndex, If, MemorySpace, Ref, Store,
                 block, guarded, i32, local_name, serial_nest)
from .loops import Loop, LoopNest
from .sym import from_sympy
from .threads import strided, thread_id, thread_loop, unflatten

I32 = T.int32

# Directives that shape a compute_at producer's own loops, and those that cannot apply to them.
LOOP_SHAPING = (D.Split, D.Tile, D.Reorder, D.Fuse, D.GpuThreads, D.Vectorize, D.Unroll,
                D.Mma)
NOT_AT_A_SITE = (D.GpuBlocks, D.GpuTile)


def producer_nest(plan, extents, shared: bool, where: str) -> LoopNest | None:
    """The loop nest of ``plan``'s Func over a box of constant ``extents`` after its loop
    directives; None when it has none. ``shared``: the site is block-bound. Raises
    vx.ScheduleError for gpu_blocks/gpu_tile, and for gpu_threads at a site that is not
    block-bound (``where`` names the site)."""
    ds = [d for d in plan.directives if isinstance(d, LOOP_SHAPING + NOT_AT_A_SITE)]
    for d in ds:
        if isinstance(d, NOT_AT_A_SITE):
            raise errors.ScheduleError(
                f"{d} on Func {plan.name!r}: {plan.name!r} is computed at {where}, inside one "
                f"block of its consumer, so it has no blocks of its own; bind its loops with "
                f"gpu_threads(...), or compute it at root (compute_root()) to give it a grid")
        if isinstance(d, D.GpuThreads) and not shared:
            raise errors.ScheduleError(
                f"{d} on Func {plan.name!r}: {plan.name!r} is computed at {where}, which is not "
                f"bound to gpu_blocks, so each thread computes its own {plan.name!r} and there "
                f"are no threads to bind; compute it at a gpu_blocks loop, or drop gpu_threads")
    if not ds:
        return None
    pure = [Loop(v.name, sp.Integer(e)) for v, e in zip(plan.func.pure_vars, extents)]
    mma = any(isinstance(d, D.Mma) for d in ds)
    for rvars in (cross_thread.reduction_loops(plan), []):   # RDom loops: bound, or by mma
        nest = LoopNest(plan.name, pure + rvars)
        for d in ds:
            nest.apply(d)
        if mma or not rvars or cross_thread.producer_uses_rvars(plan, nest):
            return nest


def _renamed(e, names: dict):
    """``e`` with the Vars in ``names`` (name → Var) renamed, in the bounds of the domains of
    its inline reductions too (each reduction keeps its RDom's name)."""
    def go(n):
        if isinstance(n, Var):
            return names.get(n.name, n)
        if isinstance(n, Reduce):
            rdom = n.rdom.copy(n.rdom_name, go)
            return replace(n, body=go(rdom.rebind(n.rdom_name)(n.body)), rdom=rdom)
        return map_children(n, go)
    return go(e)


def _spelling(f, d, inlined: dict):
    names = {a.name: v for a, v in zip(d.lhs, f.pure_vars)
             if isinstance(a, Var) and a.name != v.name}

    def spell(e):
        e = inline(e, inlined)
        return _renamed(e, names) if names else e
    return spell


def update_exprs(f, d, inlined: dict):
    """(value, where predicates, RDom or None) of update ``d`` of ``f`` with inlined Funcs
    substituted and its left-hand Vars spelled as ``f``'s pure Vars (``f[z] = f[z] * 2`` reads
    as ``f[x] = f[x] * 2``), so that a point of ``f`` names the update's point — in the bounds
    of inline reductions too (a bound may use the update's pure Vars)."""
    spell = _spelling(f, d, inlined)
    rv = [v for e in (*d.lhs, d.value) for v in rvars_in(e)]
    rdom = rv[0].rdom if rv else None
    return spell(d.value), [spell(p) for p in (rdom.predicates if rdom else ())], rdom


def update_bounds(f, d, rdom) -> tuple:
    """The (min, extent) bounds of update ``d``'s RDom spelled as :func:`update_exprs` does."""
    spell = _spelling(f, d, {})
    return tuple((spell(lo), spell(ext)) for lo, ext in rdom.bounds)


def fill(ctx, stage, plan, box, layout: Layout, layouts: dict, shared: bool, tags: tuple,
         where: str, storage: Layout | None = None):
    """Compute ``plan``'s Func over ``box`` ([(lo sympy, int extent)] per dimension) into
    ``layout`` (its pure value, then its updates); ``tags`` tell the names of this box's locals
    from another box's. Shared boxes are allocated in ``ctx.shared``. With ``storage`` (a layout
    over the Func's coordinates, allocated elsewhere: a sliding window's, :mod:`.sliding`) the
    points go there and ``layout`` gives only the box's origin."""
    p = plan.func
    extents = [e for _, e in box]
    size = math.prod(extents)
    decls = [Declare(r.name, I32, from_sympy(lo)) for r, (lo, _) in zip(layout.origin, box)]
    nest = producer_nest(plan, extents, shared, where)
    blk = stage.launch()[1]
    if nest is not None and nest.mma is not None:     # a sliding window's fill is per thread
        from . import mma_site       # mma -> fragment_loads -> staging -> sites -> fill
        loop = mma_site.fill(ctx, plan, nest, layout, layouts, tags, blk, shared, where)
    elif nest is not None and cross_thread.thread_rvar(nest, p.name) is not None:
        loop = cross_thread.fill_reduction(ctx, plan, nest, extents, layout, layouts, tags, blk)
    elif nest is None:
        t = Ref(local_name(p.name, "t", *tags), I32)
        point = _point(ctx, plan, layout, layouts, tags, unflatten(t, extents), t, (), storage)
        loop = (strided(t.name, size, math.prod(blk), thread_id(blk), point) if shared
                else For(t.name, i32(0), i32(size), ForKind.SERIAL, point))
    else:
        loop = _nest_loops(ctx, plan, layout, layouts, tags, nest, extents, shared, blk, storage)
    if storage is not None:
        return block(*decls, loop)
    if shared:
        ctx.shared.append(Allocate(layout.buffer, p.dtype, size, MemorySpace.SHARED))
        return block(*decls, loop)
    return block(Allocate(layout.buffer, p.dtype, size, MemorySpace.LOCAL), *decls, loop)


def _nest_loops(ctx, plan, layout, layouts, tags, nest, extents, shared, blk, storage):
    """The producer's own loops around one point of its box (see the module docstring)."""
    p = plan.func
    names = {n: Ref(local_name(p.name, n, "i", *tags), I32)
             for n in {lp.name for lp in nest.loops}}
    env, guards = counters(nest)
    offsets = [substitute(env[v.name], names, (Ref,)) for v in p.pure_vars]
    split_guards = [substitute(g, names, (Ref,)) for g, _ in guards]
    t = Ref(local_name(p.name, "t", *tags), I32)
    body = block(Declare(t.name, I32, flat_index(offsets, [i32(e) for e in extents])),
                 _point(ctx, plan, layout, layouts, tags, offsets, t, split_guards, storage))
    loops = list(nest.loops)
    bound = {lp.axis for lp in loops if lp.axis is not None}
    lead = []
    if shared and not bound:
        while len(lead) < len(loops) and loops[len(lead)].kind is ForKind.SERIAL:
            lead.append(loops[len(lead)])
        loops = loops[len(lead):]
    for lp in reversed(loops):
        var, ext = names[lp.name].name, int(lp.extent)
        body = (thread_loop(var, ext, lp.axis, blk[lp.axis.dim], body) if lp.axis is not None
                else For(var, i32(0), i32(ext), lp.kind, body))
    if lead:
        f = Ref(local_name(p.name, "f", *tags), I32)
        exts = [int(lp.extent) for lp in lead]
        parts = unflatten(f, exts)
        body = block(*(Declare(names[lp.name].name, I32, c) for lp, c in zip(lead, parts)),
                     body)
        return strided(f.name, math.prod(exts), math.prod(blk), thread_id(blk), body)
    if shared:
        spare = [binary(BinaryOp.LT, GpuIndex(a), i32(1)) for a in
                 (GpuAxis.THREAD_X, GpuAxis.THREAD_Y, GpuAxis.THREAD_Z)
                 if a not in bound and blk[a.dim] > 1]
        return guarded(spare, body)
    return body


def _point(ctx, plan, layout, layouts, tags, offsets, t: Ref, guards, storage=None):
    """Compute the producer at the box point ``offsets`` (flat index ``t``): declare its
    coordinates, skip points outside its required region (and ``guards``), store its pure value,
    apply its updates."""
    p = plan.func
    coords, inside, decls_c = {}, list(guards), []
    for v, r, off, (rlo, rhi) in zip(p.pure_vars, layout.origin, offsets,
                                     ctx.pipe.regions[p.name]):
        name = local_name(p.name, v.name, *tags)
        decls_c.append(Declare(name, I32, binary(BinaryOp.ADD, r, off)))
        c = Ref(name, I32)
        coords[v.name] = c
        inside += [binary(BinaryOp.GE, c, from_sympy(rlo)), binary(BinaryOp.LE, c, from_sympy(rhi))]
    pre, value = ExprLowerer(coords, layouts, ctx.names).lower(ctx.value(p))
    at = layout if storage is None else storage
    index = t if storage is None else storage.flat(list(coords.values()))
    own = dict(layouts, **{p.name: at})
    updates = [_update(ctx, p, d, coords, own, at.buffer, index) for d in p.updates]
    return block(*decls_c, guarded(inside, block(pre, Store(at.buffer, index, value), *updates)))


def _update(ctx, p, d, coords: dict, layouts: dict, buf: str, t):
    """Update ``d`` of ``p`` at the point ``coords`` (flat index ``t`` in ``buf``), serial over
    its RDom in order, its ``where`` predicates as guards. Pointwise (checked by compute_at), so
    applying every update point by point keeps Halide's order of updates."""
    value, preds, rdom = update_exprs(p, d, ctx.inlined)
    coords, loops = dict(coords), []
    bounds = ExprLowerer(coords, layouts, ctx.names)
    for v, (lo, ext) in zip(rdom.vars if rdom else (), update_bounds(p, d, rdom) if rdom else ()):
        n = local_name(v.name, next(ctx.names))
        coords[v.name] = binary(BinaryOp.ADD, Ref(n, I32), bounds.lower(lo)[1])
        loops.append((n, bounds.lower(ext)[1]))
    lowerer = ExprLowerer(coords, layouts, ctx.names)
    pre, val = lowerer.lower(value)
    stmt = block(pre, Store(buf, t, val))
    for pred in preds:
        pre_p, cond = lowerer.lower(pred)
        stmt = block(pre_p, If(cond, stmt))
    return serial_nest(loops, stmt)
