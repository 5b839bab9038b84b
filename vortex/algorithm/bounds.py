"""Interval arithmetic over expressions, with sympy endpoints (Halide's bounds inference).

``interval(e, ctx)`` returns inclusive (lo, hi) bounds of an integer expression for all values of
its Vars/RVars (ranges from ``ctx.env``), all Dim values, and all data (a load is bounded by its
source's value range, e.g. [0, 255] for uint8). Bounds are sound, possibly loose; overflow of
32/64-bit signed integers is assumed not to happen (as in Halide), while unsigned and narrower
signed types wrap, so a result not proven to fit its type gets the type's whole range.
"""
from __future__ import annotations

import math

from dataclasses import dataclass, field
from typing import Callable

import sympy as sp

from . import dtypes as T
from .expr import (BinaryOp, BinOp, Call, Cast, Const, Dim, Expr, Load, Param, Reduce, ReduceOp,
                   RVar, Select, UnaryOp, UnOp, Var)
from .symbolic import dim_symbol, floordiv, param_symbol, prove_nonneg, smax, smin

Interval = tuple  # (lo, hi) sympy expressions


def type_range(t: T.DType) -> Interval:
    lo, hi = t.value_range()
    return sp.Integer(lo), sp.Integer(hi)


@dataclass
class Context:
    """``env``: Var/RVar name → Interval; ``value_range(load)``: Interval of a loaded value;
    ``leaf(e)``: the Interval of a node this module does not know (the loop IR's locals and GPU
    indices), or None; ``exact_params``: a ranged Param is its symbol (an exact size), not its
    range."""

    env: dict = field(default_factory=dict)
    value_range: Callable[[Load], Interval] | None = None
    leaf: Callable[[Expr], Interval | None] | None = None
    exact_params: bool = False


def _const(e) -> int | None:
    return int(e.value) if isinstance(e, Const) else None


def _mul(a: Interval, b: Interval) -> Interval:
    if prove_nonneg(a[0]) and prove_nonneg(b[0]):
        return a[0] * b[0], a[1] * b[1]
    if a[0] == a[1] or b[0] == b[1]:
        c, (lo, hi) = (a[0], b) if a[0] == a[1] else (b[0], a)
        if prove_nonneg(c):
            return c * lo, c * hi
        if prove_nonneg(-c):
            return c * hi, c * lo
    return _hull([x * y for x in a for y in b])


def _hull(points: list) -> Interval:
    """The smallest interval holding all ``points`` (sympy expressions), as far as provable."""
    lo = hi = points[0]
    for p in points[1:]:
        lo, hi = smin(lo, p), smax(hi, p)
    return lo, hi


def _floordiv(a: Interval, b: Interval, t: T.DType) -> Interval:
    if prove_nonneg(b[0] - 1):  # divisor >= 1
        return _hull([floordiv(x, y) for x in a for y in b])
    if prove_nonneg(-b[1] - 1):  # divisor <= -1
        return _floordiv((-a[1], -a[0]), (-b[1], -b[0]), t)
    return type_range(t)


def _mod(a: Interval, b: Interval, t: T.DType) -> Interval:
    if prove_nonneg(b[0] - 1):
        if b[0] == b[1] and prove_nonneg(a[0]) and prove_nonneg(b[0] - 1 - a[1]):
            return a
        return sp.Integer(0), b[1] - 1
    if prove_nonneg(-b[1] - 1):  # floor modulo by a negative divisor is in (divisor, 0]
        return b[0] + 1, sp.Integer(0)
    return type_range(t)


def _binop(e: BinOp, ctx: Context) -> Interval:
    op, t = e.op, e.dtype
    if op.category == "compare":
        return sp.Integer(0), sp.Integer(1)
    a, b = interval(e.a, ctx), interval(e.b, ctx)
    if op is BinaryOp.ADD:
        return a[0] + b[0], a[1] + b[1]
    if op is BinaryOp.SUB:
        return a[0] - b[1], a[1] - b[0]
    if op is BinaryOp.MUL:
        return _mul(a, b)
    if op is BinaryOp.FLOORDIV:
        return _floordiv(a, b, t)
    if op is BinaryOp.MOD:
        return _mod(a, b, t)
    if op is BinaryOp.MIN:
        return smin(a[0], b[0]), smin(a[1], b[1])
    if op is BinaryOp.MAX:
        return smax(a[0], b[0]), smax(a[1], b[1])
    shift = _const(e.b)
    if op is BinaryOp.SHR and shift is not None and 0 <= shift < t.bits:
        return _floordiv(a, (sp.Integer(2 ** shift),) * 2, t)
    if op is BinaryOp.SHL and shift is not None and 0 <= shift < t.bits:
        return _mul(a, (sp.Integer(2 ** shift),) * 2)
    if op is BinaryOp.AND:
        nonneg = [x for x in (a, b) if prove_nonneg(x[0])]
        if nonneg:
            hi = nonneg[0][1] if len(nonneg) == 1 else smin(a[1], b[1])
            return sp.Integer(0), hi
    return type_range(t) if t.is_int or t.is_bool else None


