"""Symbolic integers on sympy: Dims as positive integer symbols, min/max that simplify when the
order is provable, and a prover for ``e >= 0`` over every size.

The prover is sound, not complete: it answers True only when ``e >= 0`` holds for all integer
values of the Dims at or above their minimums (1, or ``vx.Dim(..., min=)``). It runs in three
steps, cheapest first, so that its cost does not grow with the depth of a pipeline:

1. affine bounds (:mod:`vortex.algorithm.affine`): a lower bound of ``e`` linear in the sizes,
   term by term; a proof when it is ``> -1`` everywhere (``e`` is integer-valued);
2. counterexamples: ``e`` evaluated exactly at sample sizes; a negative value settles False;
3. a search, for small expressions only (at most :data:`SEARCH_ATOMS` floor/Mod/min/max terms):
   it relaxes ``floor(p/q)`` and ``Mod`` terms to rational bounds and splits ``Min``/``Max``
   terms by the sign of their coefficient. Larger expressions the first step did not prove are
   not proven (the search is exponential in the number of terms).
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from . import affine


@lru_cache(maxsize=None)
def dim_symbol(name: str, minimum: int = 1) -> sp.Symbol:
    """The sympy symbol of a Dim: an integer >= 1, or a :class:`DimSymbol` (an integer >=
    ``minimum``) for ``vx.Dim(name, min=minimum)`` with ``minimum > 1``."""
    if minimum > 1:
        return DimSymbol(name, minimum)
    return sp.Symbol(name, integer=True, positive=True)


class DimSymbol(sp.Symbol):
    """The sympy symbol of a Dim with a declared minimum above 1 (``vx.Dim("W", min=32)``): it
    prints as the Dim's name and carries ``minimum``, which the prover uses (Halide states such
    facts with ``Func::bound``/``set_estimate``; here they are checked at every call)."""

    __slots__ = ("minimum",)

    def __new__(cls, name: str, minimum: int):
        obj = sp.Symbol.__xnew__(cls, name, integer=True, positive=True)
        obj.minimum = int(minimum)
        return obj

    def __getnewargs_ex__(self):
        return (self.name, self.minimum), {}

    def _hashable_content(self):
        return super()._hashable_content() + (self.minimum,)


class ParamSymbol(sp.Symbol):
    """The sympy symbol of an integer Param with a declared range (an RDom extent read at run
    time): it prints as the Param's name, is never equal to a Dim's symbol, and carries the
    Param's dtype and range; the range's lower end gives the prover its sign."""

    __slots__ = ("dtype_name", "range")

    def __new__(cls, name: str, dtype_name: str, lo: int, hi: int):
        sign = {"positive": True} if lo >= 1 else {"nonnegative": True} if lo >= 0 else {}
        obj = sp.Symbol.__xnew__(cls, name, integer=True, **sign)
        obj.dtype_name, obj.range = dtype_name, (int(lo), int(hi))
        return obj

    def __getnewargs_ex__(self):
        return (self.name, self.dtype_name, *self.range), {}

    def _hashable_content(self):
        return super()._hashable_content() + (self.dtype_name, self.range)


@lru_cache(maxsize=None)
def param_symbol(name: str, dtype_name: str, lo: int, hi: int) -> ParamSymbol:
    """The sympy symbol of a Param ``name`` of dtype ``dtype_name`` with range ``[lo, hi]``."""
    return ParamSymbol(name, dtype_name, lo, hi)


def _relax_once(e: sp.Expr):
    """Replace one floor/Mod atom by its bound in the direction that lowers ``e``; None if none
    can be. Atoms inside other atoms (a floor of a floor) cannot be, until the outer one is
    relaxed: every atom is tried, outermost first."""
    atoms = sorted(e.atoms(sp.floor, sp.Mod), key=sp.default_sort_key)
    atoms.sort(key=lambda a: any(a != b and b.has(a) for b in atoms))   # outermost first
    for atom in atoms:
        sign = _monotone(e, atom)
        if sign is None:
            continue
        if isinstance(atom, sp.floor):
            p, q = sp.fraction(sp.together(atom.args[0]))
            exact = q.is_Integer and q > 0 and p.is_integer
            low = (p - q + 1) / q if exact else atom.args[0] - 1
            high = atom.args[0]
        else:
            q = atom.args[1]
            if not _is_positive(q):
                continue
            low, high = sp.Integer(0), q - 1
        return e.subs(atom, low if sign > 0 else high)
    return None


def _monotone(e: sp.Expr, atom) -> int | None:
    """+1 if ``e`` is non-decreasing in ``atom`` (linearly), -1 if non-increasing, else None."""
    d = sp.Dummy()
    coeff = sp.diff(e.subs(atom, d), d)
    if coeff.has(d) or coeff.has(sp.Derivative) or coeff.has(sp.Subs):
        return None
    if _is_nonneg(coeff):
        return 1
    if _is_nonneg(-coeff):
        return -1
    return None


def _is_nonneg(e: sp.Expr) -> bool:
    e = sp.sympify(e)
    if e.is_number:
        return bool(e >= 0)
    return bool(e.is_nonnegative or sp.factor(e).is_nonnegative)


def _is_positive(e: sp.Expr) -> bool:
    e = sp.sympify(e)
    if e.is_number:
        return bool(e > 0)
    r = e.is_positive
    if r is None:
        r = sp.factor(e).is_positive
    return bool(r)


@lru_cache(maxsize=65536)
def _gt_minus_one(e: sp.Expr) -> bool:
    """Prove e > -1 for all Dim values (e integer-valued, possibly relaxed to rationals)."""
    if _is_positive(e + 1):
        return True
    # Split on a Min/Max that e is monotone in (an outer one when an inner one is not).
    for m in sorted(e.atoms(sp.Min, sp.Max), key=sp.default_sort_key):
        sign = _monotone(e, m)
        if sign is None:
            continue
        branches = [_gt_minus_one(sp.expand(e.subs(m, a))) for a in m.args]
        # e is increasing in m: e(Min) = min of branches (need all), e(Max) = max (need any).
        need_all = isinstance(m, sp.Min) == (sign > 0)
        return all(branches) if need_all else any(branches)
    relaxed = _relax_once(e)
    if relaxed is not None:
        return _gt_minus_one(sp.expand(relaxed))
    return False


SEARCH_ATOMS = 6   # the search (step 3) runs on expressions with at most this many terms


@lru_cache(maxsize=65536)
def _prove(e: sp.Expr) -> bool:
    if e.is_number:
        return bool(e >= 0)
    if affine.nonneg(e):
        return True
    if affine.refuted(e):
        return False
    if len(e.atoms(sp.floor, sp.Mod, sp.Min, sp.Max, sp.ceiling)) > SEARCH_ATOMS:
        return False
    if any(isinstance(s, DimSymbol) for s in e.free_symbols):
        e = e.xreplace({s: s.minimum - 1 + sp.Dummy(s.name, integer=True, positive=True)
                        for s in e.free_symbols if isinstance(s, DimSymbol)})
    return _gt_minus_one(sp.expand(e))


def prove_nonneg(e) -> bool:
    """True when the integer expression ``e`` is >= 0 for every value of its Dims (each at
    least its minimum) and other symbols (see the module docstring)."""
    return _prove(sp.expand(sp.sympify(e)))


def floordiv(p, q):
    """``floor(p / q)`` as a sympy expression. For a positive integer ``q`` and an
    integer-valued ``p`` it is built in one canonical form, without sympy's evaluation: a floor
    inside ``p`` is merged (``floor((floor(a / m) + b) / q) = floor((a + b*m) / (m*q))``), and
    whole multiples of ``q`` leave the floor (``floor((4W + 5) / 2) = 2W + 2 + floor(1/2)``, the
    last term 0). So a pyramid's region at level ``j`` is one floor, not ``j`` nested ones."""
    p, q = sp.sympify(p), sp.sympify(q)
    if not (q.is_Integer and q > 0) or affine.integer_denominator(p) != 1:
        return sp.floor(p / q)
    inner = [t for t in sp.Add.make_args(p) if isinstance(t, sp.floor)]
    if len(inner) == 1:
        a = inner[0].args[0]
        m = affine.integer_denominator(a)
        if m is not None:
            p, q = sp.expand(a * m + (p - inner[0]) * m), q * m
    whole, rest = [], []
    for term in sp.Add.make_args(p):
        c, t = term.as_coeff_Mul()
        k, r = divmod(int(c), int(q))
        whole.append(k * t)
        if r:
            rest.append(r * t)
    rem = sp.Add(*rest)
    if rem.is_Integer:
        return sp.Add(*whole) + int(rem) // int(q)
    return sp.Add(*whole) + sp.floor(rem / q, evaluate=False)


def smin(a, b):
    """min(a, b), simplified to one side when the order is provable."""
    if prove_nonneg(b - a):
        return a
    if prove_nonneg(a - b):
        return b
    return sp.Min(a, b)


def smax(a, b):
    """max(a, b), simplified to one side when the order is provable."""
    if prove_nonneg(a - b):
        return a
    if prove_nonneg(b - a):
        return b
    return sp.Max(a, b)


def show(e) -> str:
    """Sympy expression printed in Python syntax (``floor(W/2 + 1/2)`` as ``(W + 1) // 2``)."""
    def floor_text(a):
        r = a.args[0]
        q = affine.integer_denominator(r)
        num, den = (sp.expand(r * q), q) if q is not None else sp.fraction(r)
        text = str(num) if num.is_Atom else f"({num})"
        return sp.Symbol(f"{text} // {den}")
    return str(sp.sympify(e).replace(lambda a: isinstance(a, sp.floor), floor_text))
