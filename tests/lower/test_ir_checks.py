"""The IR invariant checker (``VORTEX_DEBUG=1`` or ``check``): it runs after every lowering pass
over every lowered test schedule and passes, and it rejects hand-made malformed kernels. The IR
dump (``VORTEX_DEBUG=ir``, ``VORTEX_DUMP_IR``) writes the IR after every pass."""
import pytest

import pipelines as P
import vortex as vx
from vortex.algorithm import dtypes as T
from vortex.algorithm.construct import binary
from vortex.algorithm.expr import BinaryOp, Dim
from vortex.lower import driver, lower, passes
from vortex.lower.check import InvariantError, check_kernel
from vortex.lower.ir import (Allocate, Assign, Barrier, Block, Declare, For, ForKind, GpuAxis,
                             GpuIndex, If, Kernel, KernelParam, MemorySpace, Ref, Store, i32)

from .cases import CASES

I32 = T.int32


@pytest.fixture
def checked(monkeypatch):
    """VORTEX_DEBUG=1, and {pass: [kernels the checker saw after it]}."""
    seen = {}

    def spy(k, known=(), after=None):
        seen.setdefault(after, []).append(k.name)
        check_kernel(k, known, after)
    monkeypatch.setenv("VORTEX_DEBUG", "1")
    monkeypatch.setattr(passes, "check_kernel", spy)
    return seen


def _after_every_pass(checked, low):
    names = [k.name for k in low.kernels]
    made = [p.name for p in driver.PASSES][1:]          # every pass from the one making kernels
    assert list(checked) == made and all(checked[p] == names for p in made)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_every_case_passes_the_checker(case, checked):
    pipe = P.pipe(case.pipeline)
    _after_every_pass(checked, lower(pipe, case.build(pipe)))


@pytest.mark.parametrize("name", sorted(P.BUILDERS))
def test_default_schedules_pass_the_checker(name, checked):
    pipe = P.pipe(name)
    _after_every_pass(checked, lower(pipe, vx.Schedule.default(pipe)))


def test_no_check_without_debug(monkeypatch):
    seen = []
    monkeypatch.delenv("VORTEX_DEBUG", raising=False)
    monkeypatch.setattr(passes, "check_kernel", lambda *a, **k: seen.append(a))
    lower(P.pipe("scale"), vx.Schedule(P.pipe("scale")))
    assert seen == []


def test_ir_dump_after_every_pass(monkeypatch, tmp_path):
    """VORTEX_DEBUG=ir with VORTEX_DUMP_IR=DIR writes DIR/<pipeline>/NN-<pass>.txt after each
    pass that has kernels, headed by the pass's guarantee."""
    monkeypatch.setenv("VORTEX_DEBUG", "ir")
    monkeypatch.setenv("VORTEX_DUMP_IR", str(tmp_path))
    pipe = P.pipe("blur")
    lower(pipe, next(c for c in CASES if c.id == "compute_at").build(pipe))
    files = sorted(p.name for p in (tmp_path / "blur").iterdir())
    assert files == [f"{n:02d}-{p.name.replace(' ', '-')}.txt"
                     for n, p in enumerate(driver.PASSES, 1)][1:]
    text = (tmp_path / "blur" / files[-1]).read_text()
    assert text.startswith(f"# after pass {len(driver.PASSES):02d} parameters: each kernel's "
                           "arguments")
    assert "kernel blur_kernel" in text and "params: img (buffer float32)" in text
    assert "barrier" in text and "allocate blur_x" in text


# --- hand-made kernels ---------------------------------------------------------------------------
def kernel(*body) -> Kernel:
    params = (KernelParam("out", I32, True, writable=True), KernelParam("N", I32, False))
    one = (i32(1), i32(1), i32(1))
    return Kernel("hand_kernel", params, Block(tuple(body)), one, (64, 1, 1))


def tid():
    return GpuIndex(GpuAxis.THREAD_X)


def test_well_formed_kernel_passes():
    check_kernel(kernel(
        Allocate("tile", I32, 64, MemorySpace.SHARED),
        Store("tile", tid(), tid()),
        If(binary(BinaryOp.GT, Dim("N"), i32(0)), Barrier()),   # uniform: sizes only
        For("i", i32(0), Dim("N"), ForKind.SERIAL, Block((
            Declare("t", I32, Ref("i", I32)),
            Assign("t", binary(BinaryOp.ADD, Ref("t", I32), i32(1))),
            Store("out", Ref("t", I32), Ref("i", I32)))))))


@pytest.mark.parametrize("body, message", [
    ((For("i", i32(0), i32(4), ForKind.SERIAL, Declare("t", I32, Ref("i", I32))),
      Store("out", Ref("t", I32), i32(0))), "'t' used outside its scope"),
    ((Store("out", Ref("i", I32), i32(0)),), "'i' used outside its scope"),
    ((If(binary(BinaryOp.LT, tid(), i32(4)), Barrier()),), "barrier under a condition"),
    ((If(binary(BinaryOp.LT, tid(), i32(4)), Block((Store("out", tid(), i32(1)),
                                                     If(binary(BinaryOp.GT, Dim("N"), i32(0)),
                                                        Barrier()))),),),
     "barrier under a condition"),
    ((Store("nowhere", i32(0), i32(1)),), "store to unknown buffer 'nowhere'"),
    ((Assign("acc", i32(1)),), "assignment to undeclared 'acc'"),
], ids=["ref-after-loop", "undeclared-ref", "divergent-barrier", "nested-divergent-barrier",
        "unknown-buffer", "undeclared-assign"])
def test_malformed_kernel_raises(body, message):
    with pytest.raises(InvariantError, match=message):
        check_kernel(kernel(*body))


def test_malformed_lowering_is_caught_by_debug_mode(monkeypatch):
    """A lowering bug (here: a barrier moved under a thread-dependent If) is reported by
    lower() itself under VORTEX_DEBUG=1, naming the pass after which it appeared."""
    monkeypatch.setenv("VORTEX_DEBUG", "1")
    real = driver.simplify_stmt

    def broken(s):
        s = real(s)
        return If(binary(BinaryOp.LT, tid(), i32(1)), s)
    monkeypatch.setattr(driver, "simplify_stmt", broken)
    pipe = P.pipe("blur")
    with pytest.raises(InvariantError, match=r"\(after pass 'simplify'\): barrier under a "
                                             "condition"):
        lower(pipe, next(c for c in CASES if c.id == "compute_at").build(pipe))


def test_architecture_doc_lists_every_pass_with_its_guarantee():
    from pathlib import Path
    doc = (Path(__file__).resolve().parents[2] / "docs" / "architecture.md").read_text()
    flat = " ".join(doc.split())
    for n, p in enumerate(driver.PASSES, 1):
        assert f"{n}. `{p.name}`: {p.guarantee}" in flat
