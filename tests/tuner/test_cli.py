"""``vortex-tune`` as a real process: acceptance 2 (SIGKILL mid-run, restart, every finished
trial kept) and a clean Ctrl-C that stops after the current trial."""
import os
import signal
import subprocess
import time

import pytest

from .helpers import need_tuner_extra, vortex_tune

need_tuner_extra()
import optuna  # noqa: E402

from vortex.tuner import study as S  # noqa: E402


def job(db, schedules, trials):
    return ["examples/matmul.py", "--shape", "M=64,N=64,K=64", "--trials", trials,
            "--storage", db, "--repeat", "3", "--sampler", "random", "--seed", "3",
            "--schedules-dir", schedules]


def finished(db) -> dict:
    """{trial number: (params, ms)} of the measured trials in the only study of ``db``."""
    try:
        names = optuna.get_all_study_names(db)
        study = optuna.load_study(study_name=names[0], storage=db) if names else None
    except Exception:  # noqa: BLE001 - the database may not exist yet
        return {}
    return {} if study is None else {t.number: (t.params, t.user_attrs["ms"])
                                     for t in S.finished(study)}


def wait_for(condition, timeout_s: float, proc):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        assert proc.poll() is None, f"vortex-tune exited early ({proc.returncode})"
        time.sleep(0.3)
    pytest.fail(f"condition not met within {timeout_s} s")


def test_sigkill_mid_run_then_resume_keeps_every_finished_trial(opencl_device, tmp_path):
    db, out = f"sqlite:///{tmp_path / 'tuning.db'}", tmp_path / "schedules"
    log = open(tmp_path / "first.log", "w")
    proc = vortex_tune(*job(db, out, 12), stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: len(finished(db)) >= 3, 180, proc)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)   # the job we started, its trial worker included
        proc.wait()
    before = finished(db)
    assert 3 <= len(before) < 12

    again = vortex_tune(*job(db, out, 12), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                        text=True)
    text, _ = again.communicate(timeout=300)
    assert again.returncode == 0, text
    after = finished(db)
    assert len(after) == 12
    assert {n: after[n] for n in before} == before          # nothing lost, nothing remeasured
    assert f"{len(before)} finished trials" in text
    assert (out / "matmul" / "pocl-cpu.toml").is_file() and "wrote " in text


def test_ctrl_c_stops_after_the_current_trial(opencl_device, tmp_path):
    db = f"sqlite:///{tmp_path / 'tuning.db'}"
    proc = vortex_tune(*job(db, tmp_path / "schedules", 200), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    wait_for(lambda: len(finished(db)) >= 2, 180, proc)
    proc.send_signal(signal.SIGINT)
    text, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, text
    assert "stopping after the current trial" in text and "best: " in text
    study = optuna.load_study(study_name=optuna.get_all_study_names(db)[0], storage=db)
    states = {t.state for t in study.get_trials()}
    assert optuna.trial.TrialState.RUNNING not in states      # the current trial finished
    assert 2 <= len(S.finished(study)) < 200
