"""Acceptance 4: two worker processes (``vortex-tune --workers 2``) share one study in a real
PostgreSQL server on loopback and together finish the requested trials: exactly that many
measured, every trial number once, none left running or unrecorded, both workers took part.
Optuna's RDB storage is the only coordinator."""
import os
import subprocess

import pytest

from .helpers import need_tuner_extra, vortex_tune
from .postgres_server import postgres, server_bin

need_tuner_extra()
pytest.importorskip("psycopg2", reason='needs psycopg2: pip install -e ".[postgres]"')
if server_bin() is None:
    pytest.skip("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb): apt-get "
                "install postgresql", allow_module_level=True)
if os.geteuid() == 0 and subprocess.run(["id", "postgres"], capture_output=True).returncode:
    pytest.skip("running as root without the 'postgres' user of Debian's postgresql package",
                allow_module_level=True)

import optuna  # noqa: E402

from vortex.tuner import study as S  # noqa: E402

TRIALS = 10


def test_two_workers_share_one_study_in_postgresql(opencl_device, tmp_path):
    with postgres() as url:
        proc = vortex_tune("examples/matmul.py", "--shape", "M=64,N=64,K=64", "--trials", TRIALS,
                           "--workers", 2, "--storage", url, "--repeat", 3,
                           "--schedules-dir", tmp_path / "schedules",
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        text, _ = proc.communicate(timeout=400)
        assert proc.returncode == 0, text
        (name,) = optuna.get_all_study_names(url)
        study = optuna.load_study(study_name=name, storage=url)
        trials = study.get_trials()
        measured = S.finished(study)
    assert len(measured) == TRIALS
    numbers = [t.number for t in trials]
    assert sorted(numbers) == list(range(len(trials)))               # one row per trial number
    assert all(t.state.is_finished() and "status" in t.user_attrs for t in trials)   # none lost
    assert len({t.user_attrs["worker"] for t in measured}) == 2      # both workers took part
    assert (tmp_path / "schedules" / "matmul" / "pocl-cpu" / "K=64,M=64,N=64.toml").is_file()
