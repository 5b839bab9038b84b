"""Cross-thread reductions: an inline reduction whose RVar loop is bound to a block's threads
(Halide's ``gpu_lanes``, Triton's ``tl.sum`` over a block, CUB's ``BlockReduce``).

``s[f].split(k, ko, ki, 256).gpu_threads(ki)`` on a Func whose pure definition reduces over ``k``:
each thread accumulates its share (the points ``ko * 256 + ki`` for its ``ki``, strided: adjacent
threads read adjacent points), then the block combines the partials across the threads along
``ki``'s axis (:class:`~vortex.lower.ir.ThreadReduce`, expanded per target by
:mod:`vortex.lower.thread_reduce`: warp shuffles then shared memory on CUDA/HIP, a shared-memory
tree on OpenCL), and every thread holds the result. Before and after, for a root Func::

    for r on blocks: for ki on threads:          for r on blocks: for ki on threads:
      acc = 0                                      acc = 0
      for k in [0, K): acc += x[r, k]    →        for ko in [0, ⌈K/256⌉): if ko*256+ki < K:
      f[r] = acc                                       acc += x[r, ko*256 + ki]
                                                   thread reduce acc over ki (block-wide)
                                                   if ki == 0: f[r] = acc

The same Func computed ``compute_at(g, row)`` at a block-bound loop of its consumer is filled
the same way by the consumer's threads (:func:`fill_reduction`), so a consumer that reads a row's
maximum and sum (softmax, RMSNorm) reads its row once per reduction, in one kernel, with all of
its threads. Its pure loops then run the same trips in every thread (a loop bound to threads is
a guard, not a branch around the collective).

Errors (vx.ScheduleError naming the Func and the loop): two RVar loops bound to threads, a bound
RVar loop whose extent is not a constant, pure loops inside the reduction (a per-thread array of
accumulators), warp specialization, a serial pure loop of a compute_at producer inside its RDom
loops, and RDom loops of a compute_at producer scheduled without being bound to threads.
"""
from __future__ import annotations

import math

import sympy as sp

from .. import errors
from ..algorithm import dtypes as T
from ..algorithm.construct import binary
from ..algorithm.expr import BinaryOp
from ..algorithm.walk import substitute
from ..algorithm.symbolic import show
from .counters import counters
from .exprs import Accumulator, ExprLowerer, flat_index, rdom_position, replace_reduce
from .ir import (Allocate, Declare, For, ForKind, GpuAxis, GpuIndex, If, MemorySpace, Ref,
                 Store, ThreadReduce, block, guarded, i32, local_name)
from .sym import from_sympy

I32 = T.int32
_THREADS = (GpuAxis.THREAD_X, GpuAxis.THREAD_Y, GpuAxis.THREAD_Z)


def thread_rvar(nest, func: str):
    """The reduction loop of ``nest`` bound to a thread axis, or None. vx.ScheduleError when
    there are several or its extent is not a constant."""
    bound = [lp for lp in nest.loops if lp.reduction and lp.axis is not None]
    if len(bound) > 1:
        raise errors.ScheduleError(
            f"gpu_threads on Func {func!r}: RDom loops {[lp.name for lp in bound]} are all bound "
            "to threads; a cross-thread reduction combines the threads along one axis: bind one "
            "of them (fuse them first to use more threads)")
    if not bound:
        return None
    lp = bound[0]
    if not sp.sympify(lp.extent).is_Integer:
        raise errors.ScheduleError(
            f"gpu_threads({lp.name}) on Func {func!r}: {lp.name!r} iterates the RDom with extent "
            f"{show(sp.sympify(lp.extent))}, not a constant; split it by a constant first "
            f"(split({lp.name}, {lp.name}o, {lp.name}i, 256).gpu_threads({lp.name}i))")
    return lp


def check_stage(stage, lanes, pure_inside, outside) -> None:
    """vx.ScheduleError where a root stage's cross-thread reduction over loop ``lanes`` cannot
    be built: pure loops ``pure_inside`` the reduction, a vectorized loop among the serial
    loops ``outside`` it, or warp specialization."""
    name = stage.plan.name
    not_under_vectors(name, lanes, outside)
    if pure_inside:
        raise errors.ScheduleError(
            f"gpu_threads({lanes.name}) on Func {name!r}: pure loops "
            f"{[lp.name for lp in pure_inside]} run inside its reduction, which would need a "
            "per-thread array of accumulators combined across threads; move them outside the "
            "RDom loops (reorder), or vectorize a pure loop of the consumer instead")
    if stage.staging.producers:
        raise errors.ScheduleError(
            f"warp_specialize on Func {name!r}: its reduction is bound to threads "
            f"({lanes.name}), which needs every thread of the block; drop one of the two")


