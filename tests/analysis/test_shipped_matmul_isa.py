"""Acceptance 1 of issue 11 on the shipped GPU matmul schedules, compiled offline: the hot loop
(8×8 micro-tile per thread: 64 multiply-adds per k step) issues at least 4 multiply-adds per
shared-load instruction — 8 A values as 32-bit loads, each thread's 8 adjacent B values as two
128-bit loads — with no local-memory spills, in strict and fast math; the divisible version's
staged copies are 16 bytes. The figures each schedule file records are written by
``python benchmarks/isa_report.py --record`` into its ``[measured.isa]`` table."""
from pathlib import Path

import compilers
import pytest

import vortex as vx
from vortex.examples import load_example
from vortex.isa.model import LOCAL, OpClass

ROOT = Path(__file__).resolve().parents[2]
CASES = [("nvidia-h100", "cuda", "sm_90"), ("nvidia-a100", "cuda", "sm_80"),
         ("amd-mi300x", "hip", "gfx90a")]


@pytest.mark.parametrize("fast_math", [False, True], ids=["strict", "fast_math"])
@pytest.mark.parametrize("name,target,arch", CASES, ids=[c[0] for c in CASES])
def test_hot_loop_figures(name, target, arch, fast_math):
    compilers.need_isa(target)
    pipe = load_example(str(ROOT / "examples" / "matmul.py")).pipeline()
    kern = vx.compile(pipe, schedule=str(ROOT / "schedules" / "matmul" / f"{name}.toml"),
                      target=target, arch=arch, fast_math=fast_math)
    rep = kern.analysis().isa
    if rep.missing:
        pytest.skip(rep.missing)
    (k,) = list(rep)
    inner = k.inner
    assert inner.mix.multiply_adds % 64 == 0 and inner.mix.multiply_adds >= 64
    assert inner.mix.ratios()["multiply_adds_per_shared_load"] >= 4.0
    assert k.mix.count(*LOCAL) == 0
    if target == "cuda":
        assert inner.mix.widths(OpClass.SHARED_LOAD) == {4: 8, 16: 2}
        assert 16 in k.mix.widths(OpClass.ASYNC_COPY)


@pytest.mark.parametrize("name,target,arch", CASES, ids=[c[0] for c in CASES])
def test_each_file_records_the_figures_it_reaches(name, target, arch):
    """``[measured.isa]`` of each file is what ``benchmarks/isa_report.py --record`` computes
    now (rerun it after a change to the lowering or the file)."""
    compilers.need_isa(target)
    import importlib.util
    spec = importlib.util.spec_from_file_location("isa_report",
                                                  ROOT / "benchmarks" / "isa_report.py")
    report = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(report)
    pipe = load_example(str(ROOT / "examples" / "matmul.py")).pipeline()
    path = ROOT / "schedules" / "matmul" / f"{name}.toml"
    recorded = vx.Schedule.load(path, pipe).meta["measured"]["isa"]
    kernels = report.compile_modes(pipe, f"{name}.toml", target, arch)
    assert recorded == report.record(arch, kernels)
