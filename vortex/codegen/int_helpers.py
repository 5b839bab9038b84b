"""Integer ``min``, ``max`` and ``mul_hi`` written out as helper functions, for dialects whose
table asks for them (``Dialect.int_helpers``: (operation, dtype name) → helper name).

Why: PoCL (OpenCL on CPU) calls its built-ins ``min`` and ``mul_hi`` as library functions that
its optimizer does not see through, so repeated calls on the same operands (a field
multiplication reads each operand several times) are neither merged nor vectorized well.
Measured on this repository's 2-core PoCL 3.0 machine (LLVM 14), one BabyBear NTT stage of 2^20
points (``ntt_s10`` of ``benchmarks/ntt.py``, medians of 5 runs): built-in ``min`` and
``mul_hi`` 4.8 ms, these helpers 1.9–2.2 ms; a Goldilocks stage 8.0 ms vs 3.5–3.6 ms. CUDA and
HIP keep their intrinsics (``min``, ``__umulhi``, ``__umul64hi``: single instructions).

The forms, for ``T`` the operands' unsigned type (``{t}``):

- ``min``/``max``: ``b ^ ((a ^ b) & ((T)0 - (T)(a < b)))`` (``a > b`` for ``max``) — a mask
  blend (BearSSL's ``MUX``), with no ``?:``, so the constant-time guarantee of
  docs/constant_time.md holds whether or not the operands are secret; measured as fast as
  ``a < b ? a : b`` on PoCL (1.89–2.20 ms vs 1.91–2.10 ms for that stage).
- ``mul_hi`` of uint32: the high word of the exact 64-bit product ``(ulong)a * b``.
- ``mul_hi`` of uint64: from the four 32-bit partial products (each exact in 64 bits; the
  middle column's sum < 3 · 2**32), as the reference computes it
  (:func:`vortex.algorithm.integer.mul_hi_value`); Knuth, TAOCP vol. 2 §4.3.1. No ``__int128``:
  OpenCL C does not have it (PoCL's Clang accepts it, other drivers need not).

Source: T. Pornin, BearSSL "Constant-Time Implementations" (bearssl.org/constanttime.html).
"""
from __future__ import annotations

# (operation, bits or None for any width) -> body; {t}: the C type, {w}: the 64-bit unsigned type
_BODIES = {
    ("min", None): "return b ^ ((a ^ b) & (({t})0 - ({t})(a < b)));",
    ("max", None): "return b ^ ((a ^ b) & (({t})0 - ({t})(a > b)));",
    ("mul_hi", 32): "return ({t})((({w})a * ({w})b) >> 32);",
    ("mul_hi", 64): "{t} a0 = a & 0xffffffffUL, a1 = a >> 32, b0 = b & 0xffffffffUL, "
                    "b1 = b >> 32; {t} p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, "
                    "p11 = a1 * b1; {t} mid = (p00 >> 32) + (p01 & 0xffffffffUL) + "
                    "(p10 & 0xffffffffUL); return p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);",
}


def helper_source(printer, op: str, dtype, name: str) -> str:
    """The C definition of helper ``name`` computing ``op`` (``"min"``, ``"max"``,
    ``"mul_hi"``) of two unsigned ``dtype`` operands; ``printer``: the CPrinter (its dialect's
    helper qualifier and C types)."""
    from ..algorithm import dtypes as T
    body = _BODIES.get((op, None)) or _BODIES[(op, dtype.bits)]
    t = printer.ctype(dtype)
    body = body.format(t=t, w=printer.ctype(T.uint64))
    return f"{printer.d.helper_qual} {t} {name}({t} a, {t} b) {{ {body} }}\n"
