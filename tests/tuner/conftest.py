"""Fixtures of the tuner tests: a throw-away schedules folder and the replay "device" (helpers
and the PostgreSQL server are in helpers.py and postgres_server.py). The tests that need Optuna
(the ``tune`` extra) skip with the install command when it is absent."""
from __future__ import annotations

import pytest

from . import helpers  # noqa: F401 - puts examples/ on sys.path


@pytest.fixture
def schedules_dir(tmp_path, monkeypatch):
    """$VORTEX_SCHEDULES → an empty folder (first in vx.auto.schedule_dirs())."""
    path = tmp_path / "schedules"
    monkeypatch.setenv("VORTEX_SCHEDULES", str(path))
    monkeypatch.delenv("VORTEX_TUNING_DB", raising=False)
    return path


@pytest.fixture(scope="session")
def replay_device():
    """A DeviceInfo for runs answered by a ReplayRunner (no driver, no limits)."""
    from vortex.target import Target
    from vortex.tuner import DeviceInfo
    return DeviceInfo(Target.OPENCL, "replay", "replay|recorded timings", "replay", None)
