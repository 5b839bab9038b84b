"""Schedules under test: one or more per directive, each with a check of its lowered loop nest.

A :class:`Case` names a pipeline of ``tests/pipelines.py``, a function filling an empty
``vx.Schedule`` of it, and ``check(lowered)`` asserting what the directive must have done to the
loop IR (loops, kinds, GPU indices, allocations, barriers, kernel count, specialization).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import vortex as vx
from vortex.algorithm.expr import BinaryOp, BinOp, Dim
from vortex.algorithm.symbolic import dim_symbol
from vortex.algorithm.walk import find
from vortex.codegen.names import spelling
from vortex.algorithm.construct import binary
from vortex.lower.ir import (Allocate, AsyncCopy, AtomicStore, MmaTile, Barrier, Declare, For, ForKind, GpuAxis, GpuIndex, If,
                             MemorySpace, Ref, i32)
from vortex.lower.walk import stmt_exprs, stmts

W, H = dim_symbol("W"), dim_symbol("H")
x, y, z, i, j, b = vx.vars("x y z i j b")
xo, xi, yo, yi, zo, zi, xv = vx.vars("xo xi yo yi zo zi xv")
bo, bi, yx, ko, ki, xt, xii = vx.vars("bo bi yx ko ki xt xii")


@dataclass(frozen=True)
class Case:
    id: str
    pipeline: str
    schedule: Callable
    check: Callable = lambda low: None

    def build(self, pipe) -> vx.Schedule:
        s = vx.Schedule(pipe)
        self.schedule(s)
        return s


# --- queries on a lowered kernel ---------------------------------------------------------------
def lower_one_version(pipe, schedule):
    """``lower`` without the ``partition`` passes: the one version of each tile and loop whose
    structure these cases check (partitioning has its own tests, tests/lower/test_partition.py
    and test_partition_loops.py)."""
    from vortex.lower import driver
    return driver.lower(pipe, schedule, [p for p in driver.PASSES
                                         if p.name not in ("partition", "partition loops")])


def loops(k) -> list:
    """[(var, kind, extent)] of every For, pre-order (outer first)."""
    return [(s.var, s.kind, s.extent) for s in stmts(k.body) if isinstance(s, For)]


def loop_kinds(k) -> dict:
    return {v: kind for v, kind, _ in loops(k)}


def gpu_vars(k) -> dict:
    """Loop var → GpuAxis for every ``Declare(var, GpuIndex(axis))``."""
    return {s.name: s.value.axis for s in stmts(k.body)
            if isinstance(s, Declare) and isinstance(s.value, GpuIndex)}


def allocations(k) -> dict:
    """Allocation → (memory, size), by the name it prints as (``blur_x_sh``; the IR's name is
    ``blur_x.sh``, see vortex.codegen.names)."""
    return {spelling(s.name): (s.memory, s.size) for s in stmts(k.body) if isinstance(s, Allocate)}


def count(k, cls) -> int:
    return sum(isinstance(s, cls) for s in stmts(k.body))


def const_extent(k, var) -> int:
    (ext,) = [e for v, _, e in loops(k) if v == var]
    return ext.value


def only(low):
    (k,) = low.kernels
    return k


def uses_op(k, op) -> bool:
    return any(find(e, lambda n: isinstance(n, BinOp) and n.op is op) for e in stmt_exprs(k.body))


# --- checks -----------------------------------------------------------------------------------
def _split(low):
    k = only(low)
    assert gpu_vars(k) == {"y": GpuAxis.BLOCK_X}
    assert [v for v, *_ in loops(k)] == ["xo", "xi"] and const_extent(k, "xi") == 8
    assert count(k, If) == 1                      # GuardWithIf: xo * 8 + xi < W


def _tile(low):
    k = only(low)
    assert gpu_vars(k) == {"yo": GpuAxis.BLOCK_Y, "xo": GpuAxis.BLOCK_X}
    assert [(v, e.value) for v, _, e in loops(k)] == [("yi", 8), ("xi", 16)]
    assert k.grid[2] == 1 and k.block == (1, 1, 1)


def _reorder(low):
    assert [v for v, *_ in loops(only(low))] == ["x", "y"]


def _fuse(low):
    k = only(low)
    assert gpu_vars(k) == {"bo": GpuAxis.BLOCK_X, "bi": GpuAxis.THREAD_X}
    assert not loops(k) and k.block == (64, 1, 1)
    assert uses_op(k, BinaryOp.FLOORDIV) and uses_op(k, BinaryOp.MOD)   # yx // W, yx % W


def _gpu_blocks(low):
    k = only(low)
    assert gpu_vars(k) == {"y": GpuAxis.BLOCK_Y, "x": GpuAxis.BLOCK_X}
    assert not loops(k) and k.block == (1, 1, 1) and k.grid == (W, H, 1)


def _gpu_threads(low):
    k = only(low)
    assert gpu_vars(k) == {"y": GpuAxis.BLOCK_Y, "xo": GpuAxis.BLOCK_X, "xi": GpuAxis.THREAD_X}
    assert k.block == (16, 1, 1)


def _gpu_tile_2d(low):
    k = only(low)
    assert gpu_vars(k) == {"yo": GpuAxis.BLOCK_Y, "xo": GpuAxis.BLOCK_X,
                           "yi": GpuAxis.THREAD_Y, "xi": GpuAxis.THREAD_X}
    assert not loops(k) and k.block == (16, 8, 1)


def _gpu_tile_3d(low):
    k = only(low)
    assert set(gpu_vars(k).values()) == set(GpuAxis) and k.block == (8, 2, 2)


def _gpu_tile_1d(low):
    pure, update = low.kernels
    assert gpu_vars(pure) == {"bo": GpuAxis.BLOCK_X, "bi": GpuAxis.THREAD_X}
    assert pure.block == (64, 1, 1) and update.block == (1, 1, 1)
    assert [v for v, *_ in loops(update)] == ["r"]           # the update runs r in order


def _ragged_split(low):
    tiles, k = low.kernels          # the inspector writes the tile table first
    assert tiles.name == "out_tiles" and k.name == "out_kernel"
    assert gpu_vars(k) == {"yo": GpuAxis.BLOCK_X, "yi": GpuAxis.THREAD_X}
    assert "out.tiles" in {b.name for b in low.buffers}


def _atomic_update(low):
    pure, update = low.kernels
    assert gpu_vars(update) == {"ro": GpuAxis.BLOCK_X, "ri": GpuAxis.THREAD_X}
    assert update.block == (32, 1, 1) and count(update, AtomicStore) == 1


def _rfactored(low):
    """hist_intm (pure, update: one partial histogram per u, no RDom left), hist, the merge."""
    names = [k.name for k in low.kernels]
    assert names == ["hist_intm_kernel", "hist_intm_update0_kernel", "hist_kernel",
                     "hist_update0_kernel"]
    assert gpu_vars(low.kernels[1]) == {"uo": GpuAxis.BLOCK_X, "ui": GpuAxis.THREAD_X}
    assert not any(count(k, AtomicStore) for k in low.kernels)


def _vectorize_factor(low):
    k = only(low)
    assert loop_kinds(k) == {"xi_vi": ForKind.VECTORIZED} and const_extent(k, "xi_vi") == 4
    assert gpu_vars(k)["xi"] is GpuAxis.THREAD_X and k.block == (8, 1, 1)


def _vectorize(low):
    k = only(low)
    assert loop_kinds(k) == {"xv": ForKind.VECTORIZED} and const_extent(k, "xv") == 4


def unrolled(k, local: str) -> list:
    """The copies of ``local`` the unroll pass declared (``local.u0``, ``local.u1``, …)."""
    return sorted(s.name for s in stmts(k.body) if isinstance(s, Declare)
                  and s.name.rsplit(".", 1)[0] == local and s.name.rsplit(".", 1)[1][0] == "u")


def _unroll_factor(low):
    """The UNROLLED loop k_ui (extent 4) is expanded in the IR: 4 copies of its body."""
    assert loop_kinds(only(low)) == {"k": ForKind.SERIAL}
    assert unrolled(only(low), "k.c") == ["k.c.u0", "k.c.u1", "k.c.u2", "k.c.u3"]


def _unroll(low):
    assert loop_kinds(only(low)) == {"ko": ForKind.SERIAL}
    assert unrolled(only(low), "k") == ["k.u0", "k.u1", "k.u2", "k.u3"]


def _mma(low):
    k = only(low)
    assert count(k, MmaTile) == 1 and gpu_vars(k)["mma_lane"] is GpuAxis.THREAD_X


def _matmul_tiled(low):
    k = only(low)
    assert gpu_vars(k) == {"yo": GpuAxis.BLOCK_Y, "xo": GpuAxis.BLOCK_X,
                           "yi": GpuAxis.THREAD_Y, "xt": GpuAxis.THREAD_X}
    order = [v for v, *_ in loops(k)]
    assert order[order.index("ko"):order.index("ko") + 2] == ["ko", "xii"]
    assert "ki" not in order and len(unrolled(k, "k")) == 4   # ki unrolled inside xii
    assert allocations(k) == {"C_acc": (MemorySpace.LOCAL, 4)}   # one accumulator per xii


def _shared(low):
    k = only(low)
    assert allocations(k) == {"blur_x_sh": (MemorySpace.SHARED, 10 * 16)}   # 8+2 rows × 16
    assert count(k, Barrier) == 1 and k.shared_bytes == 640


def _shared_both(low):
    k = only(low)
    assert allocations(k) == {"blur_x_sh": (MemorySpace.SHARED, 10 * 16),
                              "img_repeat_edge_sh": (MemorySpace.SHARED, 10 * 18)}
    assert count(k, Barrier) == 2


def _local_at_thread(low):
    k = only(low)
    assert allocations(k) == {"blur_x_loc": (MemorySpace.LOCAL, 3)} and count(k, Barrier) == 0


def _sliding(low):
    """store_at(blur, xi).compute_at(blur, yi): 3 rows of blur_x in a window folded to 4, all 3
    at yi == 0 and one (no loop) after."""
    k = only(low)
    assert allocations(k) == {"blur_x_win": (MemorySpace.LOCAL, 4)} and count(k, Barrier) == 0
    yi0 = binary(BinaryOp.EQ, Ref("yi", vx.int32), i32(0)).key
    (first,) = [s for s in stmts(k.body) if isinstance(s, If) and s.cond.key == yi0]
    fills = [t.extent.value for t in stmts(first.then) if isinstance(t, For)]
    assert fills == [3] and count_in(first.otherwise, For) == 0


def _register(low):
    k = only(low)
    assert allocations(k) == {"blur_x_loc": (MemorySpace.LOCAL, 6 * 4)} and count(k, Barrier) == 0
    assert [v for v, *_ in loops(k)][0] == "xo"                 # computed per xo iteration


def _root(low):
    assert [k.name for k in low.kernels] == ["blur_x_kernel", "blur_kernel"]
    assert "blur_x" in {buf.name for buf in low.buffers}
    assert gpu_vars(low.kernels[0]) == {"yo": GpuAxis.BLOCK_Y, "xo": GpuAxis.BLOCK_X,
                                        "yi": GpuAxis.THREAD_Y, "xi": GpuAxis.THREAD_X}


def _root_serial(low):
    first, second = low.kernels
    assert [v for v, *_ in loops(first)] == ["y", "x"] and first.block == (1, 1, 1)
    (buf,) = [b for b in low.buffers if b.name == "blur_x"]
    assert buf.origin == (-1, 0) and buf.shape == (H + 2, W)


def _inline(low):
    assert len(low.kernels) == 1 and "blur_x" not in {b.name for b in low.buffers}
    assert not allocations(only(low))


def _bound(low):
    weights, taps = low.kernels
    assert weights.block == (4, 1, 1) and gpu_vars(weights) == {"i": GpuAxis.THREAD_X}
    (buf,) = [b for b in low.buffers if b.name == "weights"]
    assert buf.shape == (3,)                        # the buffer is what taps needs
    assert count(weights, If) == 1                  # the 4th point is skipped


def _bound_output(low):
    k = only(low)
    assert k.grid[0] == 256 and gpu_vars(k)["i"] is GpuAxis.BLOCK_X
    conds = [s.cond for s in stmts(k.body) if isinstance(s, If)]
    assert any(find(c, lambda n: isinstance(n, Dim) and n.name == "M") for c in conds)


def _specialize(low):
    k = only(low)
    top = [s for s in stmts(k.body) if isinstance(s, If)][0]
    dims = {n.name for n in find(top.cond, lambda n: isinstance(n, Dim))}
    assert dims == {"W", "H"} and top.otherwise is not None
    assert count_in(top.then, If) == 0 and count_in(top.otherwise, If) == 1


def _specialize_shared(low):
    k = only(low)
    (top,) = [s for s in stmts(k.body) if isinstance(s, If) and s.otherwise is not None]
    assert count(k, Barrier) == 1 and count_in(top, Barrier) == 0   # filled once, before the If
    assert allocations(k) == {"blur_x_sh": (MemorySpace.SHARED, 160)}


def _box_shared(low):
    k = only(low)
    assert allocations(k) == {"img_repeat_edge_sh": (MemorySpace.SHARED, 10 * 10),
                              "sq_sh": (MemorySpace.SHARED, 10 * 10)}   # 8x8 tile + halo


def _box_at_rdom(low):
    k = only(low)
    assert allocations(k) == {"sq_loc": (MemorySpace.LOCAL, 3)}    # one row of taps per rr_0
    (site,) = [s for s in stmts(k.body) if isinstance(s, For) and s.var == "rr_0"]
    assert count_in(site.body, Allocate) == 1


def _specialize_k(low):
    k = only(low)
    top = [s for s in stmts(k.body) if isinstance(s, If)][0]
    assert {n.name for n in find(top.cond, lambda n: isinstance(n, Dim))} == {"M", "K"}
    assert guards(top.then) == {"N"} and guards(top.otherwise) == {"N", "M", "K"}


def count_in(s, cls) -> int:
    return sum(isinstance(t, cls) for t in stmts(s))


def guards(s) -> set:
    """Names of the Dims that the ``If`` conditions inside ``s`` compare against with ``<``."""
    lts = [n for t in stmts(s) if isinstance(t, If)
           for n in find(t.cond, lambda n: isinstance(n, BinOp) and n.op is BinaryOp.LT)]
    return {n.b.name for n in lts if isinstance(n.b, Dim)}


def _softmax_root(low):
    assert [k.name for k in low.kernels] == ["row_max_kernel", "row_sum_kernel", "softmax_kernel"]


def _softmax_fused(low):
    k = only(low)
    assert {n: m for n, (m, _) in allocations(k).items()} == {
        "row_max_sh": MemorySpace.SHARED, "row_sum_sh": MemorySpace.SHARED}


def _kernels(n):
    def check(low):
        assert len(low.kernels) == n
    return check


def _default_3d(low):
    k = only(low)
    assert set(gpu_vars(k).values()) == {GpuAxis.BLOCK_Z, GpuAxis.BLOCK_Y, GpuAxis.BLOCK_X,
                                         GpuAxis.THREAD_Y, GpuAxis.THREAD_X}


def default(s):
    """The default schedule's directives (the same as ``vx.compile(schedule=None)``)."""
    s.directives.update(vx.Schedule.default(s.pipe).directives)


