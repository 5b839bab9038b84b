"""What every prime field of :mod:`vortex.lib.fields` has: its facts (``p``, a generator of the
multiplicative group, the two-adicity), Python-int conversions, constants, and powers built as
an update loop. The arithmetic itself (``to_field``, ``from_field``, ``add``, ``sub``, ``mul``)
is each field's representation: :mod:`vortex.lib.montgomery`, :mod:`vortex.lib.goldilocks`.

Why powers are Func definitions, not expressions: expressions are trees, and a field
multiplication reads each operand more than once (the low and high halves of one product, a
final ``min(t, t - p)``), so ``k`` nested squarings would print (and evaluate) a tree of
``c ** k`` copies. :meth:`PrimeField.define_pow` instead gives a Func a loop of ``2 · bits``
steps over one value: a square, then a multiply by ``x`` or by 1, per exponent bit from the top
(left-to-right binary exponentiation, Knuth TAOCP vol. 2 §4.6.3). Every step multiplies and the
choice depends only on the public exponent, so the time does not depend on ``x``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .. import errors
from ..algorithm import RDom, cast, select
from ..algorithm import dtypes as T
from ..algorithm.construct import is_weak, lift
from ..algorithm.expr import Const, Expr, Var


@dataclass(frozen=True)
class PrimeField:
    """A prime field GF(p) whose elements are ``dtype`` words (a subclass's representation).

    ``generator`` generates the multiplicative group (order p − 1); ``two_adicity`` is the
    largest s with 2**s dividing p − 1, so roots of unity of every order 2**k ≤ 2**s exist
    (:meth:`root_of_unity`: what an NTT's twiddles are made of). A Python int given where an
    element is expected is that field value (converted by :meth:`constant`)."""

    name: str
    p: int
    generator: int
    two_adicity: int
    dtype: ClassVar[T.DType]

    # --- Python ints (constants, twiddle tables, tests) ----------------------------------
    def encode(self, v: int) -> int:
        """The word representing the field value ``v mod p`` (the representation's)."""
        raise NotImplementedError

    def decode(self, word: int) -> int:
        """The field value (in [0, p)) that ``word`` represents."""
        raise NotImplementedError

    def root_of_unity(self, n: int) -> int:
        """A primitive ``n``-th root of unity (a field value, not encoded):
        ``generator ** ((p - 1) / n) mod p``, for ``n`` a power of two ≤ 2**two_adicity
        (sympy's ``ntt`` uses the same convention with the same generator). Raises
        vx.TypeError for any other ``n``."""
        if not isinstance(n, int) or n < 1 or n & (n - 1) or n > 1 << self.two_adicity:
            raise errors.TypeError(f"{self.name}.root_of_unity({n!r}): n must be a power of two "
                                   f"from 1 to 2**{self.two_adicity} (the field's two-adicity)")
        return pow(self.generator, (self.p - 1) // n, self.p)

    # --- expressions ---------------------------------------------------------------------
    def constant(self, v: int) -> Expr:
        """The field value ``v`` (a Python int, reduced mod p) as a constant element."""
        return Const.make(self.encode(v % self.p), self.dtype)

    def element(self, v, fn: str) -> Expr:
        """``v`` as an element: an Expr of ``dtype`` as it is, a Python int through
        :meth:`constant`; vx.TypeError naming ``fn`` and the cast otherwise."""
        if is_weak(v) and not isinstance(v, (bool, float)):
            return self.constant(v)
        return self.word(v, fn)

    def word(self, v, fn: str) -> Expr:
        """``v`` as a ``dtype`` word (to_field's integer, from_field's element): an Expr of
        ``dtype``, or a Python int in its range; vx.TypeError naming ``fn`` otherwise."""
        if is_weak(v) and not isinstance(v, (bool, float)):
            return Const.make(v, self.dtype)
        e = lift(v)
        if e.dtype != self.dtype:
            raise errors.TypeError(f"{self.name}.{fn}: operand {e} has type {e.dtype}; "
                                   f"{self.name} elements are {self.dtype}: use "
                                   f"{self.name}.to_field(vx.cast(vx.{self.dtype}, …)) for "
                                   "integer values")
        return e

    def neg(self, a) -> Expr:
        """``-a`` mod p (an element)."""
        return self.sub(0, a)

    def define_pow(self, f, vars, x, exponent: int) -> None:
        """Define ``f[vars] = x ** exponent`` (module docstring): a pure definition (1) and, for
        ``exponent`` > 0, one update over ``vx.RDom(2 * bits, name=f.name + "_step")``. ``f``
        is a Func with a declared shape (it has updates), ``vars`` its Var(s), ``x`` an element
        (an Expr of those Vars). ``0 ** 0`` is 1. Raises vx.TypeError for an exponent that is
        not an int in [0, 2**64) (reduce it mod p − 1 for nonzero x)."""
        if isinstance(exponent, bool) or not isinstance(exponent, int) \
                or not 0 <= exponent < 1 << 64:
            raise errors.TypeError(f"{self.name}.define_pow({f.name}, …, {exponent!r}): the "
                                   "exponent must be a Python int in [0, 2**64); use "
                                   "define_inverse for -1")
        x = self.element(x, "define_pow")
        one = self.constant(1)
        vars = (vars,) if isinstance(vars, Var) else tuple(vars)
        f[vars] = one
        bits = exponent.bit_length()
        if not bits:
            return
        r = RDom(2 * bits, name=f"{f.name}_step")
        shift = cast(T.uint64, bits - 1 - r // 2)                # exponent bit, top first
        bit = ((Const.make(exponent, T.uint64) >> shift) & 1) == 1
        acc = f[vars]
        f[vars] = self.mul(acc, select(r % 2 == 0, acc, select(bit, x, one)))

    def define_inverse(self, f, vars, x) -> None:
        """Define ``f[vars] = 1 / x`` as ``x ** (p - 2)`` (Fermat's little theorem), with
        :meth:`define_pow`; the inverse of 0 is 0."""
        self.define_pow(f, vars, x, self.p - 2)

    # --- the representation's arithmetic (subclasses) -----------------------------------
    def to_field(self, a) -> Expr:
        raise NotImplementedError

    def from_field(self, a) -> Expr:
        raise NotImplementedError

    def add(self, a, b) -> Expr:
        raise NotImplementedError

    def sub(self, a, b) -> Expr:
        raise NotImplementedError

    def mul(self, a, b) -> Expr:
        raise NotImplementedError
