"""vx.compile end to end on PoCL: schedule resolution, argument checks before launch, timing."""
import sys
from pathlib import Path

import numpy as np
import pytest

import pipelines as P
import vortex as vx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
import blur  # noqa: E402


@pytest.fixture(scope="module")
def kernel(opencl):
    return vx.compile(blur.pipeline(), schedule="auto", target="opencl")


def test_auto_picks_the_committed_schedule_file(kernel):
    assert kernel.origin == kernel.schedule_origin
    assert kernel.origin == f"file:{ROOT / 'schedules' / 'blur' / 'pocl-cpu.toml'} (the device's file)"


def test_auto_falls_back_to_the_default_schedule(opencl, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(vx.auto, "schedule_dirs", lambda: [tmp_path])
    k = vx.compile(blur.pipeline(), schedule="auto")
    assert k.schedule_origin == "default"
    img = np.random.default_rng(0).random((2, 9, 11), dtype=np.float32)
    np.testing.assert_allclose(k(img=img), blur.numpy_version(img), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 7, 13), (1, 37, 1023)])
def test_blur_matches_reference_and_numpy(kernel, shape):
    img = np.random.default_rng(1).random(shape, dtype=np.float32)
    out = kernel(img=img)
    np.testing.assert_allclose(out, kernel.pipe.reference(img=img), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(out, blur.numpy_version(img), rtol=1e-5, atol=1e-6)


def test_wrong_dtype_is_an_input_error(kernel):
    with pytest.raises(vx.InputError, match=r"img.*float32.*float64.*astype"):
        kernel(img=np.zeros((1, 4, 4)))


def test_wrong_and_missing_names_are_input_errors(kernel):
    with pytest.raises(vx.InputError, match=r"missing \['img'\].*unexpected \['image'\]"):
        kernel(image=np.zeros((1, 4, 4), np.float32))


def test_non_contiguous_array_is_an_input_error(kernel):
    a = np.zeros((1, 8, 8), np.float32)[:, :, ::2]
    with pytest.raises(vx.InputError, match="not C-contiguous.*ascontiguousarray"):
        kernel(img=a)


def test_input_errors_come_before_any_launch(kernel, monkeypatch):
    def launched(*a, **k):
        raise AssertionError("a kernel was launched")
    monkeypatch.setattr(kernel._exe, "run", launched)
    with pytest.raises(vx.InputError):
        kernel(img=np.zeros((1, 4, 4), np.float64))


def test_time_and_launch_config(kernel):
    img = np.zeros((3, 64, 64), np.float32)
    assert kernel.time(img=img, warmup=1, repeat=3) > 0
    cfg = kernel.launch_config(img=img)
    assert [c["entry"] for c in cfg] == ["blur_kernel"]      # blur_x: a window inside it
    assert cfg[0]["block"] == (16, 1, 1) and cfg[0]["grid"] == (1, 2, 3)


def test_schedule_path_and_bad_schedule_argument(opencl):
    pipe = blur.pipeline()
    k = vx.compile(pipe, schedule=ROOT / "schedules" / "blur" / "pocl-cpu.toml")
    assert k.schedule_origin.startswith("file:")
    with pytest.raises(vx.ScheduleError, match="schedule= must be"):
        vx.compile(pipe, schedule=42)


def test_source_without_a_device_for_every_target():
    pipe = blur.pipeline()
    assert "__kernel void blur_kernel" in vx.source(pipe, target="opencl")
    assert 'extern "C" __global__ void __launch_bounds__(256) blur_kernel' in vx.source(
        pipe, target="cuda")
    assert "#include <hip/hip_runtime.h>" in vx.source(pipe, target="hip")


def test_bound_smaller_than_the_call_is_an_input_error_before_launch(opencl):
    pipe = P.matmul()
    s = vx.Schedule.default(pipe)
    s["C"].bound("i", 0, 256)
    kern = vx.compile(pipe, schedule=s)
    a, b = np.ones((200, 3), np.float32), np.ones((3, 4), np.float32)
    np.testing.assert_array_equal(kern(A=a, B=b), a @ b)
    with pytest.raises(vx.InputError, match=r"bound\(i, 0, 256\) on Func 'C' covers i in \[0, 255\]"):
        kern(A=np.ones((300, 3), np.float32), B=b)
