"""examples/rmsnorm_qkv.py (#15 item 2a): RMSNorm inside the Q/K/V projection's A operand.
Every schedule file is one kernel with no intermediate buffer (the normalised activations are
never stored); the unfused schedule is three root kernels; on PoCL both equal ``pipe.reference``
and the numpy composition at awkward sizes (R = 1, 7, 33; K and N not multiples of the tiles);
the NVIDIA files compile to tf32 tensor-core instructions, the AMD file to float32 MFMAs."""
import re
from pathlib import Path

import numpy as np
import pytest

import compilers
import vortex as vx
from fusion_checks import intermediates
from vortex.analysis import analyze
from vortex.examples import load_example
from vortex.lower.driver import lower

ROOT = Path(__file__).resolve().parents[2]
EX = load_example(ROOT / "examples" / "rmsnorm_qkv.py")
FOLDER = ROOT / "schedules" / "rmsnorm_qkv"
FILES = sorted(FOLDER.glob("*.toml"))
SIZES = [(1, 1, 1), (7, 37, 13), (33, 70, 50), (1, 130, 9)]     # R, K, N


def _args(r, k, n, seed):
    rng = np.random.default_rng(seed)
    return {"x": rng.standard_normal((r, k)).astype(np.float32),
            "w_norm": rng.uniform(0.5, 1.5, k).astype(np.float32),
            "Wqkv": (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32), "eps": 1e-6}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_each_file_is_one_kernel_withoutintermediates(path):
    pipe = EX.pipeline()
    lowered = lower(pipe, vx.Schedule.load(path, pipe))
    assert len(lowered.kernels) == 1 and intermediates(lowered) == []


def test_unfused_is_a_kernel_per_func():
    pipe = EX.pipeline()
    lowered = lower(pipe, EX.unfused(pipe))
    assert len(lowered.kernels) == 3
    assert sorted(intermediates(lowered)) == ["inv_rms", "normed"]


def test_pocl_fused_and_unfused_match_numpy_and_the_reference(opencl_device):
    pipe = EX.pipeline()
    fused = vx.compile(pipe, schedule=str(FOLDER / "pocl-cpu.toml"), target="opencl",
                       device=opencl_device)
    unfused = vx.compile(pipe, schedule=EX.unfused(pipe), target="opencl", device=opencl_device)
    for seed, size in enumerate(SIZES):
        args = _args(*size, seed)
        ref, want = pipe.reference(**args), EX.numpy_version(**args)
        for kernel in (fused, unfused):
            out = kernel(**args)
            assert out.shape == (size[0], size[2]) and out.dtype == np.float32
            np.testing.assert_allclose(out, ref, rtol=1e-6, atol=1e-6)
            assert np.all(np.abs(out - want) <= tf32_bound(args))


def tf32_bound(args):
    """How far the kernels may be from numpy: numpy sums x² pairwise, the kernels in order, so
    inv_rms may differ in its last bits, and a normalised value next to a tf32 rounding
    boundary then rounds to the other neighbour, 2^-10 of itself apart at most (10 kept bits):
    |out - want| <= 2^-10 · Σ_k |normed · Wqkv| (+ float32 summation slack)."""
    x, w, W = args["x"], args["w_norm"], args["Wqkv"]
    normed = x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + np.float32(1e-6)) * w
    return 2.0**-10 * (np.abs(normed) @ np.abs(W)) + 1e-6


def test_the_default_inputs_match_numpy_within_tf32_rounding(opencl_device):
    """At the example's own size (R, K, N = 128, 512, 768) some rows' inv_rms differ from
    numpy's in the last bit and flip tf32 roundings: within the bound, equal to the reference."""
    pipe = EX.pipeline()
    kernel = vx.compile(pipe, schedule=str(FOLDER / "pocl-cpu.toml"), target="opencl",
                        device=opencl_device)
    args = EX.inputs()
    out = kernel(**args)
    np.testing.assert_array_equal(out, pipe.reference(**args))
    assert np.all(np.abs(out - EX.numpy_version(**args)) <= tf32_bound(args))


GPU = {"nvidia-h100": ("cuda", "sm_90", r"\bHMMA\.1688\.F32\.TF32\b"),
       "nvidia-a100": ("cuda", "sm_80", r"\bHMMA\.1688\.F32\.TF32\b"),
       "amd-mi300x": ("hip", "gfx90a", r"\bv_mfma_f32_16x16x4f32\b")}


@pytest.mark.parametrize("device", sorted(GPU))
def test_gpu_files_compile(device):
    """NVIDIA: tf32 mma.sync (m16n8k8) in the SASS; AMD: the exact float32 MFMA (16x16x4) on
    the tf32-rounded inputs, with the same fusion and no scratch."""
    target, arch, opcode = GPU[device]
    compilers.need_isa(target)
    pipe = EX.pipeline()
    kernel = vx.compile(pipe, schedule=str(FOLDER / f"{device}.toml"), target=target, arch=arch)
    if target == "cuda":
        from vortex.isa import sass
        text = sass.disassemble(kernel.binary, arch)
    else:
        from vortex.isa import amdgcn
        text = amdgcn.disassemble(kernel.binary, arch)
        assert kernel.resources["qkv_kernel"]["scratch_bytes"] == 0
    assert re.search(opcode, text)


@pytest.mark.parametrize("R, K, N", [*SIZES, (4096, 4096, 12288)])
def test_fused_moves_fewer_global_bytes(R, K, N):
    """kernel.analysis()'s compulsory traffic: the fused kernel reads x, w_norm and Wqkv once
    and writes qkv; unfused, inv_rms and normed are written and read back (normed: 8 bytes per
    activation) and x is read twice. 1.43x at Llama-7B's QKV shape (4096 tokens)."""
    pipe = EX.pipeline()
    shape = {"R": R, "K": K, "N": N}
    fused = analyze(lower(pipe, vx.Schedule.load(FOLDER / "pocl-cpu.toml", pipe)), shape=shape)
    unfused = analyze(lower(pipe, EX.unfused(pipe)), shape=shape)
    assert fused.traffic.bytes == 4 * (K * N + K * R + K + N * R)
    assert unfused.traffic.bytes == 4 * (K * N + 4 * K * R + K + N * R + 2 * R)
    assert fused.traffic.bytes < unfused.traffic.bytes
    print(f"rmsnorm_qkv {shape}: 1 launch {fused.traffic.bytes} B, 3 launches "
          f"{unfused.traffic.bytes} B, {unfused.traffic.bytes / fused.traffic.bytes:.2f}x")
