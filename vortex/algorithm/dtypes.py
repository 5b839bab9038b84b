"""Scalar types of the algorithm language and NumPy-2 promotion (NEP 50).

Types follow NumPy: ``vx.float32`` is numpy's float32, and the result type of an operation is the
type numpy's own ufunc resolution gives for the same operands, with Python scalars *weak*
(NEP 50: ``uint8_expr + 1`` stays uint8, ``int8_expr + 1.0`` is float64, ``float16_expr * 2.0`` is
float16). Two deliberate restrictions, both raising :class:`vx.TypeError`: arithmetic on ``bool``
(cast first) and bitwise operators on floating-point values.

Source: NEP 50 — Promotion rules for Python scalars (numpy.org/neps/nep-0050-scalar-promotion.html).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

from .. import errors


class Kind(Enum):
    BOOL = "b"
    INT = "i"
    UINT = "u"
    FLOAT = "f"


@dataclass(frozen=True)
class DType:
    """A scalar type: ``name`` (numpy's), ``kind``, ``bits``.

    Calling a DType makes a typed constant: ``vx.int32(0)``.
    """

    name: str
    kind: Kind
    bits: int

    @property
    def np(self) -> np.dtype:
        """The numpy dtype. bfloat16 is ``ml_dtypes.bfloat16`` (numpy has none); raises
        vx.TypeError when ml_dtypes is not installed."""
        if self.name == "bfloat16":
            return _bfloat16_np()
        return np.dtype(self.name)

    @property
    def is_float(self) -> bool:
        return self.kind is Kind.FLOAT

    @property
    def is_int(self) -> bool:
        """True for signed and unsigned integers (not bool)."""
        return self.kind in (Kind.INT, Kind.UINT)

    @property
    def is_bool(self) -> bool:
        return self.kind is Kind.BOOL

    @property
    def itemsize(self) -> int:
        return max(1, self.bits // 8)

    def value_range(self) -> tuple[int, int] | None:
        """Inclusive (lo, hi) of an integer or bool type; None for floats."""
        if self.kind is Kind.BOOL:
            return (0, 1)
        if self.kind is Kind.UINT:
            return (0, 2 ** self.bits - 1)
        if self.kind is Kind.INT:
            return (-(2 ** (self.bits - 1)), 2 ** (self.bits - 1) - 1)
        return None

    def __call__(self, value):
        from .expr import Const
        return Const.make(value, self)

    def __str__(self) -> str:
        return self.name


bool_ = DType("bool", Kind.BOOL, 8)
int8 = DType("int8", Kind.INT, 8)
int16 = DType("int16", Kind.INT, 16)
int32 = DType("int32", Kind.INT, 32)
int64 = DType("int64", Kind.INT, 64)
uint8 = DType("uint8", Kind.UINT, 8)
uint16 = DType("uint16", Kind.UINT, 16)
uint32 = DType("uint32", Kind.UINT, 32)
uint64 = DType("uint64", Kind.UINT, 64)
float16 = DType("float16", Kind.FLOAT, 16)
bfloat16 = DType("bfloat16", Kind.FLOAT, 16)
float32 = DType("float32", Kind.FLOAT, 32)
float64 = DType("float64", Kind.FLOAT, 64)

ALL = (bool_, int8, int16, int32, int64, uint8, uint16, uint32, uint64,
       float16, bfloat16, float32, float64)
_BY_NAME = {t.name: t for t in ALL}


# Floating-point formats: significand bits (with the implicit one) and the largest finite value.
_FLOAT_FORMATS = {"float16": (11, 65504.0), "bfloat16": (8, float.fromhex("0x1.fep127")),
                  "float32": (24, float.fromhex("0x1.fffffep127")),
                  "float64": (53, float.fromhex("0x1.fffffffffffffp1023"))}


def _bfloat16_np() -> np.dtype:
    """``ml_dtypes.bfloat16`` as a numpy dtype (the JAX project's numpy extension types)."""
    try:
        import ml_dtypes
    except ImportError:
        raise errors.TypeError("bfloat16 arrays need the ml_dtypes package (numpy has no "
                               "bfloat16): pip install ml_dtypes") from None
    return np.dtype(ml_dtypes.bfloat16)


def round_to_bfloat16(v: float) -> float:
    """``v`` rounded to float32, then to the nearest bfloat16 (ties to even; NaN stays NaN,
    overflow gives ±inf), as a Python float: the value a bfloat16 constant holds."""
    with np.errstate(over="ignore"):
        b = int(np.array(v, np.float32).view(np.uint32))
    if (b & 0x7FFFFFFF) > 0x7F800000:
        return float("nan")
    b = (b + 0x7FFF + ((b >> 16) & 1)) & 0xFFFF0000
    return float(np.array(b & 0xFFFFFFFF, np.uint32).view(np.float32))


def unsigned(t: DType) -> DType:
    """The unsigned integer type of ``t``'s width (uint8 for int8 and for uint8)."""
    return _BY_NAME[f"uint{t.bits}"]


def max_finite(t: DType) -> float:
    """The largest finite value of the floating-point type ``t``."""
    return _FLOAT_FORMATS[t.name][1]


def float_at_most(t: DType, n: int) -> float:
    """The largest value of floating-point type ``t`` that is <= the integer ``n`` (>= 0),
    capped at ``max_finite(t)``."""
    bits = _FLOAT_FORMATS[t.name][0]
    drop = max(0, n.bit_length() - bits)     # low bits the significand cannot hold
    return min(float((n >> drop) << drop), max_finite(t))


def as_dtype(t) -> DType:
    """Accept a DType, a numpy dtype/type or a name ('float32'); raise vx.TypeError otherwise."""
    if isinstance(t, DType):
        return t
    try:
        name = "bfloat16" if str(t) == "bfloat16" else np.dtype(t).name   # ml_dtypes' too
    except Exception:  # noqa: BLE001 - anything numpy cannot read is a user error here
        raise errors.TypeError(f"{t!r} is not a Vortex type; use one of "
                               f"{', '.join(_BY_NAME)}") from None
    if name not in _BY_NAME:
        raise errors.TypeError(f"numpy dtype {name} is not supported; use one of {', '.join(_BY_NAME)}")
    return _BY_NAME[name]


def from_numpy(dt: np.dtype) -> DType:
    return _BY_NAME[np.dtype(dt).name]


def _probe(t: DType | None, weak):
    """A zero-size numpy operand of type t, or the weak Python scalar itself."""
    if t is None:
        return weak
    if t.name == "bfloat16":  # promote as float32 would, then narrow back below
        return np.zeros(0, np.float32)
    return np.zeros(0, t.np)


def ufunc_result(ufunc, types: list[DType | None], weak_values: list) -> DType:
    """Result type of numpy ``ufunc`` on operands of ``types`` (None = weak Python scalar, whose
    value is taken from ``weak_values``). Raises vx.TypeError when numpy refuses the combination."""
    ops = [_probe(t, w) for t, w in zip(types, weak_values)]
    try:
        with np.errstate(all="ignore"):  # a probe on empty arrays, not a computation
            out = ufunc(*ops)
    except (OverflowError, ValueError, TypeError) as exc:  # builtin TypeError: numpy refused
        raise errors.TypeError(str(exc)) from None
    res = from_numpy(np.asarray(out).dtype)
    if res is float32 and any(t is bfloat16 for t in types) and all(
            t is None or t is bfloat16 or not t.is_float for t in types):
        return bfloat16
    return res


def python_scalar_type(value) -> DType:
    """numpy's default type for a lone Python scalar (bool, int64, float64)."""
    if isinstance(value, (bool, np.bool_)):
        return bool_
    if isinstance(value, (int, np.integer)):
        return from_numpy(np.asarray(value).dtype) if isinstance(value, np.integer) else int64
    if isinstance(value, (float, np.floating)):
        return from_numpy(np.asarray(value).dtype) if isinstance(value, np.floating) else float64
    raise errors.TypeError(f"{value!r} ({type(value).__name__}) is not a scalar Vortex can use")

