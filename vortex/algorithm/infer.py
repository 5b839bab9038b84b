"""Symbolic bounds inference over a whole pipeline (Halide's bounds inference, checked).

Consumers are visited before producers. A Func with a declared shape computes exactly that box
and every read of it (and every Input read) must be *proven* inside it for all sizes; a Func
without a declared shape computes the union of what its consumers read (its *region*, symbolic
in the Dims). The result, a region per Func, is computed once per Pipeline, not per call.

Raises :class:`vx.BoundsError` naming the Func, the access, the index's inferred range, the
extent and a hint — also when a Func without a declared shape is read at an index that may take
any 32-bit value (its region could not be allocated). When the reading Func's own region was
inferred, the message says where that range comes from: which consumer's accesses set its
lowest and highest point (provenance that Halide's "accessed at …" bounds errors leave out).
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from .. import errors
from .bounds import Context, interval, to_sympy, type_range
from .expr import Dim, Load, Var
from .func import Func, Input
from .graph import exprs_of
from .symbolic import prove_nonneg, show, smax, smin
from .walk import find


class _ValueRanges:
    """Range of values a load can return: the dtype's, narrowed for pure integer Funcs and for
    Inputs with a declared ``range=(lo, hi)`` (checked at every call, vortex/algorithm/binding)."""

    def __init__(self):
        self.memo = {}

    def __call__(self, ld: Load):
        src = ld.source
        if isinstance(src, Input) and src.range is not None:
            return tuple(to_sympy(b) for b in src.range)
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


def _check(f: Func, ld: Load, rngs: list, box: list, src, explain=None):
    """Every index of ``ld`` (read by ``f``) within ``box`` of ``src``; ``explain(f, index)``:
    where the index's range comes from (see :func:`_provenance`)."""
    for pos, (rng, (blo, bhi)) in enumerate(zip(rngs, box)):
        if prove_nonneg(rng[0] - blo) and prove_nonneg(bhi - rng[1]):
            continue
        extent = show(bhi - blo + 1)
        raise errors.BoundsError(
            f"Func {f.name!r} accesses {ld} out of bounds: index {pos} ({ld.args[pos]}) ranges "
            f"over [{show(rng[0])}, {show(rng[1])}] but {src.name!r} has extent {extent} in "
            f"dimension {pos} (valid: {show(blo)} … {show(bhi)})."
            f"{explain(f, ld.args[pos]) if explain else ''} Hint: "
            + _hint(ld, pos, rng, src))


UNBOUNDED = 2 ** 31  # an inferred extent this large comes from a type's range, not from sizes


def _check_bounded(f: Func, ld: Load, rngs: list, src: Func, explain):
    """A Func without a declared shape is computed over what is read of it: refuse a read whose
    index may be any 32-bit value (e.g. an int32 load as an index); no one could allocate it."""
    for pos, (lo, hi) in enumerate(rngs):
        if prove_nonneg(hi - lo + 1 - UNBOUNDED):
            raise errors.BoundsError(
                f"Func {f.name!r} reads {ld} with index {pos} ({ld.args[pos]}) ranging over "
                f"[{show(lo)}, {show(hi)}], and {src.name!r} has no declared shape, so it would be "
                f"computed over that whole range.{explain(f, ld.args[pos])} Hint: clamp the "
                f"index with vx.clamp, or declare the domain: vx.Func({src.name!r}, shape=(...))")


def infer_regions(order: list[Func]) -> dict:
    """Map Func name → list of (lo, hi) sympy bounds per dimension (inclusive)."""
    values = _ValueRanges()
    pending: dict[str, list] = {}
    origins: dict[str, list] = {}      # shapeless Func name → [(_Read, its ranges)]
    regions = {}

    def explain(f, index):
        return _provenance(f, index, regions, origins)
    for f in reversed(order):
        box = declared_box(f) if f.shape is not None else pending[f.name]
        regions[f.name] = box
        ctx = Context({v.name: box[i] for i, v in enumerate(f.pure_vars)}, values)
        for d in f.updates:  # the written point must lie in the declared domain
            target = Load(f.name, d.lhs, f.dtypes[0], f)
            _check(f, target, [interval(a, ctx) for a in d.lhs], box, f, explain)
        for e in exprs_of(f):
            for ld in find(e, lambda x: isinstance(x, Load)):
                _visit_load(f, ld, ctx, (pending, origins, regions), explain)
    return regions


