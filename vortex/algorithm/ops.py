"""Public expression functions: select, cast, min/max/clamp/abs, math intrinsics, inline reductions.

All follow numpy's type rules (NEP 50). Math intrinsics on integers give numpy's float type
(``np.sqrt(int32)`` is float64, ``np.sqrt(int8)`` float16); ``rsqrt(x)`` is ``1 / sqrt(x)``.

Inline reductions (Halide's ``sum``, ``maximum``, ``minimum``, ``product``, ``argmax``, ``argmin``)
reduce over every RVar of the one RDom free in their argument, or of the RDom named by ``over=``
(Halide's ``sum(RDom, Expr)``: other RVars stay free — an update's own, or an enclosing
reduction's; without ``over=`` inside an update, the RDoms the update iterates stay free, see
:mod:`vortex.algorithm.inline_reduce`); the result has the argument's type
(cast the argument to accumulate wider, e.g. ``vx.sum(vx.cast(vx.float32, a_f16) * b)``).
Empty domains give the identity: 0 for sum, 1 for product, the type's lowest/highest value
(−inf/+inf for floats) for maximum/minimum, and the first point of the domain for argmax/argmin
(the RDom's min in 1-D, flat position 0 otherwise). ``argmax``/``argmin`` return
the (int32) RDom coordinate of the first extreme point — for a multi-dimensional RDom, the
row-major flat position, as ``numpy.argmax`` on the flattened domain.

``mux``, ``absd``, ``fast_exp`` and ``fast_log`` are Halide's (``IROperator.h``), see each.

Source: Halide ``inline_reductions.h``, ``IROperator.h``; NumPy ufunc type resolution.
"""
from __future__ import annotations

import numpy as np

from .. import errors
from . import dtypes as T
from .construct import binary, cast, is_weak, lift, promote, to_type, unary
from .expr import BinaryOp, Call, Const, Expr, Intrinsic, ReduceOp, Select, UnaryOp
from .inline_reduce import reduction

__all__ = ["select", "cast", "min", "max", "clamp", "abs", "exp", "log", "sqrt", "rsqrt", "sin",
           "cos", "tan", "tanh", "erf", "floor", "ceil", "round", "pow", "sum", "product",
           "maximum", "minimum", "argmax", "argmin", "mux", "absd", "fast_exp", "fast_log"]


def select(cond, true_value, false_value) -> Expr:
    """Elementwise ``cond ? true_value : false_value`` (numpy ``where``); cond must be bool."""
    c = lift(cond)
    if not c.dtype.is_bool:
        raise errors.TypeError(f"vx.select condition {c} has type {c.dtype}; it must be bool "
                               "(compare it, e.g. x > 0)")
    t = promote(np.maximum, true_value, false_value)
    return Select(c, to_type(true_value, t), to_type(false_value, t), t)


def min(a, b, *rest) -> Expr:  # noqa: A001 - vx.min by contract
    """Elementwise minimum (numpy ``minimum``), of two or more values."""
    out = binary(BinaryOp.MIN, a, b)
    for r in rest:
        out = binary(BinaryOp.MIN, out, r)
    return out


def max(a, b, *rest) -> Expr:  # noqa: A001 - vx.max by contract
    """Elementwise maximum (numpy ``maximum``), of two or more values."""
    out = binary(BinaryOp.MAX, a, b)
    for r in rest:
        out = binary(BinaryOp.MAX, out, r)
    return out


def clamp(e, lo, hi) -> Expr:
    """``min(max(e, lo), hi)``, typed like ``e`` when ``lo``/``hi`` are Python scalars."""
    return min(max(e, lo), hi)


def abs(e) -> Expr:  # noqa: A001 - vx.abs by contract
    """Absolute value, numpy semantics (same type; abs(int8 -128) == -128)."""
    return unary(UnaryOp.ABS, e)


def _math(fn: Intrinsic, *args) -> Expr:
    ufunc = np.sqrt if fn is Intrinsic.RSQRT else getattr(np, fn.value, np.sqrt)
    t = promote(ufunc, *args)
    if not t.is_float:  # np.floor/ceil/round keep integer types: the value is already integral
        return lift(args[0]) if len(args) == 1 else cast(t, args[0])
    return Call(fn, tuple(to_type(a, t) for a in args), t)


def exp(e): return _math(Intrinsic.EXP, e)
def log(e): return _math(Intrinsic.LOG, e)
def sqrt(e): return _math(Intrinsic.SQRT, e)
def rsqrt(e): return _math(Intrinsic.RSQRT, e)
def sin(e): return _math(Intrinsic.SIN, e)
def cos(e): return _math(Intrinsic.COS, e)
def tan(e): return _math(Intrinsic.TAN, e)
def tanh(e): return _math(Intrinsic.TANH, e)
def erf(e): return _math(Intrinsic.ERF, e)
def floor(e): return _math(Intrinsic.FLOOR, e)
def ceil(e): return _math(Intrinsic.CEIL, e)
def round(e): return _math(Intrinsic.ROUND, e)  # noqa: A001 - half to even, as numpy


def _fast(fn: Intrinsic, exact: str, e) -> Expr:
    x = lift(e)
    if x.dtype != T.float32:
        raise errors.TypeError(f"vx.{fn.value}({x}) needs a float32 argument, not {x.dtype}: the "
                               f"fast approximations exist in float32 only; use vx.{exact} (exact, "
                               f"any float type) or vx.{fn.value}(vx.cast(vx.float32, …))")
    return Call(fn, (x,), T.float32)


