"""Compulsory global-memory traffic of each launch: the bytes a kernel must read and write.

For each kernel of a lowered pipeline (one launch each, in launch order) and each global buffer
it touches (an Input, an output, or a ``compute_root`` intermediate, which one kernel writes and
later ones read), the *footprint*: the box of elements the kernel reads, and the box it writes,
by bounds inference (Halide's) over the stage the kernel computes:

- the pure definition of a root Func computes the Func's region (``FuncPlan.box``: its declared
  shape, or what its consumers read) and writes it; an update definition writes the range of its
  left-hand side over its pure Vars and RDom;
- the Funcs computed inside the kernel (inlined, or ``compute_at`` this Func) are regions the
  kernel reads from its own definition, Halide-style, consumers first; their reads of global
  buffers, and the kernel's own, are the kernel's reads;
- each footprint is the hull of the kernel's accesses of that buffer (one box per buffer),
  clipped to the buffer (a data-dependent index is bounded by the buffer itself).

The figure counts each element of a footprint once, times its size: the traffic of an ideal
cache that holds everything a launch reuses, the roofline model's *compulsory* traffic
(Williams, Waterman, Patterson, "Roofline: an insightful visual performance model for multicore
architectures", CACM 2009). Shared-memory tiles, registers and ``compute_at`` buffers are not
global traffic; staged copies of a global buffer are the reads of that buffer. It is a lower
bound on what the hardware moves (caches evict, tiles are re-read by other blocks, sectors are
32 bytes) and an upper bound where the hull of a strided or scattered access is larger than the
elements it touches (``f[2 * x]`` counts the elements in between).

Figures are sympy expressions in the pipeline's Dims (bytes); :meth:`Traffic.at` evaluates them
at sizes (``{"R": 4096, "C": 1024}``). Fusion reads as a number: an unfused pipeline writes its
intermediates in one launch and reads them in the next, so their bytes count twice.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import sympy as sp

from . import errors
from .algorithm.bounds import Context, interval
from .algorithm.expr import Load, RVar, Var
from .algorithm.symbolic import smax, smin
from .algorithm.walk import children
from .codegen.names import spelling
from .lower.plan import Level
from .schedule.stages import parse

Box = tuple   # ((lo, hi) inclusive sympy bounds, ...) per dimension


@dataclass(frozen=True)
class Footprint:
    """The elements ``box`` of global buffer ``buffer`` a launch reads or writes, of ``itemsize``
    bytes each; ``bytes`` = elements × itemsize (sympy, or an int after :meth:`Traffic.at`)."""

    buffer: str
    box: Box
    itemsize: int

    @property
    def elements(self):
        return math.prod((smax(hi - lo + 1, 0) for lo, hi in self.box), start=sp.Integer(1))

    @property
    def bytes(self):
        return _value(sp.expand(self.elements * self.itemsize))


@dataclass(frozen=True)
class LaunchTraffic:
    """One launch (kernel ``kernel``): its ``reads`` and ``writes`` (:class:`Footprint` per
    buffer, in the order of ``Lowered.buffers``: Inputs first); ``read_bytes``, ``write_bytes``, ``bytes`` their sums."""

    kernel: str
    reads: tuple
    writes: tuple

    @property
    def read_bytes(self):
        return _total(f.bytes for f in self.reads)

    @property
    def write_bytes(self):
        return _total(f.bytes for f in self.writes)

    @property
    def bytes(self):
        return _total((self.read_bytes, self.write_bytes))

    def line(self) -> str:
        def each(fps):
            return ", ".join(f"{spelling(f.buffer)} {f.bytes}" for f in fps) or "none"
        return (f"  global memory (compulsory): read {self.read_bytes} B ({each(self.reads)}), "
                f"written {self.write_bytes} B ({each(self.writes)})")


@dataclass(frozen=True)
class Traffic:
    """Compulsory global-memory traffic of a pipeline: ``launches`` (:class:`LaunchTraffic`, in
    launch order); ``read_bytes``, ``write_bytes`` and ``bytes`` sum them. Bytes are sympy
    expressions in the Dims; :meth:`at` gives the same figures as ints at given sizes."""

    launches: tuple
    dims: tuple = ()     # the Dim symbols the figures may name
    symbolic: "Traffic | None" = None   # after at(): the figures before evaluation

    @property
    def read_bytes(self):
        return _total(t.read_bytes for t in self.launches)

    @property
    def write_bytes(self):
        return _total(t.write_bytes for t in self.launches)

    @property
    def bytes(self):
        return _total((self.read_bytes, self.write_bytes))

    def at(self, shape: dict) -> "Traffic":
        """These figures at ``shape`` (Dim name → size, every Dim the figures name): each
        footprint's box evaluated, so every ``bytes`` is an int. Raises vx.InputError for a
        missing or unknown Dim name, or a size below 1."""
        known = {s.name: s for s in self.dims}
        unknown = sorted(set(shape) - set(known))
        missing = sorted(set(known) - set(shape))
        if unknown or missing:
            what = (f"names no Dim {unknown}" if unknown else f"lacks the Dims {missing}")
            raise errors.InputError(f"traffic at shape={shape}: the shape {what}; give a size "
                                    f"for each of {sorted(known)}")
        bad = {k: v for k, v in shape.items() if not (isinstance(v, int) and v >= 1)}
        if bad:
            raise errors.InputError(f"traffic at shape={shape}: sizes must be ints >= 1, not "
                                    f"{bad}")
        subs = {known[k]: sp.Integer(v) for k, v in shape.items()}

        def fp(f: Footprint) -> Footprint:
            return replace(f, box=tuple((sp.sympify(lo).subs(subs), sp.sympify(hi).subs(subs))
                                        for lo, hi in f.box))
        return replace(self, symbolic=self.symbolic or self, launches=tuple(
            replace(t, reads=tuple(map(fp, t.reads)), writes=tuple(map(fp, t.writes)))
            for t in self.launches))

    def lines(self) -> list[str]:
        n = len(self.launches)
        return [f"pipeline: {n} launch{'es' if n != 1 else ''}, compulsory global memory: read "
                f"{self.read_bytes} B, written {self.write_bytes} B, total {self.bytes} B"]


def _total(parts):
    """The sum of byte counts (sympy or ints), expanded; an int when it is a number."""
    return _value(sp.expand(sum(parts, sp.Integer(0))))


def _value(e):
    """An int when ``e`` is a number, else the sympy expression."""
    return int(e) if isinstance(e, sp.Integer) else e


def traffic(lowered) -> Traffic | None:
    """The :class:`Traffic` of ``lowered`` (a :class:`vortex.lower.driver.Lowered`); None when
    it carries no plans (built by hand, not by ``lower``) or has a kernel that computes no
    stage of them."""
    plans = getattr(lowered, "plans", None)
    if not plans:
        return None
    buffers = {b.name: b for b in lowered.buffers}
    stages = {}
    for plan in plans.values():
        if plan.level is Level.ROOT:
            stages[f"{plan.name}_kernel"] = (plan, None)
            stages.update({f"{plan.name}_update{n}_kernel": (plan, n)
                           for n in range(len(plan.func.updates))})
    if any(k.name not in stages for k in lowered.kernels):
        return None
    launches = tuple(_launch(k.name, *stages[k.name], plans, buffers) for k in lowered.kernels)
    ends = [e for b in lowered.buffers for e in (*b.shape, *b.origin)]
    ends += [e for t in launches for f in (*t.reads, *t.writes) for lo_hi in f.box for e in lo_hi]
    dims = {s for e in ends for s in sp.sympify(e).free_symbols}
    return Traffic(launches, tuple(sorted(dims, key=lambda s: s.name)))


def _launch(name: str, plan, update, plans: dict, buffers: dict) -> LaunchTraffic:
    """The footprints of the kernel computing ``plan``'s pure definition (``update`` None) or
    its update ``update``."""
    f = plan.func
    box = [(lo, sp.expand(lo + ext - 1)) for lo, ext in plan.box]
    local = {p.name: p.func for p in plans.values() if p.level is Level.INLINE
             or (p.level is Level.AT and parse(p.at[0]).func == f.name)}
    walk = _Reads(local, buffers)
    if update is None:
        env = {v.name: b for v, b in zip(f.pure_vars, box)}
        walk.visit([f.definitions[0].value], env)
        written = [tuple(box)] * len(f.buffers)
    else:
        d = f.updates[update]
        env = {a.name: b for a, b in zip(d.lhs, box) if isinstance(a, Var)}
        walk.visit([*d.lhs, d.value], env)
        ctx = Context(env)
        written = [tuple(interval(a, ctx) for a in d.lhs)] * len(f.buffers)
    for g in reversed([p.func for p in plans.values()]):     # consumers first
        if g.name in walk.regions:
            walk.visit_func(g)
    writes = tuple(_clip(buf, w, buffers) for (buf, _), w in zip(f.buffers, written))
    reads = tuple(_clip(buf, walk.reads[buf], buffers) for buf in buffers if buf in walk.reads)
    return LaunchTraffic(name, reads, writes)


def _clip(name: str, box: Box, buffers: dict) -> Footprint:
    """``box`` within buffer ``name``'s elements, as a Footprint."""
    b = buffers[name]
    inside = tuple((smax(lo, o), smin(hi, sp.expand(o + n - 1)))
                   for (lo, hi), o, n in zip(box, b.origin, b.shape))
    return Footprint(name, inside, b.dtype.itemsize)


