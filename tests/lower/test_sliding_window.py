"""``store_at`` and sliding windows (issue 11 item 5; Halide's ``SlidingWindow`` and
``StorageFolding``): ``s[f].store_at(g, xi).compute_at(g, yi)`` with ``yi`` serial inside ``xi``
computes each new row of ``f`` once per iteration of ``yi`` and reuses the others. Each schedule
runs on PoCL against ``pipe.reference`` at awkward sizes (1, primes, non-multiples of the tiles);
the lowered IR computes the whole window at the first iteration and only the new rows after; the
schedule round-trips through TOML and ``to_python()``; misuse is a vx.ScheduleError naming what to
change."""
import re
from pathlib import Path

import numpy as np
import pipelines as P
import pytest

import vortex as vx
from vortex.algorithm import dtypes as T
from vortex.algorithm.construct import binary
from vortex.algorithm.expr import BinaryOp
from vortex.lower.driver import lower
from vortex.lower.ir import For, If, Ref, Store, i32
from vortex.lower.walk import stmts
from vortex.schedule import Schedule

SIZES = [(1, 1), (2, 3), (7, 13), (37, 101), (64, 64)]
ROOT = Path(__file__).resolve().parents[2]


def vertical_blur(taps: int, step: int = 1) -> vx.Pipeline:
    """``out[c, y, x] = Σ_d f[c, step·y + d - taps//2, x]`` over ``taps`` rows of a horizontal
    3-tap ``f`` over a clamped image (C, H, W) float32; ``step`` 2 downsamples rows."""
    C, H, W = vx.dims("C H W")
    c, y, x = vx.vars("c y x")
    img = vx.Input("img", vx.float32, (C, H, W))
    src = vx.repeat_edge(img)
    f = vx.Func("f")
    f[c, y, x] = src[c, y, x - 1] + vx.float32(2) * src[c, y, x] + src[c, y, x + 1]
    out = vx.Func("out", shape=(C, H, W))
    out[c, y, x] = sum(vx.float32(d + 1) * f[c, step * y + d - taps // 2, x]
                       for d in range(taps))
    return vx.Pipeline(out)


def thread_rows(pipe, ty=8, tx=16, store="xi", at="yi") -> Schedule:
    """CPU style: each thread of a 1-D block of ``tx`` runs ``ty`` rows of one column serially;
    ``f`` stored at ``store`` and computed at ``at``."""
    s = Schedule(pipe)
    s["out"].split("y", "y", "yi", ty).split("x", "x", "xi", tx).reorder("c", "y", "x", "xi", "yi")
    s["out"].gpu_blocks("c", "y", "x").gpu_threads("xi")
    s["f"].store_at("out", store).compute_at("out", at)
    return s


def column(pipe, tx=16) -> Schedule:
    """One thread per column: a serial loop over all rows (symbolic extent H)."""
    s = Schedule(pipe)
    s["out"].split("x", "x", "xi", tx).reorder("c", "x", "xi", "y")
    s["out"].gpu_blocks("c", "x").gpu_threads("xi")
    s["f"].store_at("out", "xi").compute_at("out", "y")
    return s


def serial_strips(pipe) -> Schedule:
    """Store at a serial loop over 8-row strips, compute at the rows inside; columns in a
    2-wide register micro-tile per thread (a 2-column window)."""
    s = Schedule(pipe)
    s["out"].split("y", "y", "yi", 8).split("x", "x", "xi", 8).split("x", "x", "xr", 2)
    s["out"].reorder("c", "x", "xi", "y", "yi", "xr").gpu_blocks("c", "x").gpu_threads("xi")
    s["f"].store_at("out", "y").compute_at("out", "yi")
    return s


def unrolled_rows(pipe) -> Schedule:
    s = thread_rows(pipe, ty=4)
    s["out"].unroll("yi")
    return s


def vectorized_producer(pipe) -> Schedule:
    """4 columns per thread, the producer's own row vectorized over them."""
    s = Schedule(pipe)
    s["out"].split("y", "y", "yi", 8).split("x", "x", "xi", 16).split("xi", "xi", "xv", 4)
    s["out"].reorder("c", "y", "x", "xi", "yi", "xv").gpu_blocks("c", "y", "x")
    s["out"].gpu_threads("xi").vectorize("xv")
    s["f"].store_at("out", "xi").compute_at("out", "yi").vectorize("x")
    return s


SCHEDULES = {
    "3-tap, rows per thread": (lambda: vertical_blur(3), thread_rows),
    "5-tap, rows per thread": (lambda: vertical_blur(5), thread_rows),
    "5-tap, 7-row strips (not dividing)": (lambda: vertical_blur(5),
                                           lambda p: thread_rows(p, ty=7, tx=5)),
    "5-tap, whole columns": (lambda: vertical_blur(5), column),
    "3-tap, stored at a serial loop": (lambda: vertical_blur(3), serial_strips),
    "5-tap, unrolled rows": (lambda: vertical_blur(5), unrolled_rows),
    "5-tap, vectorized producer": (lambda: vertical_blur(5), vectorized_producer),
    "3-tap, step 2 (2 new rows)": (lambda: vertical_blur(3, step=2), thread_rows),
    "2-tap, step 3 (no overlap)": (lambda: vertical_blur(2, step=3), thread_rows),
}


@pytest.mark.parametrize("name", SCHEDULES)
def test_sliding_window_matches_the_reference(name, opencl_device):
    make_pipe, make_schedule = SCHEDULES[name]
    pipe = make_pipe()
    kernel = vx.compile(pipe, make_schedule(pipe), target="opencl", device=opencl_device)
    rng = np.random.default_rng(11)
    for h, w in SIZES:
        img = rng.random((2, h, w), dtype=np.float32)
        np.testing.assert_array_equal(kernel(img=img), pipe.reference(img=img),
                                      err_msg=f"{name} at {h}×{w}")


def test_blur_example_with_a_sliding_window(opencl_device):
    from vortex.examples import load_example
    pipe = load_example(ROOT / "examples" / "blur.py").pipeline()
    s = Schedule(pipe)
    s["blur"].split("y", "y", "yi", 16).split("x", "x", "xi", 32).reorder("c", "y", "x", "xi", "yi")
    s["blur"].gpu_blocks("c", "y", "x").gpu_threads("xi")
    s["blur_x"].store_at("blur", "xi").compute_at("blur", "yi")
    kernel = vx.compile(pipe, s, target="opencl", device=opencl_device)
    rng = np.random.default_rng(3)
    for h, w in [(1, 1), (17, 31), (33, 67)]:
        img = rng.random((3, h, w), dtype=np.float32)
        np.testing.assert_array_equal(kernel(img=img), pipe.reference(img=img))


def _window_fills(pipe, schedule):
    """{(points per first iteration, points per later iteration)}: the product of the loop
    extents around the stores into the window in each branch of every ``if (yi == 0)`` (one per
    version of the loop nest)."""
    (kernel,) = lower(pipe, schedule).kernels
    first = binary(BinaryOp.EQ, Ref("yi", T.int32), i32(0)).key
    branches = [s for s in stmts(kernel.body) if isinstance(s, If) and s.cond.key == first]
    assert branches

    def points(s):
        if s is None:
            return 0
        store = next(t for t in stmts(s) if isinstance(t, Store) and t.buffer == "f.win")
        n = 1
        for loop in (t for t in stmts(s) if isinstance(t, For)):
            if store in stmts(loop):
                n *= loop.extent.value
        return n
    return {(points(b.then), points(b.otherwise)) for b in branches}


@pytest.mark.parametrize("taps, step, expected", [(3, 1, (3, 1)), (5, 1, (5, 1)),
                                                   (3, 2, (3, 2))])
def test_each_new_row_is_computed_once(taps, step, expected):
    pipe = vertical_blur(taps, step)
    assert _window_fills(pipe, thread_rows(pipe)) == {expected}


def test_window_storage_is_folded_to_a_power_of_two():
    pipe = vertical_blur(5)
    (kernel,) = lower(pipe, thread_rows(pipe, ty=32)).kernels
    sizes = {s.size for s in stmts(kernel.body) if getattr(s, "name", None) == "f.win"}
    assert sizes == {8}          # 5 rows of one column per thread, folded to 8 (not 36)


def test_window_that_does_not_move_is_computed_once(opencl_device):
    pipe = _one_dim(lambda f, y, x: f[0, x] * vx.cast(vx.float32, y))
    s = Schedule(pipe)
    s["out"].split("y", "y", "yi", 4).split("x", "x", "xi", 8).reorder("y", "x", "xi", "yi")
    s["out"].gpu_blocks("y", "x").gpu_threads("xi")
    s["f"].store_at("out", "xi").compute_at("out", "yi")
    assert _window_fills(pipe, s) == {(1, 0)}     # row 0 at yi == 0, nothing after
    kernel = vx.compile(pipe, s, target="opencl", device=opencl_device)
    rng = np.random.default_rng(2)
    for h, w in [(1, 1), (5, 3), (13, 17)]:
        img = rng.random((h, w), dtype=np.float32)
        np.testing.assert_array_equal(kernel(img=img), pipe.reference(img=img))


def test_store_at_the_compute_loop_is_plain_compute_at():
    pipe = vertical_blur(5)
    s = thread_rows(pipe, store="yi")
    (kernel,) = lower(pipe, s).kernels
    assert not any(getattr(t, "buffer", None) == "f.win" for t in stmts(kernel.body))


def test_store_at_round_trips_through_toml_and_python(tmp_path):
    pipe = vertical_blur(5)
    s = thread_rows(pipe)
    path = tmp_path / "s.toml"
    s.save(path)
    assert Schedule.load(path, pipe).directives == s.directives
    assert 's["f"].store_at("out", "xi")' in s.to_python()
    assert P.replay_python(s).directives == s.directives


# --- errors: each names the directive and what to change ---

def raises(*parts):
    return pytest.raises(vx.ScheduleError, match=".*".join(re.escape(p) for p in parts))


def _tiles(pipe):
    s = Schedule(pipe)
    s["out"].split("y", "y", "yi", 8).split("x", "x", "xi", 16).reorder("c", "y", "x", "xi", "yi")
    s["out"].gpu_blocks("c", "y", "x").gpu_threads("xi")
    return s


def test_store_at_without_compute_at():
    s = _tiles(vertical_blur(3))
    s["f"].store_at("out", "xi")
    with raises("store_at(out, xi) on Func 'f'", "has no compute_at", "add compute_at(out"):
        s.validate()


def test_store_at_inside_the_compute_loop():
    pipe = vertical_blur(3)
    s = Schedule(pipe)
    s["out"].split("y", "y", "yi", 8).reorder("c", "x", "y", "yi").gpu_blocks("c", "x")
    s["f"].store_at("out", "yi").compute_at("out", "y")
    with raises("store_at(out, yi) on Func 'f'", "'yi' does not enclose the compute_at loop 'y'",
                "store it at 'y' or a loop outside it"):
        s.validate()


def test_store_at_outside_a_gpu_loop():
    s = _tiles(vertical_blur(3))
    s["f"].store_at("out", "y").compute_at("out", "yi")
    with raises("store_at(out, y) on Func 'f'", "loop 'x' of 'out'", "bound to block_x",
                "no window can slide", "store 'f' at 'xi'"):
        s.validate()


def test_store_at_outside_a_vectorized_loop():
    s = _tiles(vertical_blur(3))
    s["out"].vectorize("yi")
    s["f"].store_at("out", "xi").compute_at("out", "yi")
    with raises("store_at(out, xi) on Func 'f'", "loop 'yi'", "is vectorized"):
        s.validate()


def test_store_at_an_unknown_loop():
    s = _tiles(vertical_blur(3))
    with raises("store_at(out, q) on Func 'f'", "'q' is not a loop var of 'out'"):
        s["f"].store_at("out", "q")


def test_store_at_a_loop_of_another_func():
    s = _tiles(vertical_blur(3))
    with raises("store_at(f, x) on Func 'f'", "cannot be computed inside its own loops"):
        s["f"].store_at("f", "x")


def test_store_at_with_shared_memory():
    pipe = vertical_blur(3)
    s = _tiles(pipe)
    s["f"].store_at("out", "xi").compute_at("out", "yi").store_in("shared")
    with raises("store_at(out, xi) of Func 'f'", "drop store_in(\"shared\")"):
        lower(pipe, s)


def _one_dim(value):
    """``out[y, x] = value(f, y, x)`` over ``f[y, x] = 2 img[clamped y, x]`` (H, W) float32."""
    H, W = vx.dims("H W")
    y, x = vx.vars("y x")
    img = vx.Input("img", vx.float32, (H, W))
    f = vx.Func("f")
    f[y, x] = vx.repeat_edge(img)[y, x] * 2
    out = vx.Func("out", shape=(H, W))
    out[y, x] = value(f, y, x)
    return vx.Pipeline(out)


@pytest.mark.parametrize("value, why, fix", [
    (lambda f, y, x: f[y, x + y],
     "per iteration of 'yi' moves along dimensions [0, 1] at once", "drop store_at"),
    (lambda f, y, x: f[y, x] + f[0, x], "in 2 separate boxes", "drop store_at"),
    (lambda f, y, x: f[-y, x], "per iteration of 'yi' moves by -1 per iteration in dimension 0",
     "slides forwards by a constant step"),
], ids=["two dimensions", "two boxes", "backwards"])
def test_window_that_cannot_slide(value, why, fix):
    pipe = _one_dim(value)
    s = Schedule(pipe)
    s["out"].split("y", "y", "yi", 4).split("x", "x", "xi", 8).reorder("y", "x", "xi", "yi")
    s["out"].gpu_blocks("y", "x").gpu_threads("xi")
    s["f"].store_at("out", "xi").compute_at("out", "yi")
    with raises("store_at(out, xi) of Func 'f'", why, fix):
        lower(pipe, s)


def test_sliding_window_compiles_for_cuda_and_hip(offline):
    _, build = offline
    pipe = vertical_blur(5)
    kernel = build(pipe, thread_rows(pipe))
    assert "f_win" in kernel.source and len(kernel.binary) > 0
