"""16-byte staged copies: how many elements one copy of a shared tile moves, proven aligned.

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

Otherwise ``v = 1`` (one element per copy, as before). Vectors are whole or absent at the edges
only when the sizes say so; the lowering wraps each vector copy in ``if (all lanes inside)``
with a per-lane fallback, which the ``prove guards`` pass removes where the sizes decide it.

Source: CUTLASS's ``AlignmentA/B`` (128 bits / element bits) and its 128-bit
``cp.async`` tile iterators; Halide's alignment facts (``ModulusRemainder``) for the proof.
"""
from __future__ import annotations

import sympy as sp

from ..algorithm.bounds import to_sympy

VECTOR_BYTES = 16


def lanes(dtype, extents, lows, source, nest) -> int:
    """Elements per copy of a shared tile of ``dtype`` with constant ``extents`` (ints) at
    origin ``lows`` (sympy, in loop counters and Dims) read from ``source`` (a
    :class:`~vortex.lower.exprs.Layout`): ``16 // itemsize`` when the copies are proven
    aligned, else 1. ``nest``: the stage's LoopNest (its ``specialize`` facts)."""
    if VECTOR_BYTES % dtype.itemsize:
        return 1
    v = VECTOR_BYTES // dtype.itemsize
    if v == 1 or extents[-1] % v:
        return 1
    offset = source_offset(lows, source, v)
    return v if offset is not None and nest.divides(offset, v) else 1


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
