"""The README's main job: `vortex run examples/blur.py`, plus unsharp and `vortex info`."""
import subprocess
import time
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "vortex.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("example", ["blur", "unsharp"])
def test_vortex_run_verifies_and_writes_the_image(opencl, tmp_path, example):
    out = tmp_path / f"{example}.png"
    r = run("run", f"examples/{example}.py", "--out", str(out), "--repeat", "3")
    assert r.returncode == 0, r.stderr
    assert f"schedules/{example}/pocl-cpu.toml" in r.stdout
    assert f"verified '{example}' (3, 512, 512) float32 against pipe.reference" in r.stdout
    assert "speed-up vs numpy" in r.stdout
    from skimage import io
    img = io.imread(out)
    assert img.shape == (512, 512, 3) and img.std() > 10


def test_vortex_run_show_source_and_user_image(opencl, tmp_path):
    from skimage import data, io
    photo = tmp_path / "camera.png"
    io.imsave(photo, data.camera())
    r = run("run", "examples/blur.py", "--image", str(photo), "--show-source", "--analyze",
            "--out", str(tmp_path / "o.png"), "--repeat", "2")
    assert r.returncode == 0, r.stderr
    assert "__kernel void blur_kernel" in r.stdout
    # --analyze: the compulsory traffic at the photo's size (one 512 x 512 float32 plane in, out)
    assert "pipeline: 1 launch, compulsory global memory: read 1048576 B, written 1048576 B, " \
           "total 2097152 B" in r.stdout
    assert "verified 'blur' (1, 512, 512)" in r.stdout  # a grey photo is one plane
    assert io.imread(tmp_path / "o.png").shape == (512, 512)


def test_vortex_run_reports_a_missing_example_cleanly(tmp_path):
    r = run("run", str(tmp_path / "nope.py"))
    assert r.returncode == 2
    assert "InputError" in r.stderr and "does not exist" in r.stderr


def test_vortex_info_lists_opencl_devices(opencl):
    r = run("info")
    assert r.returncode == 0
    assert "OpenCL (target 'opencl')" in r.stdout and "usable" in r.stdout


def test_vortex_run_writes_its_image_under_a_git_ignored_folder(opencl, tmp_path):
    r = run("run", str(ROOT / "examples" / "blur.py"), "--repeat", "2", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "wrote out/blur.png" in r.stdout and (tmp_path / "out" / "blur.png").is_file()
    ignored = subprocess.run(["git", "check-ignore", "-q", "out/blur.png"], cwd=ROOT)
    assert ignored.returncode == 0


def test_vortex_run_cuda_with_arch_compiles_and_says_why_it_cannot_run(tmp_path):
    """--arch compiles CUDA without a GPU: the schedule is the arch's device file (the shipped
    H100 one for sm_90); without a GPU the run stops with the DeviceError, exit code 2."""
    from vortex.runtime.cuda import has_cuda_device
    if has_cuda_device():
        pytest.skip("a CUDA GPU is present: the kernel would run")
    r = run("run", "examples/matmul.py", "--target", "cuda", "--arch", "sm_90")
    assert "pipeline 'matmul' on cuda (sm_90), schedule: file:" in r.stdout
    assert "schedules/matmul/nvidia-h100.toml (the device's file)" in r.stdout
    assert r.returncode == 2
    assert "vortex: DeviceError: no CUDA device" in r.stderr and "sm_90" in r.stderr


def test_vortex_run_with_an_arch_variant_and_a_bad_arch():
    r = run("run", "examples/matmul.py", "--target", "cuda", "--arch", "sm_89a")
    assert r.returncode == 2
    assert r.stderr.startswith("vortex: CompileError: unknown CUDA arch 'sm_89a': this machine's "
                               "NVRTC compiles for sm_75, sm_80, ")
    r = run("run", "examples/blur.py", "--arch", "sm_90")
    assert r.returncode == 2
    assert r.stderr.startswith("vortex: CompileError: arch='sm_90' means nothing for target "
                               "'opencl'")


def test_numpy_timing_autoranges_fast_calls():
    """`vortex run` times numpy per call over samples of ~20 ms each (timeit's autorange), so a
    sub-millisecond numpy call is not timed at the clock's resolution: a 10 µs function is
    called hundreds of times per sample, and its median per call comes out near 10 µs."""
    from vortex.cli import _median_ms
    calls = []

    def fn():
        calls.append(1)
        end = time.perf_counter() + 1e-5
        while time.perf_counter() < end:
            pass
    ms = _median_ms(fn, repeat=5)
    assert len(calls) > 5 * 100
    assert 0.009 < ms < 0.1


def test_vortex_run_names_each_array_of_a_tuple_output():
    """A Tuple-valued output is several arrays: each is verified under its own name."""
    import vortex as vx
    from vortex.cli import _output_names, _verify
    N, = vx.dims("N")
    x, = vx.vars("x")
    a = vx.Input("a", vx.float32, (N,))
    pair = vx.Func("pair", shape=(N,))
    pair[x] = (a[x] + 1, vx.cast(vx.int8, a[x]))
    last = vx.Func("last", shape=(N,))
    last[x] = pair[x][0] * 2
    pipe = vx.Pipeline(pair, last)
    assert _output_names(pipe) == ["pair[0]", "pair[1]", "last"]
    import numpy as np
    ref = pipe.reference(a=np.arange(3, dtype=np.float32))
    assert _verify(pipe, ref, ref) == 0
    wrong = (ref[0], ref[1], ref[2] + 1)
    assert _verify(pipe, wrong, ref) == 1