def not_under_vectors(name: str, lanes, loops) -> None:
    """vx.ScheduleError when one of ``loops`` (around the reduction) is vectorized: each vector
    lane would need its own block-wide combine."""
    vec = [lp.name for lp in loops if lp.kind is ForKind.VECTORIZED]
    if vec:
        raise errors.ScheduleError(
            f"gpu_threads({lanes.name}) on Func {name!r}: its reduction runs inside the "
            f"vectorized loop {vec[0]!r}, and the threads cannot combine their partials once per "
            f"vector lane; vectorize a loop of the consumer instead, or unroll {vec[0]!r}")


def collective(ctx, acc: Accumulator, op, lanes, blk) -> ThreadReduce:
    """The ThreadReduce of ``acc`` over the threads along ``lanes``'s axis of a block ``blk``,
    its scratch arrays (one element per thread) allocated in ``ctx.shared``."""
    total = math.prod(blk)
    scratch = local_name(acc.name, "sh")
    ctx.shared.append(Allocate(scratch, acc.t, total, MemorySpace.SHARED))
    at, at_scratch = None, ""
    if acc.has_pos:
        at, at_scratch = Ref(acc.at_name, I32), local_name(acc.at_name, "sh")
        ctx.shared.append(Allocate(at_scratch, I32, total, MemorySpace.SHARED))
    return ThreadReduce(op=op, value=Ref(acc.name, acc.t), at=at, axis=lanes.axis,
                        block=tuple(blk), scratch=scratch, at_scratch=at_scratch)


def first_lane(lanes) -> object:
    """The condition of the thread that stores a cross-thread result: lane 0 of ``lanes``."""
    return binary(BinaryOp.EQ, GpuIndex(lanes.axis), i32(0))


# --- a compute_at producer filled by the consumer's block ----------------------------------------
def reduction_loops(plan) -> list:
    """The producer's RDom loops (its primary reduction's RVars, innermost), as Loops over
    sympy extents, for its loop nest at a site."""
    from .loops import Loop
    from .varying import rdom_extent
    r = plan.primary_reduce()
    if r is None:
        return []
    return [Loop(v.name, rdom_extent(ext, v.name), True)
            for v, (_, ext) in zip(r.rdom.vars, r.rdom.bounds)]


def producer_uses_rvars(plan, nest) -> bool:
    """Whether ``nest`` (the producer's nest with its RDom loops) binds one to threads; raises
    vx.ScheduleError where its directives shape the RDom loops without binding one."""
    if thread_rvar(nest, plan.name) is not None:
        from .varying import check_nest
        check_nest(nest, plan.primary_reduce().rdom, plan.name)   # refuses Var-bounded ones
        return True
    names = {lp.name for lp in reduction_loops(plan)}
    touched = [lp.name for lp in nest.loops if lp.reduction and (
        lp.name not in names or lp.kind is not ForKind.SERIAL)]
    if touched:
        raise errors.ScheduleError(
            f"compute_at of Func {plan.name!r}: its RDom loops {touched} are scheduled, but a "
            "producer computed at a site runs its reduction serially per point unless an RDom "
            "loop is bound to the block's threads (split(k, ko, ki, 64).gpu_threads(ki))")
    return False


