"""One point of an expression at a time, for sequential update loops in the reference.

``compile_expr(ev, e)`` turns ``e`` once into a Python closure ``env → value`` (``env``: loop
variable name → numpy int32 scalar) that performs the numpy operations of
:meth:`vortex.algorithm.reference.Evaluator.eval` on numpy scalars, so results are the same bits
(integer wrap, float32 rounding, floor division and modulo, NaN-ignoring min/max) at a few
microseconds per point instead of a tree walk over 0-d arrays. Two differences, both only where
the tree walk would fail: a ``select`` evaluates only the branch it takes, and loads are read at
the time of the call (an update sees its own earlier points). Inline reductions, Dims and Params
go through the evaluator itself.
"""
from __future__ import annotations

import numpy as np

from .expr import BinaryOp, BinOp, Call, Cast, Const, Dim, Load, Param, Reduce, RVar, Select, UnOp, Var
from .func import Input


def _const(ev, e):
    v = ev.eval(e, None)
    return lambda env: v


def _var(ev, e):
    name = e.name
    return lambda env: env[name]


def _binop(ev, e):
    from .reference import binop_value
    a, b = compile_expr(ev, e.a), compile_expr(ev, e.b)
    if e.op in (BinaryOp.SHL, BinaryOp.SHR, BinaryOp.POW):
        return lambda env: binop_value(e, a(env), b(env))[()]
    fn, dt = e.op.ufunc, e.dtype.np
    st = dt.type

    def run(env):   # binop_value's ufunc and conversion, skipped when already of the type
        r = fn(a(env), b(env))
        return r if type(r) is st else np.asarray(r).astype(dt)[()]
    return run


def _unop(ev, e):
    from .reference import UNARY
    a, fn = compile_expr(ev, e.a), UNARY[e.op]
    return lambda env: fn(a(env))


def _select(ev, e):
    c, t, f = (compile_expr(ev, x) for x in (e.cond, e.true_value, e.false_value))
    return lambda env: t(env) if c(env) else f(env)


def _cast(ev, e):
    v, dt = compile_expr(ev, e.value), e.dtype.np
    return lambda env: np.asarray(v(env)).astype(dt)[()]


def _call(ev, e):
    from .reference import INTRINSICS
    args, fn = [compile_expr(ev, a) for a in e.args], INTRINSICS[e.fn]
    return lambda env: fn(*(a(env) for a in args))


def _load(ev, e):
    args = [compile_expr(ev, a) for a in e.args]
    if isinstance(e.source, Input):
        arr, origin = np.asarray(ev.b.arrays[e.name]), (0,) * len(args)
    else:
        arr, origin = ev.buffers[e.name]
    if len(args) == 1:
        (a0,), (o0,) = args, origin
        return lambda env: arr[int(a0(env)) - o0]
    if len(args) == 2:
        (a0, a1), (o0, o1) = args, origin
        return lambda env: arr[int(a0(env)) - o0, int(a1(env)) - o1]
    return lambda env: arr[tuple(int(a(env)) - o for a, o in zip(args, origin))]


def _reduce(ev, e):
    from .reference import Scope
    return lambda env: ev._reduce(e, Scope((), dict(env)))


_RULES = {Const: _const, Dim: _const, Param: _const, Var: _var, RVar: _var, BinOp: _binop,
          UnOp: _unop, Select: _select, Cast: _cast, Call: _call, Load: _load, Reduce: _reduce}


def compile_expr(ev, e):
    """A closure ``env → numpy scalar`` computing ``e`` as ``ev.eval`` would (module doc)."""
    return _RULES[type(e)](ev, e)
