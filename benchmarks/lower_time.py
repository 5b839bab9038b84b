"""Build and lowering time (issue 10, acceptance 3b and 6): printed, not asserted.

- the 20-stage stencil chain (tests/pipelines.py), every Func ``compute_root()``: ``lower`` cold
  (first call in the process) and median of 5; target < 0.100 s;
- examples/local_laplacian.py (8 levels) and examples/interpolate.py (10 levels) over symbolic
  image sizes, with their shipped PoCL schedules: ``vx.Pipeline`` (bounds inference) plus
  ``lower``, cold; target < 2 s each.

Run:  python benchmarks/lower_time.py
"""
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "examples"))

import vortex as vx  # noqa: E402
from vortex.examples import load_example  # noqa: E402
from vortex.lower import lower  # noqa: E402


def chain(stages: int = 20, runs: int = 5):
    from pipelines import stencil_chain_output
    pipe = vx.Pipeline(stencil_chain_output(stages))
    s = vx.Schedule(pipe)
    for f in pipe.funcs:
        s[f.name].compute_root()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        lower(pipe, s)
        times.append(time.perf_counter() - t)
    return times[0], statistics.median(times)


def example(name: str):
    module = load_example(ROOT / "examples" / f"{name}.py")
    t0 = time.perf_counter()
    pipe = module.pipeline()
    t1 = time.perf_counter()
    s = vx.Schedule.load(ROOT / "schedules" / name / "pocl-cpu.toml", pipe)
    t2 = time.perf_counter()
    lower(pipe, s)
    t3 = time.perf_counter()
    return len(pipe.funcs), t1 - t0, t2 - t1, t3 - t2


def main():
    cold, median = chain()
    print("| what | cold s | median s | target s |")
    print("|---|---|---|---|")
    print(f"| lower, 20-stage chain, compute_root | {cold:.3f} | {median:.3f} | 0.100 |")
    print()
    print("| example | Funcs | vx.Pipeline s | schedule load s | lower s | Pipeline + lower s "
          "| target s |")
    print("|---|---|---|---|---|---|---|")
    for name in ("local_laplacian", "interpolate"):
        n, build, load, low = example(name)
        print(f"| {name} | {n} | {build:.3f} | {load:.3f} | {low:.3f} | {build + low:.3f} | 2 |")


if __name__ == "__main__":
    main()
