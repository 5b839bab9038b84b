"""Replaying a schedule on each Func: where every directive is checked, when a Schedule is built
and when a file is loaded.

Each Func's loops are a :class:`~vortex.schedule.nest.LoopNest` with unknown extents; a loop
directive is checked and applied there (:data:`vortex.schedule.nest_rules.APPLY`, the one definition
the tuner and the lowering use too). The other directives record a choice of the Func (compute
level, memory, GPU data movement) and are checked here (:data:`FUNC_RULES`). Funcs are replayed
consumers first (each Func's update stages right after it), so ``compute_at(f, v)``
sees the final loops of ``f`` — and ``compute_at("f.update(n)", v)`` those of the update stage
(the form Vortex takes for Halide's ``g.compute_at(f, r)``, ``r`` an RVar of f's update; the
bare ``compute_at(f, r)`` is refused with a message naming the stage).

Every failure is a vx.ScheduleError ``"<directive> on Func '<name>': <why>"`` with attributes
``func`` and ``entry`` (1-based index in that Func's directive list) for file messages.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..algorithm.expr import Load, Reduce, RVar, Var, same
from ..algorithm.func import Func
from ..algorithm.graph import rdoms_of, sources_of
from ..algorithm.walk import find
from . import directives as D
from . import gpu_directives as G
from . import races, sliding
from .nest import LoopNest, RaggedRecord, Reject, initial_loops, listing, located
from .nest_rules import APPLY
from .stages import parse, stage_nest, update_stage


@dataclass
class FuncState:
    """One Func after its directives: ``nest`` its :class:`LoopNest` (names only, extents
    unknown); ``compute`` the last compute_* directive (None: the default — root for outputs and
    Funcs with updates, inline otherwise); ``store`` the MemoryType or None; the ``*_entry``
    fields locate directives for the checks that need the complete list; ``staged`` (source →
    loop) and ``gpu_entries`` ((entry, directive)) are the GPU data-movement directives."""

    func: Func
    nest: LoopNest
    output: bool
    compute: D.Directive | None = None
    store: D.MemoryType | None = None
    compute_entry: int = 0
    store_entry: int = 0
    loop_entry: int = 0
    staged: dict = field(default_factory=dict)
    gpu_entries: list = field(default_factory=list)
    store_at: D.StoreAt | None = None
    store_at_entry: int = 0
    update: int | None = None      # an update stage (:mod:`.stages`): its index
    atomic_entry: int = 0

    @property
    def name(self) -> str:
        return self.func.name if self.update is None else update_stage(self.func.name,
                                                                       self.update)

    @property
    def loops(self) -> list[str]:
        """Loop var names, outermost first."""
        return self.nest.names

    @property
    def rvars(self) -> set[str]:
        """The loops that iterate a reduction domain."""
        return {lp.name for lp in self.nest.loops if lp.reduction}

    @property
    def blocks(self) -> list[str]:
        return self.nest.blocks

    @property
    def threads(self) -> list[str]:
        return self.nest.threads

    @property
    def inlined(self) -> bool:
        if self.compute is None:
            return not self.output and not self.func.root_by_default
        return isinstance(self.compute, D.ComputeInline)


class PipelineInfo:
    """What replay needs to know of a Pipeline, computed once: Funcs, outputs, consumers
    (transitive), reserved names (Funcs, Inputs, Params, Dims, RDom vars) and initial loops."""

    def __init__(self, pipe):
        self.pipe = pipe
        self.funcs = {f.name: f for f in pipe.funcs}
        self.outputs = {f.name for f in pipe.outputs}
        self.order = [f.name for f in reversed(pipe.funcs)]      # consumers first
        self.updates = [update_stage(f.name, n) for f in pipe.funcs for n in range(len(f.updates))]
        # replay order: consumers first, each Func's update stages right after it, so that
        # compute_at("f.update(n)", v) of a producer sees the update's final loops
        self.stages = [s for n in self.order for s in
                       (n, *(update_stage(n, k) for k in range(len(self.funcs[n].updates))))]
        self.dims = set(pipe.dims)
        self.reserved = set(self.funcs) | set(pipe.inputs) | set(pipe.params) | self.dims
        for f in pipe.funcs:
            self.reserved |= {v.name for rd in rdoms_of(f).values() for v in rd.vars}
        readers = {n: set() for n in self.funcs}
        for f in pipe.funcs:
            for src in sources_of(f):
                if isinstance(src, Func) and src is not f:
                    readers[src.name].add(f.name)
        self.consumers = {}
        for n in self.order:
            self.consumers[n] = set(readers[n]).union(*(self.consumers[r] for r in readers[n]))
        self._initial = {n: initial_loops(f) for n, f in self.funcs.items()}
        self._reserved = frozenset(self.reserved)

    def stage(self, name: str) -> str:
        """``name`` (a Func's or ``"f.update(n)"``) after checking the pipeline has that stage;
        vx.ScheduleError otherwise."""
        st = parse(name)
        if st.func not in self.funcs:
            from .. import errors
            what = "an Input, not a Func" if st.func in self.pipe.inputs else "unknown Func"
            raise errors.ScheduleError(f"{st.func!r} is {what} of pipeline {self.pipe.name!r} "
                                       f"(Funcs: {', '.join(self.funcs)})")
        n = len(self.funcs[st.func].updates)
        if st.update is not None and st.update >= n:
            from .. import errors
            have = {0: "none exist", 1: "only update(0) exists"}.get(
                n, f"update(0) … update({n - 1}) exist")
            raise errors.ScheduleError(f"Func {st.func!r} has {n} update definition(s), so "
                                       f"{name!r} is not one of its stages ({have})")
        return name

    def initial(self, name: str) -> FuncState:
        st = parse(name)
        f = self.funcs[st.func]
        if st.update is not None:
            nest = stage_nest(f, st.update, reserved=self._reserved)
            return FuncState(f, nest, st.func in self.outputs, update=st.update)
        nest = LoopNest(name, list(self._initial[name]), reserved=self._reserved,
                        inputs=dict(self.pipe.inputs))
        return FuncState(f, nest, name in self.outputs)


def _compute_at(d, st: FuncState, info: PipelineInfo, states: dict, i: int):
    target = parse(d.func)         # "f" or "f.update(n)": a loop of that stage (module docstring)
    if target.func == st.name:
        raise Reject("a Func cannot be computed inside its own loops")
    if target.func not in info.funcs:
        raise Reject(f"unknown Func {target.func!r} (Funcs: {listing(info.funcs)})")
    if target.update is not None and d.func not in states:
        n = len(info.funcs[target.func].updates)
        raise Reject(f"Func {target.func!r} has {n} update definition(s), so {d.func!r} is not "
                     "one of its stages")
    if st.output:
        raise Reject(f"{st.name!r} is a pipeline output; outputs are computed at root")
    if st.func.is_tuple:
        raise Reject(f"{st.name!r} is Tuple-valued; Tuples are computed at root (compute_at of "
                     "a Tuple is not supported yet)")
    if target.func not in info.consumers[st.name]:
        raise Reject(f"Func {target.func!r} does not consume {st.name!r} (consumers: "
                     f"{listing(sorted(info.consumers[st.name]))})")
    if d.var not in states[d.func].loops:
        raise Reject(_not_a_loop(d, info, states))
    f = st.func
    for n, u in enumerate(f.updates):
        if not _pointwise(f, u):
            raise Reject(
                f"update definition {n} of {f.name!r} ({f.name}[{', '.join(map(str, u.lhs))}] = "
                f"{u.value}) writes or reads {f.name!r} away from its own point; compute_at "
                f"computes updates point by point over the footprint, which only updates of the "
                f"form {f.name}[{', '.join(v.name for v in f.pure_vars)}] = … reading "
                f"{f.name!r} there allow; compute {f.name!r} at root (compute_root())")
    st.compute = d


def _not_a_loop(d, info: PipelineInfo, states: dict) -> str:
    """Why ``d.var`` is not a loop of stage ``d.func``; when it is a loop of exactly one update
    stage of that Func (Halide's ``compute_at(f, r)`` with ``r`` an RVar of ``f``'s update),
    the message names that stage: Vortex takes the stage's name, not Halide's implicit form."""
    f = info.funcs[parse(d.func).func]
    mine = [u for u in (update_stage(f.name, k) for k in range(len(f.updates)))
            if u in states and d.var in states[u].loops]
    if parse(d.func).update is None and len(mine) == 1:
        return (f"{d.var!r} is a loop of the update stage {mine[0]!r}, not of {d.func!r}'s pure "
                f"definition; name the stage: compute_at({mine[0]!r}, {d.var!r})")
    return (f"{d.var!r} is not a loop var of {d.func!r} (its loop vars: "
            f"[{listing(states[d.func].loops)}]); schedule {d.func!r} first")


def _store_at(d, st: FuncState, info: PipelineInfo, states: dict, i: int):
    """The consumer and loop must exist (as for compute_at); how the store level relates to the
    compute_at loop is checked once the list is complete (:func:`sliding.finish`)."""
    _compute_at(D.ComputeAt(d.func, d.var), FuncState(st.func, st.nest, st.output), info,
                states, i)
    st.store_at, st.store_at_entry = d, i


def _pointwise(f: Func, u) -> bool:
    """Whether update ``u`` of ``f`` writes ``f`` at its pure Vars and reads ``f`` only there
    (in its value, its RDom's ``where`` predicates and those of its inline reductions)."""
    if not all(isinstance(a, Var) for a in u.lhs):
        return False
    todo, seen = [u.value], set()
    while todo:
        e = todo.pop()
        for ld in find(e, lambda n: isinstance(n, Load) and n.source is f):
            if not all(same(a, v) for a, v in zip(ld.args, u.lhs)):
                return False
        for n in find(e, lambda n: isinstance(n, (RVar, Reduce))):
            if id(n.rdom) not in seen:
                seen.add(id(n.rdom))
                todo += n.rdom.predicates
    return True


def _compute_inline(d, st: FuncState, info, states, i):
    if st.output:
        raise Reject(f"{st.name!r} is a pipeline output; outputs cannot be inlined")
    if st.func.updates:
        raise Reject(f"{st.name!r} has update definitions; only pure Funcs can be inlined")
    if st.func.is_tuple:
        raise Reject(f"{st.name!r} is Tuple-valued; Tuples are computed at root")
    st.compute = d


def _set(attr: str, value):
    def rule(d, st, info, states, i):
        setattr(st, attr, value(d))
    return rule


def _bound(d, st: FuncState, info, states, i):
    pure = [v.name for v in st.func.pure_vars]
    if d.var not in pure:
        raise Reject(f"bound applies to a pure var of {st.name!r} ([{listing(pure)}]), not "
                     f"{d.var!r}")


def _specialize(d, st, info: PipelineInfo, states, i):
    if d.condition[1] not in info.dims:
        raise Reject(f"unknown Dim {d.condition[1]!r} (Dims: {listing(sorted(info.dims))})")


# The directives that do not shape the loops (those are :data:`nest_rules.APPLY`): where and how
# the Func is computed and stored, and the GPU data-movement directives.
FUNC_RULES = {
    D.ComputeAt: _compute_at,
    D.ComputeRoot: _set("compute", lambda d: d),
    D.ComputeInline: _compute_inline,
    D.StoreAt: _store_at,
    D.StoreIn: _set("store", lambda d: d.memory),
    D.Bound: _bound,
    D.Specialize: _specialize,
    **{cls: G.validate for cls in G.GPU_DIRECTIVES},
}
# Directives that need the Func to have loops of its own (not inlined).
NEEDS_LOOPS = (*APPLY, D.StoreIn, *G.GPU_DIRECTIVES)
_COMPUTE = (D.ComputeAt, D.ComputeRoot, D.ComputeInline)


def _finish_update(st: FuncState, states: dict):
    """An update stage: it has loops only when its Func is computed at root; its parallel loops
    must be race-free (:mod:`.races`)."""
    owner = states[st.func.name]
    if isinstance(owner.compute, D.ComputeAt):
        yield 1, (f"{st.func.name!r} is computed at {owner.compute.func!r}, where its updates "
                  "run point by point inside the consumer's loops; an update stage has loops "
                  f"of its own only when {st.func.name!r} is computed at root")
    for leaf, why in races.check(st.func, st.update, st.nest, bool(st.atomic_entry)):
        yield (st.nest.bound_at.get(leaf) or st.atomic_entry or 1) if leaf else \
            st.atomic_entry, why


def _finish(st: FuncState, states: dict):
    """Checks that need a Func's complete directive list (``strict`` replay only)."""
    if st.update is not None:
        yield from _finish_update(st, states)
    if isinstance(st.compute, D.ComputeAt) and any(isinstance(r, RaggedRecord)
                                                   for r in st.nest.records):
        yield st.compute_entry, ("ragged_split needs the Func computed at root (its tile table "
                                 "is built by a kernel launched before the Func's own); drop "
                                 "the compute_at or the ragged_split")
    if st.inlined and st.loop_entry:
        yield st.loop_entry, (f"{st.name!r} is computed inline (the default for "
                              "intermediates), so it has no loops to schedule; add "
                              "compute_root() or compute_at(...)")
    if st.store is D.MemoryType.SHARED and not isinstance(st.compute, D.ComputeAt):
        yield st.store_entry, ("shared memory needs compute_at(consumer, var): a Func computed "
                               "at root or inline has no block to share it")
    if isinstance(st.compute, D.ComputeAt) and states[st.compute.func].inlined:
        yield st.compute_entry, (f"{st.compute.func!r} is computed inline, so it has "
                                 "no loops; compute it at root first")
    yield from G.finish(st, states)
    yield from sliding.finish(st, states)
    nest = st.nest
    for t in nest.threads:
        for b in nest.blocks:
            if nest.index(b) > nest.index(t):
                yield nest.bound_at[t], (f"gpu_threads var {t!r} is outside gpu_blocks var {b!r} "
                                         f"(loops: [{listing(st.loops)}]); block loops must "
                                         "enclose thread loops")


_UPDATE_ONLY = (D.Atomic, D.RFactor)
_UPDATE_MOVES = (G.Stage, G.PipelineStages)     # staged operand tiles of the update's loops


def _update_rule(d, st: FuncState, i: int):
    """An update stage takes the loop directives, atomic() and rfactor (applied to the
    pipeline before replay: :mod:`.rfactor`), and stage() / pipeline() of the tiles its loops
    read; a pure stage not atomic() nor rfactor()."""
    if isinstance(d, _UPDATE_ONLY) and st.update is None:
        raise located(d, st.name, i, f"{d.name}() applies to an update stage: "
                      f"s[{st.name!r}].update(n).{d}")
    if st.update is not None and not isinstance(d, (*APPLY, *_UPDATE_ONLY, *_UPDATE_MOVES)):
        loops = ", ".join(c.name for c in (*APPLY, *_UPDATE_ONLY))
        raise located(d, st.name, i, f"an update stage takes only loop directives, "
                      f"atomic() and rfactor() ({loops}), stage() and pipeline(); where "
                      f"{st.func.name!r} is computed and stored is scheduled on "
                      f"s[{st.func.name!r}]")
    if isinstance(d, D.Atomic):
        st.atomic_entry = i


def _apply(d, st: FuncState, info: PipelineInfo, states: dict, i: int):
    """One directive: a loop directive on the Func's LoopNest, any other by :data:`FUNC_RULES`;
    then the entries the complete-list checks need."""
    _update_rule(d, st, i)
    if isinstance(d, _UPDATE_ONLY):
        return
    rule = FUNC_RULES.get(type(d))
    if rule is None:
        st.nest.apply(d, i)
    else:
        try:
            rule(d, st, info, states, i)
        except Reject as why:
            raise located(d, st.name, i, why) from None
    if isinstance(d, NEEDS_LOOPS) and not st.loop_entry:
        st.loop_entry = i
    if isinstance(d, _COMPUTE):
        st.compute_entry = i
    if isinstance(d, D.StoreIn):
        st.store_entry = i


def replay(info: PipelineInfo, directives: dict, strict: bool = True) -> dict:
    """Apply every directive; returns {Func name: FuncState}. Raises vx.ScheduleError (with
    ``func`` and ``entry``) at the first directive that cannot be applied. ``strict=False`` skips
    the checks that a later directive could still satisfy (used while a schedule is built)."""
    states = {}
    for name in info.stages:
        st = states[name] = info.initial(name)
        for i, d in enumerate(directives.get(name, ()), 1):
            _apply(d, st, info, states, i)
    for name in info.stages if strict else ():
        ds = directives.get(name, [])
        if not ds and states[name].update is not None:
            continue      # an unscheduled update stage runs serially: always correct
        for entry, why in _finish(states[name], states):
            raise located(ds[entry - 1], name, entry, why)
    return states
