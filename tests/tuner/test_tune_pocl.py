"""Acceptance 1 on PoCL: 20 trials of blur and of matmul in a SQLite study beat the default
schedule as the study measured them (speed itself is compared in benchmarks/, not re-timed here),
write schedules/<pipeline>/<device>/<shape>.toml, and ``schedule="auto"`` picks it up (from the
file, and from the tuning database when the shape is given); tunes at two shapes keep both files,
and ``auto`` picks each for its own shape."""
import importlib

import numpy as np
import pytest

import vortex as vx
from .helpers import need_tuner_extra
from vortex.tuner import DeviceRunner, make_inputs

need_tuner_extra()

CASES = {"blur": {"C": 1, "H": 256, "W": 256}, "matmul": {"M": 128, "N": 128, "K": 128}}


@pytest.mark.parametrize("name", CASES)
def test_tuning_beats_the_default_and_auto_uses_it(name, opencl_device, schedules_dir, tmp_path,
                                                   monkeypatch):
    ex, shape = importlib.import_module(name), CASES[name]
    pipe = ex.pipeline()
    db = f"sqlite:///{tmp_path / 'tuning.db'}"
    result = vx.tune(pipe, ex.space(pipe), target="opencl", shape=shape, n_trials=20, storage=db,
                     runner=DeviceRunner(trial_timeout_s=120))
    measured = result.trials[result.trials["repeat_of"] < 0]
    assert len(measured) == 20 and (measured["status"] == "ok").sum() >= 10
    assert result.default_ms is not None and result.best_ms < result.default_ms

    path = result.write_schedule()
    assert path == schedules_dir / pipe.name / "pocl-cpu" / f"{vx.auto.shape_text(shape)}.toml"
    saved = vx.Schedule.load(path, pipe)
    assert saved.meta["measured"]["ms"] == pytest.approx(result.best_ms, rel=1e-5)
    assert saved.meta["measured"]["shape"] == shape and saved.meta["target"] == "opencl"

    inputs, _ = make_inputs(pipe, shape, None, seed=7)
    tuned = vx.compile(pipe, schedule="auto", target="opencl", shape=shape)
    assert tuned.origin == f"file:{path} (measured at {vx.auto.shape_text(shape)}: this shape)"
    assert tuned.schedule == saved
    np.testing.assert_allclose(tuned(**inputs), pipe.reference(**inputs), rtol=1e-4, atol=1e-4)

    monkeypatch.setenv("VORTEX_TUNING_DB", db)
    from_db = vx.compile(pipe, schedule="auto", shape=shape)
    assert from_db.schedule_origin == f"tuned:{db}"
    assert from_db.schedule.directives == result.best_schedule.directives
    other = {k: v * 2 if v >= 128 else v for k, v in shape.items()}   # same divisibility
    assert vx.compile(pipe, schedule="auto", shape=other).origin.startswith(
        f"file:{path} (measured at {vx.auto.shape_text(shape)}: same divisibility as")


def test_a_resumed_study_goes_on_from_its_trials(opencl_device, schedules_dir, tmp_path):
    ex = importlib.import_module("matmul")
    pipe, db = ex.pipeline(), f"sqlite:///{tmp_path / 'tuning.db'}"
    kw = dict(shape={"M": 64, "N": 64, "K": 64}, storage=db, sampler="random", seed=0,
              runner=DeviceRunner(repeat=3))
    first = vx.tune(pipe, ex.space(pipe), n_trials=3, **kw)
    again = vx.tune(pipe, ex.space(pipe), n_trials=5, **kw)
    assert again.study_name == first.study_name
    measured = again.trials[again.trials["repeat_of"] < 0]
    assert len(measured) == 5
    assert measured.head(3)[["trial", "ms"]].equals(
        first.trials[first.trials["repeat_of"] < 0][["trial", "ms"]])


def test_a_tune_at_one_shape_leaves_another_shapes_schedule(opencl_device, schedules_dir,
                                                             tmp_path):
    """One file per measured shape: a 64×64×64 tune after a 96×96×96 one keeps both, and
    ``auto`` picks each for its own shape, the one of the same divisibility class for a third
    shape, and the repository's device file for a shape of no measured class."""
    ex = importlib.import_module("matmul")
    pipe, db = ex.pipeline(), f"sqlite:///{tmp_path / 'tuning.db'}"
    shapes = ({"M": 96, "N": 96, "K": 96}, {"M": 64, "N": 64, "K": 64})
    paths = []
    for shape in shapes:
        result = vx.tune(pipe, ex.space(pipe), shape=shape, n_trials=3, storage=db,
                         sampler="random", seed=0, runner=DeviceRunner(repeat=3))
        paths.append(result.write_schedule())
    assert [p.name for p in paths] == ["K=96,M=96,N=96.toml", "K=64,M=64,N=64.toml"]
    assert all(p.is_file() for p in paths)
    for shape, path in zip(shapes, paths):
        k = vx.compile(pipe, schedule="auto", shape=shape)
        assert k.origin == f"file:{path} (measured at {vx.auto.shape_text(shape)}: this shape)"
        assert k.schedule == vx.Schedule.load(path, pipe)
    same = vx.compile(pipe, schedule="auto", shape={"M": 32, "N": 160, "K": 224})
    assert same.origin == (f"file:{paths[0]} (measured at K=96,M=96,N=96: same divisibility "
                           "as K=224,M=32,N=160)")
    odd = {"M": 7, "N": 13, "K": 5}
    k = vx.compile(pipe, schedule="auto", shape=odd)
    assert k.origin.endswith("schedules/matmul/pocl-cpu.toml (the device's file)")
    a, b = (np.random.default_rng(3).random(s, dtype=np.float32) for s in ((7, 5), (5, 13)))
    np.testing.assert_allclose(k(A=a, B=b), pipe.reference(A=a, B=b), rtol=1e-5, atol=1e-5)
