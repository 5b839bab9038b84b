"""Runners: what measures one configuration. Swappable (Kernel Tuner's "simulation mode").

- :class:`DeviceRunner`: compile → verify once against ``pipe.reference`` → time (warm-up +
  median of ``repeat`` device-timed runs), in an isolated worker process
  (:mod:`vortex.tuner.worker`) with a per-trial time limit: a compiler crash, a faulting or a
  hanging kernel fails that trial (status ``crash`` / ``timeout``, with the reason) and the next
  trial gets a fresh worker.
- :class:`ReplayRunner`: answers from recorded timings (a CSV of params → ms), so the search
  itself is tested without a device.

Both implement ``start(job)``, ``run(schedule, params) -> Outcome``, ``baseline(job)`` (the
default schedule's time, or None) and ``close()``.
"""
from __future__ import annotations

import csv
import os
import select
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from .. import errors
from . import worker as W


class Status(Enum):
    """How a trial ended; only OK trials have a time and can be the best."""

    OK = "ok"
    PRUNED = "pruned"
    WRONG = "wrong"
    COMPILE_ERROR = "compile_error"
    ERROR = "error"
    CRASH = "crash"
    TIMEOUT = "timeout"


@dataclass(frozen=True)
class Outcome:
    status: Status
    ms: float | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.status is Status.OK


def config_key(params: dict) -> str:
    """``"TI=8,TJ=32"``: a configuration as text (sorted names; values as ``str``)."""
    return ",".join(f"{k}={params[k]}" for k in sorted(params))


class ReplayRunner:
    confirms = False    # replayed timings are exact: nothing to re-time

    """Answers from ``records`` ({config_key: Outcome}); an unknown configuration is an ERROR
    outcome. ``from_csv(path)``: one column per tunable plus ``ms`` (empty: failed) and an
    optional ``status``."""

    def __init__(self, records: dict):
        self.records = dict(records)

    @classmethod
    def from_csv(cls, path) -> "ReplayRunner":
        records = {}
        with open(path, newline="") as fh:
            for row in csv.DictReader(fh):
                ms, status = row.pop("ms", ""), row.pop("status", "") or "ok"
                records[config_key(row)] = Outcome(Status(status), float(ms) if ms else None)
        return cls(records)

    def start(self, job) -> None:
        pass

    def run(self, schedule, params: dict) -> Outcome:
        return self.records.get(config_key(params),
                                Outcome(Status.ERROR, None, "not in the recorded timings"))

    def baseline(self, job):
        return None

    def close(self) -> None:
        pass


WORKER = "import sys; from vortex.tuner.worker import main; sys.exit(main())"


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


class DeviceRunner:
    confirms = True     # re-time the best configurations at the end (Session.confirm)

    """Runs trials on the device in a worker process. ``trial_timeout_s``: limit for compile +
    verify + time of one trial; ``warmup``/``repeat``: timing runs (median of ``repeat``);
    ``tol``: relative tolerance of the float check against ``pipe.reference``."""

    def __init__(self, trial_timeout_s: float = 120.0, warmup: int = 2, repeat: int = 10,
                 tol: float = 1e-4, startup_timeout_s: float = 300.0):
        self.trial_timeout_s, self.startup_timeout_s = trial_timeout_s, startup_timeout_s
        self.warmup, self.repeat, self.tol = warmup, repeat, tol
        self._setup = None
        self._proc = None
        self._log = None

    def start(self, job) -> None:
        """Bind to a tuning job (pipeline, inputs, target, device); computes the reference."""
        ref = job.pipe.reference(**job.inputs)
        self._setup = {"pipe": job.pipe, "inputs": job.inputs, "target": job.target.value,
                       "expected": ref if isinstance(ref, tuple) else (ref,),
                       "device": job.device.selector, "arch": job.device.arch, "tol": self.tol,
                       "warmup": self.warmup, "repeat": self.repeat}

    def baseline(self, job):
        from ..schedule import Schedule
        return self.run(Schedule.default(job.pipe), {})

    def run(self, schedule, params: dict) -> Outcome:
        self._ensure_worker()
        self._mark = self._log.seek(0, 2)
        W.send(self._proc.stdin, {"directives": schedule.directives, "params": params})
        reply = self._reply(self.trial_timeout_s)
        if isinstance(reply, Outcome):
            return reply
        return Outcome(Status(reply["status"]), reply["ms"], reply["reason"])

    def close(self) -> None:
        if self._proc is not None:
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._kill()
            self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    # ---- the worker process ----------------------------------------------------------------

    def _ensure_worker(self) -> None:
        if self._setup is None:
            raise errors.TuningError("DeviceRunner.start(job) was not called")
        if self._proc is not None and self._proc.poll() is None:
            return
        self._log = self._log or tempfile.TemporaryFile()
        self._mark = 0
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self._proc = subprocess.Popen([sys.executable, "-c", WORKER],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=self._log, env=env, bufsize=0)
        W.send(self._proc.stdin, {"setup": self._setup})
        ready = self._reply(self.startup_timeout_s)
        if isinstance(ready, Outcome):
            raise errors.TuningError(f"the trial worker did not start: {ready.reason}")

    def _reply(self, timeout_s: float):
        """The worker's next message, or an Outcome when it crashed or ran out of time."""
        out = self._proc.stdout
        ready, _, _ = select.select([out], [], [], timeout_s)
        if not ready:
            self._kill()
            return Outcome(Status.TIMEOUT, None, f"no result within {timeout_s:g} s (a hanging "
                           "kernel or compiler); the worker process was killed")
        try:
            return W.recv(out)
        except (EOFError, OSError):
            code = self._proc.wait()
            self._proc = None
            how = _signal_name(code) if code < 0 else f"exit status {code}"
            return Outcome(Status.CRASH, None, f"the worker process died ({how}) during the "
                           f"trial; last output: {self._tail()}")

    def _kill(self) -> None:
        self._proc.kill()
        self._proc.wait()
        self._proc = None

    def _tail(self, n: int = 600) -> str:
        self._log.flush()
        size = self._log.seek(0, 2)
        self._log.seek(max(self._mark, size - n))
        return self._log.read().decode(errors="replace").strip() or "(none)"


def write_csv(path, rows: list[dict]) -> Path:
    """Write recorded timings (dicts of tunables + ``ms`` + ``status``) for ReplayRunner."""
    path = Path(path)
    names = list(rows[0])
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=names)
        w.writeheader()
        w.writerows(rows)
    return path
