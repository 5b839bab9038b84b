"""Where and how each Func is computed: the schedule read into a per-Func plan.

Defaults (Halide's): outputs and Funcs with update definitions are computed at root (their own
kernels, global buffers); every other Func is inlined into its consumers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import sympy as sp

from .. import errors
from ..algorithm.expr import Reduce
from ..algorithm.func import Func
from ..algorithm.symbolic import dim_symbol, prove_nonneg
from ..algorithm.walk import find
from ..schedule import directives as D
from ..schedule.stages import stage_nest, update_rdom, update_stage
from .loops import Loop, LoopNest
from .varying import check_nest, rdom_extent


class Level(Enum):
    INLINE = "inline"
    ROOT = "root"
    AT = "at"


@dataclass
class FuncPlan:
    func: Func
    level: Level
    at: tuple | None = None            # (consumer name, loop var name)
    memory: D.MemoryType | None = None
    box: list = field(default_factory=list)   # per pure dim: (lo, extent) consumers need (sympy)
    loop_box: list = field(default_factory=list)  # per pure dim: (lo, extent) the loops cover
    directives: tuple = ()
    update_directives: tuple = ()      # per update definition: its stage's directives
    specialize: list = field(default_factory=list)  # [(Dim name, multiple)]
    requirements: list = field(default_factory=list)  # [(sympy expr >= 0 at every call, message)]
    inputs: dict = field(default_factory=dict)   # the pipeline's Inputs (ragged_split's offsets)

    @property
    def name(self) -> str:
        return self.func.name

    def primary_reduce(self) -> Reduce | None:
        found = find(self.func.definitions[0].value, lambda e: isinstance(e, Reduce))
        return found[0] if found else None

    def reduce_in(self, value) -> Reduce | None:
        """The primary reduction as it appears in ``value``, the Func's value with inlined
        Funcs substituted (None without one)."""
        raw = self.primary_reduce()
        return None if raw is None else next(
            r for r in find(value, lambda e: isinstance(e, Reduce)) if r.rdom_name == raw.rdom_name)

    def region_guards(self) -> list:
        """[(pure Var name, lo, hi)]: the needed region [lo, hi) of each dimension whose loops
        (under ``bound``) may run outside it; ``lo``/``hi`` is None on a side they provably
        stay inside. The stage skips the points outside."""
        out = []
        for v, (lo, ext), (blo, bext) in zip(self.func.pure_vars, self.box, self.loop_box):
            hi = sp.expand(lo + ext)
            below = None if prove_nonneg(blo - lo) else lo
            above = None if prove_nonneg(hi - blo - bext) else hi
            if below is not None or above is not None:
                out.append((v.name, below, above))
        return out

    def nest(self, assume: dict | None = None) -> LoopNest:
        """The loop nest after this Func's loop directives (``assume``: Dim symbol → multiple)."""
        loops = [Loop(v.name, ext) for v, (_, ext) in zip(self.func.pure_vars, self.loop_box)]
        r = self.primary_reduce()
        if r is not None:   # a bound using a Var: a symbol for it (vortex/lower/varying.py)
            loops += [Loop(v.name, rdom_extent(ext, v.name), True)
                      for v, (_, ext) in zip(r.rdom.vars, r.rdom.bounds)]
        nest = LoopNest(self.name, loops, assume=dict(assume or {}), inputs=self.inputs)
        for entry, d in enumerate(self.directives, 1):
            nest.apply(d)
            if r is not None:
                check_nest(nest, r.rdom, self.name, d, entry)
        return nest

    def update_nest(self, n: int) -> LoopNest:
        """The loops of update stage ``n`` after its directives: the update's pure Vars over
        this Func's box, then its RVars (:mod:`vortex.schedule.stages`)."""
        rdom = update_rdom(self.func.updates[n])
        rvars = {id(ext): v.name for v, (_, ext) in zip(rdom.vars, rdom.bounds)} if rdom else {}
        nest = stage_nest(self.func, n, lambda e: rdom_extent(e, rvars.get(id(e))))
        for entry, d in enumerate(self.update_directives[n], 1):
            nest.apply(d)
            if rdom is not None:
                check_nest(nest, rdom, update_stage(self.name, n), d, entry)
        return nest

    def atomic(self, n: int) -> bool:
        """Whether update stage ``n`` commits with atomic operations."""
        return any(isinstance(d, D.Atomic) for d in self.update_directives[n])


_LEVELS = {D.ComputeRoot: Level.ROOT, D.ComputeInline: Level.INLINE, D.ComputeAt: Level.AT}


def make_plans(pipe, schedule) -> dict:
    """Func name → FuncPlan, in the pipeline's producer-first order."""
    plans = {}
    outputs = {o.name for o in pipe.outputs}
    for f in pipe.funcs:
        root = f.name in outputs or f.root_by_default
        plan = FuncPlan(f, Level.ROOT if root else Level.INLINE,
                        directives=tuple(schedule.stage_directives(f.name)),
                        update_directives=tuple(
                            schedule.stage_directives(update_stage(f.name, n))
                            for n in range(len(f.updates))),
                        inputs=dict(pipe.inputs))
        plan.box = [(lo, sp.expand(hi - lo + 1)) for lo, hi in pipe.regions[f.name]]
        plan.loop_box = list(plan.box)
        for d in plan.directives:
            if type(d) in _LEVELS:
                plan.level = _LEVELS[type(d)]
                plan.at = (d.func, d.var) if isinstance(d, D.ComputeAt) else None
            elif isinstance(d, D.StoreIn):
                plan.memory = d.memory
            elif isinstance(d, D.Bound):
                _bound(plan, d)
            elif isinstance(d, D.Specialize):
                plan.specialize.append((d.condition[1], int(d.condition[2])))
        plans[f.name] = plan
    return plans


def _bound(plan: FuncPlan, d):
    """The loops over ``d.var`` cover [min, min + extent) (a constant extent, as Halide's
    bound); the buffer stays the region consumers need, and points of the bound outside it are
    skipped (:meth:`FuncPlan.region_guards`). A bound that provably misses needed points is an
    error."""
    names = [v.name for v in plan.func.pure_vars]
    if d.var not in names:
        raise errors.ScheduleError(f"bound({d.var}, {d.min}, {d.extent}) on Func {plan.name!r}: "
                                   f"{d.var!r} is not one of its pure Vars {names}")
    i = names.index(d.var)
    lo, ext = plan.box[i]
    if prove_nonneg(d.min - lo - 1) or prove_nonneg(lo + ext - d.min - d.extent - 1):
        raise errors.ScheduleError(
            f"bound({d.var}, {d.min}, {d.extent}) on Func {plan.name!r}: its consumers need "
            f"{d.var} in [{lo}, {sp.expand(lo + ext - 1)}], which [{d.min}, "
            f"{d.min + d.extent - 1}] does not cover; widen the bound")
    plan.loop_box[i] = (sp.Integer(d.min), sp.Integer(d.extent))
    need = f"bound({d.var}, {d.min}, {d.extent}) on Func {plan.name!r} covers {d.var} in " \
           f"[{d.min}, {d.min + d.extent - 1}], but this call needs [{lo}, {lo + ext - 1}]"
    plan.requirements += [(lo - d.min, need), (d.min + d.extent - lo - ext, need)]


def assumptions(plan: FuncPlan) -> dict:
    return {dim_symbol(name): n for name, n in plan.specialize}
