"""A Func stage's loop nest as the schedule shapes it (Halide's stage dims and split list).

Every loop counter runs from 0 to ``extent - 1``. Splits and fuses are recorded in order; the
original coordinates are recovered from the final (leaf) counters by replaying the records
backwards. A split whose factor does not provably divide the extent adds a guard
(``outer * f + inner < extent``: Halide's GuardWithIf), so every size is correct.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import sympy as sp

from .. import errors
from ..schedule import directives as D
from .ir import ForKind, GpuAxis

_AXES = {True: (GpuAxis.BLOCK_X, GpuAxis.BLOCK_Y, GpuAxis.BLOCK_Z),
         False: (GpuAxis.THREAD_X, GpuAxis.THREAD_Y, GpuAxis.THREAD_Z)}


@dataclass(frozen=True)
class Loop:
    """One loop: counter ``name`` over [0, extent) (sympy), its GPU binding or kind, and whether
    it iterates a reduction (``reduction``)."""

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
class FuseRecord:
    outer: str
    inner: str
    fused: str
    inner_extent: object


@dataclass
class LoopNest:
    """Mutable while directives are applied, then read by the lowering."""

    func: str
    loops: list
    records: list = field(default_factory=list)
    assume: dict = field(default_factory=dict)   # Dim symbol -> multiple it is divisible by

    def index(self, name: str) -> int:
        for i, lp in enumerate(self.loops):
            if lp.name == name:
                return i
        raise errors.ScheduleError(f"Func {self.func!r} has no loop {name!r}; its loops are "
                                   f"{[lp.name for lp in self.loops]}")

    def loop(self, name: str) -> Loop:
        return self.loops[self.index(name)]

    def divides(self, extent, factor: int) -> bool:
        e = sp.sympify(extent)
        for sym, n in self.assume.items():
            t = sp.Dummy(f"{sym.name}_t", integer=True, positive=True)
            e = e.subs(sym, n * t)
        return bool(sp.simplify(e / factor).is_integer)

    # --- directives --------------------------------------------------------------------------
    def split(self, var: str, outer: str, inner: str, factor: int):
        i = self.index(var)
        lp = self.loops[i]
        exact = self.divides(lp.extent, factor)
        outer_ext = sp.ceiling(sp.sympify(lp.extent) / factor)
        self.loops[i:i + 1] = [replace(lp, name=outer, extent=outer_ext),
                               Loop(inner, sp.Integer(factor), lp.reduction)]
        self.records.append(SplitRecord(var, outer, inner, factor, lp.extent, exact))

    def reorder(self, names):
        slots = sorted(self.index(n) for n in names)
        chosen = [self.loop(n) for n in names]
        for slot, lp in zip(slots, chosen):
            self.loops[slot] = lp

    def fuse(self, outer: str, inner: str, fused: str):
        o, i = self.index(outer), self.index(inner)
        lo, li = self.loops[o], self.loops[i]
        if lo.reduction != li.reduction:
            raise errors.ScheduleError(f"fuse({outer}, {inner}, {fused}) on Func {self.func!r}: "
                                       "cannot fuse a pure loop with a reduction loop")
        self.loops[o] = Loop(fused, sp.sympify(lo.extent) * li.extent, lo.reduction)
        del self.loops[i]
        self.records.append(FuseRecord(outer, inner, fused, li.extent))

    def bind(self, names, is_block: bool):
        """The last name gets the lowest free axis (x); a later call binds further out (y, z)."""
        used = sum(1 for lp in self.loops if lp.axis is not None and lp.axis.is_block == is_block)
        free = _AXES[is_block][used:]
        kind = "block" if is_block else "thread"
        what = f"gpu_{kind}s({', '.join(names)}) on Func {self.func!r}"
        if len(free) < len(names):
            raise errors.ScheduleError(f"{what}: at most 3 {kind} axes, {used} used")
        for n, axis in zip(reversed(list(names)), free):
            i = self.index(n)
            if self.loops[i].reduction:
                raise errors.ScheduleError(
                    f"{what}: {n!r} is a reduction loop and cannot run in parallel")
            self.loops[i] = replace(self.loops[i], axis=axis)

    def mark(self, d, kind: ForKind):
        """vectorize/unroll ``d``: with a factor the outer part keeps the name (Halide's
        ``vectorize(x, n)``) and the inner loop ``d.target`` is marked; its extent must be
        a constant."""
        if d.factor:
            self.split(d.var, d.var, d.target, d.factor)
        i = self.index(d.target)
        ext = sp.sympify(self.loops[i].extent)
        if not ext.is_Integer:
            raise errors.ScheduleError(
                f"{d} on Func {self.func!r}: the extent {ext} of {d.target!r} is not a constant; "
                f"give a factor ({d.name}({d.var}, 4)) or split {d.target!r} by a constant first")
        self.loops[i] = replace(self.loops[i], kind=kind)

    def apply(self, d):
        """Apply one loop-shaping directive (others are handled by the caller)."""
        handler = _HANDLERS.get(type(d))
        if handler is not None:
            handler(self, d)


def _tile(n: LoopNest, d):
    n.split(d.y, d.yo, d.yi, d.fy)
    n.split(d.x, d.xo, d.xi, d.fx)
    n.reorder([d.yo, d.xo, d.yi, d.xi])


def _gpu_tile(n: LoopNest, d):
    for v, b, t, f in zip(d.vars, d.blocks, d.threads, d.factors):
        n.split(v, b, t, f)
    n.reorder(list(d.blocks) + list(d.threads))
    n.bind(d.blocks, True)
    n.bind(d.threads, False)


_HANDLERS = {
    D.Split: lambda n, d: n.split(d.var, d.outer, d.inner, d.factor),
    D.Tile: _tile,
    D.Reorder: lambda n, d: n.reorder(list(d.vars)),
    D.Fuse: lambda n, d: n.fuse(d.outer, d.inner, d.fused),
    D.GpuBlocks: lambda n, d: n.bind(d.vars, True),
    D.GpuThreads: lambda n, d: n.bind(d.vars, False),
    D.GpuTile: _gpu_tile,
    D.Vectorize: lambda n, d: n.mark(d, ForKind.VECTORIZED),
    D.Unroll: lambda n, d: n.mark(d, ForKind.UNROLLED),
}
