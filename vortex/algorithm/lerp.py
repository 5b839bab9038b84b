"""``vx.lerp``: linear interpolation with Halide's semantics, built from existing nodes (casts,
integer arithmetic, select), so the reference and every target compute it bit for bit alike
(a float lerp up to the fma contraction a target's compiler may do).

The result has the type ``t`` of the two values (``a``, ``b`` promote as numpy's ``maximum``):

- float ``t``: ``a * (1 - w) + b * w`` in ``t`` (so ``w = 0`` gives exactly ``a`` and ``w = 1``
  exactly ``b``; ``w`` outside [0, 1] extrapolates). A float weight is cast to ``t``; an
  unsigned weight of ``n`` bits means ``w / (2**n - 1)``.
- 8/16/32-bit integer ``t``: the weight is an unsigned fraction of ``M = 2**bits - 1`` (an
  unsigned weight is rescaled to ``bits`` as Halide does: ``uint8 w`` for a uint16 lerp is
  ``w * 257``, a uint16 weight for a uint8 lerp ``w // 257``; a float weight is clamped to
  [0, 1], NaN counting as 0, and becomes ``trunc(w * M)``), and the result is
  ``round((a * (M - w) + b * w) / M)``, exact (no ties occur: ``M`` is odd), from a
  double-width product and Blinn's division by ``M``. Signed values are biased to unsigned and
  back, so ``lerp(-128, 127, 128)`` is 0.
- bool ``t``: ``b`` where the weight exceeds one half, else ``a``.

Refused with vx.TypeError: 64-bit integer values (the product needs 128 bits: cast to float64),
a signed-integer or bool weight (Halide's rule: use an unsigned or float weight).

Source: Halide ``lerp`` (``IROperator.h``) and ``lower_lerp`` (``Lerp.cpp``); J. Blinn,
"Three wrongs make a right", IEEE CG&A 1995 (the exact division by 255).
"""
from __future__ import annotations

import numpy as np

from .. import errors
from . import dtypes as T
from .construct import cast, lift, promote, to_type
from .expr import Const, Expr
from .ops import min as vmin
from .ops import select

_WIDE = {8: T.uint16, 16: T.uint32, 32: T.uint64}


def lerp(a, b, w) -> Expr:
    """``a`` at ``w = 0``, ``b`` at ``w = 1``, linear in between (see the module docstring for
    the types and rounding). ``a``, ``b``: Exprs or Python numbers; ``w``: a float, or an
    unsigned integer read as a fraction of its type's maximum. Example:
    ``vx.lerp(img[y, x], blurred[y, x], alpha)``."""
    wt = lift(w)
    if not (wt.dtype.is_float or wt.dtype.kind is T.Kind.UINT):
        raise errors.TypeError(f"vx.lerp weight {wt} has type {wt.dtype}: a weight is a float "
                               "(0 … 1) or an unsigned integer (0 … its max), as in Halide; "
                               "e.g. vx.cast(vx.uint8, w) or vx.cast(vx.float32, w) / 255")
    t = promote(np.maximum, a, b)
    x, y = to_type(a, t), to_type(b, t)
    if t.is_float:
        f = cast(t, wt) if wt.dtype.is_float else cast(t, _unit_float(wt))
        return x * (Const.make(1, t) - f) + y * f
    if t.is_bool:
        half = 0.5 if wt.dtype.is_float else wt.dtype.value_range()[1] // 2
        return select(wt > half, y, x)
    if t.bits not in _WIDE:
        raise errors.TypeError(f"vx.lerp of {t} values is not supported: a 64-bit integer lerp "
                               "needs a 128-bit product; cast the values to vx.float64 (or a "
                               "narrower integer type) first")
    return _int_lerp(t, x, y, _unit_weight(wt, T.unsigned(t)))


def _unit_float(w: Expr) -> Expr:
    """An unsigned weight as a float fraction ``w / (2**n - 1)`` (float64 for 32/64 bits)."""
    f = T.float64 if w.dtype.bits >= 32 else T.float32
    return cast(f, w) / Const.make(float(w.dtype.value_range()[1]), f)


def _unit_weight(w: Expr, u: T.DType) -> Expr:
    """The weight as a fraction of ``M``, the max of the unsigned type ``u`` (Halide's scaling).
    A float weight becomes ``trunc(clamp(w, 0, 1) * M)`` (NaN counts as 0), computed in float32,
    or float64 when ``M`` has 32 bits or the weight is float64."""
    top = u.value_range()[1]
    if w.dtype.is_float:
        f = T.float64 if u.bits == 32 or w.dtype == T.float64 else T.float32
        unit = cast(f, select(w > 0, vmin(w, 1.0), 0.0))
        return cast(u, unit * Const.make(float(top), f))
    wtop = w.dtype.value_range()[1]
    if w.dtype.bits < u.bits:   # uint8 → uint16: w * 257 (2**16 - 1 == 255 * 257)
        return cast(u, w) * Const.make(top // wtop, u)
    if w.dtype.bits > u.bits:   # uint16 → uint8: w // 257
        return cast(u, w // Const.make(wtop // top, w.dtype))
    return w


def _int_lerp(t: T.DType, a: Expr, b: Expr, w: Expr) -> Expr:
    """round((a * (M - w) + b * w) / M) in a double-width unsigned type (Halide's lower_lerp)."""
    bits = t.bits
    u, wide = w.dtype, _WIDE[bits]
    bias = Const.make(-t.value_range()[0], u)      # 2**(bits-1) for signed types, else 0
    if t.kind is T.Kind.INT:                        # order-preserving map to unsigned
        a, b = cast(u, a) + bias, cast(u, b) + bias
    top = Const.make(u.value_range()[1], u)
    s = (cast(wide, a) * cast(wide, top - w) + cast(wide, b) * cast(wide, w)
         + Const.make(1 << (bits - 1), wide))
    shift = Const.make(bits, wide)
    out = cast(u, ((s >> shift) + s) >> shift)
    return cast(t, out - bias) if t.kind is T.Kind.INT else out
