"""The ``trim no-ops`` pass (issue 15, Halide's ``TrimNoOps``): a serial loop holding barriers
runs only the iterations where some thread of the block does something, with bounds the same
for every thread.

- a recurrence over a triangular (or banded) RDom with a producer in shared memory at its tile
  loop: PoCL == pipe.reference at awkward sizes; the tile loop, run by a host interpreter of its
  bounds, takes exactly the tiles that hold a point of the domain (the box without the pass);
- causal attention (the PoCL and the GPU schedules, built here): PoCL == numpy at S = 1, 17,
  128, 1000, causal and not; the key-tile loop's trimmed bound is in the IR, its tiles are the
  triangle's; the non-causal kernel is unchanged; the GPU schedule run with one host thread per
  GPU thread (real barriers: a thread-dependent trip count would deadlock), and compiled by NVRTC;
- refusals on hand-built IR: a box that is not refilled at the loop (store_at), read after it,
  or an effect no guard bounds keeps the whole loop.
"""
from pathlib import Path

import numpy as np
import pytest

import vortex as vx
import compilers
from vortex.algorithm import dtypes as T
from vortex.algorithm.construct import binary
from vortex.algorithm.expr import BinaryOp, Dim
from vortex.codegen import generate
from vortex.examples import load_example
from vortex.lower import driver
from vortex.lower.ir import (Allocate, Barrier, BufferLoad, For, ForKind, GpuAxis, GpuIndex, If,
                             Kernel, MemorySpace, Ref, Store, block, i32)
from vortex.lower.ir_text import kernel_text
from vortex.lower.trim import TRIM, refilled_boxes, trim
from vortex.lower.walk import stmts

from lower.test_tighten import evaluate
from lower.threads_on_host import run as run_threads

ROOT = Path(__file__).resolve().parents[2]
attention = load_example(ROOT / "examples" / "attention.py")
UP_TO_TRIM = driver.PASSES[:driver.PASSES.index(TRIM) + 1]
WITHOUT_TRIM = [p for p in driver.PASSES if p is not TRIM]
BLOCK, TILE = 8, 5          # the recurrence: queries per block, keys per tile

PREDICATES = {              # where() conditions on the key r for the query i
    "lower": lambda r, i: [r <= i],
    "upper": lambda r, i: [r >= i],
    "band": lambda r, i: [r <= i, i - 3 <= r],
}
MASKS = {"lower": lambda r, i: r <= i, "upper": lambda r, i: r >= i,
         "band": lambda r, i: (r <= i) & (i - 3 <= r)}


def recurrence(which: str) -> vx.Pipeline:
    """``y[i] = Σ_r 0.75^(…) p[r]`` as a recurrence in r order (y = 0.75·y + p[r]) over the keys
    ``r`` of (N,) float32 ``x`` satisfying ``PREDICATES[which]``; ``p[j] = 0.5·x[j] + 1``."""
    N = vx.Dim("N")
    x = vx.Input("x", vx.float32, (N,))
    i, j = vx.vars("i j")
    p = vx.Func("p")
    p[j] = x[j] * np.float32(0.5) + np.float32(1)
    r = vx.RDom(N, name="r")
    for c in PREDICATES[which](r, i):
        r.where(c)
    y = vx.Func("y", shape=(N,))
    y[i] = np.float32(0)
    y[i] = y[i] * np.float32(0.75) + p[r]
    return vx.Pipeline(y)


def tiles(pipe) -> vx.Schedule:
    """Blocks of BLOCK queries (a thread each), keys in tiles of TILE, ``p`` filled per tile in
    shared memory by the block (between two barriers)."""
    s = vx.Schedule(pipe)
    s["y"].split("i", "io", "ii", BLOCK).gpu_blocks("io").gpu_threads("ii")
    u = s["y"].update(0)
    u.split("i", "io", "ii", BLOCK).split("r", "ro", "ri", TILE).reorder("io", "ii", "ro", "ri")
    u.gpu_blocks("io").gpu_threads("ii")
    s["p"].compute_at("y.update(0)", "ro").store_in("shared")
    return s


def pocl_attention(pipe) -> vx.Schedule:
    """schedules/attention/pocl-cpu.toml as it was when this test was written."""
    s = vx.Schedule(pipe)
    for f in ("O", "F"):
        s[f].split("s", "so", "si", 16).gpu_blocks("so", "h").gpu_threads("si").vectorize("d", 8)
    u = s["F"].update(0)
    u.split("s", "so", "si", 16).split("d", "do", "di", 8).split("r", "ro", "ri", 32)
    u.reorder("b", "h", "so", "si", "ro", "do", "ri", "di").gpu_blocks("so", "h")
    u.gpu_threads("si").vectorize("di")
    s["score"].compute_at("F.update(0)", "ro").store_in("shared")
    return s


