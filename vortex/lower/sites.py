"""``compute_at``: a producer computed per iteration of a consumer loop (Halide's compute_at).

The producer's footprint for one iteration of the site loop comes from interval arithmetic over
every read of it inside that loop: the consumer's (reduction bodies and their ``where``
predicates alike) and those of the producers computed inside the loop, with the loops inside the
site ranging over their extents. The reads are grouped into boxes of constant size — one box
usually; a read that shares no constant-size box with the others (``a[0]`` next to ``a[r]`` in
the loop over ``r``) gets a box of its own — and each read uses the box that holds it. At a
block-bound site the block's threads fill the boxes cooperatively in shared memory, then
synchronise; at a thread-bound or serial site each thread fills its own arrays. Points outside the
producer's own required region are skipped, so edge tiles never read out of bounds. A producer
with update definitions applies them at each point of its boxes after its pure value
(``compute_at`` accepts only updates that write and read the producer at their own point; see
:mod:`vortex.schedule.replay`).
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from .. import errors
from ..algorithm import dtypes as T
from ..algorithm.bounds import Context, interval
from ..algorithm.expr import Const, Expr, Load, Reduce, RVar, Var
from ..algorithm.walk import children, rebuild
from ..schedule.directives import MemoryType
from .exprs import Layout, inline, replace_reduce
from .fill import fill, update_exprs
from .ir import Barrier, Ref, block, i32, local_name
from .sym import loop_symbol
from .varying import VarSymbol
from ..algorithm.symbolic import prove_nonneg, show

I32 = T.int32


def fixed_loops(loops, site: str, cooperative: bool = False) -> set:
    """Loops whose value is fixed during one iteration of ``site`` for the threads that fill
    its footprint: the block's loops always; thread loops unless the whole block fills it
    (``cooperative``, or a block-bound site); serial loops up to and including ``site``."""
    site_loop = next(lp for lp in loops if lp.name == site)
    blocks = {lp.name for lp in loops if lp.axis is not None and lp.axis.is_block}
    threads = {lp.name for lp in loops if lp.axis is not None and not lp.axis.is_block}
    if site_loop.axis is not None:
        return blocks if site_loop.axis.is_block else blocks | threads
    serial = [lp.name for lp in loops if lp.axis is None]
    return blocks | (set() if cooperative else threads) | set(serial[:serial.index(site) + 1])


def _kernel_order(loops) -> list:
    """Loop names in the order their code nests in the kernel: the GPU-bound loops (indices,
    then each one's sites and staged copies, in the prologue), then the serial loops."""
    return ([lp.name for lp in loops if lp.axis is not None]
            + [lp.name for lp in loops if lp.axis is None])


def enclosing(loops, name: str) -> list:
    """The loops whose one iteration holds the code placed at loop ``name`` (itself included)."""
    order = _kernel_order(loops)
    return order[:order.index(name) + 1]


def _within(loops, name: str) -> list:
    """The loops ``name`` holds (itself included): code placed at them runs inside it."""
    order = _kernel_order(loops)
    return order[order.index(name):]


def reads_of(exprs, name: str, inlined: dict) -> list:
    """Every Load of ``name`` in ``exprs``, those in the ``where`` predicates of their
    reductions included (inlined Funcs substituted)."""
    return [ld for ld, _ in _scoped_reads(exprs, name, inlined)]


def _scoped_reads(exprs, name: str, inlined: dict, bound=frozenset()) -> list:
    """[(Load of ``name``, names of the RDoms that reductions around it in ``exprs`` bind)]: an
    RVar of such an RDom ranges over its domain there, whatever the loops outside say."""
    out = []

    def walk(e, bound):
        if isinstance(e, Load) and e.name == name:
            out.append((e, bound))
        if isinstance(e, Reduce):
            bound = bound | {e.rdom_name}
            out.extend(_scoped_reads(e.rdom.predicates, name, inlined, bound))
        for c in children(e):
            walk(c, bound)
    for e in exprs:
        walk(inline(e, inlined), bound)
    return out


def _definitions(ctx, f) -> list:
    """The expressions computing ``f`` at a point: its pure value, then its updates'."""
    out = [ctx.value(f)]
    for d in f.updates:
        value, preds, _ = update_exprs(f, d, ctx.inlined)
        out += [value, *preds]
    return out


@dataclass(frozen=True)
class Footprint:
    """What one iteration of a loop reads of a source. ``boxes``: per box, (lo, extent) sympy
    per dimension; ``reads``: (reader, Load key) → index of the box that holds that read, the
    reader being None for the consumer's own value and a Func's name for a producer computed
    inside the loop."""

    boxes: tuple
    reads: dict

    def constant(self, k: int) -> bool:
        return all(ext.is_Integer for _, ext in self.boxes[k])

    def used(self, k: int) -> int:
        return sum(1 for b in self.reads.values() if b == k)

    def hull(self) -> list:
        """[(lo, extent)] per dimension of the smallest box holding every box."""
        return _hull(self.boxes)


def footprint(stage, producer: str, site: str, cooperative: bool = False) -> Footprint:
    """The footprint of ``producer`` for one iteration of loop ``site``: every read of it that
    runs inside the loop — the consumer's and those of the Funcs computed at loops inside it."""
    loops = stage.nest.loops
    fixed = fixed_loops(loops, site, cooperative)
    counters = {lp.name: (loop_symbol(lp.name),) * 2 if lp.name in fixed
                else (sp.Integer(0), sp.sympify(lp.extent) - 1) for lp in loops}
    env = Context(leaf=lambda e: counters.get(e.name) if isinstance(e, Ref) else None)
    inlined = stage.ctx.inlined

    def at_loops(a, bound):    # the consumer's Vars and free RVars in loop counters (Refs)
        return rebuild(a, lambda n: stage.coords.get(n.name) if isinstance(n, Var) or (
            isinstance(n, RVar) and n.rdom_name not in bound) else None)
    reads = [(None, ld.key, [interval(at_loops(a, bound), env) for a in ld.args])
             for ld, bound in _scoped_reads(_consumer_exprs(stage, site), producer, inlined)]
    for loop in _within(loops, site):
        for q in stage.ctx.sited(stage.plan.name, loop):
            q_reads = q.name != producer and reads_of(_definitions(stage.ctx, q.func),
                                                      producer, inlined)
            if not q_reads:
                continue
            q_box = footprint(stage, q.name, site, cooperative).hull()
            q_env = Context({v.name: (lo, lo + ext - 1)
                             for v, (lo, ext) in zip(q.func.pure_vars, q_box)})
            reads += [(q.name, ld.key, [interval(a, q_env) for a in ld.args]) for ld in q_reads]
    return _grouped(reads)


def _consumer_exprs(stage, site: str) -> list:
    """The parts of the consumer's value lowered inside loop ``site``: the body and predicates
    of its reduction for a loop of the reduction's nest, else the whole value (an update stage,
    :class:`vortex.lower.update.UpdateStage`, lists its value and ``where`` predicates)."""
    own = getattr(stage, "consumer_exprs", None)
    if own is not None:
        return list(own)
    if site in {lp.name for lp in stage.serial_loops()[1]}:
        return [stage.reduce.body, *stage.reduce.rdom.predicates]
    return [stage.value]


def _grouped(reads) -> Footprint:
    """Reads ``[(reader, key, [(lo, hi)] per dimension)]`` gathered into boxes: the reads of one
    Load (same reader and key, which is all the lowering tells apart) share a box; a read joins
    the first box it shares a constant size with (see :func:`_union`), else starts a box. No
    sympy simplification: a box's size is constant when plain sympy arithmetic says so."""
    same = {}
    for reader, key, rng in reads:
        box = [(lo, hi - lo + 1) for lo, hi in rng]
        old = same.get((reader, key))
        same[reader, key] = box if old is None else _union(old, box) or _hull([old, box])
    boxes, where = [], {}
    for read, box in same.items():
        for k, other in enumerate(boxes):
            merged = _union(other, box)
            if merged is not None:
                boxes[k] = merged
                break
        else:
            k = len(boxes)
            boxes.append(box)
        where[read] = k
    return Footprint(tuple(tuple(b) for b in boxes), where)


def _union(a, b) -> list | None:
    """The box holding the boxes ``a`` and ``b`` ([(lo, extent)] per dimension) when, in every
    dimension, they are the same range or two ranges of constant size a constant apart."""
    out = []
    for (la, ea), (lb, eb) in zip(a, b):
        d = lb - la
        if d == 0 and ea == eb:
            out.append((la, ea))
        elif d.is_Integer and ea.is_Integer and eb.is_Integer:
            shift = min(d, 0)
            out.append((la + shift, max(ea, d + eb) - shift))
        else:
            return None
    return out


def _hull(boxes) -> list:
    """[(lo, extent)] per dimension of the smallest box holding ``boxes``."""
    out = []
    for dim in zip(*boxes):
        lo = sp.Min(*(b for b, _ in dim))
        out.append((lo, sp.Max(*(b + e for b, e in dim)) - lo))
    return out


BOUND_LEAVES = 64   # the most Min/Max substitutions tried for an extent's bound


def constant_bound(ext) -> int | None:
    """The least integer ``c`` among the constant values ``ext`` takes on a branch of its
    Min/Max atoms for which ``ext <= c`` is proved for every value of its symbols
    (:func:`vortex.algorithm.symbolic.prove_nonneg`); ``ext`` itself when an integer, None
    when none is found. A clamped read ``a[min(16 kb + j, S - 1)]``, ``j`` in [0, 16), has
    the extent ``min(16 kb + 15, S - 1) - min(16 kb, S - 1) + 1``: bound 16 (Halide's
    bounds inference likewise rounds a region up to a constant-size allocation)."""
    ext = sp.sympify(ext)
    if ext.is_Integer:
        return int(ext)
    leaves, seen = [], [0]

    def branches(e):
        seen[0] += 1
        if seen[0] > BOUND_LEAVES:
            return
        atoms = sorted(e.atoms(sp.Min, sp.Max), key=sp.default_sort_key)
        if not atoms:
            e = sp.expand(e)
            if e.is_Integer and e > 0:
                leaves.append(int(e))
            return
        for arg in atoms[0].args:
            branches(e.subs(atoms[0], arg))
    branches(ext)
    if seen[0] > BOUND_LEAVES:
        return None
    return next((c for c in sorted(set(leaves)) if prove_nonneg(c - ext)), None)


def constant_boxes(fp: Footprint, what: str, site: str, bound: bool = True) -> list:
    """``fp``'s boxes as [(lo, int extent)] per dimension, a non-constant extent rounded up to
    its :func:`constant_bound` (``bound``; the box then starts at the footprint's min and
    holds it: fills skip points outside the source, reads stay inside the real footprint);
    vx.ScheduleError (``what``: the directive) where an extent has no constant bound."""
    out = []
    for box in fp.boxes:
        row = []
        for d, (lo, ext) in enumerate(box):
            c = constant_bound(ext) if bound or ext.is_Integer else None
            if c is None:
                raise errors.ScheduleError(
                    f"{what}: its footprint per iteration is not a constant size in dimension "
                    f"{d} (extent {show(ext)}) and has no constant upper bound; tile/split the "
                    f"consumer loops inside {site!r} by constant factors")
            row.append((lo, c))
        out.append(row)
    return out


def bounded_box(fp: Footprint, k: int) -> list | None:
    """Box ``k`` of ``fp`` as [(lo, int extent)] with the extents rounded up to their
    :func:`constant_bound`; None when one has none."""
    row = [(lo, constant_bound(ext)) for lo, ext in fp.boxes[k]]
    return None if any(c is None for _, c in row) else row


@dataclass(frozen=True)
class Realization:
    """A footprint held in fast memory during each iteration of loop ``at``: ``layouts`` maps a
    box index to the Layout holding that box; reads from other boxes use ``default`` (the
    source's own buffer; None where it has none)."""

    source: str
    at: str
    footprint: Footprint
    layouts: dict
    default: Layout | None = None

    def reader(self, reader) -> "ReadLayout":
        """The source's layout for the reads of ``reader`` (see :class:`Footprint`)."""
        return ReadLayout(self.source, {key: self.layouts[k] for (r, key), k in
                                        self.footprint.reads.items()
                                        if r == reader and k in self.layouts}, self.default)


@dataclass(frozen=True)
class ReadLayout:
    """A source as one reader sees it: each read (by its Load key) from the box that holds it."""

    source: str
    by_read: dict
    default: Layout | None

    def load(self, n: Load, coords) -> Expr:
        layout = self.by_read.get(n.key, self.default)
        if layout is None:
            raise errors.ScheduleError(
                f"compute_at of Func {self.source!r}: the read {n} is in no box of its "
                f"footprint; compute {self.source!r} at root (compute_root())")
        return layout.load(n, coords)


def reader_layouts(stage, reader, loops) -> dict:
    """Source name → layout for code of ``reader`` (None: the consumer) placed inside
    ``loops``: the global layouts, with the sources realized at one of those loops."""
    out = dict(stage.layouts)
    for name, real in stage.realized.items():
        if real.at in loops:
            out[name] = real.reader(reader)
    return out


def _check_in_update(stage, producer: str, site: str):
    """A site among the consumer's update loops runs only while its reduction does: the rest
    of the consumer's value (inline reductions, the final expression) must not read it."""
    update = {lp.name for lp in stage.serial_loops()[1]}
    if site not in update:
        return
    rest = replace_reduce(stage.value, stage.reduce, Const.make(0, stage.reduce.dtype))
    if reads_of([rest], producer, stage.ctx.inlined):
        raise errors.ScheduleError(
            f"compute_at({stage.plan.name}, {site}) of Func {producer!r}: {site!r} is a loop of "
            f"the reduction over {stage.reduce.rdom_name!r}, but {stage.plan.name!r} also reads "
            f"{producer!r} outside that reduction; compute it at one of the loops outside it "
            f"{[lp.name for lp in stage.nest.loops if lp.name not in update]}")


def compute_site(ctx, stage, plan, site: str):
    """Statements computing ``plan``'s Func at loop ``site`` of ``stage``'s Func, which it is
    scheduled ``compute_at`` (one box per footprint box, in shared or local memory); placed
    there by :func:`vortex.lower.sliding.site_stmts`."""
    p = plan.func
    what = f"compute_at({stage.plan.name}, {site}) of Func {p.name!r}"
    _check_in_update(stage, p.name, site)
    site_loop = next(lp for lp in stage.nest.loops if lp.name == site)
    # shared at a serial loop: the whole block fills the box between two barriers
    serial = plan.memory is MemoryType.SHARED and site_loop.axis is None
    if serial:
        _check_uniform(stage, p.name, site)
    fp = footprint(stage, p.name, site, cooperative=serial)
    if not fp.boxes:
        raise errors.ScheduleError(f"{what}: {stage.plan.name!r} reads no point of {p.name!r} "
                                   f"inside loop {site!r}; compute it at root (compute_root())")
    boxes = constant_boxes(fp, what, site)
    shared = serial or (site_loop.axis is not None and site_loop.axis.is_block)
    if plan.memory is MemoryType.SHARED and not shared:
        raise errors.ScheduleError(
            f"store_in(\"shared\") on Func {p.name!r}: its compute_at loop {site!r} is not bound "
            "to gpu_blocks (it is bound to gpu_threads: each thread has its own iteration), so "
            "there is no block to share with; compute it at a block loop or a serial loop")
    if plan.memory is MemoryType.GLOBAL:
        raise errors.ScheduleError(f"store_in(\"global\") on Func {p.name!r} with compute_at: use "
                                   "compute_root() for a global intermediate")
    layouts = reader_layouts(stage, p.name, enclosing(stage.nest.loops, site))
    fills, mine = [], {}
    for k, box in enumerate(boxes):
        tags = () if k == 0 else (k,)
        buf = local_name(p.name, "sh" if shared else "loc", *tags)
        los = [Ref(local_name(p.name, f"lo{d}", *tags), I32) for d in range(len(box))]
        mine[k] = Layout(buf, tuple(los), tuple(i32(e) for _, e in box))
        fills.append(fill(ctx, stage, plan, box, mine[k], layouts, shared, tags,
                          f"loop {site!r} of {stage.plan.name!r}"))
    stage.realized[p.name] = Realization(p.name, site, fp, mine)
    if serial:      # the previous iteration's reads are done before the refill, then ready
        return block(Barrier(), *fills, Barrier())
    if shared:
        return block(*fills, Barrier())
    return block(*fills)


def _check_uniform(stage, producer: str, site: str):
    """Every thread of the block runs every iteration of the serial loops down to ``site``
    (their trip counts are the same for all threads), so all of them reach the barriers
    around a shared box filled there; an extent that depends on a thread's point (an RDom
    bound using a pure Var) is refused."""
    serial = [lp for lp in stage.nest.loops if lp.axis is None]
    for lp in serial[:[q.name for q in serial].index(site) + 1]:
        if any(isinstance(s, VarSymbol) for s in sp.sympify(lp.extent).free_symbols):
            raise errors.ScheduleError(
                f"store_in(\"shared\") on Func {producer!r} computed at loop {site!r} of "
                f"{stage.plan.name!r}: the extent of loop {lp.name!r} ({show(lp.extent)}) depends "
                "on the point a thread computes, so the block's threads would not all reach the "
                "barriers around the shared box; compute it at a gpu_blocks loop, or drop "
                "store_in(\"shared\") (one box per thread)")
