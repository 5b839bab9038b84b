"""Goldilocks arithmetic: p = 2**64 − 2**32 + 1, elements are uint64 words in [0, p)
(the field value itself: no Montgomery form).

The special form gives a reduction of a 128-bit product without division. With
ε = 2**32 − 1: 2**64 ≡ ε (mod p) and 2**96 ≡ −1 (mod p). A product ``x = lo + 2**64 · hi``
(``lo = a · b``, ``hi = mul_hi(a, b)``), ``hi = hh · 2**32 + hl``, is
``lo − hh + hl · ε`` (mod p), computed in words:

- ``t0 = lo − hh``; on a borrow, ``t0 −= ε`` (the wrapped word was 2**64 too big, 2**64 ≡ ε;
  it cannot wrap again: the word is ≥ 2**64 − 2**32 + 1);
- ``t1 = hl · ε`` (< 2**64);
- ``t2 = t0 + t1``; on a carry, ``t2 += ε`` (cannot carry again);
- the canonical value ``min(t2, t2 − p)`` (for any word: ``t2 − p`` wraps to a larger word
  exactly when ``t2 < p``, and 2**64 < 2p).

Addition and subtraction use the same facts: a carry out of ``a + b`` is fixed by adding ε, a
borrow out of ``a − b`` by subtracting ε. Every operation is branch-free (carries become 0/1
words, ``vx.carry``/``vx.borrow``) and returns an element. Input ranges: ``mul`` and
``to_field`` take any uint64; ``add``/``sub`` need elements (< p).

Source: the facts of Plonky2's ``goldilocks_field.rs`` (``reduce128``, ``EPSILON``), no code;
Polygon Zero, "Plonky2: Fast Recursive Arguments with PLONK and FRI" (2022), on the field.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .. import errors
from ..algorithm import dtypes as T
from ..algorithm import min as vmin
from ..algorithm.expr import Const, Expr
from ..algorithm.integer import borrow, carry, mul_hi
from .prime_field import PrimeField

P = (1 << 64) - (1 << 32) + 1
EPSILON = (1 << 32) - 1     # 2**64 mod p


@dataclass(frozen=True)
class GoldilocksField(PrimeField):
    """The Goldilocks field (module docstring). Raises vx.TypeError for any other p: the
    reduction is this prime's."""

    dtype: ClassVar[T.DType] = T.uint64

    def __post_init__(self):
        if self.p != P:
            raise errors.TypeError(f"GoldilocksField {self.name!r}: p = {self.p}; its reduction "
                                   f"holds only for p = 2**64 - 2**32 + 1 = {P}")

    def encode(self, v: int) -> int:
        return v % self.p

    def decode(self, word: int) -> int:
        return word % self.p

    def _c(self, v: int) -> Expr:
        return Const.make(v, T.uint64)

    def _canonical(self, t: Expr) -> Expr:
        return vmin(t, t - self._c(P))

    def reduce128(self, lo, hi) -> Expr:
        """The element ``(lo + 2**64 · hi) mod p`` of a 128-bit value given as two uint64
        words (module docstring)."""
        lo, hi = self.word(lo, "reduce128"), self.word(hi, "reduce128")
        eps = self._c(EPSILON)
        hh, hl = hi >> 32, hi & eps
        t0 = (lo - hh) - borrow(lo, hh) * eps
        t1 = hl * eps
        return self._canonical((t1 + t0) + carry(t1, t0) * eps)

    def to_field(self, a) -> Expr:
        """The element ``a mod p`` of any uint64 integer ``a``."""
        return self._canonical(self.word(a, "to_field"))

    def from_field(self, a) -> Expr:
        """The integer an element is (the identity: elements are canonical)."""
        return self.word(a, "from_field")

    def add(self, a, b) -> Expr:
        """``a + b`` mod p of two elements."""
        x, y = self.element(a, "add"), self.element(b, "add")
        return self._canonical((x + y) + carry(x, y) * self._c(EPSILON))

    def sub(self, a, b) -> Expr:
        """``a − b`` mod p of two elements."""
        x, y = self.element(a, "sub"), self.element(b, "sub")
        return (x - y) - borrow(x, y) * self._c(EPSILON)

    def mul(self, a, b) -> Expr:
        """``a · b`` mod p of any two uint64 words: :meth:`reduce128` of the full product."""
        x, y = self.element(a, "mul"), self.element(b, "mul")
        return self.reduce128(x * y, mul_hi(x, y))