def _blur_tile(s):
    return s["blur"].gpu_tile(y, x, yo, xo, yi, xi, 8, 16)


# --- the cases --------------------------------------------------------------------------------
def _staged_matmul(s, stages=None, swizzle=None, producers=None, group=None):
    s["C"].tile(i, j, yo, xo, yi, xi, 8, 16).gpu_blocks(yo, xo).gpu_threads(yi, xi)
    s["C"].split("k", ko, ki, 8).stage("A", at=ko).stage("B", at=ko, swizzle=swizzle)
    if stages:
        s["C"].pipeline(ko, stages=stages)
    if producers:
        s["C"].warp_specialize(producers=producers)
    if group:
        s["C"].swizzle_blocks(group=group)
    return s


def _staged(n_slots, async_copies):
    """Each tile's copy sites, twice: 16-byte copies under the run-time alignment test (K and N
    multiples of 4), element copies otherwise (vortex/lower/staging.py)."""
    def check(low):
        (k,) = low.kernels
        allocs = allocations(k)
        assert allocs["A_sh"] == (MemorySpace.SHARED, 8 * 8 * n_slots)
        assert allocs["B_sh"] == (MemorySpace.SHARED, 8 * 16 * n_slots)
        assert k.shared_bytes == 4 * (8 * 8 + 8 * 16) * n_slots
        assert count(k, AsyncCopy) == async_copies
        assert count(k, Barrier) == 2
        assert "ko" in [v for v, _, _ in loops(k)]
    return check


