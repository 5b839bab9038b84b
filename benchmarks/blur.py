"""5×5 separable binomial blur of one 2048×2048 float32 image: Vortex and its peers, in one run.

Usage: ``python benchmarks/blur.py [--size 2048] [--repeat 20]``; needs ``pip install -e .[bench]``
(Halide from PyPI). A peer that cannot run here prints the reason in its row instead of a time.

Every output is checked against numpy (max |error| < 1e-5) before it is timed. Rows:
  Vortex      examples/blur.py + schedules/blur/pocl-cpu.toml. First row: median of the OpenCL
              profiling events of one run (``kernel.time``); "+transfers" is the wall time of
              ``kernel(img=numpy_array)``. Second row: wall time of one call on arrays already
              on the device (launch overhead included, no copies).
  numpy       examples/blur.py ``numpy_version`` (np.pad edge + weighted slices), wall time.
  Halide CPU  the same algorithm, JIT-compiled once; wall time of ``realize`` into a preallocated
              Buffer.
  Halide OCL  the same algorithm, gpu_tile schedule, on the same PoCL device; input copied once;
              wall time of ``realize`` + ``device_sync``; "+transfers" re-uploads and reads back.
Times are medians of ``--repeat`` runs after 3 warm-up runs. GB/s counts compulsory traffic only
(the image read once, written once). "×Vortex" is a row's median over Vortex's device-timed median
(above 1: slower than Vortex).
"""
import argparse
import ctypes
import glob
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vortex.examples import load_example

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import check as check_against, machine, median_ms, reason, versions  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
example = load_example(ROOT / "examples" / "blur.py")    # the algorithm and the numpy peer
SCHEDULE = ROOT / "schedules" / "blur" / "pocl-cpu.toml"
TOLERANCE = 1e-5


@dataclass
class Row:
    name: str
    timed_by: str
    ms: float | None = None             # median milliseconds
    transfers_ms: float | None = None   # the same with host↔device copies, where that applies
    note: str = ""                      # why there is no time


def load_image(size: int) -> np.ndarray:
    """(1, size, size) float32 in [0, 1]: scikit-image's camera, bilinearly resized."""
    from skimage import data, transform
    cam = transform.resize(data.camera() / 255.0, (size, size), order=1, anti_aliasing=False)
    return np.ascontiguousarray(cam[None], dtype=np.float32)


def check(name: str, out: np.ndarray, ref: np.ndarray) -> None:
    """Print the max |error| of ``out`` against numpy; raise AssertionError above TOLERANCE."""
    check_against(name, out, ref, atol=TOLERANCE, width=16)


# ---- the peers ------------------------------------------------------------------------------
def bench_vortex(img, ref, repeat) -> list[Row]:
    import pyopencl.array as cla

    import vortex as vx
    from vortex.runtime.opencl_device import context_queue, select_device
    kernel = vx.compile(example.pipeline(), schedule=str(SCHEDULE), target="opencl")
    check("Vortex", kernel(img=img), ref)
    _, queue = context_queue(select_device())            # the queue Vortex launches on
    img_dev, out_dev = cla.to_device(queue, img), cla.empty(queue, img.shape, np.float32)
    resident = median_ms(lambda: kernel(img=img_dev, out={"blur": out_dev}), repeat)
    device = kernel.time(img=img, warmup=3, repeat=repeat)
    with_copies = median_ms(lambda: kernel(img=img), repeat)
    return [Row("Vortex (PoCL)", "device events", device, with_copies),
            Row("Vortex (PoCL)", "wall, on device", resident)]


def bench_numpy(img, ref, repeat) -> Row:
    return Row("numpy", "wall", median_ms(lambda: example.numpy_version(img), repeat))


def halide_blur(inp):
    """examples/blur.py's algorithm in Halide: (blur_x, blur_y, x, y); x is numpy's last axis."""
    import halide as hl
    x, y = hl.Var("x"), hl.Var("y")
    src = hl.BoundaryConditions.repeat_edge(inp)
    blur_x, blur_y = hl.Func("blur_x"), hl.Func("blur_y")
    blur_x[x, y] = sum(hl.f32(t) * src[x + d - 2, y] for d, t in enumerate(example.TAPS))
    blur_y[x, y] = sum(hl.f32(t) * blur_x[x, y + d - 2] for d, t in enumerate(example.TAPS))
    return blur_x, blur_y, x, y


