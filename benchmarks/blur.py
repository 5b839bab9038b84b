"""5×5 separable binomial blur of one 2048×2048 float32 image: Vortex against its peers, one run.

Usage: ``python benchmarks/blur.py [--size 2048] [--repeat 20]``. Needs ``pip install -e .[bench]``
(Halide from PyPI); a peer that cannot run prints its reason in its row instead of a time.

Rows (every output is checked against numpy, max |error| < 1e-5, before it is timed):
  Vortex      examples/blur.py with schedules/blur/pocl-cpu.toml; median of OpenCL profiling events
              (kernel.time); "+transfers" is the wall time of ``kernel(img=...)`` (copies included).
  numpy       examples/blur.numpy_version (np.pad edge + weighted slices), wall time.
  Halide CPU  the same algorithm, JIT-compiled once; wall time of ``realize`` into a preallocated Buffer.
  Halide OCL  the same algorithm with a gpu_tile schedule on the same PoCL device; input copied once,
              wall time of ``realize`` + ``device_sync``; "+transfers" re-uploads and reads back.
Medians of ``--repeat`` runs after 3 warm-up runs. GB/s counts the compulsory traffic only (one read,
one write of the image). "×Vortex" is a row's median over Vortex's device-timed median (>1: slower).
"""
import argparse
import ctypes
import datetime
import glob
import importlib.metadata
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))
import blur as example  # noqa: E402  (examples/blur.py: the algorithm and the numpy peer)

SCHEDULE = ROOT / "schedules" / "blur" / "pocl-cpu.toml"
TOLERANCE = 1e-5


@dataclass
class Row:
    name: str
    timed_by: str
    ms: float | None = None
    transfers_ms: float | None = None
    note: str = ""


def median_ms(fn, repeat: int, warmup: int = 3) -> float:
    """Median wall-clock milliseconds of ``fn()`` over ``repeat`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(samples)


def load_image(size: int) -> np.ndarray:
    """(1, size, size) float32 in [0, 1]: scikit-image's camera, bilinearly resized."""
    from skimage import data, transform
    cam = transform.resize(data.camera() / 255.0, (size, size), order=1, anti_aliasing=False)
    return np.ascontiguousarray(cam[None], dtype=np.float32)


def check(name: str, out: np.ndarray, ref: np.ndarray) -> None:
    err = float(np.max(np.abs(out.reshape(ref.shape) - ref)))
    print(f"  check {name:<22} max |error| vs numpy = {err:.2e}  {'ok' if err < TOLERANCE else 'FAIL'}")
    if not err < TOLERANCE:
        raise AssertionError(f"output differs from numpy (max |error| {err:.2e})")


# ---- the peers ------------------------------------------------------------------------------------
def bench_vortex(img, ref, repeat) -> Row:
    import vortex as vx
    kernel = vx.compile(example.pipeline(), schedule=str(SCHEDULE), target="opencl")
    check("Vortex", kernel(img=img), ref)
    return Row("Vortex (PoCL)", "device events", kernel.time(img=img, warmup=3, repeat=repeat),
               median_ms(lambda: kernel(img=img), repeat))


def bench_numpy(img, ref, repeat) -> Row:
    return Row("numpy", "wall", median_ms(lambda: example.numpy_version(img), repeat))


def halide_blur(inp):
    """The algorithm of examples/blur.py in Halide; returns (blur_x, blur_y, x, y)."""
    import halide as hl
    x, y = hl.Var("x"), hl.Var("y")
    src = hl.BoundaryConditions.repeat_edge(inp)
    blur_x, blur_y = hl.Func("blur_x"), hl.Func("blur_y")
    blur_x[x, y] = sum(hl.f32(t) * src[x + d - 2, y] for d, t in enumerate(example.TAPS))
    blur_y[x, y] = sum(hl.f32(t) * blur_x[x, y + d - 2] for d, t in enumerate(example.TAPS))
    return blur_x, blur_y, x, y


def bench_halide_cpu(img, ref, repeat) -> Row:
    import halide as hl
    inp = hl.Buffer(img[0])                      # Halide's x is numpy's last axis
    blur_x, blur_y, x, y = halide_blur(inp)
    yo, yi = hl.Var("yo"), hl.Var("yi")
    blur_y.split(y, yo, yi, 32).parallel(yo).vectorize(x, 8)
    blur_x.store_at(blur_y, yo).compute_at(blur_y, yi).vectorize(x, 8)
    target = hl.get_jit_target_from_environment()
    blur_y.compile_jit(target)
    out = hl.Buffer(hl.Float(32), [img.shape[2], img.shape[1]])
    blur_y.realize(out, target)
    check("Halide CPU", np.asarray(out), ref)
    return Row("Halide CPU JIT", "wall", median_ms(lambda: blur_y.realize(out, target), repeat))


