"""GPU loops stay loops until the ``gpu offload`` pass (issue 10 item 3): after ``realize`` a
kernel's GPU-bound loops are ``For`` loops of kind GPU_BLOCK / GPU_THREAD with their hardware
axis; after ``gpu offload`` none is left, each is a local bound to its index; a printer given a
GPU loop refuses it."""
from pathlib import Path

import pytest

import vortex as vx
from vortex.codegen import generate
from vortex.examples import load_example
from vortex.lower import driver
from vortex.lower.check import InvariantError
from vortex.lower.ir import (Block, Declare, For, ForKind, GpuAxis, GpuIndex, If, Kernel, Ref,
                             Store, i32)
from vortex.lower.offload import offload
from vortex.lower.passes import Program, run_passes
from vortex.lower.walk import stmts

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def blur():
    pipe = load_example(EXAMPLES / "blur.py").pipeline()
    s = vx.Schedule(pipe)
    s["blur"].gpu_tile("y", "x", "yo", "xo", "yi", "xi", 8, 16).gpu_blocks("c")
    return pipe, s


def until(name):
    names = [p.name for p in driver.PASSES]
    return driver.PASSES[:names.index(name) + 1]


def gpu_loops(k) -> dict:
    return {s.var: (s.kind, s.axis) for s in stmts(k.body) if isinstance(s, For) and s.kind.is_gpu}


def test_gpu_loops_are_loops_until_offload():
    pipe, s = blur()
    prog = run_passes(Program(pipe, s), until("cse"))
    (k,) = prog.kernels
    assert gpu_loops(k) == {"c": (ForKind.GPU_BLOCK, GpuAxis.BLOCK_Z),
                            "yo": (ForKind.GPU_BLOCK, GpuAxis.BLOCK_Y),
                            "xo": (ForKind.GPU_BLOCK, GpuAxis.BLOCK_X),
                            "yi": (ForKind.GPU_THREAD, GpuAxis.THREAD_Y),
                            "xi": (ForKind.GPU_THREAD, GpuAxis.THREAD_X)}
    (k,) = run_passes(prog, until("gpu offload")[-1:]).kernels
    assert gpu_loops(k) == {}
    bound = {d.name: d.value.axis for d in stmts(k.body)
             if isinstance(d, Declare) and isinstance(d.value, GpuIndex)}
    assert bound == {"c": GpuAxis.BLOCK_Z, "yo": GpuAxis.BLOCK_Y, "xo": GpuAxis.BLOCK_X,
                     "yi": GpuAxis.THREAD_Y, "xi": GpuAxis.THREAD_X}


def test_the_ir_dump_names_gpu_loops(tmp_path, monkeypatch):
    from vortex.lower.ir_text import kernel_text
    pipe, s = blur()
    (k,) = run_passes(Program(pipe, s), until("realize")).kernels
    text = kernel_text(k)
    assert "for c in [0, C) gpu_block block_z:" in text
    assert "for xi in [0, 16) gpu_thread thread_x:" in text


def test_a_printer_refuses_a_gpu_loop(monkeypatch):
    pipe, s = blur()
    monkeypatch.setattr(driver, "PASSES", [p for p in driver.PASSES if p.name != "gpu offload"])
    with pytest.raises(InvariantError, match=r"a GPU_BLOCK loop 'c' reached the printer: the "
                       r"lowering's 'gpu offload' pass turns GPU loops into indices"):
        generate(driver.lower(pipe, s), "opencl")


def test_a_thread_loop_shorter_than_the_block_is_guarded():
    body = For("t", i32(0), i32(12), ForKind.GPU_THREAD, Store("out", Ref("t", vx.int32), i32(1)),
               GpuAxis.THREAD_X)
    k = offload(Kernel("k", (), body, (1, 1, 1), (16, 1, 1)))
    assert isinstance(k.body, Block)
    decl, guard = k.body.stmts
    assert decl.name == "t" and decl.value.axis is GpuAxis.THREAD_X
    assert isinstance(guard, If) and "12" in str(guard.cond)
    full = offload(Kernel("k", (), body, (1, 1, 1), (12, 1, 1)))
    assert not any(isinstance(x, If) for x in stmts(full.body))
