"""The ``tighten loops`` pass: a serial loop that does something only where an affine guard on
its counter holds runs over that range alone — an RDom ``where()`` with affine bounds (a
triangle ``r[1] <= r[0]``, a band, ``k < j < i``) runs its N(N+1)/2 or N³/6 points instead of
the whole box with a test around the body.

Source: Halide. An RDom restricted by ``where`` runs over its box with the predicate as a test,
and Halide tightens the loop bounds from the predicate where it can (tutorial lesson 17,
predicated RDoms); its ``TrimNoOps`` pass truncates a loop to the region over which it does
something, solving the loop's conditions for its variable.

A serial loop ``for v in [m, m + e)`` whose body is (after local ``Declare`` s: values computed
per iteration, with no effect when not used) an ``If`` with no else — or a chain of them, each
``then`` again ``Declare`` s and an ``If`` — whose condition is a conjunction, is rewritten
conjunct by conjunct (with :mod:`vortex.lower.partition_loops`' solver, locals read through
their definitions):

- ``k·v + R  op  c`` (``op`` one of ``<``, ``<=``, ``>``, ``>=``; ``k`` a nonzero constant;
  ``R`` of the enclosing loop counters, Dims and Params only) holds exactly for
  ``v <= floor((c - R) / k)`` (``k > 0``) or ``v >= ceil((R - c) / -k)`` (``k < 0``): the
  conjunct leaves the ``If`` and bounds the loop;
- a conjunct that does not read ``v`` nor anything the body changes (an enclosing counter
  against a Dim) leaves the ``If`` and guards the whole loop (``if (t) for …``), so that the
  enclosing loop, visited next, can solve it in turn;
- any other conjunct (a load ``A[r] > 0``, ``!=``, a product of counters) stays. So::

    for r_1 in [0, N):                  for r_1 in [lo, lo + max(N - lo, 0)):
        if r_0 < r_1 && A[r_1] > 0:  →      if A[r_1] > 0:        // lo = max(0, r_0 + 1)
            S                                   S

  with ``lo = max(m, lower bounds…)``, ``hi = min(m + e, upper bounds…)`` and the extent
  ``max(hi - lo, 0)`` (an empty range runs no iteration). Each iteration that the original
  loop ran with the condition true runs, in the same order; the others only evaluated
  ``Declare`` s. Loops are visited innermost first, so a 3-D ``k < j < i`` domain tightens
  both inner loops (``C(N, 3)`` innermost iterations).

Left alone: loops of other kinds (GPU-bound loops keep their launch; vectorized and unrolled
loops are expanded or printed as vectors), loops holding a barrier, a body that assigns or
stores before its ``If`` (it runs at every iteration), bounds that would read a load or divide
by a non-constant, and — as in ``partition loops`` — a loop of at most 16 constant iterations
whose new bounds are not constants (the device compiler unrolls it whole, which keeps the
arrays it indexes in registers).
"""
from __future__ import annotations

from dataclasses import replace

from ..algorithm import dtypes as T
from ..algorithm.construct import binary
from ..algorithm.expr import BinaryOp, BinOp, Cast, Const, Dim, Expr, Param, UnOp
from ..algorithm.walk import find
from .ir import (Barrier, Block, Declare, For, ForKind, GpuIndex, If, Kernel, Ref, Stmt, block,
                 guarded, i32)
from .partition import Invariant, conjuncts
from .partition_loops import _Bound, _LoopScope, _unrolled_by_the_compiler
from .passes import Pass
from .simplify import simplify_expr
from .walk import stmts

_RECURSE = (ForKind.SERIAL, ForKind.GPU_BLOCK, ForKind.GPU_THREAD)
_SAFE_OPS = (BinaryOp.ADD, BinaryOp.SUB, BinaryOp.MUL, BinaryOp.MIN, BinaryOp.MAX,
             BinaryOp.LT, BinaryOp.LE, BinaryOp.GT, BinaryOp.GE)


def _safe_node(n: Expr) -> bool:
    if isinstance(n, (Const, Dim, Param, Ref, GpuIndex, Cast, UnOp)):
        return True
    if isinstance(n, BinOp):
        return n.op in _SAFE_OPS or (n.op is BinaryOp.FLOORDIV and isinstance(n.b, Const)
                                      and n.b.value != 0)
    return False


def _safe(e: Expr) -> bool:
    """Whether ``e`` (a bound, or a comparison) may be evaluated once before the loop, where the
    body might not have evaluated it: integer arithmetic of names and constants compared, no
    load, no division by a name."""
    return not find(e, lambda n: not _safe_node(n) or n.dtype not in (T.int32, T.bool_))


def _guard_chain(s: Stmt) -> list:
    """The ``If`` s of ``s`` = ``Declare``\\ s, ``If(c, then)`` with no else, ``then`` again of
    that shape: outermost first (empty when ``s`` is not of that shape)."""
    out = []
    while True:
        parts = s.stmts if isinstance(s, Block) else (s,)
        if not parts or not isinstance(parts[-1], If) or parts[-1].otherwise is not None or \
                not all(isinstance(d, Declare) for d in parts[:-1]):
            return out
        out.append(parts[-1])
        s = parts[-1].then


def _rebuilt(s: Stmt, kept: list) -> Stmt:
    """``s`` (a guard chain) with the conditions of its ``If`` s replaced by the conjuncts
    ``kept`` (one list per ``If``, outermost first); an ``If`` left with none is removed."""
    if not kept:
        return s
    parts = s.stmts if isinstance(s, Block) else (s,)
    return block(*parts[:-1], guarded(kept[0], _rebuilt(parts[-1].then, kept[1:])))


