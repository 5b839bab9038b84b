"""Loop directives on ``compute_at`` Funcs (issue 10 item 6): the producer's loops over its
footprint take its own ``split``/``tile``/``reorder``/``fuse``/``unroll``/``vectorize`` and, at a
block-bound site, ``gpu_threads`` (Halide's ``f.compute_at(g, xo).gpu_threads(x, y)``). Each
schedule runs on PoCL against ``pipe.reference`` at 1×1, 7×13, 37×1023 and 256×256, and compiles
for CUDA sm_90 and HIP gfx90a; directives that cannot apply are a vx.ScheduleError naming the
fix."""
from pathlib import Path

import numpy as np
import pytest

import vortex as vx
from vortex.examples import load_example

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SIZES = [(1, 1), (7, 13), (37, 1023), (256, 256)]


def blur_pipe():
    return load_example(EXAMPLES / "blur.py").pipeline()


def block_site(producer):
    """blur in 8×16 thread blocks (one block row per plane); blur_x computed per block."""
    def make(pipe):
        s = vx.Schedule(pipe)
        s["blur"].gpu_tile("y", "x", "yo", "xo", "yi", "xi", 8, 16).gpu_blocks("c")
        producer(s["blur_x"].compute_at("blur", "xo"))
        return s
    return make


def thread_site(producer):
    """blur with a 2×4 tile per thread in 4×8 blocks; blur_x computed per thread (6×4 points),
    in its own arrays."""
    def make(pipe):
        s = vx.Schedule(pipe)
        s["blur"].split("y", "y", "yr", 2).split("x", "x", "xr", 4).reorder("c", "y", "x", "yr", "xr")
        s["blur"].gpu_tile("y", "x", "yo", "xo", "yi", "xi", 4, 8).gpu_blocks("c")
        producer(s["blur_x"].compute_at("blur", "xi"))
        return s
    return make


SCHEDULES = {
    "gpu_threads(x, y)": block_site(lambda f: f.gpu_threads("x", "y")),
    "gpu_threads(y).vectorize(x, 4)": block_site(lambda f: f.gpu_threads("y").vectorize("x", 4)),
    "split(y, 2).gpu_threads(x, y).unroll(yi)": block_site(
        lambda f: f.split("y", "y", "yi", 2).gpu_threads("x", "y").unroll("yi")),
    "vectorize(x, 4) (threads share y)": block_site(lambda f: f.vectorize("x", 4)),
    "unroll(y, 2) (threads share y)": block_site(lambda f: f.unroll("y", 2)),
    "split(x, 5) not dividing, fuse, gpu_threads": block_site(
        lambda f: f.split("x", "x", "xi", 5).fuse("y", "x", "yx").gpu_threads("yx", "xi")),
    "thread site: tile + unroll": thread_site(
        lambda f: f.tile("y", "x", "yo", "xo", "yi", "xi", 2, 4).unroll("xi")),
    "thread site: reorder + vectorize": thread_site(
        lambda f: f.reorder("x", "y").vectorize("y", 2)),
}


@pytest.mark.parametrize("name", SCHEDULES)
def test_compute_at_loop_directives_match_the_reference(name, opencl_device):
    pipe = blur_pipe()
    kernel = vx.compile(pipe, SCHEDULES[name](pipe), target="opencl", device=opencl_device)
    rng = np.random.default_rng(5)
    for h, w in SIZES:
        img = rng.random((2, h, w), dtype=np.float32)
        np.testing.assert_array_equal(kernel(img=img), pipe.reference(img=img),
                                      err_msg=f"{name} at {h}×{w}")


@pytest.mark.parametrize("name", SCHEDULES)
def test_compute_at_loop_directives_compile_offline(name, offline):
    target, build = offline
    pipe = blur_pipe()
    kernel = build(pipe, SCHEDULES[name](pipe))
    assert "blur_x" in kernel.source and len(kernel.binary) > 0


def test_bound_threads_fill_the_tile_without_a_flat_loop():
    """gpu_threads(x, y) maps blur_x's y loop (12 rows) onto threadIdx.x (16: four threads idle)
    and its x loop (16 columns) onto threadIdx.y (8: two strided passes)."""
    pipe = blur_pipe()
    src = vx.source(pipe, SCHEDULES["gpu_threads(x, y)"](pipe), target="cuda", arch="sm_90")
    assert "if (((int)threadIdx.x < 12))" in src
    assert "int blur_x_y_i = (int)threadIdx.x;" in src
    assert "blur_x_x_i_it < 2" in src and "(int)threadIdx.y" in src


def updated_pipe():
    """g[y, x] = a + 1 (declared H×W), then pointwise update g[y, x] = g[y, x] * 3; f = 2 g - a."""
    h, w = vx.dims("H W")
    y, x = vx.vars("y x")
    a = vx.Input("a", vx.float32, (h, w))
    g = vx.Func("g", shape=(h, w))
    g[y, x] = a[y, x] + 1
    g[y, x] = g[y, x] * 3
    f = vx.Func("f", shape=(h, w))
    f[y, x] = g[y, x] * 2 - a[y, x]
    return vx.Pipeline(f)


def test_a_producer_with_updates_takes_loop_directives(opencl_device):
    pipe = updated_pipe()
    s = vx.Schedule(pipe)
    s["f"].gpu_tile("y", "x", "yo", "xo", "yi", "xi", 4, 8)
    s["g"].compute_at("f", "xo").split("y", "y", "yi", 2).gpu_threads("y", "x").unroll("yi")
    kernel = vx.compile(pipe, s, target="opencl", device=opencl_device)
    rng = np.random.default_rng(1)
    for h, w in SIZES[:3]:
        a = rng.random((h, w), dtype=np.float32)
        np.testing.assert_array_equal(kernel(a=a), pipe.reference(a=a))


def test_gpu_blocks_on_a_compute_at_func_is_refused():
    pipe = blur_pipe()
    s = vx.Schedule(pipe)
    s["blur"].gpu_tile("y", "x", "yo", "xo", "yi", "xi", 8, 16).gpu_blocks("c")
    s["blur_x"].compute_at("blur", "xo").gpu_blocks("y")
    with pytest.raises(vx.ScheduleError, match=r"gpu_blocks\(y\) on Func 'blur_x': 'blur_x' is "
                       r"computed at loop 'xo' of 'blur', inside one block of its consumer, so "
                       r"it has no blocks of its own; bind its loops with gpu_threads"):
        vx.source(pipe, s, target="opencl")


def test_gpu_threads_at_a_thread_site_is_refused():
    pipe = blur_pipe()
    s = thread_site(lambda f: f.gpu_threads("x"))(pipe)
    with pytest.raises(vx.ScheduleError, match=r"gpu_threads\(x\) on Func 'blur_x': 'blur_x' is "
                       r"computed at loop 'xi' of 'blur', which is not bound to gpu_blocks, so "
                       r"each thread computes its own 'blur_x'"):
        vx.source(pipe, s, target="opencl")
