"""One loop nest, one definition per loop directive (vortex.schedule.nest), used by Schedule
building (extents unknown), the tuner (int extents at a shape) and lowering (sympy extents)."""
import pytest

import pipelines as P
import vortex as vx
from vortex.algorithm.bounds import to_sympy
from vortex.algorithm.symbolic import dim_symbol
from vortex.lower import loops
from vortex.lower.ir import ForKind, GpuAxis
from vortex.schedule import Schedule, nest
from vortex.schedule import directives as D
from vortex.schedule.nest import FuseRecord, LoopNest, SplitRecord, initial_loops
from vortex.tuner import Context, Space
from vortex.tuner import space as tuner_space
from vortex.target import Target

PIPE = P.matmul()
SHAPE = {"M": 20, "N": 16, "K": 12}
M = dim_symbol("M")

# Every loop directive at least once: tile, split, fuse, reorder, bindings, unroll, vectorize.
SCHEDULE = (D.Tile("i", "j", "io", "jo", "ii", "ji", 8, 4), D.Split("k", "ko", "ki", 3),
            D.Fuse("io", "jo", "b"), D.Reorder(("ko", "ii")), D.GpuBlocks(("b",)),
            D.GpuThreads(("ji",)), D.Unroll("ki"), D.Vectorize("ii", 2))


def nests():
    """The nest of C under three kinds of extents: unknown, a shape's ints, sympy."""
    func = PIPE.func("C")
    ctx = Context(PIPE, SHAPE, Target.OPENCL)
    return {"unknown": LoopNest("C", initial_loops(func)),
            "int": LoopNest("C", initial_loops(func, ctx.evaluate)),
            "sympy": LoopNest("C", initial_loops(func, to_sympy))}


def applied(n: LoopNest) -> LoopNest:
    for d in SCHEDULE:
        n.apply(d)
    return n


def test_one_loop_nest_class_for_schedules_tuner_and_lowering():
    assert loops.LoopNest is nest.LoopNest is vx.schedule.LoopNest
    assert loops.Loop is nest.Loop and loops.SplitRecord is SplitRecord
    assert not hasattr(loops, "_HANDLERS") and not hasattr(tuner_space, "SPLITS")


@pytest.mark.parametrize("kind", ["unknown", "int", "sympy"])
def test_the_same_directives_give_the_same_loops_whatever_the_extents(kind):
    n = applied(nests()[kind])
    assert n.names == ["b", "ko", "ji", "ii", "ii_vi", "ki"]
    assert n.names == Schedule(PIPE, {"C": list(SCHEDULE)}).loop_vars("C")
    assert [lp.axis for lp in n.loops] == [GpuAxis.BLOCK_X, None, GpuAxis.THREAD_X, None, None,
                                           None]
    assert n.loop("ki").kind is ForKind.UNROLLED and n.loop("ii_vi").kind is ForKind.VECTORIZED
    assert [lp.reduction for lp in n.loops] == [False, True, False, False, False, True]
    assert [type(r) for r in n.records] == [SplitRecord] * 3 + [FuseRecord, SplitRecord]


def splits(n: LoopNest) -> list:
    return [r for r in n.records if isinstance(r, SplitRecord)]


def test_extents_follow_their_kind():
    unknown, ints, syms = (applied(n) for n in nests().values())
    assert [lp.extent for lp in unknown.loops] == [None, None, 4, 4, 2, 3]
    assert [lp.extent for lp in ints.loops] == [12, 4, 4, 4, 2, 3]     # ceil(20/8) * 16/4 = 12
    assert [r.exact for r in splits(ints)] == [False, True, True, True]
    assert ints.records[0] == SplitRecord("i", "io", "ii", 8, 20, False)
    n_ = dim_symbol("N")
    ext = syms.loop("b").extent            # ceil(M / 8) * ceil(N / 4), checked at sizes
    for m, n in ((1, 1), (8, 4), (9, 5), (17, 30)):
        assert ext.subs({M: m, n_: n}) == -(-m // 8) * -(-n // 4)
    assert [r.exact for r in splits(syms)] == [False, False, False, True]
    assert not unknown.records[0].exact        # unknown: not provably exact, so guarded


def test_a_specialized_dim_makes_the_split_exact():
    n = LoopNest("C", initial_loops(PIPE.func("C"), to_sympy), assume={M: 16})
    n.apply(D.Split("i", "io", "ii", 8))
    assert n.records[0].exact


def test_an_error_is_the_same_text_from_every_user():
    bad = D.GpuBlocks(("k",))
    with pytest.raises(vx.ScheduleError) as built:
        Schedule(PIPE)["C"].gpu_blocks("k")
    for kind, n in nests().items():
        with pytest.raises(vx.ScheduleError) as applied_:
            n.apply(bad)
        assert str(applied_.value) == str(built.value) == (
            "gpu_blocks(k) on Func 'C': var 'k' iterates a reduction domain; binding it to "
            "gpu_blocks would make blocks race on one accumulator (bind pure vars; or split it "
            "and bind the inner var to gpu_threads: a cross-thread reduction)")
    assert built.value.entry == 1 and not hasattr(applied_.value, "entry")


def test_a_loop_marked_without_a_factor_needs_a_constant_extent_when_it_is_known():
    for kind, n in nests().items():
        if kind == "sympy":
            with pytest.raises(vx.ScheduleError, match=r"^unroll\(j\) on Func 'C': the extent N "
                               r"of 'j' is not a constant; give a factor \(unroll\(j, 4\)\) or "
                               r"split 'j' by a constant first$"):
                n.apply(D.Unroll("j"))
        else:
            n.apply(D.Unroll("j"))
            assert n.loop("j").kind is ForKind.UNROLLED


def test_a_primitive_called_directly_raises_a_schedule_error():
    n = nests()["sympy"]
    with pytest.raises(vx.ScheduleError, match=r"^unknown var 'q'; loop vars of 'C' are "
                       r"\[i, j, k\]$"):
        n.split("q", "qo", "qi", 4)
    n.apply(D.ComputeRoot())          # not a loop directive: the loops are unchanged
    assert n.names == ["i", "j", "k"] and n.records == []


def test_the_tuner_prunes_a_split_of_a_fused_loop_at_the_shape():
    s = vx.Schedule(PIPE)
    s["C"].fuse("i", "j", "ij").split("ij", "o", "t", vx.Tunable("F", [8, 6]))
    space = Space(s, constraints=("divisible",))
    ctx = Context(PIPE, {"M": 4, "N": 4, "K": 8}, Target.OPENCL)
    assert space.configure({"F": 8}, ctx)[1] is None
    assert space.configure({"F": 6}, ctx)[1] == (
        "divisible: split(ij, o, t, 6) on Func 'C': factor 6 does not divide the extent 16 of "
        "'ij' (shape {'M': 4, 'N': 4, 'K': 8})")
