"""examples/softmax.py and examples/rmsnorm.py with their committed PoCL schedules: the kernels
equal the examples' numpy versions and ``pipe.reference`` on awkward shapes (1×1, primes, rows
shorter than the lane count, a tail of cols % LANES columns, multiples of the vector width)."""
from pathlib import Path

import numpy as np
import pytest

import vortex as vx
from vortex.examples import load_example

ROOT = Path(__file__).resolve().parents[2]
SHAPES = [(1, 1), (7, 13), (3, 16), (5, 64), (2, 130), (37, 1023), (4, 1024)]
NAMES = ("softmax", "rmsnorm")


def example(name):
    return load_example(ROOT / "examples" / f"{name}.py")


def schedule_file(name) -> Path:
    return ROOT / "schedules" / name / "pocl-cpu.toml"


@pytest.fixture(scope="module", params=NAMES)
def case(request, opencl_device):
    """(example module, kernel compiled with its committed PoCL schedule file)."""
    ex = example(request.param)
    kernel = vx.compile(ex.pipeline(), schedule=str(schedule_file(request.param)),
                        target="opencl", device=opencl_device)
    return ex, kernel


def small_inputs(name, shape, scale=4.0) -> dict:
    rng = np.random.default_rng(shape[0] * 1009 + shape[1])
    inputs = {"x": (rng.standard_normal(shape) * scale).astype(np.float32)}
    if name == "rmsnorm":
        inputs["weight"] = rng.uniform(0.5, 1.5, shape[1]).astype(np.float32)
        inputs["eps"] = 1e-6
    return inputs


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_matches_numpy(case, shape):
    ex, kernel = case
    inputs = small_inputs(kernel.pipe.name, shape)
    out = kernel(**inputs)
    assert out.shape == shape and out.dtype == np.float32
    np.testing.assert_allclose(out, ex.numpy_version(**inputs), rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(out, kernel.pipe.reference(**inputs), rtol=2e-5, atol=1e-6)


def test_softmax_is_stable_for_large_values(opencl_device):
    """Values near 80 overflow exp in float32 unless the row maximum is subtracted first."""
    ex = example("softmax")
    kernel = vx.compile(ex.pipeline(), schedule=str(schedule_file("softmax")),
                        target="opencl", device=opencl_device)
    x = np.full((3, 70), 80.0, np.float32)
    x[:, 5] = 100.0
    out = kernel(x=x)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, ex.numpy_version(x), rtol=2e-5, atol=1e-7)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)


def test_rmsnorm_eps_is_a_runtime_param(opencl_device):
    ex = example("rmsnorm")
    kernel = vx.compile(ex.pipeline(), schedule=str(schedule_file("rmsnorm")),
                        target="opencl", device=opencl_device)
    inputs = small_inputs("rmsnorm", (3, 20), scale=1e-3)
    for eps in (1e-6, 1.0):
        inputs["eps"] = eps
        np.testing.assert_allclose(kernel(**inputs), ex.numpy_version(**inputs),
                                   rtol=2e-5, atol=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_schedule_file_round_trips_and_records_its_measurement(name):
    pipe = example(name).pipeline()
    path = schedule_file(name)
    s = vx.Schedule.load(path, pipe)
    assert s.to_toml() == path.read_text(encoding="utf-8")
    assert s.meta["target"] == "opencl" and "PoCL" in s.meta["device"]
    assert s.meta["measured"]["ms"] > 0
    assert s.meta["measured"]["shape"] == {"R": 4096, "C": 1024}


@pytest.mark.parametrize("name", NAMES)
def test_example_inputs_follow_the_convention(name):
    ex = example(name)
    inputs = ex.inputs(image="ignored.png")
    assert inputs["x"].shape == (4096, 1024) and inputs["x"].dtype == np.float32
    if name == "rmsnorm":
        assert inputs["weight"].shape == (1024,) and inputs["eps"] == 1e-6
