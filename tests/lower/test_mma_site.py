"""``mma`` on a ``compute_at`` producer (vortex/lower/mma_site.py): the producer's box is filled
by the consumer block's warps with matrix instructions, its own split/reorder/gpu_threads
shaping the instruction tiles over the box. On PoCL the instruction is each lane's plain loops,
so the result equals ``pipe.reference`` exactly (inputs are small multiples of 1/4) at sizes
that are not multiples of the tiles; the lowered IR holds the MmaTile in the consumer's kernel;
each refusal is a vx.ScheduleError. (The attention example's f16 scores computed on tensor cores
inside its recurrence's key loop: tests/examples/test_attention.py.)"""
import numpy as np
import pytest

import vortex as vx
from vortex.lower.driver import lower
from vortex.lower.ir import MmaTile
from vortex.lower.walk import stmts


def gemm_then_epilogue() -> vx.Pipeline:
    """C[i, j] = Σ_k f32(A[i, k]) f32(B[k, j]) · 2 (float16 A, B), out = C + bias[j]."""
    M, N, K = vx.dims("M N K")
    A, B = vx.Input("A", vx.float16, (M, K)), vx.Input("B", vx.float16, (K, N))
    bias = vx.Input("bias", vx.float32, (N,))
    i, j = vx.vars("i j")
    k = vx.RDom(K, name="k")
    C = vx.Func("C")
    C[i, j] = vx.sum(vx.cast(vx.float32, A[i, k]) * vx.cast(vx.float32, B[k, j])) * \
        np.float32(2)
    out = vx.Func("out", shape=(M, N))
    out[i, j] = C[i, j] + bias[j]
    return vx.Pipeline(out)


def schedule(pipe, tx=32, at="jo", warps=True) -> vx.Schedule:
    """out in 16 × ``tx`` blocks (threads: x along j, y along i); C computed at ``at``, its
    16 × 32 box in m16n8k16 tiles, one warp per 8 columns (``warps``) on thread axis y."""
    s = vx.Schedule(pipe)
    s["out"].tile("i", "j", "io", "jo", "ii", "ji", 16, tx).gpu_blocks("io", "jo")
    s["out"].gpu_threads("ii", "ji")
    c = s["C"].compute_at("out", at).split("i", "iw", "it", 16).split("j", "jw", "jt", 8)
    c.split("k", "ko", "kt", 16).reorder("iw", "jw", "ko", "it", "jt", "kt").mma("it", "jt", "kt")
    if warps:
        c.gpu_threads("jw")
    return s


def operands(M, N, K, seed=0):
    rng = np.random.default_rng(seed)
    return {"A": (rng.integers(-8, 9, (M, K)) / 4).astype(np.float16),
            "B": (rng.integers(-8, 9, (K, N)) / 4).astype(np.float16),
            "bias": rng.integers(-4, 5, N).astype(np.float32)}


@pytest.mark.parametrize("warps", [True, False], ids=["warp_per_8_columns", "one_warp"])
def test_matches_the_reference_on_pocl(opencl_device, warps):
    pipe = gemm_then_epilogue()
    k = vx.compile(pipe, schedule=schedule(pipe, warps=warps), target="opencl",
                   device=opencl_device)
    for M, N, K in [(1, 1, 1), (16, 32, 16), (37, 29, 40)]:
        args = operands(M, N, K, seed=M)
        np.testing.assert_array_equal(k(**args), pipe.reference(**args))


def test_the_instruction_is_in_the_consumers_kernel():
    pipe = gemm_then_epilogue()
    low = lower(pipe, schedule(pipe))
    assert [kk.name for kk in low.kernels] == ["out_kernel"]
    tiles = [s for s in stmts(low.kernels[0].body) if isinstance(s, MmaTile)]
    assert tiles and all(t.instruction == "mma_m16n8k16_f16_f32" for t in tiles)


def test_refused_where_each_thread_has_its_own_box():
    pipe = gemm_then_epilogue()
    with pytest.raises(vx.ScheduleError, match=r"mma on Func 'C' computed at loop 'ji' of "
                       r"'out': each thread computes its own box there, and a matrix "
                       r"instruction needs a warp"):
        lower(pipe, schedule(pipe, at="ji", warps=False))


def test_refused_when_a_warp_is_not_along_x():
    pipe = gemm_then_epilogue()
    with pytest.raises(vx.ScheduleError, match=r"the consumer's block is \(16, 16, 1\) threads, "
                       r"and a warp's 32 lanes are threads along x: bind the consumer's threads "
                       r"so that its x extent is a multiple of 32"):
        lower(pipe, schedule(pipe, tx=16))


def test_refused_with_update_definitions():
    M, K = vx.dims("M K")
    A = vx.Input("A", vx.float16, (M, K))
    i, j = vx.vars("i j")
    k = vx.RDom(K, name="k")
    C = vx.Func("C", shape=(M, M))
    C[i, j] = vx.sum(vx.cast(vx.float32, A[i, k]) * vx.cast(vx.float32, A[j, k]))
    C[i, j] = C[i, j] + np.float32(1)
    out = vx.Func("out", shape=(M, M))
    out[i, j] = C[i, j]
    pipe = vx.Pipeline(out)
    with pytest.raises(vx.ScheduleError, match=r"mma on Func 'C' computed at loop 'jo' of "
                       r"'out': it has update definitions"):
        lower(pipe, schedule(pipe))


def test_the_schedule_round_trips_through_toml_and_python():
    pipe = gemm_then_epilogue()
    s = schedule(pipe)
    assert 'mma = ["it", "jt", "kt"]' in s.to_toml()
    assert vx.Schedule.from_toml(s.to_toml(), pipe).directives == s.directives
    env = {"vx": vx, "pipe": pipe}
    exec(s.to_python(), env)
    assert env["s"].directives == s.directives
