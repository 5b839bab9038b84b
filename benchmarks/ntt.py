"""Forward NTT of length 2**20 on PoCL for BabyBear and Goldilocks: Vortex against a vectorized
numpy NTT, in one run.

Usage: ``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/ntt.py [--log 20]
[--rounds 5]``

Rows per field:
  Vortex           vortex.lib.ntt.ntt_pipeline (Stockham order: natural order in and out, no
                   bit-reversal pass) scheduled by schedule_stages with 256-work-item groups:
                   a butterfly pair per work item (the product once, both points written);
                   BabyBear radix 4 (two stages per pass where rows have >= 16 pairs),
                   Goldilocks radix 2 (its inlined products are too large to lower); device
                   time of all launches (``kernel.time``).
  numpy            the same radix-2 NTT vectorized over each stage: uint64 arithmetic for
                   BabyBear (exact: p < 2**32); Python ints in object arrays for Goldilocks
                   (p ≈ 2**64: uint64 products would overflow), so that peer is slow by nature;
                   the bit-reversal permutation and the twiddles precomputed, untimed.
After the Vortex row, the share of its time per kind of launch, measured per launch from the
OpenCL profiling events of one run (the events ``kernel.time`` sums; medians over ``--rounds``
runs): ``passes (long rows)`` (stages whose rows have >= 16 pairs: a thread per pair, loads
and stores in runs), ``passes (short rows)`` (the last stages: a work item per row),
``twiddle tables`` (the last stages' tables) and ``output`` (the copy into ``y``).
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


RADIX = {"BabyBear": 4, "Goldilocks": 2}


def schedule(pipe, radix: int) -> vx.Schedule:
    s = vx.Schedule(pipe)
    ntt.schedule_stages(s, ntt.NTT.find(pipe), 256, radix)
    s["y"].split("i", "io", "ii", 256).gpu_blocks("io").gpu_threads("ii")
    return s


def launch_kind(entry: str, log: int) -> str:
    """The kind of a launch by its kernel's name (``ntt_s<k>_kernel``, ``ntt_w<k>_kernel``,
    ``y_kernel``)."""
    if entry.startswith("ntt_w"):
        return "twiddle tables"
    if entry.startswith("y_"):
        return "output"
    stage = int(entry[len("ntt_s"):].split("_")[0])
    long_rows = 1 << (log - 1 - stage) >= ntt.RUN
    return "passes (long rows)" if long_rows else "passes (short rows)"


def launch_ms(kernel, rounds: int, **inputs) -> list[tuple[str, float]]:
    """(kernel entry, median device ms) per launch of one run, from the OpenCL profiling
    events of the runtime's own launch path (the events ``kernel.time`` sums): one warm-up
    run, then ``rounds`` runs."""
    exe = kernel._exe
    binding = kernel._bind(inputs)
    bufs = exe._buffers(binding, {})
    entries = [launch.entry for launch in exe.kernel_source.launches]
    exe._enqueue(binding, bufs)
    exe.queue.finish()
    samples = []
    for _ in range(rounds):
        events = exe._enqueue(binding, bufs)
        exe.queue.finish()
        assert len(events) == len(entries)
        samples.append([(e.profile.end - e.profile.start) * 1e-6 for e in events])
    return list(zip(entries, np.median(np.array(samples), axis=0).tolist()))


def shares(per_launch, log: int) -> str:
    """``kind share%`` of the summed per-launch times, largest first."""
    total = sum(ms for _, ms in per_launch)
    kinds: dict = {}
    for entry, ms in per_launch:
        kind = launch_kind(entry, log)
        kinds[kind] = kinds.get(kind, 0.0) + ms
    return ", ".join(f"{k} {v / total:.0%} ({v:.2f} ms)"
                     for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]))


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
        t0 = time.perf_counter()
        kernel = vx.compile(pipe, schedule(pipe, RADIX[F.name]), target="opencl")
        build = time.perf_counter() - t0
        got = kernel(x=x, w=w)
        assert np.array_equal(got.astype(object), want.astype(object)), F.name
        ms = kernel.time(warmup=1, repeat=args.rounds, x=x, w=w)
        per_launch = shares(launch_ms(kernel, args.rounds, x=x, w=w), args.log)
        print(f"{F.name:10} Vortex (radix {RADIX[F.name]})       {ms:9.2f} ms  "
              f"(lowered+built in {build:.1f} s)")
        print(f"{'':10}   per launch: {per_launch}")
        print(f"{F.name:10} numpy ({np.dtype(dtype).name:6})          {numpy_ms:9.2f} ms"
              f"{'' if dtype is np.uint64 else ' (one run)'}")
        print(f"{F.name:10} speed-up vs numpy {numpy_ms / ms:7.2f}x (goal 10x)")


if __name__ == "__main__":
    main()
