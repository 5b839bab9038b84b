"""Instruction-level figures of the shipped GPU schedules, compiled offline (no GPU).

    python benchmarks/isa_report.py            # every file of FILES: H100 (sm_90), A100 (sm_80),
                                               # MI300X (gfx90a) of matmul, blur, unsharp, softmax,
                                               # rmsnorm, batched_matmul, fused_linear,
                                               # half_gemm (tensor cores)
    python benchmarks/isa_report.py matmul     # only these pipelines
    python benchmarks/isa_report.py --full     # also the whole table of vortex.isa per kernel
    python benchmarks/isa_report.py --record   # write the figures into each file's [measured.isa]

For each schedule file, in strict math (the default, --fmad=false: FMUL + FADD) and fast math
(FFMA), per kernel: math instructions, shared loads, async copies and global loads/stores by
width, multiply-adds per shared-load instruction, math operations per global-load instruction
and local-memory instructions, for the whole kernel and its hot innermost loop. Static counts
from the disassembly (vortex.isa); acceptance 1 of issue 11 reads the matmul ones.

What a file records (``[measured.isa]``) depends on what bounds its kernels (FIGURES): the
matmul GEMM hot loop is bound by shared-load instructions (multiply-adds per shared load, their
widths, 16-byte async copies); the stencils and row reductions are memory-bound streams (load
and store widths, math per global load, shared loads by width). FILES is the one list of the
files the report covers and ``--record`` rewrites; tests/analysis/test_shipped_isa.py checks
that each file's table is what this computes now.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import vortex as vx
from vortex.examples import load_example
from vortex.isa.model import LOCAL, MATH, SHARED_LOADS, OpClass

ROOT = Path(__file__).resolve().parent.parent
# Device file name -> (target, arch). MI300X's gfx942 is beyond this hiprtc (ROCm 5.2): the AMD
# files are compiled for gfx90a (MI200), as in tests/examples/test_schedules.py.
DEVICES = {"nvidia-h100": ("cuda", "sm_90"), "nvidia-a100": ("cuda", "sm_80"),
           "amd-mi300x": ("hip", "gfx90a")}
PIPELINES = ("matmul", "blur", "unsharp", "softmax", "rmsnorm", "batched_matmul", "fused_linear",
             "half_gemm")
FILES = tuple((pipe, dev) for pipe in PIPELINES for dev in DEVICES)   # schedules/<pipe>/<dev>.toml
MODES = (("strict", False), ("fast_math", True))
RERUN = "python benchmarks/isa_report.py --record"


def path_of(pipe: str, dev: str) -> Path:
    return ROOT / "schedules" / pipe / f"{dev}.toml"


def _keyed(widths: dict) -> dict:
    """``{bytes: n}`` with the bytes as TOML keys (``"16"``)."""
    return {str(w): n for w, n in widths.items()}


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 2) if b else None


def _widths(mix, *classes) -> str:
    by = {}
    for c in classes:
        for w, n in mix.widths(c).items():
            by[w] = by.get(w, 0) + n
    return " ".join(f"{w}B:{n}" for w, n in sorted(by.items())) or "0"


def gemm_figures(kern) -> dict:
    """A GEMM file's figures (one kernel): the hot loop's multiply-adds per shared-load
    instruction and shared-load widths, the whole kernel's async-copy widths and local-memory
    instructions."""
    (k,) = list(kern.analysis().isa)
    r = k.inner.mix.ratios()["multiply_adds_per_shared_load"]
    return {"multiply_adds_per_shared_load": round(r, 2),
            "hot_loop_shared_loads": _keyed(k.inner.mix.widths(OpClass.SHARED_LOAD)),
            "async_copies": _keyed(k.mix.widths(OpClass.ASYNC_COPY)),
            "local_memory_instructions": k.mix.count(*LOCAL)}


def _stream_mix(mix) -> dict:
    """Load/store widths and math per global load of one stretch of code (keys with no value,
    such as a ratio over no loads, are left out: TOML has no null)."""
    out = {"global_loads": _keyed(mix.widths(OpClass.GLOBAL_LOAD)),
           "global_stores": _keyed(mix.widths(OpClass.GLOBAL_STORE)),
           "shared_loads": _keyed(mix.widths(OpClass.SHARED_LOAD)),
           "math_per_global_load": _ratio(mix.ops(*MATH), mix.count(OpClass.GLOBAL_LOAD))}
    return {k: v for k, v in out.items() if v not in (None, {})}


def stream_figures(kern) -> dict:
    """A memory-bound file's figures, per kernel entry (sorted): the whole kernel's global
    load/store and shared-load widths, math operations per global-load instruction and
    local-memory instructions; the same for its hot innermost loop (``hot_loop``) when it has
    one (a kernel whose loops are all unrolled has none)."""
    out = {}
    for k in sorted(kern.analysis().isa, key=lambda k: k.name):
        fig = _stream_mix(k.mix) | {"local_memory_instructions": k.mix.count(*LOCAL)}
        if k.inner is not None:
            fig["hot_loop"] = _stream_mix(k.inner.mix)
        out[k.name] = fig
    return out


def tensor_figures(kern) -> dict:
    """A tensor-core file's figures (one kernel): matrix instructions in the whole kernel and
    in its hot loop, the hot loop's ldmatrix instructions (LDSM) and global and shared loads by
    width (ldmatrix not included), the whole kernel's async-copy widths, local-memory
    instructions."""
    (k,) = list(kern.analysis().isa)
    out = {"tensor_ops": k.mix.ops(OpClass.TENSOR),
           "hot_loop_tensor_ops": k.inner.mix.ops(OpClass.TENSOR),
           "hot_loop_ldmatrix": k.inner.mix.count(OpClass.LDMATRIX),
           "hot_loop_global_loads": _keyed(k.inner.mix.widths(OpClass.GLOBAL_LOAD)),
           "hot_loop_shared_loads": _keyed(k.inner.mix.widths(OpClass.SHARED_LOAD)),
           "async_copies": _keyed(k.mix.widths(OpClass.ASYNC_COPY)),
           "local_memory_instructions": k.mix.count(*LOCAL)}
    return {key: v for key, v in out.items() if v != {}}   # TOML has no empty value


FIGURES = {"matmul": gemm_figures, "blur": stream_figures, "unsharp": stream_figures,
           "softmax": stream_figures, "rmsnorm": stream_figures,
           "batched_matmul": tensor_figures, "fused_linear": tensor_figures,
           "half_gemm": tensor_figures}


def pipeline(pipe: str) -> vx.Pipeline:
    return load_example(str(ROOT / "examples" / f"{pipe}.py")).pipeline()


def compile_modes(pipe: vx.Pipeline, dev: str) -> dict:
    """``{mode: kernel}`` of schedules/<pipe.name>/<dev>.toml in strict and fast math."""
    target, arch = DEVICES[dev]
    return {mode: vx.compile(pipe, schedule=str(path_of(pipe.name, dev)), target=target,
                             arch=arch, fast_math=fast)
            for mode, fast in MODES}


def record(pipe: str, dev: str, kernels: dict) -> dict:
    """The ``[measured.isa]`` table of one schedule file: its arch and, per math mode
    (``kernels`` from :func:`compile_modes`), the figures of FIGURES[pipe]."""
    return {"arch": DEVICES[dev][1], "tool": "benchmarks/isa_report.py",
            **{mode: FIGURES[pipe](k) for mode, k in kernels.items()}}


def recorded(pipe: vx.Pipeline, dev: str) -> dict | None:
    """The ``[measured.isa]`` table the file holds now (None without one)."""
    meta = vx.Schedule.load(path_of(pipe.name, dev), pipe).meta
    return meta.get("measured", {}).get("isa")


def write(pipe: vx.Pipeline, dev: str, table: dict) -> Path:
    """Replace the file's ``[measured.isa]`` with ``table`` (other measurements kept)."""
    path = path_of(pipe.name, dev)
    sched = vx.Schedule.load(path, pipe)
    sched.meta.setdefault("measured", {})["isa"] = table
    sched.save(path)
    return path


