"""bfloat16 where the target has no bfloat16 arithmetic (OpenCL C, HIP under hiprtc): its bits in
memory, a ``float`` in between, rounded after every operation.

A dialect with ``bf16_as_bits`` holds a bfloat16 buffer, shared array or scalar argument as
its 16 bits (``ushort``) and a bfloat16 *value* as a ``float`` that is always exactly a bfloat16
number. So every expression of type bfloat16 prints as one of:

- a load (or a Param): the bits widened, ``vx_bf16_value(bits)`` (exact: bfloat16 is the top
  half of a float32);
- arithmetic, a math call or a cast to bfloat16: the float32 operation on the (exact) operands,
  then ``vx_round_bf16`` — round to nearest, ties to even, NaN kept (the top half of its bits
  with the quiet bit set), without a branch: one rounding per operation, as numpy with ``ml_dtypes.bfloat16``
  rounds the float32 result of each ufunc (the reference), and as CUDA's ``__nv_bfloat16``
  operators do;
- a select, a negation, an absolute value, a min/max, a local: no rounding (exact);
- a constant: its value rounded once here (the literal is a float32 that is a bfloat16).

Vectorized loops that touch a bfloat16 value print as scalar lane loops (:func:`scalar_only`):
the vector paths of the printers move and compute raw elements.

A store writes ``vx_bf16_bits(value)``: the top half of a value that is already a bfloat16.
A cast from float64 rounds to float32 first, then to bfloat16 — what ml_dtypes does too.

Source: the bfloat16 format (Google Brain; Kalamkar et al., "A Study of BFLOAT16 for Deep
Learning Training", 2019): the top 16 bits of an IEEE binary32; rounding as in ml_dtypes'
``float_to_bfloat16`` (round to nearest even on the dropped half).
"""
from __future__ import annotations

from ..algorithm.dtypes import bfloat16, float32, round_to_bfloat16, uint32
from ..algorithm.expr import BinaryOp, BinOp, Call, Cast, Const, Param
from ..algorithm.walk import find
from ..lower.ir import BufferLoad, Store
from ..lower.walk import stmt_exprs, stmts

_VALUE = "vx_bf16_value"
_ROUND = "vx_round_bf16"
_BITS = "vx_bf16_bits"
# Exact on bfloat16 operands: no rounding after them.
_EXACT = (BinaryOp.MIN, BinaryOp.MAX)


def _helpers(printer) -> None:
    """Emit the three conversions once per source, with the dialect's float32 reinterpretation."""
    if _VALUE in printer.helpers:
        return
    to_bits, from_bits = printer.d.float_bits["float32"]
    u, q = printer.ctype(uint32), printer.d.helper_qual
    us = printer.d.ctype(bfloat16, storage=True)
    printer.helpers[_VALUE] = (f"{q} float {_VALUE}({us} h) {{ {u} b = (({u})h) << 16; "
                               f"return {from_bits.format(v='b')}; }}\n")
    printer.helpers[_ROUND] = (   # branch-free (a secret's value may pass through it)
        f"{q} float {_ROUND}(float x) {{ {u} b = {to_bits.format(v='x')}; "
        f"{u} nan = ({u})((b & 0x7fffffffu) > 0x7f800000u); "
        f"{u} q = (b | 0x00400000u) & 0xffff0000u; "
        f"{u} r = (b + 0x7fffu + ((b >> 16) & 1u)) & 0xffff0000u; "
        f"r ^= (r ^ q) & (0u - nan); return {from_bits.format(v='r')}; }}\n")
    printer.helpers[_BITS] = (f"{q} {us} {_BITS}(float x) {{ "
                              f"return ({us})({to_bits.format(v='x')} >> 16); }}\n")


def expr(printer, e, text) -> str:
    """C text of the bfloat16-typed expression ``e``; ``text()`` prints it as float code."""
    _helpers(printer)
    if isinstance(e, (BufferLoad, Param)):
        return f"{_VALUE}({text()})"
    if isinstance(e, Const):
        v = round_to_bfloat16(float(e.value))
        return printer.expr(Const.make(v, float32))
    if isinstance(e, Cast) and e.value.dtype is not bfloat16:
        return f"{_ROUND}((float)({printer.expr(e.value)}))"
    if isinstance(e, Call) or (isinstance(e, BinOp) and e.op not in _EXACT):
        return f"{_ROUND}({text()})"
    return text()   # a select, negation, abs, min/max, local or reinterpretation: exact


def store_value(printer, value_text: str) -> str:
    """The bits to store for a bfloat16 value printed as ``value_text``."""
    _helpers(printer)
    return f"{_BITS}({value_text})"


def scalar_only(printer, body) -> bool:
    """Must the vectorized loop ``body`` print as scalar lanes? (It holds a bfloat16 value and
    the dialect holds bfloat16 as bits.)"""
    if not printer.d.bf16_as_bits:
        return False
    return any(isinstance(x, Store) and x.value.dtype is bfloat16 for x in stmts(body)) or \
        any(find(e, lambda x: x.dtype is bfloat16) for e in stmt_exprs(body))
