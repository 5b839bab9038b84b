"""Lowering a reduction under the ``mma`` directive: its innermost (i, j, k) loops become one
warp-level matrix instruction per tile (tensor cores; docs/tensor_cores.md).

The Func must be ``f[…, i, …, j, …] = sum(a * b)`` with ``a`` reading the i and k coordinates,
``b`` the k and j ones (each possibly cast to the accumulator type), of the instruction's types
(:mod:`vortex.mma`: A and B of its input type, the sum of its accumulator type). The three loops
are not emitted. Per lane (the directive's ``mma_lane`` loop, thread axis x):

- the accumulator fragment: ``acc[t · E + e]``, E the instruction's C elements per lane, one
  group per tile ``t`` of the pure loops left inside the reduction (a warp's sub-tiles);
- per tile and k step, an :class:`~vortex.lower.ir.MmaTile`: the A and B elements the lane
  holds (the fragment layouts' coordinates put in place of the i, j, k loop counters; 0 where
  the domain's guards fail: edges need no padding; 0 where a ``where`` predicate of the RDom
  fails, each conjunct on the operand whose coordinates it reads: k <= i zeroes A, k >= j
  zeroes B, one reading i and j is refused), and the same step as plain loops (each lane its
  own C elements, k in order, under the predicates: one loop over the elements, not one copy
  per element, which PoCL's work-group compiler did not finish) for the targets without the
  instruction;
- the final stores: each C element to its coordinates, under the Func's guards.

So every tile of every schedule computes the same sum in the same k order as the loop nest on
OpenCL (exactly, for integers and for floats), and the GPU instruction computes it with the same
addresses. Source: TVM's ``tensorize`` (a loop nest matched and replaced by an intrinsic);
the fragment layouts of the PTX ISA and AMD's CDNA ISA.
"""
from __future__ import annotations

import math

import sympy as sp

from .. import errors
from ..algorithm import dtypes as T
from ..algorithm.expr import BinaryOp, BinOp, Cast, Const, ReduceOp, RVar, Var
from ..algorithm.ops import select
from ..algorithm.walk import find, rebuild
from ..mma import by_shape
from ..algorithm.tf32 import round_tf32
from . import fragment_loads
from .exprs import ExprLowerer, flat_index, replace_reduce
from .partition import conjuncts
from .ir import (Allocate, Assign, BufferLoad, Declare, For, ForKind, MmaTile, MemorySpace, Ref, Store,
                 block, conj, guarded, i32, local_name)
from .tuple_store import value_stores

I32 = T.int32


def _fail(stage, why: str):
    raise errors.ScheduleError(f"mma on Func {stage.plan.name!r}: {why}")


def _counter_var(stage, counter: str) -> str:
    """The algorithm Var/RVar whose coordinate is built from the loop ``counter``."""
    names = [v for v, e in stage.coords.items()
             if find(e, lambda x: isinstance(x, Ref) and x.name == counter)]
    if len(names) != 1:
        _fail(stage, f"loop {counter!r} must come from exactly one var (it is part of "
                     f"{names or 'none'})")
    return names[0]


def _operands(stage, r, i_var: str, j_var: str, k_var: str):
    """(a, b): the factors of the reduction body reading (i, k) and (k, j)."""
    body = r.body
    if r.op is not ReduceOp.SUM or not (isinstance(body, BinOp) and body.op is BinaryOp.MUL):
        _fail(stage, "the Func must be a sum of products sum(A[i, k] * B[k, j]); "
                     f"it is {r.op.name.lower()}({body})")

    x, y = body.a, body.b
    if j_var in _reads(x) and i_var in _reads(y):
        x, y = y, x
    if j_var in _reads(x) or i_var in _reads(y) or k_var not in _reads(x) | _reads(y):
        _fail(stage, f"one factor of {body} must read {i_var!r} and {k_var!r} (A), the other "
                     f"{k_var!r} and {j_var!r} (B)")
    return x, y


def _reads(e) -> set:
    return {x.name for x in find(e, lambda x: isinstance(x, (Var, RVar)))}


def _predicate_sides(stage, r, i_var: str, j_var: str) -> dict:
    """The reduction's ``where`` predicates, split at ``&``, by the operand whose elements they
    zero: "b" for one reading ``j_var``, "a" for the others; vx.ScheduleError for one reading
    both."""
    out = {"a": [], "b": []}
    for p in (c for q in r.rdom.predicates for c in conjuncts(q)):
        names = _reads(p)
        if i_var in names and j_var in names:
            _fail(stage, f"the where predicate {p} reads both {i_var!r} and {j_var!r}, so it "
                         "does not zero one operand's elements; write it into a factor's value "
                         "(vx.select(cond, a, 0)), or drop mma")
        out["b" if j_var in names else "a"].append(p)
    return out


