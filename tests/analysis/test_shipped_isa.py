"""The shipped GPU schedules' machine code, compiled offline (NVRTC sm_90/sm_80, hiprtc gfx90a).

Acceptance 1 of issue 11 on the matmul files: the hot loop (8×8 micro-tile per thread: 64
multiply-adds per k step) issues at least 4 multiply-adds per shared-load instruction — 8 A
values as 32-bit loads, each thread's 8 adjacent B values as two 128-bit loads — with no
local-memory spills, in strict and fast math; every async copy is 16 bytes (``LDGSTS.E.128``:
the divisible version's, and the general version's under ``K % 4 == 0 && N % 4 == 0``, edge
chunks zero-filled; other strides load synchronously, vortex/lower/vector_copy.py). Every file
of ``benchmarks/isa_report.py``'s FILES (matmul, blur, unsharp, softmax, rmsnorm on H100, A100,
MI300X) has no local-memory instruction, and records in its
``[measured.isa]`` table exactly the figures the report computes now: a change to the lowering
or to a file that moves them fails here until ``python benchmarks/isa_report.py --record``
rewrites every file.
"""
import importlib.util
from pathlib import Path

import compilers
import pytest

from vortex.isa.model import LOCAL, OpClass

ROOT = Path(__file__).resolve().parents[2]


def _report():
    spec = importlib.util.spec_from_file_location("isa_report",
                                                  ROOT / "benchmarks" / "isa_report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


report = _report()

MATMUL = [dev for pipe, dev in report.FILES if pipe == "matmul"]
_KERNELS: dict = {}


def compiled(pipe: str, dev: str) -> dict:
    """``{mode: kernel}`` of one file (compiled once per test session), skipping when the
    target's compiler or disassembler is absent."""
    compilers.need_isa(report.DEVICES[dev][0])
    if (pipe, dev) not in _KERNELS:
        _KERNELS[pipe, dev] = report.compile_modes(report.pipeline(pipe), dev)
    kernels = _KERNELS[pipe, dev]
    missing = next(iter(kernels.values())).analysis().isa.missing
    if missing:
        pytest.skip(missing)
    return kernels


@pytest.mark.parametrize("mode", [m for m, _ in report.MODES])
@pytest.mark.parametrize("dev", MATMUL)
def test_matmul_hot_loop_figures(dev, mode):
    kern = compiled("matmul", dev)[mode]
    (k,) = list(kern.analysis().isa)
    inner = k.inner
    assert inner.mix.multiply_adds % 64 == 0 and inner.mix.multiply_adds >= 64
    assert inner.mix.ratios()["multiply_adds_per_shared_load"] >= 4.0
    assert k.mix.count(*LOCAL) == 0
    if report.DEVICES[dev][0] == "cuda":
        assert inner.mix.widths(OpClass.SHARED_LOAD) == {4: 8, 16: 2}
        copies = k.mix.widths(OpClass.ASYNC_COPY)
        assert list(copies) == [16] and copies[16] > 0       # no 4-byte LDGSTS.E


def _id(case):
    return "/".join(case)


@pytest.mark.parametrize("pipe,dev", report.FILES, ids=map(_id, report.FILES))
def test_no_local_memory(pipe, dev):
    """No spill and no stack array in any kernel of any file, in either math mode (a sliding
    window or micro-tile indexed at run time would live in local memory)."""
    for mode, kern in compiled(pipe, dev).items():
        for k in kern.analysis().isa:
            assert k.mix.count(*LOCAL) == 0, (mode, k.name)


@pytest.mark.parametrize("pipe,dev", report.FILES, ids=map(_id, report.FILES))
def test_each_file_records_the_figures_it_reaches(pipe, dev):
    """``[measured.isa]`` of each file equals what ``benchmarks/isa_report.py`` computes now."""
    kernels = compiled(pipe, dev)
    now = report.record(pipe, dev, kernels)
    have = report.recorded(report.pipeline(pipe), dev)
    assert have == now, (
        f"schedules/{pipe}/{dev}.toml records other instruction-level figures than its "
        f"kernels reach now (the lowering or the file changed). If the change is intended, "
        f"rerun `{report.RERUN}` (it rewrites every file's [measured.isa]) and commit the "
        f"files.\nrecorded: {have}\nnow:      {now}")
