"""The ``jam`` pass (vortex/lower/jam.py): unrolled copies that each sweep the same reduction
loop become one loop carrying every copy's accumulator. Numbers on PoCL against
``pipe.reference`` at awkward sizes (exactly for integers: jamming keeps each accumulator's
order); the lowered IR has one reduction loop per jammed run; copies that depend on each other,
or whose loops differ, are left as they are."""
import numpy as np
import pytest

import vortex as vx
from vortex.algorithm import dtypes as T
from vortex.algorithm.construct import binary
from vortex.algorithm.expr import BinaryOp
from vortex.lower.driver import lower
from vortex.lower.ir import (Assign, Block, BufferLoad, Declare, For, ForKind, Kernel, Ref,
                             Store, i32)
from vortex.lower.jam import jam_kernel
from vortex.lower.walk import stmts

LANES = 32


def lane_sums(dtype):
    """``part[r, l]`` = Σ_k x[r, k·LANES + l]², read by ``out[r, c] = x[r, c] * part[r, c % LANES]``."""
    R, C = vx.dims("R C")
    r, c, lane = vx.vars("r c l")
    x = vx.Input("x", dtype, (R, C))
    k = vx.RDom(C // LANES, name="k")
    part = vx.Func("part")
    part[r, lane] = vx.sum(x[r, k * LANES + lane] * x[r, k * LANES + lane])
    out = vx.Func("out", shape=(R, C))
    out[r, c] = x[r, c] * part[r, c % LANES]
    return vx.Pipeline(out)


def schedule(pipe, width: int, at: bool):
    s = vx.Schedule(pipe)
    s["out"].gpu_blocks("r")
    h = s["part"].compute_at("out", "r") if at else s["part"].compute_root().gpu_blocks("r")
    h.split("l", "lo", "li", width).unroll("lo")
    if width > 1:
        h.vectorize("li")
    return s


def reduction_loops(kernel) -> list:
    return [f for f in stmts(kernel.body) if isinstance(f, For) and f.kind is ForKind.SERIAL
            and f.var.startswith("k")]


@pytest.mark.parametrize("at", [False, True], ids=["root", "compute_at"])
@pytest.mark.parametrize("width", [1, 4, 8])
@pytest.mark.parametrize("dtype", [vx.int32, vx.float32], ids=["int32", "float32"])
def test_jammed_lane_sums_match_reference(opencl_device, dtype, width, at):
    pipe = lane_sums(dtype)
    s = schedule(pipe, width, at)
    lowered = lower(pipe, s)
    part_kernel = next(k for k in lowered.kernels if any(
        isinstance(x, Store) and x.buffer.startswith("part") for x in stmts(k.body)))
    assert len(reduction_loops(part_kernel)) == 1          # LANES / width copies, one loop
    kernel = vx.compile(pipe, s, target="opencl", device=opencl_device)
    rng = np.random.default_rng(width)
    for rows, cols in ((1, 1), (3, 31), (2, 32), (5, 97), (2, 1024)):
        if dtype is vx.int32:
            x = rng.integers(-30, 30, (rows, cols), dtype=np.int32)
            np.testing.assert_array_equal(kernel(x=x), pipe.reference(x=x))
        else:
            x = rng.standard_normal((rows, cols)).astype(np.float32)
            np.testing.assert_allclose(kernel(x=x), pipe.reference(x=x), rtol=1e-5, atol=1e-5)


def test_the_shipped_rmsnorm_sums_its_lanes_in_one_sweep():
    from pathlib import Path
    from vortex.examples import load_example
    root = Path(__file__).resolve().parents[2]
    pipe = load_example(root / "examples" / "rmsnorm.py").pipeline()
    s = vx.Schedule.load(root / "schedules" / "rmsnorm" / "pocl-cpu.toml", pipe)
    (kernel,) = lower(pipe, s).kernels
    loops = reduction_loops(kernel)
    assert len(loops) == 1
    assert len([a for a in stmts(loops[0].body) if isinstance(a, Assign)]) == 4


# --- what is not jammed --------------------------------------------------------------------
I32 = T.int32


def _copy(u: int, extent, reads: str, writes: str):
    """One unrolled copy: acc.u = 0; for k.u in [0, extent): acc.u += reads[k.u]; writes[u] = acc.u."""
    acc, k = f"acc.u{u}", f"k.u{u}"
    loop = For(k, i32(0), extent, ForKind.SERIAL, Assign(acc, binary(
        BinaryOp.ADD, Ref(acc, I32), BufferLoad(reads, Ref(k, I32), I32))))
    return (Declare(acc, I32, i32(0)), loop, Store(writes, i32(u), Ref(acc, I32)))


def _kernel(*copies):
    return Kernel("k", (), Block(tuple(s for c in copies for s in c)), (1, 1, 1), (1, 1, 1))


def test_independent_copies_are_jammed():
    k = jam_kernel(_kernel(_copy(0, i32(8), "a", "out"), _copy(1, i32(8), "a", "out")))
    loops = [f for f in stmts(k.body) if isinstance(f, For)]
    assert len(loops) == 1 and len(loops[0].body.stmts) == 2


@pytest.mark.parametrize("copies", [
    (_copy(0, i32(8), "a", "a"), _copy(1, i32(8), "a", "out")),      # the next copy reads a store
    (_copy(0, i32(8), "a", "out"), _copy(1, i32(9), "a", "out")),     # different trip counts
], ids=["dependent", "different-bounds"])
def test_dependent_or_different_copies_stay(copies):
    before = _kernel(*copies)
    assert jam_kernel(before) == before
