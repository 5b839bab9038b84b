"""Building expression nodes with NumPy-2 promotion (NEP 50); the public functions live in ops.py.

Python scalars are *weak*: they take the type of the other operand when it can hold them
(``uint8_expr + 300`` is a vx.TypeError, as in numpy 2). Operands of a binary node are cast to
the operation type here, so every :class:`BinOp` holds operands of one dtype.
"""
from __future__ import annotations

import numpy as np

from .. import errors
from . import dtypes as T
from .expr import BinaryOp, BinOp, Cast, Const, Expr, UnaryOp, UnOp

_SCALARS = (bool, int, float, np.generic)


def is_weak(v) -> bool:
    """A plain Python scalar (bool/int/float): typed by context, per NEP 50."""
    return isinstance(v, (bool, int, float)) and not isinstance(v, np.generic)


def lift(v) -> Expr:
    """An Expr, or a constant of numpy's default type for a scalar (int64, float64, bool)."""
    if isinstance(v, Expr):
        return v
    if hasattr(v, "_as_expr"):  # a 1-D RDom stands for its RVar
        return v._as_expr()
    if isinstance(v, _SCALARS):
        return Const.make(v.item() if isinstance(v, np.generic) else v, T.python_scalar_type(v))
    raise errors.TypeError(f"{v!r} of type {type(v).__name__} cannot be used in a Vortex "
                           "expression; use an Expr, a Python number or a numpy scalar")


def _typeof(v):
    if is_weak(v):
        return None, v
    e = lift(v)
    return e.dtype, None


def to_type(v, t: T.DType) -> Expr:
    """``v`` converted to ``t``: weak scalars become typed constants, typed values get a Cast."""
    if is_weak(v):
        return Const.make(v, t)
    e = lift(v)
    return e if e.dtype == t else Cast(t, e)


def promote(ufunc, *values) -> T.DType:
    types, weak = zip(*(_typeof(v) for v in values))
    if all(t is None for t in types):  # only Python scalars: numpy's default types
        types = tuple(T.python_scalar_type(w) for w in weak)
    return T.ufunc_result(ufunc, list(types), list(weak))


def _show(v) -> str:
    return repr(v) if is_weak(v) else str(lift(v))


def binary(op: BinaryOp, a, b) -> Expr:
    """``a op b`` with numpy's result type; vx.TypeError for bool arithmetic, float bitwise."""
    ta, _ = _typeof(a)
    tb, _ = _typeof(b)
    kinds = [t if t is not None else T.python_scalar_type(v) for t, v in ((ta, a), (tb, b))]
    def where():    # built only for an error: printing operands costs (lowering builds many)
        return f"in '{_show(a)} {op.symbol} {_show(b)}'"
    if op.category == "arith" and any(t.is_bool for t in kinds):
        raise errors.TypeError(f"arithmetic '{op.symbol}' on bool {where()}: cast the bool "
                               "first, e.g. vx.cast(vx.int32, cond), or use vx.select(cond, a, b)")
    if op.category == "bitwise" and any(t.is_float for t in kinds):
        raise errors.TypeError(f"bitwise '{op.symbol}' on a floating-point value {where()}: "
                               "bitwise operators need integer or bool operands; use "
                               "vx.cast(vx.int32, …) or, for conditions, comparisons combined "
                               "with & |")
    promote_with = np.maximum if op.category == "compare" else op.ufunc
    try:
        ct = promote(promote_with, a, b)
    except errors.TypeError as exc:
        raise errors.TypeError(f"cannot apply '{op.symbol}' {where()}: {exc}") from None
    result = T.bool_ if op.category == "compare" else ct
    start = _sum_start(op, a, b, ct)
    if start is not None:
        return start
    return BinOp(op, to_type(a, ct), to_type(b, ct), result)


def _sum_start(op: BinaryOp, a, b, ct: T.DType):
    """``0 + e`` (Python's ``sum(...)`` of Exprs starts from the literal ``0``) is ``e`` when
    that keeps ``e``'s type: a float sum of taps would otherwise begin with ``0.0f + …``, an add
    that C compilers must keep (it turns ``-0.0`` into ``+0.0``). The reference evaluates the
    same tree, so kernels and reference still agree bit for bit."""
    if op is not BinaryOp.ADD or not (is_weak(a) and not isinstance(a, bool) and a == 0):
        return None
    e = lift(b)
    return e if e.dtype == ct else None


def unary(op: UnaryOp, a) -> Expr:
    e = lift(a)
    t = e.dtype
    if op is UnaryOp.NEG and t.is_bool:
        raise errors.TypeError(f"negation of the bool {e}: use ~ for logical not")
    if op is UnaryOp.INVERT and t.is_float:
        raise errors.TypeError(f"bitwise '~' on the floating-point value {e}: use -x, or a "
                               "comparison, or vx.cast to an integer type first")
    if op is UnaryOp.ABS and t.is_bool:
        raise errors.TypeError(f"abs of the bool {e}: cast it to a number first")
    return UnOp(op, e, t)


def cast(t, v) -> Expr:
    """``vx.cast(t, e)``: numpy ``astype`` semantics (float→int truncates toward zero)."""
    t = T.as_dtype(t)
    if is_weak(v):
        return Const.make(v if t.name == "bfloat16" else np.asarray(v).astype(t.np).item(), t)
    return to_type(v, t)
