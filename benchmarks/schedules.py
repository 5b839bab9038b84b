"""Every shipped PoCL schedule against the default schedule, at each example's own inputs.

Usage: ``python benchmarks/schedules.py [--rounds 5] [--repeat 5] [--budget 180]``.

For each ``examples/<name>.py`` whose pipeline has ``schedules/<pipeline>/pocl-cpu.toml``, the
pipeline is compiled twice for OpenCL on the default device (PoCL on CPU): with that file
("shipped") and with ``schedule=None`` ("default": ``vortex/schedule/default.py``). Both outputs
are checked against ``pipe.reference`` at the example's ``inputs()`` (``np.allclose``, rtol
1e-4, atol 1e-5; the max error relative to max |reference| is printed). Then come ``--rounds``
interleaved rounds; in each, each schedule runs ``kernel.time(warmup=1, repeat=--repeat)``: the
median of ``--repeat`` device-timed runs (the summed OpenCL profiling intervals of one run's
launches, no transfers). The table shows the median of the round values and how many rounds
that is.

Each example is measured in a child process (this script with ``--child``) that reports every
step as it goes, under a wall-clock limit of ``--budget`` seconds. When the limit stops it, the
rounds finished so far count. A schedule with no finished round is shown as a lower bound,
"> T": T is how long its unfinished step had run, divided by the runs that step could have
completed (1 for the check, warm-up + repeat for a round). The default schedule inlines every
intermediate, so softmax recomputes whole-row reductions for every element and cannot finish
one run in the budget; the shipped schedule is then measured again alone.

speed-up = default ms / shipped ms: above 1 the shipped schedule is faster (a lower bound when
the default's time is one). The run ends with exit status 1 if any shipped schedule is slower
than the default (issue 9, item 7) or any output is wrong.
"""
import argparse
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import vortex as vx
from vortex.examples import load_example

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import load_avg, machine, versions  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = "pocl-cpu.toml"
WHICH = ("default", "shipped")       # the default is checked first: it is the one that may hang
RTOL, ATOL = 1e-4, 1e-5


def shipped_examples() -> list[tuple[Path, Path]]:
    """(example file, its shipped PoCL schedule file) for every example that has one."""
    found = []
    for path in sorted((ROOT / "examples").glob("*.py")):
        schedule = ROOT / "schedules" / load_example(path).pipeline().name / SHIPPED
        if schedule.exists():
            found.append((path, schedule))
    return found


# ---- the child: compile, check, time one example; one line per step -----------------------------
def child(example: Path, schedule: Path, which: list[str], rounds: int, repeat: int) -> None:
    """Prints ``start <which> <runs> <monotonic s>`` before each step that runs kernels,
    ``check <which> <error> <ok>`` and ``round <which> <ms>`` after."""
    def say(*words):
        print(*words, flush=True)
    ex = load_example(example)
    pipe, args = ex.pipeline(), ex.inputs()
    ref = pipe.reference(**args)
    say("pipeline", pipe.name)
    kernels = {w: vx.compile(pipe, schedule=str(schedule) if w == "shipped" else None,
                             target="opencl") for w in which}
    for w, kernel in kernels.items():
        say("start", w, 1, time.monotonic())
        out = kernel(**args)
        outs, refs = (out, ref) if isinstance(out, tuple) else ((out,), (ref,))
        err = max(float(np.max(np.abs(o - r)) / max(float(np.max(np.abs(r))), 1e-30))
                  for o, r in zip(outs, refs))
        ok = all(np.allclose(o, r, rtol=RTOL, atol=ATOL) for o, r in zip(outs, refs))
        say("check", w, err, int(ok))
    for _ in range(rounds):
        for w, kernel in kernels.items():
            say("start", w, 1 + repeat, time.monotonic())
            say("round", w, kernel.time(warmup=1, repeat=repeat, **args))


# ---- the parent ---------------------------------------------------------------------------------
@dataclass
class Measured:
    """One schedule of one example: its check, its round medians (ms), or a lower bound (ms)."""

    err: float | None = None
    ok: bool | None = None
    rounds: list = field(default_factory=list)
    more_than_ms: float | None = None

    def ms(self) -> float:
        return statistics.median(self.rounds) if self.rounds else self.more_than_ms

    def text(self) -> str:
        return f"{self.ms():.2f}" if self.rounds else f"> {self.more_than_ms:.0f}"


