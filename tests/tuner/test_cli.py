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
    assert (out / "matmul" / "pocl-cpu" / "K=64,M=64,N=64.toml").is_file() and "wrote " in text


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


def _tune(*args, cwd=None):
    proc = vortex_tune(*args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       **({"cwd": cwd} if cwd else {}))
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out, err


def test_help_lists_the_report_and_best_commands():
    code, out, _ = _tune("--help")
    assert code == 0
    assert "vortex-tune report EXAMPLE.py [options]" in out
    assert "vortex-tune best EXAMPLE.py [options]" in out


def test_a_storage_path_is_a_sqlite_file(opencl_device, tmp_path):
    """`--storage tuning.db` (a path, not a URL) tunes into that SQLite file; the files it
    writes are per shape."""
    db = tmp_path / "tuning.db"
    code, out, err = _tune(*job(str(db), tmp_path / "schedules", 2))
    assert code == 0, err
    assert f"sqlite:///{db}:" in out.replace("\n", "") and db.is_file()   # rich may wrap lines
    assert (tmp_path / "schedules" / "matmul" / "pocl-cpu" / "K=64,M=64,N=64.toml").is_file()
    assert len(finished(f"sqlite:///{db}")) == 2


def test_a_malformed_storage_url_is_one_line():
    code, _, err = _tune("examples/matmul.py", "--storage", "postgres ql://x")
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        "vortex-tune: error: argument --storage: storage 'postgres ql://x' is not a database "
        "URL (sqlite:///FILE, postgresql+psycopg2://USER@HOST/DB) nor a SQLite file path")
    code, _, err = _tune("examples/matmul.py", "--shape", "M=8,N=8,K=8", "--storage",
                         "nosuch://host/db")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith("vortex-tune: TuningError: cannot open tuning storage "
                          "'nosuch://host/db': NoSuchModuleError: Can't load plugin")


def test_arch_on_opencl_is_a_compile_error(tmp_path):
    code, _, err = _tune("examples/matmul.py", "--shape", "M=8,N=8,K=8", "--arch", "sm_90",
                         "--storage", str(tmp_path / "t.db"))
    assert code == 2
    assert err.strip() == ("vortex-tune: CompileError: arch='sm_90' means nothing for target "
                           "'opencl': OpenCL kernels are compiled for the device by its driver")


def test_workers_starting_together_on_a_new_database_all_open_it(tmp_path):
    """Six workers open one new SQLite database at once: the ones that lose the race to create
    its tables (an IntegrityError on alembic_version, 'table … already exists') retry instead of
    failing: CI saw vortex-tune exit with 'cannot open tuning storage' when a reader opened the
    file first."""
    import sys
    db = f"sqlite:///{tmp_path / 'race.db'}"
    code = f"from vortex.tuner import study; study.storage({db!r}); print('ok')"
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for _ in range(6)]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 and o.strip().endswith("ok") for p, o in zip(procs, outs)), outs
