"""Halide's name reuse: the outer loop of ``split(x, x, xi, 8)`` (and of ``tile``, ``gpu_tile``; the
fused loop of ``fuse(y, x, x)``) takes the name of the loop it replaces, and every later
directive naming it (``gpu_blocks(x)``, ``compute_at(f, x)``, ``stage(A, at=k)``) means the new
loop. Each schedule below runs like the reference on PoCL at awkward shapes, lowers to the loops
it says, round-trips through TOML and ``to_python()`` to the same source, and compiles with NVRTC
(sm_90) and hiprtc (gfx90a). The inner name must still be new: that error has its text tested.
"""
from dataclasses import dataclass
from typing import Callable

import compilers
import pytest

import pipelines as P
import vortex as vx
from vortex.algorithm.expr import BinaryOp
from vortex.lower.ir import Barrier, ForKind, GpuAxis, If, MemorySpace
from vortex.target import Target
from vortex.tuner.space import Context, check_divisible

from lower.cases import (lower_one_version, allocations, count, gpu_vars, loop_kinds, loops, only, unrolled,
                         uses_op)

BX, BY, BZ = GpuAxis.BLOCK_X, GpuAxis.BLOCK_Y, GpuAxis.BLOCK_Z
TX, TY, TZ = GpuAxis.THREAD_X, GpuAxis.THREAD_Y, GpuAxis.THREAD_Z


@dataclass(frozen=True)
class Reuse:
    """A schedule reusing names: ``func``'s loop vars after it are ``loop_vars``, and
    ``check(kernel)`` asserts what the lowered kernel looks like."""

    id: str
    pipeline: str
    func: str
    schedule: Callable
    loop_vars: list
    check: Callable

    def build(self) -> vx.Schedule:
        s = vx.Schedule(P.pipe(self.pipeline))
        self.schedule(s)
        return s


def _blocks_threads(block, **axes):
    def check(k):
        assert gpu_vars(k) == axes and k.block == block
    return check


def _split_twice(k):
    _blocks_threads((16, 1, 1), y=BY, x=BX, xi=TX)(k)
    assert [(v, kind, e.value) for v, kind, e in loops(k)] == [("xm", ForKind.SERIAL, 3)]
    assert count(k, If) >= 1                          # (x * 3 + xm) * 16 + xi < W


def _fused(k):
    _blocks_threads((64, 1, 1), x=BX, xi=TX)(k)
    assert uses_op(k, BinaryOp.FLOORDIV) and uses_op(k, BinaryOp.MOD)   # y, x of the fused x


def _shared_at_x(k):
    _blocks_threads((16, 8, 1), y=BY, x=BX, yi=TY, xi=TX)(k)
    assert allocations(k) == {"blur_x_sh": (MemorySpace.SHARED, 10 * 16)} and count(k, Barrier) == 1


def _register_at_x(k):
    assert gpu_vars(k) == {"y": BX}                  # one block var: the x axis
    assert [v for v, *_ in loops(k)][0] == "x"       # blur_x is computed per iteration of x
    assert allocations(k) == {"blur_x_loc": (MemorySpace.LOCAL, 6 * 4)}


def _staged_at_k(k):
    _blocks_threads((16, 8, 1), i=BY, j=BX, ii=TY, ji=TX)(k)
    assert allocations(k)["A_sh"] == (MemorySpace.SHARED, 8 * 8 * 2)
    assert allocations(k)["B_sh"] == (MemorySpace.SHARED, 8 * 16 * 2)
    kinds = loop_kinds(k)   # unroll("ki") is expanded by the unroll pass: 8 copies, no loop
    assert kinds["k"] is ForKind.SERIAL and "ki" not in kinds and len(unrolled(k, "k.c")) == 8


