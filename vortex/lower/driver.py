"""From (Pipeline, Schedule) to a list of kernels in launch order: ``lower(pipe, schedule)``,
the passes of :data:`PASSES` run in order (see :mod:`vortex.lower.passes`).

Root Funcs get one kernel for their pure definition (two versions under ``specialize``) and one
single-thread kernel per update definition; inlined Funcs are substituted; ``compute_at``
Funcs are emitted inside their consumer's kernel.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace

import sympy as sp

from .. import errors
from ..algorithm.bounds import to_sympy
from ..algorithm.construct import binary
from ..algorithm.expr import BinaryOp, Dim
from .buffers import BufferArg, BufferRole
from .cse import CSE
from .exprs import Layout, inline
from .ir import If, Kernel, block, conj, i32
from .jam import JAM
from .offload import OFFLOAD
from . import ragged
from .params import kernel_params
from .partition import PARTITION
from .partition_loops import PARTITION_LOOPS
from .passes import Pass, Program, run_passes
from .plan import Level, assumptions, make_plans
from .prove import prove_guards
from .registers import REGISTERS
from .simplify import simplify_stmt
from .fill import update_exprs
from .hoist import HOIST
from .sites import reads_of
from .sliding import site_stmts
from .stage import StageLowering
from .sym import from_sympy
from .tighten import TIGHTEN
from .trim import TRIM
from .unroll import UNROLL
from .update import lower_update
from ..schedule.rfactor import rfactored
from ..schedule.stages import parse


@dataclass(frozen=True)
class Lowered:
    """The lowered pipeline: kernels in launch order plus the global buffers they use."""

    pipeline: str
    kernels: tuple
    buffers: tuple
    outputs: tuple
    requirements: tuple = ()   # (sympy expression that must be >= 0 at a call, message)
    plans: dict = field(default_factory=dict, compare=False)   # Func name → FuncPlan (analysis)


class LowerContext:
    def __init__(self, pipe, plans):
        self.pipe, self.plans = pipe, plans
        self.inlined = {n: p.func for n, p in plans.items() if p.level is Level.INLINE}
        self.layouts = {}
        self.new_kernel()
        for name, inp in pipe.inputs.items():
            self.layouts[name] = Layout(name, tuple(i32(0) for _ in inp.shape), inp.shape)
        for name, plan in plans.items():
            if plan.level is Level.ROOT:
                for buf, _ in plan.func.buffers:      # a Tuple: one buffer per element
                    self.layouts[buf] = Layout(buf, tuple(from_sympy(lo) for lo, _ in plan.box),
                                               tuple(from_sympy(e) for _, e in plan.box))
        self._values = {}

    def new_kernel(self):
        """Start a kernel: no shared allocations yet, fresh local names counted from 0."""
        self.shared = []
        self.names = itertools.count()

    def value(self, f):
        if f.name not in self._values:
            self._values[f.name] = inline(f.definitions[0].value, self.inlined)
        return self._values[f.name]

    def sited(self, consumer: str, var: str):
        return [p for p in self.plans.values() if p.level is Level.AT and p.at == (consumer, var)]

    def site_stmts(self, stage, var: str):
        return site_stmts(self, stage, var)


def _definitions(ctx, f):
    """(name, expression) of every definition of a non-inlined Func, inlined Funcs substituted;
    update definitions (indices, value, ``where`` predicates) are named ``"f (update n)"``."""
    out = [(f.name, ctx.value(f))]
    for n, d in enumerate(f.updates):
        value, preds, _ = update_exprs(f, d, ctx.inlined)
        out += [(f"{f.name} (update {n})", e)
                for e in (*(inline(a, ctx.inlined) for a in d.lhs), value, *preds)]
    return out


def _check_sites(ctx):
    plans = ctx.plans
    for p in plans.values():
        if p.level is not Level.AT:
            continue
        site = parse(p.at[0])        # a Func's pure stage or "f.update(n)"
        own = site.func if site.update is None else f"{site.func} (update {site.update})"
        readers = [q for q in plans.values() if q.level is not Level.INLINE and q.at != p.at]
        for q in readers:
            for where, e in _definitions(ctx, q.func):
                if where != own and reads_of([e], p.name, ctx.inlined):
                    raise errors.ScheduleError(
                        f"compute_at({p.at[0]}, {p.at[1]}) on Func {p.name!r}: {where!r} also "
                        f"reads {p.name!r}, outside loop {p.at[1]!r} of {p.at[0]!r}; compute "
                        f"{p.name!r} at root (compute_root()) or inline it")
        consumer = plans.get(site.func)
        if consumer is None or consumer.level is not Level.ROOT:
            raise errors.ScheduleError(
                f"compute_at({p.at[0]}, {p.at[1]}) on Func {p.name!r}: the consumer must be "
                "computed at root (nested compute_at is not supported yet)")
        nest = consumer.nest() if site.update is None else consumer.update_nest(site.update)
        loops = [lp.name for lp in nest.loops]
        if p.at[1] not in loops:
            raise errors.ScheduleError(
                f"compute_at({p.at[0]}, {p.at[1]}) on Func {p.name!r}: {p.at[0]!r} has no loop "
                f"{p.at[1]!r}; its loops are {loops}")


def _stage_kernel(ctx, plan) -> Kernel:
    ctx.new_kernel()
    general = StageLowering(plan, ctx, plan.nest())
    grid, blk = general.launch()
    if plan.specialize:
        fast = StageLowering(plan, ctx, plan.nest(assumptions(plan)))
        cond = conj(binary(BinaryOp.EQ, binary(BinaryOp.MOD, Dim(dim), n), 0)
                    for dim, n in plan.specialize)
        head = general.prologue()
        fast.reuse_prologue(general)
        body = block(head, If(cond, fast.computation(), general.computation()))
    else:
        body = general.body()
    shared = tuple({a.name: a for a in ctx.shared}.values())
    body = block(*shared, general.gpu_loops(body))
    nbytes = sum(a.size * a.dtype.itemsize for a in shared)
    ranges = tuple((lp.name, lp.extent) for lp in general.nest.loops if lp.axis is not None)
    return Kernel(f"{plan.name}_kernel", (), body, grid, blk, nbytes, ranges=ranges)


def _schedule(prog: Program) -> Program:
    prog.schedule.validate()
    plans = make_plans(prog.pipe, prog.schedule)
    ctx = LowerContext(prog.pipe, plans)
    _check_sites(ctx)
    return replace(prog, plans=plans, context=ctx, buffers=_buffers(prog.pipe, plans))


def _realize(prog: Program) -> Program:
    ctx, kernels = prog.context, []
    for f in prog.pipe.funcs:
        plan = prog.plans[f.name]
        if plan.level is not Level.ROOT:
            continue
        kernels += filter(None, [ragged.inspector(plan, plan.nest())])   # its tile table
        kernels.append(_stage_kernel(ctx, plan))
        for n, d in enumerate(f.updates):
            ctx.new_kernel()
            kernels.append(lower_update(ctx, plan, d, n))
    return replace(prog, kernels=tuple(kernels))


def _simplify(prog: Program) -> Program:
    return prog.map_kernels(lambda k: replace(k, body=simplify_stmt(k.body)))


def _prove(prog: Program) -> Program:
    return prog.map_kernels(prove_guards)


def _parameters(prog: Program) -> Program:
    return prog.map_kernels(lambda k: kernel_params(k, prog.pipe, prog.buffers))


PASSES = [
    Pass("schedule", _schedule,
         "every Func has its level (inline, root, compute_at site) and its loop nest, from its "
         "directives applied once; compute_at sites exist; the global buffers are known"),
    Pass("realize", _realize,
         "one kernel per root stage (two versions under specialize) and per update, in launch "
         "order: loops (the GPU-bound ones as loops of kind GPU_BLOCK/GPU_THREAD), compute_at "
         "producers, staged copies, accumulators, guards"),
    UNROLL,
    Pass("simplify", _simplify,
         "constants folded, constant conditions and one-trip loops removed"),
    Pass("prove guards", _prove,
         "no condition of an If or a staged copy that the loop ranges, the GPU launch, the "
         "enclosing conditions and the specialize facts prove"),
    TIGHTEN,
    TRIM,
    JAM,
    PARTITION,
    PARTITION_LOOPS,
    REGISTERS,
    HOIST,
    CSE,
    OFFLOAD,
    Pass("parameters", _parameters,
         "each kernel's arguments: the buffers it reads or writes, then its Dims and Params"),
]


def lower(pipe, schedule, passes=None) -> Lowered:
    """Lower ``pipe`` under ``schedule`` by running :data:`PASSES` (see vortex.lower.passes);
    raises vx.ScheduleError for directives that cannot be realised (non-constant thread
    extents, footprints, unsupported nesting)."""
    pipe = rfactored(pipe, schedule.directives)     # the pipeline with its rfactors applied
    prog = run_passes(Program(pipe, schedule), PASSES if passes is None else passes)
    requirements = tuple(r for p in prog.plans.values() for r in p.requirements)
    return Lowered(pipe.name, prog.kernels, prog.buffers,
                   tuple(buf for o in pipe.outputs for buf, _ in o.buffers),
                   requirements, prog.plans)


def _buffers(pipe, plans) -> tuple:
    outs = {o.name for o in pipe.outputs}
    bufs = [BufferArg(n, i.dtype, BufferRole.INPUT, tuple(to_sympy(s) for s in i.shape),
                      (sp.Integer(0),) * i.ndim) for n, i in pipe.inputs.items()]
    for name, p in plans.items():
        if p.level is Level.ROOT:
            role = BufferRole.OUTPUT if name in outs else BufferRole.INTERMEDIATE
            bufs += [BufferArg(buf, t, role, tuple(e for _, e in p.box),
                               tuple(lo for lo, _ in p.box)) for buf, t in p.func.buffers]
    return tuple(bufs + ragged.tables(plans))
