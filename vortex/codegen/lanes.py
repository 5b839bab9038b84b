"""The lane loop of ``vectorize`` as index algebra, for every dialect's vector printer.

A vectorized loop ``for (l = 0; l < N; ++l)`` reads and writes memory at integer indices. Each
index is read as a polynomial in the lane ``l`` (:data:`LANE`), the loop's own locals (by their
definitions), outer locals and Dims (symbols), with integer coefficients — or not at all
(:func:`affine` is None: a load, a division, a lane-varying clamp). What the printers decide
from it:

- **step** (:func:`lane_step`): ``uniform`` (the same element in every lane), ``dense`` (the
  element of lane ``l`` is lane 0's plus ``l``: one N-wide access), ``gather`` (anything else);
- **alignment** (:func:`multiple_of`): lane 0's element index is a multiple of N for every value
  of the counters and sizes: each term's coefficient is, once each Dim known to be a multiple
  of some ``m`` (a ``specialize`` condition ``D % m == 0`` around the loop:
  :func:`dim_multiples`) is written ``m · D'``. Proven over integer-valued symbols, never
  assumed (Halide's ``ModulusRemainder`` facts play this role in ``VectorizeLoops``);
- **uniform guards** (:func:`uniform_guard`): a lane-dependent condition ``a + l < b`` with
  ``a`` and ``b`` multiples of N (the edge test of a tile whose origin and bound are aligned)
  has the same truth in every lane, so it can be tested once, at lane 0.

Source: Halide ``VectorizeLoops.cpp`` (ramps of stride 1 become dense vector loads) and
``ModulusRemainder.cpp`` (alignment of an index from its terms).
"""
from __future__ import annotations

import sympy as sp

from ..algorithm.expr import BinaryOp, BinOp, Const, Dim
from ..algorithm.walk import find, rebuild
from ..lower.ir import BufferLoad, Ref, local_name
from ..lower.prove import _conjuncts, _divisibility

LANE = sp.Dummy("lane")   # the lane number in affine index forms (no name can equal it)


class NotVectorizable(Exception):
    """The loop body uses something the vector printer does not handle; print it scalar."""


def dim_symbol(name: str) -> sp.Symbol:
    """The symbol of Dim ``name`` in index forms (its own kind: no local can share it)."""
    return sp.Symbol(local_name("dim", name))


def affine(e, defs: dict):
    """sympy form of an integer index expression (Refs/Dims/+,-,*), or None. Locals and Dims
    have symbols of their own kind, so a Ref never shares a symbol with a Dim or the lane.
    ``defs``: local name → its form (None: varies with the lane in no known way)."""
    if isinstance(e, Const):
        return sp.Integer(int(e.value))
    if isinstance(e, Ref):
        return defs.get(e.name, sp.Symbol(local_name("ref", e.name)))
    if isinstance(e, Dim):
        return dim_symbol(e.name)
    if isinstance(e, BinOp) and e.op in (BinaryOp.ADD, BinaryOp.SUB, BinaryOp.MUL):
        a, b = affine(e.a, defs), affine(e.b, defs)
        if a is None or b is None:
            return None
        return {BinaryOp.ADD: a + b, BinaryOp.SUB: a - b, BinaryOp.MUL: a * b}[e.op]
    return opaque(e, defs)


def opaque(e, defs: dict):
    """A symbol of its own for an integer expression that is the same in every lane (a folded
    window row ``y & 7``, a clamp of outer counters): it reads no load and no local whose form
    varies with the lane; None otherwise."""
    if not e.dtype.is_int or find(e, lambda x: isinstance(x, BufferLoad)):
        return None
    for r in find(e, lambda x: isinstance(x, Ref)):
        form = defs.get(r.name, 0)
        if form is None or (form != 0 and sp.sympify(form).has(LANE)):
            return None
    return sp.Dummy("uniform")


def lane_step(form) -> str:
    """How an index of affine ``form`` (or None) moves with the lane: "uniform", "dense"
    (exactly +1 per lane) or "gather"."""
    if form is None:
        return "gather"
    form = sp.expand(form)
    if not form.has(LANE):
        return "uniform"
    return "dense" if sp.diff(form, LANE) == 1 else "gather"


