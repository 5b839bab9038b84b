"""float16 arrays in OpenCL local and private memory without ``cl_khr_fp16`` (PoCL here lacks
it; OpenCL C 1.2 allows ``half`` only behind pointers): the array holds the values' bits as
``ushort`` and every access goes through ``vload_half``/``vstore_half`` on a ``half*`` of its
address space (vortex/codegen/opencl_vector.py), so a staged float16 tile and a float16 Func
computed at a consumer's tile run on PoCL and equal ``pipe.reference`` exactly (the rounding to
half happens at the store, as in the reference)."""
import numpy as np
import pytest

import pipelines as P
import vortex as vx


def _quarters(rng, *shape):
    return (rng.integers(-8, 9, shape) / 4).astype(np.float16)


def test_staged_float16_tiles(opencl_device):
    pipe = P.matmul_f16()
    s = vx.Schedule(pipe)
    s["C"].tile("i", "j", "io", "jo", "ii", "ji", 16, 16).gpu_blocks("io", "jo") \
        .gpu_threads("ii", "ji").split("k", "ko", "ki", 8).reorder("ko", "ki") \
        .stage("A", at="ko").stage("B", at="ko")
    kernel = vx.compile(pipe, s, target="opencl", device=opencl_device)
    assert "__local ushort A_sh[" in kernel.source and "vload_half(" in kernel.source
    rng = np.random.default_rng(0)
    for m, n, q in ((1, 1, 1), (16, 16, 8), (37, 19, 13)):
        a, b = _quarters(rng, m, q), _quarters(rng, q, n)
        np.testing.assert_array_equal(kernel(A=a, B=b), pipe.reference(A=a, B=b))


@pytest.mark.parametrize("memory", ["shared", "register"])
def test_a_float16_func_computed_at_a_tile(opencl_device, memory):
    """``g`` rounds to float16 when stored: the consumer sees the rounded values."""
    H, W = vx.dims("H W")
    y, x = vx.vars("y x")
    img = vx.Input("img", vx.float32, (H, W))
    g = vx.Func("g")
    g[y, x] = vx.cast(vx.float16, img[y, x] * 1.1)
    out = vx.Func("out", shape=(H, W))
    out[y, x] = vx.cast(vx.float32, g[y, x]) * 3
    pipe = vx.Pipeline(out)
    s = vx.Schedule(pipe)
    s["out"].tile("y", "x", "yo", "xo", "yi", "xi", 4, 8).gpu_blocks("yo", "xo")
    if memory == "shared":
        s["out"].gpu_threads("yi", "xi")
        s["g"].compute_at("out", "xo")
    else:
        s["g"].compute_at("out", "xo").store_in("register")
    kernel = vx.compile(pipe, s, target="opencl", device=opencl_device)
    assert "ushort g_" in kernel.source
    rng = np.random.default_rng(1)
    for h, w in ((1, 1), (5, 13), (8, 16)):
        im = rng.standard_normal((h, w)).astype(np.float32)
        np.testing.assert_array_equal(kernel(img=im), pipe.reference(img=im))
