"""Helpers of the tuner tests: paths, the tune-extra check, running vortex-tune as a process."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
DATA = Path(__file__).resolve().parent / "data"
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))


def need_tuner_extra():
    for module in ("optuna", "pandas", "matplotlib", "rich"):
        pytest.importorskip(module, reason=f'needs {module}: pip install -e ".[tune]"')


def vortex_tune(*args, env=None, **popen):
    """Start ``vortex-tune ARGS`` (this Python's ``-m vortex.tuner.cli``) in its own session."""
    return subprocess.Popen([sys.executable, "-m", "vortex.tuner.cli", *map(str, args)],
                            cwd=ROOT, env={**os.environ, **(env or {})},
                            start_new_session=True, **popen)
