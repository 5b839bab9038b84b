"""RDom loops whose bounds use Vars (a triangle ``k < i + 1``, a band): their extents in a loop
nest, their loop headers, and the schedules they refuse.

Such a loop runs, at each point of the Vars its bounds use, over that point's own range: the
counter from 0 to the point's extent, the RDom coordinate its min plus the counter (as every RDom
loop: no box, no mask). In a :class:`~vortex.schedule.nest.LoopNest` its extent is a sympy
expression in which each Var is a symbol (:func:`var_symbol`); :func:`from_sympy` prints that
symbol as a placeholder local, which :func:`place` replaces by the Var's coordinate — an
expression of the loop counters around, so the loop must sit inside the loops of its Vars
(:func:`check_nest`). A split divides it like any extent (not provably: guarded
``outer * f + inner < extent``); binding it to GPU blocks or threads (a launch shape cannot vary
per point), fusing it, and staging reads of the Func are refused with a vx.ScheduleError naming
the directive and the loop (an ``mma`` cannot have it inside its Var's loops, so it is refused
by the order rule).

A bound that loads data (a packed batch's ``offsets[b]``, from an Input with a declared value
range) makes the loop's extent the whole-extent symbol, printed from the bound itself with each
load read from its buffer at the point (:func:`place` with ``layouts``): ``for r in [0,
offsets[b + 1] - offsets[b])``; the loop stays inside the loops of the Vars the loads' indices
use, like any other such loop.

Source: Halide, where an RDom's bounds may depend on the pure Vars of the Func (its loop's min
and extent are let-bound inside the enclosing loops, ``Bounds.cpp``/``ScheduleFunctions.cpp``).
"""
from __future__ import annotations

from dataclasses import replace

import sympy as sp

from .. import errors
from ..algorithm.bounds import Context, interval
from ..algorithm.expr import Load, RVar, Var
from ..algorithm.ops import clamp
from ..algorithm.walk import find, map_children, rebuild
from .ir import Ref, local_name
from ..schedule import gpu_directives as G
from ..schedule.nest import located
from .loops import FuseRecord, LoopNest
from .sym import loop_symbol

_AT, _EXTENT = "rdom_var", "rdom_extent"     # placeholder tags ('.': never a user name)
_PREFIX = loop_symbol("").name


class VarSymbol(sp.Symbol):
    """A Var's coordinate in a loop extent (an integer of any sign), or (tag ``_EXTENT``) a whole
    extent not written in sympy's terms (``2 - i % 2``): named as a loop counter, so that
    ``from_sympy`` prints it as a placeholder local; shown as the Var (the extent) in messages."""

    def _sympystr(self, printer) -> str:
        base, tag = self.name[len(_PREFIX):].rsplit(".", 1)
        return base if tag == _AT else f"extent({base})"


def var_symbol(name: str) -> sp.Symbol:
    """The sympy symbol standing for Var ``name``'s coordinate in a loop extent."""
    return VarSymbol(_PREFIX + local_name(name, _AT), integer=True)


def rdom_extent(e, rvar: str | None = None):
    """A bound Expr (Dims, ranged Params, constants, Vars) as a sympy expression, each Var a
    :func:`var_symbol`; where interval arithmetic cannot keep it exact (``i % 2``), the symbol
    of RVar ``rvar``'s whole extent, which :func:`place` replaces by the bound itself. Raises
    ValueError for anything else."""
    names = {}

    def leaf(n):
        if isinstance(n, (Var, RVar)):
            s = names.setdefault(n.name, var_symbol(n.name))
            return s, s
        if isinstance(n, Load):     # data (offsets[b]): the whole extent's symbol
            names.setdefault(str(n), None)
        return None
    lo, hi = interval(e, Context(leaf=leaf, exact_params=True))
    if lo == hi:
        return lo
    if rvar is not None and names:
        return VarSymbol(_PREFIX + local_name(rvar, _EXTENT), integer=True)
    raise ValueError(f"{e} is not an expression of Dims, ranged Params, constants and Vars")


