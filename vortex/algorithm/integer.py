"""Integer intrinsics for multi-word and modular arithmetic: ``vx.mul_hi``, ``vx.mul_wide``,
``vx.carry``, ``vx.borrow`` (what Montgomery and Solinas reductions need; ``vortex/lib/fields.py``).

All take unsigned operands of one type (a Python int takes the other operand's type, NEP 50) and
wrap like C unsigned arithmetic:

- ``mul_hi(a, b)`` (uint32 or uint64): the high half of the full product, ``(a * b) >> bits``.
  One intrinsic (:class:`~vortex.algorithm.operators.Intrinsic` ``MUL_HI``): OpenCL ``mul_hi``,
  CUDA/HIP ``__umulhi`` / ``__umul64hi`` (the dialect tables).
- ``mul_wide(a, b)`` (uint32 → uint64): the exact product, ``cast(u64, a) * cast(u64, b)``
  (compilers select the widening multiply, PTX ``mul.wide.u32``).
- ``carry(a, b)``: 1 where ``a + b`` wraps, else 0, in the operands' type: ``(a + b) < a``.
- ``borrow(a, b)``: 1 where ``a - b`` wraps (``a < b``), else 0, in the operands' type.

So ``a + b`` and ``vx.carry(a, b)`` are the two words of the sum (``a - b`` and
``vx.borrow(a, b)`` of the difference; ``a * b`` and ``vx.mul_hi(a, b)`` of the product). Only
``mul_hi`` is a new node: the others are built from existing ones (as ``lerp`` is), so no printer
knows them. The reference computes ``mul_hi`` exactly in numpy: uint32 through a uint64
product, uint64 from the four 32-bit partial products (never floats).

Errors (vx.TypeError, naming the operand and the cast to write): a signed, float or bool
operand; operands of two types; two Python ints (nothing gives the type); a type the function
does not take (``mul_hi`` of uint16, ``mul_wide`` of uint64). A Python int out of the type's
range is the usual constant error.

Source: OpenCL C 1.2 §6.12.3 (``mul_hi``); CUDA Math API, integer intrinsics (``__umulhi``,
``__umul64hi``); Knuth, TAOCP vol. 2 §4.3.1 (multi-word arithmetic from word operations).
"""
from __future__ import annotations

import numpy as np

from .. import errors
from . import dtypes as T
from .construct import cast, is_weak, lift, to_type
from .expr import Call, Expr, Intrinsic

__all__ = ["borrow", "carry", "mul_hi", "mul_hi_value", "mul_wide"]

_UNSIGNED = (T.uint8, T.uint16, T.uint32, T.uint64)


def _show(v) -> str:
    return repr(v) if is_weak(v) else str(lift(v))


def operands(fn: str, a, b, allowed: tuple = _UNSIGNED) -> tuple[Expr, Expr]:
    """``a`` and ``b`` as Exprs of one unsigned type from ``allowed`` (module docstring), or
    vx.TypeError naming ``vx.<fn>`` and what to cast."""
    call = f"vx.{fn}({_show(a)}, {_show(b)})"
    names = " or ".join(str(t) for t in allowed)
    if is_weak(a) and is_weak(b):
        raise errors.TypeError(f"{call} needs a typed operand to know the word size: cast one, "
                               f"e.g. vx.{fn}(vx.cast(vx.{_suggest(T.uint32, allowed)}, "
                               f"{_show(a)}), {_show(b)})")
    typed = [lift(v) for v in (a, b) if not is_weak(v)]
    for e in typed:
        if e.dtype not in allowed:
            raise errors.TypeError(f"{call}: operand {e} has type {e.dtype}; vx.{fn} takes "
                                   f"{names} operands: use vx.cast(vx.{_suggest(e.dtype, allowed)}"
                                   f", {e})")
    t = typed[0].dtype
    if len(typed) == 2 and typed[1].dtype != t:
        wide = max(typed, key=lambda e: e.dtype.bits).dtype
        raise errors.TypeError(f"{call}: operands of two types, {typed[0].dtype} and "
                               f"{typed[1].dtype}; cast one so both are {wide} "
                               f"(vx.cast(vx.{wide}, …)), or both the narrower type")
    return to_type(a, t), to_type(b, t)


def _suggest(t: T.DType, allowed: tuple) -> T.DType:
    """The allowed type of ``t``'s width (or the widest allowed one)."""
    bits = t.bits if not t.is_bool else 8
    return next((u for u in allowed if u.bits >= bits), allowed[-1])


def mul_hi(a, b) -> Expr:
    """High half of the full product of two uint32 (or two uint64) values: ``(a * b) >> 32``
    computed without overflow (``>> 64`` for uint64), of the operands' type. Raises vx.TypeError
    for other types (module docstring)."""
    x, y = operands("mul_hi", a, b, (T.uint32, T.uint64))
    return Call(Intrinsic.MUL_HI, (x, y), x.dtype)


def mul_wide(a, b) -> Expr:
    """The exact uint64 product of two uint32 values. Raises vx.TypeError for other types; for
    uint64 operands the two words are ``a * b`` and ``vx.mul_hi(a, b)``."""
    x, y = operands("mul_wide", a, b, (T.uint32,))
    return cast(T.uint64, x) * cast(T.uint64, y)


def carry(a, b) -> Expr:
    """1 where the unsigned sum ``a + b`` wraps, else 0 (operands' type). Raises vx.TypeError
    for signed, float, bool or mixed operands."""
    x, y = operands("carry", a, b)
    return cast(x.dtype, (x + y) < x)


def borrow(a, b) -> Expr:
    """1 where the unsigned difference ``a - b`` wraps (``a < b``), else 0 (operands' type).
    Raises vx.TypeError for signed, float, bool or mixed operands."""
    x, y = operands("borrow", a, b)
    return cast(x.dtype, x < y)


_LOW = np.uint64(0xFFFFFFFF)
_32 = np.uint64(32)


def _mul_hi64(a, b):
    """High 64 bits of uint64 ``a * b`` from the four 32-bit partial products (each < 2**64,
    so exact in uint64; the middle column's sum < 3 * 2**32)."""
    a0, a1, b0, b1 = a & _LOW, a >> _32, b & _LOW, b >> _32
    p00, p01, p10, p11 = a0 * b0, a0 * b1, a1 * b0, a1 * b1
    mid = (p00 >> _32) + (p01 & _LOW) + (p10 & _LOW)
    return p11 + (p01 >> _32) + (p10 >> _32) + (mid >> _32)


def _mul_hi32(a, b):
    return ((a.astype(np.uint64) * b.astype(np.uint64)) >> _32).astype(np.uint32)


_MUL_HI = {np.dtype(np.uint32): _mul_hi32, np.dtype(np.uint64): _mul_hi64}


def mul_hi_value(a, b):
    """The reference's ``mul_hi`` (numpy arrays or scalars of one type, uint32 or uint64)."""
    a, b = np.asarray(a), np.asarray(b)
    return _MUL_HI[a.dtype](a, b)