def _visit_load(f: Func, ld: Load, ctx: Context, state: tuple, explain):
    pending, origins, regions = state
    rngs = [interval(a, ctx) for a in ld.args]
    src = ld.source
    if isinstance(src, Input):
        _check(f, ld, rngs, declared_box(src), src, explain)
    elif src.shape is not None:
        _check(f, ld, rngs, regions.get(src.name) or declared_box(src), src, explain)
    else:
        _check_bounded(f, ld, rngs, src, explain)
        old = pending.get(src.name)
        pending[src.name] = rngs if old is None else [
            (smin(a[0], b[0]), smax(a[1], b[1])) for a, b in zip(old, rngs)]
        origins.setdefault(src.name, []).append((_Read(f, ld, ctx.env), rngs))


# ---- provenance: which consumer's reads made a shapeless Func's region --------------------------
@dataclass(frozen=True, eq=False)
class _Read:
    """``consumer`` reads ``load``; ``env``: the consumer's var ranges there."""

    consumer: Func
    load: Load
    env: dict

    def over(self, pos: int) -> str:
        """' for its y ∈ [0, H - 1]': the ranges of the consumer's pure vars in index ``pos``."""
        names = sorted({v.name for v in find(self.load.args[pos],
                                             lambda x: isinstance(x, Var))} & set(self.env))
        spans = ", ".join(f"{n} ∈ [{show(self.env[n][0])}, {show(self.env[n][1])}]"
                          for n in names)
        return f" for its {spans}" if spans else ""


def _at_end(reads: list, dim: int, end, side: int) -> list:
    """The reads whose range reaches ``end`` of dimension ``dim`` (``side`` 0: lowest, 1:
    highest); all of them when none provably does (an end sympy could not order)."""
    hits = [r for r, rngs in reads if sp.simplify(rngs[dim][side] - end) == 0]
    return hits or [r for r, _ in reads]


def _provenance(f: Func, index, regions: dict, origins: dict) -> str:
    """' 'blur' reads blur_x over y ∈ [-1, H], because it reads …' for each var of ``f`` in
    ``index`` whose range ``f`` inherited from its consumers ('' if ``f``'s shape is declared).
    Only built for an error message: inference itself records the reads and nothing more."""
    if f.name not in origins:
        return ""
    names = {v.name for v in find(index, lambda x: isinstance(x, Var))}
    sentences = []
    for dim, var in enumerate(f.pure_vars):
        if var.name not in names:
            continue
        lo, hi = regions[f.name][dim]
        span = f"{var.name} ∈ [{show(lo)}, {show(hi)}]"
        ends = _at_end(origins[f.name], dim, lo, 0) + _at_end(origins[f.name], dim, hi, 1)
        by_consumer: dict = {}
        for r in dict.fromkeys(ends):
            by_consumer.setdefault((r.consumer.name, r.over(dim)), []).append(str(r.load))
        reads = [(c, " and ".join(dict.fromkeys(loads)) + over)
                 for (c, over), loads in by_consumer.items()]
        if len(reads) == 1:
            sentences.append(f"{reads[0][0]!r} reads {f.name} over {span}, because it reads "
                             f"{reads[0][1]}.")
        else:
            sentences.append(f"{f.name} is computed over {span}, all that its consumers read: "
                             + "; ".join(f"{c!r} reads {what}" for c, what in reads) + ".")
    return "".join(" " + s for s in sentences)