CASES = [
    Reuse("split", "blur", "blur",
          lambda s: s["blur"].split("x", "x", "xi", 8).gpu_blocks("y", "x").gpu_threads("xi"),
          ["y", "x", "xi"], _blocks_threads((8, 1, 1), y=BY, x=BX, xi=TX)),
    Reuse("split_twice", "blur", "blur",
          lambda s: s["blur"].split("x", "x", "xi", 16).split("x", "x", "xm", 3)
          .gpu_blocks("y", "x").gpu_threads("xi"),
          ["y", "x", "xm", "xi"], _split_twice),
    Reuse("tile", "blur", "blur",
          lambda s: s["blur"].tile("y", "x", "y", "x", "yi", "xi", 8, 16).gpu_blocks("y", "x")
          .gpu_threads("yi", "xi"),
          ["y", "x", "yi", "xi"], _blocks_threads((16, 8, 1), y=BY, x=BX, yi=TY, xi=TX)),
    Reuse("gpu_tile_3d", "volume", "vol",
          lambda s: s["vol"].gpu_tile("z", "y", "x", "z", "y", "x", "zi", "yi", "xi", 2, 4, 8),
          ["z", "y", "x", "zi", "yi", "xi"],
          _blocks_threads((8, 4, 2), z=BZ, y=BY, x=BX, zi=TZ, yi=TY, xi=TX)),
    Reuse("fuse", "blur", "blur",
          lambda s: s["blur"].fuse("y", "x", "x").split("x", "x", "xi", 64).gpu_blocks("x")
          .gpu_threads("xi"),
          ["x", "xi"], _fused),
    Reuse("compute_at_shared", "blur", "blur",
          lambda s: (s["blur"].gpu_tile("y", "x", "y", "x", "yi", "xi", 8, 16),
                     s["blur_x"].compute_at("blur", "x").store_in("shared")),
          ["y", "x", "yi", "xi"], _shared_at_x),
    Reuse("compute_at_register", "blur", "blur",
          lambda s: (s["blur"].tile("y", "x", "y", "x", "yi", "xi", 4, 4).gpu_blocks("y"),
                     s["blur_x"].compute_at("blur", "x").store_in("register")),
          ["y", "x", "yi", "xi"], _register_at_x),
    Reuse("stage_at_k", "matmul", "C",
          lambda s: s["C"].tile("i", "j", "i", "j", "ii", "ji", 8, 16).gpu_blocks("i", "j")
          .gpu_threads("ii", "ji").split("k", "k", "ki", 8).stage("A", at="k")
          .stage("B", at="k").pipeline("k", stages=2).unroll("ki"),
          ["i", "j", "ii", "ji", "k", "ki"], _staged_at_k),
]
BY_ID = {c.id: c for c in CASES}
IDS = list(BY_ID)


