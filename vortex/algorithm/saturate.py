"""``vx.saturating_cast``: a cast that clamps to the target type's range instead of wrapping.

Built from existing nodes (select, min/max, cast), so every target prints it with no new code,
and no cast it emits is out of range (C leaves float→int overflow undefined; here it never
happens):

- integer → integer: clamp to the part of the target's range the source can hold, then cast;
- float → integer: NaN gives 0; values below ``t``'s minimum (−inf included) give the minimum,
  values above its maximum (+inf included) give the maximum — also when the float type cannot
  represent that maximum (float32 3e9 → int32 2147483647) —, and in-range values truncate
  toward zero, as ``vx.cast``;
- integer → float: clamp to the float's finite range (int32 100000 → float16 65504), then round;
- float → float: clamp to the target's finite range, so ±inf become ±max finite (Halide pins
  infinities the same way); NaN stays NaN;
- bool → anything: an ordinary cast (0 or 1 fit every type).

Source: Halide ``saturating_cast`` (``IROperator.cpp``).
"""
from __future__ import annotations

from .. import errors
from . import dtypes as T
from .construct import cast, lift, to_type
from .expr import Const, Expr
from .ops import max as vmax
from .ops import min as vmin
from .ops import select


def saturating_cast(t, e) -> Expr:
    """``e`` converted to type ``t``, clamped to ``t``'s range first (see the module docstring
    for NaN and infinities). ``t``: a vx type; ``e``: an Expr or a Python number (typed as numpy
    would). Raises vx.TypeError for a bool target (write ``e != 0``)."""
    t = T.as_dtype(t)
    x = lift(e)
    if t.is_bool:
        raise errors.TypeError(f"vx.saturating_cast(vx.bool_, {x}): a bool has no range to clamp "
                               f"to; write {x} != 0")
    s = x.dtype
    if s == t:
        return x
    if s.is_bool:
        return cast(t, x)
    if s.is_float:
        return (_float_to_float if t.is_float else _float_to_int)(t, x)
    return _int_to_any(t, x)


def _int_to_any(t: T.DType, x: Expr) -> Expr:
    """Clamp to the part of t's range (finite range for floats) the source can hold, then cast."""
    s = x.dtype
    lo, hi = t.value_range() if t.is_int else (-int(T.max_finite(t)), int(T.max_finite(t)))
    slo, shi = s.value_range()
    out = vmax(x, to_type(lo, s)) if lo > slo else x
    out = vmin(out, to_type(hi, s)) if hi < shi else out
    return cast(t, out)


def _float_to_float(t: T.DType, x: Expr) -> Expr:
    """Clamp to ±t's largest finite value (in the narrower of the two types); NaN passes."""
    s = x.dtype
    if T.max_finite(t) < T.max_finite(s):   # narrowing: clamp in the source type, then round
        m = T.float_at_most(s, int(T.max_finite(t)))
        return cast(t, select(x != x, x, vmin(vmax(x, -m), m)))
    y, m = cast(t, x), T.max_finite(t)
    return select(y != y, y, vmin(vmax(y, -m), m))


def _float_to_int(t: T.DType, x: Expr) -> Expr:
    """NaN → 0, below range → t's min, above → t's max, else truncation (module docstring)."""
    s = x.dtype
    lo_t, hi_t = t.value_range()
    lo = max(float(lo_t), -T.max_finite(s))    # t's min is 0 or a power of two: exact if finite
    hi = T.float_at_most(s, hi_t)
    lo_c, hi_c = Const.make(lo, s), Const.make(hi, s)
    no_nan = select(x != x, Const.make(0.0, s), x)          # no cast below sees NaN or ±inf
    inside = cast(t, vmin(vmax(no_nan, lo_c), hi_c))
    return select(x > hi_c, Const.make(hi_t, t), select(x < lo_c, Const.make(lo_t, t), inside))
