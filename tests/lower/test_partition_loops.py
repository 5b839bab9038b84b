"""The ``partition loops`` pass (issue 11 item 2, Halide's PartitionLoops): a guarded serial loop
runs as prologue / steady state / epilogue; the bounds it solves for are exact (checked against
every iteration by enumeration), and results equal the reference at sizes that are and are not
multiples of the tiles."""
import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import vortex as vx
from vortex.algorithm.construct import binary
from vortex.algorithm.expr import BinaryOp, Const
from vortex.examples import load_example
from vortex.lower import driver
from vortex.lower.ir import For, ForKind, Ref, Store, i32
from vortex.lower.ir_text import kernel_text
from vortex.lower.partition_loops import _Bound, _LoopScope
from vortex.lower.walk import stmts

ROOT = Path(__file__).resolve().parents[2]
OPS = {BinaryOp.LT: lambda a, b: a < b, BinaryOp.LE: lambda a, b: a <= b,
       BinaryOp.GT: lambda a, b: a > b, BinaryOp.GE: lambda a, b: a >= b}


@pytest.mark.parametrize("op", list(OPS), ids=lambda o: o.symbol)
@pytest.mark.parametrize("k", [-3, -1, 1, 2, 5])
def test_the_solved_bound_is_exactly_the_iterations_where_the_guard_holds(op, k):
    """``k·v + j + c  op  n`` with ``j`` the counter of an inner loop over [0, 4): the bound is
    the first (or last + 1) ``v`` at which the guard holds for every ``j``."""
    v, j = Ref("v", vx.int32), Ref("j", vx.int32)
    body = For("j", i32(0), i32(4), ForKind.SERIAL, Store("out", j, Const.make(1.0, vx.float32)))
    for c, n in itertools.product((-7, 0, 3), (-5, 2, 11)):
        lhs = binary(BinaryOp.ADD, binary(BinaryOp.ADD, binary(BinaryOp.MUL, i32(k), v), j), i32(c))
        scope = _LoopScope(body, "v", i32(0))
        bound = scope.interior(binary(op, lhs, i32(n)), scope.ranges)
        assert isinstance(bound, _Bound) and isinstance(bound.expr, Const)
        holds = [all(OPS[op](k * vv + jj + c, n) for jj in range(4)) for vv in range(-40, 41)]
        b = int(bound.expr.value)
        expect = [vv >= b if bound.lower else vv < b for vv in range(-40, 41)]
        assert holds == expect, (k, c, n, bound)


def _blur(schedule):
    pipe = load_example(ROOT / "examples" / "blur.py").pipeline()
    return pipe, vx.Schedule.load(ROOT / "schedules" / "blur" / schedule, pipe) \
        if isinstance(schedule, str) else schedule(pipe)


def _rows_serial(pipe):
    """Columns on threads, rows as serial loops split by 4 (a guard with coefficient 4)."""
    s = vx.Schedule(pipe)
    s["blur"].split("x", "xo", "xi", 16).split("y", "yo", "yi", 4) \
        .reorder("c", "xo", "xi", "yo", "yi").gpu_blocks("c", "xo").gpu_threads("xi")
    return s


def test_the_pocl_blur_peels_its_window_and_partitions_its_edge_rows():
    """Interior tiles: the sliding window's first row (``yi == 0``: the whole window) peeled,
    then the rows that compute one new row each. Edge tiles: prologue (at the top, the clamped
    rows), steady state without clamps or bounds tests (the window's first-row test stays: not
    peeled where the rows are guarded too), epilogue."""
    pipe, s = _blur("pocl-cpu.toml")
    (k,) = driver.lower(pipe, s).kernels
    loops = [x for x in stmts(k.body) if isinstance(x, For) and x.var == "yi"]
    assert len(loops) == 5
    texts = [kernel_text(replace(k, body=f)) for f in loops]
    clean = [t for t in texts if "vx.min(vx.max(" not in t and " <" not in t and " >" not in t]
    assert len(clean) == 3              # the interior's peel and steady state, the edge's steady
    assert sum("if yi == 0" in t for t in clean) == 2     # the peel and the edge's steady state
    assert all("img[" in t and "blur[" in t for t in clean)


@pytest.mark.parametrize("schedule", ["pocl-cpu.toml", _rows_serial], ids=["pocl", "rows"])
def test_partitioned_loops_agree_with_the_reference(schedule, opencl_device):
    pipe, s = _blur(schedule)
    k = vx.compile(pipe, s, target="opencl", device=opencl_device)
    rng = np.random.default_rng(5)
    for c, h, w in ((1, 1, 1), (1, 2, 3), (2, 5, 9), (1, 33, 129), (1, 67, 263), (3, 40, 17)):
        img = rng.random((c, h, w), dtype=np.float32)
        np.testing.assert_array_equal(k(img=img), pipe.reference(img=img),
                                      err_msg=f"{c}×{h}×{w}")


def test_a_loop_with_a_barrier_keeps_one_version():
    """A staged (shared) producer puts a barrier in the tile: its loops are not partitioned,
    since threads could split them differently."""
    pipe = load_example(ROOT / "examples" / "matmul.py").pipeline()
    s = vx.Schedule.load(ROOT / "schedules" / "matmul" / "pocl-cpu.toml", pipe)
    (k,) = driver.lower(pipe, s).kernels
    assert ".p0.lo" not in kernel_text(k)
