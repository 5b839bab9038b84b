"""Symbolic bounds inference over a whole pipeline (Halide's bounds inference, checked).

Consumers are visited before producers. A Func with a declared shape computes exactly that box
and every read of it (and every Input read) must be *proven* inside it for all sizes; a Func
without a declared shape computes the union of what its consumers read (its *region*, symbolic
in the Dims). The result, a region per Func, is computed once per Pipeline, not per call.

Raises :class:`vx.BoundsError` naming the Func, the access, the index's inferred range, the
extent and a hint — also when a Func without a declared shape is read at an index that may take
any 32-bit value (its region could not be allocated).
"""
from __future__ import annotations

import sympy as sp

from .. import errors
from .bounds import Context, interval, to_sympy, type_range
from .expr import Dim, Load
from .func import Func, Input
from .graph import exprs_of
from .symbolic import prove_nonneg, show, smax, smin
from .walk import find


class _ValueRanges:
    """Range of values a load can return: the dtype's, narrowed for pure integer Funcs."""

    def __init__(self):
        self.memo = {}

    def __call__(self, ld: Load):
        src = ld.source
        if isinstance(src, Input) or ld.dtype.is_float or len(src.definitions) != 1:
            return type_range(ld.dtype)
        if src.name not in self.memo:
            self.memo[src.name] = type_range(ld.dtype)  # guards re-entry
            self.memo[src.name] = interval(src.definitions[0].value, Context({}, self))
        return self.memo[src.name]


def declared_box(obj) -> list:
    return [(sp.Integer(0), to_sympy(s) - 1) for s in obj.shape]


def _hint(ld: Load, pos: int, rng, src) -> str:
    if isinstance(src, Input):
        lo, hi = rng
        for k, s in enumerate(src.shape):
            if k != pos and isinstance(s, Dim) and lo == 0 and sp.simplify(
                    hi - (to_sympy(s) - 1)) == 0:
                return (f"the index ranges over {s.name}, which is dimension {k} of {src.name} "
                        f"(declared ({', '.join(map(str, src.shape))})): are the indices swapped "
                        "or the shape declared wrong?")
        return (f"wrap the input in a boundary condition (vx.repeat_edge({src.name}) or "
                f"vx.constant_exterior({src.name}, 0)), clamp the index with vx.clamp, or "
                "declare a smaller output shape")
    return (f"declare a larger shape for {src.name!r}, or leave its shape out so it is inferred "
            "from its consumers, or clamp the index")


def _check(f: Func, ld: Load, rngs: list, box: list, src):
    for pos, (rng, (blo, bhi)) in enumerate(zip(rngs, box)):
        if prove_nonneg(rng[0] - blo) and prove_nonneg(bhi - rng[1]):
            continue
        extent = show(bhi - blo + 1)
        raise errors.BoundsError(
            f"Func {f.name!r} accesses {ld} out of bounds: index {pos} ({ld.args[pos]}) ranges "
            f"over [{show(rng[0])}, {show(rng[1])}] but {src.name!r} has extent {extent} in "
            f"dimension {pos} (valid: {show(blo)} … {show(bhi)}). Hint: "
            + _hint(ld, pos, rng, src))


UNBOUNDED = 2 ** 31  # an inferred extent this large comes from a type's range, not from sizes


def _check_bounded(f: Func, ld: Load, rngs: list, src: Func):
    """A Func without a declared shape is computed over what is read of it: refuse a read whose
    index may be any 32-bit value (e.g. an int32 load as an index); no one could allocate it."""
    for pos, (lo, hi) in enumerate(rngs):
        if prove_nonneg(hi - lo + 1 - UNBOUNDED):
            raise errors.BoundsError(
                f"Func {f.name!r} reads {ld} with index {pos} ({ld.args[pos]}) ranging over "
                f"[{show(lo)}, {show(hi)}], and {src.name!r} has no declared shape, so it would be "
                f"computed over that whole range. Hint: clamp the index with vx.clamp, or declare "
                f"the domain: vx.Func({src.name!r}, shape=(...))")


def infer_regions(order: list[Func]) -> dict:
    """Map Func name → list of (lo, hi) sympy bounds per dimension (inclusive)."""
    values = _ValueRanges()
    pending: dict[str, list] = {}
    regions = {}
    for f in reversed(order):
        box = declared_box(f) if f.shape is not None else pending[f.name]
        regions[f.name] = box
        ctx = Context({v.name: box[i] for i, v in enumerate(f.pure_vars)}, values)
        for d in f.updates:  # the written point must lie in the declared domain
            target = Load(f.name, d.lhs, f.dtype, f)
            _check(f, target, [interval(a, ctx) for a in d.lhs], box, f)
        for e in exprs_of(f):
            for ld in find(e, lambda x: isinstance(x, Load)):
                _visit_load(f, ld, ctx, pending, regions)
    return regions


def _visit_load(f: Func, ld: Load, ctx: Context, pending: dict, regions: dict):
    rngs = [interval(a, ctx) for a in ld.args]
    src = ld.source
    if isinstance(src, Input):
        _check(f, ld, rngs, declared_box(src), src)
    elif src.shape is not None:
        _check(f, ld, rngs, regions.get(src.name) or declared_box(src), src)
    else:
        _check_bounded(f, ld, rngs, src)
        old = pending.get(src.name)
        pending[src.name] = rngs if old is None else [
            (smin(a[0], b[0]), smax(a[1], b[1])) for a, b in zip(old, rngs)]

