"""One test per user-facing schedule error: each names the directive, the Func and the var."""
import re

import pytest

import pipelines as P
import vortex as vx
from vortex.schedule import Schedule
from vortex.schedule import directives as D


def raises(*parts):
    """pytest.raises(vx.ScheduleError) whose message contains every part, in order."""
    return pytest.raises(vx.ScheduleError, match=".*".join(re.escape(p) for p in parts))


@pytest.fixture
def mm():
    return Schedule(P.matmul())


@pytest.fixture
def blur():
    return Schedule(P.blur())


# --- arguments (checked before the loop nest) ---

def test_factor_not_positive(blur):
    with raises("split(x, xo, xi, 0) on Func 'blur': factor must be a positive int"):
        blur["blur"].split("x", "xo", "xi", 0)


def test_name_not_identifier(blur):
    with raises("split(x, 'x; system()', xi, 4) on Func 'blur'", "not a valid name"):
        blur["blur"].split("x", "x; system()", "xi", 4)


def test_wrong_argument_count(blur):
    with raises("gpu_tile(y, x, by, bx, ty, tx, 8) on Func 'blur'", "takes 4, 8 or 12 arguments"):
        blur["blur"].gpu_tile("y", "x", "by", "bx", "ty", "tx", 8)


def test_unknown_memory(blur):
    with raises("store_in(l2) on Func 'blur_x'", "memory must be one of"):
        blur["blur_x"].store_in("l2")


def test_unknown_condition(mm):
    with raises("specialize(prime, M, 3) on Func 'C'", "unknown condition 'prime'"):
        mm["C"].specialize(("prime", "M", 3))


def test_condition_not_a_tuple(mm):
    with raises("specialize(64) on Func 'C'", "vx.divisible(M, 64)"):
        mm["C"].specialize(64)


def test_multidimensional_rdom_as_var():
    s = Schedule(P.box())
    with raises("RDom 'rr' is 2-dimensional", "rr[0]"):
        s["box"].split(vx.RDom((3, 3), name="rr"), "a", "b", 2)


def test_unknown_func(blur):
    with raises("'blurx' is unknown Func of pipeline 'blur'", "blur_x, blur"):
        blur["blurx"]


def test_input_is_not_a_func(blur):
    with raises("'img' is an Input, not a Func"):
        blur["img"].compute_root()


def test_not_a_pipeline():
    with raises("vx.Schedule needs a vx.Pipeline"):
        Schedule("blur")


def test_add_not_a_directive(mm):
    with raises("not a schedule directive"):
        mm.add("C", ("split", "i"))


# --- loop nest ---

def test_unknown_var(blur):
    with raises("split(z, zo, zi, 8) on Func 'blur': unknown var 'z'", "[y, x]"):
        blur["blur"].split("z", "zo", "zi", 8)


def test_new_name_is_a_loop_var(blur):
    with raises("split(x, y, xi, 8) on Func 'blur'", "new name 'y' is already a loop var"):
        blur["blur"].split("x", "y", "xi", 8)


def test_new_name_is_a_pipeline_name(mm):
    mm["C"].split("k", "ko", "ki", 4)             # 'k' stays reserved once split away
    for taken in ("A", "M", "C", "k"):
        with raises(f"split(i, {taken}, ii, 8) on Func 'C'", f"new name {taken!r} is already "
                    "the name of a Func, Input, Param, Dim or RDom var"):
            mm["C"].split("i", taken, "ii", 8)


def test_new_names_must_differ(mm):
    with raises("split(i, a, a, 8) on Func 'C'", "new loop names must differ"):
        mm["C"].split("i", "a", "a", 8)


def test_split_bound_var(mm):
    mm["C"].gpu_blocks("i")
    with raises("split(i, io, ii, 2) on Func 'C'", "var 'i' is bound to gpu_blocks; split it "
                "before binding"):
        mm["C"].split("i", "io", "ii", 2)


def test_vectorize_bound_var(mm):
    mm["C"].gpu_threads("j")
    with raises("vectorize(j) on Func 'C'", "var 'j' is bound to gpu_threads"):
        mm["C"].vectorize("j")


def test_vectorize_reduction_var(mm):
    with raises("vectorize(k, 4) on Func 'C'", "var 'k_vi' iterates a reduction domain"):
        mm["C"].vectorize("k", 4)


