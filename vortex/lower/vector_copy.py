"""16-byte staged copies: how many elements one copy of a shared tile moves, and on what facts.

A staged tile (:mod:`vortex.lower.staging`) is filled by the block's threads one copy at a time.
A copy moves ``v = 16 / itemsize`` contiguous elements of the tile's innermost dimension
(``float`` ×4, ``half`` ×8; ``cp.async`` of 16 bytes, ``LDGSTS.E.128`` on sm_80+; a
``uint4`` / ``vloadN`` access elsewhere) when both ends of every copy are 16-byte aligned:

- the tile's innermost extent is a multiple of ``v`` (so is every tile row, every slot, and,
  with the XOR swizzle permuting ``v``-element chunks, every swizzled position);
- the source element offset of every vector, ``Σ_d (lo_d + c_d - origin_d) · stride_d`` over
  the tile's coordinates ``c`` (``c_last`` a multiple of ``v``), is a multiple of ``v`` for
  every value of the loop counters, tile coordinates and sizes: every term's coefficient
  divided by ``v`` is an integer once the ``specialize`` facts (``K = 8 K'``) are substituted
  (:meth:`vortex.schedule.nest.LoopNest.divides`: integer coefficients over integer-valued
  terms, never assumed);
- the buffers start 16-byte aligned: shared arrays are declared so
  (:mod:`vortex.codegen.shared_memory`), device allocations are (``cuMemAlloc``: 256 bytes,
  ``hipMalloc`` likewise, OpenCL's ``vloadN`` needs only element alignment).

**Alignment facts tested at run time.** When the offset is a multiple of ``v`` only if some
sizes are (the row stride ``K`` of ``A[M, K]``, ``N`` of ``B[K, N]``: the general version of a
matmul, edge tiles and sizes that are not multiples of the tiles), :func:`plan` names those
Dims (:attr:`VectorPlan.facts`, the fewest that prove it) and the staging tests
``K % 4 == 0 && N % 4 == 0`` once per copy site: the 16-byte copies run when it holds, a
fallback of synchronous element copies (a load into a register and a shared store: ``LDG`` +
``STS``, no narrow ``cp.async``) when it does not. This is CUTLASS's ``AlignmentA/B`` template
parameter (128 bits / element bits, ``kAlignmentA`` in ``DefaultGemm``), chosen at run time the
way ``cutlass::gemm::device::Gemm::can_implement`` checks it for a leading dimension, with a
narrower kernel for the other strides.

**Edges: zero-filled whole chunks.** A chunk starts at a column ``≡ origin (mod v)`` of the
source when its offset is aligned; if the source's last extent is also a multiple of ``v``
(under the same facts), every chunk lies entirely inside or entirely outside the source
(:attr:`VectorPlan.whole`), so the edge copy is the 16-byte copy itself with ``src-size`` 0
for a chunk outside (PTX ``cp.async.cg.shared.global [dst], [src], 16, src_bytes``; CUTLASS's
predicated ``cp_async_zfill`` in its ``PredicatedTileAccessIterator``s): exact, never a
per-element guard. Otherwise (a one-dimensional source whose length is not a multiple of
``v``) a chunk may straddle the end: it is copied whole when all its lanes are inside, else one
synchronous element at a time (0 outside), and the ``prove guards`` pass removes what the sizes
decide.

Source: CUTLASS ``include/cutlass/gemm/kernel/default_gemm.h`` (``kAlignmentA/B``),
``include/cutlass/arch/memory_sm80.h`` (``cp_async_zfill``); Halide's alignment facts
(``ModulusRemainder``) for the proof.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import sympy as sp

from ..algorithm.bounds import to_sympy
from ..algorithm.symbolic import ParamSymbol

VECTOR_BYTES = 16


@dataclass(frozen=True)
class VectorPlan:
    """How a shared tile is copied. ``lanes``: elements per copy (1: one element, as a narrow
    ``cp.async`` where the dialect has it). ``facts``: ``(Dim symbol, multiple)`` pairs the
    copies' alignment needs at run time (empty: proven for every size). ``whole``: every
    ``lanes``-element chunk is entirely inside or entirely outside the source (under the
    facts), so an edge chunk is zero-filled rather than copied per element."""

    lanes: int = 1
    facts: tuple = ()
    whole: bool = False


def plan(dtype, extents, lows, source, bounds, nest) -> VectorPlan:
    """The copies of a shared tile of ``dtype`` with constant ``extents`` (ints) at origin
    ``lows`` (sympy, in loop counters and Dims) read from ``source`` (a
    :class:`~vortex.lower.exprs.Layout`) whose valid region's last dimension is ``bounds``
    (sympy ``(lo, hi)``, ``hi`` exclusive). ``nest``: the stage's LoopNest (its ``specialize``
    facts). ``lanes`` is ``16 // itemsize`` when the copies are aligned, proven or under
    ``facts``; else 1."""
    if VECTOR_BYTES % dtype.itemsize:
        return VectorPlan()
    v = VECTOR_BYTES // dtype.itemsize
    if v == 1 or extents[-1] % v:
        return VectorPlan()
    offset = source_offset(lows, source, v)
    try:
        sizes = [to_sympy(e) for e in source.extents] + list(bounds)
    except ValueError:
        return VectorPlan()
    if offset is None:
        return VectorPlan()
    open_dims = [d for d in _dims(sizes) if not nest.divides(d, v)]
    if not _assuming(nest, open_dims, v).divides(offset, v):
        return VectorPlan()
    facts = list(open_dims)
    for d in open_dims:          # the fewest facts: drop each one the proof does not need
        rest = [f for f in facts if f != d]
        if _assuming(nest, rest, v).divides(offset, v):
            facts = rest
    under = _assuming(nest, facts, v)
    lo, hi = (sp.sympify(b) for b in bounds)
    whole = under.divides(sp.sympify(lows[-1]) - lo, v) and under.divides(hi - lo, v)
    return VectorPlan(v, tuple((d, v) for d in facts), whole)


def _dims(sizes) -> list:
    """The Dim symbols of sympy size expressions ``sizes`` (not ranged Params), by name."""
    syms = {s for e in sizes for s in sp.sympify(e).free_symbols
            if not isinstance(s, ParamSymbol)}
    return sorted(syms, key=lambda s: s.name)


def _assuming(nest, dims, v: int):
    """``nest`` that also knows each of ``dims`` to be a multiple of ``v``."""
    assume = dict(nest.assume)
    for d in dims:
        assume[d] = sp.ilcm(assume.get(d, 1), v)
    return replace(nest, assume=assume)


def source_offset(lows, source, v: int):
    """The flat element offset (sympy) in ``source`` of a vector at tile coordinates
    ``c_0 … c_last`` (integer symbols, ``c_last = v · c'``) of the tile at ``lows``; None when
    the source's origin or extents are not expressions of sizes."""
    try:
        origin = [to_sympy(o) for o in source.origin]
        extents = [to_sympy(e) for e in source.extents]
    except ValueError:
        return None
    coords = [sp.Symbol(f"vx.c{d}", integer=True) for d in range(len(lows))]
    coords[-1] = v * coords[-1]
    offset, stride = sp.Integer(0), sp.Integer(1)
    for lo, c, o, ext in reversed(list(zip(lows, coords, origin, extents))):
        offset += (sp.sympify(lo) + c - o) * stride
        stride *= ext
    return sp.expand(offset)
