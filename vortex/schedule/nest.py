"""One Func's loop nest and what each loop directive does to it: the one definition.

A :class:`LoopNest` is a Func's loops, outermost first, each counting over ``[0, extent)``; the
splits and fuses that made them are recorded in order (:class:`SplitRecord`,
:class:`FuseRecord`), so the original coordinates are the leaf counters replayed backwards
(Halide's stage dims and split list, ``Func.cpp`` / ``ScheduleFunctions.cpp``). Its methods are
the primitives (split, reorder, fuse, bind, mark); :data:`vortex.schedule.nest_rules.APPLY` holds,
per loop directive, its validation and its application together, built from them; every user
of the schedule applies directives through :meth:`LoopNest.apply`:

- building a ``vx.Schedule`` and loading a file (:mod:`vortex.schedule.replay`): extents are
  unknown (``None``), names and bindings are checked;
- the tuner's divisibility pruning (:mod:`vortex.tuner.space`): extents are ints at a shape;
- lowering (``vortex.lower.plan.FuncPlan.nest``): extents are sympy expressions of Dims.

A split whose factor does not provably divide the extent is recorded ``exact=False``; the
lowering then guards ``outer * factor + inner < extent`` (Halide's GuardWithIf), so every size is
correct. Loops are named by strings: a new loop may take the name of the loop its directive
replaces (Halide's ``split(x, x, xi, 8)``), and every later directive naming it means the new loop.

A directive that cannot be applied raises vx.ScheduleError ``"<directive> on Func '<name>':
<why>"`` with attributes ``func`` and, when given, ``entry`` (1-based place in that Func's list).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import sympy as sp

from .. import errors
from ..algorithm.affine import integer_denominator
from ..algorithm.symbolic import floordiv
from ..algorithm.expr import Reduce
from ..algorithm.walk import find
from ..loop_kinds import ForKind, GpuAxis

_AXES = {True: (GpuAxis.BLOCK_X, GpuAxis.BLOCK_Y, GpuAxis.BLOCK_Z),
         False: (GpuAxis.THREAD_X, GpuAxis.THREAD_Y, GpuAxis.THREAD_Z)}


class Reject(errors.ScheduleError):
    """Why a directive cannot be applied; :meth:`LoopNest.apply` prefixes the directive."""


def located(d, func: str, entry: int | None, why) -> errors.ScheduleError:
    """The vx.ScheduleError ``"<d> on Func '<func>': <why>"`` (``.func``, ``.entry`` set)."""
    err = errors.ScheduleError(f"{d} on Func {func!r}: {why}")
    err.func = func
    if entry is not None:
        err.entry = entry
    return err


def listing(names) -> str:
    return ", ".join(names) or "none"


@dataclass(frozen=True)
class Loop:
    """One loop: counter ``name`` over [0, extent) — ``extent`` a sympy expression, an int or
    None (unknown) — its GPU binding ``axis`` or its ``kind``, and whether it iterates a reduction
    domain (``reduction``)."""

    name: str
    extent: object
    reduction: bool = False
    axis: GpuAxis | None = None
    kind: ForKind = ForKind.SERIAL


@dataclass(frozen=True)
class SplitRecord:
    old: str
    outer: str
    inner: str
    factor: int
    old_extent: object
    exact: bool


@dataclass(frozen=True)
class RaggedRecord:
    """``ragged_split``: ``old`` = start[outer] + inner where inner < len[outer], the tile table
    built from Input ``offsets`` of ``count`` elements (sympy, None when unknown) over
    ``old_extent`` rows (:mod:`vortex.lower.ragged`)."""

    old: str
    outer: str
    inner: str
    factor: int
    offsets: str
    old_extent: object
    count: object


@dataclass(frozen=True)
class FuseRecord:
    outer: str
    inner: str
    fused: str
    inner_extent: object


# ---- extent arithmetic: None (unknown), int (a concrete shape) or sympy (symbolic) ----------

def _ceil_div(e, f: int):
    if e is None:
        return None
    return floordiv(e + f - 1, f) if isinstance(e, sp.Basic) else -(-e // f)


def _times(a, b):
    if a is None or b is None:
        return None
    return sp.sympify(a) * b if isinstance(a, sp.Basic) or isinstance(b, sp.Basic) else a * b


def _constant(f: int, like):
    return sp.Integer(f) if isinstance(like, sp.Basic) else f


def initial_loops(func, size=None) -> list[Loop]:
    """A Func's loops before its directives: its pure Vars (outermost first, numpy order), then
    the RVars of its primary reduction (the first inline reduction of its pure definition)
    innermost. ``size`` maps a size expression (the declared domain, an RDom extent) to the
    extent; None: every extent unknown."""
    def ext(e):
        return None if size is None or e is None else size(e)
    shape = func.shape if func.shape is not None else [None] * len(func.pure_vars)
    loops = [Loop(v.name, ext(e)) for v, e in zip(func.pure_vars, shape)]
    reduces = find(func.definitions[0].value, lambda e: isinstance(e, Reduce),
                   skip_reductions=True)
    if reduces:
        rdom = reduces[0].rdom
        loops += [Loop(v.name, ext(b[1]), True) for v, b in zip(rdom.vars, rdom.bounds)]
    return loops


@dataclass
class LoopNest:
    """Mutable while directives are applied, then read. ``assume``: Dim symbol → a multiple it
    is known to be (``specialize``); ``reserved``: pipeline names (Funcs, Inputs, Params, Dims,
    RDom vars) a new loop may not take (empty: not checked); ``bound_at``: GPU-bound loop →
    directive entry, in binding order; ``rvar_kinds``: the GPU bindings a reduction loop may
    take ("blocks", "threads"): threads in a pure stage (a cross-thread reduction,
    :mod:`vortex.lower.cross_thread`; blocks would race on one accumulator); both in an update
    stage, whose races are checked over the whole stage (:mod:`vortex.schedule.races`)."""

    func: str
    loops: list
    records: list = field(default_factory=list)
    assume: dict = field(default_factory=dict)
    reserved: frozenset = frozenset()
    bound_at: dict = field(default_factory=dict)
    rvar_kinds: frozenset = frozenset({"threads"})
    mma: tuple | None = None           # (i, j, k, lane loop) of the mma directive
    mma_precision: str = "ieee"        # its input_precision
    inputs: dict = field(default_factory=dict)   # Input name -> Input (ragged_split); {}: unknown

    @property
    def names(self) -> list[str]:
        return [lp.name for lp in self.loops]

    def _bound(self, is_block: bool) -> list[str]:
        """Names of the loops bound to a block (thread) axis: in binding order, then any bound
        outside :meth:`bind` in loop order."""
        order = list(self.bound_at)
        bound = [lp.name for lp in self.loops if lp.axis is not None
                 and lp.axis.is_block == is_block]
        return sorted(bound, key=lambda n: order.index(n) if n in order else len(order))

    @property
    def blocks(self) -> list[str]:
        """Loops bound with gpu_blocks, in binding order."""
        return self._bound(True)

    @property
    def threads(self) -> list[str]:
        """Loops bound with gpu_threads, in binding order."""
        return self._bound(False)

    def index(self, name: str) -> int:
        for i, lp in enumerate(self.loops):
            if lp.name == name:
                return i
        raise Reject(f"unknown var {name!r}; loop vars of {self.func!r} are "
                     f"[{listing(self.names)}]")

    def loop(self, name: str) -> Loop:
        return self.loops[self.index(name)]

    def divides(self, extent, factor: int) -> bool:
        """Whether ``factor`` provably divides ``extent`` (False when it is unknown)."""
        if extent is None:
            return False
        if not isinstance(extent, sp.Basic):
            return extent % factor == 0
        e = extent
        for sym, n in self.assume.items():
            t = sp.Dummy(f"{sym.name}_t", integer=True, positive=True)
            e = e.subs(sym, n * t)
        q = sp.expand(e / factor)
        # integer coefficients over integer-valued terms; anything else counts as not proven
        # (the split is then guarded: correct, and sp.simplify costs ~30 ms a call)
        return integer_denominator(q) == 1

    # --- checks ------------------------------------------------------------------------------
    def unbound(self, name: str, what: str):
        axis = self.loop(name).axis
        if axis is not None:
            kind = "blocks" if axis.is_block else "threads"
            raise Reject(f"var {name!r} is bound to gpu_{kind}; {what} it before binding")

    def fresh(self, *names: str, replaced=()):
        """New loop names must be distinct, and neither a loop of this nest nor a reserved name,
        except a name in ``replaced``: a loop the directive removes, whose name a new loop may
        take (Halide's ``split(x, x, xi, 8)``, ``fuse(y, x, x)``)."""
        if len(set(names)) != len(names):
            raise Reject(f"new loop names must differ, got {list(names)}")
        for n in names:
            if n in replaced:
                continue
            if n in self.names:
                raise Reject(f"new name {n!r} is already a loop var of {self.func!r} "
                             f"[{listing(self.names)}]; pick a fresh name (only a loop that this "
                             "directive replaces may pass its name on)")
            if n in self.reserved:
                raise Reject(f"new name {n!r} is already the name of a Func, Input, Param, Dim "
                             "or RDom var of the pipeline; pick a fresh name")

    @staticmethod
    def _distinct(names):
        if len(set(names)) != len(names):
            raise Reject(f"a var is listed twice in [{listing(names)}]")

    # --- the primitives the directives are made of -------------------------------------------
    def split(self, var: str, outer: str, inner: str, factor: int):
        """``outer`` may reuse ``var``'s name; ``inner`` must be new."""
        i = self.index(var)
        self.unbound(var, "split")
        if inner == var:
            raise Reject(f"the inner var cannot take the name {var!r} of the var being split: "
                         f"only the outer one may (split({var}, {var}, {var}i, {factor})); pick "
                         "a fresh inner name")
        self.fresh(outer, inner, replaced=(var,))
        lp = self.loops[i]
        self.loops[i:i + 1] = [replace(lp, name=outer, extent=_ceil_div(lp.extent, factor)),
                               Loop(inner, _constant(factor, lp.extent), lp.reduction)]
        self.records.append(SplitRecord(var, outer, inner, factor, lp.extent,
                                        self.divides(lp.extent, factor)))

    def reorder(self, names):
        self._distinct(list(names))
        slots = sorted(self.index(n) for n in names)
        chosen = [self.loop(n) for n in names]
        for slot, lp in zip(slots, chosen):
            self.loops[slot] = lp

    def fuse(self, outer: str, inner: str, fused: str):
        for n in (outer, inner):
            self.index(n)
            self.unbound(n, "fuse")
        o = self.index(outer)
        lo, li = self.loops[o], self.loop(inner)
        if self.index(inner) != o + 1:
            raise Reject(f"{inner!r} must be directly inside {outer!r} to fuse them (loop vars: "
                         f"[{listing(self.names)}]); reorder first")
        if lo.reduction != li.reduction:
            raise Reject("cannot fuse a pure var with a reduction var")
        self.fresh(fused, replaced=(outer, inner))
        self.loops[o:o + 2] = [Loop(fused, _times(lo.extent, li.extent), lo.reduction)]
        self.records.append(FuseRecord(outer, inner, fused, li.extent))

    def bind(self, names, is_block: bool):
        """The last name gets the lowest free axis (x); a later call binds further out (y, z).
        A reduction loop takes only the kinds of :attr:`rvar_kinds`."""
        names, kind = list(names), "blocks" if is_block else "threads"
        self._distinct(names)
        for n in names:
            if self.loop(n).axis is not None:
                raise Reject(f"var {n!r} is already bound to a GPU axis; bind each var once")
            if self.loop(n).reduction and kind not in self.rvar_kinds:
                lanes = ("; or split it and bind the inner var to gpu_threads: a cross-thread "
                         "reduction" if "threads" in self.rvar_kinds else " only")
                raise Reject(f"var {n!r} iterates a reduction domain; binding it to gpu_{kind} "
                             f"would make {kind} race on one accumulator (bind pure vars{lanes})")
        bound = self._bound(is_block)
        if len(bound) + len(names) > 3:
            raise Reject(f"at most 3 gpu_{kind} vars per Func; [{listing(bound)}] are bound "
                         "already")
        for n, axis in zip(reversed(names), _AXES[is_block][len(bound):]):
            i = self.index(n)
            self.loops[i] = replace(self.loops[i], axis=axis)
        self.bound_at.update({n: None for n in names})

    def mark(self, d, kind: ForKind):
        """vectorize/unroll ``d``: with a factor the outer part keeps the name (Halide's
        ``vectorize(x, n)``) and the inner loop ``d.target`` is marked; its extent must be a
        constant, and a vectorized loop must not iterate a reduction domain."""
        self.index(d.var)
        if d.factor is not None:
            self.split(d.var, d.var, d.target, d.factor)
        self.unbound(d.target, d.name)
        lp = self.loop(d.target)
        if kind is ForKind.VECTORIZED and lp.reduction:
            raise Reject(f"var {d.target!r} iterates a reduction domain; vector lanes would race "
                         "on one accumulator (unroll it, or vectorize a pure var)"
                         if "blocks" not in self.rvar_kinds else
                         f"var {d.target!r} iterates the update's RDom, whose points apply one "
                         "at a time; bind it to gpu_threads (race-free or atomic()) or unroll it")
        if isinstance(lp.extent, sp.Basic) and not lp.extent.is_Integer:
            raise Reject(f"the extent {lp.extent} of {d.target!r} is not a constant; give a "
                         f"factor ({d.name}({d.var}, 4)) or split {d.target!r} by a constant "
                         "first")
        self.loops[self.index(d.target)] = replace(lp, kind=kind)

    # --- directives --------------------------------------------------------------------------
    def apply(self, d, entry: int | None = None):
        """Apply one directive: a loop directive of :data:`APPLY` is checked and applied; any
        other directive does not shape the loops and is left to the caller. Raises
        vx.ScheduleError ``"<d> on Func '<func>': <why>"`` (``entry`` is attached to it)."""
        from .nest_rules import APPLY   # the rules use this module's primitives
        rule = APPLY.get(type(d))
        if rule is None:
            return
        before = set(self.bound_at)
        try:
            rule(self, d)
        except Reject as why:
            raise located(d, self.func, entry, why) from None
        self.bound_at.update({n: entry for n in self.bound_at if n not in before})
