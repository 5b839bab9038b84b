"""The stages of a Func: its pure definition and each update definition (Halide's ``Stage``).

A schedule names a stage by its Func's name (the pure definition) or ``"f.update(n)"`` (update
definition ``n``, counted from 0 as Halide's ``f.update(n)``). An update stage has loops of its
own: the pure Vars of its left-hand side (outermost, in left-hand-side order) then the RVars of
its RDom (the last RDom dimension innermost) — the RVars outermost when the update reads the
Func across a pure Var (:func:`ordered_loops`) — and takes the loop directives of
:mod:`vortex.schedule.nest` plus ``atomic()``. Before any directive it runs serially, in
definition order, which is correct for every update (histograms, scans, recurrences).

Source: Halide's ``Func::update(int)`` and ``Stage`` (tutorial lesson 9, "Scheduling update
steps").
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..algorithm.expr import Var
from ..algorithm.func import rvars_in

_UPDATE = re.compile(r"^([A-Za-z_]\w*)\.update\((\d+)\)$")

# The GPU bindings an update stage's RVar loops may take (LoopNest.rvar_kinds): both, checked
# for races over the whole stage (vortex/schedule/races.py).
UPDATE_RVAR_KINDS = frozenset({"blocks", "threads"})


@dataclass(frozen=True)
class StageName:
    """``func`` and ``update`` (None: the pure definition)."""

    func: str
    update: int | None = None

    def __str__(self) -> str:
        return self.func if self.update is None else update_stage(self.func, self.update)


def update_stage(func: str, n: int) -> str:
    """The name of update stage ``n`` of Func ``func``: ``"f.update(n)"``."""
    return f"{func}.update({n})"


def parse(name: str) -> StageName:
    """``"f"`` → StageName("f"); ``"f.update(2)"`` → StageName("f", 2)."""
    m = _UPDATE.match(name)
    return StageName(m.group(1), int(m.group(2))) if m else StageName(name)


def update_rdom(d):
    """The RDom update definition ``d`` iterates (None: it runs once per pure point)."""
    rv = [v for e in (*d.lhs, d.value) for v in rvars_in(e)]
    return rv[0].rdom if rv else None


def stage_nest(func, n: int | None, size=None, **kw):
    """The LoopNest of stage ``n`` of ``func`` (None: its pure definition) before its directives;
    ``size`` as in :func:`update_loops`, ``kw`` passed to LoopNest (``reserved``)."""
    from .nest import LoopNest, initial_loops
    if n is None:
        return LoopNest(func.name, initial_loops(func, size), **kw)
    return LoopNest(update_stage(func.name, n), update_loops(func, n, size),
                    rvar_kinds=UPDATE_RVAR_KINDS, **kw)


def update_loops(func, n: int, size=None) -> list:
    """The loops of update stage ``n`` of ``func`` before its directives (see the module
    docstring); ``size`` maps a size expression (the declared domain, an RDom extent) to the
    extent, None: unknown. Imported late: nest imports this module's users."""
    from .nest import Loop

    def ext(e):
        return None if size is None or e is None else size(e)
    d = func.updates[n]
    shape = func.shape if func.shape is not None else [None] * len(d.lhs)
    rdom = update_rdom(d)
    rvars = zip(rdom.vars, rdom.bounds) if rdom is not None else ()
    return ordered_loops(func, d, [Loop(a.name, ext(e)) for a, e in zip(d.lhs, shape)
                                   if isinstance(a, Var)],
                         [Loop(v.name, ext(b[1]), True) for v, b in rvars])


def ordered_loops(func, d, pure: list, rvars: list) -> list:
    """An update's loops before its directives: its pure Vars outside its RVars, each pure
    point seeing its updates in RDom order; but when the update reads the Func at another point
    along a pure Var (an ordered pure loop, :func:`vortex.schedule.races.ordered_pure_vars`),
    the RVars outside: Halide's order, every RDom point applied at all pure points in turn."""
    from .races import ordered_pure_vars
    return rvars + pure if ordered_pure_vars(func, d) else pure + rvars