@pytest.mark.parametrize("shape", P.SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("case_id", IDS)
def test_runs_like_the_reference(case_id, shape, compiled):
    case = BY_ID[case_id]
    kernel = compiled(case.pipeline, f"reuse_{case.id}", case.build())
    args, ref = P.reference(case.pipeline, shape)
    P.assert_matches(kernel(**args), ref)


@pytest.mark.parametrize("case_id", IDS)
def test_loop_vars_and_lowered_kernel(case_id):
    case = BY_ID[case_id]
    s = case.build()
    assert s.loop_vars(case.func) == case.loop_vars
    case.check(only(lower_one_version(s.pipe, s)))


@pytest.mark.parametrize("case_id", IDS)
def test_round_trip_gives_identical_source(case_id, tmp_path):
    case = BY_ID[case_id]
    s = case.build()
    source = vx.source(s.pipe, s, target="opencl")
    loaded = vx.Schedule.load(s.save(tmp_path / f"{case.id}.toml"), s.pipe)
    for again in (loaded, P.replay_python(s)):
        assert again.directives == s.directives
        assert vx.source(s.pipe, again, target="opencl") == source


def test_file_form_of_a_reused_name():
    s = BY_ID["tile"].build()
    assert '[[blur]]\ntile = ["y", "x", "y", "x", "yi", "xi", 8, 16]' in s.to_toml()
    assert 's["blur"].tile("y", "x", "y", "x", "yi", "xi", 8, 16)' in s.to_python()


@pytest.fixture
def private_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("VORTEX_CACHE_DIR", str(tmp_path))


def _cuda_or_skip():
    if compilers.need_nvrtc().include_dir() is None:
        pytest.skip("cuda_fp16.h not found: pip install nvidia-cuda-runtime")


def _hip_or_skip():
    compilers.need_hiprtc()
    pytest.importorskip("msgpack", reason="HIP code object metadata needs pip install msgpack")


COMPILERS = {Target.CUDA: (_cuda_or_skip, "sm_90"), Target.HIP: (_hip_or_skip, "gfx90a")}


@pytest.mark.parametrize("target", list(COMPILERS), ids=lambda t: t.value)
@pytest.mark.parametrize("case_id", IDS)
def test_compiles_for_cuda_and_hip(case_id, target, private_cache):
    available, arch = COMPILERS[target]
    available()
    s = BY_ID[case_id].build()
    kernel = vx.compile(s.pipe, schedule=s, target=target.value, arch=arch)
    assert kernel.binary and kernel.kernel_source.launches


def test_divisibility_pruning_follows_the_reused_name():
    """The tuner's split rule reads the extent of the NEW x: 40 = 8 × 5, and 3 ∤ 5."""
    pipe = P.pipe("blur")
    s = vx.Schedule(pipe)
    s["blur"].split("x", "x", "xi", 8).split("x", "x", "xm", 3)
    ctx = Context(pipe, {"H": 7, "W": 40}, Target.OPENCL)
    assert check_divisible(s, ctx) == ("split(x, x, xm, 3) on Func 'blur': factor 3 does not "
                                       "divide the extent 5 of 'x' (shape {'H': 7, 'W': 40})")
    assert check_divisible(s, Context(pipe, {"H": 7, "W": 48}, Target.OPENCL)) is None


# --- errors: the inner name must be new ------------------------------------------------------

def test_reused_inner_name_is_refused():
    s = vx.Schedule(P.pipe("blur"))
    with pytest.raises(vx.ScheduleError) as e:
        s["blur"].split("x", "xo", "x", 8)
    assert str(e.value) == ("split(x, xo, x, 8) on Func 'blur': the inner var cannot take the "
                            "name 'x' of the var being split: only the outer one may (split(x, "
                            "x, xi, 8)); pick a fresh inner name")
    assert s.directives == {}


def test_reused_inner_name_in_gpu_tile_is_refused():
    s = vx.Schedule(P.pipe("blur"))
    with pytest.raises(vx.ScheduleError, match=r"gpu_tile\(y, x, yo, xo, y, x, 8, 8\) on Func "
                       r"'blur': the inner var cannot take the name 'y' of the var being split"):
        s["blur"].gpu_tile("y", "x", "yo", "xo", "y", "x", 8, 8)


def test_outer_name_of_the_other_var_is_refused():
    """tile(y, x, x, y, …) swaps the names: 'x' is still a loop var when y is split."""
    s = vx.Schedule(P.pipe("blur"))
    with pytest.raises(vx.ScheduleError) as e:
        s["blur"].tile("y", "x", "x", "y", "yi", "xi", 8, 8)
    assert str(e.value) == ("tile(y, x, x, y, yi, xi, 8, 8) on Func 'blur': new name 'x' is "
                            "already a loop var of 'blur' [y, x]; pick a fresh name (only a loop "
                            "that this directive replaces may pass its name on)")


def test_fused_name_of_a_third_loop_is_refused():
    s = vx.Schedule(P.pipe("matmul"))
    with pytest.raises(vx.ScheduleError, match=r"fuse\(i, j, k\) on Func 'C': new name 'k' is "
                       r"already a loop var of 'C' \[i, j, k\]; pick a fresh name"):
        s["C"].fuse("i", "j", "k")


def test_reused_inner_name_in_a_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('format = 1\npipeline = "blur"\n[[blur]]\nsplit = ["x", "x", "xi", 8]\n'
                    '[[blur]]\nsplit = ["x", "xo", "x", 4]\n')
    with pytest.raises(vx.ScheduleError) as e:
        vx.Schedule.load(path, P.pipe("blur"))
    assert str(e.value) == (f"{path}: [[blur]] entry 2: split(x, xo, x, 4) on Func 'blur': the "
                            "inner var cannot take the name 'x' of the var being split: only the "
                            "outer one may (split(x, x, xi, 4)); pick a fresh inner name")