def gpu_attention(pipe, tile: int = 32) -> vx.Schedule:
    """schedules/attention/nvidia-h100.toml as it was when this test was written: a thread per
    (query, output), the block's 16 queries × D outputs fill each tile's scores together (key
    tiles of ``tile``)."""
    s = vx.Schedule(pipe)
    for f in ("O", "F"):
        s[f].split("s", "so", "si", 4).gpu_blocks("so", "h").gpu_threads("d", "si")
    u = s["F"].update(0)
    u.split("s", "so", "si", 16).split("r", "ro", "ri", tile)
    u.reorder("b", "h", "so", "si", "d", "ro", "ri").gpu_blocks("so", "h", "b")
    u.gpu_threads("d", "si")
    s["score"].compute_at("F.update(0)", "ro").store_in("shared")
    return s


def update_kernel(pipe, schedule, name, passes):
    return next(k for k in driver.lower(pipe, schedule, passes).kernels if k.name == name)


def loop(k: Kernel, var: str) -> For:
    return next(x for x in stmts(k.body) if isinstance(x, For) and x.var == var)


def iterations(k: Kernel, var: str, block_var: str, blocks: int, dims: dict) -> int:
    """How many iterations loop ``var`` of ``k`` runs over all ``blocks`` values of the block
    counter ``block_var`` (its bounds evaluated on the host)."""
    f = loop(k, var)
    return sum(max(evaluate(f.extent, {**dims, block_var: b}), 0) for b in range(blocks))


def wanted_tiles(n: int, mask) -> int:
    """Pairs (query block, key tile) holding at least one (query, key) of the domain."""
    i, r = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    hit = mask(r, i)
    return sum(bool(hit[b:b + BLOCK, t:t + TILE].any())
               for b in range(0, n, BLOCK) for t in range(0, n, TILE))


