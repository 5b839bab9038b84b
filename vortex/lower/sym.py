"""Between sympy (where bounds are reasoned about) and IR expressions (what gets printed).

``from_sympy`` turns a symbolic size or bound (Dims, ranged Params such as an RDom extent read at
run time, loop-variable symbols, +, *, floor division, Mod, Min, Max, ceiling) into an int32 IR
expression; ``to_sympy`` goes the other way for index expressions built by the lowering.
"""
from __future__ import annotations

from functools import reduce

import sympy as sp

from .. import errors
from ..algorithm import dtypes as T
from ..algorithm.construct import binary
from ..algorithm.expr import BinaryOp, Cast, Dim, Expr, Param
from ..algorithm.affine import integer_denominator
from ..algorithm.symbolic import ParamSymbol
from .ir import Ref, i32, local_name

_LOOP = local_name("loop", "")   # prefix of loop-counter symbols; no Dim name has a '.'


def loop_symbol(name: str) -> sp.Symbol:
    """The sympy symbol of a loop counter (an integer >= 0)."""
    return sp.Symbol(_LOOP + name, integer=True, nonnegative=True)


def _fold(op: BinaryOp, args: list[Expr]) -> Expr:
    return reduce(lambda a, b: binary(op, a, b), args)


def _fraction(r):
    """(numerator, denominator) of ``r``: a positive integer denominator found from the
    coefficients when the terms are integer-valued (no sympy ``together``), else sympy's."""
    q = integer_denominator(r)
    if q is not None:
        return sp.expand(r * q), sp.Integer(q)
    return sp.fraction(sp.together(r))


def from_sympy(e) -> Expr:
    """An int32 IR expression equal to the sympy integer expression ``e``."""
    e = sp.sympify(e)
    if e.is_Integer:
        return i32(int(e))
    if isinstance(e, ParamSymbol):
        p = Param(e.name, e.dtype_name, e.range)
        return p if p.dtype == T.int32 else Cast(T.int32, p)
    if e.is_Symbol:
        name = e.name
        return Ref(name[len(_LOOP):], T.int32) if name.startswith(_LOOP) else \
            Dim(name, getattr(e, "minimum", 1))
    if isinstance(e, sp.Add):
        terms = sorted(e.args, key=lambda a: (a.is_number, sp.default_sort_key(a)))
        return _fold(BinaryOp.ADD, [from_sympy(a) for a in terms])
    if isinstance(e, sp.Mul):
        num, den = sp.fraction(e)
        if den != 1:
            return binary(BinaryOp.FLOORDIV, from_sympy(num), from_sympy(den))
        coeff, rest = e.as_coeff_Mul()
        factors = [from_sympy(a) for a in sp.Mul.make_args(rest)]
        body = _fold(BinaryOp.MUL, factors)
        return body if coeff == 1 else binary(BinaryOp.MUL, i32(coeff), body) if coeff != -1 \
            else binary(BinaryOp.SUB, i32(0), body)
    if isinstance(e, sp.floor):
        num, den = _fraction(e.args[0])
        return binary(BinaryOp.FLOORDIV, from_sympy(num), from_sympy(den))
    if isinstance(e, sp.ceiling):
        num, den = sp.fraction(sp.together(e.args[0]))
        return binary(BinaryOp.FLOORDIV, binary(BinaryOp.ADD, from_sympy(num), from_sympy(den - 1)),
                      from_sympy(den))
    if isinstance(e, sp.Mod):
        return binary(BinaryOp.MOD, from_sympy(e.args[0]), from_sympy(e.args[1]))
    if isinstance(e, (sp.Min, sp.Max)):
        op = BinaryOp.MIN if isinstance(e, sp.Min) else BinaryOp.MAX
        return _fold(op, [from_sympy(a) for a in e.args])
    if isinstance(e, sp.Pow) and e.exp.is_Integer and e.exp > 0:
        return _fold(BinaryOp.MUL, [from_sympy(e.base)] * int(e.exp))
    raise errors.ScheduleError(f"cannot express the size {e} in generated code")