def _strip(e):
    return e.value if isinstance(e, Cast) else e


def instruction(stage, r, shape, i_var, j_var, k_var):
    """The instruction of this shape whose A/B/accumulator types are the Func's (an opt-in
    one only under the directive's ``input_precision`` that admits its input type)."""
    a, b = _operands(stage, r, i_var, j_var, k_var)
    types = (_strip(a).dtype.name, _strip(b).dtype.name, r.body.dtype.name)
    precision = stage.nest.mma_precision
    found = [i for i in by_shape(shape) if (i.a, i.b, i.acc) == types
             and i.opt_in in (None, precision)]
    if not found:
        have = sorted({(i.a, i.b, i.acc) for i in by_shape(shape)})
        opt = {i.a: i.opt_in for i in by_shape(shape) if i.opt_in not in (None, precision)}
        fix = (f"its {types[0]} instruction rounds the inputs: ask for it with mma(..., "
               f"input_precision={opt[types[0]]!r})") if types[0] in opt else (
            "cast A and B to the instruction's input type and the sum to its accumulator type")
        _fail(stage, f"no {'x'.join(map(str, shape))} instruction multiplies {types[0]} by "
                     f"{types[1]} into {types[2]} exactly (this shape has: {have}); {fix}")
    return found[0], a, b


# What an opt-in instruction's input precision does to each operand (applied on every target,
# so the instruction reads exact values and OpenCL's emulation computes the same products).
ROUNDING = {"tf32": round_tf32}


def _substitute(e, values: dict):
    return rebuild(e, lambda x: values.get(x.name) if isinstance(x, Ref) else None)