def _unop(e: UnOp, ctx: Context) -> Interval:
    a = interval(e.a, ctx)
    if e.dtype.is_bool:
        return sp.Integer(0), sp.Integer(1)
    if e.op is UnaryOp.NEG:
        return -a[1], -a[0]
    if e.op is UnaryOp.INVERT:
        return -a[1] - 1, -a[0] - 1
    if prove_nonneg(a[0]):
        return a
    if prove_nonneg(-a[1]):
        return -a[1], -a[0]
    return sp.Integer(0), smax(-a[0], a[1])


def float_range(e: Expr) -> tuple:
    """(lo, hi) floats bounding a float expression: constants, ranged Params, and min/max/
    select/floor/ceil/round of them (a clamp); (-inf, inf) otherwise. On every target a float
    min/max of a NaN is the other operand (C ``fminf``/``fmaxf``), so a clamp bounds NaN too."""
    if isinstance(e, Const):
        return float(e.value), float(e.value)
    if isinstance(e, Param) and e.range is not None:
        return float(e.range[0]), float(e.range[1])
    if isinstance(e, BinOp) and e.op in (BinaryOp.MIN, BinaryOp.MAX):
        (alo, ahi), (blo, bhi) = float_range(e.a), float_range(e.b)
        pick = min if e.op is BinaryOp.MIN else max
        return pick(alo, blo), pick(ahi, bhi)
    if isinstance(e, Select):
        (alo, ahi), (blo, bhi) = float_range(e.true_value), float_range(e.false_value)
        return min(alo, blo), max(ahi, bhi)
    if isinstance(e, Call) and e.fn.value in _ROUNDING:
        lo, hi = float_range(e.args[0])
        return _ROUNDING[e.fn.value](lo), _ROUNDING[e.fn.value](hi)
    return -math.inf, math.inf


_ROUNDING = {"floor": lambda v: math.floor(v) if math.isfinite(v) else v,
             "ceil": lambda v: math.ceil(v) if math.isfinite(v) else v,
             "round": lambda v: round(v) if math.isfinite(v) else v}


def _cast(e: Cast, ctx: Context) -> Interval:
    src = e.value.dtype
    target = type_range(e.dtype)
    if src.is_float:          # C casts truncate toward zero, a monotone map
        lo, hi = float_range(e.value)
        if not (math.isfinite(lo) and math.isfinite(hi)):
            return target
        a = sp.Integer(math.trunc(lo)), sp.Integer(math.trunc(hi))
        return a if target[0] <= a[0] and a[1] <= target[1] else target
    a = interval(e.value, ctx)
    if prove_nonneg(a[0] - target[0]) and prove_nonneg(target[1] - a[1]):
        return a
    return target


def _reduce(e: Reduce, ctx: Context) -> Interval:
    rdom = e.rdom
    if e.op in (ReduceOp.ARGMAX, ReduceOp.ARGMIN):
        if rdom.ndim == 1:
            return rvar_interval(rdom.vars[0], ctx)
        size = sp.Integer(1)
        for i in range(rdom.ndim):
            lo, hi = rvar_interval(rdom.vars[i], ctx)
            size = size * (hi - lo + 1)
        return sp.Integer(0), size - 1
    if e.op in (ReduceOp.MAXIMUM, ReduceOp.MINIMUM):
        inner = Context({**ctx.env, **{v.name: rvar_interval(v, ctx) for v in rdom.vars}},
                        ctx.value_range)
        return interval(e.body, inner)
    return type_range(e.dtype)