def test_tile_same_var(mm):
    with raises("tile(i, i, a, b, c, d, 4, 4) on Func 'C'", "two different vars, got 'i'"):
        mm["C"].tile("i", "i", "a", "b", "c", "d", 4, 4)


def test_reorder_var_twice(mm):
    with raises("reorder(i, j, i) on Func 'C'", "a var is listed twice"):
        mm["C"].reorder("i", "j", "i")


def test_fuse_not_adjacent(mm):
    with raises("fuse(j, i, ji) on Func 'C'", "'i' must be directly inside 'j'"):
        mm["C"].fuse("j", "i", "ji")


def test_fuse_pure_with_reduction_var(mm):
    with raises("fuse(j, k, jk) on Func 'C'", "cannot fuse a pure var with a reduction var"):
        mm["C"].fuse("j", "k", "jk")


def test_bind_twice(mm):
    mm["C"].gpu_blocks("i")
    with raises("gpu_threads(i) on Func 'C'", "var 'i' is already bound to a GPU axis"):
        mm["C"].gpu_threads("i")


def test_bind_reduction_var(mm):
    with raises("gpu_blocks(k) on Func 'C'", "var 'k' iterates a reduction domain"):
        mm["C"].gpu_blocks("k")


def test_too_many_block_vars():
    s = Schedule(P.nd(4))
    s["out4d"].gpu_blocks("a", "z").gpu_blocks("y")
    with raises("gpu_blocks(x) on Func 'out4d'", "at most 3 gpu_blocks vars", "[a, z, y]"):
        s["out4d"].gpu_blocks("x")


def test_too_many_vars_in_one_call():
    s = Schedule(P.nd(4))
    with raises("gpu_threads(a, z, y, x) on Func 'out4d'", "takes 1 to 3 arguments, got 4"):
        s["out4d"].gpu_threads("a", "z", "y", "x")


# --- compute level ---

def test_compute_at_itself(blur):
    with raises("compute_at(blur_x, x) on Func 'blur_x'", "cannot be computed inside its own"):
        blur["blur_x"].compute_at("blur_x", "x")


def test_compute_at_unknown_func(blur):
    with raises("compute_at(blr, x) on Func 'blur_x'", "unknown Func 'blr'", "blur_x, blur"):
        blur["blur_x"].compute_at("blr", "x")


def test_compute_at_on_output(blur):
    with raises("compute_at(blur_x, x) on Func 'blur'", "'blur' is a pipeline output"):
        blur["blur"].compute_at("blur_x", "x")


def test_compute_at_non_consumer():
    s = Schedule(P.branches())
    with raises("compute_at(g, x) on Func 'f'", "Func 'g' does not consume 'f'", "out"):
        s["f"].compute_at("g", "x")


def test_compute_at_unknown_var(blur):
    with raises("compute_at(blur, xo) on Func 'blur_x'", "'xo' is not a loop var of 'blur'",
                "[y, x]"):
        blur["blur_x"].compute_at("blur", "xo")


def test_compute_at_var_removed_later(blur):
    blur["blur"].split("x", "xo", "xi", 8)
    blur["blur_x"].compute_at("blur", "xo")
    with raises("compute_at(blur, xo) on Func 'blur_x'", "'xo' is not a loop var of 'blur'"):
        blur["blur"].fuse("xo", "xi", "xx")


def test_compute_inline_output(blur):
    with raises("compute_inline() on Func 'blur'", "outputs cannot be inlined"):
        blur["blur"].compute_inline()


def test_compute_inline_with_updates():
    s = Schedule(P.histogram_consumer())
    with raises("compute_inline() on Func 'hist'", "'hist' has update definitions"):
        s["hist"].compute_inline()


def test_bound_non_pure_var(mm):
    with raises("bound(k, 0, 8) on Func 'C'", "pure var of 'C' ([i, j]), not 'k'"):
        mm["C"].bound("k", 0, 8)


def test_specialize_unknown_dim(mm):
    with raises("specialize(divisible, Q, 8) on Func 'C'", "unknown Dim 'Q' (Dims: K, M, N)"):
        mm["C"].specialize(("divisible", "Q", 8))