def place(e, coords: dict, rdom=None, layouts: dict | None = None):
    """IR expression ``e`` (from :func:`~vortex.lower.sym.from_sympy`) with each Var
    placeholder replaced by ``coords[name]`` — and each algorithm Var too (a bound's min) — and
    each extent placeholder by that extent of ``rdom`` there; each load of data in a bound
    (``offsets[b]``) read from its buffer (``layouts``: source name → Layout) at ``coords``."""
    def fn(n):
        if isinstance(n, Ref) and "." in n.name:
            base, tag = n.name.rsplit(".", 1)
            if tag == _AT:
                return coords[base]
            if tag == _EXTENT:
                return place(rdom.bounds[[v.name for v in rdom.vars].index(base)][1], coords,
                             layouts=layouts)
        if isinstance(n, (Var, RVar)) and n.name in coords:
            return coords[n.name]
        if isinstance(n, Load) and layouts is not None:
            from .exprs import ExprLowerer
            return ExprLowerer(coords, layouts).lower(in_bounds(n))[1]
        return None
    return rebuild(e, fn)


def in_bounds(e):
    """``e`` with the index of each load (nested ones too) clamped into its Input's shape. A
    bound is computed at every point of its Vars' loops, the guarded tail of a split included
    (``t >= T`` in the last block, whose guard may sit inside the RDom loop): there the index
    may be past the end of the buffer; the value is never used (every effect of such a point
    is guarded), but the read must stay inside the buffer (fuzz-like case: a varlen attention
    schedule read ``seg[T + 1]`` and crashed PoCL)."""
    if not isinstance(e, Load):
        return map_children(e, in_bounds)
    args = tuple(clamp(in_bounds(a), 0, d - 1) for a, d in zip(e.args, e.source.shape))
    return replace(e, args=args)


def varying_dims(rdom) -> dict:
    """RVar name → the names of the Vars its bounds use, for each dimension that has some."""
    return {v.name: sorted({u.name for b in rdom.bounds[i] for u in _vars(b)})
            for i, v in enumerate(rdom.vars) if rdom.varying(i)}


def _vars(e):
    return find(e, lambda x: isinstance(x, (Var, RVar)))


def derived(nest: LoopNest, name: str) -> tuple[list, bool]:
    """(the loops of ``nest`` made from loop ``name`` by its splits and fuses, whether one of
    those fuses joined it with another loop)."""
    cur, fused = {name}, False
    for r in nest.records:
        if isinstance(r, FuseRecord):
            if r.outer in cur or r.inner in cur:
                fused = True
                cur = (cur - {r.outer, r.inner}) | {r.fused}
        elif r.old in cur:
            cur = (cur - {r.old}) | {r.outer, r.inner}
    return [lp for lp in nest.loops if lp.name in cur], fused


def check_nest(nest: LoopNest, rdom, func: str, directive=None, entry: int | None = None):
    """vx.ScheduleError unless every loop of a Var-bounded RDom dimension of ``rdom`` is serial
    (not bound to the GPU, not fused) and inside the serial loops of the Vars its bounds use
    (so no ``mma`` either: its instruction's loops are the three innermost), and ``directive``
    (the one just applied, named in the message) is no ``stage``."""
    names = [lp.name for lp in nest.loops]
    for rv, used in varying_dims(rdom).items():
        data = [str(ld) for ld in rdom.bound_loads()]
        why = f"the RDom loop {rv} has bounds depending on {', '.join(used + data)}"
        mine, fused = derived(nest, rv)
        if fused:
            raise _error(func, directive, entry, f"{why}: it cannot be fused (split it instead)")
        for lp in mine:
            if lp.axis is not None:
                raise _error(func, directive, entry,
                             f"{why}: its loop {lp.name} cannot be bound to GPU blocks or "
                             "threads (a launch cannot vary per point); bind pure Vars")
        for u in used:
            for outer in derived(nest, u)[0]:
                if outer.axis is None and any(names.index(outer.name) > names.index(lp.name)
                                              for lp in mine):
                    raise _error(func, directive, entry,
                                 f"{why}: it cannot be reordered outside {outer.name} (loops: "
                                 f"[{', '.join(names)}]); keep {rv}'s loops inside {u}'s")
        if isinstance(directive, G.Stage):
            raise _error(func, directive, entry,
                         f"{why}: staging reads of a reduction over such a domain is not "
                         "supported; drop the stage directive")


def _error(func: str, directive, entry, why: str) -> errors.ScheduleError:
    if directive is None:
        err = errors.ScheduleError(f"schedule of Func {func!r}: {why}")
        err.func = func
        return err
    return located(directive, func, entry, why)
