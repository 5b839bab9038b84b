"""examples/histogram.py and examples/scan.py with every shipped schedule file, compiled for
OpenCL and run on PoCL, against their numpy versions (``np.bincount``, ``np.cumsum``) at
awkward sizes (1, primes, sizes that are not multiples of the blocks) and on real inputs (the
astronaut's luminance); the CUDA (sm_90) and HIP (gfx90a) histogram kernels, compiled offline,
launch more than one thread per block and more than one block (issue 12, acceptance 3)."""
from pathlib import Path

import numpy as np
import pytest

import vortex as vx
from vortex.examples import load_example

ROOT = Path(__file__).resolve().parents[2]
HIST = load_example(ROOT / "examples" / "histogram.py")
SCAN = load_example(ROOT / "examples" / "scan.py")
DEVICES = ("pocl-cpu", "nvidia-h100", "nvidia-a100", "amd-mi300x")
GPU_FILES = {"cuda": ("nvidia-h100", "nvidia-a100"), "hip": ("amd-mi300x",)}
_KERNELS: dict = {}


def kernel(example, dev: str, opencl_device):
    """The example's pipeline with schedules/<pipeline>/<dev>.toml, built for OpenCL once."""
    if (example, dev) not in _KERNELS:
        pipe = example.pipeline()
        path = ROOT / "schedules" / pipe.name / f"{dev}.toml"
        _KERNELS[example, dev] = vx.compile(pipe, schedule=str(path), target="opencl",
                                            device=opencl_device)
    return _KERNELS[example, dev]


IMAGES = [(1, 1), (1, 7), (2, 3), (13, 1), (97, 89), (131, 257), (256, 300)]


@pytest.mark.parametrize("shape", IMAGES, ids=str)
@pytest.mark.parametrize("dev", DEVICES)
def test_histogram_matches_bincount(opencl_device, dev, shape):
    k = kernel(HIST, dev, opencl_device)
    rng = np.random.default_rng(shape[0] * 1000 + shape[1])
    uniform = rng.integers(0, 256, shape, dtype=np.uint8)
    one_bin = np.full(shape, 200, np.uint8)        # every pixel contends for one bin
    for lum in (uniform, one_bin):
        got = k(lum=lum)
        assert got.dtype == np.int32
        np.testing.assert_array_equal(got, HIST.numpy_version(lum))
        np.testing.assert_array_equal(k.pipe.reference(lum=lum), got)


@pytest.mark.parametrize("dev", DEVICES)
def test_histogram_of_the_photo(opencl_device, dev):
    lum = HIST.inputs()["lum"]
    assert lum.dtype == np.uint8 and lum.shape == (512, 512)
    got = kernel(HIST, dev, opencl_device)(lum=lum)
    np.testing.assert_array_equal(got, np.bincount(lum.ravel(), minlength=256))
    assert got.sum() == lum.size and np.count_nonzero(got) > 200


def test_luminance_rounds_bt601_half_up():
    rgb = np.array([[[255, 255, 255], [0, 0, 0], [1, 1, 1], [10, 0, 0], [0, 0, 5]]], np.uint8)
    # 0.299 * 10 = 2.99 -> 3; 0.114 * 5 = 0.57 -> 1
    np.testing.assert_array_equal(HIST.luminance(rgb), [[255, 0, 1, 3, 1]])
    wide = np.random.default_rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    want = np.floor(wide.astype(np.float64) @ [0.299, 0.587, 0.114] + 0.5 + 1e-9)
    np.testing.assert_array_equal(HIST.luminance(wide), want.astype(np.uint8))


def test_histogram_save_writes_a_png(tmp_path):
    out = tmp_path / "hist.png"
    HIST.save(np.arange(256, dtype=np.int32), out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("n", [1, 2, 13, 255, 256, 257, 1021, 3001, 65537])
@pytest.mark.parametrize("dev", DEVICES)
def test_scan_of_integer_values_equals_cumsum(opencl_device, dev, n):
    """Integer values: every partial sum is exact in float32, so any order gives cumsum."""
    k = kernel(SCAN, dev, opencl_device)
    a = np.random.default_rng(n).integers(-1000, 1001, n).astype(np.float32)
    got = k(a=a)
    np.testing.assert_array_equal(got, np.cumsum(a))
    np.testing.assert_array_equal(k.pipe.reference(a=a), got)


@pytest.mark.parametrize("dev", DEVICES)
def test_scan_of_floats_within_rounding(opencl_device, dev):
    """Standard normal values at a prime N (391 blocks, the last partial): element i is the
    end of a chain of at most BLOCK - 1 in-block additions, ceil(N / BLOCK) offset additions
    and one more, so its error is at most that many units of 2^-24 times the sum of |a| up to
    i (Higham, "Accuracy and Stability of Numerical Algorithms", 4.2). pipe.reference adds
    in the same order as the kernel: equal bit for bit."""
    n = 100_003
    a = np.random.default_rng(1).standard_normal(n).astype(np.float32)
    k = kernel(SCAN, dev, opencl_device)
    got = k(a=a)
    np.testing.assert_array_equal(got, k.pipe.reference(a=a))     # the same order of additions
    chain = SCAN.BLOCK + -(-n // SCAN.BLOCK)
    bound = chain * 2.0 ** -24 * np.cumsum(np.abs(a.astype(np.float64)))
    assert np.all(np.abs(got - np.cumsum(a.astype(np.float64))) <= bound)


def test_scan_runs_one_in_block_scan_per_work_item(opencl_device):
    """The docstring's relation of BLOCK and the schedule: N = 3 BLOCK + 1 makes 4 blocks
    (the last holds one element), each block's scan one work-item of the in-block update, 16
    per work-group in the PoCL file; the copy into ``local`` is a work-group per block."""
    k = kernel(SCAN, "pocl-cpu", opencl_device)
    a = np.ones(3 * SCAN.BLOCK + 1, np.float32)
    launches = {c["entry"]: c for c in k.launch_config(a=a)}
    assert launches["local_update0_kernel"]["global_size"][0] == 16
    assert launches["local_kernel"]["grid"][0] == 4
    np.testing.assert_array_equal(k(a=a), np.arange(1, a.size + 1))


@pytest.mark.parametrize("offline, dev", [(t, d) for t, ds in GPU_FILES.items() for d in ds],
                         indirect=["offline"], ids=lambda v: v)
def test_gpu_histogram_kernels_launch_many_threads_and_blocks(offline, dev):
    """Every kernel of the CUDA/HIP histogram files launches > 1 thread per block and > 1
    block for a 480×640 image; the per-pixel update commits with native atomic adds."""
    target, build = offline
    pipe = HIST.pipeline()
    k = build(pipe, vx.Schedule.load(ROOT / "schedules" / "histogram" / f"{dev}.toml", pipe))
    assert "atomicAdd(" in k.source and "atomicCAS" not in k.source
    launches = k.launch_config(lum=np.zeros((480, 640), np.uint8))
    assert len(launches) == 4
    for c in launches:
        assert np.prod(c["block"]) > 1 and np.prod(c["grid"]) > 1, c
    (update,) = [c for c in launches if c["entry"] == "hist_intm_update0_kernel"]
    assert update["block"] == (256, 1, 1) and update["grid"] == (480, 1, 1)
