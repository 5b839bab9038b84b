"""Update definitions: one kernel each, run after the Func's pure kernel, in definition order.

An update stage's loops (:mod:`vortex.schedule.stages`: the update's pure Vars, then its RVars)
take their directives from ``s[f].update(n)``. Loops bound to GPU blocks and threads run in
parallel, outside the serial ones: the schedule check (:mod:`vortex.schedule.races`) has proven
that the iterations running at once touch different points of the Func, or commit with atomic
operations (``atomic()``), so each point still sees its updates in the serial loops' order. An
unscheduled update runs as a single GPU thread, correct for every update. A split that does not
divide its extent is guarded (Halide's GuardWithIf), as are the RDom's ``where`` predicates.
"""
from __future__ import annotations

from ..algorithm import dtypes as T
from ..algorithm.construct import binary
from ..algorithm.expr import BinaryOp, Var
from ..schedule.races import atomic_form
from ..schedule.stages import update_rdom
from .counters import counters
from .exprs import ExprLowerer, inline
from .ir import AtomicStore, For, If, Kernel, block, guarded, i32
from .launch import bound_loops, launch_shape
from .tuple_store import value_stores
from .sym import from_sympy
from .varying import place

I32 = T.int32


def lower_update(ctx, plan, d, n: int) -> Kernel:
    """The kernel of update ``d`` (number ``n``) of ``plan``'s root Func."""
    f = plan.func
    nest = plan.update_nest(n)
    env, guards = counters(nest)
    coords = {}
    for pos, a in enumerate(d.lhs):
        if isinstance(a, Var):
            coords[a.name] = binary(BinaryOp.ADD, from_sympy(plan.box[pos][0]), env[a.name])
    rdom = update_rdom(d)
    at_point = dict(coords)       # an RDom bound using a pure Var reads its coordinate
    for v, (lo, _) in zip(rdom.vars if rdom else (), rdom.bounds if rdom else ()):
        coords[v.name] = binary(BinaryOp.ADD, place(lo, at_point, layouts=ctx.layouts), env[v.name])
    lowerer = ExprLowerer(coords, ctx.layouts, ctx.names)
    lhs = [lowerer.lower(inline(a, ctx.inlined)) for a in d.lhs]   # (pre, index) each
    layout = ctx.layouts[f.buffers[0][0]]        # a Tuple's elements share the layout
    index = layout.flat([i for _, i in lhs])
    form = atomic_form(f, d) if plan.atomic(n) else None
    if form is None:
        store = value_stores(lowerer, f, inline(d.value, ctx.inlined), index)
    else:
        pre, val = lowerer.lower(inline(form[1], ctx.inlined))
        store = block(pre, AtomicStore(layout.buffer, index, val, form[0]))
    stmt = block(*(p for p, _ in lhs), store)
    for p in (rdom.predicates if rdom is not None else ()):
        pre_p, cond = lowerer.lower(inline(p, ctx.inlined))
        stmt = block(pre_p, If(cond, stmt))
    stmt = guarded([place(g, at_point, rdom, ctx.layouts) for g, _ in guards], stmt)
    for lp in reversed([lp for lp in nest.loops if lp.axis is None]):
        extent = place(from_sympy(lp.extent), at_point, rdom, ctx.layouts)
        stmt = For(lp.name, i32(0), extent, lp.kind, stmt)
    grid, blk = launch_shape(nest, nest.func)
    ranges = tuple((lp.name, lp.extent) for lp in nest.loops if lp.axis is not None)
    return Kernel(f"{f.name}_update{n}_kernel", (), bound_loops(nest, stmt), grid, blk, 0,
                  ranges=ranges)
