"""OpenCL without cl_khr_fp16 (PoCL): a float32 value rounded to float16 and read back as
float32 (``vx.cast(vx.float32, vx.cast(vx.float16, x))``: an mma operand of the instruction's
input type computed in float32, as attention's probabilities) prints as ``vx_round_half``
(vstore_half_rte into a ushort, vload_half), so it needs no half arithmetic; the result is
numpy's ``astype(float16)`` bit for bit: ties to even, subnormals, overflow to inf, NaN."""
import numpy as np

import vortex as vx


def round_trip() -> vx.Pipeline:
    N = vx.Dim("N")
    x = vx.Input("x", vx.float32, (N,))
    i = vx.Var("i")
    out = vx.Func("out", shape=(N,))
    out[i] = vx.cast(vx.float32, vx.cast(vx.float16, x[i] * np.float32(1)))
    return vx.Pipeline(out)


def test_rounds_as_numpy_without_half_arithmetic(opencl_device):
    pipe = round_trip()
    s = vx.Schedule(pipe)
    s["out"].split("i", "io", "ii", 32).gpu_blocks("io").gpu_threads("ii")
    src = vx.source(pipe, s, target="opencl")
    assert "vx_round_half(" in src and "cl_khr_fp16" not in src
    k = vx.compile(pipe, schedule=s, target="opencl", device=opencl_device)
    special = np.array([1 + 2 ** -11, 1 + 3 * 2 ** -11, 2 ** -24 * 1.5, 2 ** -25, 2 ** -26,
                        6e-5, 65504, 65520, 1e6, -0.0, np.inf, -np.inf, np.nan], np.float32)
    x = np.concatenate([special, np.random.default_rng(0).standard_normal(37, np.float32)])
    with np.errstate(over="ignore"):
        want = x.astype(np.float16).astype(np.float32)
    np.testing.assert_array_equal(k(x=x), want)


def test_a_vectorized_loop_keeps_the_helper_and_needs_no_extension(opencl_device):
    """The rounding of a value that does not vary with the vector lane, inside a vectorized
    loop (attention's probability times an 8-wide row of V): the source enables no
    cl_khr_fp16 (the half operand is never printed on its own) and PoCL runs it."""
    N, M = vx.dims("N M")
    x = vx.Input("x", vx.float32, (N,))
    v = vx.Input("v", vx.float16, (N, M))
    i, j = vx.vars("i j")
    out = vx.Func("out", shape=(N, M))
    out[i, j] = vx.cast(vx.float32, vx.cast(vx.float16, vx.exp(x[i]))) * \
        vx.cast(vx.float32, v[i, j])
    pipe = vx.Pipeline(out)
    s = vx.Schedule(pipe)
    s["out"].split("i", "io", "ii", 4).gpu_blocks("io").gpu_threads("ii").vectorize("j", 8)
    src = vx.source(pipe, s, target="opencl")
    assert "vx_round_half(exp(" in src and "cl_khr_fp16" not in src
    k = vx.compile(pipe, schedule=s, target="opencl", device=opencl_device)
    rng = np.random.default_rng(2)
    args = {"x": rng.standard_normal(13, np.float32),
            "v": rng.standard_normal((13, 19)).astype(np.float16)}
    np.testing.assert_array_equal(k(**args), pipe.reference(**args))
