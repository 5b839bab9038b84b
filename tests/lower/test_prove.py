"""The ``prove guards`` pass: conditions proven by loop ranges, the launch, enclosing conditions
and specialize facts are dropped — and only those (the results stay right at every size)."""
import sys
from pathlib import Path

import numpy as np
import pytest

import vortex as vx
from vortex.algorithm import dtypes as T
from vortex.algorithm.construct import binary
from vortex.algorithm.expr import BinaryOp, Dim
from vortex.algorithm.symbolic import dim_symbol
from vortex.lower import lower
from vortex.lower.ir import (AsyncCopy, Block, For, ForKind, GpuAxis, GpuIndex, If, Kernel, Ref,
                             Store, Declare, i32)
from vortex.lower.ir_text import stmt_lines
from vortex.lower.prove import prove_guards
from vortex.lower.walk import stmts

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
import matmul  # noqa: E402

I32 = T.int32


def _copies(s):
    return [x for x in stmts(s) if isinstance(x, AsyncCopy)]


def test_h100_divisible_version_has_no_bounds_check_on_any_copy():
    """The shipped H100 schedule (specialize on M, N % 128 and K % 8): 64 bounds comparisons on
    the copies of the divisible version before this pass, none after; the general version
    keeps its checks."""
    pipe = matmul.pipeline()
    low = lower(pipe, vx.Schedule.load(ROOT / "schedules" / "matmul" / "nvidia-h100.toml", pipe))
    (k,) = low.kernels
    spec = next(s for s in stmts(k.body) if isinstance(s, If) and s.otherwise is not None)
    fast, general = _copies(spec.then), _copies(spec.otherwise)
    assert fast and all(c.cond is None for c in fast)
    assert general and all(c.cond is not None for c in general)


@pytest.mark.parametrize("shape", [(128, 128, 8), (256, 128, 16), (1, 1, 1), (130, 7, 9)])
def test_specialized_staged_matmul_is_right_at_every_size(opencl_device, shape):
    M, N, K = shape
    pipe = matmul.pipeline()
    s = vx.Schedule(pipe)
    s["C"].tile("i", "j", "yo", "xo", "yi", "xi", 16, 16).gpu_blocks("yo", "xo")
    s["C"].gpu_threads("yi", "xi").split("k", "ko", "ki", 8)
    s["C"].stage("A", at="ko").stage("B", at="ko").pipeline("ko", stages=2)
    s["C"].specialize(vx.divisible("M", 16)).specialize(vx.divisible("N", 16))
    s["C"].specialize(vx.divisible("K", 8))
    k = vx.compile(pipe, schedule=s, target="opencl")
    rng = np.random.default_rng(0)
    a, b = rng.random((M, K), dtype=np.float32), rng.random((K, N), dtype=np.float32)
    np.testing.assert_allclose(k(A=a, B=b), pipe.reference(A=a, B=b), rtol=1e-5, atol=1e-5)


N = dim_symbol("N")


def _kernel(body, block=(64, 1, 1), ranges=()):
    return Kernel("k", (), body, (N, 1, 1), block, 0, ranges=ranges)


def lt(a, b):
    return binary(BinaryOp.LT, a, b)


def same(a, b) -> bool:
    """IR statements compared by their text (Expr == builds an expression)."""
    return stmt_lines(a) == stmt_lines(b)


def test_facts_of_enclosing_conditions_and_loops():
    tx = GpuIndex(GpuAxis.THREAD_X)
    x = Ref("x", I32)
    store = Store("out", x, i32(1))
    body = Block((
        If(lt(tx, i32(16)), If(lt(tx, i32(32)), store)),          # tx < 16 ⇒ tx < 32
        If(lt(tx, i32(64)), store),                                 # the launch: tx < 64
        For("x", i32(0), i32(8), ForKind.SERIAL, If(lt(x, i32(8)), store)),
        For("x", i32(0), Dim("N"), ForKind.SERIAL, If(lt(x, Dim("N")), store)),
        If(lt(tx, i32(40)), If(lt(tx, i32(30)), store)),           # not implied: kept
    ))
    out = prove_guards(_kernel(body)).body
    assert same(out.stmts[0], If(lt(tx, i32(16)), store))
    assert same(out.stmts[1], store)
    assert same(out.stmts[2].body, store) and same(out.stmts[3].body, store)
    assert same(out.stmts[4], If(lt(tx, i32(40)), If(lt(tx, i32(30)), store)))


def test_a_false_condition_keeps_its_else_and_an_unknown_one_stays():
    x = Ref("x", I32)
    a, b = Store("out", x, i32(1)), Store("out", x, i32(2))
    body = For("x", i32(0), i32(8), ForKind.SERIAL, Block((
        If(lt(i32(9), x), a, b),                                   # x <= 7: never true
        If(lt(x, Dim("N")), a),                                    # N may be 1: kept
    )))
    out = prove_guards(_kernel(body)).body.body
    assert same(out, Block((b, If(lt(x, Dim("N")), a))))


def test_specialize_facts_and_size_facts():
    """Under ``N % 8 == 0``, ``8*i + 7 < N`` for i < N // 8; under ``1 < (N + 7) // 8`` too,
    ``8 + 7 < N``."""
    i = Ref("i", I32)
    n = Dim("N")
    divisible = binary(BinaryOp.EQ, binary(BinaryOp.MOD, n, i32(8)), i32(0))
    quot = binary(BinaryOp.FLOORDIV, binary(BinaryOp.ADD, n, i32(7)), i32(8))
    inner = lt(binary(BinaryOp.ADD, binary(BinaryOp.MUL, i32(8), i), i32(7)), n)
    store = Store("out", i, i32(1))
    body = If(divisible, Block((
        For("i", i32(0), quot, ForKind.SERIAL, If(inner, store)),
        If(lt(i32(1), quot), If(lt(i32(15), n), store)),
    )))
    out = prove_guards(_kernel(body)).body
    assert same(out.then.stmts[0].body, store)
    assert same(out.then.stmts[1], If(lt(i32(1), quot), store))
    undivided = prove_guards(_kernel(For("i", i32(0), quot, ForKind.SERIAL, If(inner, store))))
    assert same(undivided.body.body, If(inner, store))       # N = 9: 8*1 + 7 = 15 >= 9


def test_gpu_loop_locals_take_their_loops_range():
    """A local bound to a GPU loop is in [0, extent) whatever computes it (swizzled blocks)."""
    yo = Ref("yo", I32)
    store = Store("out", yo, i32(1))
    messy = binary(BinaryOp.MOD, binary(BinaryOp.MUL, GpuIndex(GpuAxis.BLOCK_X), i32(7)), Dim("N"))
    body = Block((Declare("yo", I32, messy), If(lt(yo, Dim("N")), store)))
    out = prove_guards(_kernel(body, ranges=(("yo", N),))).body
    assert same(out.stmts[1], store)
