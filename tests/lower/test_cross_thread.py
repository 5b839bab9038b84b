"""Cross-thread reductions (vortex/lower/cross_thread.py, thread_reduce.py): an inline reduction
whose RVar loop is split and bound to a block's threads, as a root Func and computed at a
consumer's block loop. Numbers on PoCL (the shared-memory tree) and, for CUDA's warp shuffles,
CUDA sources run on the CPU with one host thread per GPU thread (threads_on_host.py; warp 32 and
a 64-lane wavefront), all against ``pipe.reference``; NVRTC sm_90 and hiprtc gfx90a compiles
with their shuffles in the machine code; one test per error message."""
import re
from dataclasses import replace

import numpy as np
import pytest

import compilers
import vortex as vx
import vortex.codegen as codegen
from vortex.codegen import generate
from vortex.lower.driver import lower

from lower.threads_on_host import run as run_threads

OPS = {"sum": vx.sum, "max": vx.maximum, "min": vx.minimum, "argmax": vx.argmax,
       "argmin": vx.argmin}
LENGTHS = (1, 2, 7, 13, 100, 1000, 1023)
THREADS = (32, 64, 128, 256, 48)          # 48: not a power of two (not a whole number of warps)
DTYPES = {"float32": vx.float32, "int32": vx.int32}


def reductions(dtype, at: bool):
    """Per op a Func ``<op>[r]`` reducing row r of x (R, K) over k; with ``at`` each is read by
    a consumer ``g_<op>[r, c] = x[r, c] + <op>[r]`` (the output), else it is the output."""
    R, K = vx.dims("R K")
    r, c = vx.vars("r c")
    x = vx.Input("x", DTYPES[dtype], (R, K))
    k = vx.RDom(K, name="k")
    reds, outs = {}, []
    for name, op in OPS.items():
        f = vx.Func(name, shape=None if at else (R,))
        f[r] = op(x[r, k])
        reds[name] = f
        if at:
            g = vx.Func(f"g_{name}", shape=(R, K))
            g[r, c] = x[r, c] + vx.cast(DTYPES[dtype], f[r])
            outs.append(g)
        else:
            outs.append(f)
    return vx.Pipeline(*outs), reds


def schedule(pipe, reds, threads: int, at: bool):
    s = vx.Schedule(pipe)
    for name, f in reds.items():
        if at:
            g = pipe.func(f"g_{name}")
            s[g].gpu_blocks("r").split("c", "co", "ci", threads).gpu_threads("ci")
            s[f].compute_at(g, "r")
        else:
            s[f].gpu_blocks("r")
        s[f].split("k", "ko", "ki", threads).gpu_threads("ki")
    return s


def row_data(dtype, rows, length, seed):
    rng = np.random.default_rng(seed)
    if dtype == "int32":        # few values: ties for argmax/argmin, exact sums
        return rng.integers(-5, 6, (rows, length)).astype(np.int32)
    return rng.standard_normal((rows, length)).astype(np.float32)


def assert_matches(pipe, outs, ref, dtype):
    """Each output of ``outs`` (a dict by name, or in output order) equals ``ref`` (in output
    order): exactly, except float sums, max and min (tree order: 1e-5)."""
    names = [o.name for o in pipe.outputs]
    outs = outs if isinstance(outs, dict) else dict(zip(names, outs))
    ref = dict(zip(names, ref))
    for name in names:
        got, want = np.asarray(outs[name]), np.asarray(ref[name])
        if dtype == "float32" and not name.endswith(("argmax", "argmin")):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5, err_msg=name)
        else:
            np.testing.assert_array_equal(got, want, err_msg=name)


@pytest.mark.parametrize("at", [False, True], ids=["root", "compute_at"])
@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_pocl_matches_reference(opencl_device, dtype, threads, at):
    pipe, reds = reductions(dtype, at)
    kernel = vx.compile(pipe, schedule=schedule(pipe, reds, threads, at), target="opencl",
                        device=opencl_device)
    assert "barrier" in kernel.source
    for length in LENGTHS:
        x = row_data(dtype, 3, length, length)
        out = kernel(x=x)
        assert_matches(pipe, out, pipe.reference(x=x), dtype)


@pytest.mark.parametrize("warp", [32, 64])
@pytest.mark.parametrize("at", [False, True], ids=["root", "compute_at"])
@pytest.mark.parametrize("threads", [32, 64, 256, 48])
@pytest.mark.parametrize("dtype", DTYPES)
def test_cuda_shuffles_on_host_threads_match_reference(monkeypatch, dtype, threads, at, warp):
    pipe, reds = reductions(dtype, at)
    dialect = replace(codegen.dialect_for(vx.Target.CUDA, "sm_90"), warp=warp)
    monkeypatch.setattr(codegen, "dialect_for", lambda target, arch=None: dialect)
    source = generate(lower(pipe, schedule(pipe, reds, threads, at)), "cuda", arch="sm_90")
    assert ("__shfl_xor_sync" in source.code) == (threads % warp == 0)   # else the tree
    for length in (1, 13, 1000):
        x = row_data(dtype, 2, length, length)
        out = run_threads(source, {"R": 2, "K": length}, {"x": x})
        assert_matches(pipe, out, pipe.reference(x=x), dtype)


