"""vx.Tunable: search spaces as schedules — building, sampling, TOML and Python round trips, and
one test per error message. No device needed."""
import pytest

import pipelines as P
import vortex as vx
from vortex.schedule import Schedule

TI = vx.Tunable.pow2("TI", 1, 32)
TJ = vx.Tunable.pow2("TJ", 4, 64)
KS = vx.Tunable("KS", [1, 2, 4, 8])
S = vx.Tunable.range("S", 1, 4)
MEM = vx.Tunable("MEM", ["shared", "register"])
ROOT = vx.Tunable("ROOT", [True, False])


def matmul_space() -> Schedule:
    """Tunables in plain arguments, in option tables (stage/pipeline) and in specialize."""
    s = Schedule(P.matmul())
    s["C"].tile("i", "j", "io", "jo", "ii", "ji", TI, TJ).gpu_blocks("io", "jo")
    s["C"].gpu_threads("ii", "ji").split("k", "ko", "ki", KS).unroll("ki")
    s["C"].stage("A", at="ko", memory=MEM).pipeline("ko", stages=S)
    s["C"].specialize(vx.divisible(vx.Dim("M"), TI))
    return s


def blur_space() -> Schedule:
    """A conditional group: blur_x at root with its own tiling, or inlined."""
    s = Schedule(P.blur())
    s["blur"].gpu_tile("y", "x", "yo", "xo", "yi", "xi", 4, TJ)
    s["blur_x"].when(ROOT).compute_root().gpu_tile("y", "x", "yo", "xo", "yi", "xi", 4, TJ)
    return s


def test_forms_give_their_choices():
    assert TI.choices == (1, 2, 4, 8, 16, 32)
    assert vx.Tunable.range("U", 2, 8, 3).choices == (2, 5, 8)
    assert vx.Tunable("F", [0.5, 1]).choices == (0.5, 1)
    assert vx.Tunable.pow2("T", 8, 8) == vx.Tunable("T", [8])     # equal by name and choices
    assert str(TI) == "$TI" and repr(TI) == 'vx.Tunable.pow2("TI", 1, 32)'


def test_a_space_lists_its_tunables_in_order_of_use():
    assert list(matmul_space().tunables()) == ["TI", "TJ", "KS", "MEM", "S"]
    assert list(blur_space().tunables()) == ["TJ", "ROOT"]
    assert Schedule.default(P.matmul()).tunables() == {}


@pytest.mark.parametrize("make", [matmul_space, blur_space])
def test_toml_round_trip(make, tmp_path):
    s = make()
    loaded = Schedule.load(s.save(tmp_path / "space.toml"), s.pipe)
    assert loaded == s and loaded.tunables() == s.tunables()
    assert loaded.to_toml() == s.to_toml()
    assert [t.form for t in loaded.tunables().values()] == [t.form for t in s.tunables().values()]


@pytest.mark.parametrize("make", [matmul_space, blur_space])
def test_python_round_trip(make):
    s = make()
    scope = {"vx": vx, "pipe": s.pipe}
    exec(s.to_python(), scope)  # noqa: S102 - the round trip under test
    assert scope["s"] == s and scope["s"].tunables() == s.tunables()


def test_toml_text_of_a_space():
    text = blur_space().to_toml()
    assert "[tunables]\nTJ = { pow2 = [4, 64] }\nROOT = { choices = [true, false] }\n" in text
    assert 'gpu_tile = ["y", "x", "yo", "xo", "yi", "xi", 4, "$TJ"]\n' in text
    assert '[[blur_x]]\ncompute_root = []\nwhen = "$ROOT"\n' in text
    assert 'pipeline = ["ko", { stages = "$S" }]' in matmul_space().to_toml()


def test_python_text_of_a_space():
    code = blur_space().to_python()
    assert code.startswith('TJ = vx.Tunable.pow2("TJ", 4, 64)\n'
                           'ROOT = vx.Tunable("ROOT", [True, False])\n')
    assert 's["blur_x"].when(ROOT).compute_root()' in code
    assert 's["C"].directive("pipeline", "ko", {\'stages\': S})' in matmul_space().to_python()


def test_sample_is_concrete_and_validated():
    s = matmul_space().sample({"TI": 8, "TJ": 32, "KS": 4, "MEM": "shared", "S": 2})
    assert s.tunables() == {}
    ref = Schedule(P.matmul())
    ref["C"].tile("i", "j", "io", "jo", "ii", "ji", 8, 32).gpu_blocks("io", "jo")
    ref["C"].gpu_threads("ii", "ji").split("k", "ko", "ki", 4).unroll("ki")
    ref["C"].stage("A", at="ko", memory="shared").pipeline("ko", stages=2)
    ref["C"].specialize(vx.divisible(vx.Dim("M"), 8))
    assert s == ref
    s.validate()


