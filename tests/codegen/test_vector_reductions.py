"""An inline reduction inside a vectorized loop (OpenCL, codegen/opencl_vector.py): its RDom loop
stays a serial loop run once for all lanes, its accumulator an N-vector (``float8 …acc…``), so a
Func of per-lane partial reductions (``lane[r, l] = sum(x[r, k * L + l])``) is computed with
vector loads and vector arithmetic, at root or computed at a consumer's row. Loops whose bounds
vary with the lane (a tightened ``where(k <= l)``) and reductions whose update branches on a
lane-dependent test keep the scalar lane loop. Numbers on PoCL against ``pipe.reference`` at
awkward sizes; the vector form is checked in the printed source (argmax's "better" test
becomes a mask and lane selects)."""
import re

import numpy as np
import pytest

import vortex as vx

LANES = 8
OPS = {"sum": vx.sum, "max": vx.maximum, "min": vx.minimum, "argmax": vx.argmax}


def lane_pipeline(op: str, dtype):
    """``lane[r, l]`` = op over k of x[r, k * LANES + l] (the whole groups of a row), read by
    the output ``out[r, c] = x[r, c] + lane[r, c % LANES]``."""
    R, C = vx.dims("R C")
    r, c, lane = vx.vars("r c l")
    x = vx.Input("x", dtype, (R, C))
    k = vx.RDom(C // LANES, name="k")
    part = vx.Func("lane")
    red = OPS[op](x[r, k * LANES + lane])
    part[r, lane] = vx.cast(dtype, red)
    out = vx.Func("out", shape=(R, C))
    out[r, c] = x[r, c] + part[r, c % LANES]
    return vx.Pipeline(out)


def schedule(pipe, at: bool):
    s = vx.Schedule(pipe)
    s["out"].gpu_blocks("r")
    if at:
        s["lane"].compute_at("out", "r")
    else:
        s["lane"].compute_root().gpu_blocks("r")
    s["lane"].bound("l", 0, LANES).vectorize("l")
    return s


def _inputs(dtype, rows, cols, seed):
    rng = np.random.default_rng(seed)
    if dtype is vx.int32:
        return rng.integers(-50, 50, (rows, cols), dtype=np.int32)
    return rng.standard_normal((rows, cols)).astype(np.float32)


@pytest.mark.parametrize("at", [False, True], ids=["root", "compute_at"])
@pytest.mark.parametrize("dtype", [vx.float32, vx.int32], ids=["float32", "int32"])
@pytest.mark.parametrize("op", list(OPS))
def test_lane_reductions_match_reference(opencl_device, op, dtype, at):
    pipe = lane_pipeline(op, dtype)
    k = vx.compile(pipe, schedule(pipe, at), target="opencl", device=opencl_device)
    ctype = "float" if dtype is vx.float32 else "int"
    assert re.search(rf"\b{ctype}{LANES} \w*acc\w* = ", k.source), k.source
    for seed, (rows, cols) in enumerate(((1, 8), (3, 7), (2, 13), (5, 64), (3, 1003))):
        x = _inputs(dtype, rows, cols, seed)
        np.testing.assert_array_equal(k(x=x), pipe.reference(x=x), err_msg=f"{rows}x{cols}")


def test_lane_dependent_loop_bounds_stay_scalar(opencl_device):
    """``tri[l] = sum(x[k]) where k <= l``: the tightened loop ends at l, different per lane."""
    (N,) = vx.dims("N")
    i = vx.Var("i")
    x = vx.Input("x", vx.float32, (N,))
    k = vx.RDom(N, name="k")
    k.where(k <= i)
    tri = vx.Func("tri", shape=(N,))
    tri[i] = vx.sum(x[k])
    pipe = vx.Pipeline(tri)
    s = vx.Schedule(pipe)
    s["tri"].split("i", "io", "ii", 4).gpu_blocks("io").vectorize("ii")
    kern = vx.compile(pipe, s, target="opencl", device=opencl_device)
    assert not re.search(r"float4 \w*acc", kern.source)
    for n in (1, 4, 7, 37):
        x_ = np.random.default_rng(n).standard_normal(n).astype(np.float32)
        np.testing.assert_allclose(kern(x=x_), pipe.reference(x=x_), rtol=1e-5, atol=1e-5)
