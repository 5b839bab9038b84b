"""Branch-free select: ``vx.select`` on a secret condition printed as a mask blend.

For a Select marked ``branch_free`` (vortex/algorithm/secret.py) the printers write, with ``U``
the unsigned integer type of the value's width and ``c`` the condition (0 or 1)::

    (U)(((U)a & ((U)0 - (U)c)) | ((U)b & ((U)c - (U)1)))

then cast back to the value's type (an integer or bool), or reinterpreted as the float it was
(the dialect's ``float_bits``: ``as_float`` on OpenCL, ``__uint_as_float`` on CUDA/HIP). Both
values are computed, and no ``?:`` or ``if`` depends on ``c``. Each operand is printed once (the
``b ^ ((a ^ b) & m)`` form prints ``b`` twice, which doubles a nested ``vx.mux`` per level).
A bfloat16 value where the dialect holds it as a float (``bf16_as_bits``: OpenCL, HIP) blends
as that float32.

Source: T. Pornin, BearSSL "Constant-Time Implementations" (bearssl.org/constanttime.html),
``MUX(ctl, x, y)``: ``y ^ (-ctl & (x ^ y))``.
"""
from __future__ import annotations

from .. import errors
from ..algorithm.dtypes import bfloat16, float32, unsigned
from ..algorithm.expr import Select


def blend(printer, e: Select, c: str, a: str, b: str) -> str:
    """The C text choosing ``a`` (condition ``c`` true) or ``b``, both printed already, with
    masks instead of a branch. ``printer``: the CPrinter (its dialect and C types)."""
    t = float32 if e.dtype is bfloat16 and printer.d.bf16_as_bits else e.dtype
    u = printer.ctype(unsigned(t))
    if t.is_float:
        bits = printer.d.float_bits[t.name]
        to_bits, from_bits = bits
        a, b = to_bits.format(v=a), to_bits.format(v=b)
    mixed = (f"(({u})((({u})({a}) & (({u})0 - ({u})({c}))) | "
             f"(({u})({b}) & (({u})({c}) - ({u})1))))")
    if t.is_float:
        return from_bits.format(v=mixed)
    return f"(({printer.ctype(t)}){mixed})"