def at_lane0(form):
    """``form`` at lane 0 (sympy)."""
    return sp.expand(sp.sympify(form).subs(LANE, 0))


def multiple_of(form, n: int, multiples: dict) -> bool:
    """Is the integer polynomial ``form`` (no lane) a multiple of ``n`` for every integer value
    of its symbols? ``multiples``: Dim name → a known multiple of it (the ``specialize``
    facts). True only when every coefficient is, once each such Dim is ``m · D'``."""
    subs = {dim_symbol(d): m * sp.Symbol(local_name("dim", d, "q")) for d, m in multiples.items()}
    e = sp.expand(sp.sympify(form).subs(subs))
    if e.has(LANE):
        return False
    if not e.free_symbols:
        return e.is_Integer and int(e) % n == 0
    poly = sp.Poly(e, *sorted(e.free_symbols, key=str))
    return all(c.is_Integer and int(c) % n == 0 for c in poly.coeffs())


def dim_multiples(cond) -> dict:
    """Dim name → n for each conjunct ``D % n == 0`` of ``cond`` (a ``specialize`` test)."""
    out = {}
    for c in _conjuncts(cond):
        found = _divisibility(c) if isinstance(c, BinOp) else None
        if found is not None:
            out[found[0]] = int(sp.ilcm(out.get(found[0], 1), found[1]))
    return out


def inline_definitions(cond, values: dict):
    """``cond`` with each local of the lane loop it reads (``values``: name → definition)
    replaced by its definition, so it can be tested before the loop body (the counters of an
    edge tile, ``x = lo + lane``). A definition that loads from memory is not moved before the
    guard that protects it: NotVectorizable."""
    def inline(x):
        if isinstance(x, Ref) and x.name in values:
            value = values[x.name]
            if find(value, lambda n: isinstance(n, BufferLoad)):
                raise NotVectorizable("the guard reads a value loaded in the lane loop")
            return rebuild(value, inline)
        return None
    return rebuild(cond, inline)


# (op, the remainder of m that makes "lane + m OP 0" the same in every lane of N): lane < -m
# and lane >= -m hold in all lanes or none when -m is a multiple of N; lane <= -m and lane > -m
# when -m + 1 is.
_UNIFORM_REMAINDER = {BinaryOp.LT: 0, BinaryOp.GE: 0, BinaryOp.LE: 1, BinaryOp.GT: 1}
_NEGATED = {BinaryOp.LT: BinaryOp.GT, BinaryOp.GT: BinaryOp.LT, BinaryOp.LE: BinaryOp.GE,
            BinaryOp.GE: BinaryOp.LE}


def uniform_guard(cond, lane: str, defs: dict, n: int, multiples: dict) -> bool:
    """Has ``cond`` (its lane-loop locals already inlined: :func:`inline_definitions`) the same
    truth in all ``n`` lanes of the loop over ``lane``? ``defs``: the affine forms of locals
    (:func:`affine`). Each conjunct that reads the lane must be a comparison
    ``a OP b`` (OP one of < <= > >=) with ``a - b = ±lane + m`` and ``m`` (or ``m - 1``, by
    OP) a multiple of ``n`` (:func:`multiple_of`)."""
    for c in _conjuncts(cond):
        if not find(c, lambda x: isinstance(x, Ref) and x.name == lane):
            continue
        if not (isinstance(c, BinOp) and c.op in _UNIFORM_REMAINDER and c.a.dtype.is_int):
            return False
        a, b = affine(c.a, defs), affine(c.b, defs)
        if a is None or b is None:
            return False
        d, op = sp.expand(a - b), c.op
        step = sp.diff(d, LANE)
        if step == -1:
            d, op = -d, _NEGATED[op]
        elif step != 1:
            return False
        if not multiple_of(d - LANE - _UNIFORM_REMAINDER[op], n, multiples):
            return False
    return True