def _warp_specialized(low):
    (k,) = low.kernels
    assert k.block == (8 * 16 + 32, 1, 1)
    assert not {GpuAxis.THREAD_Y} & set(gpu_vars(k).values())


def _staged_vector_loop(low):
    (k,) = low.kernels
    assert loop_kinds(k)["xii"] is ForKind.VECTORIZED and count(k, AsyncCopy) == 8


def _swizzled_blocks(low):
    (k,) = low.kernels
    # yo/xo are remapped block indices, computed from the raw ones (loops gpu.block_x/y)
    assert set(gpu_vars(k)) == {"yi", "xi", "gpu.block_x", "gpu.block_y"}


CASES = [
    Case("stage", "matmul", _staged_matmul, _staged(1, 4)),
    Case("stage_xor", "matmul", lambda s: _staged_matmul(s, swizzle="xor"), _staged(1, 4)),
    Case("pipeline_2", "matmul", lambda s: _staged_matmul(s, stages=2), _staged(2, 8)),
    Case("pipeline_4", "matmul", lambda s: _staged_matmul(s, stages=4, swizzle="xor"),
         _staged(4, 16)),
    Case("warp_specialize", "matmul", lambda s: _staged_matmul(s, stages=2, producers=1),
         _warp_specialized),
    Case("swizzle_blocks", "matmul", lambda s: _staged_matmul(s, group=2), _swizzled_blocks),
    Case("stage_vectorized", "matmul", lambda s: (
        s["C"].tile(i, j, yo, xo, yi, xi, 8, 32).split(xi, xt, xii, 4).gpu_blocks(yo, xo)
        .gpu_threads(yi, xt).split("k", ko, ki, 8).reorder(ko, ki, xii).vectorize(xii)
        .stage("A", at=ko, swizzle="xor").stage("B", at=ko, swizzle="xor").pipeline(ko, stages=2)),
        lambda low: _staged_vector_loop(low)),
    Case("split", "blur", lambda s: s["blur"].split(x, xo, xi, 8).gpu_blocks(y), _split),
    Case("tile", "blur", lambda s: s["blur"].tile(y, x, yo, xo, yi, xi, 8, 16).gpu_blocks(yo, xo),
         _tile),
    Case("reorder", "blur", lambda s: s["blur"].reorder(x, y), _reorder),
    Case("fuse", "blur", lambda s: s["blur"].fuse(y, x, yx).split(yx, bo, bi, 64).gpu_blocks(bo)
         .gpu_threads(bi), _fuse),
    Case("gpu_blocks", "blur", lambda s: s["blur"].gpu_blocks(y, x), _gpu_blocks),
    Case("gpu_threads", "blur", lambda s: s["blur"].split(x, xo, xi, 16).gpu_blocks(y, xo)
         .gpu_threads(xi), _gpu_threads),
    Case("gpu_tile", "blur", _blur_tile, _gpu_tile_2d),
    Case("gpu_tile_1d", "histogram", lambda s: s["hist"].gpu_tile(b, bo, bi, 64), _gpu_tile_1d),
    Case("ragged_split", "ragged_rows", lambda s: s["out"].ragged_split(y, "offsets", yo, yi, 4)
         .gpu_blocks(yo).gpu_threads(yi), _ragged_split),
    Case("atomic", "histogram", lambda s: s["hist"].update(0).split("r", "ro", "ri", 32)
         .gpu_blocks("ro").gpu_threads("ri").atomic(), _atomic_update),
    Case("rfactor", "histogram", lambda s: (
        s["hist"].update(0).rfactor("r", "u").split(b, bo, bi, 64).gpu_blocks(bo)
        .gpu_threads(bi), s["hist_intm"].update(0).split("u", "uo", "ui", 16).gpu_blocks("uo")
        .gpu_threads("ui")), _rfactored),
    Case("gpu_tile_3d", "volume", lambda s: s["vol"].gpu_tile(z, y, x, zo, yo, xo, zi, yi, xi,
                                                              2, 2, 8), _gpu_tile_3d),
    Case("vectorize_factor", "blur", lambda s: s["blur"].split(x, xo, xi, 32).vectorize(xi, 4)
         .gpu_blocks(y, xo).gpu_threads(xi), _vectorize_factor),
    Case("vectorize", "blur", lambda s: s["blur"].split(x, xo, xv, 4).vectorize(xv)
         .gpu_blocks(y, xo), _vectorize),
    Case("unroll_factor", "matmul", lambda s: s["C"].gpu_tile(i, j, yo, xo, yi, xi, 4, 8)
         .unroll("k", 4), _unroll_factor),
    Case("unroll", "matmul", lambda s: s["C"].gpu_tile(i, j, yo, xo, yi, xi, 4, 8)
         .split("k", ko, ki, 4).unroll(ki), _unroll),
    Case("matmul_tiled", "matmul", lambda s: s["C"].tile(i, j, yo, xo, yi, xi, 8, 16)
         .gpu_blocks(yo, xo).split(xi, xt, xii, 4).gpu_threads(yi, xt).split("k", ko, ki, 4)
         .reorder(ko, xii, ki).unroll(ki), _matmul_tiled),
    Case("compute_at", "blur", lambda s: (_blur_tile(s), s["blur_x"].compute_at("blur", xo)),
         _shared),
    Case("store_in_shared", "blur", lambda s: (_blur_tile(s), s["blur_x"].compute_at("blur", xo)
                                              .store_in("shared")), _shared),
    Case("compute_at_two", "blur", lambda s: (
        _blur_tile(s), s["blur_x"].compute_at("blur", xo).store_in("shared"),
        s["img_repeat_edge"].compute_at("blur", xo).store_in("shared")), _shared_both),
    Case("compute_at_thread", "blur", lambda s: (_blur_tile(s),
                                                 s["blur_x"].compute_at("blur", xi)),
         _local_at_thread),
    Case("store_at", "blur", lambda s: (
        s["blur"].split(y, y, yi, 8).split(x, x, xi, 16).reorder(y, x, xi, yi).gpu_blocks(y, x)
        .gpu_threads(xi), s["blur_x"].store_at("blur", xi).compute_at("blur", yi)), _sliding),
    Case("store_in_register", "blur", lambda s: (
        s["blur"].tile(y, x, yo, xo, yi, xi, 4, 4).gpu_blocks(yo),
        s["blur_x"].compute_at("blur", xo).store_in("register")), _register),
    Case("compute_root", "blur", lambda s: (
        _blur_tile(s), s["blur_x"].compute_root().gpu_tile(y, x, yo, xo, yi, xi, 4, 8)), _root),
    Case("compute_root_serial", "blur", lambda s: (_blur_tile(s), s["blur_x"].compute_root()),
         _root_serial),
    Case("compute_inline", "blur", lambda s: (_blur_tile(s), s["blur_x"].compute_inline()),
         _inline),
    Case("bound", "taps", lambda s: (
        s["taps"].gpu_tile(y, x, yo, xo, yi, xi, 8, 8),
        s["weights"].compute_root().bound("i", 0, 4).gpu_threads("i")), _bound),
    Case("bound_output", "matmul", lambda s: s["C"].bound(i, 0, 256).gpu_blocks(i)
         .split(j, xo, xi, 8).gpu_threads(xi), _bound_output),
    Case("specialize", "blur", lambda s: _blur_tile(s).specialize(vx.schedule.divisible("W", 16))
         .specialize(("divisible", "H", 8)), _specialize),
    Case("specialize_shared", "blur", lambda s: (
        _blur_tile(s).specialize(vx.divisible("W", 16)),
        s["blur_x"].compute_at("blur", xo).store_in("shared")), _specialize_shared),
    Case("box_shared", "box", lambda s: (
        s["box"].gpu_tile(y, x, yo, xo, yi, xi, 8, 8),
        s["sq"].compute_at("box", xo).store_in("shared"),
        s["img_repeat_edge"].compute_at("box", xo).store_in("shared")), _box_shared),
    Case("box_at_rdom", "box", lambda s: (s["box"].gpu_tile(y, x, yo, xo, yi, xi, 8, 8),
                                          s["sq"].compute_at("box", "rr_0")), _box_at_rdom),
    Case("specialize_k", "matmul", lambda s: s["C"].gpu_tile(i, j, yo, xo, yi, xi, 8, 16)
         .split("k", ko, ki, 4).specialize(vx.divisible(vx.Dim("M"), 8))
         .specialize(("divisible", "K", 4)), _specialize_k),
    Case("softmax_root", "softmax", lambda s: (
        s["softmax"].gpu_tile("r", "c", yo, xo, yi, xi, 4, 32),
        s["row_max"].compute_root().gpu_tile("r", bo, bi, 16),
        s["row_sum"].compute_root().gpu_tile("r", bo, bi, 16)), _softmax_root),
    Case("softmax_fused", "softmax", lambda s: (
        s["softmax"].gpu_tile("r", "c", yo, xo, yi, xi, 4, 32),
        s["row_max"].compute_at("softmax", xo), s["row_sum"].compute_at("softmax", xo)),
        _softmax_fused),
    Case("histogram_default", "histogram", default, _kernels(2)),
    Case("intops", "intops", lambda s: s["ints"].gpu_tile(y, x, yo, xo, yi, xi, 8, 8),
         _kernels(1)),
    Case("intops_default", "intops", default, _kernels(1)),
    Case("narrow_default", "narrow", default, _kernels(3)),
    Case("narrow", "narrow", lambda s: s["u8"].gpu_tile(y, x, yo, xo, yi, xi, 4, 4), _kernels(3)),
    Case("rowstats", "rowstats", lambda s: s["rowstats"].gpu_tile(y, yo, yi, 16), _kernels(1)),
    Case("volume_default", "volume", default, _default_3d),
    Case("matmul_default", "matmul", default, _kernels(1)),
    Case("mma", "matmul_f16", lambda s: s["C"].tile(i, j, "io", "jo", "it", "jt", 16, 8)
         .split("k", "ko", "kt", 16).reorder("io", "jo", "ko", "it", "jt", "kt")
         .mma("it", "jt", "kt").gpu_blocks("io", "jo"), _mma),
]

BY_ID = {c.id: c for c in CASES}
assert len(BY_ID) == len(CASES)
