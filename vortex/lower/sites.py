"""``compute_at``: a producer computed per iteration of a consumer loop (Halide's compute_at).

The producer's footprint for one iteration of the site loop comes from interval arithmetic over
the consumer's accesses with the loops inside the site ranging over their extents; it must have
a constant size. At a block-bound site the block's threads fill it cooperatively in shared
memory, then synchronise; at a thread-bound or serial site each thread fills its own array.
Points outside the producer's own required region are skipped, so edge tiles never read out of
bounds.
"""
from __future__ import annotations

import math

import sympy as sp

from .. import errors
from ..algorithm import dtypes as T
from ..algorithm.bounds import Context, interval
from ..algorithm.construct import binary
from ..algorithm.expr import BinaryOp, Cast, Const, Expr, Load, RVar, Var
from ..algorithm.walk import find, rebuild, substitute
from ..schedule.directives import MemoryType
from .exprs import ExprLowerer, Layout, replace_reduce
from .ir import (Allocate, Barrier, Declare, For, ForKind, GpuAxis, GpuIndex, If, MemorySpace,
                 Ref, Store, block, guarded, i32, local_name)
from .sym import from_sympy, loop_symbol

I32 = T.int32


def _as_vars(e):
    return rebuild(e, lambda n: Var(n.name) if isinstance(n, Ref) else None)


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


def footprint(stage, producer: str, site: str, cooperative: bool = False) -> list:
    """[(lo sympy, extent int)] per producer dimension for one iteration of loop ``site``: what
    the consumer reads, and what other Funcs computed at the same site read of it."""
    loops = stage.nest.loops
    fixed = fixed_loops(loops, site, cooperative)
    env = {lp.name: (loop_symbol(lp.name),) * 2 if lp.name in fixed
           else (sp.Integer(0), sp.sympify(lp.extent) - 1) for lp in loops}

    def loads(e):
        return find(e, lambda n: isinstance(n, Load) and n.name == producer)

    ranges = [[interval(_as_vars(substitute(a, stage.coords, (Var, RVar))), Context(env)) for a in ld.args]
              for ld in loads(stage.value)]
    for q in stage.ctx.sited(stage.plan.name, site):   # siblings computed here that read it
        q_loads = loads(stage.ctx.value(q.func))
        if q_loads:
            q_env = Context({v.name: (lo, lo + ext - 1) for v, (lo, ext) in
                             zip(q.func.pure_vars, footprint(stage, q.name, site))})
            ranges += [[interval(a, q_env) for a in ld.args] for ld in q_loads]
    box = ranges[0]
    for rngs in ranges[1:]:
        box = [(sp.Min(a[0], b[0]), sp.Max(a[1], b[1])) for a, b in zip(box, rngs)]
    out = []
    for d, (lo, hi) in enumerate(box):
        ext = sp.simplify(hi - lo + 1)
        if not ext.is_Integer:
            raise errors.ScheduleError(
                f"{'stage' if cooperative else 'compute_at'}({stage.plan.name}, {site}) of "
                f"{'source' if cooperative else 'Func'} {producer!r}: its footprint per "
                f"iteration is not a constant size in dimension {d} (extent {ext}); tile/split "
                f"the consumer loops inside {site!r} by constant factors")
        out.append((sp.simplify(lo), int(ext)))
    return out




def site_stmts(ctx, stage, site: str):
    """Statements computing every producer scheduled ``compute_at(stage's Func, site)``."""
    out = []
    for plan in ctx.sited(stage.plan.name, site):
        out.append(_compute(ctx, stage, plan, site))
    return block(*out) if out else None


def _check_in_update(stage, producer: str, site: str):
    """A site among the consumer's update loops runs only while its reduction does: the rest
    of the consumer's value (inline reductions, the final expression) must not read it."""
    update = {lp.name for lp in stage.serial_loops()[1]}
    if site not in update:
        return
    rest = replace_reduce(stage.value, stage.reduce, Const.make(0, stage.reduce.dtype))
    if find(rest, lambda e: isinstance(e, Load) and e.name == producer):
        raise errors.ScheduleError(
            f"compute_at({stage.plan.name}, {site}) of Func {producer!r}: {site!r} is a loop of "
            f"the reduction over {stage.reduce.rdom_name!r}, but {stage.plan.name!r} also reads "
            f"{producer!r} outside that reduction; compute it at one of the loops outside it "
            f"{[lp.name for lp in stage.nest.loops if lp.name not in update]}")


