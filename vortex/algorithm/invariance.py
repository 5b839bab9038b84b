"""Which elements of a Tuple-valued Func do not vary along one of its pure dimensions.

In FlashAttention-2's recurrence written per output element, ``F[b, h, s, d] = (m, l, acc)``,
the running maximum m and sum l are the same for every output column d: their pure definition
and every update read only themselves, each other at the same point and values that do not
depend on d. Proving it lets a lowering hold them once per (b, h, s) and treat a value built
from them, e.g. the probability exp(x - m'), as an operand without a d coordinate (an (s, key)
operand of a matrix instruction: docs/tensor_cores.md). No lowering uses it yet:
examples/attention.py's ``key_block`` form puts P·V on tensor cores without it (each block's
product taken with the block's own maximum) and still computes m, l once per output column d.

The proof is a greatest fixed point (the usual loop-invariance argument, by induction over the
definitions in order): start from every element, drop an element whose value in some definition

- reads the dimension's Var anywhere but in a read of the Func itself at the point being
  defined (the index of another Func or Input, arithmetic, a ``where`` predicate or a bound of
  an RDom it reduces over, the update's own RDom),
- reads an element already dropped, or the Func at another point,

and repeat until nothing changes. An update whose left-hand side at that position is not the
pure Var (a scatter, a fixed index) makes every element vary. The answer is sound, not
complete: an element that cancels its dependence (``x + d - d``) is reported as varying.
"""
from __future__ import annotations

from .expr import Const, Load, Reduce, RVar, TupleValue, Var, element_name, same
from .walk import find, rebuild


def invariant_elements(func, dim: int) -> frozenset:
    """The indices of the elements of ``func`` (a Func; one element, index 0, for a plain
    Func) whose values are provably equal at any two points differing only in pure dimension
    ``dim`` (0-based), after every definition. Raises IndexError for a ``dim`` outside the
    Func's dimensions."""
    defs = func.definitions
    if not 0 <= dim < len(defs[0].lhs):
        raise IndexError(f"Func {func.name!r} has {len(defs[0].lhs)} dimensions, not {dim + 1}")
    names = [element_name(func.name, i) for i in range(len(func.dtypes))] \
        if len(func.dtypes) > 1 else [func.name]
    values = [_elements(dn.value, len(names)) for dn in defs]
    if any(not isinstance(dn.lhs[dim], Var) or any(_reads(a, dn.lhs[dim].name) for x, a in
                                                   enumerate(dn.lhs) if x != dim)
           for dn in defs):
        return frozenset()
    kept = set(range(len(names)))
    changed = True
    while changed:
        changed = False
        for dn, vals in zip(defs, values):
            var = dn.lhs[dim].name
            for i in sorted(kept):
                if _varies(vals[i], var, dn.lhs, names, kept):
                    kept.discard(i)
                    changed = True
    return frozenset(kept)


def _elements(value, n: int) -> list:
    return list(value.values) if isinstance(value, TupleValue) else [value] * n


def _varies(e, var: str, lhs: tuple, names: list, kept: set) -> bool:
    """Does ``e`` (an element's value in the definition with left-hand side ``lhs``) possibly
    depend on the Var ``var`` or on an element outside ``kept``?"""
    own = {n: i for i, n in enumerate(names)}
    for ld in find(e, lambda x: isinstance(x, Load) and x.name in own):
        if not all(map(same, ld.args, lhs)) or own[ld.name] not in kept:
            return True
    rest = _strip_self(e, own)
    if any(x.name == var for x in find(rest, lambda x: isinstance(x, Var))):
        return True
    rdoms = {r.rdom for r in find(rest, lambda x: isinstance(x, Reduce))}
    rdoms |= {v.rdom for x in (rest, *lhs) for v in find(x, lambda y: isinstance(y, RVar))}
    return any(_reads(x, var) for rd in rdoms
                          for x in (*rd.predicates, *(b for lo_ext in rd.bounds
                                                      for b in lo_ext)))


def _strip_self(e, own: dict):
    """``e`` with the reads of the Func itself (already checked to be at the defined point)
    replaced by a constant, so their indices do not count as reading the Var."""
    return rebuild(e, lambda x: Const.make(0, x.dtype) if isinstance(x, Load)
                   and x.name in own else None)


def _reads(e, var: str) -> bool:
    return any(x.name == var for x in find(e, lambda x: isinstance(x, Var)))
