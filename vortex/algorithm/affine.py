"""Affine bounds of symbolic sizes: the fast half of the ``e >= 0`` prover (Halide's
``Bounds.cpp`` reasons the same way: bounds of sub-terms combined term by term, no search).

``lower(e)`` gives an affine function ``c + Σ aᵢ·sᵢ`` that is ``<= e`` for every value of the
symbols ``sᵢ`` (each at least its minimum, :func:`symbol_min`), or None when ``e`` holds a term
it cannot bound (a product of two symbols, a symbol of unknown sign inside a min/max); ``upper``
likewise from above. The rules, for integer-valued sympy expressions:

- ``floor(p / q)`` with ``p`` integer-valued: ``>= (p - q + 1) / q`` and ``<= p / q``;
- ``Mod(a, q)`` for ``q >= 1``: in ``[0, q - 1]``;
- ``Min(a, b)`` from below: per symbol the smaller coefficient, the constant lowered so the
  bound holds at every point (the symbols' minimums are where the gap is smallest); ``Max``
  from above likewise; ``Min`` from above (``Max`` from below) keeps one argument.

Each rule costs time linear in the expression, so a proof never grows with the number of
min/max/floor terms (the search of :mod:`vortex.algorithm.symbolic` does, exponentially).
``nonneg(e)`` is True only when the lower bound proves ``e > -1`` (``e`` integer-valued) for
every value; ``refuted(e)`` is True when ``e`` is negative at a sample point (a counterexample).
"""
from __future__ import annotations

import math
from fractions import Fraction

import sympy as sp

Affine = dict   # symbol (or 1 for the constant) -> Fraction


def symbol_min(s) -> int | None:
    """The least value of an integer symbol: a Dim's ``minimum`` (1 by default), a ranged
    Param's lower end, 1 for a positive symbol, 0 for a nonnegative one; None if unknown."""
    lo = getattr(s, "minimum", None)
    if lo is not None:
        return int(lo)
    rng = getattr(s, "range", None)
    if rng is not None:
        return int(rng[0])
    if s.is_positive:
        return 1
    if s.is_nonnegative:
        return 0
    return None


def symbol_max(s) -> int | None:
    rng = getattr(s, "range", None)
    return int(rng[1]) if rng is not None else None


def _num(e) -> Fraction:
    return Fraction(int(e.p), int(e.q))


def _add(a: Affine, b: Affine, k: Fraction = Fraction(1)) -> Affine:
    out = dict(a)
    for s, c in b.items():
        out[s] = out.get(s, 0) + k * c
    return out


def _scale(a: Affine, k: Fraction) -> Affine:
    return {s: k * c for s, c in a.items()}


def _value_at_min(a: Affine) -> Fraction | None:
    total = a.get(1, Fraction(0))
    for s, c in a.items():
        if s == 1:
            continue
        lo = symbol_min(s)
        if lo is None:
            return None
        total += c * lo
    return total


def _combine(forms: list, pick) -> Affine | None:
    """A bound of min (``pick=min``, from below) or max (``pick=max``, from above) of affine
    ``forms``: per symbol the picked coefficient, the constant moved so that every form stays
    on its side for all symbol values at or above their minimums."""
    syms = {s for f in forms for s in f if s != 1}
    coeff = {s: pick(f.get(s, 0) for f in forms) for s in syms}
    rests = [_value_at_min({**{s: f.get(s, 0) - coeff[s] for s in syms}, 1: f.get(1, 0)})
             for f in forms]
    if any(r is None for r in rests):
        return None
    return {**coeff, 1: pick(rests)}


def integer_denominator(r) -> int | None:
    """q such that ``q * r`` is integer-valued (``r`` a sum of rational multiples of
    integer-valued terms), else None."""
    q = 1
    for term in sp.Add.make_args(r):
        c, rest = term.as_coeff_Mul()
        if rest != 1 and not _integer_valued(rest):
            return None
        q = math.lcm(q, int(sp.Rational(c).q))
    return q


def _integer_valued(e) -> bool:
    if e.is_Symbol:
        return bool(e.is_integer)
    if isinstance(e, (sp.floor, sp.ceiling)):
        return True
    if isinstance(e, (sp.Min, sp.Max, sp.Mod, sp.Mul, sp.Add)):
        return all(a.is_Integer or _integer_valued(a) for a in e.args)
    if isinstance(e, sp.Pow):
        return bool(e.exp.is_Integer and e.exp >= 0 and _integer_valued(e.base))
    return bool(e.is_Integer)


def lower(e) -> Affine | None:
    """An affine function of the symbols that is ``<= e`` everywhere, or None."""
    return _bound(e, True)


