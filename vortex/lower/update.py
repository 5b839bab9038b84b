"""Update definitions: one kernel each, run after the Func's pure kernel, in definition order.

An update stage's loops (:mod:`vortex.schedule.stages`: the update's pure Vars, then its RVars)
take their directives from ``s[f].update(n)``. Loops bound to GPU blocks and threads run in
parallel, outside the serial ones: the schedule check (:mod:`vortex.schedule.races`) has proven
that the iterations running at once touch different points of the Func, or commit with atomic
operations (``atomic()``), so each point still sees its updates in the serial loops' order. An
unscheduled update runs as a single GPU thread, correct for every update. A split that does not
divide its extent is guarded (Halide's GuardWithIf), as are the RDom's ``where`` predicates.

Producers computed at a loop of the stage (``s[g].compute_at("f.update(n)", ro)``, Halide's
``g.compute_at(f, r)`` with ``r`` an RVar loop of f's update) are realised by the pure stages'
machinery (:func:`vortex.lower.sliding.site_stmts`, :func:`vortex.lower.sites.compute_site`):
:class:`UpdateStage` gives it the stage's loops, coordinates and expressions. The footprint at a
loop covers every read of the producer in the update's left-hand side, value and ``where``
predicates with the loops inside the site over their extents; at a gpu_blocks loop, or at a serial loop with
``store_in("shared")`` (every thread of the block runs it: the guards sit inside the loops), the
block fills a shared box between barriers, elsewhere each thread fills its own. Operand tiles
(``s[f].update(n).stage(X, at=v)``, ``pipeline(v, stages=k)``) are the pure stages' too
(:class:`vortex.lower.staging.Staging`), built before the producers so that one computed at
``v`` reads them.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..algorithm import dtypes as T
from ..algorithm.construct import binary
from ..algorithm.expr import BinaryOp, Var
from ..schedule.races import atomic_form
from ..schedule.stages import update_rdom, update_stage
from .counters import counters
from .exprs import ExprLowerer, inline
from .ir import AtomicStore, For, If, Kernel, MemorySpace, block, guarded, i32
from .launch import bound_loops, launch_shape
from .sites import reader_layouts
from .staging import Staging
from .tuple_store import value_stores
from .sym import from_sympy
from .varying import place

I32 = T.int32


@dataclass(frozen=True)
class _StageName:
    """What the compute_at machinery asks of a stage's plan: the stage's name and Func."""

    name: str
    func: object
    directives: tuple = ()     # the stage's (stage() / pipeline(): :class:`.staging.Staging`)


class UpdateStage:
    """Update ``n`` of ``plan``'s Func as :mod:`vortex.lower.sites` sees a stage: its loop
    ``nest``, ``coords`` (each Var and RVar of the update as an IR expression of the loop
    counters), ``consumer_exprs`` (left-hand side, value and ``where`` predicates, inlined
    Funcs substituted),
    ``layouts``/``realized`` and the launch shape."""

    reduce = None          # no inline reduction of its own: its RVars are loops of the stage

    def __init__(self, ctx, plan, d, n: int):
        f = plan.func
        self.ctx, self.d = ctx, d
        self.plan = _StageName(update_stage(f.name, n), f, plan.update_directives[n])
        self.nest = plan.update_nest(n)
        env, self.guards = counters(self.nest)
        coords = {}
        for pos, a in enumerate(d.lhs):
            if isinstance(a, Var):
                coords[a.name] = binary(BinaryOp.ADD, from_sympy(plan.box[pos][0]), env[a.name])
        self.rdom = update_rdom(d)
        self.at_point = dict(coords)   # an RDom bound using a pure Var reads its coordinate
        for v, (lo, _) in zip(self.rdom.vars if self.rdom else (),
                              self.rdom.bounds if self.rdom else ()):
            coords[v.name] = binary(BinaryOp.ADD, place(lo, self.at_point, layouts=ctx.layouts),
                                    env[v.name])
        self.coords = coords
        self.value = inline(d.value, ctx.inlined)
        self.predicates = [inline(p, ctx.inlined) for p in (self.rdom.predicates
                                                             if self.rdom else ())]
        self.lhs = [inline(a, ctx.inlined) for a in d.lhs]
        self.consumer_exprs = [*self.lhs, self.value, *self.predicates]
        self.layouts = dict(ctx.layouts)
        self.realized = {}
        self.staging = Staging(self)   # before the sites: a producer there reads the tiles

    def serial_loops(self) -> tuple[list, list]:
        return [lp for lp in self.nest.loops if lp.axis is None], []

    def launch(self) -> tuple[tuple, tuple]:
        return launch_shape(self.nest, self.plan.name)

    def launch_compute(self) -> tuple:
        return self.launch()[1]


def lower_update(ctx, plan, d, n: int) -> Kernel:
    """The kernel of update ``d`` (number ``n``) of ``plan``'s root Func."""
    f = plan.func
    st = UpdateStage(ctx, plan, d, n)
    nest, rdom = st.nest, st.rdom
    sites = {lp.name: ctx.site_stmts(st, lp.name) for lp in nest.loops}
    allocs = st.staging.allocations()
    ctx.shared.extend(a for a in allocs if a.memory is MemorySpace.SHARED)
    layouts = reader_layouts(st, None, {lp.name for lp in nest.loops})
    lowerer = ExprLowerer(st.coords, layouts, ctx.names)
    lhs = [lowerer.lower(a) for a in st.lhs]   # (pre, index) each
    layout = ctx.layouts[f.buffers[0][0]]        # a Tuple's elements share the layout
    index = layout.flat([i for _, i in lhs])
    form = atomic_form(f, d) if plan.atomic(n) else None
    if form is None:
        store = value_stores(lowerer, f, st.value, index)
    else:
        pre, val = lowerer.lower(inline(form[1], ctx.inlined))
        store = block(pre, AtomicStore(layout.buffer, index, val, form[0]))
    stmt = block(*(p for p, _ in lhs), store)
    for p in st.predicates:
        pre_p, cond = lowerer.lower(p)
        stmt = block(pre_p, If(cond, stmt))
    stmt = guarded([place(g, st.at_point, rdom, ctx.layouts) for g, _ in st.guards], stmt)
    for lp in reversed([lp for lp in nest.loops if lp.axis is None]):
        extent = place(from_sympy(lp.extent), st.at_point, rdom, ctx.layouts)
        body = block(sites[lp.name], stmt)
        stmt = st.staging.wrap(lp, body, extent) or For(lp.name, i32(0), extent, lp.kind, body)
    prologue = [a for a in allocs if a.memory is not MemorySpace.SHARED]
    prologue += [block(st.staging.once(lp), sites[lp.name]) for lp in nest.loops
                 if lp.axis is not None]
    shared = tuple({a.name: a for a in ctx.shared}.values())
    grid, blk = st.launch()
    ranges = tuple((lp.name, lp.extent) for lp in nest.loops if lp.axis is not None)
    return Kernel(f"{f.name}_update{n}_kernel", (),
                  block(*shared, bound_loops(nest, block(*prologue, stmt))), grid, blk,
                  sum(a.size * a.dtype.itemsize for a in shared), ranges=ranges)
