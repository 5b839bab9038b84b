"""``vortex-tune``: overnight tuning jobs, their report and their best schedule.

    vortex-tune EXAMPLE.py [--shape M=1024,N=1024,K=1024] [--trials 200] [--timeout 8h]
                [--storage URL] [--workers N] [--space FILE] [--target opencl] [--device SEL]
    vortex-tune report EXAMPLE.py [same job options] [--top 10] [--png FILE]
    vortex-tune best EXAMPLE.py [same job options]

The space is the example's ``space(pipe)`` or ``--space FILE`` (a schedule file with a
``[tunables]`` table). Without ``--shape`` the example's ``inputs()`` are tuned. ``--trials`` is
the number of finished trials the study should hold (a rerun resumes up to it); ``--timeout``
bounds the wall time (``90s``, ``30m``, ``8h``, ``1h30m``). ``--workers N`` runs N worker
processes on one study (the storage coordinates them); on several machines run the same
command with a shared PostgreSQL ``--storage``. Ctrl-C stops after the current trial (twice:
at once). On finish the best schedule is written to
``schedules/<pipeline>/<device>/<shape>.toml`` (one file per shape, see vortex.auto)
(``--schedules-dir``, default $VORTEX_SCHEDULES's first entry or ./schedules).
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time

from .. import errors

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
EPILOG = """commands:
  vortex-tune EXAMPLE.py [options]         tune (the default command)
  vortex-tune report EXAMPLE.py [options]  table of the best trials and a PNG of the history
                                           (--top N, --png FILE)
  vortex-tune best EXAMPLE.py [options]    print the best schedule file
  vortex-tune report --help                the options of report (likewise best)"""


def duration(text: str) -> float:
    """``"8h"``, ``"1h30m"``, ``"90s"``, ``"45"`` (seconds) → seconds."""
    parts = re.fullmatch(r"(?:\d+(?:\.\d+)?[smhd])+|\d+(?:\.\d+)?", text.strip())
    if not parts:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 90s, 30m, 8h, 1h30m)")
    if text.strip()[-1].isdigit():
        return float(text)
    return sum(float(n) * UNITS[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)([smhd])", text))


def storage_arg(text: str) -> str:
    """``--storage``: a URL, or a SQLite file path (see vortex.tuner.study.storage_url)."""
    from .study import storage_url
    try:
        return storage_url(text)
    except errors.TuningError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def shape_arg(text: str) -> dict:
    """``"M=1024,N=1024"`` → {"M": 1024, "N": 1024}."""
    try:
        return {k.strip(): int(v) for k, v in (item.split("=") for item in text.split(","))}
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shape takes NAME=INT,…, got {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vortex-tune", description=__doc__.split("\n\n")[0],
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("example", nargs="?", help="example .py file (see vortex.examples)")
    p.add_argument("--target", default="opencl", help="opencl | cuda (default: opencl)")
    p.add_argument("--arch", help="CUDA code generation arch other than the device's own "
                   "(e.g. sm_90a on an H100); part of the study key")
    p.add_argument("--device", help="device selector (index or part of the name)")
    p.add_argument("--shape", type=shape_arg, help="sizes, e.g. M=1024,N=1024,K=1024")
    p.add_argument("--space", help="search space file (TOML with [tunables])")
    p.add_argument("--storage", default="sqlite:///vortex-tuning.db", type=storage_arg,
                   help="Optuna storage URL (sqlite:///FILE, postgresql+psycopg2://…) or a "
                   "SQLite file path")
    p.add_argument("--study", help="study name (default: derived from the job)")
    p.add_argument("--allow-tails", action="store_true",
                   help="do not prune split factors that leave a partial tile")
    return p


def _tune_parser() -> argparse.ArgumentParser:
    p = _parser()
    p.add_argument("--trials", type=int, default=100, help="trials the study should hold")
    p.add_argument("--timeout", type=duration, help="wall-time budget (e.g. 8h)")
    p.add_argument("--workers", type=int, default=1, help="worker processes on this machine")
    p.add_argument("--sampler", default="tpe", help="tpe | random | grid | qmc")
    p.add_argument("--seed", type=int, help="sampler seed")
    p.add_argument("--trial-timeout", type=float, default=120.0, help="seconds per trial")
    p.add_argument("--repeat", type=int, default=10, help="timed runs per trial (median)")
    p.add_argument("--schedules-dir", help="where to write <pipeline>/<device>/<shape>.toml")
    p.add_argument("--no-write", action="store_true", help="do not write the schedule file")
    p.add_argument("--share", type=int, help=argparse.SUPPRESS)      # a --workers child
    p.add_argument("--quiet", action="store_true", help="no progress display")
    return p


def _report_parser() -> argparse.ArgumentParser:
    p = _parser()
    p.add_argument("--top", type=int, default=10, help="rows of the best-trials table")
    p.add_argument("--png", help="history plot (default: <study>.png)")
    return p


def _session(args, runner=None, create=True):
    from ..examples import load_example
    from ..schedule import Schedule
    from .space import CONSTRAINTS, Space
    from .session import Session
    if not args.example:
        raise errors.TuningError("give the example .py file the job tunes")
    ex = load_example(args.example)
    pipe = ex.pipeline()
    if args.space:
        schedule = Schedule.load(args.space, pipe)
    elif callable(getattr(ex, "space", None)):
        schedule = ex.space(pipe)
    else:
        raise errors.TuningError(f"{args.example} defines no space(pipe) and no --space FILE "
                                 "was given (see vortex.examples)")
    constraints = [c for c in CONSTRAINTS if not (args.allow_tails and c == "divisible")]
    inputs = ex.inputs() if args.shape is None or pipe.params else None
    if args.shape is not None and inputs:
        inputs = {k: v for k, v in inputs.items() if k in pipe.params}
    return Session(pipe, Space(schedule, constraints), args.target, args.shape, inputs,
                   args.storage, args.study, getattr(args, "sampler", "tpe"), args.device,
                   runner, getattr(args, "seed", None), create, arch=args.arch)


class _StopFlag:
    """First Ctrl-C: finish the current trial, then stop. Second: KeyboardInterrupt."""

    def __init__(self, say):
        self.set, self.say = False, say

    def __call__(self, signum, frame):
        if self.set:
            raise KeyboardInterrupt
        self.set = True
        self.say("Ctrl-C: stopping after the current trial (press again to abort)")


def _children(argv: list, shares: list) -> list:
    """Worker processes, each in its own session: Ctrl-C reaches them once, forwarded by the
    parent; a worker whose parent died stops after its current trial."""
    base = [sys.executable, "-m", "vortex.tuner.cli", *argv, "--workers", "1", "--quiet",
            "--no-write"]
    return [subprocess.Popen(base + ["--share", str(k)], start_new_session=True)
            for k in shares if k > 0]


def _wait(procs, stop, refresh) -> None:
    forwarded = False
    while any(p.poll() is None for p in procs):
        if stop.set and not forwarded:
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGINT)
            forwarded = True
        refresh()
        time.sleep(0.5)


def cmd_tune(argv: list) -> int:
    from . import study as S
    from .progress import TuneProgress
    from .report import best_table, status_counts
    from .runner import DeviceRunner
    args = _tune_parser().parse_args(argv)
    runner = DeviceRunner(trial_timeout_s=args.trial_timeout, repeat=args.repeat)
    session = _session(args, runner)
    job, done0 = session.job, session.done()
    title = f"{job.pipe.name} on {job.device.name}"
    with TuneProgress(title, args.trials, args.timeout, done0,
                      session.study.user_attrs.get("vortex.default_ms"), args.quiet) as bar:
        bar.log(f"study {session.study_name} in {args.storage}: {done0} finished trials, "
                f"space of {session.space.size} configurations, shape {job.shape}")
        stop = _StopFlag(bar.log)
        previous = signal.signal(signal.SIGINT, stop)
        try:
            if args.workers > 1:
                todo = max(0, args.trials - done0)
                shares = [todo // args.workers + (i < todo % args.workers)
                          for i in range(args.workers)]
                procs = _children(_strip_workers(argv), shares)
                _wait(procs, stop, lambda: bar.refresh(S.finished(session.study)))
                bar.refresh(S.finished(session.study))
                bar.log("re-timing the fastest configurations and the default")
                session.confirm()
            else:
                parent = os.getppid()
                session.run(args.trials, args.timeout, args.share,
                            on_trial=lambda t: bar.refresh(S.finished(session.study)),
                            should_stop=lambda: stop.set or (args.share is not None and
                                                             os.getppid() != parent),
                            confirm=args.share is None)
            bar.refresh(S.finished(session.study))
        finally:
            signal.signal(signal.SIGINT, previous)
    if args.share is not None:
        return 0
    result = session.result()
    print(f"trials: {status_counts(result.trials)}")
    print(best_table(result.trials, 5, result.default_ms).to_string())
    speed = f" ({result.default_ms / result.best_ms:.2f}x the default schedule's " \
            f"{result.default_ms:.4f} ms)" if result.default_ms else ""
    print(f"best: {result.best_ms:.4f} ms{speed}")
    if not args.no_write:
        print(f"wrote {result.write_schedule(args.schedules_dir)}")
    return 0


def _strip_workers(argv: list) -> list:
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--workers":
            skip = True
        elif not a.startswith("--workers="):
            out.append(a)
    return out


def _study(args):
    """The optuna study of a report/best command: --study, the example's job, or the only one."""
    import optuna
    from . import study as S
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if args.example:
        return _session(args, create=False).study
    name = args.study
    if name is None:
        names = optuna.get_all_study_names(S.storage(args.storage))
        if len(names) != 1:
            raise errors.TuningError(f"{args.storage} holds {len(names)} studies; name one with "
                                     f"--study or give the example file ({', '.join(names)})")
        name = names[0]
    try:
        return optuna.load_study(study_name=name, storage=S.storage(args.storage))
    except KeyError:
        raise errors.TuningError(f"no study {name!r} in {args.storage}") from None