# --- checks of the complete schedule (validate) ---

def test_store_shared_without_compute_at(blur):
    blur["blur_x"].compute_root().store_in("shared")
    with raises("store_in(shared) on Func 'blur_x'", "shared memory needs compute_at"):
        blur.validate()


def test_loops_of_an_inlined_func(blur):
    blur["blur_x"].split("x", "xo", "xi", 4)
    with raises("split(x, xo, xi, 4) on Func 'blur_x'", "'blur_x' is computed inline"):
        blur.validate()


def test_compute_at_an_inlined_func():
    s = Schedule(P.branches())
    s["pre"].compute_at("f", "x")
    with raises("compute_at(f, x) on Func 'pre'", "'f' is computed inline"):
        s.validate()


def test_threads_outside_blocks(mm):
    mm["C"].gpu_threads("i").gpu_blocks("j")
    with raises("gpu_threads(i) on Func 'C'", "gpu_threads var 'i' is outside gpu_blocks var "
                "'j'"):
        mm.validate()


def test_errors_carry_func_and_entry(mm):
    mm["C"].split("i", "io", "ii", 2).gpu_threads("io").gpu_blocks("ii")
    with pytest.raises(vx.ScheduleError) as e:
        mm.validate()
    assert (e.value.func, e.value.entry) == ("C", 2)
    assert isinstance(mm.stage_directives("C")[1], D.GpuThreads)


# --- the GPU data-movement directives -----------------------------------------------------------
def _matmul_tiled():
    s = vx.Schedule(P.matmul())
    s["C"].tile("i", "j", "yo", "xo", "yi", "xi", 8, 8).gpu_blocks("yo", "xo")
    s["C"].gpu_threads("yi", "xi").split("k", "ko", "ki", 8)
    return s


def test_stage_of_a_source_the_func_does_not_read():
    with pytest.raises(vx.ScheduleError, match=r"stage\(C, ko.*on Func 'C'.*does not read 'C'"):
        _matmul_tiled()["C"].stage("C", at="ko")


def test_stage_at_an_unknown_loop():
    with pytest.raises(vx.ScheduleError, match=r"stage\(A, kk.*unknown var 'kk'"):
        _matmul_tiled()["C"].stage("A", at="kk")


def test_stage_with_a_bad_swizzle_or_memory():
    with pytest.raises(vx.ScheduleError, match="swizzle must be None or 'xor'"):
        _matmul_tiled()["C"].stage("A", at="ko", swizzle="zigzag")
    with pytest.raises(vx.ScheduleError, match="not 'global'"):
        _matmul_tiled()["C"].stage("A", at="ko", memory="global")


def test_pipeline_without_a_stage_at_its_loop():
    with pytest.raises(vx.ScheduleError, match=r"pipeline\(ko.*no stage\(\.\.\., at='ko'\)"):
        _matmul_tiled()["C"].pipeline("ko", stages=3)


def test_pipeline_stages_out_of_range():
    s = _matmul_tiled()
    s["C"].stage("A", at="ko")
    with pytest.raises(vx.ScheduleError, match="stages must be 1 … 8"):
        s["C"].pipeline("ko", stages=9)


def test_warp_specialize_without_staged_copies():
    with pytest.raises(vx.ScheduleError, match=r"warp_specialize\(1\).*needs staged copies"):
        _matmul_tiled()["C"].warp_specialize(producers=1)


def test_swizzle_blocks_needs_two_block_axes():
    s = vx.Schedule(P.matmul())
    s["C"].gpu_tile("i", "yo", "yi", 16)
    with pytest.raises(vx.ScheduleError, match=r"swizzle_blocks\(4\).*two block axes"):
        s["C"].swizzle_blocks(group=4)


def test_xor_swizzle_needs_a_power_of_two_tile():
    s = vx.Schedule(P.matmul())
    s["C"].tile("i", "j", "yo", "xo", "yi", "xi", 8, 8).gpu_blocks("yo", "xo")
    s["C"].gpu_threads("yi", "xi").split("k", "ko", "ki", 6).stage("A", at="ko", swizzle="xor")
    with pytest.raises(vx.ScheduleError, match=r"8×6.*power-of-two last extent"):
        vx.source(s.pipe, s, target="opencl")
