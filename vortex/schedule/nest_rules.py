"""What each loop directive does to a :class:`~vortex.schedule.nest.LoopNest`: :data:`APPLY`,
directive class → its rule (validation and application together), the rules that are more than
one primitive of the nest — ``tile``, ``gpu_tile``, ``mma`` (the lane loop of a warp-level
matrix instruction) and ``ragged_split`` (the tile table of a packed axis) — defined here.
A rule raises :class:`~vortex.schedule.nest.Reject`; :meth:`LoopNest.apply` locates it."""
from __future__ import annotations

from dataclasses import replace

import sympy as sp

from ..algorithm.bounds import to_sympy
from ..algorithm.symbolic import floordiv, prove_nonneg
from ..loop_kinds import ForKind, GpuAxis
from ..mma import lanes_of, shapes
from . import directives as D
from .nest import (FuseRecord, Loop, LoopNest, RaggedRecord, Reject, _constant, listing)
from .stages import parse as parse_stage


def ragged_split(n: LoopNest, d):
    """The :class:`~vortex.schedule.directives.RaggedSplit` directive: ``d.var`` (an
    original pure var of a pure stage) becomes ``d.outer`` over the W = floor(E / factor)
    + n + 1 slots of the tile table and ``d.inner`` in [0, factor). With :attr:`LoopNest.inputs`
    known, ``d.offsets`` must be a 1-D integer Input declared ``range=`` (within [0, E]
    when E is symbolic: proven) and ``monotone=True``."""
    stage = parse_stage(n.func)
    if stage.update is not None:
        raise Reject(f"ragged_split applies to a Func's pure definition, not update "
                     f"{stage.update} of {stage.func!r}: ragged_split s[{stage.func!r}]")
    if any(isinstance(r, RaggedRecord) for r in n.records):
        raise Reject("one ragged_split per Func")
    lp = n.loop(d.var)
    made = {name for r in n.records for name in
            ((r.fused,) if isinstance(r, FuseRecord) else (r.outer, r.inner))}
    if lp.reduction or d.var in made:
        what = "iterates a reduction domain" if lp.reduction else "was made by split/fuse"
        raise Reject(f"var {d.var!r} {what}; ragged_split takes a pure Var of the Func "
                     "(call it before the directives that split or fuse that Var)")
    n.unbound(d.var, "ragged_split")
    if d.inner == d.var:
        raise Reject(f"the inner var cannot take the name {d.var!r}; pick a fresh one")
    n.fresh(d.outer, d.inner, replaced=(d.var,))
    count = _offsets(n, d, lp.extent)
    width = None if lp.extent is None or count is None else \
        floordiv(sp.sympify(lp.extent), d.factor) + count + 1
    i = n.index(d.var)
    n.loops[i:i + 1] = [replace(lp, name=d.outer, extent=width),
                        Loop(d.inner, _constant(d.factor, lp.extent))]
    n.records.append(RaggedRecord(d.var, d.outer, d.inner, d.factor, d.offsets,
                                  lp.extent, count))


def _offsets(n: LoopNest, d, extent):
    """The number of offsets (sympy), None when :attr:`LoopNest.inputs` is unknown; Reject unless
    ``d.offsets`` is a monotone 1-D integer Input with a range within [0, ``extent``]."""
    if not n.inputs:
        return None
    inp = n.inputs.get(d.offsets)
    if inp is None:
        raise Reject(f"{d.offsets!r} is not an Input the pipeline reads (Inputs: "
                     f"{listing(sorted(n.inputs))}); name the offsets Input")
    if len(inp.shape) != 1 or not inp.dtype.is_int:
        raise Reject(f"the offsets {d.offsets!r} must be a 1-D integer Input, not "
                     f"{inp.dtype} of rank {len(inp.shape)}")
    if inp.range is None or not inp.monotone:
        raise Reject(f"the offsets {d.offsets!r} must be declared with their range and as "
                     f"non-decreasing: vx.Input({d.offsets!r}, ..., range=(0, E), "
                     f"monotone=True), E the extent of {d.var!r}")
    lo, hi = (to_sympy(b) for b in inp.range)
    if isinstance(extent, sp.Basic) and not (prove_nonneg(lo) and prove_nonneg(extent - hi)):
        raise Reject(f"the range [{lo}, {hi}] declared for {d.offsets!r} is not within "
                     f"[0, {extent}], the rows of {d.var!r}; declare range=(0, {extent})")
    return to_sympy(inp.shape[0])