def upper(e) -> Affine | None:
    """An affine function of the symbols that is ``>= e`` everywhere, or None."""
    return _bound(e, False)


def _bound(e, low: bool) -> Affine | None:
    if e.is_Rational:
        return {1: _num(e)}
    if e.is_Symbol:
        return {e: Fraction(1)}
    if isinstance(e, sp.Add):
        out: Affine = {}
        for a in e.args:
            b = _bound(a, low)
            if b is None:
                return None
            out = _add(out, b)
        return out
    if isinstance(e, sp.Mul):
        c, rest = e.as_coeff_Mul()
        if c == 1 or not c.is_Rational:
            return None
        b = _bound(rest, low if c > 0 else not low)
        return None if b is None else _scale(b, _num(c))
    rule = _RULES.get(type(e))
    return rule(e, low) if rule is not None else None


def _floor(e, low: bool):
    r = e.args[0]
    b = _bound(r, low)
    if b is None or not low:
        return b
    q = integer_denominator(r)
    return _add(b, {1: Fraction(1 - q, q) if q else Fraction(-1)})


def _ceiling(e, low: bool):
    r = e.args[0]
    b = _bound(r, low)
    if b is None or low:
        return b
    q = integer_denominator(r)
    return _add(b, {1: Fraction(q - 1, q) if q else Fraction(1)})


def _mod(e, low: bool):
    q = e.args[1]
    if not nonneg(q - 1):
        return None
    if low:
        return {1: Fraction(0)}
    hi = upper(q)
    return None if hi is None else _add(hi, {1: Fraction(-1)})


def _minmax(e, low: bool):
    forms = [_bound(a, low) for a in e.args]
    if any(f is None for f in forms):
        return None
    is_min = isinstance(e, sp.Min)
    if is_min == low:      # min from below / max from above: a bound of every argument
        return _combine(forms, min if low else max)
    # min from above / max from below: any one argument's bound will do; keep the tightest
    # at a large size (the one that grows least for min, most for max)
    def key(f):
        v = _value_at_min(f)
        return (sum(c for s, c in f.items() if s != 1), v if v is not None else 0)
    return (min if is_min else max)(forms, key=key)


_RULES = {sp.floor: _floor, sp.ceiling: _ceiling, sp.Mod: _mod, sp.Min: _minmax,
          sp.Max: _minmax}


def nonneg(e) -> bool:
    """True when the integer-valued ``e`` is provably >= 0 for every value of its symbols."""
    lo = lower(e)
    if lo is None or any(c < 0 for s, c in lo.items() if s != 1):
        return False
    v = _value_at_min(lo)
    return v is not None and v > -1


# ---- counterexamples ------------------------------------------------------------------------
_OFFSETS = (1, 2, 3, 7, 61, 1000)


def _shifts(n: int):
    """Offsets from the symbols' minimums: all at the minimum, all together, and one symbol
    apart from the others."""
    yield (0,) * n
    for off in _OFFSETS:
        yield (off,) * n
        for i in range(n if n > 1 else 0):
            yield tuple(off if j == i else 0 for j in range(n))
            yield tuple(0 if j == i else off for j in range(n))


def refuted(e) -> bool:
    """True when ``e`` is negative at some sample point of its symbols (so ``e >= 0`` does not
    hold for every value); False says nothing."""
    syms = sorted(e.free_symbols, key=lambda s: s.name)
    lows = [symbol_min(s) for s in syms]
    if any(lo is None for lo in lows):
        return False
    highs = [symbol_max(s) for s in syms]
    for shift in _shifts(len(syms)):
        point = {s: lo + d if hi is None else min(lo + d, hi)
                 for s, lo, hi, d in zip(syms, lows, highs, shift)}
        try:
            if _exact(e, point) < 0:
                return True
        except (ValueError, ZeroDivisionError, KeyError):
            return False
    return False


def _exact(e, point: dict):
    if e.is_Integer:
        return int(e)
    if e.is_Rational:
        return Fraction(int(e.p), int(e.q))
    if e.is_Symbol:
        return point[e]
    rule = _EXACT.get(type(e))
    if rule is None:
        raise ValueError(e)
    return rule([_exact(a, point) for a in e.args])


_EXACT = {sp.Add: sum, sp.Mul: math.prod, sp.Pow: lambda a: a[0] ** a[1],
          sp.floor: lambda a: math.floor(a[0]), sp.ceiling: lambda a: math.ceil(a[0]),
          sp.Mod: lambda a: a[0] % a[1], sp.Min: min, sp.Max: max}
