"""Time of ``pipe.reference`` on update definitions (issue 12, acceptance 5): the PolyBench
natural forms of tests/examples/polybench_forms.py at N = 64 (jacobi-2d: 10 steps), each checked
against its loop-for-loop numpy transcription. Target: the 64×64 triangular solve over a 2-D RDom
(``trisolv_2d``) under 1 s.

Usage: ``python benchmarks/reference_updates.py [N]``. Prints seconds per kernel (one run each;
the reference is deterministic numpy work) and how the reference ran the update's loops.
"""
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "examples"))
import polybench_forms as P  # noqa: E402  the forms the tests check


def cases(n: int):
    rng = np.random.default_rng(0)
    lower = dict(L=(rng.standard_normal((n, n)) * 0.3 + 2 * np.eye(n)).astype(np.float32),
                 b=rng.standard_normal(n).astype(np.float32))
    m = rng.standard_normal((n, n)).astype(np.float32)
    spd = dict(a=(m @ m.T + n * np.eye(n)).astype(np.float32))
    dom = dict(a=(m + n * np.eye(n)).astype(np.float32))
    graph = dict(w=np.where(rng.random((n, n)) < 0.3, rng.integers(1, 10, (n, n)),
                            10 ** 6).astype(np.int32))
    grids = dict(a=m, b=m.T.copy(), T=10)
    return [("trisolv_2d", P.trisolv_2d(), lower, lambda: P.trisolv_2d_np(**lower)),
            ("trisolv (over=)", P.trisolv(over=True), lower, lambda: P.trisolv_np(**lower)),
            ("cholesky", P.cholesky(), spd, lambda: P.cholesky_np(**spd)),
            ("lu", P.lu(), dom, lambda: P.lu_np(**dom)),
            ("floyd_warshall", P.floyd_warshall(), graph, lambda: P.floyd_warshall_np(**graph)),
            ("jacobi_2d", P.jacobi_2d(), grids,
             lambda: P.jacobi_2d_np(grids["a"], grids["b"], 10)[0])]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 64
    print(f"{'kernel':<16} {'N':>4} {'reference s':>12} {'numpy loops s':>14} {'equal':>6}")
    for name, pipe, args, loops in cases(n):
        t0 = time.perf_counter()
        got = pipe.reference(**args)
        ref_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        want = loops()
        np_s = time.perf_counter() - t0
        got = got[-1] if name == "jacobi_2d" else got
        print(f"{name:<16} {n:>4} {ref_s:>12.3f} {np_s:>14.3f} {str(np.array_equal(got, want)):>6}")


if __name__ == "__main__":
    main()
