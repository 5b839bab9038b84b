"""Forward NTT of length 2**20 on PoCL for BabyBear and Goldilocks: Vortex against a vectorized
numpy NTT, in one run.

Usage: ``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/ntt.py [--log 20]
[--rounds 5] [--fused 8]``

Rows per field (vortex.lib.ntt.ntt_pipeline: bit reversal + log N butterfly stages, one Func
each, twiddles an Input):
  Vortex fused     the bit reversal and the first ``--fused`` stages per tile of 2**fused
                   points in local memory (schedule_stages), the other stages global passes of
                   256-work-item groups; device time of all launches (``kernel.time``).
  Vortex global    every stage a global pass (fused = 0): its excess over "fused" is what the
                   fused stages save; ``global passes`` is the share of the fused run's time
                   spent outside its first (fused) kernel, estimated as (log N − fused) / log N
                   of the all-global run.
  numpy            the same radix-2 NTT vectorized over each stage: uint64 arithmetic for
                   BabyBear (exact: p < 2**32); Python ints in object arrays for Goldilocks
                   (p ≈ 2**64: uint64 products would overflow), so that peer is slow by nature;
                   the bit-reversal permutation and the twiddles precomputed, untimed.
Each output is checked against the numpy result before timing; medians over ``--rounds``.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

import vortex as vx
from vortex.examples import load_example
from vortex.lib import ntt
from vortex.lib.fields import BABYBEAR, GOLDILOCKS

EXAMPLE = load_example(str(Path(__file__).resolve().parents[1] / "examples" / "ntt.py"))


def tables(n: int, p: int, root: int, dtype) -> tuple:
    """(bit-reversal permutation, ω**k for k < n/2 in ``dtype``): precomputed, as the Vortex
    rows get their twiddle table as an input."""
    roots = [1] * (n // 2)
    for e in range(1, n // 2):
        roots[e] = roots[e - 1] * root % p
    return EXAMPLE.bit_reversal(n), np.array(roots, dtype=object).astype(dtype)


def numpy_ntt(x: np.ndarray, p: int, rev, roots, dtype) -> np.ndarray:
    """examples/ntt.py's vectorized NTT (sympy's convention) in ``dtype``, ``rev`` given."""
    return EXAMPLE.numpy_ntt(x, p, roots, dtype, rev)


def schedule(pipe, log: int, fused: int) -> vx.Schedule:
    funcs = {f.name: f for f in pipe.funcs}
    t = ntt.NTT(log, funcs["ntt_rev"], tuple(funcs[f"ntt_s{s}"] for s in range(log)),
                tuple(funcs[f"ntt_t{s}"] for s in range(1, log)), funcs[f"ntt_s{log - 1}"])
    s = vx.Schedule(pipe)
    ntt.schedule_stages(s, t, fused, 256)
    s["y"].split("i", "io", "ii", 256).gpu_blocks("io").gpu_threads("ii")
    return s


def median_ms(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return float(np.median(times))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--fused", type=int, default=8)
    args = ap.parse_args()
    print(f"load {os.getloadavg()[0]:.2f}; N = 2**{args.log}; OPENBLAS_CORETYPE "
          f"{os.environ.get('OPENBLAS_CORETYPE', 'unset')}")
    rng = np.random.default_rng(0)
    n = 1 << args.log
    for F, dtype in ((BABYBEAR, np.uint64), (GOLDILOCKS, object)):
        pipe = ntt.ntt_pipeline(F, args.log)
        x = rng.integers(0, F.p, n, dtype=np.uint64).astype(np.dtype(F.dtype.np))
        w = ntt.twiddles(F, args.log)
        rev, roots = tables(n, F.p, F.root_of_unity(n), dtype)
        x64 = x.astype(np.uint64)
        t0 = time.perf_counter()
        want = numpy_ntt(x64, F.p, rev, roots, dtype)
        numpy_ms = (time.perf_counter() - t0) * 1e3
        if dtype is np.uint64:
            numpy_ms = median_ms(lambda: numpy_ntt(x64, F.p, rev, roots, dtype), args.rounds)
        rows = {}
        for label, fused in (("fused", args.fused), ("global", 0)):
            t0 = time.perf_counter()
            kernel = vx.compile(pipe, schedule(pipe, args.log, fused), target="opencl")
            build = time.perf_counter() - t0
            got = kernel(x=x, w=w)
            assert np.array_equal(got.astype(object), want.astype(object)), f"{F.name} {label}"
            rows[label] = (kernel.time(warmup=1, repeat=args.rounds, x=x, w=w), build)
        fused_ms, all_global = rows["fused"][0], rows["global"][0]
        share = (args.log - args.fused) / args.log * all_global / fused_ms
        print(f"{F.name:10} Vortex fused ({args.fused} stages) {fused_ms:9.2f} ms  "
              f"(lowered+built in {rows['fused'][1]:.1f} s)")
        print(f"{F.name:10} Vortex global                 {all_global:9.2f} ms")
        print(f"{F.name:10} numpy ({np.dtype(dtype).name:6})                {numpy_ms:9.2f} ms"
              f"{'' if dtype is np.uint64 else ' (one run)'}")
        print(f"{F.name:10} speed-up vs numpy {numpy_ms / fused_ms:6.2f}x; global passes "
              f"≈ {min(share, 1):.0%} of the fused run")


if __name__ == "__main__":
    main()
