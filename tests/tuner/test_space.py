"""The search space's constraints, the study identity and the small parsers. No device needed."""
import json
import subprocess
import sys

import numpy as np
import pytest

import matmul
import pipelines as P
import vortex as vx
from vortex.runtime.limits import Limits
from vortex.target import Target
from vortex.tuner import Context, Job, Space, make_inputs
from vortex.tuner import study as S
from vortex.tuner.cli import duration, shape_arg
from vortex.tuner.worker import _faults

PIPE = matmul.pipeline()
SHAPE = {"M": 128, "N": 128, "K": 128}


def configure(params, shape=SHAPE, limits=None):
    return Space(matmul.space(PIPE)).configure(params, Context(PIPE, shape, Target.OPENCL, limits))


def test_a_valid_configuration_gives_a_concrete_schedule():
    schedule, why = configure({"TI": 8, "JT": 32, "V": 4, "KS": 4})
    assert why is None and schedule.tunables() == {}


def test_a_factor_that_does_not_divide_the_extent_is_pruned():
    schedule, why = configure({"TI": 8, "JT": 32, "V": 4, "KS": 4},
                              {"M": 100, "N": 128, "K": 128})
    assert schedule is None
    assert why.startswith("divisible: tile(i, j, io, jo, ii, ji, 8, 32) on Func 'C': factor 8 "
                          "does not divide the extent 100 of 'i'")


def test_the_reduction_extent_is_known_too():
    _, why = configure({"TI": 8, "JT": 32, "V": 4, "KS": 8}, {"M": 128, "N": 128, "K": 36})
    assert "factor 8 does not divide the extent 36 of 'k'" in why


def test_a_split_of_a_tile_is_checked_against_the_tile():
    s = vx.Schedule(PIPE)
    s["C"].tile("i", "j", "io", "jo", "ii", "ji", 8, 8).split("ji", "jt", "jv",
                                                               vx.Tunable("V", [4, 16]))
    space = Space(s, constraints=("divisible",))
    ctx = Context(PIPE, SHAPE, Target.OPENCL)
    assert space.configure({"V": 4}, ctx)[1] is None
    assert "factor 16 does not divide the extent 8 of 'ji'" in space.configure({"V": 16}, ctx)[1]


def test_allowing_tails_drops_the_divisibility_rule():
    space = Space(matmul.space(PIPE), constraints=("device_limits",))
    ctx = Context(PIPE, {"M": 100, "N": 128, "K": 128}, Target.OPENCL)
    assert space.configure({"TI": 8, "JT": 32, "V": 4, "KS": 4}, ctx)[1] is None


def test_a_block_beyond_the_device_limit_is_pruned_before_compiling():
    small = Limits("small-gpu", 256, (256, 256, 64), 16384, (2 ** 31 - 1,) * 3)
    assert configure({"TI": 8, "JT": 32, "V": 1, "KS": 4}, limits=small)[1] is None
    _, why = configure({"TI": 16, "JT": 32, "V": 1, "KS": 4}, limits=small)
    assert why.startswith("device_limits: ScheduleError: kernel 'C_kernel' on small-gpu: a block "
                          "of 32×16×1 = 512 threads exceeds the limit of 256")


def test_a_sample_that_breaks_a_schedule_rule_is_pruned_with_the_rule():
    pipe = P.blur()
    s = vx.Schedule(pipe)
    s["blur_x"].when(vx.Tunable("R", [False, True])).gpu_tile("y", "x", "a", "b", "c", "d", 4, 4)
    ctx = Context(pipe, {"H": 8, "W": 8}, Target.OPENCL)
    assert Space(s).configure({"R": False}, ctx)[1] is None
    _, why = Space(s).configure({"R": True}, ctx)
    assert why.startswith("invalid schedule: ") and "computed inline" in why


def test_unknown_constraint_is_a_tuning_error():
    with pytest.raises(vx.TuningError, match=r"unknown constraint\(s\) \['fast'\]"):
        Space(matmul.space(PIPE), constraints=("fast",))