def lower(stage, loops, into=None):
    """The reduction of ``stage`` (a StageLowering, or a compute_at producer's box:
    :class:`vortex.lower.mma_site.BoxStage`) under ``mma``: the accumulator fragment, its init,
    the update nest over ``loops`` (the serial loops from the first reduction loop inwards,
    without the three the instruction replaces) and the final stores — into the Func's buffer,
    or the Layout ``into`` (a box)."""
    f, r = stage.plan.func, stage.reduce
    i, j, k, lane = stage.nest.mma
    mma_loops = {lp.name: lp for lp in loops if lp.name in (i, j, k)}
    if len(mma_loops) != 3:
        _fail(stage, f"the loops {i!r}, {j!r} must be inside the reduction's outer loop: split "
                     f"the reduction var by the instruction's k so that {k!r} has an outer part")
    shape = tuple(int(sp.sympify(mma_loops[n].extent)) for n in (i, j, k))
    i_var, j_var, k_var = (_counter_var(stage, n) for n in (i, j, k))
    inst, a_expr, b_expr = instruction(stage, r, shape, i_var, j_var, k_var)
    body = r.body
    if inst.opt_in is not None:
        a_expr, b_expr = (ROUNDING[inst.opt_in](_strip(x)) for x in (a_expr, b_expr))
        body = a_expr * b_expr
    tile = [lp for lp in loops if lp.name not in mma_loops]
    pure_in = [lp for lp in tile if not lp.reduction]
    exts = [sp.sympify(lp.extent) for lp in pure_in]
    if not all(e.is_Integer for e in exts):
        _fail(stage, f"pure loops {[lp.name for lp in pure_in]} inside the reduction need "
                     "constant extents (split them by a constant)")
    per = inst.c_frag.per_lane
    tidx = flat_index([Ref(lp.name, I32) for lp in pure_in], [i32(int(e)) for e in exts])
    base = i32(0) if tidx is None else tidx * per
    acc_t = r.body.dtype
    acc = local_name(f.name, "frag")
    lane_ref = Ref(lane, I32)

    def at(counters: dict, guards: list):
        """Coordinates and ``guards`` with the mma counters replaced by ``counters``."""
        return ({n: _substitute(e, counters) for n, e in stage.coords.items()},
                [_substitute(g, counters) for g in guards])

    all_guards = stage.pure_guards + stage.red_guards
    inner_layouts = stage.layouts_in(lp.name for lp in stage.nest.loops)

    sides = _predicate_sides(stage, r, i_var, j_var)

    def predicates(low, preds) -> tuple:
        """(statements, conditions) of the ``where`` predicates ``preds`` lowered by ``low``."""
        parts = [low.lower(p) for p in preds]
        return block(*(pre for pre, _ in parts)), [c for _, c in parts]

    def elements(operand, frag, first, second, prefix):
        """The lane's fragment elements of ``operand``, 0 where a guard of its own coordinates
        or a ``where`` predicate on it fails (a guard on the third counter bounds the other
        operand)."""
        out = []
        for e in range(frag.per_lane):
            row, col = frag.coords(lane_ref, e)
            coords, guards = at({first: row, second: col}, all_guards)
            low = ExprLowerer(coords, inner_layouts, stage.ctx.names)
            pre, value = low.lower(_strip(operand))
            pre_p, conds = predicates(low, sides[prefix])
            cond = conj([*(g for g in guards if not _reads_other(g, (first, second), (i, j, k))),
                         *conds])
            if cond is not None:
                value = select(cond, value, Const.make(0, value.dtype))
            out.append(block(pre, pre_p,
                             Declare(local_name("mma", prefix, str(e)), value.dtype, value)))
        return block(*out)

    def emulation():
        """The lane's C elements, one loop over them (``mma_e``), each element a loop over the
        tile's k in order. One loop, not ``per`` copies: PoCL's work-group compiler (loopvec)
        did not finish a kernel with 16 guarded k loops a lane between two barriers (> 300 s;
        one loop: 0.3 s; fuzz/found/AA_SLOW_pocl_mma_int8_staged_a.py)."""
        kk, ee, run = (local_name("mma", x) for x in ("k", "e", "c"))
        row, col = inst.c_frag.coords(lane_ref, Ref(ee, I32))
        coords, guards = at({i: row, j: col, k: Ref(kk, I32)}, all_guards)
        low = ExprLowerer(coords, inner_layouts, stage.ctx.names)
        pre, value = low.lower(body)
        slot = base + Ref(ee, I32)
        # The element's running sum in a scalar (read once, written once: the same additions
        # in the same order as on the array; the k loop does not index it dynamically).
        step = block(pre, Assign(run, Ref(run, acc_t) + value))
        pre_p, conds = predicates(low, r.rdom.predicates)
        step = block(pre_p, guarded(conds, step))
        k_loop = For(kk, i32(0), i32(shape[2]), ForKind.SERIAL, guarded(guards, step))
        return For(ee, i32(0), i32(per), ForKind.SERIAL, block(
            Declare(run, acc_t, BufferLoad(acc, slot, acc_t)), k_loop,
            Store(acc, slot, Ref(run, acc_t))))

    def store(e):
        """C element ``e`` (after the Func's epilogue) to its coordinates, under the Func's
        guards."""
        row, col = inst.c_frag.coords(lane_ref, e)
        coords, guards = at({i: row, j: col}, stage.pure_guards)
        low = ExprLowerer(coords, final_layouts, stage.ctx.names)
        index = layout.flat([coords[v.name] for v in f.pure_vars])
        value = replace_reduce(stage.value, r, BufferLoad(acc, base + e, acc_t))
        if into is None:
            return guarded(guards, value_stores(low, f, value, index))
        pre, v = low.lower(value)
        return guarded(guards, block(pre, Store(into.buffer, index, v)))

    final_layouts = stage.layouts_in(lp.name for lp in stage.nest.loops
                                     if lp.name not in {x.name for x in loops})
    layout = into or stage.layouts[f.buffers[0][0]]
    var = {i: i_var, j: j_var, k: k_var}
    loads = {op: None if sides[op] else fragment_loads.plan(
        stage, inst, op, operand, pair, (var[pair[0]], var[pair[1]]), (i, j, k),
        [g for g in all_guards if not _reads_other(g, pair, (i, j, k))], inner_layouts,
        lane_ref, lambda values: at(values, [])[0])
        for op, operand, pair in (("a", a_expr, (i, k)), ("b", b_expr, (k, j)))}
    tile_op = MmaTile(inst.name, acc, base, elements(a_expr, inst.a_frag, i, k, "a"),
                      elements(b_expr, inst.b_frag, k, j, "b"), emulation(), loads["a"],
                      loads["b"])
    zero = Const.make(0, acc_t)
    init = stage._serial(pure_in, block(*(Store(acc, base + e, zero) for e in range(per))))
    final = stage._serial(pure_in, block(*(store(e) for e in range(per))))
    size = math.prod(int(e) for e in exts) * per
    return block(Allocate(acc, acc_t, size, MemorySpace.LOCAL), init,
                 stage._nest(tile, tile_op), final)


def _reads_other(g, mine: tuple, all_: tuple) -> bool:
    """Does guard ``g`` read an mma counter not in ``mine`` (then it does not bound this
    operand's element)?"""
    others = set(all_) - set(mine)
    return bool(find(g, lambda x: isinstance(x, Ref) and x.name in others))
