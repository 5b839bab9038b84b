"""The ``partition`` pass (issue 11 item 2, Halide's PartitionLoops as per-tile versions):
interior tiles run their loops without bounds guards, edge tiles keep them; results equal the
reference at sizes that are and are not multiples of the tile; what cannot be proven stays."""
from pathlib import Path

import numpy as np
import pytest

import vortex as vx
from vortex.examples import load_example
from vortex.lower import driver
import vortex.lower.ir_text  # noqa: F401  (vx.lower.ir_text)
from vortex.lower.ir import AsyncCopy, Barrier, Block, For, If, Ref, Store, block, i32
from vortex.lower.partition import partition
from vortex.lower.walk import stmts

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def blur_schedule(producer=None):
    pipe = load_example(EXAMPLES / "blur.py").pipeline()
    s = vx.Schedule(pipe)
    s["blur"].gpu_tile("y", "x", "yo", "xo", "yi", "xi", 8, 16).gpu_blocks("c")
    if producer:
        producer(s["blur_x"].compute_at("blur", "xo"))
    return pipe, s


def test_an_interior_tile_stores_without_guards():
    pipe, s = blur_schedule()
    src = vx.source(pipe, s, target="cuda", arch="sm_90")
    test = next(ln for ln in src.splitlines() if ln.startswith("  if ("))
    assert "< W)" in test and "< H)" in test      # the tile's last column and row
    steady = src.split(test)[1].split("  } else {")[0]
    assert "blur[" in steady and "if (" not in steady
    assert "min(max(" not in steady          # the interior reads the image without clamping
    assert "min(max(" in src.split(test)[1].split("  } else {")[1]   # the edge tiles clamp


def test_a_fill_with_a_barrier_after_it_is_versioned_by_itself():
    """The compute_at fill (no barrier inside) gets its own interior test; the thread guard
    ``threadIdx.x < 12`` (always false at the last thread) stays and narrows the rows' range."""
    pipe, s = blur_schedule(lambda f: f.gpu_threads("y").vectorize("x", 4))
    (k,) = driver.lower(pipe, s, [p for p in driver.PASSES if p.name != "cse"]).kernels
    body = next(b.stmts for b in stmts(k.body) if isinstance(b, Block) and
                any(isinstance(x, Barrier) for x in b.stmts))
    fill = body[next(i for i, x in enumerate(body) if isinstance(x, Barrier)) - 1]
    assert isinstance(fill, If) and isinstance(fill.otherwise, Block | If)
    text = vx.lower.ir_text.expr_text(fill.cond)
    assert "blur_x.lo1 + 11" in text and "blur_x.lo2 + 15" in text and "< 12" not in text
    kept = [vx.lower.ir_text.expr_text(x.cond) for x in stmts(fill.then) if isinstance(x, If)]
    assert len(kept) == 2 and any("< 12" in c for c in kept)    # the thread guards only


@pytest.mark.parametrize("producer", [None, lambda f: f.gpu_threads("x", "y"),
                                      lambda f: f.gpu_threads("y").vectorize("x", 4)])
def test_versions_agree_with_the_reference(producer, opencl_device):
    pipe, s = blur_schedule(producer)
    k = vx.compile(pipe, s, target="opencl", device=opencl_device)
    rng = np.random.default_rng(2)
    for h, w in ((1, 1), (8, 16), (9, 17), (24, 48), (37, 101)):
        img = rng.random((2, h, w), dtype=np.float32)
        np.testing.assert_array_equal(k(img=img), pipe.reference(img=img), err_msg=f"{h}×{w}")


def test_a_staged_matmul_versions_its_copies_and_stays_exact(opencl_device):
    pipe = load_example(EXAMPLES / "matmul.py").pipeline()
    s = vx.Schedule.load(Path(__file__).resolve().parents[2] / "schedules/matmul/pocl-cpu.toml",
                         pipe)
    k = vx.compile(pipe, s, target="opencl", device=opencl_device)
    rng = np.random.default_rng(4)
    for m, n, kk in ((1, 1, 1), (64, 64, 64), (67, 61, 33), (130, 7, 129)):
        a, b = rng.random((m, kk), dtype=np.float32), rng.random((kk, n), dtype=np.float32)
        np.testing.assert_allclose(k(A=a, B=b), pipe.reference(A=a, B=b), rtol=1e-5, atol=1e-5)


def test_a_guard_on_a_loaded_value_stays():
    """``if (idx[t] < n)`` reads memory: no outside test can prove it; nothing is versioned."""
    from vortex.lower.ir import BufferLoad, ForKind, GpuAxis, Kernel
    t = Ref("t", vx.int32)
    guard = If(BufferLoad("idx", t, vx.int32) < vx.Dim("n"), Store("out", t, i32(1)))
    body = For("b", i32(0), vx.Dim("g"), ForKind.GPU_BLOCK,
               For("t", i32(0), i32(8), ForKind.GPU_THREAD, guard, GpuAxis.THREAD_X),
               GpuAxis.BLOCK_X)
    k = Kernel("k", (), block(body), (1, 1, 1), (8, 1, 1))
    assert partition(k).body == k.body


def test_statements_with_a_barrier_are_not_versioned_whole():
    pipe, s = blur_schedule(lambda f: f.gpu_threads("x", "y"))
    (k,) = driver.lower(pipe, s).kernels
    for x in stmts(k.body):
        if isinstance(x, If):
            assert not any(isinstance(y, Barrier) for y in stmts(x.then)), x.cond
    assert not any(isinstance(x, AsyncCopy) for x in stmts(k.body))


def test_a_specialized_stage_keeps_its_versions():
    """The shipped A100 matmul (specialize on M, N, K) is not versioned again: a third copy of
    its register-tiled body made NVRTC spill (40 bytes) under its 128-register budget."""
    pipe = load_example(EXAMPLES / "matmul.py").pipeline()
    s = vx.Schedule.load(Path(__file__).resolve().parents[2] / "schedules/matmul/nvidia-a100.toml",
                         pipe)
    with_pass = driver.lower(pipe, s).kernels
    without = driver.lower(pipe, s, [p for p in driver.PASSES if p.name != "partition"]).kernels
    assert [vx.lower.ir_text.kernel_text(k) for k in with_pass] == \
        [vx.lower.ir_text.kernel_text(k) for k in without]
