"""``ldmatrix`` for the A/B fragments of an mma tile (:mod:`vortex.lower.mma`) read from a tile
staged in shared memory: one warp-wide load of 8×8 matrices straight into the instruction's
registers instead of one shared load per element (CUTLASS's ``SM75_U32x4_LDSM_N`` copy atoms;
the PTX ISA's ``ldmatrix``).

It is used only where it is provably the same values as the element loads; every condition is
checked, and where one fails the fragment is loaded element by element (:func:`plan` → None):

1. the instruction's table has an ldmatrix feed for the operand with the tile's contiguous axis
   (:func:`vortex.mma.nvidia.feed`: row-major or column-major A and B of m16n8k16);
2. the operand (a cast of it allowed) is a read ``X[u, v]`` of an Input whose two arguments are
   the operand's two vars, in either order: the last one is the contiguous axis;
3. inside the mma loops ``X`` is read from a 2-D tile staged in shared memory (``stage``) of
   16-bit elements, whose last extent is a multiple of 8 and whose swizzle (if any) moves
   chunks of at least 8 elements: a run of 8 elements at a column multiple of 8 is 16
   contiguous, 16-byte-aligned bytes;
4. the contiguous coordinate is ``c + counter`` (the counter of the mma loop of that var), with
   ``c`` minus the tile's origin a multiple of 8 for every value of the outer loops, and no
   other mma counter in it (an affine proof with sympy);
5. every guard the element path would apply to the operand is implied by the staged copy's zero
   fill: it is ``coord < X.shape[d]`` or ``coord >= 0`` on one of the read's own coordinates,
   and the copy writes 0 wherever ``X`` has no point, so the element it would zero is 0.

The lane's address is the read's index in the tile with the operand's counters at the feed's
``row_start(lane)``: exactly the element path's address of the first element of the lane's run.
"""
from __future__ import annotations

import sympy as sp

from ..algorithm.bounds import to_sympy
from ..algorithm.expr import BinaryOp, BinOp, Cast, Const, Dim, Expr, Load, RVar, Var
from ..mma import nvidia
from ..schedule.directives import MemoryType
from .exprs import ExprLowerer
from .ir import FragmentLoad, Ref, block, i32
from .staging import StagedLayout
from .sym import loop_symbol

RUN = 8   # elements per ldmatrix row: 16 bytes of 16-bit elements


def plan(stage, inst, operand: str, expr, counters: tuple, names: tuple, mma: tuple,
         guards: list, layouts: dict, lane, coords_at):
    """The Block (address declarations + :class:`FragmentLoad`) loading ``operand`` ("a" or
    "b") of ``inst`` whose value is ``expr``, or None when a condition of the module docstring
    fails. ``counters``: the operand's (row, col) mma loop names and ``names`` their algorithm
    vars; ``mma``: the three loop names; ``guards``: the element path's guards on this operand;
    ``layouts``: the sources' layouts inside the mma loops; ``lane``: the lane's IR
    expression; ``coords_at(values)``: the stage's coordinates with the counters in ``values``
    replaced."""
    load = expr.value if isinstance(expr, Cast) else expr
    if inst.target != "cuda" or not isinstance(load, Load) or load.name not in \
            stage.ctx.pipe.inputs or len(load.args) != 2:
        return None
    names = list(names)
    args = [a.name if isinstance(a, (Var, RVar)) else None for a in load.args]
    contiguous = 1 if args == names else 0 if args == names[::-1] else None
    fd = None if contiguous is None else nvidia.feed(inst.name, operand, contiguous)
    tile = _shared_tile(stage, load, layouts)
    if fd is None or tile is None:
        return None
    last = counters[contiguous]
    if not _aligned(stage.coords[args[-1]], tile[0][-1][0], last, mma):
        return None
    shape = stage.ctx.pipe.inputs[load.name].shape
    if not all(_implied(g, stage.coords, args, shape) for g in guards):
        return None
    start = [x if isinstance(x, Expr) else i32(x) for x in fd.row_start(lane)]
    coords = coords_at(dict(zip(counters, start)))
    pre, value = ExprLowerer(coords, layouts, stage.ctx.names).lower(load)
    return block(pre, FragmentLoad(operand, value.buffer, value.index, fd.load.count,
                                   fd.load.trans))


def _shared_tile(stage, load, layouts):
    """(box, layout) of the shared staged tile the read ``load`` uses, if it is one ldmatrix
    can read (condition 3), else None."""
    layout = layouts.get(load.name)
    layout = getattr(layout, "by_read", {}).get(load.key, layout)
    staged = stage.staging.tiles.get(load.name)
    if not isinstance(layout, StagedLayout) or staged is None or staged[2] is not layout:
        return None
    d, box, _ = staged
    exts = [e for _, e in box]
    if d.memory is not MemoryType.SHARED or load.dtype.bits != 16 or len(exts) != 2 or \
            exts[-1] % RUN or (layout.swizzle and layout.lanes % RUN):
        return None
    return box, layout


def _affine(e):
    """The sympy form of an IR index expression of loop counters, sizes and constants built
    with + - *, or None."""
    if isinstance(e, Const) and not e.dtype.is_float:
        return sp.Integer(int(e.value))
    if isinstance(e, Ref):
        return loop_symbol(e.name)
    if isinstance(e, Dim):
        return to_sympy(e)
    if isinstance(e, BinOp) and e.op in _ARITH:
        a, b = _affine(e.a), _affine(e.b)
        return None if a is None or b is None else _ARITH[e.op](a, b)
    return None


_ARITH = {BinaryOp.ADD: lambda a, b: a + b, BinaryOp.SUB: lambda a, b: a - b,
          BinaryOp.MUL: lambda a, b: a * b}


def _aligned(coord, origin, counter: str, mma: tuple) -> bool:
    """Condition 4: ``coord - origin`` is ``counter`` + a multiple of 8 free of the other mma
    counters."""
    c = _affine(coord)
    if c is None:
        return False
    local = sp.expand(c - sp.sympify(origin))
    k = loop_symbol(counter)
    rest = sp.expand(local - k)
    if sp.diff(local, k) != 1 or any(loop_symbol(m) in rest.free_symbols for m in mma):
        return False
    syms = sorted(rest.free_symbols, key=str)
    coeffs = sp.Poly(rest, *syms).coeffs() if syms else [rest]
    return all(x.is_Integer and int(x) % RUN == 0 for x in coeffs)


def _implied(g, coords: dict, args: list, shape) -> bool:
    """Condition 5: ``g`` is ``coord < X.shape[d]`` or ``coord >= 0`` for a coordinate of the
    read."""
    if not isinstance(g, BinOp):
        return False
    for name, extent in zip(args, shape):
        if g.a.key == coords[name].key and ((g.op is BinaryOp.LT and g.b.key == extent.key) or (
                g.op is BinaryOp.GE and isinstance(g.b, Const) and g.b.value == 0)):
            return True
    return False

