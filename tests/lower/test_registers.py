"""The ``registers`` pass (issue 11 item 3): a thread's accumulator array read at constant
elements (after unroll) or at ``c + lane`` of vectorized loops becomes scalar locals and
lane-wide vectors (``floatN`` on OpenCL); results stay exactly the reference's; arrays read any
other way stay arrays."""
import re
from pathlib import Path

import numpy as np
import pytest

import vortex as vx
from vortex import codegen
from vortex.algorithm import dtypes as T
from vortex.algorithm.construct import binary
from vortex.algorithm.expr import BinaryOp, Const, Select
from vortex.examples import load_example
from vortex.lower import lower
from vortex.lower.driver import Lowered
from vortex.lower.ir import (Allocate, AsyncCopy, Block, BufferLoad, Declare, For, ForKind, If,
                             Kernel, KernelParam, MemorySpace, Ref, Store, i32)
from vortex.lower.ir_text import stmt_lines
from vortex.lower.registers import REGISTERS, lane_arrays, promote_registers
from vortex.lower.walk import stmts

ROOT = Path(__file__).resolve().parents[2]
MATMUL = load_example(ROOT / "examples" / "matmul.py")
SIZES = [(1, 1, 1), (7, 7, 7), (33, 33, 33), (100, 100, 100), (33, 100, 7)]   # M, N, K
ARRAY_DECL = re.compile(r"^\s*(?:float|int|double)\w* \w+\[\d+\];", re.M)   # a private array


def micro_tile(rows: int, cols: int, vector: int | None, k_unroll: int = 2, threads=(2, 4),
               lanes_split: int | None = None):
    """Matmul with a ``rows`` × ``cols`` register micro-tile per thread (``threads`` = (y, x)
    threads per block), k split by ``k_unroll`` and unrolled; the columns vectorized by
    ``vector`` (None: unrolled), or split into unrolled groups of ``lanes_split`` vector lanes."""
    pipe = MATMUL.pipeline()
    s = vx.Schedule(pipe)
    c = s["C"].tile("i", "j", "yo", "xo", "yi", "xi", rows * threads[0], cols * threads[1])
    c.split("yi", "yt", "yii", rows).split("xi", "xt", "xii", cols)
    c.gpu_blocks("yo", "xo").gpu_threads("yt", "xt").split("k", "ko", "ki", k_unroll)
    if lanes_split:
        c.split("xii", "xu", "xv", lanes_split).reorder("ko", "ki", "yii", "xu", "xv")
        c.unroll("ki").unroll("yii").unroll("xu").vectorize("xv")
    else:
        c.reorder("ko", "ki", "yii", "xii").unroll("ki").unroll("yii")
        c.vectorize("xii") if vector else c.unroll("xii")
    return pipe, s


SCHEDULES = {
    "4x8 float8": lambda: micro_tile(4, 8, 8),
    "2x16 float16": lambda: micro_tile(2, 16, 16, k_unroll=3),
    "2x8 as 2 float4": lambda: micro_tile(2, 8, None, lanes_split=4),
    "2x4 scalars": lambda: micro_tile(2, 4, None),
    "shipped pocl-cpu": lambda: (MATMUL.pipeline(), vx.Schedule.load(
        str(ROOT / "schedules" / "matmul" / "pocl-cpu.toml"), MATMUL.pipeline())),
}


def local_arrays(lowered):
    return [a for k in lowered.kernels for a in stmts(k.body)
            if isinstance(a, Allocate) and a.memory is MemorySpace.LOCAL]


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_micro_tiles_match_the_reference_exactly_on_pocl(name, opencl_device):
    pipe, s = SCHEDULES[name]()
    kernel = vx.compile(pipe, schedule=s, target="opencl", device=opencl_device)
    assert not ARRAY_DECL.search(kernel.source), "a private array is left"
    for m, n, k in SIZES:
        rng = np.random.default_rng(m * 1000 + n + k)
        a, b = rng.random((m, k), dtype=np.float32), rng.random((k, n), dtype=np.float32)
        np.testing.assert_array_equal(kernel(A=a, B=b), pipe.reference(A=a, B=b),
                                      err_msg=str((m, n, k)))


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_no_accumulator_array_is_left_in_the_ir(name):
    """Every local array left is one lane range that the vectorized loops read at the lane
    alone (an OpenCL vector); scalar micro-tiles leave none."""
    pipe, s = SCHEDULES[name]()
    lowered = lower(pipe, s)
    arrays = local_arrays(lowered)
    vectors = {n for k in lowered.kernels for n in lane_arrays(k)}
    assert all(a.name in vectors and a.size in (4, 8, 16) for a in arrays), arrays
    if name == "2x4 scalars":
        assert not arrays
        assert any(isinstance(d, Declare) and d.value is None for k in lowered.kernels
                   for d in stmts(k.body))