HEADER = (f"  {'':10} {'FFMA':>5} {'FMUL':>5} {'FADD':>5}  {'shared loads':>14}  {'async cp':>10}  "
          f"{'global loads':>16}  {'global stores':>16}  {'MAD/LDS':>7} {'math/LDG':>8}  "
          f"{'local':>5}")


def _row(label: str, mix) -> str:
    madd = mix.ratios()["multiply_adds_per_shared_load"]
    per_ldg = _ratio(mix.ops(*MATH), mix.count(OpClass.GLOBAL_LOAD))
    return (f"  {label:10} {mix.count(OpClass.FMA):>5} {mix.count(OpClass.MUL):>5} "
            f"{mix.count(OpClass.ADD):>5}  {_widths(mix, *SHARED_LOADS):>14}  "
            f"{_widths(mix, OpClass.ASYNC_COPY):>10}  {_widths(mix, OpClass.GLOBAL_LOAD):>16}  "
            f"{_widths(mix, OpClass.GLOBAL_STORE):>16}  "
            f"{'-' if madd is None else f'{madd:.2f}':>7} "
            f"{'-' if per_ldg is None else f'{per_ldg:.2f}':>8}  {mix.count(*LOCAL):>5}")


def show(label: str, kern, full: bool) -> bool:
    """Print one compiled file's figures; False when the disassembler is missing."""
    rep = kern.analysis().isa
    print(f"{label}:")
    if rep.missing:
        print(f"  {rep.missing}")
        return False
    for k in rep:
        print(f"  {k.name}")
        print(_row("kernel", k.mix))
        if k.inner:
            print(_row("hot loop", k.inner.mix))
    for entry, res in kern.resources.items():
        print(f"  {entry}: {res.get('registers')} registers, spill stores "
              f"{res.get('spill_stores', res.get('vgpr_spills'))}")
    if full:
        print(rep)
    return True


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("pipelines", nargs="*", metavar="PIPELINE",
                   help=f"only these ({', '.join(PIPELINES)}; default all)")
    p.add_argument("--full", action="store_true", help="print vortex.isa's table too")
    p.add_argument("--record", action="store_true",
                   help="write each file's figures into its [measured.isa] table")
    args = p.parse_args(argv)
    wanted = set(args.pipelines or PIPELINES)
    if wanted - set(PIPELINES):
        p.error(f"unknown pipeline(s) {sorted(wanted - set(PIPELINES))}: choose from {PIPELINES}")
    print(HEADER)
    pipes, missing = {}, 0
    for name, dev in FILES:
        if name not in wanted:
            continue
        pipe = pipes.setdefault(name, pipeline(name))
        kernels = compile_modes(pipe, dev)
        ok = all([show(f"{name}/{dev} {DEVICES[dev][1]} {mode}", k, args.full)
                  for mode, k in kernels.items()])
        if args.record and ok:
            path = write(pipe, dev, record(name, dev, kernels))
            print(f"  recorded in {path.relative_to(ROOT)}")
        missing += not ok
    if args.record and missing:
        print(f"{missing} file(s) not recorded: their disassembler is missing", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
