"""The ``vortex`` command: ``vortex run`` an example, ``vortex info`` on the targets here."""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from . import errors
from .target import Target


def _median_ms(fn, repeat: int = 10, sample_s: float = 0.02) -> float:
    """Median wall time of one call of ``fn`` in ms: after warm-up calls, each of ``repeat``
    samples runs ``fn`` enough times to last about ``sample_s`` (timeit's autorange), so a
    sub-millisecond numpy call is not timed at the clock's resolution or at a thread pool's
    first wake-up."""
    for _ in range(3):
        fn()
    t0 = time.perf_counter()
    fn()
    once = time.perf_counter() - t0
    loops = max(1, int(sample_s / max(once, 1e-7)))
    times = []
    for _ in range(max(repeat, 5)):
        t0 = time.perf_counter()
        for _ in range(loops):
            fn()
        times.append((time.perf_counter() - t0) * 1e3 / loops)
    return statistics.median(times)


def _output_names(pipe) -> list:
    """One name per output array: a Tuple-valued output ``f`` gives ``f[0]``, ``f[1]``, …"""
    return [f.name if len(f.dtypes) == 1 else f"{f.name}[{i}]"
            for f in pipe.outputs for i in range(len(f.dtypes))]


def _verify(pipe, out, ref) -> int:
    outs, refs = (out, ref) if isinstance(out, tuple) else ((out,), (ref,))
    for o, r, name in zip(outs, refs, _output_names(pipe), strict=True):
        tol = 1e-4 if o.dtype.kind == "f" else 0
        if not np.allclose(o, r, rtol=tol, atol=tol):
            print(f"MISMATCH in {name!r}: max |error| = {np.max(np.abs(o - r))}", file=sys.stderr)
            return 1
        print(f"verified {name!r} {o.shape} {o.dtype} against pipe.reference")
    return 0


def cmd_run(args) -> int:
    import vortex as vx
    from .algorithm.binding import bind
    from .examples import load_example
    ex = load_example(args.example)
    pipe = ex.pipeline()
    inputs = ex.inputs(image=args.image)
    if args.dump_ir:
        from .lower.passes import DUMP_ENV
        os.environ[DUMP_ENV] = args.dump_ir
    sizes = bind(pipe, inputs).dims
    kernel = vx.compile(pipe, schedule=args.schedule or "auto", target=args.target,
                        arch=args.arch, shape=sizes)
    arch = f" ({kernel.arch})" if kernel.arch else ""
    print(f"pipeline {pipe.name!r} on {args.target}{arch}, schedule: {kernel.origin}")
    if args.show_source:
        print(kernel.source)
    if args.analyze:
        analysis = kernel.analysis(shape=sizes)   # traffic in bytes at the inputs' sizes
        print(analysis)
        print(analysis.isa)
    out = kernel(**inputs)
    if _verify(pipe, out, pipe.reference(**inputs)):
        return 1
    ms = kernel.time(**inputs, repeat=args.repeat)
    line = f"kernel time: {ms:.3f} ms (median of {args.repeat}, device-timed)"
    if hasattr(ex, "numpy_version"):
        np_ms = _median_ms(lambda: ex.numpy_version(**inputs), args.repeat)
        line += f"; numpy: {np_ms:.3f} ms; speed-up vs numpy: {np_ms / ms:.2f}x"
    print(line)
    if hasattr(ex, "save"):
        path = Path(args.out or Path("out") / f"{pipe.name}.png")
        path.parent.mkdir(parents=True, exist_ok=True)
        ex.save(out, path)
        print(f"wrote {path}")
    return 0


def cmd_export(args) -> int:
    import vortex as vx
    from .examples import load_example
    pipe = load_example(args.example).pipeline()
    arch, note = vx.api.export_arch(args.target, args.arch)
    if arch:
        print(f"arch: {arch}" + (f" ({note})" if note else ""))
    for path in vx.export(pipe, schedule=args.schedule or "auto", target=args.target,
                          out_dir=args.out_dir, name=args.name, arch=args.arch):
        print(f"wrote {path}")
    return 0


def cmd_info(args) -> int:
    from .info import report
    print(report())
    return 0


TARGETS = [t.value for t in Target]
ARCH_HELP = ("GPU arch to compile CUDA/HIP for without a GPU (sm_90, sm_90a, gfx90a, …; "
             "`vortex info` lists them)")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="vortex", description="Vortex: GPU kernels the Halide way")
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="compile, verify, time and run an example file")
    r.add_argument("example", help="example .py file (see vortex.examples for the convention)")
    r.add_argument("--schedule", help="schedule .toml file (default: 'auto', the device's "
                   "schedule files by shape; see vortex.auto)")
    r.add_argument("--target", default="opencl", choices=TARGETS)
    r.add_argument("--arch", help=ARCH_HELP)
    r.add_argument("--show-source", action="store_true", help="print the generated kernel source")
    r.add_argument("--analyze", action="store_true",
                   help="print static facts per kernel: shared memory, bank conflicts, "
                   "coalescing, and the machine code's instruction mix (CUDA: nvdisasm, HIP: "
                   "llvm-objdump) per kernel and innermost loop")
    r.add_argument("--image", help="input image path (default: the example's own photograph)")
    r.add_argument("--out", help="output file (default: out/<pipeline>.png)")
    r.add_argument("--repeat", type=int, default=10, help="timed runs (median reported)")
    r.add_argument("--dump-ir", metavar="DIR", help="write the loop IR after every lowering "
                   "pass to DIR/<pipeline>/NN-<pass>.txt")
    r.set_defaults(fn=cmd_run)
    e = sub.add_parser("export", help="write the kernels + a host launcher to embed elsewhere")
    e.add_argument("example", help="example .py file")
    e.add_argument("--target", default="cuda", choices=TARGETS)
    e.add_argument("--arch", help=ARCH_HELP + "; CUDA default: sm_75, no cp.async")
    e.add_argument("--schedule", help="schedule .toml file (default: the schedule file of "
                   "--arch's representative device, else the default schedule)")
    e.add_argument("--out-dir", default="build", help="output folder (default: build/)")
    e.add_argument("--name", help="base name of the files and the launcher (default: pipeline)")
    e.set_defaults(fn=cmd_export)
    i = sub.add_parser("info", help="list the targets and devices usable on this machine")
    i.set_defaults(fn=cmd_info)
    args = p.parse_args(argv)
    try:
        return args.fn(args)
    except errors.VortexError as e:
        print(f"vortex: {type(e).__name__}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