def test_the_opencl_source_keeps_each_accumulator_row_in_one_vector():
    pipe, s = SCHEDULES["4x8 float8"]()
    src = vx.source(pipe, s, target="opencl")
    assert len(re.findall(r"^\s*float8 C_acc_v\d+;$", src, re.M)) == 4 * 2   # two versions
    assert not re.search(r"vload8\(0, C_acc|vx_vload8_float_\w+\(C_acc", src)
    assert "vx_vstore8_float_global(C_acc_v0, C + " in src
    assert re.search(r"C_acc_v8 = \(C_acc_v8 \+ ", src)


@pytest.mark.parametrize("name", ["2x4 scalars", "4x8 float8"])
def test_micro_tiles_compile_for_cuda_and_hip(name, offline):
    """CUDA/HIP: a scalar micro-tile has no private array at all; a vectorized one keeps only
    its lane-wide arrays, read in the unrolled lane loop."""
    target, build = offline
    pipe, s = SCHEDULES[name]()
    src = build(pipe, s).source
    decls = ARRAY_DECL.findall(src)
    if name == "2x4 scalars":
        assert not decls and "C_acc_r7" in src
    else:
        assert decls and all(d.strip().endswith("[8];") for d in decls)


def test_the_shipped_gpu_schedule_keeps_its_accumulators_in_scalars():
    lowered = lower(MATMUL.pipeline(), vx.Schedule.load(
        str(ROOT / "schedules" / "matmul" / "nvidia-h100.toml"), MATMUL.pipeline()))
    assert not local_arrays(lowered)


# --- the pass on small kernels ----------------------------------------------------------------
F32 = T.float32


def lane(name):
    return Ref(name, T.int32)


def vloop(var: str, n: int, body):
    return For(var, i32(0), i32(n), ForKind.VECTORIZED, body)


def kernel(*body, size=8, params=()):
    return Kernel("k", params, Block((Allocate("acc", F32, size, MemorySpace.LOCAL), *body)),
                  (1, 1, 1), (1, 1, 1))


def acc(index):
    return BufferLoad("acc", index, F32)


def offset(e, c: int):
    return binary(BinaryOp.ADD, e, i32(c))


def bump(index, value=1.0):
    """``acc[index] + value``."""
    return binary(BinaryOp.ADD, acc(index), Const.make(value, F32))


def zero():
    return Const.make(0.0, F32)


def test_constant_elements_become_scalars_and_lane_ranges_vectors():
    k = promote_registers(kernel(
        vloop("l", 4, Store("acc", offset(lane("l"), 4), zero())),
        Store("acc", i32(1), bump(i32(1))),
        Store("acc", i32(6), bump(i32(6)))))   # element 6 lies in the lane range [4, 8)
    assert stmt_lines(k.body) == [
        "allocate acc.v4: float32[4] in local",
        "let acc.r1: float32",
        "for l in [0, 4) vectorized:",
        "  acc.v4[l] = 0.0",
        "acc.r1 = acc.r1 + 1.0",
        "acc.v4[2] = acc.v4[2] + 1.0"]


@pytest.mark.parametrize("why, body", [
    ("a serial counter", [For("s", i32(0), i32(8), ForKind.SERIAL,
                              Store("acc", lane("s"), zero()))]),
    ("two lane ranges overlap", [vloop("l", 4, Store("acc", lane("l"), zero())),
                                 vloop("m", 4, Store("acc", offset(lane("m"), 2), zero()))]),
    ("a stride of 2 per lane", [vloop("l", 4, Store("acc", binary(BinaryOp.MUL, lane("l"), i32(2)),
                                                    zero()))]),
    ("past the end", [Store("acc", i32(8), zero())]),
    ("an asynchronous copy", [AsyncCopy("acc", i32(0), "A", i32(0), F32, dst_shared=False)]),
])
def test_an_array_read_any_other_way_stays(why, body):
    k = kernel(*body)
    assert stmt_lines(promote_registers(k).body) == stmt_lines(k.body), why


def test_the_pass_runs_after_partition_and_before_cse():
    from vortex.lower.driver import PASSES
    names = [p.name for p in PASSES]
    assert names.index("partition") < names.index(REGISTERS.name) < names.index("cse")


def test_a_vector_local_prints_and_runs_on_pocl(opencl_device):
    """Lane body ``acc``, constant element ``acc.s2``, a lane loop the vector printer cannot
    vectorize (a nested loop whose extent varies with the lane: one trip in lane 1, none in the
    others) as one copy per lane (``acc.s1``, no variable subscript); the values are the scalar
    program's."""
    out = KernelParam("out", F32, True, True)
    trips = Select(binary(BinaryOp.EQ, lane("m"), i32(1)), i32(1), i32(0), T.int32)
    nested = For("t", i32(0), trips, ForKind.SERIAL,
                 Store("acc", lane("m"), bump(lane("m"), 10.0)))
    k = promote_registers(kernel(
        vloop("l", 4, Store("acc", lane("l"), binary(BinaryOp.MUL, Const.make(2.0, F32),
                                                      Const.make(1.0, F32)))),
        Store("acc", i32(2), bump(i32(2), 5.0)),
        vloop("m", 4, nested),
        vloop("o", 4, Store("out", lane("o"), acc(lane("o")))), size=4, params=(out,)))
    assert not [a for a in stmts(k.body) if isinstance(a, Allocate) and a.name == "acc"]
    src, (result,) = run_on_pocl(opencl_device, k, 4)
    assert "acc_v0.s2 = (acc_v0.s2 + 5.0f);" in src and "acc_v0[" not in src
    assert "acc_v0.s1 = (acc_v0.s1 + 10.0f);" in src and not ARRAY_DECL.search(src)
    np.testing.assert_array_equal(result, [2.0, 12.0, 7.0, 2.0])


