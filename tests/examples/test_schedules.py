"""Every schedules/matmul/*.toml with examples/matmul.py: it loads and round-trips, fits the
shared memory of its target, and its kernel — compiled for OpenCL and run on PoCL, whatever its
own target — equals numpy on sizes that divide its tiles and sizes that do not, including fewer
k-steps than pipeline stages. The GPU files are first-principles schedules (no GPU measured
them); running them on PoCL checks their numerics (staging, pipelining, warp specialization,
block swizzling and the masked edge version of specialize)."""
from pathlib import Path

import numpy as np
import pytest

import vortex as vx
from vortex.examples import load_example
from vortex.lower import lower

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted((ROOT / "schedules" / "matmul").glob("*.toml"))
GPU_FILES = [p for p in FILES if p.stem != "pocl-cpu"]
SHARED_LIMIT = {"cuda": 48 * 1024, "hip": 64 * 1024}   # static __shared__ / LDS per block
SHAPES = [(100, 70, 37), (64, 64, 64),
          (129, 130, 5),          # one k-step of 8 or 16, fewer than the 2-4 pipeline stages
          (1, 1, 1)]


def pipeline():
    return load_example(ROOT / "examples" / "matmul.py").pipeline()


def test_the_four_schedules_are_there():
    assert {p.stem for p in FILES} >= {"pocl-cpu", "nvidia-h100", "nvidia-a100", "amd-mi300x"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_loads_and_round_trips(path):
    s = vx.Schedule.load(path, pipeline())
    assert s.to_toml() == path.read_text(encoding="utf-8")
    assert s.meta["target"] in ("opencl", "cuda", "hip") and s.meta["device"]
    assert vx.Schedule.load(path, pipeline()) == s


def test_the_pocl_schedule_records_its_measurement():
    s = vx.Schedule.load(ROOT / "schedules" / "matmul" / "pocl-cpu.toml", pipeline())
    assert s.meta["target"] == "opencl" and "PoCL" in s.meta["device"]
    assert s.meta["measured"]["shape"] == {"M": 1024, "N": 1024, "K": 1024}
    assert s.meta["measured"]["ms"] > 0


@pytest.mark.parametrize("path", GPU_FILES, ids=lambda p: p.stem)
def test_gpu_schedule_fits_static_shared_memory(path):
    """Shared bytes = stages × (A tile + B tile) × 4, within the target's static limit."""
    pipe = pipeline()
    s = vx.Schedule.load(path, pipe)
    (kernel,) = lower(pipe, s).kernels
    assert 0 < kernel.shared_bytes <= SHARED_LIMIT[s.meta["target"]]
    source = vx.source(pipe, s, target=s.meta["target"])
    assert "C_kernel" in source


@pytest.fixture(scope="module", params=FILES, ids=lambda p: p.stem)
def kernel(request, opencl_device):
    """The file's schedule compiled for OpenCL on the test device (once per file)."""
    return vx.compile(pipeline(), schedule=str(request.param), target="opencl",
                      device=opencl_device)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_matches_numpy_on_pocl(kernel, shape):
    m, n, k = shape
    rng = np.random.default_rng(m * 7919 + n * 31 + k)
    a = rng.random((m, k), dtype=np.float32)
    b = rng.random((k, n), dtype=np.float32)
    out = kernel(A=a, B=b)
    assert out.shape == (m, n) and out.dtype == np.float32
    np.testing.assert_allclose(out, a @ b, rtol=1e-4, atol=1e-6)
