"""Schedule files (TOML) and ``to_python``: exact round trips, and hostile or malformed files."""
import re
import textwrap

import pytest

import pipelines as P
import vortex as vx
from vortex.schedule import DIRECTIVES, Schedule, divisible

from tests.schedule.test_ragged_split import ragged, scaled


def every_directive() -> Schedule:
    """A valid schedule of the ``branches_and_counts`` pipeline that uses every directive,
    with metadata."""
    s = Schedule(P.branches_and_counts())
    s.meta.update(target="cuda", device="NVIDIA H100 80GB HBM3",
                  measured={"shape": {"H": 4096, "W": 4096}, "ms": 0.201})
    s["out"].tile("y", "x", "yo", "xo", "yi", "xi", 32, 64).fuse("yo", "xo", "b")
    s["out"].split("xi", "xt", "xv", 4).reorder("xt", "yi").gpu_blocks("b")
    s["out"].gpu_threads("xt", "yi").vectorize("xv").bound("x", 0, 4096)
    s["out"].specialize(divisible(vx.Dim("W"), 64))
    s["f"].compute_at("out", "b").store_at("out", "b").store_in("shared").unroll("x", 2)
    s["g"].compute_root().split("y", "y", "ys", 2).store_in("global")
    s["g"].gpu_tile("y", "x", "by", "bx", "ty", "tx", 8, 8)
    s["g"].stage("img", at="ys", swizzle="xor").pipeline("ys", stages=2)
    s["g"].warp_specialize(producers=1).swizzle_blocks(group=4)
    s["pre"].compute_inline()
    s["counts"].update(0).rfactor("r_0", "u").split("r_0", "ro", "ri", 8).gpu_threads("ri")
    s["counts"].update(0).atomic()
    s["counts_intm"].update(0).gpu_blocks("u")
    return s


def tensor_core() -> Schedule:
    """The directive the branches pipeline has no stage for: mma, on a float16 matmul."""
    s = Schedule(P.matmul_f16())
    s["C"].tile("i", "j", "io", "jo", "it", "jt", 16, 8).split("k", "ko", "kt", 16)
    s["C"].reorder("io", "jo", "ko", "it", "jt", "kt").mma("it", "jt", "kt")
    s["C"].gpu_blocks("io", "jo")
    return s


def test_every_directive_is_used():
    used = set()
    for s in (every_directive(), tensor_core(), ragged(scaled(), 64)):
        used |= {d.name for ds in s.directives.values() for d in ds}
        s.validate()
    assert used == set(DIRECTIVES)


def test_mma_round_trips(tmp_path):
    s = tensor_core()
    loaded = Schedule.load(s.save(tmp_path / "mma.toml"), s.pipe)
    assert loaded == s and 'mma = ["it", "jt", "kt"]' in s.to_toml()


def test_toml_round_trip(tmp_path):
    s = every_directive()
    path = s.save(tmp_path / "schedules" / "out" / "h100.toml")
    assert path.exists()
    loaded = Schedule.load(path, s.pipe)
    assert loaded == s
    assert loaded.directives == s.directives and loaded.meta == s.meta
    assert Schedule.load(str(path), s.pipe) == s
    assert loaded.to_toml() == s.to_toml()


def test_python_round_trip():
    s = every_directive()
    assert P.replay_python(s) == s


def test_python_round_trip_of_a_loaded_file(tmp_path):
    s = every_directive()
    s.save(tmp_path / "s.toml")
    assert P.replay_python(Schedule.load(tmp_path / "s.toml", s.pipe)) == s


def test_toml_text_is_the_documented_format():
    s = Schedule(P.matmul())
    s.meta.update(target="cuda", device="NVIDIA H100 80GB HBM3")
    s["C"].tile("i", "j", "yo", "xo", "yi", "xi", 128, 128).gpu_blocks("yo", "xo")
    assert s.to_toml() == textwrap.dedent("""\
        format = 1
        pipeline = "matmul"
        target = "cuda"
        device = "NVIDIA H100 80GB HBM3"

        [[C]]
        tile = ["i", "j", "yo", "xo", "yi", "xi", 128, 128]

        [[C]]
        gpu_blocks = ["yo", "xo"]
        """)


def test_python_text():
    s = Schedule(P.matmul())
    s["C"].tile("i", "j", "yo", "xo", "yi", "xi", 64, 64).specialize(divisible("M", 64))
    assert s.to_python() == ('s = vx.Schedule(pipe)\n'
                             's["C"].tile("i", "j", "yo", "xo", "yi", "xi", 64, 64)\n'
                             's["C"].specialize(vx.divisible("M", 64))\n')


def test_hand_written_file_in_any_func_order(tmp_path):
    # The producer's entries come first in the file; validation sees the consumer's loops.
    path = tmp_path / "blur.toml"
    path.write_text(textwrap.dedent("""\
        format = 1
        pipeline = "blur"
        [[blur_x]]
        compute_at = ["blur", "xo"]
        [[blur]]
        split = ["x", "xo", "xi", 8]
        """))
    s = Schedule.load(path, P.blur())
    assert s.loop_vars("blur") == ["y", "xo", "xi"]
    assert P.replay_python(s) == s