def _softmax():
    R, C = vx.dims("R C")
    r, c = vx.vars("r c")
    x = vx.Input("x", vx.float32, (R, C))
    k = vx.RDom(C, name="k")
    mx, e, total, y = vx.Func("mx"), vx.Func("e"), vx.Func("total"), vx.Func("y", shape=(R, C))
    mx[r] = vx.maximum(x[r, k])
    e[r, c] = vx.exp(x[r, c] - mx[r])
    total[r] = vx.sum(e[r, k])
    y[r, c] = e[r, c] / total[r]
    pipe = vx.Pipeline(y)
    s = vx.Schedule(pipe)
    s[y].gpu_blocks("r").split("c", "co", "ci", 64).gpu_threads("ci")
    for f in (mx, total):
        s[f].compute_at(y, "r").split("k", "ko", "ki", 64).gpu_threads("ki")
    return pipe, s


@pytest.mark.parametrize("target", ["cuda", "hip"])
def test_offline_compiles_use_shuffles(target):
    """sm_90 SASS has SHFL.BFLY; gfx90a (wave64) has cross-lane moves (DPP or ds_swizzle /
    ds_bpermute) and no 32-wide-only pattern is assumed."""
    compilers.need_isa(target)
    pipe, s = _softmax()
    arch = {"cuda": "sm_90", "hip": "gfx90a"}[target]
    kernel = vx.compile(pipe, schedule=s, target=target, arch=arch)
    assert len(kernel.binary) > 0
    if target == "cuda":
        from vortex.isa import sass
        text = sass.disassemble(kernel.binary, arch)
        assert len(re.findall(r"\bSHFL\.BFLY\b", text)) >= 2 * 6    # 2 reductions, 64 lanes
    else:
        from vortex.isa import amdgcn
        text = amdgcn.disassemble(kernel.binary, arch)
        assert "__shfl_xor(" in kernel.source and ", 64)" in kernel.source
        assert re.search(r"ds_bpermute|ds_swizzle|_dpp|row_|quad_perm", text)


# --- errors ------------------------------------------------------------------------------------
def _row_sum():
    R, K = vx.dims("R K")
    r = vx.Var("r")
    x = vx.Input("x", vx.float32, (R, K))
    k = vx.RDom(K, name="k")
    f = vx.Func("f", shape=(R,))
    f[r] = vx.sum(x[r, k])
    return vx.Pipeline(f), f


def test_error_rvar_thread_extent_not_constant():
    pipe, f = _row_sum()
    s = vx.Schedule(pipe)
    s[f].gpu_blocks("r").gpu_threads("k")
    with pytest.raises(vx.ScheduleError, match=r"gpu_threads\(k\) on Func 'f': 'k' iterates the "
                       r"RDom with extent K, not a constant; split it by a constant first"):
        lower(pipe, s)


def test_error_two_rvars_bound_to_threads():
    R = vx.Dim("R")
    r = vx.Var("r")
    x = vx.Input("x", vx.float32, (R, 8, 8))
    k = vx.RDom([(0, 8), (0, 8)], name="k")
    f = vx.Func("f", shape=(R,))
    f[r] = vx.sum(x[r, k[0], k[1]])
    pipe = vx.Pipeline(f)
    s = vx.Schedule(pipe)
    s[f].gpu_blocks("r").gpu_threads("k_0", "k_1")
    with pytest.raises(vx.ScheduleError, match=r"RDom loops \['k_0', 'k_1'\] are all bound to "
                       "threads; a cross-thread reduction combines the threads along one axis"):
        lower(pipe, s)


def test_error_vectorized_loop_around_a_thread_reduction():
    pipe, f = _row_sum()
    s = vx.Schedule(pipe)
    s[f].split("r", "ro", "rv", 4).gpu_blocks("ro").vectorize("rv")
    s[f].split("k", "ko", "ki", 32).gpu_threads("ki")
    with pytest.raises(vx.ScheduleError, match=r"gpu_threads\(ki\) on Func 'f': its reduction "
                       r"runs inside the vectorized loop 'rv'"):
        lower(pipe, s)


def test_error_pure_loop_inside_a_thread_reduction():
    pipe, f = _row_sum()
    s = vx.Schedule(pipe)
    s[f].split("r", "ro", "ri", 4).gpu_blocks("ro").split("k", "ko", "ki", 32)
    s[f].gpu_threads("ki").reorder("ro", "ko", "ri")
    with pytest.raises(vx.ScheduleError, match=r"pure loops \['ri'\] run inside its reduction"):
        lower(pipe, s)


def test_error_rvar_bound_to_blocks():
    pipe, f = _row_sum()
    s = vx.Schedule(pipe)
    with pytest.raises(vx.ScheduleError, match=r"var 'k' iterates a reduction domain; binding it "
                       "to gpu_blocks"):
        s[f].gpu_blocks("k")


def test_error_producer_rdom_loops_scheduled_without_threads():
    pipe, _ = _softmax()
    s2 = vx.Schedule(pipe)
    y, mx, total = (pipe.func(n) for n in ("y", "mx", "total"))
    s2[y].gpu_blocks("r").split("c", "co", "ci", 64).gpu_threads("ci")
    s2[mx].compute_at(y, "r")
    s2[total].compute_at(y, "r").split("k", "ko", "ki", 4)
    with pytest.raises(vx.ScheduleError, match=r"compute_at of Func 'total': its RDom loops "
                       r"\['ko', 'ki'\] are scheduled"):
        lower(pipe, s2)
