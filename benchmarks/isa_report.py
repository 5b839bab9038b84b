"""Instruction-level figures of the shipped GPU matmul schedules, compiled offline (no GPU).

    python benchmarks/isa_report.py            # H100 (sm_90), A100 (sm_80), MI300X (gfx90a)
    python benchmarks/isa_report.py --full     # also the whole table of vortex.isa per kernel

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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--full", action="store_true", help="print vortex.isa's table too")
    args = p.parse_args(argv)
    pipe = load_example(str(ROOT / "examples" / "matmul.py")).pipeline()
    print(f"  {'':10} {'FFMA':>5} {'FMUL':>5} {'FADD':>5}  {'shared loads':>14}  "
          f"{'async cp':>10}  {'FMA/LDS':>7} {'MAD/LDS':>7}  {'spills':>6}")
    for name, target, arch in CASES:
        for fast in (False, True):
            kern = vx.compile(pipe, schedule=str(ROOT / "schedules" / "matmul" / name),
                              target=target, arch=arch, fast_math=fast)
            rep = kern.analysis().isa
            print(f"{name} {arch} {'fast_math' if fast else 'strict'}:")
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