def _solve(scope: _LoopScope, c: Expr):
    """A :class:`_Bound` on the loop counter that holds exactly where ``c`` does, an
    :class:`Invariant` (``c`` reads neither the counter nor anything the body changes), or None
    (``c`` stays in its ``If``)."""
    sides = scope.sides(c)
    if sides is None:
        return None
    fa, fb, _ = sides
    if any(name != scope.var for name, _ in fa.plus(fb, -1).counters):
        return None     # reads an inner counter too: no bound is exact
    out = scope.interior(c, scope.ranges)
    if isinstance(out, _Bound):
        return out if _safe(out.expr) else None
    return out if isinstance(out, Invariant) and _safe(out.cond) else None


def _terms(e: Expr, scale: int, terms: dict) -> int:
    """Add ``scale · e`` to ``terms`` (atom → coefficient); returns its constant part."""
    if isinstance(e, Const):
        return scale * int(e.value)
    if isinstance(e, BinOp) and e.op in (BinaryOp.ADD, BinaryOp.SUB):
        return _terms(e.a, scale, terms) + _terms(e.b, -scale if e.op is BinaryOp.SUB
                                                   else scale, terms)
    if isinstance(e, BinOp) and e.op is BinaryOp.MUL and isinstance(e.b, Const):
        return _terms(e.a, scale * int(e.b.value), terms)
    if isinstance(e, BinOp) and e.op is BinaryOp.MUL and isinstance(e.a, Const):
        return _terms(e.b, scale * int(e.a.value), terms)
    atom = binary(e.op, _tidy(e.a), _tidy(e.b)) if isinstance(e, BinOp) else e
    terms[atom] = terms.get(atom, 0) + scale
    return 0


def _tidy(e: Expr) -> Expr:
    """The int32 bound ``e`` with each sum collected (``-1 - r * -1 + 1`` is ``r``): positive
    terms first, then the others subtracted, then the constant. Same value (two's complement
    sums reassociate)."""
    if not (isinstance(e, BinOp) and e.dtype == T.int32):
        return e
    if e.op not in (BinaryOp.ADD, BinaryOp.SUB, BinaryOp.MUL):
        return binary(e.op, _tidy(e.a), _tidy(e.b))
    terms = {}
    const = _terms(e, 1, terms)
    out = None
    for atom, k in sorted(terms.items(), key=lambda t: t[1] < 0):
        term = atom if abs(k) == 1 else binary(BinaryOp.MUL, atom, i32(abs(k)))
        out = (term if k > 0 else binary(BinaryOp.SUB, i32(0), term)) if out is None else \
            binary(BinaryOp.ADD if k > 0 else BinaryOp.SUB, out, term)
    if out is None or const:
        out = i32(const) if out is None else binary(
            BinaryOp.ADD if const > 0 else BinaryOp.SUB, out, i32(abs(const)))
    return simplify_expr(out)


def _fold(op: BinaryOp, start: Expr, exprs: list) -> Expr:
    for e in exprs:
        start = binary(op, start, _tidy(e))
    return simplify_expr(start)


def _range(f: For, bounds: list):
    """``(min, extent)`` of ``f`` where all ``bounds`` hold, or None where that range would
    keep the device compiler from unrolling a short constant loop."""
    lo = _fold(BinaryOp.MAX, f.min, [b.expr for b in bounds if b.lower])
    hi = _fold(BinaryOp.MIN, simplify_expr(binary(BinaryOp.ADD, f.min, f.extent)),
               [b.expr for b in bounds if not b.lower])
    if _unrolled_by_the_compiler(f) and not (isinstance(lo, Const) and isinstance(hi, Const)):
        return None
    return lo, simplify_expr(binary(BinaryOp.MAX, binary(BinaryOp.SUB, hi, lo), i32(0)))


def tighten_loop(f: For) -> Stmt:
    """``f`` over the range where its guard chain's affine conjuncts hold, its invariant
    conjuncts tested once around it (see the module docstring); ``f`` itself when none."""
    chain = _guard_chain(f.body)
    if f.kind is not ForKind.SERIAL or not chain or \
            any(isinstance(x, Barrier) for x in stmts(f.body)):
        return f
    scope = _LoopScope(f.body, f.var, f.min, peel=False)
    solved = [[(c, _solve(scope, c)) for c in conjuncts(guard.cond)] for guard in chain]
    bounds = [b for level in solved for _, b in level if isinstance(b, _Bound)]
    rng = _range(f, bounds) if bounds else None
    if rng is None:
        bounds = []
    outside = [b.cond for level in solved for _, b in level if isinstance(b, Invariant)]
    if not bounds and not outside:
        return f
    kept = [[c for c, b in level if b is None or isinstance(b, _Bound) and not bounds]
            for level in solved]
    lo, extent = rng if bounds else (f.min, f.extent)
    return guarded(outside, replace(f, min=lo, extent=extent, body=_rebuilt(f.body, kept)))


def _tightened(s: Stmt) -> Stmt:
    if isinstance(s, For):
        if s.kind not in _RECURSE:
            return s
        return tighten_loop(replace(s, body=_tightened(s.body)))
    if isinstance(s, Block):
        return block(*(_tightened(x) for x in s.stmts))
    if isinstance(s, If):
        return If(s.cond, _tightened(s.then),
                  None if s.otherwise is None else _tightened(s.otherwise))
    return s


def tighten(k: Kernel) -> Kernel:
    """``k`` with its guarded serial loops tightened, innermost first (module docstring)."""
    return replace(k, body=_tightened(k.body))


TIGHTEN = Pass(
    "tighten loops", lambda prog: prog.map_kernels(tighten),
    "no serial loop whose body is Declares and a chain of else-less Ifs tests a conjunct affine "
    "in its counter (the loop runs over the range where it holds, extent clamped at 0) or one "
    "invariant in the loop (tested once around it); other conjuncts stay")
