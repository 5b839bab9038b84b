"""Build (check) time of a 20-stage stencil chain: every algorithm check, including symbolic
bounds inference, runs once in ``vx.Pipeline(...)``. Target: median < 1 s.

Usage: ``python benchmarks/check_time.py [n_stages] [runs]``. Prints the cold first build (empty
prover caches) and the median of ``runs`` builds, in seconds.
"""
import statistics
import sys
import time
from pathlib import Path

import vortex as vx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from pipelines import stencil_chain_output  # noqa: E402  the chain tests/algorithm checks


def build_seconds(n_stages: int) -> float:
    out = stencil_chain_output(n_stages)
    t0 = time.perf_counter()
    vx.Pipeline(out)
    return time.perf_counter() - t0


def main():
    n_stages = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    times = [build_seconds(n_stages) for _ in range(runs)]
    print(f"{'stages':>6} {'runs':>4} {'cold s':>8} {'median s':>9} {'target s':>8}")
    print(f"{n_stages:>6} {runs:>4} {times[0]:>8.4f} {statistics.median(times):>9.4f} {1.0:>8.1f}")


if __name__ == "__main__":
    main()
