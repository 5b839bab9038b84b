"""Schedules that validate but cannot be lowered: each raises vx.ScheduleError naming the
directive, the Func and the variable, and saying what to change (one test per message).
These need no device: vx.source lowers and prints only."""
import re

import pytest

import pipelines as P
import vortex as vx

x, y, xo, xi, yo, yi, bo, bi, yx = vx.vars("x y xo xi yo yi bo bi yx")


def check_fails(name, schedule, *parts):
    pipe = P.pipe(name)
    s = vx.Schedule(pipe)
    schedule(s)
    with pytest.raises(vx.ScheduleError) as info:
        vx.source(pipe, s, target="opencl")
    for part in parts:
        assert re.search(part, str(info.value)), (part, str(info.value))
    return str(info.value)


def test_gpu_threads_on_a_non_constant_extent():
    check_fails("blur", lambda s: s["blur"].gpu_threads(x),
          r"gpu_threads\(x\) on Func 'blur'", "thread extent W is not a constant",
          "split the loop with a constant factor")


def test_gpu_threads_on_an_outer_split_loop():
    check_fails("blur", lambda s: s["blur"].split(x, xo, xi, 8).gpu_threads(xo),
          r"gpu_threads\(xo\) on Func 'blur'", r"the thread extent \(W \+ 7\) // 8 is not a constant")


def test_compute_at_footprint_not_constant():
    check_fails("blur", lambda s: (s["blur"].split(x, xo, xi, 8),
                             s["blur_x"].compute_at("blur", y)),
          r"compute_at\(blur, y\) of Func 'blur_x'", "not a constant size in dimension 1",
          "split the consumer loops inside 'y' by constant factors")


def test_store_in_shared_at_a_thread_loop():
    check_fails("blur", lambda s: (s["blur"].gpu_tile(y, x, yo, xo, yi, xi, 8, 8),
                             s["blur_x"].compute_at("blur", xi).store_in("shared")),
          r"store_in\(\"shared\"\) on Func 'blur_x'", "loop 'xi' is not bound to gpu_blocks",
          "compute it at a block loop")


def test_compute_at_into_a_consumer_that_is_not_root():
    check_fails("softmax", lambda s: (s["softmax"].gpu_tile("r", "c", yo, xo, yi, xi, 4, 32),
                                s["e"].compute_at("softmax", xo),
                                s["row_max"].compute_at("e", "c")),
          r"compute_at\(e, c\) on Func 'row_max'", "consumer must be computed at root")


def test_compute_at_producer_read_by_another_func():
    check_fails("softmax", lambda s: (s["softmax"].gpu_tile("r", "c", yo, xo, yi, xi, 4, 32),
                                s["e"].compute_at("softmax", xo),
                                s["row_max"].compute_root(), s["row_sum"].compute_root()),
          r"compute_at\(softmax, xo\) on Func 'e'", "'row_sum' also reads 'e'",
          r"compute_root\(\)")


def test_compute_at_producer_read_at_another_loop():
    check_fails("blur", lambda s: (s["blur"].gpu_tile(y, x, yo, xo, yi, xi, 8, 16),
                             s["blur_x"].compute_at("blur", xo),
                             s["img_repeat_edge"].compute_at("blur", xi)),
          r"compute_at\(blur, xi\) on Func 'img_repeat_edge'", "'blur_x' also reads",
          "outside loop 'xi' of 'blur'")


def test_compute_at_a_reduction_loop_read_after_the_reduction():
    check_fails("box", lambda s: (s["box"].gpu_tile(y, x, yo, xo, yi, xi, 8, 8),
                            s["img_repeat_edge"].compute_at("box", "rr_0")),
          r"compute_at\(box, rr_0\) of Func 'img_repeat_edge'",
          "'rr_0' is a loop of the reduction over 'rr'", "also reads 'img_repeat_edge' outside",
          r"\['yo', 'xo', 'yi', 'xi'\]")


@pytest.mark.parametrize("directive", ["unroll", "vectorize"])
def test_unroll_or_vectorize_a_non_constant_loop(directive):
    check_fails("blur", lambda s: getattr(s["blur"].gpu_blocks(y), directive)(x),
          rf"{directive}\(x\) on Func 'blur'", "extent W of 'x' is not a constant",
          rf"give a factor \({directive}\(x, 4\)\)")


def test_bound_smaller_than_needed():
    check_fails("taps", lambda s: s["weights"].compute_root().bound("i", 0, 2),
          r"bound\(i, 0, 2\) on Func 'weights'", r"need i in \[0, 2\]",
          r"\[0, 1\] does not cover", "widen the bound")


def test_bound_starting_above_what_is_needed():
    check_fails("taps", lambda s: s["weights"].compute_root().bound("i", 1, 8),
          r"bound\(i, 1, 8\) on Func 'weights'", r"need i in \[0, 2\]")


def test_compile_raises_the_same_error():
    pipe = P.pipe("blur")
    s = vx.Schedule(pipe)
    s["blur"].gpu_threads(x)
    with pytest.raises(vx.ScheduleError, match=r"gpu_threads\(x\)"):
        vx.compile(pipe, schedule=s, target="opencl")


def test_one_trip_loops_in_init_and_finalize_compile(opencl_device):
    """vectorize by the whole extent leaves one-trip loops in both the accumulator init and
    finalize; they must not declare the same counter twice."""
    import numpy as np
    R, C = vx.dims("R C")
    r, l = vx.vars("r l")
    xs = vx.Input("x", vx.float32, (R, C))
    k = vx.RDom(C // 16, name="k")
    f = vx.Func("f", shape=(R, 16))
    f[r, l] = vx.sum(xs[r, k * 16 + l])
    pipe = vx.Pipeline(f)
    s = vx.Schedule(pipe)
    s[f].gpu_blocks(r).reorder("k", "l").vectorize(l, 16)
    a = np.random.default_rng(0).random((5, 40), dtype=np.float32)
    np.testing.assert_allclose(vx.compile(pipe, schedule=s)(x=a), pipe.reference(x=a), rtol=1e-6)
