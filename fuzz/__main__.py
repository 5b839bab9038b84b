"""``python -m fuzz --minutes N [--seed S] [--jobs J] [--out DIR]``: the lowering fuzzer.

Random pipelines × random valid schedules (:mod:`fuzz.generate`, :mod:`fuzz.schedules`; 6% of
the cases sums of products with ``where`` predicates and ``mma`` schedules, :mod:`fuzz.mma`), each
checked against ``pipe.reference`` on PoCL and compiled for CUDA sm_90 and HIP gfx90a, each case
isolated in a worker process (:mod:`fuzz.run`). Prints the count of cases by outcome, the first
failing cases of each class, and the distinct failure signatures; ``--out`` writes every failing
case as a standalone script. Case (seed, index) is reproducible: ``--seed S --start I --cases 1``.
Exit status: 1 when any case was wrong, crashed, hung, raised a non-Vortex exception or made a
target compiler fail; else 0.
"""
from __future__ import annotations

import argparse
import itertools
import os
import random
import sys
import time
from collections import Counter

from . import report
from .run import run_cases


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=None, help="run for this long")
    p.add_argument("--cases", type=int, default=None, help="run this many cases (default: "
                   "until --minutes is over; 200 when neither is given)")
    p.add_argument("--seed", default=None, help="default: a random one, printed")
    p.add_argument("--start", type=int, default=0, help="first case index")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--timeout", type=float, default=60.0, help="seconds one phase of a case "
                   "(a compile, a run, ...) may take; longer is a hang")
    p.add_argument("--hip-every", type=int, default=1, help="compile HIP for cases whose index "
                   "is a multiple of this (hiprtc takes ~0.5-1 s a kernel; 0: never)")
    p.add_argument("--show", type=int, default=3, help="failing cases printed per class")
    p.add_argument("--source", action="store_true", help="print their snippets too")
    p.add_argument("--out", default=None, help="write failing cases and summary.txt here")
    a = p.parse_args(argv)
    seed = a.seed if a.seed is not None else str(random.SystemRandom().randrange(10**6))
    cases = a.cases if a.cases is not None or a.minutes is not None else 200
    indices = (range(a.start, a.start + cases) if cases is not None
               else itertools.count(a.start))
    deadline = time.monotonic() + 60 * a.minutes if a.minutes is not None else None
    print(f"fuzz: seed {seed}, {a.jobs} jobs, "
          + (f"{cases} cases" if cases is not None else f"{a.minutes} minutes"), flush=True)
    start, counts = time.monotonic(), Counter()

    def progress(r):
        counts[r.cls] += 1
        if r.cls in report.FAILURES:
            f = r.first
            print(f"  {r.cls}: case {seed}:{r.index} ({f['kind']}, {f['phase']}) "
                  f"{f['message'].splitlines()[0][:100] if f['message'] else ''}", flush=True)
        n = sum(counts.values())
        if n % 50 == 0:
            print(f"[{time.monotonic() - start:6.0f} s] {n} cases: "
                  + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())), flush=True)

    results, stats = run_cases(seed, indices, jobs=a.jobs, timeout=a.timeout,
                               hip_every=a.hip_every, deadline=deadline, progress=progress)
    print(f"\n{len(results)} cases in {stats['wall']:.0f} s, workers' CPU time "
          f"{stats['cpu']:.0f} s (seed {seed}; HIP compiled for {sum(r.hip for r in results)} "
          "of them)\n")
    print(report.table(results))
    print(report.coverage(results))
    print(report.describe(results, a.show, a.source))
    print(report.refusals(results))
    if a.out:
        paths = report.write(results, a.out)
        print(f"\nwrote {len(paths) - 1} failing cases and {paths[-1]}")
    return 1 if any(r.cls in report.FAILURES for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
