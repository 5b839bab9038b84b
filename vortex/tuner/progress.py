"""The progress display of ``vortex-tune``: a rich progress bar (trials done / total, best so far,
ETA) plus one log line per new best and per failed trial, which is all a non-terminal (CI log,
``nohup``) shows."""
from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


def _clock(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class TuneProgress:
    """``with TuneProgress(total, timeout_s, done0, default_ms) as p: p.refresh(trials)``, where
    ``trials`` are the study's finished trials (Optuna FrozenTrials with vortex attributes)."""

    def __init__(self, title: str, total: int, timeout_s=None, done0: int = 0,
                 default_ms=None, quiet: bool = False):
        self.total, self.timeout_s, self.done0 = total, timeout_s, done0
        self.default_ms, self.quiet = default_ms, quiet
        self.console = Console(quiet=quiet)
        if not self.console.is_terminal:      # a log file: wide enough for the bar line
            self.console = Console(quiet=quiet, width=110)
        self.bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                            MofNCompleteColumn(), TextColumn("trials"),
                            TextColumn("best [green]{task.fields[best]}"),
                            TimeElapsedColumn(), TextColumn("ETA {task.fields[eta]}"),
                            console=self.console, disable=quiet)
        self.task = self.bar.add_task(title, total=total, completed=done0, best="-", eta="-")
        self.start, self.best, self.seen = time.monotonic(), None, set()

    def __enter__(self):
        self.bar.__enter__()
        return self

    def __exit__(self, *exc):
        return self.bar.__exit__(*exc)

    def log(self, text: str) -> None:
        self.console.print(text, highlight=False)

    def refresh(self, trials) -> None:
        for t in sorted(trials, key=lambda t: t.number):
            if t.number in self.seen:
                continue
            self.seen.add(t.number)
            self._note(t)
        done = len(self.seen)
        elapsed = time.monotonic() - self.start
        rate = (done - self.done0) / elapsed if done > self.done0 and elapsed > 0 else None
        eta = (self.total - done) / rate if rate else None
        if self.timeout_s is not None:
            left = self.timeout_s - elapsed
            eta = left if eta is None else min(eta, left)
        best = "-" if self.best is None else f"{self.best:.4f} ms"
        self.bar.update(self.task, completed=min(done, self.total), best=best,
                        eta="-" if eta is None else _clock(eta))

    def _note(self, t) -> None:
        a = t.user_attrs
        params = " ".join(f"{k}={v}" for k, v in t.params.items())
        if a.get("status") == "ok" and (self.best is None or a["ms"] < self.best):
            self.best = a["ms"]
            speed = f" ({self.default_ms / a['ms']:.2f}x the default)" if self.default_ms else ""
            self.log(f"trial {t.number:4d}  [green]{a['ms']:.4f} ms[/] new best{speed}  {params}")
        elif a.get("status") not in ("ok", "pruned"):
            reason = " ".join(str(a.get("reason", "")).split())[:90]
            self.log(f"trial {t.number:4d}  [red]{a.get('status')}[/]  {params}: {reason}")
