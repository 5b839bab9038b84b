"""The ``cse`` pass: repeated integer subexpressions are computed once, kernel invariants once
per kernel, and nothing moves where it could fault or change a result."""
import sys
from pathlib import Path

import numpy as np
import pytest

import pipelines as P
import vortex as vx
from vortex.algorithm import dtypes as T
from vortex.algorithm.construct import binary
from vortex.algorithm.expr import BinaryOp, Const, Dim, Param, Select
from vortex.algorithm.symbolic import dim_symbol
from vortex.lower import driver
from vortex.lower.cse import CSE, cse_kernel
from vortex.lower.ir import (Block, BufferLoad, Declare, For, ForKind, GpuAxis, GpuIndex, If,
                             Kernel, Ref, Store, i32)
from vortex.lower.walk import stmts

from lower.cases import BY_ID

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
import matmul  # noqa: E402

I32, U32 = T.int32, T.uint32
K, N = Dim("K"), Dim("N")
D = Param("d", I32)
TX = GpuIndex(GpuAxis.THREAD_X)


def _kernel(body):
    return Kernel("k", (), body, (dim_symbol("N"), 1, 1), (64, 1, 1))


def _bin(op, a, b):
    return binary(op, a, b)


def _declares(s):
    return [x for x in stmts(s) if isinstance(x, Declare)]


def test_h100_matmul_computes_the_k_step_count_once():
    """The shipped H100 schedule printed for sm_90: ``vx_fdiv_int((K + 7), 8)`` (the number of
    ko steps, in both specialized versions' prologue conditions and loop bounds) was computed
    8 times; now once, at the top of the kernel, as is the block count ``(N + 127) // 128``."""
    pipe = matmul.pipeline()
    s = vx.Schedule.load(ROOT / "schedules" / "matmul" / "nvidia-h100.toml", pipe)
    src = vx.source(pipe, schedule=s, target="cuda", arch="sm_90")
    assert src.count("vx_fdiv_int((K + 7), 8)") == 1
    assert src.count("vx_fdiv_int((N + 127), 128)") == 1
    line = next(x for x in src.splitlines() if "vx_fdiv_int((K + 7), 8)" in x)
    assert line.startswith("  int cse_") and line.endswith(" = vx_fdiv_int((K + 7), 8);")


def _without_cse(monkeypatch):
    monkeypatch.setattr(driver, "PASSES", [p for p in driver.PASSES if p is not CSE])


def _both(monkeypatch, pipe, schedule, device):
    """(kernel with the cse pass, kernel without it) on the OpenCL device."""
    with_cse = vx.compile(pipe, schedule=schedule, target="opencl", device=device)
    with monkeypatch.context() as m:
        _without_cse(m)
        without = vx.compile(pipe, schedule=schedule, target="opencl", device=device)
    assert "cse_" in with_cse.source and "cse_" not in without.source
    return with_cse, without


def _staged_matmul(pipe):
    s = vx.Schedule(pipe)
    s["C"].tile("i", "j", "yo", "xo", "yi", "xi", 16, 16).gpu_blocks("yo", "xo")
    s["C"].gpu_threads("yi", "xi").split("k", "ko", "ki", 8)
    s["C"].stage("A", at="ko").stage("B", at="ko", swizzle="xor").pipeline("ko", stages=3)
    s["C"].specialize(vx.divisible("M", 16)).specialize(vx.divisible("N", 16))
    s["C"].specialize(vx.divisible("K", 8))
    return s


@pytest.mark.parametrize("shape", [(1, 1, 1), (130, 7, 9), (32, 48, 24), (17, 33, 61)])
def test_staged_matmul_bit_equal_with_and_without_cse(opencl_device, monkeypatch, shape):
    M, N_, K_ = shape
    pipe = matmul.pipeline()
    fast, plain = _both(monkeypatch, pipe, _staged_matmul(pipe), opencl_device)
    rng = np.random.default_rng(1)
    a, b = rng.random((M, K_), dtype=np.float32), rng.random((K_, N_), dtype=np.float32)
    out = fast(A=a, B=b)
    np.testing.assert_array_equal(out, plain(A=a, B=b))
    np.testing.assert_allclose(out, pipe.reference(A=a, B=b), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case, name", [("intops", "intops"), ("narrow", "narrow"),
                                        ("vectorize_factor", "blur"), ("compute_at", "blur"),
                                        ("specialize_shared", "blur")])
@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (37, 1023)])
def test_examples_exact_with_and_without_cse(opencl_device, monkeypatch, case, name, shape):
    pipe = P.pipe(name)
    fast, plain = _both(monkeypatch, pipe, BY_ID[case].build(pipe), opencl_device)
    args, ref = P.reference(name, shape)
    out = fast(**args)
    P.assert_matches(out, ref)
    for o, p in zip(out if isinstance(out, tuple) else (out,),
                    plain(**args) if isinstance(out, tuple) else (plain(**args),)):
        np.testing.assert_array_equal(o, p)


def test_repeats_within_a_statement_are_named_just_before_it():
    t = _bin(BinaryOp.FLOORDIV, Ref("t", I32), i32(8))
    store = Store("out", _bin(BinaryOp.ADD, t, i32(1)), _bin(BinaryOp.MUL, t, t))
    k = cse_kernel(_kernel(Block((Declare("t", I32, TX), store))))
    decl, new = k.body.stmts[1:]
    assert decl.name == "cse.0" and decl.value.key == t.key
    assert new.index.a.key == Ref("cse.0", I32).key and new.value.a.key == new.value.b.key


def test_a_guarded_division_by_a_param_stays_inside_its_guard():
    """``K // d`` under ``if (d != 0)``, twice in the kernel: a kernel invariant, but a signed
    division by a Param (``INT_MIN / -1`` traps), so it is not hoisted to the top; repeated
    within one store it is named inside the guard, just before that store."""
    q = _bin(BinaryOp.FLOORDIV, K, D)
    guard = _bin(BinaryOp.NE, D, i32(0))
    store = Store("out", TX, _bin(BinaryOp.ADD, q, _bin(BinaryOp.MUL, q, i32(3))))
    body = Block((If(guard, store), If(guard, Store("out", i32(0), q))))
    k = cse_kernel(_kernel(body))
    first, second = k.body.stmts
    assert isinstance(first, If) and isinstance(second, If)
    (decl,) = _declares(k.body)
    assert decl in first.then.stmts and decl.value.key == q.key
    assert second.then.value.key == q.key


def test_a_division_only_in_a_select_branch_is_not_lifted():
    """``(t * 7) // d`` twice, but only in a select's branches: evaluated before the statement it
    could trap where the select would not have evaluated it, so it stays in place."""
    q = _bin(BinaryOp.FLOORDIV, _bin(BinaryOp.MUL, Ref("t", I32), i32(7)), D)
    value = Select(_bin(BinaryOp.GT, D, i32(0)), _bin(BinaryOp.ADD, q, i32(1)),
                   _bin(BinaryOp.SUB, q, i32(1)), I32)
    k = cse_kernel(_kernel(Block((Declare("t", I32, TX), Store("out", TX, value)))))
    assert [d.name for d in _declares(k.body)] == ["t"]
    assert k.body.stmts[1].value.key == value.key


def test_safe_invariants_are_hoisted_out_of_guards_and_loops_but_loads_never_move():
    steps = _bin(BinaryOp.FLOORDIV, _bin(BinaryOp.ADD, K, i32(7)), i32(8))
    load = BufferLoad("a", _bin(BinaryOp.ADD, K, i32(1)), I32)
    loop = For("ko", i32(0), steps, ForKind.SERIAL,
               If(_bin(BinaryOp.LT, Ref("ko", I32), steps),
                  Store("out", Ref("ko", I32), _bin(BinaryOp.ADD, load, load))))
    k = cse_kernel(_kernel(loop))
    top, new = k.body.stmts
    assert top == Declare("cse.0", I32, steps)
    assert new.extent.key == Ref("cse.0", I32).key
    assert new.body.cond.b.key == Ref("cse.0", I32).key
    assert new.body.then.value.a.key == load.key   # the load stays, twice, in its statement


def test_fresh_names_skip_names_the_kernel_uses():
    t = _bin(BinaryOp.MUL, Ref("cse.0", I32), i32(3))
    body = Block((Declare("cse.0", I32, TX), Declare("cse.1", I32, TX),
                  Store("out", t, _bin(BinaryOp.ADD, t, Ref("cse.1", I32)))))
    k = cse_kernel(_kernel(body))
    assert k.body.stmts[2] == Declare("cse.2", I32, t)


def test_float_subexpressions_and_signed_zero_constants_are_kept_apart():
    """Only integer expressions are named (float ones keep their rounding as written), and
    ``x * -0.0`` is not ``x * 0.0``."""
    f = Ref("f", T.float32)
    pos = _bin(BinaryOp.MUL, f, Const.make(0.0, T.float32))
    neg = _bin(BinaryOp.MUL, f, Const.make(-0.0, T.float32))
    ip, ineg = vx.cast(vx.int32, pos), vx.cast(vx.int32, neg)
    store = Store("out", TX, _bin(BinaryOp.ADD, ip, ineg))
    k = cse_kernel(_kernel(Block((Declare("f", T.float32, Const.make(1.0, T.float32)), store))))
    assert len(_declares(k.body)) == 1


def test_int_min_by_minus_one_under_a_select_stays_under_it(opencl_device):
    """``p // d`` under ``select(d != -1, …)``, twice in one statement: never lifted before the
    select (p = INT_MIN, d = -1 is undefined in C, a trap on x86), and right for every value."""
    p, d = vx.Param("p", vx.int32), vx.Param("d", vx.int32)
    n = vx.Dim("n")
    v, (x, xi) = vx.Input("v", vx.int32, (n,)), vx.vars("x xi")
    f = vx.Func("f", shape=(n,))
    f[x] = vx.select(d != -1, v[x] + p // d, v[x]) + vx.select(d != -1, p // d, 0)
    pipe = vx.Pipeline(f)
    s = vx.Schedule(pipe)
    s[f].split(x, x, xi, 16).gpu_blocks(x).gpu_threads(xi)
    k = vx.compile(pipe, schedule=s, target="opencl", device=opencl_device)
    lines = [ln for ln in k.source.splitlines() if "vx_fdiv_int(p, d)" in ln]
    assert lines and all(ln.count("vx_fdiv_int(p, d)") == 2 and
                         ln.count("(d != (-1)) ?") == 2 for ln in lines)   # per version of the tile
    vals = np.arange(37, dtype=np.int32)
    for pv, dv in ((-2**31, -1), (100, 0), (-7, 3), (2**31 - 1, -1)):
        expect = vals if dv == -1 else vals + 2 * (pv // dv if dv else 0)
        np.testing.assert_array_equal(k(v=vals, p=pv, d=dv), expect)