def fast_exp(e) -> Expr:
    """``exp`` of a float32 through the target's fast approximation, an explicit opt-in (Halide's
    ``fast_exp``): CUDA/HIP ``__expf``, OpenCL ``native_exp``. The reference computes the exact
    ``np.exp``, so results differ from it by the target's error: ``__expf``'s grows with |x|
    (CUDA C++ Programming Guide, intrinsic functions table); OpenCL leaves ``native_exp``'s
    accuracy to the implementation. Raises vx.TypeError for anything but float32."""
    return _fast(Intrinsic.FAST_EXP, "exp", e)


def fast_log(e) -> Expr:
    """Natural log of a float32 through the target's fast approximation (Halide's ``fast_log``):
    CUDA/HIP ``__logf`` (a few ulp; CUDA C++ Programming Guide, intrinsic functions table), OpenCL
    ``native_log`` (implementation-defined). The reference computes the exact ``np.log``.
    Raises vx.TypeError for anything but float32."""
    return _fast(Intrinsic.FAST_LOG, "log", e)


def _common_type(values) -> T.DType:
    """The type ``np.maximum`` would give all ``values`` together: typed values promote
    pairwise, then the weak Python scalars join (NEP 50)."""
    strong = [v for v in values if not is_weak(v)]
    weak = [v for v in values if is_weak(v)]
    rep = strong[0] if strong else weak.pop(0)
    for v in strong[1:] + weak:
        rep = Const.make(0, promote(np.maximum, rep, v))
    return lift(rep).dtype


def mux(index, values) -> Expr:
    """``values[index]`` for a symbolic integer ``index`` (Halide's ``mux``): a chain of selects,
    ``select(index == 0, v0, select(index == 1, v1, … v_last))``, so an index out of range
    (negative too) gives the **last** value, as in Halide. The values promote to one type like
    ``vx.select``'s. Raises vx.TypeError for an empty or non-list ``values`` or a non-integer
    index. Example: ``rgb[c, y, x] = vx.mux(c, [r[y, x], g[y, x], b[y, x]])``."""
    i = lift(index)
    if not isinstance(values, (list, tuple)) or not values:
        raise errors.TypeError(f"vx.mux({i}, {values!r}) needs a non-empty list of values, "
                               "e.g. vx.mux(c, [r, g, b])")
    if not i.dtype.is_int:
        raise errors.TypeError(f"vx.mux index {i} has type {i.dtype}; it must be an integer "
                               "(vx.cast(vx.int32, …))")
    t = _common_type(values)
    out = to_type(values[-1], t)
    for k in range(len(values) - 2, -1, -1):
        out = select(i == k, to_type(values[k], t), out)
    return out


def absd(a, b) -> Expr:
    """``|a - b|`` without overflow (Halide's ``absd``): for integers the result is the
    **unsigned** type of the operands' width (``absd(int8(-128), int8(127))`` is uint8 255),
    computed as ``a > b ? a - b : b - a`` in that unsigned type; for floats the operands' type.
    Operands promote as numpy's (NEP 50). Raises vx.TypeError for bool."""
    if any(lift(v).dtype.is_bool for v in (a, b)):
        raise errors.TypeError(f"vx.absd({lift(a)}, {lift(b)}) of a bool: cast it to an integer "
                               "first, e.g. vx.cast(vx.uint8, cond)")
    t = promote(np.subtract, a, b)
    x, y = to_type(a, t), to_type(b, t)
    if t.is_float:
        return select(x > y, x - y, y - x)
    u = T.unsigned(t)
    return select(x > y, cast(u, x) - cast(u, y), cast(u, y) - cast(u, x))


def pow(a, b) -> Expr:  # noqa: A001
    """``a ** b`` (numpy ``power``)."""
    return binary(BinaryOp.POW, a, b)


def _reduce(op: ReduceOp, e, over) -> Expr:
    return reduction(op, lift(e), over)


def sum(e, over=None) -> Expr:  # noqa: A001
    """Sum of ``e`` over its RDom (or ``over``), accumulated in ``e``'s type."""
    return _reduce(ReduceOp.SUM, e, over)


def product(e, over=None) -> Expr:
    """Product of ``e`` over its RDom (or ``over``)."""
    return _reduce(ReduceOp.PRODUCT, e, over)


def maximum(e, over=None) -> Expr:
    """Maximum of ``e`` over its RDom (or ``over``)."""
    return _reduce(ReduceOp.MAXIMUM, e, over)


def minimum(e, over=None) -> Expr:
    """Minimum of ``e`` over its RDom (or ``over``)."""
    return _reduce(ReduceOp.MINIMUM, e, over)


def argmax(e, over=None) -> Expr:
    """int32 RDom coordinate (flat, row-major for multi-dim RDoms) of the first maximum of ``e``."""
    return _reduce(ReduceOp.ARGMAX, e, over)


def argmin(e, over=None) -> Expr:
    """int32 RDom coordinate (flat, row-major for multi-dim RDoms) of the first minimum of ``e``."""
    return _reduce(ReduceOp.ARGMIN, e, over)