def test_when_keeps_or_drops_its_directives():
    space = blur_space()
    assert "blur_x" not in space.sample({"TJ": 16, "ROOT": False}).directives
    root = space.sample({"TJ": 16, "ROOT": True})
    assert [d.name for d in root.directives["blur_x"]] == ["compute_root", "gpu_tile"]


def test_a_space_cannot_be_lowered():
    with pytest.raises(vx.ScheduleError, match=r"holds tunables \(TI, TJ, KS, MEM, S\): it is a "
                       r"search space; lower space.sample"):
        matmul_space().validate()


def test_every_choice_is_checked_by_the_directive():
    s = Schedule(P.matmul())
    with pytest.raises(vx.ScheduleError, match=r"split\(i, io, ii, .*\) on Func 'C': tunable "
                       r"'Z' = 0: factor must be a positive int, got 0"):
        s["C"].split("i", "io", "ii", vx.Tunable("Z", [4, 0]))
    with pytest.raises(vx.ScheduleError, match=r"tunable 'P' = 9: stages must be 1 … 8"):
        s["C"].split("k", "ko", "ki", 4).stage("A", at="ko").pipeline("ko", stages=vx.Tunable(
            "P", [2, 9]))


@pytest.mark.parametrize("params, message", [
    ({"TJ": 16}, r"needs exactly the tunables \['TJ', 'ROOT'\]; missing \['ROOT'\]"),
    ({"TJ": 16, "ROOT": True, "X": 1}, r"unknown \['X'\]"),
    ({"TJ": 12, "ROOT": True}, r"TJ=12 is not one of its choices \[4, 8, 16, 32, 64\]"),
    ({"TJ": 16, "ROOT": 1}, r"ROOT=1 is not one of its choices \[True, False\]"),
])
def test_sample_errors(params, message):
    with pytest.raises(vx.ScheduleError, match=message):
        blur_space().sample(params)


def test_a_sample_that_breaks_a_rule_is_a_schedule_error():
    s = Schedule(P.blur())
    s["blur_x"].when(vx.Tunable("R", [False, True])).gpu_tile("y", "x", "a", "b", "c", "d", 4, 4)
    with pytest.raises(vx.ScheduleError, match="computed inline"):
        s.sample({"R": True})


@pytest.mark.parametrize("make, message", [
    (lambda: vx.Tunable("tile size", [1]), "name 'tile size' must be an identifier"),
    (lambda: vx.Tunable("s", [1]), "name 's' must be an identifier"),
    (lambda: vx.Tunable("T", []), r"needs distinct choices, got \[\]"),
    (lambda: vx.Tunable("T", [4, 4]), r"needs distinct choices, got \[4, 4\]"),
    (lambda: vx.Tunable("T", [[1]]), "a choice must be an int, float, bool or string"),
    (lambda: vx.Tunable.pow2("T", 3, 8), "lo and hi must be powers of two"),
    (lambda: vx.Tunable.range("T", 8, 1), "needs lo <= hi and step >= 1"),
])
def test_tunable_errors(make, message):
    with pytest.raises(vx.ScheduleError, match=message):
        make()


def test_one_name_two_choice_lists_is_an_error():
    s = Schedule(P.matmul())
    s["C"].split("i", "io", "ii", vx.Tunable("T", [4, 8]))
    with pytest.raises(vx.ScheduleError, match=r"tunable 'T' is declared twice with different "
                       r"choices \(\[4, 8\] and \[2\]\)"):
        s["C"].split("j", "jo", "ji", vx.Tunable("T", [2]))
    assert len(s.directives["C"]) == 1


def test_when_needs_a_bool_tunable():
    with pytest.raises(vx.ScheduleError, match="the condition must be a vx.Tunable with bool "
                       "choices"):
        Schedule(P.blur())["blur_x"].when(vx.Tunable("R", [0, 1]))


@pytest.mark.parametrize("body, message", [
    ('[[C]]\nsplit = ["i", "io", "ii", "$T"]\n', r"'\$T' is not declared in \[tunables\]"),
    ('[tunables]\nT = { pow2 = [2, 4] }\nU = { range = [1, 2] }\n'
     '[[C]]\nsplit = ["i", "io", "ii", "$T"]\n', r"\[tunables\] declares U but no directive"),
    ('[tunables]\nT = { steps = [1] }\n', r"\[tunables\]: tunable 'T' must be one of"),
    ('[tunables]\nT = { choices = [4, 0] }\n[[C]]\nsplit = ["i", "io", "ii", "$T"]\n',
     r"\[\[C\]\] entry 1: .*tunable 'T' = 0: factor must be a positive int"),
    ('[tunables]\nR = { choices = [1, 2] }\n[[C]]\nunroll = ["k"]\nwhen = "$R"\n',
     "the condition must be a vx.Tunable with bool choices"),
])
def test_bad_space_files(tmp_path, body, message):
    path = tmp_path / "space.toml"
    path.write_text('format = 1\npipeline = "matmul"\n' + body)
    with pytest.raises(vx.ScheduleError, match=f"space.toml: .*{message}"):
        Schedule.load(path, P.matmul())
