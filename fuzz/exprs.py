"""Random typed expressions over a Func's pure Vars, for :mod:`fuzz.generate`.

Everything is generated as **Python source** (the text a user would write with ``vx``), so a
failing case can be pasted as it is. An :class:`E` carries, next to its source, what the generator
must know to keep the program meaningful:

- ``dtype``: float32, int32, uint8 or bool; operands are cast explicitly where numpy's promotion
  would widen (float32 + int32 is float64), so every Func has the type chosen for it;
- ``exact``: the value is the same bit pattern in the reference and on every target whatever the
  rounding freedom (only + - * of small dyadic inputs, min/max/select, integer ops). Only such
  floats are cast to integers (an inexact value near an integer could legitimately truncate
  differently on a target: case 1865 of seed 20261202); of an inexact float only its sign
  (``> 0``) becomes an integer, which rounding cannot change for the forms generated here;
- ``finite``: cannot be inf/NaN (an empty ``maximum`` is -inf; NaN inputs exist in some cases);
  a plain float→int cast of a non-finite value is undefined, so it is never generated.

Indices come from :class:`Indexer` (``index.py``): in-domain reads of Inputs and Funcs with a
declared shape, any bounded index into boundary conditions and Funcs built only from them.
"""
from __future__ import annotations

from dataclasses import dataclass

FLOAT, INT, U8, BOOL = "float32", "int32", "uint8", "bool"
TYPES = (FLOAT, INT, U8)


@dataclass(frozen=True)
class E:
    """A generated expression: source text and what is known of its value."""

    src: str
    dtype: str
    exact: bool = True
    finite: bool = True
    const: bool = False


def const(rng, dtype: str, typed: bool = False) -> E:
    """A constant of ``dtype``: a weak Python number (it takes the other operand's type), or a
    typed ``vx.float32(...)`` where it stands alone."""
    if dtype == FLOAT:
        v = rng.choice([0.5, 2.0, -1.25, 3.0, 0.125, -0.75, 1.0, 0.0])
    elif dtype == INT:
        v = rng.choice([1, 2, 3, -3, 7, 0, -1, 100, 65536])
    else:
        v = rng.choice([1, 2, 3, 7, 16, 200, 255, 0])
    return E(f"vx.{dtype}({v!r})" if typed else repr(v), dtype, const=True)


def typed(e: E) -> E:
    """``e`` with a type of its own when it is a bare Python number."""
    if e.const and "vx." not in e.src:
        return E(f"vx.{e.dtype}({e.src})", e.dtype, e.exact, e.finite)
    return e


def cast(rng, e: E, to: str) -> E:
    """``e`` converted to ``to`` the way a user would, keeping the program defined: float→int
    of exact values only (finite ones clamped first, else a saturating cast); of an inexact
    float, its sign."""
    if e.dtype == to:
        return e
    e = typed(e)
    if e.dtype == BOOL:
        return E(f"vx.select({e.src}, vx.{to}(1), vx.{to}(0))", to)
    if e.dtype == FLOAT and to != FLOAT:
        if not e.exact:   # its integer part may round either way on a target; its sign cannot
            return E(f"vx.select({e.src} > 0.0, vx.{to}(1), vx.{to}(0))", to)
        if e.finite and rng.random() < 0.7:
            lo, hi = (-1000.0, 1000.0) if to == INT else (0.0, 255.0)
            return E(f"vx.cast(vx.{to}, vx.clamp({e.src}, {lo}, {hi}))", to)
        return E(f"vx.saturating_cast(vx.{to}, {e.src})", to, e.exact)
    if to == U8 and rng.random() < 0.3:
        return E(f"vx.saturating_cast(vx.uint8, {e.src})", to)
    return E(f"vx.cast(vx.{to}, {e.src})", to, e.exact, e.finite)


def binary(rng, a: E, b: E) -> E:
    """A random arithmetic/bitwise operation of two operands of one type."""
    t = a.dtype
    ex, fin = a.exact and b.exact, a.finite and b.finite
    if a.const and b.const:
        a = typed(a)
    if t == FLOAT:
        op = rng.choice(["+", "-", "*", "*", "min", "max", "div", "halve"])
        if op == "div":   # a denominator >= 1: no division by zero, but a rounded quotient
            return E(f"({a.src} / ({b.src} * {b.src} + 1.0))", t, False, fin)
        if op == "halve":
            return E(f"(({a.src} + {b.src}) / 4.0)", t, ex, fin)
    else:
        op = rng.choice(["+", "-", "*", "//", "%", "&", "|", "^", "<<", ">>", "min", "max"])
    if op in ("min", "max"):
        return E(f"vx.{op}({a.src}, {b.src})", t, ex, fin)
    if op in ("<<", ">>"):
        b = E(f"({b.src} & 7)", t, True, True) if rng.random() < 0.7 else b
    return E(f"({a.src} {op} {b.src})", t, ex, fin)


def unary(rng, a: E) -> E:
    """A random one-operand function of ``a`` (math functions on floats are inexact)."""
    t = a.dtype
    a = typed(a)
    if t == FLOAT:
        op = rng.choice(["neg", "abs", "sqrt", "exp", "sin", "floor", "clamp", "lerp"])
        forms = {"neg": (f"(-{a.src})", a.exact), "abs": (f"vx.abs({a.src})", a.exact),
                 "sqrt": (f"vx.sqrt(vx.abs({a.src}))", False),
                 "exp": (f"vx.exp(vx.clamp({a.src}, -8.0, 8.0))", False),
                 "sin": (f"vx.sin({a.src})", False), "floor": (f"vx.floor({a.src})", a.exact),
                 "clamp": (f"vx.clamp({a.src}, -1.5, 2.5)", a.exact),
                 "lerp": (f"vx.lerp({a.src}, 1.0, 0.25)", False)}
        src, ex = forms[op]
        return E(src, t, ex, a.finite)
    op = rng.choice(["neg", "abs", "not", "clamp", "absd"])
    if op == "absd":
        return E(f"vx.cast(vx.{t}, vx.absd({a.src}, {const(rng, t, True).src}))", t)
    forms = {"neg": f"(-{a.src})", "abs": f"vx.abs({a.src})", "not": f"(~{a.src})",
             "clamp": f"vx.clamp({a.src}, 3, 100)"}
    return E(forms[op], t)


def compare(rng, a: E, b: E) -> E:
    """A bool comparison of two operands of one type."""
    if a.const and b.const:
        a = typed(a)
    op = rng.choice(["<", "<=", ">", "==", "!=", ">="])
    return E(f"({a.src} {op} {b.src})", BOOL)


def select(rng, c: E, a: E, b: E) -> E:
    if a.const and b.const:
        a = typed(a)
    return E(f"vx.select({c.src}, {a.src}, {b.src})", a.dtype, a.exact and b.exact,
             a.finite and b.finite)


def logic(rng, a: E, b: E) -> E:
    """Two bools combined with & | ^ (or one negated with ~)."""
    op = rng.choice(["&", "|", "^", "~"])
    return E(f"(~{a.src})" if op == "~" else f"({a.src} {op} {b.src})", BOOL)