def _compute(ctx, stage, plan, site: str):
    p = plan.func
    _check_in_update(stage, p.name, site)
    fp = footprint(stage, p.name, site)
    site_loop = next(lp for lp in stage.nest.loops if lp.name == site)
    shared = site_loop.axis is not None and site_loop.axis.is_block
    if plan.memory is MemoryType.SHARED and not shared:
        raise errors.ScheduleError(
            f"store_in(\"shared\") on Func {p.name!r}: its compute_at loop {site!r} is not bound "
            "to gpu_blocks, so there is no block to share with; compute it at a block loop")
    if plan.memory is MemoryType.GLOBAL:
        raise errors.ScheduleError(f"store_in(\"global\") on Func {p.name!r} with compute_at: use "
                                   "compute_root() for a global intermediate")
    size = math.prod(e for _, e in fp)
    buf = local_name(p.name, "sh" if shared else "loc")
    los = [Ref(local_name(p.name, f"lo{d}"), I32) for d in range(len(fp))]
    stage.layouts[p.name] = Layout(buf, tuple(los), tuple(i32(e) for _, e in fp))
    decls = [Declare(r.name, I32, from_sympy(lo)) for r, (lo, _) in zip(los, fp)]
    t = Ref(local_name(p.name, "t"), I32)
    coords, inside, decls_c = {}, [], []
    offsets = unflatten(t, [e for _, e in fp])
    for v, r, off, (rlo, rhi) in zip(p.pure_vars, los, offsets, ctx.pipe.regions[p.name]):
        c = binary(BinaryOp.ADD, r, off)
        name = local_name(p.name, v.name)
        decls_c.append(Declare(name, I32, c))
        c = Ref(name, I32)
        coords[v.name] = c
        inside += [binary(BinaryOp.GE, c, from_sympy(rlo)), binary(BinaryOp.LE, c, from_sympy(rhi))]
    pre, value = ExprLowerer(coords, stage.layouts, ctx.names).lower(ctx.value(p))
    store = block(*decls_c, guarded(inside, block(pre, Store(buf, t, value))))
    if shared:
        ctx.shared.append(Allocate(buf, p.dtype, size, MemorySpace.SHARED))
        loop = strided(t.name, size, math.prod(stage.launch()[1]),
                       thread_id(stage.launch()[1]), store)
        return block(*decls, loop, Barrier())
    loop = For(t.name, i32(0), i32(size), ForKind.SERIAL, store)
    return block(Allocate(buf, p.dtype, size, MemorySpace.LOCAL), *decls, loop)


def unflatten(t: Expr, extents) -> list:
    """Row-major coordinates (int32) of the non-negative flat index ``t`` in a box of constant
    ``extents`` (unsigned division: exact for t >= 0, and cheap)."""
    out, stride = [], math.prod(extents)
    for ext in extents:
        stride //= ext
        part = binary(BinaryOp.MOD, binary(BinaryOp.FLOORDIV, Cast(T.uint32, t),
                                           Const.make(stride, T.uint32)), Const.make(ext, T.uint32))
        out.append(Cast(I32, part))
    return out


def thread_id(block_dims) -> Expr:
    """The flat thread index within a block, x fastest."""
    bx, by, _ = block_dims
    return binary(BinaryOp.ADD, GpuIndex(GpuAxis.THREAD_X), binary(
        BinaryOp.MUL, binary(BinaryOp.ADD, GpuIndex(GpuAxis.THREAD_Y), binary(
            BinaryOp.MUL, GpuIndex(GpuAxis.THREAD_Z), i32(by))), i32(bx)))


def strided(t: str, size: int, nthreads: int, tid: Expr, body) -> For:
    """``for t in [tid, size) step nthreads: body`` — the block's threads share ``size``
    items, consecutive threads on consecutive items (coalesced)."""
    it = local_name(t, "it")
    flat = binary(BinaryOp.ADD, binary(BinaryOp.MUL, Ref(it, I32), i32(nthreads)), tid)
    return For(it, i32(0), i32(-(-size // nthreads)), ForKind.SERIAL,
               block(Declare(t, I32, flat), If(binary(BinaryOp.LT, Ref(t, I32), i32(size)), body)))