def rvar_interval(v: RVar, ctx: Context) -> Interval:
    """[min, min + extent - 1] of one RDom dimension (predicates are not used). When the bounds
    use Vars (a triangle, a band), the union over their ranges: the lowest min, and the highest
    ``min + extent - 1`` found with the Vars kept symbolic first (so that the band's
    ``max(i - 2, 0) + (min(i + 3, N) - max(i - 2, 0))`` cancels to ``min(i + 3, N)``)."""
    lo_e, ext_e = v.rdom.bounds[v.index]
    lo, ext = interval(lo_e, ctx), interval(ext_e, ctx)
    hi = lo[1] + ext[1] - 1
    varying = v.rdom.varying(v.index)
    used = v.rdom.bound_vars() if varying else ()
    loads = v.rdom.bound_loads() if varying else ()
    if used or loads:
        points = {u.name: sp.Symbol(f"{u.name}.at", integer=True) for u in used}
        ranges = {points[u.name]: _leaf(u, ctx) for u in used}
        # each load of data a symbol too (offsets[b] + (offsets[b + 1] - offsets[b]) - 1 cancels
        # to offsets[b + 1] - 1), over the values it may load
        at = {ld.key: sp.Symbol(f"{ld}.at", integer=True) for ld in loads}
        ranges.update({at[ld.key]: _leaf(ld, ctx) for ld in loads})

        def leaf(n):
            if isinstance(n, Load) and n.key in at:
                return at[n.key], at[n.key]
            return ctx.leaf(n) if ctx.leaf is not None else None
        inner = Context({**ctx.env, **{n: (p, p) for n, p in points.items()}}, ctx.value_range,
                        leaf, ctx.exact_params)
        end = _over(interval(lo_e, inner)[1] + interval(ext_e, inner)[1] - 1, ranges)
        hi = hi if end is None else smin(hi, end[1])
    return lo[0], hi


def _over(e, ranges: dict) -> Interval | None:
    """Interval of sympy ``e`` over its symbols in ``ranges`` (symbol → Interval), others
    fixed: sums, constant multiples, min and max; None for anything else."""
    if e in ranges:
        return ranges[e]
    if e.is_number or not (e.free_symbols & set(ranges)):
        return e, e
    parts = [_over(a, ranges) for a in e.args]
    if any(p is None for p in parts):
        return None
    if isinstance(e, sp.Add):
        return sum(p[0] for p in parts), sum(p[1] for p in parts)
    if isinstance(e, sp.Mul) and len(parts) == 2 and e.args[0].is_number:
        c = e.args[0]
        lo, hi = parts[1]
        return (c * lo, c * hi) if c >= 0 else (c * hi, c * lo)
    if isinstance(e, (sp.Min, sp.Max)):
        pick = smin if isinstance(e, sp.Min) else smax
        lo, hi = parts[0]
        for a, b in parts[1:]:
            lo, hi = pick(lo, a), pick(hi, b)
        return lo, hi
    return None


def _leaf(e: Expr, ctx: Context) -> Interval:
    if isinstance(e, Const):
        return sp.Integer(int(e.value)), sp.Integer(int(e.value))
    if isinstance(e, Dim):
        s = dim_symbol(e.name, e.min)
        return s, s
    if isinstance(e, (Var, RVar)):
        if e.name in ctx.env:
            return ctx.env[e.name]
        return rvar_interval(e, ctx) if isinstance(e, RVar) else type_range(T.int32)
    if isinstance(e, Param):
        if e.range and ctx.exact_params:
            s = param_symbol(e.name, e.dtype.name, *e.range)
            return s, s
        return tuple(map(sp.Integer, e.range)) if e.range else type_range(e.dtype)
    if isinstance(e, Load):
        return ctx.value_range(e) if ctx.value_range else type_range(e.dtype)
    return None


_RULES = {BinOp: _binop, UnOp: _unop, Cast: _cast, Reduce: _reduce}


def _wrapped(r: Interval, t: T.DType) -> Interval:
    """Unsigned and narrower-than-32-bit signed arithmetic wraps (as in Halide, only 32/64-bit
    signed overflow is assumed not to happen): a result not proven to fit is the whole type."""
    if r is None or t.kind is T.Kind.BOOL or (t.kind is T.Kind.INT and t.bits >= 32):
        return r
    lo, hi = type_range(t)
    return r if prove_nonneg(r[0] - lo) and prove_nonneg(hi - r[1]) else (lo, hi)


def interval(e: Expr, ctx: Context) -> Interval | None:
    """Inclusive sympy bounds of integer/bool expression ``e``; None for floating-point values."""
    if e.dtype.is_float:
        return None
    known = ctx.leaf(e) if ctx.leaf is not None else None
    if known is not None:
        return known
    if e.dtype.is_bool and not isinstance(e, (Const, Load)):
        return sp.Integer(0), sp.Integer(1)
    rule = _RULES.get(type(e))
    if rule is not None:
        return _wrapped(rule(e, ctx), e.dtype)
    if isinstance(e, Select):
        a, b = interval(e.true_value, ctx), interval(e.false_value, ctx)
        return smin(a[0], b[0]), smax(a[1], b[1])
    if isinstance(e, Call):
        return type_range(e.dtype)
    return _leaf(e, ctx)


def to_sympy(e: Expr):
    """An Expr of Dims, ranged Params and constants (a shape entry, an RDom bound) as a sympy
    expression (a Param as its :class:`~vortex.algorithm.symbolic.ParamSymbol`)."""
    lo, hi = interval(e, Context(exact_params=True))
    if lo != hi:
        raise ValueError(f"{e} is not an expression of Dims, ranged Params and constants")
    return lo
