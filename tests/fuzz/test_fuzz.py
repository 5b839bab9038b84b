"""The lowering fuzz test (issue 10, item 7), on a fixed seed.

200 random pipelines × random valid schedules (``fuzz/``: pointwise chains, stencils over every
boundary condition, inline reductions with ``where``, update definitions, multiple outputs,
int32/uint8/float32 and casts, strided and downsampled indices, Params; every schedule directive)
are run on PoCL against ``pipe.reference`` and compiled for CUDA sm_90 — and for HIP gfx90a for
the cases whose index is a multiple of ``HIP_EVERY`` (hiprtc takes ~0.5-1 s a kernel), i.e.
cases 0, 4, 8, … 196. 14 of the 200 are ``mma`` cases (fuzz/mma.py: a sum of products with
``where`` predicates on tensor cores, compiled for its vendor's target only; checked one by
one in test_fuzz_mma.py). Every case runs in a worker process, so a crash or a hang fails one
case.

Asserted: no wrong result, no non-Vortex exception, no crash, no hang (a phase of a case — a
compile, a run — over ``TIMEOUT`` s), no vx.CompileError from a target compiler on generated
source. A clean vx.*Error refusal is fine. The assertion message has each failing case as a
standalone script (paste it into a file and run it; it exits 0 once fixed), and
``python -m fuzz --seed ci --start I --cases 1`` reruns case I.

Time on the 2-core machine: 96 s when the test has it to itself (184 s of CPU in the workers),
302 s while other test runs shared it (load average ~5). With the mma cases: 66 s, workers' CPU
107 s (load average ~3), against 78 s and 98 s without them just before (load ~2.7). The
workers use fresh compile caches (cold NVRTC/hiprtc/PoCL), so a rerun is not faster.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # fuzz/ is at the repo root

from fuzz import report  # noqa: E402
from fuzz.run import run_cases  # noqa: E402

SEED, CASES, HIP_EVERY, TIMEOUT = "ci", 200, 4, 60


def test_fuzz_fixed_seed(opencl_device):
    results, stats = run_cases(SEED, range(CASES), jobs=max(2, os.cpu_count() or 1),
                               timeout=TIMEOUT, hip_every=HIP_EVERY)
    summary = (f"{len(results)} cases of seed {SEED!r} in {stats['wall']:.0f} s "
               f"(workers' CPU {stats['cpu']:.0f} s)\n" + report.table(results))
    print(summary)
    failing = [r for r in results if r.cls in report.FAILURES]
    details = "\n\n".join(report.header(r, r.first) + r.snippet for r in failing)
    assert not failing, (f"{summary}\n\n{report.describe(results, per_class=10**6)}\n\n"
                         f"failing cases as standalone scripts:\n\n{details}")
