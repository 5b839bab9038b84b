"""Replaying directives on each Func's loop nest: where every directive is checked.

A Func starts with its pure Vars (outermost first, numpy order) followed by the RVars of its
primary reduction (the first inline reduction of its pure definition) innermost. Each directive
rewrites that list (``LoopNest.loops``) or records a choice (compute level, memory, bindings).
Funcs are replayed consumers first, so ``compute_at(f, v)`` sees the final loops of ``f``.
Loops are named by strings: a new loop may take the name of the loop its directive replaces
(Halide's ``split(x, x, xi, 8)``), and every later directive naming it means the new loop.

Every failure is a vx.ScheduleError ``"<directive> on Func '<name>': <why>"`` with attributes
``func`` and ``entry`` (1-based index in that Func's directive list) for file messages.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .. import errors
from ..algorithm.expr import Load, Reduce, RVar, Var, same
from ..algorithm.func import Func
from ..algorithm.graph import rdoms_of, sources_of
from ..algorithm.walk import find
from . import directives as D


class Reject(Exception):
    """Why a directive cannot be applied (context is added by :func:`replay`)."""


def _list(names) -> str:
    return ", ".join(names) or "none"


@dataclass
class LoopNest:
    """The state of one Func after its directives: ``loops`` outermost first; ``rvars`` the loops
    iterating a reduction domain; ``blocks``/``threads`` bound vars in binding order (within one
    call the last var is ``.x``; a later call binds the next axes out, y then z); ``compute`` the last compute_* directive (None: the default — root
    for outputs and Funcs with updates, inline otherwise); ``store`` the MemoryType or None."""

    func: Func
    loops: list
    rvars: set
    output: bool
    blocks: list = field(default_factory=list)
    threads: list = field(default_factory=list)
    bound_at: dict = field(default_factory=dict)
    compute: D.Directive | None = None
    store: D.MemoryType | None = None
    compute_entry: int = 0
    store_entry: int = 0
    loop_entry: int = 0

    @property
    def name(self) -> str:
        return self.func.name

    @property
    def inlined(self) -> bool:
        if self.compute is None:
            return not self.output and not self.func.updates
        return isinstance(self.compute, D.ComputeInline)

    def need(self, var: str):
        if var not in self.loops:
            raise Reject(f"unknown var {var!r}; loop vars of {self.name!r} are "
                         f"[{_list(self.loops)}]")

    def unbound(self, var: str, what: str):
        kind = "blocks" if var in self.blocks else "threads" if var in self.threads else None
        if kind:
            raise Reject(f"var {var!r} is bound to gpu_{kind}; {what} it before binding")


class PipelineInfo:
    """What replay needs to know of a Pipeline, computed once: Funcs, outputs, consumers
    (transitive), reserved names (Funcs, Inputs, Params, Dims, RDom vars) and initial loops."""

    def __init__(self, pipe):
        self.pipe = pipe
        self.funcs = {f.name: f for f in pipe.funcs}
        self.outputs = {f.name for f in pipe.outputs}
        self.order = [f.name for f in reversed(pipe.funcs)]      # consumers first
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

    def initial(self, name: str) -> LoopNest:
        f = self.funcs[name]
        reduces = find(f.definitions[0].value, lambda e: isinstance(e, Reduce),
                       skip_reductions=True)
        rvars = [v.name for v in reduces[0].rdom.vars] if reduces else []
        return LoopNest(f, [v.name for v in f.pure_vars] + rvars, set(rvars), name in self.outputs)


def _fresh(nest: LoopNest, info: PipelineInfo, *names: str, replaced=()):
    """Check the names of new loops: distinct, and neither a loop var of ``nest`` nor a name of
    the pipeline, except a name in ``replaced``: a loop this directive removes, whose name a new
    loop may take (Halide's ``split(x, x, xi, 8)``, ``fuse(y, x, x)``)."""
    if len(set(names)) != len(names):
        raise Reject(f"new loop names must differ, got {list(names)}")
    for n in names:
        if n in replaced:
            continue
        if n in nest.loops:
            raise Reject(f"new name {n!r} is already a loop var of {nest.name!r} "
                         f"[{_list(nest.loops)}]; pick a fresh name (only a loop that this "
                         "directive replaces may pass its name on)")
        if n in info.reserved:
            raise Reject(f"new name {n!r} is already the name of a Func, Input, Param, Dim or "
                         "RDom var of the pipeline; pick a fresh name")


def split(nest, info, var, outer, inner, factor):
    """``outer`` may reuse ``var``'s name (the new outer loop then replaces it under that name,
    as in Halide); ``inner`` must be new."""
    nest.need(var)
    nest.unbound(var, "split")
    if inner == var:
        raise Reject(f"the inner var cannot take the name {var!r} of the var being split: only "
                     f"the outer one may (split({var}, {var}, {var}i, {factor})); pick a fresh "
                     "inner name")
    _fresh(nest, info, outer, inner, replaced=(var,))
    pos = nest.loops.index(var)
    nest.loops[pos:pos + 1] = [outer, inner]
    if var in nest.rvars:
        nest.rvars = (nest.rvars - {var}) | {outer, inner}


def reorder(nest, info, order):
    if len(set(order)) != len(order):
        raise Reject(f"a var is listed twice in [{_list(order)}]")
    for v in order:
        nest.need(v)
    for pos, v in zip(sorted(nest.loops.index(v) for v in order), order):
        nest.loops[pos] = v


def bind(nest, info, vars_, kind: str, entry: int):
    bound = getattr(nest, kind)
    if len(set(vars_)) != len(vars_):
        raise Reject(f"a var is listed twice in [{_list(vars_)}]")
    for v in vars_:
        nest.need(v)
        if v in nest.blocks or v in nest.threads:
            raise Reject(f"var {v!r} is already bound to a GPU axis; bind each var once")
        if v in nest.rvars:
            raise Reject(f"var {v!r} iterates a reduction domain; binding it to gpu_{kind} would "
                         "make threads race on one accumulator (bind pure vars only)")
    if len(bound) + len(vars_) > 3:
        raise Reject(f"at most 3 gpu_{kind} vars per Func; [{_list(bound)}] are bound already")
    bound.extend(vars_)
    nest.bound_at.update({v: entry for v in vars_})


def _tile(d, nest, info, nests, i):
    if d.y == d.x:
        raise Reject(f"tile needs two different vars, got {d.y!r} twice")
    split(nest, info, d.y, d.yo, d.yi, d.fy)
    split(nest, info, d.x, d.xo, d.xi, d.fx)
    reorder(nest, info, (d.yo, d.xo, d.yi, d.xi))


def _fuse(d, nest, info, nests, i):
    for v in (d.outer, d.inner):
        nest.need(v)
        nest.unbound(v, "fuse")
    pos = nest.loops.index(d.outer)
    if nest.loops.index(d.inner) != pos + 1:
        raise Reject(f"{d.inner!r} must be directly inside {d.outer!r} to fuse them (loop vars: "
                     f"[{_list(nest.loops)}]); reorder first")
    if (d.outer in nest.rvars) != (d.inner in nest.rvars):
        raise Reject("cannot fuse a pure var with a reduction var")
    _fresh(nest, info, d.fused, replaced=(d.outer, d.inner))
    nest.loops[pos:pos + 2] = [d.fused]
    if d.outer in nest.rvars:
        nest.rvars = (nest.rvars - {d.outer, d.inner}) | {d.fused}


def _gpu_tile(d, nest, info, nests, i):
    for v, b, t, f in zip(d.vars, d.blocks, d.threads, d.factors):
        split(nest, info, v, b, t, f)
    reorder(nest, info, d.blocks + d.threads)
    bind(nest, info, d.blocks, "blocks", i)
    bind(nest, info, d.threads, "threads", i)


def _inner(d, nest, info, nests, i):
    nest.need(d.var)
    if d.factor is not None:
        split(nest, info, d.var, d.var, d.target, d.factor)
    nest.unbound(d.target, d.name)
    if isinstance(d, D.Vectorize) and d.target in nest.rvars:
        raise Reject(f"var {d.target!r} iterates a reduction domain; vector lanes would race on "
                     "one accumulator (unroll it, or vectorize a pure var)")


def _compute_at(d, nest, info, nests, i):
    if d.func == nest.name:
        raise Reject("a Func cannot be computed inside its own loops")
    if d.func not in info.funcs:
        raise Reject(f"unknown Func {d.func!r} (Funcs: {_list(info.funcs)})")
    if nest.output:
        raise Reject(f"{nest.name!r} is a pipeline output; outputs are computed at root")
    if d.func not in info.consumers[nest.name]:
        raise Reject(f"Func {d.func!r} does not consume {nest.name!r} (consumers: "
                     f"{_list(sorted(info.consumers[nest.name]))})")
    if d.var not in nests[d.func].loops:
        raise Reject(f"{d.var!r} is not a loop var of {d.func!r} (its loop vars: "
                     f"[{_list(nests[d.func].loops)}]); schedule {d.func!r} first")
    f = nest.func
    for n, u in enumerate(f.updates):
        if not _pointwise(f, u):
            raise Reject(
                f"update definition {n} of {f.name!r} ({f.name}[{', '.join(map(str, u.lhs))}] = "
                f"{u.value}) writes or reads {f.name!r} away from its own point; compute_at "
                f"computes updates point by point over the footprint, which only updates of the "
                f"form {f.name}[{', '.join(v.name for v in f.pure_vars)}] = … reading "
                f"{f.name!r} there allow; compute {f.name!r} at root (compute_root())")
    nest.compute = d


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


def _compute_inline(d, nest, info, nests, i):
    if nest.output:
        raise Reject(f"{nest.name!r} is a pipeline output; outputs cannot be inlined")
    if nest.func.updates:
        raise Reject(f"{nest.name!r} has update definitions; only pure Funcs can be inlined")
    nest.compute = d


def _bound(d, nest, info, nests, i):
    pure = [v.name for v in nest.func.pure_vars]
    if d.var not in pure:
        raise Reject(f"bound applies to a pure var of {nest.name!r} ([{_list(pure)}]), not "
                     f"{d.var!r}")


def _specialize(d, nest, info, nests, i):
    if d.condition[1] not in info.dims:
        raise Reject(f"unknown Dim {d.condition[1]!r} (Dims: {_list(sorted(info.dims))})")


APPLY = {
    D.Split: lambda d, nest, info, nests, i: split(nest, info, d.var, d.outer, d.inner, d.factor),
    D.Tile: _tile,
    D.Reorder: lambda d, nest, info, nests, i: reorder(nest, info, d.vars),
    D.Fuse: _fuse,
    D.GpuBlocks: lambda d, nest, info, nests, i: bind(nest, info, d.vars, "blocks", i),
    D.GpuThreads: lambda d, nest, info, nests, i: bind(nest, info, d.vars, "threads", i),
    D.GpuTile: _gpu_tile,
    D.Vectorize: _inner,
    D.Unroll: _inner,
    D.ComputeAt: _compute_at,
    D.ComputeRoot: lambda d, nest, info, nests, i: setattr(nest, "compute", d),
    D.ComputeInline: _compute_inline,
    D.StoreIn: lambda d, nest, info, nests, i: setattr(nest, "store", d.memory),
    D.Bound: _bound,
    D.Specialize: _specialize,
}
# Directives that need the Func to have loops of its own (not inlined).
LOOP_DIRECTIVES = (D.Split, D.Tile, D.Reorder, D.Fuse, D.GpuBlocks, D.GpuThreads, D.GpuTile,
                   D.Vectorize, D.Unroll, D.StoreIn)


def _located(d, name: str, entry: int, why) -> errors.ScheduleError:
    err = errors.ScheduleError(f"{d} on Func {name!r}: {why}")
    err.func, err.entry = name, entry
    return err


def _finish(nest: LoopNest, nests: dict):
    """Checks that need a Func's complete directive list (``strict`` replay only)."""
    if nest.inlined and nest.loop_entry:
        yield nest.loop_entry, (f"{nest.name!r} is computed inline (the default for "
                                "intermediates), so it has no loops to schedule; add "
                                "compute_root() or compute_at(...)")
    if nest.store is D.MemoryType.SHARED and not isinstance(nest.compute, D.ComputeAt):
        yield nest.store_entry, ("shared memory needs compute_at(consumer, var): a Func computed "
                                 "at root or inline has no block to share it")
    if isinstance(nest.compute, D.ComputeAt) and nests[nest.compute.func].inlined:
        yield nest.compute_entry, (f"{nest.compute.func!r} is computed inline, so it has "
                                   "no loops; compute it at root first")
    yield from _gpu.finish(nest, nests)
    for t in nest.threads:
        for b in nest.blocks:
            if nest.loops.index(b) > nest.loops.index(t):
                yield nest.bound_at[t], (f"gpu_threads var {t!r} is outside gpu_blocks var {b!r} "
                                         f"(loops: [{_list(nest.loops)}]); block loops must "
                                         "enclose thread loops")


def replay(info: PipelineInfo, directives: dict, strict: bool = True) -> dict:
    """Apply every directive; returns {Func name: LoopNest}. Raises vx.ScheduleError (with
    ``func`` and ``entry``) at the first directive that cannot be applied. ``strict=False`` skips
    the checks that a later directive could still satisfy (used while a schedule is built)."""
    nests = {}
    for name in info.order:
        nest = nests[name] = info.initial(name)
        for i, d in enumerate(directives.get(name, ()), 1):
            try:
                APPLY[type(d)](d, nest, info, nests, i)
            except Reject as why:
                raise _located(d, name, i, why) from None
            if isinstance(d, LOOP_DIRECTIVES) and not nest.loop_entry:
                nest.loop_entry = i
            if isinstance(d, (D.ComputeAt, D.ComputeRoot, D.ComputeInline)):
                nest.compute_entry = i
            if isinstance(d, D.StoreIn):
                nest.store_entry = i
    for name in info.order if strict else ():
        ds = directives.get(name, [])
        for entry, why in _finish(nests[name], nests):
            raise _located(ds[entry - 1], name, entry, why)
    return nests


# The GPU data-movement directives (stage, pipeline, warp_specialize, swizzle_blocks).
from . import gpu_directives as _gpu  # noqa: E402

APPLY.update({cls: _gpu.validate for cls in _gpu.GPU_DIRECTIVES})
LOOP_DIRECTIVES = LOOP_DIRECTIVES + _gpu.GPU_DIRECTIVES