def run_on_pocl(device, k, n: int):
    """Print ``k`` (params: float32 buffers of ``n`` elements each), run it once on PoCL and
    return (source, the buffers' values)."""
    import pyopencl as cl
    from vortex.runtime.opencl import BUILD_OPTIONS
    from vortex.runtime.opencl_device import context_queue
    ks = codegen.generate(Lowered("t", (k,), (), tuple(p.name for p in k.params)), "opencl")
    ctx, queue = context_queue(device)
    prog = cl.Program(ctx, ks.code).build(options=list(BUILD_OPTIONS))
    bufs = [cl.Buffer(ctx, cl.mem_flags.READ_WRITE, 4 * n) for _ in k.params]
    getattr(prog, ks.launches[0].entry)(queue, (1,), (1,), *bufs)
    values = [np.empty(n, np.float32) for _ in bufs]
    for v, b in zip(values, bufs):
        cl.enqueue_copy(queue, v, b)
    return ks.code, values


@pytest.mark.parametrize("limit", [3, 0, 8])
@pytest.mark.parametrize("unguarded", [False, True])
def test_a_guarded_lane_loop_skips_its_scalar_lanes_only_when_every_store_is_guarded(
        limit, unguarded, opencl_device):
    """``if (all(l < limit)) vector else if (any(l < limit)) lanes`` (inline mask tests); a
    store outside the guard runs in every lane, so then the scalar lanes run whatever the
    guard."""
    params = (KernelParam("out", F32, True, True), KernelParam("other", F32, True, True))
    body = [If(binary(BinaryOp.LT, lane("l"), i32(limit)), Store("out", lane("l"), Const.make(
        1.0, F32)))] + ([Store("other", lane("l"), Const.make(2.0, F32))] if unguarded else [])
    k = Kernel("k", params, Block((
        vloop("z", 8, Block((Store("out", lane("z"), zero()), Store("other", lane("z"), zero())))),
        vloop("l", 8, Block(tuple(body))))), (1, 1, 1), (1, 1, 1))
    src, (out, other) = run_on_pocl(opencl_device, k, 8)
    assert ("} else if (vx_any8(" in src) != unguarded and "if (vx_all8(" in src
    np.testing.assert_array_equal(out, [1.0 if i < limit else 0.0 for i in range(8)])
    np.testing.assert_array_equal(other, [2.0 if unguarded else 0.0] * 8)


@pytest.mark.parametrize("n", [2, 3, 4, 8, 16])
def test_the_inline_mask_tests_are_all_and_any(n, opencl_device):
    """vx_allN / vx_anyN (opencl_access.py) against numpy on masks of 0 and -1 and on other
    values (the sign bit decides, as for the builtins)."""
    import pyopencl as cl
    from vortex.codegen.opencl_access import mask_test
    from vortex.runtime.opencl import BUILD_OPTIONS
    from vortex.runtime.opencl_device import context_queue
    helpers = {}
    fns = [mask_test(helpers, "inline", op, n) for op in ("all", "any")]
    src = "".join(helpers.values()) + f"""
__kernel void t(__global const int* m, __global int* out) {{
  int i = get_global_id(0);
  int{n} v = vload{n}(i, m);
  out[2 * i] = {fns[0]}(v); out[2 * i + 1] = {fns[1]}(v);
}}"""
    rng = np.random.default_rng(n)
    masks = np.concatenate([-rng.integers(0, 2, (200, n)), rng.integers(-9, 9, (56, n))])
    masks = masks.astype(np.int32)
    ctx, queue = context_queue(opencl_device)
    prog = cl.Program(ctx, src).build(options=list(BUILD_OPTIONS))
    mf = cl.mem_flags
    m_buf = cl.Buffer(ctx, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=np.ascontiguousarray(masks))
    out_buf = cl.Buffer(ctx, mf.WRITE_ONLY, 8 * len(masks))
    prog.t(queue, (len(masks),), None, m_buf, out_buf)
    out = np.empty(2 * len(masks), np.int32)
    cl.enqueue_copy(queue, out, out_buf)
    np.testing.assert_array_equal(out[0::2], (masks < 0).all(axis=1))
    np.testing.assert_array_equal(out[1::2], (masks < 0).any(axis=1))
