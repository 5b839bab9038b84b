"""Prime fields of STARK provers, as functions that build Vortex expressions.

``BABYBEAR`` (p = 15 · 2**27 + 1 = 2013265921, uint32 words in Montgomery form, R = 2**32) and
``GOLDILOCKS`` (p = 2**64 − 2**32 + 1, uint64 canonical words) share one interface
(:class:`~vortex.lib.prime_field.PrimeField`)::

    from vortex.lib.fields import BABYBEAR as F
    c[i] = F.add(F.mul(a[i], w[i]), b[i])          # a, b, w: uint32 Inputs holding elements
    out[i] = F.from_field(c[i])                    # the integer in [0, p)
    inv = vx.Func("inv", shape=(N,)); F.define_inverse(inv, (i,), a[i])   # a loop, see below

- Facts: ``F.p``, ``F.generator`` (of the multiplicative group), ``F.two_adicity``,
  ``F.root_of_unity(n)`` (``generator ** ((p − 1) / n)``, n a power of two): the one place an
  NTT takes its twiddles from. ``F.dtype`` is the element word type.
- Python ints: ``F.encode(v)`` / ``F.decode(word)`` convert a value and its word (for inputs,
  constants, tables); ``F.constant(v)`` is a constant element.
- Expressions: ``to_field`` / ``from_field`` (BabyBear's ``to_mont`` / ``from_mont``),
  ``add``, ``sub``, ``neg``, ``mul``; Goldilocks also ``reduce128(lo, hi)``. All branch-free.
- Powers: ``F.define_pow(f, vars, x, e)`` and ``F.define_inverse(f, vars, x)`` (Fermat:
  ``x ** (p − 2)``) define a Func as a loop of squarings (why a Func and not an expression:
  :mod:`vortex.lib.prime_field`).

Generators: 31 for BabyBear and 7 for Goldilocks, the smallest primitive roots (sympy's
``primitive_root``, hence the roots of unity of ``sympy.discrete.transforms.ntt``); the same as
Plonky3's BabyBear and Plonky2's Goldilocks. Sources: see :mod:`vortex.lib.montgomery`
(Montgomery 1985) and :mod:`vortex.lib.goldilocks` (Plonky2's ``reduce128``); docs/fields.md.
"""
from __future__ import annotations

from .goldilocks import GoldilocksField
from .montgomery import MontgomeryField
from .prime_field import PrimeField

__all__ = ["BABYBEAR", "GOLDILOCKS", "GoldilocksField", "MontgomeryField", "PrimeField"]

BABYBEAR = MontgomeryField("BabyBear", p=15 * 2 ** 27 + 1, generator=31, two_adicity=27)
GOLDILOCKS = GoldilocksField("Goldilocks", p=2 ** 64 - 2 ** 32 + 1, generator=7, two_adicity=32)