def bench_halide_cpu(img, ref, repeat) -> Row:
    import halide as hl
    inp = hl.Buffer(img[0])
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
    """Halide's runtime looks up clGetPlatformIDs in the process, then dlopens "libOpenCL.so",
    which a pip-only setup lacks: pyopencl bundles its own ICD loader and loads it RTLD_LOCAL.
    Loading that loader RTLD_GLOBAL lets Halide see the platforms Vortex sees."""
    import pyopencl
    bundled = glob.glob(os.path.join(os.path.dirname(pyopencl.__file__), ".libs", "libOpenCL*"))
    for lib in bundled + ["libOpenCL.so.1", "libOpenCL.so"]:
        try:
            ctypes.CDLL(lib, mode=ctypes.RTLD_GLOBAL)
            return
        except OSError:
            continue


def bench_halide_opencl(img, ref, repeat, platform: str) -> Row:
    import halide as hl
    os.environ.setdefault("HL_OCL_PLATFORM_NAME", platform)  # first platform containing it
    os.environ.setdefault("HL_OCL_DEVICE_TYPE", "cpu")
    expose_opencl_to_halide()
    target = hl.get_jit_target_from_environment().with_feature(hl.TargetFeature.OpenCL)
    inp = hl.Buffer(img[0])
    blur_x, blur_y, x, y = halide_blur(inp)
    xo, yo, xi, yi = hl.Var("xo"), hl.Var("yo"), hl.Var("xi"), hl.Var("yi")
    blur_y.gpu_tile(x, y, xo, yo, xi, yi, 64, 4)            # the 4×64 blocks of pocl-cpu.toml
    blur_x.compute_root().gpu_tile(x, y, xo, yo, xi, yi, 64, 4)
    blur_y.compile_jit(target)
    out = hl.Buffer(hl.Float(32), [img.shape[2], img.shape[1]])
    blur_y.realize(out, target)        # the first OpenCL call: raises (not aborts) on failure;
    out.copy_to_host()                 # it leaves the input on the device, host copy clean
    check("Halide OpenCL", np.asarray(out), ref)

    def resident():
        blur_y.realize(out, target)
        out.device_sync()

    def with_copies():
        inp.set_host_dirty(True)
        blur_y.realize(out, target)
        out.copy_to_host()
    return Row("Halide OpenCL (PoCL)", "wall, on device", median_ms(resident, repeat),
               median_ms(with_copies, repeat))


# ---- report ---------------------------------------------------------------------------------
def header(size: int, repeat: int) -> tuple[str, str]:
    """The lines printed above the table, and the OpenCL platform name Vortex runs on."""
    from vortex.runtime.opencl_device import select_device
    dev = select_device()
    lines = [f"blur 5×5 separable, (1, {size}, {size}) float32, median of {repeat} runs",
             *machine(dev), versions(("vortex", "numpy", "halide", "pyopencl"))]
    return "\n".join(lines), dev.platform.name.strip()


def table(rows: list[Row], pixels: int) -> str:
    base = rows[0].ms
    lines = [f"{'implementation':<22}{'timed by':<17}{'median ms':>10}{'+transfers':>12}"
             f"{'MPix/s':>8}{'GB/s':>7}{'×Vortex':>9}"]
    for r in rows:
        if r.ms is None:
            lines.append(f"{r.name:<22}{'-':<17}n/a: {r.note}")
            continue
        copies = f"{r.transfers_ms:.2f}" if r.transfers_ms is not None else "-"
        ratio = f"{r.ms / base:.2f}" if base else "-"
        lines.append(f"{r.name:<22}{r.timed_by:<17}{r.ms:>10.2f}{copies:>12}"
                     f"{pixels / r.ms / 1e3:>8.0f}{8 * pixels / r.ms / 1e6:>7.1f}{ratio:>9}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=2048, help="image side in pixels")
    p.add_argument("--repeat", type=int, default=20, help="timed runs per row (median reported)")
    args = p.parse_args(argv)
    text, platform = header(args.size, args.repeat)
    print(text)
    img = load_image(args.size)
    ref = example.numpy_version(img)
    peers = {"Vortex (PoCL)": bench_vortex, "numpy": bench_numpy,
             "Halide CPU JIT": bench_halide_cpu,
             "Halide OpenCL (PoCL)": lambda *a: bench_halide_opencl(*a, platform=platform)}
    rows = []
    for name, bench in peers.items():
        try:
            result = bench(img, ref, args.repeat)
        except Exception as e:  # noqa: BLE001 - a peer that cannot run reports why; others go on
            result = Row(name, "-", note=reason(e, 80))
        rows.extend(result if isinstance(result, list) else [result])
    print(table(rows, args.size * args.size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
