"""A row softmax and RMSNorm in the form a user writes first (``max``/``sum`` over the whole row
in one RDom), scheduled as one kernel per row block whose row reductions are split and bound to
the block's threads (cross-thread reductions: vortex/lower/cross_thread.py). Numbers on PoCL
against ``pipe.reference`` and numpy at awkward sizes (1 column, primes, fewer columns than
threads, a row longer than the block); NVRTC sm_90 and hiprtc gfx90a compiles reduce with
warp/wavefront shuffles in their machine code. Source of the schedule: Triton's row softmax
(``tl.max``/``tl.sum`` over a block of columns), Halide's ``gpu_lanes``."""
import re

import numpy as np
import pytest

import compilers
import vortex as vx

SHAPES = ((1, 1), (3, 7), (2, 64), (5, 131), (2, 1000), (1, 2053))
THREADS = (64, 128)


def softmax():
    R, C = vx.dims("R C")
    r, c = vx.vars("r c")
    x = vx.Input("x", vx.float32, (R, C))
    k = vx.RDom(C, name="k")
    mx, e, total = vx.Func("mx"), vx.Func("e"), vx.Func("total")
    y = vx.Func("y", shape=(R, C))
    mx[r] = vx.maximum(x[r, k])
    e[r, c] = vx.exp(x[r, c] - mx[r])
    total[r] = vx.sum(e[r, k])
    y[r, c] = e[r, c] / total[r]
    return vx.Pipeline(y), ("mx", "total")


def rmsnorm():
    R, C = vx.dims("R C")
    r, c = vx.vars("r c")
    x = vx.Input("x", vx.float32, (R, C))
    w = vx.Input("w", vx.float32, (C,))
    k = vx.RDom(C, name="k")
    inv = vx.Func("inv")
    inv[r] = 1 / vx.sqrt(vx.sum(x[r, k] * x[r, k]) / vx.cast(vx.float32, C) + 1e-6)
    y = vx.Func("y", shape=(R, C))
    y[r, c] = x[r, c] * inv[r] * w[c]
    return vx.Pipeline(y), ("inv",)


def numpy_softmax(x, **_):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def numpy_rmsnorm(x, w):
    return x / np.sqrt((x * x).mean(axis=1, keepdims=True) + np.float32(1e-6)) * w


CASES = {"softmax": (softmax, numpy_softmax), "rmsnorm": (rmsnorm, numpy_rmsnorm)}


def schedule(pipe, reductions, threads: int):
    """One block per row: the output's columns and each row reduction's RVar over the block's
    ``threads`` threads."""
    s = vx.Schedule(pipe)
    s["y"].gpu_blocks("r").split("c", "co", "ci", threads).gpu_threads("ci")
    for f in reductions:
        s[f].compute_at("y", "r").split("k", "ko", "ki", threads).gpu_threads("ki")
    return s


def inputs(name, shape):
    rng = np.random.default_rng(shape[0] * 7919 + shape[1])
    out = {"x": (rng.standard_normal(shape) * 3).astype(np.float32)}
    if name == "rmsnorm":
        out["w"] = rng.uniform(0.5, 1.5, shape[1]).astype(np.float32)
    return out


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("name", list(CASES))
def test_pocl_one_kernel_matches_reference_and_numpy(opencl_device, name, threads):
    build, numpy_version = CASES[name]
    pipe, reds = build()
    kernel = vx.compile(pipe, schedule(pipe, reds, threads), target="opencl",
                        device=opencl_device)
    assert len(kernel.lowered.kernels) == 1 and "barrier" in kernel.source
    for shape in SHAPES:
        args = inputs(name, shape)
        out = kernel(**args)
        np.testing.assert_allclose(out, pipe.reference(**args), rtol=2e-5, atol=1e-6,
                                   err_msg=str(shape))
        np.testing.assert_allclose(out, numpy_version(**args), rtol=2e-5, atol=1e-6,
                                   err_msg=str(shape))


@pytest.mark.parametrize("target", ["cuda", "hip"])
@pytest.mark.parametrize("name", list(CASES))
def test_offline_compiles_reduce_across_lanes(name, target):
    compilers.need_isa(target)
    pipe, reds = CASES[name][0]()
    arch = {"cuda": "sm_90", "hip": "gfx90a"}[target]
    kernel = vx.compile(pipe, schedule(pipe, reds, 128), target=target, arch=arch)
    if target == "cuda":
        from vortex.isa import sass
        text = sass.disassemble(kernel.binary, arch)
        # a 128-thread reduction: 5 butterfly steps in the warp, 2 across the 4 warps' partials
        assert len(re.findall(r"\bSHFL\.BFLY\b", text)) >= 7 * len(reds)
    else:
        from vortex.isa import amdgcn
        text = amdgcn.disassemble(kernel.binary, arch)
        assert "__shfl_xor(" in kernel.source
        assert re.search(r"ds_bpermute|ds_swizzle|_dpp|row_|quad_perm", text)
