"""``vortex-tune report`` and ``best`` on a study filled by the replay runner (no device)."""
import ast
import re

import pytest

import matmul
from .helpers import DATA, need_tuner_extra
from vortex.tuner import ReplayRunner, Session
from vortex.tuner.cli import main

need_tuner_extra()


@pytest.fixture(scope="module")
def study(tmp_path_factory, replay_device):
    url = f"sqlite:///{tmp_path_factory.mktemp('report') / 'tuning.db'}"
    pipe = matmul.pipeline()
    session = Session(pipe, matmul.space(pipe), shape={"M": 128, "N": 128, "K": 128},
                      storage=url, seed=1, device=replay_device,
                      runner=ReplayRunner.from_csv(DATA / "matmul_pocl_128.csv"))
    session.run(15)
    return url, session


def test_report_prints_the_best_trials_and_writes_the_history_png(study, tmp_path, capsys):
    url, session = study
    png = tmp_path / "history.png"
    assert main(["report", "--storage", url, "--png", str(png), "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert f"study {session.study_name}: matmul on replay (opencl)" in out
    counts = ast.literal_eval(re.search(r"trials: (\{.*\})", out).group(1))
    assert counts["ok"] + counts.get("pruned", 0) == 15      # repeats are listed apart
    lines = out.splitlines()
    head = next(i for i, line in enumerate(lines) if line.split()[:3] == ["trial", "ms", "TI"])
    assert [int(line.split()[0]) for line in lines[head + 2:head + 5]] == [1, 2, 3]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_best_prints_the_best_schedule(study, capsys):
    url, session = study
    assert main(["best", "--storage", url, "--study", session.study_name]) == 0
    text = capsys.readouterr().out
    best = session.result()
    assert text == best.best_schedule.to_toml()
    assert f"ms = {round(best.best_ms, 6)}" in text and "[[C]]" in text


def test_an_unknown_study_is_a_clear_error(study, capsys):
    url, _ = study
    assert main(["best", "--storage", url, "--study", "nope"]) == 2
    assert "no study 'nope' in sqlite" in capsys.readouterr().err
