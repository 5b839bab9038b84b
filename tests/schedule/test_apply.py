"""Applying directives through ``s[func]``: the loop nest each one produces and what it records."""
import numpy as np
import pytest

import pipelines as P
import vortex as vx
from vortex.schedule import MemoryType, Schedule, divisible
from vortex.schedule import directives as D


@pytest.fixture
def mm():
    return Schedule(P.matmul())


def test_initial_loops_are_pure_vars_then_reduction_vars(mm):
    assert mm.loop_vars("C") == ["i", "j", "k"]
    assert Schedule(P.box()).loop_vars("box") == ["y", "x", "rr_0", "rr_1"]
    assert Schedule(P.histogram()).loop_vars("hist") == ["b"]


def test_split(mm):
    mm["C"].split("k", "ko", "ki", 32)
    assert mm.loop_vars("C") == ["i", "j", "ko", "ki"]
    assert mm.stage_directives("C") == (D.Split("k", "ko", "ki", 32),)


def test_tile_with_var_objects(mm):
    i, j = vx.vars("i j")
    yo, xo, yi, xi = vx.vars("yo xo yi xi")
    mm[mm.pipe.func("C")].tile(i, j, yo, xo, yi, xi, 64, 32)
    assert mm.loop_vars("C") == ["yo", "xo", "yi", "xi", "k"]
    assert mm.stage_directives("C") == (D.Tile("i", "j", "yo", "xo", "yi", "xi", 64, 32),)


def test_reorder_is_outermost_first_and_keeps_unlisted_positions(mm):
    mm["C"].tile("i", "j", "yo", "xo", "yi", "xi", 64, 64).split("k", "ko", "ki", 8)
    mm["C"].reorder("ko", "yi", "xi", "ki")
    assert mm.loop_vars("C") == ["yo", "xo", "ko", "yi", "xi", "ki"]
    mm["C"].reorder("xi", "yi")
    assert mm.loop_vars("C") == ["yo", "xo", "ko", "xi", "yi", "ki"]


def test_fuse_replaces_outer_position(mm):
    mm["C"].fuse("i", "j", "ij")
    assert mm.loop_vars("C") == ["ij", "k"]


def test_gpu_tile_splits_reorders_and_binds(mm):
    mm["C"].gpu_tile("i", "j", "by", "bx", "ty", "tx", 16, 8)
    assert mm.loop_vars("C") == ["by", "bx", "ty", "tx", "k"]
    nest = mm.validate()["C"]
    assert nest.blocks == ["by", "bx"] and nest.threads == ["ty", "tx"]


def test_gpu_tile_one_dim():
    s = Schedule(P.scale1d())
    s["scaled"].gpu_tile("x", "bx", "tx", 128)
    assert s.loop_vars("scaled") == ["bx", "tx"]


def test_gpu_blocks_and_threads(mm):
    mm["C"].tile("i", "j", "yo", "xo", "yi", "xi", 16, 16).gpu_blocks("yo", "xo")
    mm["C"].gpu_threads("yi").gpu_threads("xi")
    nest = mm.validate()["C"]
    assert nest.blocks == ["yo", "xo"] and nest.threads == ["yi", "xi"]


def test_vectorize_and_unroll_with_factor_keep_outer_name(mm):
    mm["C"].vectorize("j", 4).unroll("k", np.int64(2))
    assert mm.loop_vars("C") == ["i", "j", "j_vi", "k", "k_ui"]
    assert mm.validate()["C"].rvars == {"k", "k_ui"}


def test_vectorize_and_unroll_without_factor_keep_loops(mm):
    mm["C"].split("j", "jo", "ji", 4).vectorize("ji").unroll("k")
    assert mm.loop_vars("C") == ["i", "jo", "ji", "k"]
    assert mm.stage_directives("C")[1:] == (D.Vectorize("ji"), D.Unroll("k"))


