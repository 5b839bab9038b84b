"""Lowering one root Func stage to a kernel body (Halide's ``build_provide_loop_nest``).

GPU-bound loops become hardware indices; the remaining loops nest in schedule order. Producers
computed ``compute_at`` this Func are emitted at their site. With a reduction the structure is
init / update / finalize around the first reduction loop, with one accumulator per pure point
left inside it (a per-thread array when there are several: register tiling).
"""
from __future__ import annotations

import math

import sympy as sp

from .. import errors
from ..algorithm import dtypes as T
from ..algorithm.construct import binary
from ..algorithm.expr import BinaryOp
from ..algorithm.walk import find, rebuild
from .exprs import Accumulator, ExprLowerer, flat_index, rdom_position, replace_reduce
from . import cross_thread, mma, ragged
from .gpu_index import gpu_indices
from .ir import (Declare, For, ForKind, GpuAxis, GpuIndex, If, MemorySpace, Ref, block,
                 guarded, i32, local_name)
from .sites import reader_layouts
from .launch import launch_shape
from .staging import Staging
from .tuple_store import value_stores
from .simplify import simplify_expr
from .counters import counters
from .loops import LoopNest
from .sym import from_sympy
from .varying import place

I32 = T.int32


class StageLowering:
    """Lowers the pure stage of one root Func. ``ctx`` supplies layouts and compute_at sites."""

    def __init__(self, plan, ctx, nest: LoopNest):
        self.plan, self.ctx, self.nest = plan, ctx, nest
        self.layouts = dict(ctx.layouts)
        f = plan.func
        self.value = ctx.value(f)
        self.env, guards = counters(nest)
        self.pure_guards = [g for g, red in guards if not red]
        self.red_guards = [g for g, red in guards if red]
        self.coords = {v.name: binary(BinaryOp.ADD, from_sympy(lo), self.env[v.name])
                       for v, (lo, _) in zip(f.pure_vars, plan.loop_box)}
        for v, lo, hi in plan.region_guards():
            self.pure_guards += [binary(op, self.coords[v], from_sympy(b)) for op, b in
                                 ((BinaryOp.GE, lo), (BinaryOp.LT, hi)) if b is not None]
        self.reduce = plan.reduce_in(self.value)
        # an RDom bound using a pure Var reads its coordinate there (vortex/lower/varying.py)
        self.at_point = {k: simplify_expr(v) for k, v in self.coords.items()}
        self._rdom = None if self.reduce is None else self.reduce.rdom
        self.red_guards = [place(g, self.at_point, self._rdom, ctx.layouts)
                           for g in self.red_guards]
        if self.reduce is not None:
            for v, (lo, _) in zip(self.reduce.rdom.vars, self.reduce.rdom.bounds):
                self.coords[v.name] = binary(BinaryOp.ADD,
                                             place(lo, self.at_point, layouts=ctx.layouts),
                                             self.env[v.name])
        self.coords = {k: simplify_expr(v) for k, v in self.coords.items()}
        leaves = {lp.name for lp in nest.loops}
        self.names = {k: k if k not in leaves else local_name(k, "c") for k in self.coords}
        self.realized = {}     # source name → sites.Realization: staged tiles, compute_at boxes
        self.staging = Staging(self)
        if self.staging.producers:
            consumer = binary(BinaryOp.GE, GpuIndex(GpuAxis.THREAD_X), i32(self.staging.producers))
            self.pure_guards = [consumer] + self.pure_guards

    def declared(self, keys) -> tuple:
        """(Declare statements for the coordinates ``keys``, name → IR expr to use for them)."""
        decls, use = [], {}
        for k in keys:
            e = self.coords[k]
            if isinstance(e, Ref):
                use[k] = e
                continue
            decls.append(Declare(self.names[k], I32, e))
            use[k] = Ref(self.names[k], I32)
        return decls, use

    # --- launch shape ------------------------------------------------------------------------
    def launch(self) -> tuple[tuple, tuple]:
        """(grid, block); under warp_specialize the block is 1-D: producer warps first."""
        grid, blk = self._launch()
        producers = getattr(self, "staging", None) and self.staging.producers
        return (grid, (math.prod(blk) + producers, 1, 1)) if producers else (grid, blk)

    def launch_compute(self) -> tuple:
        """The block of the threads that compute (bound by gpu_threads)."""
        return self._launch()[1]

    def _launch(self) -> tuple[tuple, tuple]:
        cross_thread.thread_rvar(self.nest, self.plan.name)   # its errors name the RVar
        return launch_shape(self.nest, self.plan.name)

    # --- body --------------------------------------------------------------------------------
    def body(self):
        """The kernel body: :meth:`prologue`, then :meth:`computation`."""
        return block(self.prologue(), self.computation())

    def prologue(self):
        """The ragged tile of the block (:mod:`.ragged`), GPU indices and the producers
        computed at GPU-bound loops (shared memory filled
        before a barrier). It does not depend on specialization, so a specialized kernel keeps
        it outside the ``If`` of its versions: no barrier sits in a branch (legal for a uniform
        condition, but PoCL 3.1 crashes on some such kernels)."""
        gpu = [lp for lp in self.nest.loops if lp.axis is not None]
        self._sites = {lp.name: self.ctx.site_stmts(self, lp.name) for lp in self.nest.loops}
        if self.staging.producers and any(self._sites.values()):
            raise errors.ScheduleError(
                f"warp_specialize on Func {self.plan.name!r}: it cannot be combined with "
                "compute_at producers in the same kernel; stage them instead")
        allocs = self.staging.allocations()
        self.ctx.shared.extend(a for a in allocs if a.memory is MemorySpace.SHARED)
        return block(ragged.prologue(self.nest, self.plan.name),
                     *(a for a in allocs if a.memory is not MemorySpace.SHARED),
                     *(block(self.staging.once(lp), self._sites[lp.name]) for lp in gpu))

    def gpu_loops(self, body):
        """``body`` inside the stage's GPU-bound loops, kept as ``For`` loops of kind GPU_BLOCK
        / GPU_THREAD (blocks outside threads, in nest order) for the offload pass. A loop whose
        counter is remapped (``swizzle_blocks``, ``warp_specialize``: :mod:`.gpu_index`) is a
        local computed from loops over the hardware axes it reads, named ``gpu.<axis>``."""
        gpu = [lp for lp in self.nest.loops if lp.axis is not None]
        values = gpu_indices(self, gpu)
        grid, blk = self.launch()
        loops, remapped = {}, []
        for lp in gpu:
            if isinstance(values[lp.name], GpuIndex) and values[lp.name].axis is lp.axis:
                loops[lp.axis] = (lp.name, from_sympy(lp.extent))
            else:
                remapped.append(lp)
        for lp in remapped:
            for g in find(values[lp.name], lambda e: isinstance(e, GpuIndex)):
                if g.axis not in loops:
                    ext = grid[g.axis.dim] if g.axis.is_block else blk[g.axis.dim]
                    loops[g.axis] = (local_name("gpu", g.axis.name.lower()), from_sympy(ext))
        raw = {a: Ref(name, I32) for a, (name, _) in loops.items()}
        decls = [Declare(lp.name, I32, rebuild(values[lp.name], lambda e: raw.get(e.axis) if
                                               isinstance(e, GpuIndex) else None))
                 for lp in remapped]
        body = block(*decls, body)
        order = [a for a in loops if a.is_block] + [a for a in loops if not a.is_block]
        for axis in reversed(order):
            name, ext = loops[axis]
            kind = ForKind.GPU_BLOCK if axis.is_block else ForKind.GPU_THREAD
            body = For(name, i32(0), ext, kind, body, axis)
        return body

    def reuse_prologue(self, other: "StageLowering"):
        """Take ``other``'s compute_at sites and their layouts instead of building them again:
        a specialized version of the same stage has the same loops, hence the same producers
        at the same sites (only its guards differ)."""
        self._sites = other._sites
        self.realized.update({n: r for n, r in other.realized.items() if n not in self.realized})

    def layouts_in(self, loops) -> dict:
        """Source name → layout for the Func's own code inside the loops named ``loops``: the
        tiles staged and the producers computed at those loops, global buffers otherwise."""
        return reader_layouts(self, None, set(loops))

    def serial_loops(self) -> tuple[list, list]:
        """(serial loops outside the reduction, the first reduction loop and those inside it:
        the update nest, whose sites exist only while the reduction runs)."""
        serial = [lp for lp in self.nest.loops if lp.axis is None]
        first = next((i for i, lp in enumerate(serial) if lp.reduction), len(serial))
        return (serial, []) if self.reduce is None else (serial[:first], serial[first:])

    def computation(self):
        """The serial loop nest computing the Func (after :meth:`prologue`)."""
        f = self.plan.func
        outer, inner = self.serial_loops()
        if self.reduce is not None and self.nest.mma is not None:
            return self._nest(outer, mma.lower(self, inner))
        pure_decls, pure = self.declared([v.name for v in f.pure_vars])
        final = self.layouts_in(lp.name for lp in self.nest.loops if lp not in inner)
        lowerer = ExprLowerer(pure, final, self.ctx.names)
        layout = self.layouts[f.buffers[0][0]]       # a Tuple's elements share the layout
        out_index = layout.flat([pure[v.name] for v in f.pure_vars])
        if self.reduce is None:
            core = guarded(self.pure_guards, value_stores(lowerer, f, self.value, out_index))
            return self._nest(outer, block(*pure_decls, core))
        core = self._reduction(inner, lowerer, out_index, pure_decls)
        return self._nest(outer, core)

    def _nest(self, loops, inner):
        for lp in reversed(loops):
            body = block(self._sites.get(lp.name), inner)
            inner = self.staging.wrap(lp, body) or For(
                lp.name, i32(0),
                place(from_sympy(lp.extent), self.at_point, self._rdom, self.ctx.layouts),
                lp.kind, body)
        return inner

    def _reduction(self, loops, lowerer, out_index, pure_decls):
        f, r = self.plan.func, self.reduce
        pure_in = [lp for lp in loops if not lp.reduction]
        lanes = cross_thread.thread_rvar(self.nest, self.plan.name)
        if lanes is not None:
            cross_thread.check_stage(self, lanes, pure_in, self.serial_loops()[0])
        size, idx = None, None
        if pure_in:
            exts = [sp.sympify(lp.extent) for lp in pure_in]
            if not all(e.is_Integer for e in exts):
                raise errors.ScheduleError(
                    f"reorder on Func {self.plan.name!r}: pure loops {[lp.name for lp in pure_in]} "
                    "inside the reduction loop need constant extents (split them by a constant) "
                    "to keep one accumulator per point")
            size = math.prod(int(e) for e in exts)
            idx = flat_index([Ref(lp.name, I32) for lp in pure_in], [i32(e) for e in exts])
        acc = Accumulator(r.op, r.body.dtype, local_name(f.name, "acc"), size)
        all_decls, use = self.declared(list(self.coords))
        inner = ExprLowerer(use, self.layouts_in(lp.name for lp in self.nest.loops),
                            self.ctx.names)
        pre_b, body = inner.lower(r.body)
        coords = [use[v.name] for v in r.rdom.vars]
        at = self.at_point
        exts = [place(e, at, layouts=self.ctx.layouts) for _, e in r.rdom.bounds]
        pos = rdom_position(r.rdom, coords, exts, [place(lo, at, layouts=self.ctx.layouts)
                                                   for lo, _ in r.rdom.bounds]) \
            if acc.has_pos else None
        step = block(pre_b, acc.update(body, pos, idx))
        for p in r.rdom.predicates:
            pre_p, cond = inner.lower(p)
            step = block(pre_p, If(cond, step))
        update = self._nest(loops, block(*all_decls,
                                         guarded(self.pure_guards + self.red_guards, step)))
        default = r.rdom.bounds[0][0] if r.rdom.ndim == 1 else i32(0)
        value = replace_reduce(self.value, r, acc.result(default, idx))
        first = [] if lanes is None else [cross_thread.first_lane(lanes)]
        # with no serial loop around the update (its RDom loop all on threads), its coordinate
        # declarations are in this scope already: not declared twice (fuzz case ci:84)
        decls = pure_decls if loops else ()
        final = block(*decls, guarded(self.pure_guards + first,
                                      value_stores(lowerer, f, value, out_index)))
        if size is None:
            combine = None if lanes is None else cross_thread.collective(
                self.ctx, acc, r.op, lanes, self.launch_compute())
            return block(acc.declare(), update, combine, final)
        init = self._serial(pure_in, acc.init(idx))
        return block(acc.declare(), init, update, self._serial(pure_in, final))

    @staticmethod
    def _serial(loops, inner):
        """Init/finalize loops over the accumulator points, with the loops' own kinds (a
        vectorized micro-tile loop stores its results as one vector)."""
        for lp in reversed(loops):
            inner = For(lp.name, i32(0), from_sympy(lp.extent), lp.kind, inner)
        return inner
