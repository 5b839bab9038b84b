"""examples/fused_linear.py: silu(X·W + bias) as one kernel on every target (#13 acceptance 3).
Every schedule file lowers to one kernel; the PoCL file (the GPU files' mma tiling and staging as
plain loops) matches the unfused numpy composition and ``pipe.reference`` at awkward sizes;
the GPU files compile to tensor-core instructions (HMMA on sm_80/sm_90, v_mfma on gfx90a)."""
import re
from pathlib import Path

import numpy as np
import pytest

import compilers
import vortex as vx
from vortex.examples import load_example
from vortex.lower.driver import lower

ROOT = Path(__file__).resolve().parents[2]
EX = load_example(ROOT / "examples" / "fused_linear.py")
FILES = sorted((ROOT / "schedules" / "fused_linear").glob("*.toml"))
GPU = {"nvidia-h100": ("cuda", "sm_90", r"\bHMMA\b"), "nvidia-a100": ("cuda", "sm_80", r"\bHMMA\b"),
       "amd-mi300x": ("hip", "gfx90a", r"v_mfma_f32_16x16x16f16")}


def _args(m, n, k, seed):
    rng = np.random.default_rng(seed)
    return {"X": (rng.standard_normal((m, k)) / 4).astype(np.float16),
            "W": (rng.standard_normal((k, n)) / 4).astype(np.float16),
            "bias": rng.standard_normal(n).astype(np.float32)}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_one_kernel(path):
    pipe = EX.pipeline()
    assert len(lower(pipe, vx.Schedule.load(path, pipe)).kernels) == 1


def test_pocl_matches_numpy_and_the_reference(opencl_device):
    pipe = EX.pipeline()
    kernel = vx.compile(pipe, schedule=str(ROOT / "schedules" / "fused_linear" / "pocl-cpu.toml"),
                        target="opencl", device=opencl_device)
    for seed, (m, n, k) in enumerate(((1, 1, 1), (17, 9, 31), (100, 70, 37), (64, 32, 48))):
        args = _args(m, n, k, seed)
        out = kernel(**args)
        np.testing.assert_allclose(out, EX.numpy_version(**args), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(out, pipe.reference(**args), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("device", sorted(GPU))
def test_gpu_files_use_tensor_cores(device):
    target, arch, opcode = GPU[device]
    compilers.need_isa(target)
    pipe = EX.pipeline()
    kernel = vx.compile(pipe, schedule=str(ROOT / "schedules" / "fused_linear" / f"{device}.toml"),
                        target=target, arch=arch)
    if target == "cuda":
        from vortex.isa import sass
        text = sass.disassemble(kernel.binary, arch)
    else:
        from vortex.isa import amdgcn
        text = amdgcn.disassemble(kernel.binary, arch)
    assert re.search(opcode, text)