def test_split_of_reduction_var_is_a_reduction_var(mm):
    mm["C"].split("k", "ko", "ki", 4)
    assert mm.validate()["C"].rvars == {"ko", "ki"}


def test_compute_at_and_store_in():
    s = Schedule(P.blur())
    s["blur"].tile("y", "x", "yo", "xo", "yi", "xi", 32, 32).gpu_blocks("yo", "xo")
    s["blur"].gpu_threads("yi", "xi")
    s["blur_x"].compute_at(s.pipe.func("blur"), "xo").store_in(MemoryType.SHARED)
    nest = s.validate()["blur_x"]
    assert nest.compute == D.ComputeAt("blur", "xo") and nest.store is MemoryType.SHARED
    assert s.stage_directives("blur_x")[1] == D.StoreIn(MemoryType.SHARED)


def test_compute_at_producer_scheduled_before_consumer_order_free_in_files():
    # Python checks compute_at against the consumer's current loops, so schedule it first.
    s = Schedule(P.branches())
    s["out"].split("y", "yo", "yi", 8)
    s["pre"].compute_at("out", "yo")          # out consumes pre through f (transitively)
    assert not s.validate()["pre"].inlined


def test_compute_root_and_inline():
    s = Schedule(P.branches())
    s["f"].compute_root().split("x", "xo", "xi", 4)
    s["g"].compute_inline()
    nests = s.validate()
    assert isinstance(nests["f"].compute, D.ComputeRoot) and not nests["f"].inlined
    assert nests["g"].inlined and nests["pre"].inlined


def test_bound_and_specialize(mm):
    mm["C"].bound("i", 0, 4096).specialize(divisible(vx.Dim("M"), 64))
    mm["C"].specialize(("divisible", "K", 8))
    assert mm.stage_directives("C")[1:] == (D.Specialize(("divisible", "M", 64)),
                                            D.Specialize(("divisible", "K", 8)))
    mm.validate()


def test_rdom_handle_as_var(mm):
    k = vx.RDom(vx.Dim("K"), name="k")
    mm["C"].split(k, "ko", "ki", 16)
    assert mm.loop_vars("C") == ["i", "j", "ko", "ki"]


def test_chaining_returns_the_stage(mm):
    stage = mm["C"]
    assert stage.split("i", "io", "ii", 2) is stage


def test_failed_directive_leaves_schedule_unchanged(mm):
    mm["C"].split("i", "io", "ii", 2)
    before = {k: list(v) for k, v in mm.directives.items()}
    with pytest.raises(vx.ScheduleError):
        mm["C"].split("nope", "a", "b", 2)
    with pytest.raises(vx.ScheduleError):
        mm["C"].fuse("io", "j", "f")
    assert mm.directives == before
    assert Schedule(mm.pipe) == Schedule(mm.pipe)
    fresh = Schedule(mm.pipe)
    with pytest.raises(vx.ScheduleError):
        fresh["C"].split("nope", "a", "b", 2)
    assert fresh.directives == {}


def test_equality_is_by_pipeline_directives_and_meta():
    a, b = Schedule(P.matmul()), Schedule(P.matmul())
    a["C"].split("i", "io", "ii", 2)
    assert a != b
    b["C"].split("i", "io", "ii", 2)
    assert a == b
    b.meta["device"] = "X"
    assert a != b
    assert Schedule(P.blur()) != Schedule(P.matmul())


def test_add_directive_objects(mm):
    mm.add("C", D.Split("i", "io", "ii", 2))
    assert mm.loop_vars("C") == ["io", "ii", "j", "k"]


def test_copy_is_independent(mm):
    mm["C"].split("i", "io", "ii", 2)
    mm.meta["measured"] = {"ms": 1.0}
    c = mm.copy()
    assert c == mm
    c["C"].split("j", "jo", "ji", 2)
    c.meta["measured"]["ms"] = 2.0
    assert c != mm and mm.loop_vars("C") == ["io", "ii", "j", "k"]
    assert mm.meta["measured"]["ms"] == 1.0