def run_child(example: Path, schedule: Path, which: list[str], opts) -> tuple[str, dict]:
    """(pipeline name, Measured per schedule) from a child stopped after ``opts.budget`` s."""
    cmd = [sys.executable, __file__, "--child", str(example), str(schedule), ",".join(which),
           "--rounds", str(opts.rounds), "--repeat", str(opts.repeat)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = proc.communicate(timeout=opts.budget)
    except subprocess.TimeoutExpired:
        proc.kill()
        stopped = time.monotonic()
        stdout, stderr = proc.communicate()
    else:
        if proc.returncode != 0:
            raise RuntimeError(f"{example.name}: the measuring process failed:\n"
                               f"{stderr[-3000:]}")
        stopped = None
    name, found, last = "?", {w: Measured() for w in which}, None
    for kind, *rest in (ln.split() for ln in stdout.splitlines() if ln.strip()):
        if kind == "pipeline":
            name = rest[0]
        elif kind == "start":
            last = rest
        elif kind == "check":
            found[rest[0]].err, found[rest[0]].ok = float(rest[1]), rest[2] == "1"
        elif kind == "round":
            found[rest[0]].rounds.append(float(rest[1]))
    if stopped is not None and last is not None and not found[last[0]].rounds:
        found[last[0]].more_than_ms = (stopped - float(last[2])) * 1e3 / int(last[1])
    return name, found


def measure(example: Path, schedule: Path, opts) -> tuple[str, dict]:
    name, found = run_child(example, schedule, list(WHICH), opts)
    if not found["shipped"].rounds:     # the default took the whole budget: the shipped alone
        _, alone = run_child(example, schedule, ["shipped"], opts)
        found["shipped"] = alone["shipped"]
    if not found["shipped"].rounds:
        raise RuntimeError(f"{example.name}: the shipped schedule finished no round in "
                           f"--budget {opts.budget} s; raise --budget")
    if found["default"].ms() is None:
        raise RuntimeError(f"{example.name}: the default schedule was never started in "
                           f"--budget {opts.budget} s (compiling?); raise --budget")
    return name, found


def report(example: Path, name: str, found: dict) -> tuple[list[str], str, bool]:
    """(check lines, table row, shipped at least as fast as the default)."""
    checks = [f"  check {example.stem:<16} {w:<8} " + (
        f"max |error| / max |reference| = {m.err:.1e}  {'ok' if m.ok else 'FAIL'}"
        if m.ok is not None else "not run to the end within --budget")
        for w, m in sorted(found.items(), key=lambda kv: kv[0] != "shipped")]
    shipped, default = found["shipped"], found["default"]
    speedup = default.ms() / shipped.ms()
    bound = "" if default.rounds else "> "
    text = (f"{example.stem:<16} {name:<16} {shipped.text():>10} {len(shipped.rounds):>3} "
            f"{default.text():>12} {len(default.rounds):>3} {bound + f'{speedup:.2f}':>9}")
    return checks, text, speedup >= 1.0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds (median kept)")
    p.add_argument("--repeat", type=int, default=5, help="timed runs per kernel.time call")
    p.add_argument("--budget", type=float, default=180.0,
                   help="seconds one example may take in all (compile, check, every round)")
    p.add_argument("--child", nargs=3, metavar=("EXAMPLE", "SCHEDULE", "WHICH"),
                   help=argparse.SUPPRESS)
    opts = p.parse_args(argv)
    if opts.child:
        example, schedule, which = opts.child
        child(Path(example), Path(schedule), which.split(","), opts.rounds, opts.repeat)
        return 0

    from vortex.runtime.opencl_device import select_device
    print(f"shipped PoCL schedules vs the default schedule, median of up to {opts.rounds} "
          f"rounds of kernel.time(repeat={opts.repeat}), --budget {opts.budget:.0f} s")
    print("\n".join(machine(select_device())))
    print(versions(["vortex", "numpy", "pyopencl"]))
    print(load_avg("start"))
    checks, rows, slower, wrong = [], [], [], []
    for example, schedule in shipped_examples():
        name, found = measure(example, schedule, opts)
        lines, text, ok = report(example, name, found)
        checks += lines
        rows.append(text)
        slower += [] if ok else [example.stem]
        wrong += [f"{example.stem} ({w})" for w, m in found.items() if m.ok is False]
    print("\n".join(checks))
    print(f"{'example':<16} {'pipeline':<16} {'shipped ms':>10} {'n':>3} {'default ms':>12} "
          f"{'n':>3} {'speed-up':>9}")
    print("\n".join(rows))
    print("n = rounds measured; speed-up = default ms / shipped ms (above 1: the shipped "
          "schedule is faster)")
    print("every shipped schedule is at least as fast as the default" if not slower else
          f"SLOWER than the default: {', '.join(slower)}")
    if wrong:
        print(f"WRONG results: {', '.join(wrong)}")
    print(load_avg("end"))
    return 1 if slower or wrong else 0


if __name__ == "__main__":
    sys.exit(main())
