"""The ``hoist conditions`` pass (vortex/lower/hoist.py): sink, merge and hoist, each exact.

Unit checks build loop IR by hand (what each rewrite must and must not do); the end-to-end
checks lower a warp-specialized, register-tiled matmul: the compute threads' guard
``threadIdx.x >= producers`` encloses the whole k-loop, the result equals the reference on PoCL
at awkward sizes (the SASS of the shipped matmul schedules, which depends on it, is checked in
tests/analysis/test_shipped_isa.py).
"""
import numpy as np
import pytest

import pipelines
import vortex as vx
from vortex.algorithm import dtypes as T
from vortex.algorithm.construct import binary
from vortex.algorithm.expr import BinaryOp
from vortex.lower.hoist import hoist_conditions
from vortex.lower.ir import (Assign, Block, BufferLoad, Declare, For, ForKind, GpuAxis, GpuIndex,
                             If, Kernel, Ref, Store, i32)
from vortex.lower.walk import stmts

I32 = T.int32
TID = GpuIndex(GpuAxis.THREAD_X)
CONSUMER = binary(BinaryOp.GE, TID, i32(32))


def _kernel(body):
    return Kernel("k", (), body, (1, 1, 1), (64, 1, 1))


def _store(i, value):
    return Store("out", i32(i), value)


def test_a_loop_of_same_guarded_statements_becomes_one_guard_around_the_loop():
    body = Block((Declare("a", I32, Ref("ki", I32)), If(CONSUMER, _store(0, Ref("a", I32))),
                  Declare("b", I32, binary(BinaryOp.ADD, Ref("ki", I32), i32(1))),
                  If(CONSUMER, _store(1, Ref("b", I32)))))
    k = hoist_conditions(_kernel(For("ki", i32(0), i32(8), ForKind.SERIAL, body)))
    assert isinstance(k.body, If) and isinstance(k.body.then, For)
    inner = k.body.then.body
    assert isinstance(inner, Block) and [type(s) for s in inner.stmts] == [Declare, Store,
                                                                             Declare, Store]


def test_a_declaration_read_after_the_if_stays_outside_it():
    body = Block((Declare("a", I32, Ref("ki", I32)), If(CONSUMER, _store(0, Ref("a", I32))),
                  _store(1, Ref("a", I32))))
    k = hoist_conditions(_kernel(For("ki", i32(0), i32(8), ForKind.SERIAL, body)))
    assert isinstance(k.body, For)
    assert isinstance(k.body.body.stmts[0], Declare)


def test_a_condition_on_the_loop_counter_or_a_loaded_value_is_not_hoisted():
    on_counter = binary(BinaryOp.LT, Ref("ki", I32), i32(4))
    loaded = binary(BinaryOp.GT, BufferLoad("flag", i32(0), I32), i32(0))
    for cond in (on_counter, loaded):
        loop = For("ki", i32(0), i32(8), ForKind.SERIAL, If(cond, _store(0, i32(1))))
        assert hoist_conditions(_kernel(loop)).body == loop


def test_ifs_are_not_merged_when_the_first_changes_the_condition():
    n = Ref("n", I32)
    cond = binary(BinaryOp.LT, n, i32(4))
    first = If(cond, Assign("n", binary(BinaryOp.ADD, n, i32(1))))
    second = If(cond, _store(0, n))
    k = hoist_conditions(_kernel(Block((Declare("n", I32, i32(3)), first, second))))
    assert sum(isinstance(s, If) for s in stmts(k.body)) == 2


def _tiled_matmul(pipe, producers=1):
    i, j, yo, xo, yi, xi, yt, xt, yii, xii, ko, ki = vx.vars(
        "i j yo xo yi xi yt xt yii xii ko ki")
    s = vx.Schedule(pipe)
    s["C"].tile(i, j, yo, xo, yi, xi, 32, 32).split(yi, yt, yii, 4).split(xi, xt, xii, 4)
    s["C"].gpu_blocks(yo, xo).gpu_threads(yt, xt).split("k", ko, ki, 8)
    s["C"].reorder(yt, xt, ko, ki, yii, xii).unroll(yii).unroll(xii)
    s["C"].stage("A", at=ko).stage("B", at=ko).pipeline(ko, stages=2)
    s["C"].warp_specialize(producers=producers)
    return s


def test_the_compute_threads_guard_encloses_the_k_loop():
    from vortex.lower.driver import lower
    pipe = pipelines.pipe("matmul")
    low = lower(pipe, _tiled_matmul(pipe))
    guards = [s for k in low.kernels for s in stmts(k.body) if isinstance(s, If)
              and "GpuIndex" in repr(s.cond) and isinstance(s.then, For) and s.then.var == "ki"]
    assert guards, "no If on the thread index directly around the ki loop"


@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (7, 33, 13), (64, 64, 64), (37, 65, 17)])
def test_warp_specialized_tiled_matmul_matches_the_reference_on_pocl(opencl_device, m, n, k):
    pipe = pipelines.pipe("matmul")
    kern = vx.compile(pipe, schedule=_tiled_matmul(pipe), target="opencl", device=opencl_device)
    rng = np.random.default_rng(m * n * k)
    a = (rng.integers(-8, 9, (m, k)) / 8).astype(np.float32)
    b = (rng.integers(-8, 9, (k, n)) / 8).astype(np.float32)
    np.testing.assert_array_equal(kern(A=a, B=b), pipe.reference(A=a, B=b))