@pytest.mark.parametrize("which", PREDICATES)
def test_recurrence_matches_the_reference_on_pocl(opencl_device, which):
    pipe = recurrence(which)
    kernel = vx.compile(pipe, schedule=tiles(pipe), target="opencl", device=opencl_device)
    for n in (1, 2, 7, 13, 41, 100):
        x = np.random.default_rng(n).standard_normal(n).astype(np.float32)
        np.testing.assert_allclose(kernel(x=x), pipe.reference(x=x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("which", PREDICATES)
def test_the_tile_loop_runs_the_tiles_of_the_domain(which):
    """Host evaluation of the trimmed bounds: exactly the (block, tile) pairs with a point of
    the domain; without the pass, every tile of every block."""
    pipe = recurrence(which)
    k = update_kernel(pipe, tiles(pipe), "y_update0_kernel", UP_TO_TRIM)
    before = update_kernel(pipe, tiles(pipe), "y_update0_kernel",
                           [p for p in UP_TO_TRIM if p is not TRIM])
    assert any(isinstance(x, Barrier) for x in stmts(loop(k, "ro").body))
    assert "io" in repr(loop(k, "ro").extent)       # the block's counter bounds it
    for n in (1, 7, 13, 41, 100):
        blocks = -(-n // BLOCK)
        got = iterations(k, "ro", "io", blocks, {"N": n})
        assert got == wanted_tiles(n, MASKS[which])
        assert iterations(before, "ro", "io", blocks, {"N": n}) == blocks * -(-n // TILE)


def qkv(S, heads=2, kv_heads=1, D=64, seed=0):
    rng = np.random.default_rng(seed)
    return {"Q": rng.standard_normal((1, heads, S, D)).astype(np.float32),
            "K": rng.standard_normal((1, kv_heads, S, D)).astype(np.float32),
            "V": rng.standard_normal((1, kv_heads, S, D)).astype(np.float32)}


@pytest.mark.parametrize("causal", [True, False], ids=["causal", "full"])
def test_attention_matches_numpy_on_pocl(opencl_device, causal):
    pipe = attention.pipeline(64, causal)
    kernel = vx.compile(pipe, schedule=pocl_attention(pipe), target="opencl",
                        device=opencl_device)
    for S in (1, 17, 128, 1000):
        args = qkv(S, seed=S)
        np.testing.assert_allclose(kernel(**args), attention.numpy_version(**args, causal=causal),
                                   rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("schedule", [pocl_attention, gpu_attention])
def test_causal_attention_runs_the_triangle_of_key_tiles(schedule):
    """The key-tile loop of a block of 16 queries ends after the tile of its last query
    (``(16·so + 47) // 32``): 1024 of 2016 (block, tile) pairs at S = 1000."""
    pipe = attention.pipeline(64, True)
    k = update_kernel(pipe, schedule(pipe), "F_update0_kernel", driver.PASSES)
    assert "(so * 16 + 47) // 32" in kernel_text(k)        # in the final IR too
    k = update_kernel(pipe, schedule(pipe), "F_update0_kernel", UP_TO_TRIM)
    for S in (1, 17, 128, 1000):
        blocks = -(-S // 16)
        want = sum(min(16 * so + 15, S - 1) // 32 + 1 for so in range(blocks))
        assert iterations(k, "ro", "so", blocks, {"S": S}) == want
    assert want == 1024 and blocks * -(-1000 // 32) == 2016


def test_non_causal_attention_is_unchanged():
    pipe = attention.pipeline(64, False)
    for schedule in (pocl_attention, gpu_attention):
        with_trim = update_kernel(pipe, schedule(pipe), "F_update0_kernel", driver.PASSES)
        without = update_kernel(pipe, schedule(pipe), "F_update0_kernel", WITHOUT_TRIM)
        assert kernel_text(with_trim) == kernel_text(without)


@pytest.mark.parametrize("S, tile", [(17, 32), (70, 24)])
def test_gpu_schedule_with_host_threads(S, tile):
    """The GPU schedule's CUDA source with one host thread per GPU thread (16 × 16: D = 16):
    every thread takes the same trimmed trip count, or the barriers would never open; tiles of
    24 keys end inside a block's queries (the bound is the last query's, not the first's)."""
    pipe = attention.pipeline(16, True)
    source = generate(driver.lower(pipe, gpu_attention(pipe, tile)), "cuda")
    assert "__syncthreads" in source.code
    args = qkv(S, D=16, seed=S)
    out = run_threads(source, {"B": 1, "H": 2, "HK": 1, "S": S}, args)
    np.testing.assert_allclose(out["O"], attention.numpy_version(**args), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("target, arch", [("cuda", "sm_90"), ("hip", "gfx90a")])
def test_gpu_schedule_compiles(target, arch):
    """NVRTC / hiprtc take the trimmed loop (its end printed with the floor division)."""
    compilers.NEED[target]()
    pipe = attention.pipeline(64, True)
    kernel = vx.compile(pipe, schedule=gpu_attention(pipe), target=target, arch=arch)
    assert "vx_fdiv_int(((so * 16) + 47), 32)" in kernel.source
    assert kernel.binary


# --- refusals, on hand-built IR -----------------------------------------------------------------
N = Dim("N")


def _kernel(read_after: bool = False, guarded: bool = True) -> Kernel:
    """4 threads; ``for v in [0, N)``: barrier, ``box.sh[t] = t``, barrier, then (if ``4·so + t
    >= 2·v``) ``out[…] = box.sh[…]``."""
    t, so, v = GpuIndex(GpuAxis.THREAD_X), Ref("so", T.int32), Ref("v", T.int32)
    use = Store("out", binary(BinaryOp.ADD, binary(BinaryOp.MUL, so, i32(4)), t),
                BufferLoad("box.sh", t, T.float32))
    cond = binary(BinaryOp.GE, binary(BinaryOp.ADD, binary(BinaryOp.MUL, so, i32(4)), t),
                  binary(BinaryOp.MUL, v, i32(2)))
    body = block(Barrier(), Store("box.sh", t, binary(BinaryOp.ADD, t, i32(0))), Barrier(),
                 If(cond, use) if guarded else use)
    after = Store("out", t, BufferLoad("box.sh", t, T.float32)) if read_after else None
    inner = block(For("v", i32(0), N, ForKind.SERIAL, body), after)
    top = block(Allocate("box.sh", T.float32, 4, MemorySpace.SHARED),
                For("so", i32(0), N, ForKind.GPU_BLOCK, inner, GpuAxis.BLOCK_X))
    return Kernel("k", (), top, (N, 1, 1), (4, 1, 1))


def test_a_refilled_box_is_trimmed():
    k = trim(_kernel(), {"v": {"box"}})
    assert repr(loop(k, "v").extent) != repr(N)
    assert [evaluate(loop(k, "v").extent, {"N": 100, "so": so}) for so in range(3)] == [2, 4, 6]


@pytest.mark.parametrize("case", ["not refilled", "read after the loop", "unguarded"])
def test_the_loop_is_kept_whole(case):
    """The box's writes are effects when it is not refilled at the loop (a store_at window) or
    is read after it; an unguarded effect happens at every iteration."""
    kernel = {"not refilled": lambda: trim(_kernel(), {}),
              "read after the loop": lambda: trim(_kernel(read_after=True), {"v": {"box"}}),
              "unguarded": lambda: trim(_kernel(guarded=False), {"v": {"box"}})}[case]()
    assert repr(loop(kernel, "v").extent) == repr(N)


def test_a_sliding_window_is_not_a_refilled_box():
    from lower.test_sliding_window import thread_rows, vertical_blur
    pipe = vertical_blur(3)
    plans = driver.lower(pipe, thread_rows(pipe)).plans
    assert refilled_boxes(plans) == {}
    s = vx.Schedule(pipe)
    s["out"].split("y", "y", "yi", 8).split("x", "x", "xi", 16).reorder("c", "y", "x", "xi", "yi")
    s["out"].gpu_blocks("c", "y", "x").gpu_threads("xi")
    s["f"].compute_at("out", "yi")
    assert refilled_boxes(driver.lower(pipe, s).plans) == {"yi": {"f"}}