def expose_opencl_to_halide() -> None:
    """Halide's runtime finds clGetPlatformIDs in the process or dlopens "libOpenCL.so", which a
    pip-only setup lacks (pyopencl bundles its ICD loader, loaded RTLD_LOCAL). Load that loader
    RTLD_GLOBAL so Halide sees the same platforms as Vortex."""
    import pyopencl
    libs = glob.glob(os.path.join(os.path.dirname(pyopencl.__file__), ".libs", "libOpenCL*"))
    for lib in libs + ["libOpenCL.so.1", "libOpenCL.so"]:
        try:
            ctypes.CDLL(lib, mode=ctypes.RTLD_GLOBAL)
            return
        except OSError:
            continue


def bench_halide_opencl(img, ref, repeat, platform: str) -> Row:
    import halide as hl
    os.environ.setdefault("HL_OCL_PLATFORM_NAME", platform)   # first platform containing it
    os.environ.setdefault("HL_OCL_DEVICE_TYPE", "cpu")
    expose_opencl_to_halide()
    target = hl.get_jit_target_from_environment().with_feature(hl.TargetFeature.OpenCL)
    inp = hl.Buffer(img[0])
    blur_x, blur_y, x, y = halide_blur(inp)
    xo, yo, xi, yi = hl.Var("xo"), hl.Var("yo"), hl.Var("xi"), hl.Var("yi")
    blur_y.gpu_tile(x, y, xo, yo, xi, yi, 64, 4)           # same 4×64 blocks as pocl-cpu.toml
    blur_x.compute_root().gpu_tile(x, y, xo, yo, xi, yi, 64, 4)
    blur_y.compile_jit(target)
    out = hl.Buffer(hl.Float(32), [img.shape[2], img.shape[1]])
    inp.copy_to_device(target)
    blur_y.realize(out, target)
    out.copy_to_host()
    check("Halide OpenCL", np.asarray(out), ref)

    def run():
        blur_y.realize(out, target)
        out.device_sync()

    def run_with_transfers():
        inp.set_host_dirty(True)
        blur_y.realize(out, target)
        out.copy_to_host()
    return Row("Halide OpenCL (PoCL)", "wall", median_ms(run, repeat),
               median_ms(run_with_transfers, repeat))


# ---- report ---------------------------------------------------------------------------------------
def header(args) -> tuple[str, str]:
    from vortex.runtime.opencl_device import describe, select_device
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), "unknown CPU")
    dev = select_device()

    def version(pkg):
        try:
            return importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"
    return "\n".join([
        f"blur 5×5 separable, (1, {args.size}, {args.size}) float32, median of {args.repeat}",
        f"date     {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"cpu      {cpu} ({os.cpu_count()} logical cores)",
        f"opencl   {describe(dev)} (driver {dev.driver_version.strip()}, {dev.version.strip()})",
        "versions " + ", ".join(f"{p} {version(p)}" for p in ("vortex", "numpy", "halide", "pyopencl")),
    ]), dev.platform.name.strip()


def table(rows, pixels: int) -> str:
    base = rows[0].ms
    lines = [f"{'implementation':<22}{'timed by':<15}{'median ms':>10}{'+transfers':>12}"
             f"{'MPix/s':>9}{'GB/s':>7}{'×Vortex':>9}"]
    for r in rows:
        if r.ms is None:
            lines.append(f"{r.name:<22}{r.timed_by:<15}  n/a: {r.note}")
            continue
        extra = f"{r.transfers_ms:.2f}" if r.transfers_ms is not None else "-"
        ratio = f"{r.ms / base:.2f}" if base else "-"
        lines.append(f"{r.name:<22}{r.timed_by:<15}{r.ms:>10.2f}{extra:>12}"
                     f"{pixels / r.ms / 1e3:>9.0f}{2 * 4 * pixels / r.ms / 1e6:>7.1f}{ratio:>9}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=2048, help="image side in pixels")
    p.add_argument("--repeat", type=int, default=20, help="timed runs per row (median reported)")
    args = p.parse_args(argv)
    text, platform = header(args)
    print(text)
    img = load_image(args.size)
    ref = example.numpy_version(img)
    peers = [("Vortex (PoCL)", bench_vortex), ("numpy", bench_numpy),
             ("Halide CPU JIT", bench_halide_cpu),
             ("Halide OpenCL (PoCL)", lambda *a: bench_halide_opencl(*a, platform=platform))]
    rows = []
    for name, bench in peers:
        try:
            rows.append(bench(img, ref, args.repeat))
        except Exception as e:  # a peer that cannot run here reports why, the others still run
            reason = f"{type(e).__name__}: {e}".strip().splitlines()[0][:90]
            rows.append(Row(name, "-", note=reason))
    print(table(rows, args.size * args.size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