def cmd_report(argv: list) -> int:
    from . import study as S
    from .report import best_table, history_png, status_counts
    args = _report_parser().parse_args(argv)
    study = _study(args)
    trials, attrs = S.trials_frame(study), study.user_attrs
    default_ms = attrs.get("vortex.default_ms")
    print(f"study {study.study_name}: {attrs.get('vortex.pipeline')} on "
          f"{attrs.get('vortex.device')} ({attrs.get('vortex.target')}), shape "
          f"{attrs.get('vortex.shape')}")
    print(f"trials: {status_counts(trials) if len(trials) else {}}")
    if default_ms:
        print(f"default schedule: {default_ms:.4f} ms")
    if not len(trials) or not (trials["status"] == "ok").any():
        print("no valid trial yet")
        return 1
    print(best_table(trials, args.top, default_ms).to_string())
    png = history_png(trials, args.png or f"{study.study_name}.png",
                      f"{attrs.get('vortex.pipeline')} on {attrs.get('vortex.device')}",
                      default_ms)
    print(f"wrote {png}")
    return 0


def cmd_best(argv: list) -> int:
    args = _parser().parse_args(argv)
    study = _study(args)
    from . import study as S
    text = S.best_text(study)
    if text is None:
        raise errors.TuningError(f"study {study.study_name!r} has no valid trial yet")
    print(text, end="")
    return 0


COMMANDS = {"report": cmd_report, "best": cmd_best}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = COMMANDS.get(argv[0]) if argv else None
    try:
        return command(argv[1:]) if command else cmd_tune(argv)
    except errors.VortexError as e:
        print(f"vortex-tune: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vortex-tune: aborted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