def _hull(a: Box | None, b: Box) -> Box:
    if a is None:
        return tuple(b)
    return tuple((smin(x[0], y[0]), smax(x[1], y[1])) for x, y in zip(a, b))


class _Reads:
    """Bounds inference inside one kernel: ``regions`` of the Funcs it computes in place
    (``local``: inlined or compute_at), ``reads`` of the global ``buffers`` (name → box)."""

    def __init__(self, local: dict, buffers: dict):
        self.local, self.buffers = local, buffers
        self.regions: dict = {}
        self.reads: dict = {}

    def visit(self, exprs, env: dict):
        ctx = Context(env)
        for ld in _loads(exprs):
            box = tuple(interval(a, ctx) for a in ld.args)
            into = self.regions if ld.name in self.local else self.reads
            if into is self.reads and ld.name not in self.buffers:
                continue           # a kernel-local buffer of another kind: not global traffic
            into[ld.name] = _hull(into.get(ld.name), box)

    def visit_func(self, g):
        """The reads of computing local Func ``g`` over its region (all its definitions)."""
        region = self.regions[g.name]
        for d in g.definitions:
            env = {a.name: b for a, b in zip(d.lhs, region) if isinstance(a, Var)}
            self.visit([*d.lhs, d.value], env)


def _loads(exprs) -> list:
    """Every Load in ``exprs``, RDom bounds and ``where`` predicates included; each shared
    subexpression visited once."""
    out, seen, stack = [], set(), list(exprs)
    while stack:
        e = stack.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, Load):
            out.append(e)
        if isinstance(e, RVar):
            stack.extend(e.rdom.predicates)
            stack.extend(x for b in e.rdom.bounds for x in b)
        stack.extend(children(e))
    return out