HEADER = 'format = 1\npipeline = "matmul"\n'


@pytest.mark.parametrize("body, message", [
    ('[[C]]\nspilt = ["i", "io", "ii", 4]\n',
     "[[C]] entry 1: unknown directive 'spilt' (known: split, tile, reorder"),
    ('[[C]]\nsplit = ["i", "io", "ii", 4]\n[[D]]\ncompute_root = []\n',
     "unknown Func 'D' (Funcs of 'matmul': C"),
    ('[[A]]\ncompute_root = []\n', "unknown Func 'A'"),
    ('[[C]]\nsplit = ["x; system()", "io", "ii", 4]\n',
     "[[C]] entry 1: split('x; system()', io, ii, 4): 'x; system()' is not a valid name"),
    ('[[C]]\nsplit = ["i", "__import__", "ii", 4]\n', "'__import__' is not a valid name"),
    ('[[C]]\nsplit = ["i", "io", "ii", "4"]\n', "[[C]] entry 1: split(i, io, ii, '4'): factor"),
    ('[[C]]\nsplit = ["i", "io", "ii", 4.0]\n', "factor must be a positive int, got 4.0"),
    ('[[C]]\nsplit = ["i", "io", "ii"]\n', "takes 4 arguments, got 3"),
    ('[[C]]\nsplit = "i"\n', "arguments must be a list"),
    ('[[C]]\nsplit = [["i"], "io", "ii", 4]\n', "is not a valid name"),
    ('[[C]]\nstore_in = [{ memory = "shared" }]\n', "memory must be one of"),
    ('[[C]]\n', "[[C]] entry 1: holds 0 directive keys"),
    ('[[C]]\nsplit = ["i", "io", "ii", 4]\nreorder = ["ii", "io"]\n',
     "[[C]] entry 1: holds 2 directive keys (split, reorder)"),
    ('[C]\nsplit = ["i", "io", "ii", 4]\n', "'C' must be an array of tables ([[C]])"),
    ('C = 3\n', "'C' must be an array of tables"),
    ('[[C]]\nsplit = ["i", "io", "ii", 4]\n[[C]]\nsplit = ["z", "zo", "zi", 4]\n',
     "[[C]] entry 2: split(z, zo, zi, 4) on Func 'C': unknown var 'z'"),
    ('[[C]]\ngpu_threads = ["i"]\n[[C]]\ngpu_blocks = ["j"]\n',
     "[[C]] entry 1: gpu_threads(i) on Func 'C': gpu_threads var 'i' is outside"),
    ('target = "metal"\n', "unknown target 'metal' (known: opencl, cuda, hip)"),
    ('device = 3\n', "'device' must be a string"),
    ('measured = 0.2\n', "'measured' must be a table"),
    ('tunables = 3\n', "[tunables] must be a table of NAME = { choices"),
])
def test_bad_file(tmp_path, body, message):
    path = tmp_path / "bad.toml"
    path.write_text(HEADER + body)
    with pytest.raises(vx.ScheduleError, match=re.escape(f"{path}: ") + ".*" + re.escape(message)):
        Schedule.load(path, P.matmul())


@pytest.mark.parametrize("text, message", [
    ('format = 2\npipeline = "matmul"\n', "format = 2 is not supported"),
    ('format = "1"\npipeline = "matmul"\n', "format = '1' is not supported"),
    ('format = true\npipeline = "matmul"\n', "format = True is not supported"),
    ('pipeline = "matmul"\n', "missing 'format = 1'"),
    ('format = 1\npipeline = "blur"\n', "the file is for pipeline 'blur', not 'matmul'"),
    ('format = 1\n', "the file is for pipeline None"),
    ('format = 1\npipeline = "matmul"\n[[C]\n', "not valid TOML"),
    ('__import__("os").system("true")\n', "not valid TOML"),
])
def test_bad_header(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(vx.ScheduleError, match=re.escape(f"{path}: {message}")):
        Schedule.load(path, P.matmul())


def test_missing_file(tmp_path):
    with pytest.raises(vx.ScheduleError, match="cannot read schedule file"):
        Schedule.load(tmp_path / "none.toml", P.matmul())


def test_save_rejects_unknown_metadata(tmp_path):
    s = Schedule(P.matmul())
    s.meta["notes"] = "x"
    with pytest.raises(vx.ScheduleError, match="metadata key 'notes' cannot be saved"):
        s.to_toml()


def test_save_rejects_func_named_like_a_file_key():
    N = vx.Dim("N")
    x = vx.Var("x")
    v = vx.Input("v", vx.float32, (N,))
    device = vx.Func("device", shape=(N,))
    device[x] = v[x]
    s = Schedule(vx.Pipeline(device))
    s["device"].split("x", "xo", "xi", 4)
    with pytest.raises(vx.ScheduleError, match="Func 'device' has the name of a schedule file"):
        s.to_toml()