def test_space_size_and_grid():
    space = Space(matmul.space(PIPE))
    assert space.size == 5 * 4 * 4 * 4
    assert space.grid()["KS"] == [1, 2, 4, 8]


def test_random_inputs_from_a_shape():
    inputs, shape = make_inputs(PIPE, SHAPE, None)
    assert inputs["A"].shape == (128, 128) and inputs["A"].dtype == np.float32
    assert shape == SHAPE
    given, found = make_inputs(PIPE, None, {"A": np.ones((3, 5), np.float32),
                                            "B": np.ones((5, 2), np.float32)})
    assert found == {"M": 3, "K": 5, "N": 2}


@pytest.mark.parametrize("shape, inputs, message", [
    (None, None, r"needs shape= \(sizes of M, K, N\) or inputs= with every Input \(A, B\)"),
    ({"M": 4, "N": 4}, None, r"shape= must give exactly the Dims \['K', 'M', 'N'\]"),
    ({"M": 4, "N": 4, "K": 9}, {"A": np.ones((4, 5), np.float32), "B": np.ones((5, 4),
                                                                                  np.float32)},
     "does not match the inputs' sizes"),
])
def test_input_errors(shape, inputs, message):
    with pytest.raises(vx.TuningError, match=message):
        make_inputs(PIPE, shape, inputs)


def _name(shape=SHAPE, key="dev-a", space=None):
    from vortex.tuner import DeviceInfo
    job = Job(PIPE, {}, shape, Target.OPENCL, DeviceInfo(Target.OPENCL, "d", key, "d", None))
    return S.study_name(job, (space or Space(matmul.space(PIPE))).to_toml())


def test_study_names_separate_devices_shapes_and_spaces():
    base = _name()
    assert base.startswith("matmul.opencl.d.") and base == _name()
    assert _name(key="dev-b") != base
    assert _name(shape={"M": 128, "N": 128, "K": 64}) != base
    other = vx.Schedule(PIPE)
    other["C"].gpu_tile("i", "j", "a", "b", "c", "d", vx.Tunable("T", [8]), 8)
    assert _name(space=Space(other)) != base


def test_the_algorithm_fingerprint_is_stable_across_processes():
    code = ("import sys; sys.path.insert(0, 'examples'); import matmul; "
            "from vortex.tuner.study import algorithm_text, sha; "
            "print(sha(algorithm_text(matmul.pipeline())))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=matmul.__file__.rsplit("/examples/", 1)[0]).stdout
    assert out.strip() == S.sha(S.algorithm_text(PIPE))
    assert "Input('A', float32, (M, K))" in S.algorithm_text(PIPE)


def test_shape_text_is_canonical():
    assert S.shape_text({"N": 2, "M": 1}) == json.dumps({"M": 1, "N": 2})


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("30m", 1800), ("8h", 28800),
                                           ("1h30m", 5400), ("45", 45), ("1d", 86400)])
def test_durations(text, seconds):
    assert duration(text) == seconds


def test_bad_duration_and_shape():
    import argparse
    with pytest.raises(argparse.ArgumentTypeError, match="not a duration"):
        duration("8 hours")
    with pytest.raises(argparse.ArgumentTypeError, match="--shape takes NAME=INT"):
        shape_arg("M:3")
    assert shape_arg("M=1024,N=512") == {"M": 1024, "N": 512}


def test_fault_hook_spec():
    assert _faults("hang:TI=8;crash:TI=16,KS=2") == [("hang", {"TI": "8"}),
                                                      ("crash", {"TI": "16", "KS": "2"})]


def test_an_intermediate_with_a_halo_is_not_held_to_divisibility():
    import blur
    pipe = blur.pipeline()
    ctx = Context(pipe, {"C": 3, "H": 512, "W": 512}, Target.OPENCL)
    schedule, why = Space(blur.space(pipe)).configure({"TY": 16, "TX": 64, "ROOT": True}, ctx)
    assert why is None      # blur_x's region is 516 rows: its 16-row tiles have a tail
