"""Montgomery arithmetic for primes below 2**31 (BabyBear), R = 2**32, elements uint32.

An element holding the field value ``v`` is the word ``v · R mod p``, in [0, p) (*Montgomery
form*). Multiplying two words ``a``, ``b`` gives their 64-bit product ``T = a · b``, and
*reduction* (REDC) returns ``T · R⁻¹ mod p``, again in Montgomery form, with multiplications and
a shift instead of a division (Montgomery 1985). This file uses the subtracting form of REDC
with ``μ = p⁻¹ mod 2**32``: ``q = lo(T) · μ mod 2**32`` makes ``q · p`` agree with ``T`` in the
low 32 bits, so ``(T − q · p) / 2**32 = hi(T) − mul_hi(q, p)`` exactly, a value in (−p, p) for
``T < p · 2**32``; a wrapped (negative) one gets ``p`` added. Words never exceed 32 bits except
the one widening product.

Branch-free canonical forms: for words below 2**32, ``min(t, t − p)`` is ``t mod p`` when
``t < 2p`` (``t − p`` wraps to a larger word when ``t < p``), and ``min(d, d + p)`` corrects a
difference ``d = a − b`` of elements (``d + p`` wraps below ``p`` exactly when ``a < b``).

Input ranges: ``mul`` needs ``a · b < p · 2**32`` (true when either operand is an element);
``to_field`` takes any uint32 (the integer ``a``, reduced mod p); ``from_field`` any uint32;
``add``/``sub`` need elements (< p). Every result is an element.

Source: P. L. Montgomery, "Modular multiplication without trial division", Math. Comp. 44
(1985); the subtracting form with μ = p⁻¹ as in Plonky3's ``monty-31`` (facts only).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .. import errors
from ..algorithm import cast
from ..algorithm import dtypes as T
from ..algorithm import min as vmin
from ..algorithm.expr import Const, Expr
from ..algorithm.integer import mul_hi, mul_wide
from .prime_field import PrimeField

R_BITS = 32


@dataclass(frozen=True)
class MontgomeryField(PrimeField):
    """A prime field below 2**31 in Montgomery form, R = 2**32 (module docstring).
    Raises vx.TypeError for an even p or p ≥ 2**31 (``T + q·p`` must fit the reduction)."""

    dtype: ClassVar[T.DType] = T.uint32

    def __post_init__(self):
        if self.p % 2 == 0 or not 2 < self.p < 1 << (R_BITS - 1):
            raise errors.TypeError(f"MontgomeryField {self.name!r}: p = {self.p} must be an odd "
                                   "prime below 2**31 (R = 2**32)")

    # Python ints --------------------------------------------------------------------------
    def encode(self, v: int) -> int:
        return (v << R_BITS) % self.p

    def decode(self, word: int) -> int:
        return word * pow(1 << R_BITS, -1, self.p) % self.p

    @property
    def _p(self) -> Expr:
        return Const.make(self.p, T.uint32)

    def _reduce(self, t: Expr) -> Expr:
        """REDC of a uint64 ``t < p · 2**32``: ``t · 2**-32 mod p`` as an element."""
        mu = Const.make(pow(self.p, -1, 1 << R_BITS), T.uint32)
        q = cast(T.uint32, t) * mu
        d = cast(T.uint32, t >> R_BITS) - mul_hi(q, self._p)
        return vmin(d, d + self._p)

    # expressions ---------------------------------------------------------------------------
    def to_field(self, a) -> Expr:
        """Montgomery form of the uint32 integer ``a`` (any value: ``a mod p`` is taken):
        ``REDC(a · R² mod p)``. Also named ``to_mont``."""
        r2 = Const.make((1 << 2 * R_BITS) % self.p, T.uint32)
        return self._reduce(mul_wide(self.word(a, "to_field"), r2))

    def from_field(self, a) -> Expr:
        """The integer in [0, p) that element ``a`` represents: ``REDC(a)``. Also named
        ``from_mont``."""
        return self._reduce(cast(T.uint64, self.word(a, "from_field")))

    to_mont = to_field
    from_mont = from_field

    def add(self, a, b) -> Expr:
        """``a + b`` mod p of two elements: ``min(s, s − p)``, s = a + b < 2p < 2**32."""
        s = self.element(a, "add") + self.element(b, "add")
        return vmin(s, s - self._p)

    def sub(self, a, b) -> Expr:
        """``a − b`` mod p of two elements: ``min(d, d + p)``, d = a − b (wrapping)."""
        d = self.element(a, "sub") - self.element(b, "sub")
        return vmin(d, d + self._p)

    def mul(self, a, b) -> Expr:
        """``a · b`` mod p in Montgomery form: ``REDC(mul_wide(a, b))``."""
        return self._reduce(mul_wide(self.element(a, "mul"), self.element(b, "mul")))
