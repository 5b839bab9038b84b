"""Sliding windows: a ``compute_at`` producer stored at an outer loop (Halide's ``store_at``,
``SlidingWindow.cpp`` and ``StorageFolding.cpp``).

``s[f].store_at(g, yo).compute_at(g, yi)``, ``yi`` a serial loop inside ``yo`` (checked by
:mod:`vortex.schedule.sliding`): ``f``'s footprint for one iteration of ``yi`` is one box of
constant size ``E`` per dimension (:func:`vortex.lower.sites.footprint`) whose origin moves by a
constant ``step`` ≥ 0 per iteration along at most one dimension, the *sliding* dimension, and stays
put along the others. Then

- the storage is allocated at ``yo`` (private to each thread), folded along the sliding dimension
  to ``F`` = the least power of two ≥ ``E`` rows: point ``c`` of that dimension lives at row
  ``c & (F - 1)`` (Halide's storage folding; F ≥ E keeps every row the current window reads,
  since rows below the window's origin are the only ones overwritten);
- at ``yi == 0`` the whole box is computed; at every later iteration only its last ``min(step,
  E)`` rows, the rows the previous iteration did not compute (Halide moves the footprint's min up
  to the previous iteration's max + 1); the other rows are reused. With ``step == 0`` nothing is
  recomputed after the first iteration.

Before: ``for yo: for yi: {alloc f[5]; f over rows y-2..y+2}; g[y] = Σ f`` — after: ``for yo:
{alloc f[8]; for yi: {if yi == 0: f over rows y-2..y+2 else: f over row y+2}; g[y] = Σ f[r & 7]}``.
Each new row of ``f`` is computed once per ``yo`` iteration instead of ``E`` times.

Errors (vx.ScheduleError naming the directive): a footprint of several boxes, a box whose origin
moves along two dimensions, backwards or by a non-constant step, storage in shared or global
memory.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import sympy as sp

from .. import errors
from ..algorithm import dtypes as T
from ..algorithm.construct import binary
from ..algorithm.expr import BinaryOp
from ..algorithm.symbolic import show
from ..schedule import directives as D
from .exprs import Layout, flat_index
from .fill import fill
from .ir import Allocate, If, MemorySpace, Ref, block, i32, local_name
from .sites import (
    Footprint,
    Realization,
    _check_in_update,
    compute_site,
    constant_boxes,
    enclosing,
    footprint,
    reader_layouts,
)
from .sym import from_sympy, loop_symbol

I32 = T.int32


def store_level(plan) -> str | None:
    """The loop of ``plan``'s consumer that its last ``store_at`` names, when that is not its
    compute_at loop (a sliding window); None otherwise."""
    d = next((d for d in reversed(plan.directives) if isinstance(d, D.StoreAt)), None)
    if d is None or plan.at is None or d.var == plan.at[1]:
        return None
    return d.var


def site_stmts(ctx, stage, site: str):
    """Statements placed at loop ``site`` of ``stage``'s Func: the storage of the windows stored
    there, then every producer computed there (a window, or :func:`sites.compute_site`)."""
    out = [_allocate(ctx, stage, p) for p in ctx.plans.values()
           if p.at is not None and p.at[0] == stage.plan.name and store_level(p) == site]
    for plan in ctx.sited(stage.plan.name, site):
        out.append((_compute if store_level(plan) else compute_site)(ctx, stage, plan, site))
    return block(*out) if out else None


@dataclass(frozen=True)
class FoldedLayout(Layout):
    """A window's storage: ``origin``/``extents`` per dimension as :class:`Layout`, except along
    dimension ``fold`` (-1: none), where point ``c`` is at row ``c & (extents[fold] - 1)``."""

    fold: int = -1

    def flat(self, coords):
        local = [binary(BinaryOp.AND, c, binary(BinaryOp.SUB, n, i32(1))) if d == self.fold
                 else binary(BinaryOp.SUB, c, o)
                 for d, (c, o, n) in enumerate(zip(coords, self.origin, self.extents))]
        return flat_index(local, self.extents) if local else i32(0)


@dataclass(frozen=True)
class Window:
    """One producer's window at its compute_at loop: the footprint ``box`` ([(lo sympy, int
    extent)]), the sliding dimension ``dim`` (-1: none) and its ``step`` per iteration, and the
    ``storage`` layout (its origin along the other dimensions: the box's, which does not move)."""

    footprint: Footprint
    box: list
    dim: int
    step: int
    storage: FoldedLayout

    @property
    def new(self) -> int:
        """Rows computed at each iteration after the first."""
        return min(self.step, self.box[self.dim][1]) if self.dim >= 0 else 0

    @property
    def size(self) -> int:
        return math.prod(n.value for n in self.storage.extents)


def window(stage, plan, site: str) -> Window:
    """The window of ``plan``'s Func at loop ``site`` of ``stage`` (see the module docstring)."""
    p, store = plan.func, store_level(plan)
    what = f"store_at({stage.plan.name}, {store}) of Func {p.name!r}"
    if plan.memory in (D.MemoryType.SHARED, D.MemoryType.GLOBAL):
        raise errors.ScheduleError(f"{what}: a sliding window is private to each thread; drop "
                                   f"store_in(\"{plan.memory.value}\")")
    fp = footprint(stage, p.name, site)
    if len(fp.boxes) != 1:
        raise errors.ScheduleError(
            f"{what}: {stage.plan.name!r} reads {p.name!r} in {len(fp.boxes)} separate boxes "
            f"per iteration of {site!r}; a window slides one box: drop store_at")
    (box,) = constant_boxes(fp, what, site, bound=False)   # a window slides exact rows
    i = loop_symbol(site)
    steps = [sp.expand(lo.subs(i, i + 1) - lo) for lo, _ in box]
    moving = [d for d, s in enumerate(steps) if s != 0]
    bad = [d for d in moving if not (steps[d].is_Integer and steps[d] > 0)]
    if bad or len(moving) > 1:
        why = (f"moves by {show(steps[bad[0]])} per iteration in dimension {bad[0]}" if bad else
               f"moves along dimensions {moving} at once")
        raise errors.ScheduleError(
            f"{what}: the footprint of {p.name!r} per iteration of {site!r} {why}; a window "
            f"slides forwards by a constant step along one dimension: drop store_at or reorder "
            f"the loops")
    dim = moving[0] if moving else -1
    storage = FoldedLayout(
        local_name(p.name, "win"),
        tuple(i32(0) if d == dim else from_sympy(lo) for d, (lo, _) in enumerate(box)),
        tuple(i32(1 << (e - 1).bit_length() if d == dim else e) for d, (_, e) in enumerate(box)),
        dim)
    return Window(fp, box, dim, int(steps[dim]) if moving else 0, storage)


def _allocate(ctx, stage, plan):
    w = window(stage, plan, plan.at[1])
    return Allocate(w.storage.buffer, plan.func.dtype, w.size, MemorySpace.LOCAL)


def _compute(ctx, stage, plan, site: str):
    """``if site == 0: the whole box, else: its new rows`` (into the window's storage)."""
    _check_in_update(stage, plan.name, site)
    p, w = plan.func, window(stage, plan, site)
    layouts = reader_layouts(stage, p.name, enclosing(stage.nest.loops, site))
    where = f"loop {site!r} of {stage.plan.name!r}"

    def fill_box(box, tag):
        origin = tuple(Ref(local_name(p.name, f"lo{d}", tag), I32) for d in range(len(box)))
        layout = Layout(w.storage.buffer, origin, tuple(i32(e) for _, e in box))
        return fill(ctx, stage, plan, box, layout, layouts, False, (tag,), where, w.storage)
    whole = fill_box(w.box, "all")
    first = binary(BinaryOp.EQ, Ref(site, I32), i32(0))
    if w.dim < 0:
        body = If(first, whole)
    elif w.new == w.box[w.dim][1]:
        body = whole
    else:
        lo, e = w.box[w.dim]
        box = list(w.box)
        box[w.dim] = (lo + e - w.new, w.new)
        body = If(first, whole, fill_box(box, "new"))
    stage.realized[p.name] = Realization(p.name, site, w.footprint, {0: w.storage})
    return body
