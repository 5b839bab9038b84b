"""Running fuzz cases isolated: long-lived worker processes, crash and hang detection.

A worker is a ``spawn``-ed process (``multiprocessing``) that imports Vortex and pyopencl once
(1-2 s) and then runs cases one after another (:func:`fuzz.case.run_case`), reporting each phase
over a pipe. The parent waits at most ``timeout`` seconds for any one phase of a case (building
the pipeline, the schedule, the reference, one compile, one run): a worker that dies (SIGSEGV,
abort, a Python-level exit) makes the case a ``crash`` (with the signal, the phase it was in and
the tail of the worker's own stdout/stderr, which go to a log file, not the terminal); one that
does not answer in time is killed and the case is a ``hang``. Either way a fresh worker is
started and the run goes on. A crashing case is rerun once, alone, in a fresh worker, to say
whether it crashes by itself (``reproduced``) or only after the cases before it.

Workers get ``HIP_PLATFORM=amd``, ``VORTEX_DEBUG=check`` (the IR checker after every lowering
pass, as in the test suite; another ``VORTEX_DEBUG`` of the caller wins) and, unless the
caller's environment sets them, a fresh ``VORTEX_CACHE_DIR`` and ``POCL_CACHE_DIR`` per run, so
timings are cold-cache and runs do not share compiled kernels.
"""
from __future__ import annotations

import multiprocessing
import os
import resource
import signal
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

SEVERITY = ("crash", "hang", "wrong", "non-vortex", "compile-fail", "refused", "correct")


@dataclass
class Result:
    """The outcome of one case: ``cls`` (one of SEVERITY), every failure seen, the snippet."""

    seed: object
    index: int
    cls: str = "correct"
    failures: list = field(default_factory=list)
    snippet: str = ""
    seconds: float = 0.0
    refused_directives: int = 0
    hip: bool = False
    phase_seconds: dict = field(default_factory=dict)
    directives: list = field(default_factory=list)   # of a schedule that ran on PoCL

    @property
    def first(self) -> dict:
        """The failure that decided ``cls``."""
        return next((f for f in self.failures if f["class"] == self.cls), {})

    def classify(self):
        classes = {f["class"] for f in self.failures}
        self.cls = next((c for c in SEVERITY if c in classes), "correct")


def _worker_main(conn, log_path: str, env: dict):
    """The worker process: stdout/stderr to ``log_path``, then cases until told to stop."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.environ.update(env)
    from .case import run_case
    while True:
        job = conn.recv()
        if job is None:
            return
        seed, index, hip = job
        print(f"=== case {seed}:{index}", flush=True)
        run_case(seed, index, hip, lambda kind, payload: conn.send((kind, payload)))


class Worker:
    """One worker process and the pipe to it; restarted after a crash or a hang."""

    def __init__(self, env: dict, log_dir: Path, wid: int):
        self.env, self.log = env, log_dir / f"worker{wid}.log"
        self.ctx = multiprocessing.get_context("spawn")
        self.proc = None
        self.start()

    def start(self):
        self.conn, child = self.ctx.Pipe()
        self.log.write_text("")
        self.proc = self.ctx.Process(target=_worker_main, args=(child, str(self.log), self.env),
                                     daemon=True)
        self.proc.start()
        child.close()

    def stop(self):
        if self.proc is not None and self.proc.is_alive():
            try:
                self.conn.send(None)
                self.proc.join(5)
            except OSError:
                pass
            if self.proc.is_alive():
                self.proc.kill()
                self.proc.join()

    def restart(self):
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join()
        self.start()

    def log_tail(self, n: int = 12) -> list:
        lines = self.log.read_text(errors="replace").splitlines()
        return [ln for ln in lines[-n:] if not ln.startswith("=== case")]

    def run(self, seed, index: int, hip: bool, timeout: float) -> Result:
        res = Result(seed, index, hip=hip)
        phase, start = "start", time.monotonic()
        since = start                                    # the current phase's start
        self.conn.send((seed, index, hip))
        while True:
            left = since + timeout - time.monotonic()
            try:
                if left <= 0 or not self.conn.poll(min(left, 1.0)):
                    if left <= 0:
                        self.restart()
                        res.failures.append({"class": "hang", "kind": "Timeout", "phase": phase,
                                             "message": f"no answer after {timeout:.0f} s in "
                                                        f"phase '{phase}'", "frames": []})
                        break
                    if not self.proc.is_alive():
                        raise EOFError
                    continue
                kind, payload = self.conn.recv()
            except (EOFError, OSError):
                self.proc.join(5)
                code = self.proc.exitcode
                sig = (signal.Signals(-code).name if code is not None and code < 0
                       and -code in signal.Signals._value2member_map_ else f"exit code {code}")
                res.failures.append({"class": "crash", "kind": sig, "phase": phase,
                                     "message": f"worker died ({sig}) in phase '{phase}'",
                                     "frames": self.log_tail()})
                self.start()
                break
            if kind == "phase":
                phase, since = payload, time.monotonic()
            elif kind == "snippet":
                res.snippet = payload
            elif kind == "done":
                res.failures.extend(payload["failures"])
                res.refused_directives = payload["refused_directives"]
                res.phase_seconds = payload["seconds"]
                res.directives = payload["directives"]
                break
        res.seconds = time.monotonic() - start
        res.classify()
        return res


def worker_env() -> dict:
    env = {"HIP_PLATFORM": "amd", "VORTEX_DEBUG": os.environ.get("VORTEX_DEBUG", "check")}
    tmp = Path(tempfile.mkdtemp(prefix="vortex-fuzz-"))
    for var, sub in (("VORTEX_CACHE_DIR", "vortex"), ("POCL_CACHE_DIR", "pocl")):
        env[var] = os.environ.get(var) or str(tmp / sub)
    return env


def run_cases(seed, indices, jobs: int = 2, timeout: float = 60.0, hip_every: int = 1,
              deadline: float | None = None, progress=None, confirm_crashes: bool = True) -> list:
    """Run cases ``indices`` (any iterable, may be endless) of ``seed`` on ``jobs`` workers
    until the indices or the time (``deadline``, a ``time.monotonic()`` value) run out.
    ``timeout``: seconds one phase of a case may take before the case is a hang. HIP is compiled
    for the cases whose index is a multiple of ``hip_every`` (0: never).
    ``progress(result)`` is called after each case. Returns (Results by index, {"wall": s,
    "cpu": s}): cpu is the workers' user + system time, compilers included, which says what
    the run costs on an idle machine (about cpu / jobs of wall time) when others share it."""
    env = worker_env()
    t0, cpu0 = time.monotonic(), _children_cpu()
    log_dir = Path(tempfile.mkdtemp(prefix="vortex-fuzz-logs-"))
    results, lock, it = [], threading.Lock(), iter(indices)

    def drive(wid: int):
        worker = Worker(env, log_dir, wid)
        try:
            while True:
                with lock:
                    if deadline is not None and time.monotonic() >= deadline:
                        return
                    index = next(it, None)
                if index is None:
                    return
                hip = bool(hip_every) and index % hip_every == 0
                res = worker.run(seed, index, hip, timeout)
                if res.cls == "crash" and confirm_crashes:
                    again = worker.run(seed, index, hip, timeout)
                    res.first["reproduced"] = again.cls == "crash"
                with lock:
                    results.append(res)
                    if progress:
                        progress(res)
        finally:
            worker.stop()

    threads = [threading.Thread(target=drive, args=(w,), daemon=True) for w in range(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = {"wall": time.monotonic() - t0, "cpu": _children_cpu() - cpu0}
    return sorted(results, key=lambda r: r.index), stats


def _children_cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime
