"""Directive records: TOML argument lists both ways, argument checks, the registry."""
import dataclasses

import pytest

import vortex as vx
from vortex.schedule import directives as D
from vortex.schedule import gpu_directives as G

# (directive, its TOML argument list) — one per directive class, with both Vectorize forms.
EXAMPLES = [
    (D.Split("x", "xo", "xi", 8), ["x", "xo", "xi", 8]),
    (D.RaggedSplit("t", "offsets", "to", "ti", 64), ["t", "offsets", "to", "ti", 64]),
    (D.Tile("i", "j", "yo", "xo", "yi", "xi", 64, 64), ["i", "j", "yo", "xo", "yi", "xi", 64, 64]),
    (D.Reorder(("ko", "yi", "xi", "ki")), ["ko", "yi", "xi", "ki"]),
    (D.Fuse("y", "x", "yx"), ["y", "x", "yx"]),
    (D.GpuBlocks(("yo", "xo")), ["yo", "xo"]),
    (D.GpuThreads(("yi", "xi")), ["yi", "xi"]),
    (D.GpuTile(("y", "x"), ("by", "bx"), ("ty", "tx"), (16, 16)),
     ["y", "x", "by", "bx", "ty", "tx", 16, 16]),
    (D.Vectorize("xi", 4), ["xi", 4]),
    (D.Vectorize("xi"), ["xi"]),
    (D.Unroll("ki", 2), ["ki", 2]),
    (D.ComputeAt("blur", "xo"), ["blur", "xo"]),
    (D.StoreAt("blur", "yo"), ["blur", "yo"]),
    (D.ComputeRoot(), []),
    (D.ComputeInline(), []),
    (D.Atomic(), []),
    (D.RFactor("r", "u"), ["r", "u"]),
    (D.Mma("it", "jt", "kt"), ["it", "jt", "kt"]),
    (D.StoreIn(D.MemoryType.SHARED), ["shared"]),
    (D.Bound("x", 0, 128), ["x", 0, 128]),
    (D.Specialize(("divisible", "M", 64)), ["divisible", "M", 64]),
    (G.Stage("A", "ko", D.MemoryType.SHARED, "xor"),
     ["A", "ko", {"memory": "shared", "swizzle": "xor"}]),
    (G.PipelineStages("ko", 3), ["ko", {"stages": 3}]),
    (G.WarpSpecialize(1), [1]),
    (G.SwizzleBlocks(8), [8]),
]


@pytest.mark.parametrize("directive, args", EXAMPLES, ids=lambda v: getattr(v, "name", ""))
def test_args_round_trip(directive, args):
    assert directive.to_args() == args
    assert type(directive).from_args(args) == directive
    assert D.DIRECTIVES[directive.name] is type(directive)


def test_registry_covers_every_directive_once():
    assert set(D.DIRECTIVES) == {d.name for d, _ in EXAMPLES}
    assert all(dataclasses.is_dataclass(c) for c in D.DIRECTIVES.values())


def test_directives_are_frozen_and_hashable():
    d = D.Split("x", "xo", "xi", 8)
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.factor = 4
    assert hash(d) == hash(D.Split("x", "xo", "xi", 8))


def test_str_reads_like_the_call():
    assert str(D.Split("x", "xo", "xi", 8)) == "split(x, xo, xi, 8)"
    assert str(D.StoreIn(D.MemoryType.REGISTER)) == "store_in(register)"


def test_inner_target_names():
    assert D.Vectorize("x", 4).target == "x_vi"
    assert D.Unroll("x", 4).target == "x_ui"
    assert D.Vectorize("x").target == "x"


def test_divisible_helper():
    M = vx.Dim("M")
    assert D.divisible(M, 64) == ("divisible", "M", 64)
    assert D.divisible("M", 8) == ("divisible", "M", 8)


@pytest.mark.parametrize("cls, args, message", [
    (D.Split, ["x", "xo", "xi", 0], "factor must be a positive int"),
    (D.Split, ["x", "xo", "xi", "8"], "factor must be a positive int"),
    (D.Split, ["x", "xo", "xi", True], "factor must be a positive int"),
    (D.Split, ["x", "xo", "xi"], "takes 4 arguments, got 3"),
    (D.Split, "x xo xi 8", "arguments must be a list"),
    (D.Split, ["x; system()", "xo", "xi", 8], "'x; system()' is not a valid name"),
    (D.Split, ["__import__", "xo", "xi", 8], "'__import__' is not a valid name"),
    (D.Split, ["for", "xo", "xi", 8], "'for' is not a valid name (letters, digits and '_', "
     "not leading; not a Python keyword)"),
    (D.Reorder, [], "takes 1 to 64 arguments"),
    (D.GpuBlocks, ["a", "b", "c", "d"], "takes 1 to 3 arguments, got 4"),
    (D.GpuTile, ["x", "bx", "tx", 64, 1], "takes 4, 8 or 12 arguments"),
    (D.GpuTile, ["x", "bx", "tx", "tx"], "factor must be a positive int"),
    (D.Vectorize, ["x", 0], "factor must be a positive int"),
    (D.Unroll, ["x", 2, 3], "takes 1 to 2 arguments"),
    (D.StoreIn, ["l2"], "memory must be one of ['global', 'shared', 'register']"),
    (D.Bound, ["x", 0, 0], "extent must be a positive int"),
    (D.Bound, ["x", 1.5, 4], "min must be an int"),
    (D.Specialize, ["prime", "M", 3], "unknown condition 'prime' (known: divisible)"),
    (D.Specialize, ["divisible", "M"], "takes 2 arguments, got 1"),
    (D.ComputeRoot, ["x"], "takes 0 arguments, got 1"),
])
def test_from_args_rejects(cls, args, message):
    with pytest.raises(vx.ScheduleError) as e:
        cls.from_args(args)
    assert message in str(e.value)