def _thread_loop(var: str, ext: int, axis: GpuAxis, threads: int, body):
    """``body`` over [0, ext) of a loop bound to ``threads`` threads along ``axis``, the same
    number of trips in every thread (a guard ``var < ext`` goes with the body, see
    :func:`_guard`): one item per thread, or a strided loop when the threads are fewer."""
    tid = GpuIndex(axis)
    if ext <= threads:
        return block(Declare(var, I32, tid), body)
    it = local_name(var, "it")
    value = binary(BinaryOp.ADD, binary(BinaryOp.MUL, Ref(it, I32), i32(threads)), tid)
    return For(it, i32(0), i32(-(-ext // threads)), ForKind.SERIAL,
               block(Declare(var, I32, value), body))


def _guard(var: str, ext: int, threads: int) -> list:
    """[``var < ext``] where a thread loop's trips reach past ``ext``."""
    return [binary(BinaryOp.LT, Ref(var, I32), i32(ext))] if ext % threads else []


def box_counters(func: str, nest, tags: tuple) -> tuple[dict, dict, list, list]:
    """(var, env, pure, red) for a compute_at producer ``func``'s own loops ``nest`` over its
    box: each loop's local (``<func>.<loop>.i.<tags>``, named apart from the consumer's loops),
    each original loop var as an IR expression of those locals (:func:`counters`), and the
    split guards of the pure and of the reduction loops."""
    var = {lp.name: local_name(func, lp.name, "i", *tags) for lp in nest.loops}
    names = {n: Ref(v, I32) for n, v in var.items()}
    env, guards = counters(nest)
    env = {k: substitute(v, names, (Ref,)) for k, v in env.items()}
    return (var, env, [substitute(g, names, (Ref,)) for g, red in guards if not red],
            [substitute(g, names, (Ref,)) for g, red in guards if red])


def fill_reduction(ctx, plan, nest, extents, layout, layouts, tags, blk):
    """Statements computing the compute_at producer ``plan`` (a reduction with an RDom loop
    bound to threads) over its box at a block-bound site: for each point of the box (its pure
    loops, the same trips in every thread), the block's threads accumulate, combine across
    ``lanes`` (a ThreadReduce), and lane 0 stores the value and applies the updates."""
    from .fill import _update
    p = plan.func
    lanes = thread_rvar(nest, p.name)
    loops = list(nest.loops)
    serial = [lp for lp in loops if lp.axis is None]
    first_red = next((i for i, lp in enumerate(serial) if lp.reduction), len(serial))
    late = [lp.name for lp in serial[first_red:] if not lp.reduction]
    if late:
        raise errors.ScheduleError(
            f"compute_at of Func {p.name!r}: pure loops {late} are inside its RDom loops; a "
            "cross-thread reduction runs the pure loops outside (reorder them out)")
    not_under_vectors(p.name, lanes, serial)
    var, env, pure_ok, red_ok = box_counters(p.name, nest, tags)
    for lp in loops:
        if lp.axis is not None:
            (red_ok if lp.reduction else pure_ok).extend(
                _guard(var[lp.name], int(lp.extent), blk[lp.axis.dim]))
    offsets = [env[v.name] for v in p.pure_vars]
    t = Ref(local_name(p.name, "t", *tags), I32)
    coords, inside, decls = {}, [], [Declare(t.name, I32, flat_index(offsets, [i32(e) for e in
                                                                            extents]))]
    for v, r, off, (rlo, rhi) in zip(p.pure_vars, layout.origin, offsets,
                                     ctx.pipe.regions[p.name]):
        c = Ref(local_name(p.name, v.name, *tags), I32)
        decls.append(Declare(c.name, I32, binary(BinaryOp.ADD, r, off)))
        coords[v.name] = c
        inside += [binary(BinaryOp.GE, c, from_sympy(rlo)), binary(BinaryOp.LE, c, from_sympy(rhi))]
    value = ctx.value(p)
    red = plan.reduce_in(value)
    outer = ExprLowerer(coords, layouts, ctx.names)
    rc = dict(coords)
    for v, (lo, _) in zip(red.rdom.vars, red.rdom.bounds):
        rc[v.name] = binary(BinaryOp.ADD, outer.lower(lo)[1], env[v.name])
    inner = ExprLowerer(rc, layouts, ctx.names)
    acc = Accumulator(red.op, red.body.dtype, local_name(p.name, "acc", *tags))
    pre_b, body = inner.lower(red.body)
    pos = None
    if acc.has_pos:
        pos = rdom_position(red.rdom, [rc[v.name] for v in red.rdom.vars],
                            [outer.lower(e)[1] for _, e in red.rdom.bounds],
                            [outer.lower(lo)[1] for lo, _ in red.rdom.bounds])
    step = block(pre_b, acc.update(body, pos))
    for pred in red.rdom.predicates:
        pre_p, cond = inner.lower(pred)
        step = block(pre_p, If(cond, step))
    step = guarded(pure_ok + inside + red_ok, step)
    for lp in reversed([lp for lp in loops if lp.reduction]):
        step = (_thread_loop(var[lp.name], int(lp.extent), lp.axis, blk[lp.axis.dim], step)
                if lp.axis is not None else
                For(var[lp.name], i32(0), from_sympy(lp.extent), lp.kind, step))
    default = red.rdom.bounds[0][0] if red.rdom.ndim == 1 else i32(0)
    pre_v, out = outer.lower(replace_reduce(value, red, acc.result(outer.lower(default)[1])))
    own = dict(layouts, **{p.name: layout})
    store = block(pre_v, Store(layout.buffer, t, out),
                  *(_update(ctx, p, d, coords, own, layout.buffer, t) for d in p.updates))
    bound = {lp.axis for lp in loops if lp.axis is not None}
    spare = [binary(BinaryOp.EQ, GpuIndex(a), i32(0)) for a in _THREADS
             if a not in bound and blk[a.dim] > 1]
    point = block(*decls, acc.declare(), step, collective(ctx, acc, red.op, lanes, blk),
                  guarded(pure_ok + inside + [first_lane(lanes)] + spare, store))
    for lp in reversed([lp for lp in loops if not lp.reduction]):
        point = (_thread_loop(var[lp.name], int(lp.extent), lp.axis, blk[lp.axis.dim], point)
                 if lp.axis is not None else
                 For(var[lp.name], i32(0), i32(int(lp.extent)), lp.kind, point))
    return point

