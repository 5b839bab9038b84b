"""256-bin histogram of a 4096×4096 uint8 image on PoCL: Vortex against ``np.bincount``, in one run.

Usage: ``python benchmarks/histogram.py [--size 4096] [--rounds 20]``. Run it with
``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE`` as the other benchmarks (numpy's bincount uses
no BLAS, but the header reports it the same way).

The image is the luminance of scikit-image's astronaut (examples/histogram.py ``load_image``)
resized bilinearly to size × size: a real photo's skewed histogram, not uniform noise. Every
output is checked against ``np.bincount`` (exactly) before it is timed. Rows:
  Vortex (PoCL)     examples/histogram.py + schedules/histogram/pocl-cpu.toml (per-row partial
                    histograms by rfactor, merged over the rows). "device events": the summed
                    OpenCL profiling intervals of one run's launches (``kernel.time``), the image
                    already on the device; "wall, on device": one call on device arrays (launch
                    overhead included, no copies); "+transfers": ``kernel(lum=numpy_array)``.
  Vortex atomic()   the same algorithm with every pixel committed by an atomic add (rows on
                    work-groups, 256 columns per work-group as work-items): the other way to run
                    the update in parallel, measured to show why the shipped file uses rfactor.
  np.bincount       ``np.bincount(img.ravel(), minlength=256)``, wall time (single-threaded).
Rounds are interleaved (each round times every row once, after 3 warm-up calls of each), so a
busy machine slows all rows alike; the table gives each row's median over ``--rounds``.
MPix/s and GB/s count the image read once (1 byte per pixel). ×bincount is a row's median over
bincount's (below 1: faster than bincount).
"""
import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

import vortex as vx
from vortex.examples import load_example

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import check, load_avg, machine, versions, wall_ms  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
example = load_example(ROOT / "examples" / "histogram.py")
SCHEDULE = ROOT / "schedules" / "histogram" / "pocl-cpu.toml"
WARMUP = 3


def load_image(size: int) -> np.ndarray:
    """(size, size) uint8: the astronaut's luminance, bilinearly resized."""
    from skimage import transform
    lum = example.load_image()
    big = transform.resize(lum.astype(np.float64), (size, size), order=1, anti_aliasing=False,
                           preserve_range=True)
    return np.ascontiguousarray(np.rint(big), dtype=np.uint8)


def atomic_schedule(pipe) -> vx.Schedule:
    """Every pixel an atomic add: a work-group per row, its columns split over 256 work-items."""
    s = vx.Schedule(pipe)
    s["hist"].update(0).split("r_1", "xo", "xi", 256).gpu_blocks("r_0").gpu_threads("xi") \
        .atomic()
    return s


def vortex_rows(img, want) -> list:
    """(name, timed by, one-sample function) of the Vortex rows, outputs checked first."""
    import pyopencl.array as cla

    from vortex.runtime.opencl_device import context_queue, select_device
    pipe = example.pipeline()
    shipped = vx.compile(pipe, schedule=str(SCHEDULE), target="opencl")
    atomic = vx.compile(pipe, schedule=atomic_schedule(pipe), target="opencl")
    check("Vortex", shipped(lum=img), want, versus="np.bincount", digits=0)
    check("Vortex atomic()", atomic(lum=img), want, versus="np.bincount", digits=0)
    _, queue = context_queue(select_device())
    img_dev = cla.to_device(queue, img)
    out_dev = cla.empty(queue, (example.BINS,), np.int32)
    return [
        ("Vortex (PoCL)", "device events", lambda: shipped.time(lum=img_dev, warmup=0, repeat=1)),
        ("Vortex (PoCL)", "wall, on device",
         lambda: wall_ms(lambda: shipped(lum=img_dev, out={"hist": out_dev}))),
        ("Vortex (PoCL)", "wall, +transfers", lambda: wall_ms(lambda: shipped(lum=img))),
        ("Vortex atomic() (PoCL)", "device events",
         lambda: atomic.time(lum=img_dev, warmup=0, repeat=1)),
    ]


def measure(rows: list, rounds: int) -> list:
    """Each row's median ms over ``rounds`` interleaved rounds."""
    for _, _, sample in rows:
        for _ in range(WARMUP):
            sample()
    times = [[] for _ in rows]
    for _ in range(rounds):
        for ts, (_, _, sample) in zip(times, rows):
            ts.append(sample())
    return [statistics.median(ts) for ts in times]


def table(rows: list, medians: list, pixels: int, base: float) -> str:
    lines = [f"{'implementation':<24}{'timed by':<18}{'median ms':>10}{'MPix/s':>9}{'GB/s':>7}"
             f"{'×bincount':>11}"]
    for (name, timed_by, _), ms in zip(rows, medians):
        lines.append(f"{name:<24}{timed_by:<18}{ms:>10.2f}{pixels / ms / 1e3:>9.0f}"
                     f"{pixels / ms / 1e6:>7.2f}{ms / base:>11.2f}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=4096, help="image side in pixels")
    p.add_argument("--rounds", type=int, default=20, help="interleaved rounds (median reported)")
    args = p.parse_args(argv)
    from vortex.runtime.opencl_device import select_device
    print(f"histogram, 256 bins of a ({args.size}, {args.size}) uint8 image, median of "
          f"{args.rounds} interleaved rounds")
    print("\n".join([*machine(select_device()), versions(("vortex", "numpy", "pyopencl")),
                     load_avg("start")]))
    img = load_image(args.size)
    want = example.numpy_version(img)
    rows = vortex_rows(img, want)
    rows.append(("np.bincount", "wall",
                 lambda: wall_ms(lambda: np.bincount(img.ravel(), minlength=example.BINS))))
    medians = measure(rows, args.rounds)
    print(table(rows, medians, img.size, medians[-1]))
    ratio = medians[-1] / medians[0]
    verdict = "faster" if ratio > 1 else "not faster"
    print(f"Vortex (device events) is {ratio:.2f}× np.bincount's speed: {verdict} than "
          f"np.bincount (issue 12, acceptance 4: faster)")
    print(load_avg("end"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
