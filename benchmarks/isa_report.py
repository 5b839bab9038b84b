"""Instruction-level figures of the shipped GPU matmul schedules, compiled offline (no GPU).

    python benchmarks/isa_report.py            # H100 (sm_90), A100 (sm_80), MI300X (gfx90a)
    python benchmarks/isa_report.py --full     # also the whole table of vortex.isa per kernel
    python benchmarks/isa_report.py --record   # write the figures into each file's [measured.isa]

For each schedule file, in strict math (the default, --fmad=false: FMUL + FADD) and fast math
(FFMA): FMA/FMUL instructions, shared loads and async copies by width, FMAs (or multiply-adds)
per shared-load instruction and spills, for the whole kernel and its hot innermost loop. Static
counts from the disassembly (vortex.isa); acceptance 1 of issue 11 reads these.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import vortex as vx
from vortex.examples import load_example
from vortex.isa.model import LOCAL, SHARED_LOADS, OpClass

ROOT = Path(__file__).resolve().parent.parent
CASES = (("nvidia-h100.toml", "cuda", "sm_90"), ("nvidia-a100.toml", "cuda", "sm_80"),
         ("amd-mi300x.toml", "hip", "gfx90a"))


def _widths(mix, *classes) -> str:
    by = {}
    for c in classes:
        for w, n in mix.widths(c).items():
            by[w] = by.get(w, 0) + n
    return " ".join(f"{w}B:{n}" for w, n in sorted(by.items())) or "0"


def _row(label: str, mix) -> str:
    r = mix.ratios()
    fma = r["fma_per_shared_load"]
    madd = r["multiply_adds_per_shared_load"]
    return (f"  {label:10} {mix.count(OpClass.FMA):>5} {mix.count(OpClass.MUL):>5} "
            f"{mix.count(OpClass.ADD):>5}  {_widths(mix, *SHARED_LOADS):>14}  "
            f"{_widths(mix, OpClass.ASYNC_COPY):>10}  "
            f"{'-' if fma is None else f'{fma:.2f}':>7} {'-' if madd is None else f'{madd:.2f}':>7}"
            f"  {mix.count(*LOCAL):>6}")


def figures(kern) -> dict:
    """What a schedule file records of one compiled kernel (``[measured.isa]``): the hot loop's
    multiply-adds per shared-load instruction and shared-load widths, the whole kernel's
    async-copy widths and local-memory instructions (bytes as TOML keys: ``"16"``)."""
    (k,) = list(kern.analysis().isa)
    r = k.inner.mix.ratios()["multiply_adds_per_shared_load"]
    keyed = lambda widths: {str(w): n for w, n in widths.items()}
    return {"multiply_adds_per_shared_load": round(r, 2),
            "hot_loop_shared_loads": keyed(k.inner.mix.widths(OpClass.SHARED_LOAD)),
            "async_copies": keyed(k.mix.widths(OpClass.ASYNC_COPY)),
            "local_memory_instructions": k.mix.count(*LOCAL)}


MODES = (("strict", False), ("fast_math", True))


def compile_modes(pipe, name: str, target: str, arch: str) -> dict:
    """``{mode: kernel}`` of one schedule file in strict and fast math."""
    path = str(ROOT / "schedules" / "matmul" / name)
    return {mode: vx.compile(pipe, schedule=path, target=target, arch=arch, fast_math=fast)
            for mode, fast in MODES}


def record(arch: str, kernels: dict) -> dict:
    """The ``[measured.isa]`` table of one schedule file: its arch and, per math mode
    (``kernels`` from :func:`compile_modes`), :func:`figures`."""
    return {"arch": arch, "tool": "benchmarks/isa_report.py",
            **{mode: figures(k) for mode, k in kernels.items()}}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--full", action="store_true", help="print vortex.isa's table too")
    p.add_argument("--record", action="store_true",
                   help="write each file's figures into its [measured.isa] table")
    args = p.parse_args(argv)
    pipe = load_example(str(ROOT / "examples" / "matmul.py")).pipeline()
    print(f"  {'':10} {'FFMA':>5} {'FMUL':>5} {'FADD':>5}  {'shared loads':>14}  "
          f"{'async cp':>10}  {'FMA/LDS':>7} {'MAD/LDS':>7}  {'spills':>6}")
    for name, target, arch in CASES:
        kernels = compile_modes(pipe, name, target, arch)
        for mode, kern in kernels.items():
            rep = kern.analysis().isa
            print(f"{name} {arch} {mode}:")
            if rep.missing:
                print(f"  {rep.missing}")
                continue
            for k in rep:
                print(_row("kernel", k.mix))
                if k.inner:
                    print(_row("inner loop", k.inner.mix))
            res = next(iter(kern.resources.values()), {})
            print(f"  compiler: {res.get('registers')} registers, spill stores "
                  f"{res.get('spill_stores', res.get('vgpr_spills'))}")
            if args.full:
                print(rep)
        if args.record:
            path = ROOT / "schedules" / "matmul" / name
            sched = vx.Schedule.load(path, pipe)
            sched.meta.setdefault("measured", {})["isa"] = record(arch, kernels)
            sched.save(path)
            print(f"  recorded in {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
