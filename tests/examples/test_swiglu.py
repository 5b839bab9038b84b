"""examples/swiglu.py (#15 item 2b): silu(x·W_gate) · (x·W_up) as one kernel. Every schedule
file is one kernel with no intermediate buffer (neither projection is stored); the unfused
schedule is three root kernels (two GEMMs and the product); on PoCL both equal
``pipe.reference`` and the numpy composition at awkward sizes; the GPU files compile for
sm_90, sm_80 and gfx90a (their spills and shared memory: tests/examples/test_schedules.py)."""
from pathlib import Path

import numpy as np
import pytest

import vortex as vx
from fusion_checks import GPU, compile_gpu_file, intermediates
from vortex.analysis import analyze
from vortex.examples import load_example
from vortex.lower.driver import lower

ROOT = Path(__file__).resolve().parents[2]
EX = load_example(ROOT / "examples" / "swiglu.py")
FOLDER = ROOT / "schedules" / "swiglu"
FILES = sorted(FOLDER.glob("*.toml"))
SIZES = [(1, 1, 1), (7, 37, 13), (33, 70, 50), (1, 130, 9)]     # R, K, N


def _args(r, k, n, seed):
    rng = np.random.default_rng(seed)
    return {"x": rng.standard_normal((r, k)).astype(np.float32),
            "W_gate": (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32),
            "W_up": (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_each_file_is_one_kernel_withoutintermediates(path):
    pipe = EX.pipeline()
    lowered = lower(pipe, vx.Schedule.load(path, pipe))
    assert len(lowered.kernels) == 1 and intermediates(lowered) == []


def test_unfused_is_a_kernel_per_func():
    pipe = EX.pipeline()
    lowered = lower(pipe, EX.unfused(pipe))
    assert len(lowered.kernels) == 3 and sorted(intermediates(lowered)) == ["gate", "up"]


def test_pocl_fused_and_unfused_match_numpy_and_the_reference(opencl_device):
    pipe = EX.pipeline()
    fused = vx.compile(pipe, schedule=str(FOLDER / "pocl-cpu.toml"), target="opencl",
                       device=opencl_device)
    unfused = vx.compile(pipe, schedule=EX.unfused(pipe), target="opencl", device=opencl_device)
    for seed, size in enumerate(SIZES):
        args = _args(*size, seed)
        ref, want = pipe.reference(**args), EX.numpy_version(**args)
        for out in (fused(**args), unfused(**args)):     # the same sums (PoCL's vector and
            # scalar exp differ in the last bit: not bit-equal)
            assert out.shape == (size[0], size[2]) and out.dtype == np.float32
            np.testing.assert_allclose(out, ref, rtol=1e-6, atol=1e-6)
            np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)   # numpy's own sums


@pytest.mark.parametrize("device", sorted(GPU))
def test_gpu_files_compile(device):
    kernel = compile_gpu_file(EX, FOLDER, device)
    assert kernel.binary and set(kernel.resources) == {"h_kernel"}


def test_a_projection_computed_inside_the_product_takes_no_mma():
    """Why the SwiGLU schedules have no tensor cores: a compute_at producer runs its reduction
    serially per point, so its k loop cannot be split into the instruction's tile."""
    pipe = EX.pipeline()
    s = vx.Schedule(pipe)
    s["h"].gpu_tile("r", "n", "ro", "no", "ri", "ni", 16, 8)
    s["gate"].compute_at("h", "no").split("k", "ko", "kt", 8)
    with pytest.raises(vx.ScheduleError, match=r"a producer computed at a site runs its "
                                               r"reduction serially per point"):
        lower(pipe, s)


@pytest.mark.parametrize("R, K, N", [*SIZES, (4096, 4096, 11008)])
def test_fused_moves_fewer_global_bytes(R, K, N):
    """kernel.analysis()'s compulsory traffic: fused, x and both weights read once and h
    written; unfused, gate and up are written and read back and each GEMM reads x. 2.30x at
    Llama-7B's MLP shape (4096 tokens)."""
    pipe = EX.pipeline()
    shape = {"R": R, "K": K, "N": N}
    fused = analyze(lower(pipe, vx.Schedule.load(FOLDER / "pocl-cpu.toml", pipe)), shape=shape)
    unfused = analyze(lower(pipe, EX.unfused(pipe)), shape=shape)
    assert fused.traffic.bytes == 8 * K * N + 4 * K * R + 4 * N * R
    assert unfused.traffic.bytes == 8 * K * N + 8 * K * R + 20 * N * R
    assert fused.traffic.bytes < unfused.traffic.bytes
    print(f"swiglu {shape}: 1 launch {fused.traffic.bytes} B, 3 launches "
          f"{unfused.traffic.bytes} B, {unfused.traffic.bytes / fused.traffic.bytes:.2f}x")