def _tile(n: LoopNest, d):
    if d.y == d.x:
        raise Reject(f"tile needs two different vars, got {d.y!r} twice")
    n.split(d.y, d.yo, d.yi, d.fy)
    n.split(d.x, d.xo, d.xi, d.fx)
    n.reorder([d.yo, d.xo, d.yi, d.xi])


def _gpu_tile(n: LoopNest, d):
    for v, b, t, f in zip(d.vars, d.blocks, d.threads, d.factors):
        n.split(v, b, t, f)
    n.reorder(list(d.blocks) + list(d.threads))
    n.bind(d.blocks, True)
    n.bind(d.threads, False)


MMA_LANE = "mma_lane"


def _mma(n: LoopNest, d):
    """The mma directive: ``i``, ``j``, ``k`` the three innermost loops, serial, of constant
    extents that are an instruction's shape; adds the lane loop on thread axis x."""
    names = [d.i, d.j, d.k]
    n._distinct(names)
    if n.mma is not None:
        raise Reject("one mma per Func")
    stage = parse_stage(n.func)
    if stage.update is not None:
        raise Reject(f"mma computes a pure definition whose value is a sum of products "
                     f"(C[i, j] = vx.sum(A[i, k] * B[k, j])), not update {stage.update} of "
                     f"{stage.func!r}: compute the product in a pure Func with mma and read "
                     "it in the update")
    if n.names[-3:] != names:
        raise Reject(f"{d.i!r}, {d.j!r}, {d.k!r} must be the three innermost loops, in that "
                     f"order (loop vars: [{listing(n.names)}]); reorder first")
    loops = [n.loop(x) for x in names]
    if loops[0].reduction or loops[1].reduction or not loops[2].reduction:
        raise Reject(f"{d.i!r} and {d.j!r} must be pure vars and {d.k!r} the reduction var")
    for lp in loops:
        n.unbound(lp.name, "mma")
        if lp.kind is not ForKind.SERIAL:
            raise Reject(f"{lp.name!r} is {lp.kind.name.lower()}; the instruction replaces the "
                         "loop: leave it serial")
    shape = tuple(int(lp.extent) if isinstance(lp.extent, (int, sp.Integer)) else None
                  for lp in loops)
    if None in shape:
        raise Reject(f"the extents of {', '.join(names)} must be constants (an instruction's "
                     f"m, n, k): split them by those factors first")
    lanes = lanes_of(shape)
    if lanes is None:
        raise Reject(f"no matrix instruction has the shape m x n x k = "
                     f"{'x'.join(map(str, shape))} (shapes: {shapes()})")
    if n.threads:
        raise Reject(f"thread axis x is the warp's lanes: call mma before gpu_threads "
                     f"(bound already: [{listing(n.threads)}])")
    n.fresh(MMA_LANE)
    first = next(x for x, lp in enumerate(n.loops) if lp.reduction)   # inside blocks, warps
    n.loops.insert(first, Loop(MMA_LANE, _constant(lanes, loops[0].extent),
                               axis=GpuAxis.THREAD_X))
    n.bound_at[MMA_LANE] = None
    n.mma = (d.i, d.j, d.k, MMA_LANE)
    n.mma_precision = d.input_precision


# Loop directive class -> what it does to a LoopNest (validation and application).
APPLY = {
    D.Split: lambda n, d: n.split(d.var, d.outer, d.inner, d.factor),
    D.RaggedSplit: ragged_split,
    D.Tile: _tile,
    D.Reorder: lambda n, d: n.reorder(d.vars),
    D.Fuse: lambda n, d: n.fuse(d.outer, d.inner, d.fused),
    D.GpuBlocks: lambda n, d: n.bind(d.vars, True),
    D.GpuThreads: lambda n, d: n.bind(d.vars, False),
    D.GpuTile: _gpu_tile,
    D.Vectorize: lambda n, d: n.mark(d, ForKind.VECTORIZED),
    D.Unroll: lambda n, d: n.mark(d, ForKind.UNROLLED),
    D.Mma: _mma,
}
