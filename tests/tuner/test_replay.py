"""Search behaviour without a device: the ReplayRunner answers from timings recorded on PoCL
(tests/tuner/data/matmul_pocl_128.csv: every configuration of examples/matmul.py's space at
128³, made by record_timings.py). Acceptance: the default sampler finds a configuration within
5% of the exhaustive best in at most 25% of the space's trials, median over 5 seeds."""
import statistics

import pandas as pd
import pytest

import matmul
from .helpers import DATA, need_tuner_extra
from vortex.tuner import ReplayRunner, Session

need_tuner_extra()
CSV = DATA / "matmul_pocl_128.csv"
SHAPE = {"M": 128, "N": 128, "K": 128}


def trials_to_reach(target_ms: float, seed: int, replay_device, budget: int, sampler="tpe"):
    """Measured trials (repeats of a configuration do not count) until one is ≤ target_ms."""
    pipe = matmul.pipeline()
    session = Session(pipe, matmul.space(pipe), shape=SHAPE, storage=None, sampler=sampler,
                      seed=seed, device=replay_device, runner=ReplayRunner.from_csv(CSV))
    session.run(budget)
    trials = session.result().trials
    measured = trials[trials["repeat_of"] < 0].sort_values("trial").reset_index(drop=True)
    assert len(measured) == budget and measured["trial"].is_unique
    hits = measured.index[(measured["status"] == "ok") & (measured["ms"] <= target_ms)]
    return int(hits[0]) + 1 if len(hits) else None


def test_the_recording_covers_the_space():
    table = pd.read_csv(CSV)
    pipe = matmul.pipeline()
    from vortex.tuner import Space
    assert len(table) == Space(matmul.space(pipe)).size >= 200
    assert (table["status"] == "ok").sum() >= 200


def test_tpe_finds_a_near_best_configuration_in_a_quarter_of_the_space(replay_device, capsys):
    table = pd.read_csv(CSV)
    best = table.loc[table["status"] == "ok", "ms"].min()
    budget = len(table) // 4
    found = [trials_to_reach(best * 1.05, seed, replay_device, budget) for seed in range(5)]
    median = statistics.median(n if n is not None else budget + 1 for n in found)
    with capsys.disabled():
        print(f"\nreplay (matmul 128³ on PoCL, {len(table)} configurations): TPE reaches ≤ 5% "
              f"of the best in {found} trials (seeds 0-4), median {median} of a {budget}-trial "
              f"budget ({median / len(table):.1%} of the space)")
    assert median <= budget


def test_a_configuration_missing_from_the_recording_fails_its_trial(replay_device):
    pipe = matmul.pipeline()
    runner = ReplayRunner({})
    session = Session(pipe, matmul.space(pipe), shape=SHAPE, storage=None, sampler="random",
                      seed=0, device=replay_device, runner=runner)
    session.run(3)
    with pytest.raises(Exception, match="no valid configuration.*error.*not in the recorded"):
        session.result()
