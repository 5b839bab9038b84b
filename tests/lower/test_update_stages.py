"""Scheduled update stages (``s[f].update(n)``) on PoCL against ``pipe.reference`` and numpy:
parallel pure Vars, race-free parallel RVars, and ``atomic()`` updates (native atomics and the
compare-and-swap loop), at awkward sizes; the CUDA (sm_90) and HIP (gfx90a) kernels compile and
launch many threads in many blocks."""
import numpy as np
import pytest

import vortex as vx

SHAPES = [(1, 1), (2, 3), (7, 13), (37, 101), (64, 256)]


def histogram(dtype=vx.int32, weighted=False):
    H, W = vx.dims("H W")
    img = vx.Input("img", vx.uint8, (H, W))
    w = vx.Input("w", vx.float32, (H, W))
    hist = vx.Func("hist", shape=(256,))
    b = vx.Var("b")
    hist[b] = vx.cast(dtype, 0)
    r = vx.RDom((H, W), name="r")
    bin_ = vx.cast(vx.int32, img[r[0], r[1]])
    hist[bin_] = hist[bin_] + (w[r[0], r[1]] if weighted else vx.cast(dtype, 1))
    return vx.Pipeline(hist)


def parallel(s, func, threads=64):
    """r_0 on blocks, r_1 split by ``threads`` on threads, atomic."""
    s[func].update(0).split("r_1", "ro", "ri", threads).gpu_blocks("r_0").gpu_threads("ri") \
        .atomic()
    return s


def run(kernel, pipe, args):
    got, want = kernel(**args), pipe.reference(**args)
    return tuple(x if isinstance(x, tuple) else (x,) for x in (got, want))


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", [vx.int32, vx.uint32], ids=str)
def test_atomic_histogram_matches_bincount(opencl_device, shape, dtype):
    pipe = histogram(dtype)
    k = vx.compile(pipe, parallel(vx.Schedule(pipe), "hist"), target="opencl",
                   device=opencl_device)
    img = np.random.default_rng(shape[0]).integers(0, 256, shape, dtype=np.uint8)
    args = {"img": img}
    (got,), (want,) = run(k, pipe, args)
    np.testing.assert_array_equal(got, np.bincount(img.ravel(), minlength=256))
    np.testing.assert_array_equal(want, got)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_atomic_float_histogram_is_exact_for_exact_sums(opencl_device, shape):
    """Float bins: OpenCL 1.2 has no float atomics, so this is the compare-and-swap loop.
    Weights are multiples of 1/4 below 2^10, so every order of summation gives the same sum."""
    pipe = histogram(vx.float32, weighted=True)
    k = vx.compile(pipe, parallel(vx.Schedule(pipe), "hist"), target="opencl",
                   device=opencl_device)
    rng = np.random.default_rng(7)
    img = rng.integers(0, 256, shape, dtype=np.uint8)
    w = (rng.integers(-8, 9, shape) / 4).astype(np.float32)
    (got,), (want,) = run(k, pipe, {"img": img, "w": w})
    np.testing.assert_array_equal(got, np.bincount(img.ravel(), w.ravel().astype(np.float64),
                                                   minlength=256).astype(np.float32))
    np.testing.assert_array_equal(want, got)


def scatter(op, dtype):
    """out[idx[r]] = op(out[idx[r]], v[r]) over N points into M bins."""
    N, M = vx.dims("N M")
    idx = vx.Input("idx", vx.int32, (N,))
    v = vx.Input("v", dtype, (N,))
    init = vx.Input("init", dtype, (M,))
    out = vx.Func("out", shape=(M,))
    m = vx.Var("m")
    out[m] = init[m]
    r = vx.RDom(N, name="r")
    i = vx.clamp(idx[r], 0, M - 1)
    out[i] = op(out[i], v[r])
    return vx.Pipeline(out)


OPS = {   # name: (algorithm op, numpy ufunc for the loop transcription)
    "max_f32": (vx.max, np.fmax, vx.float32), "min_f32": (vx.min, np.fmin, vx.float32),
    "mul_i32": (lambda a, b: a * b, np.multiply, vx.int32),
    "max_i32": (vx.max, np.maximum, vx.int32), "min_u32": (vx.min, np.minimum, vx.uint32),
    "xor_u32": (lambda a, b: a ^ b, np.bitwise_xor, vx.uint32),
    "or_i32": (lambda a, b: a | b, np.bitwise_or, vx.int32),
    "and_i32": (lambda a, b: a & b, np.bitwise_and, vx.int32),
    "add_f32": (lambda a, b: a + b, np.add, vx.float32),
}


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("n", [1, 13, 1000])
def test_atomic_scatter_ops(opencl_device, name, n):
    op, ufunc, dtype = OPS[name]
    pipe = scatter(op, dtype)
    s = vx.Schedule(pipe)
    s["out"].update(0).split("r", "ro", "ri", 32).gpu_blocks("ro").gpu_threads("ri").atomic()
    k = vx.compile(pipe, s, target="opencl", device=opencl_device)
    rng = np.random.default_rng(n)
    m = 5
    idx = rng.integers(0, m, n).astype(np.int32)
    if dtype is vx.float32:
        v = (rng.integers(-40, 41, n) / 8).astype(np.float32)
        init = np.array([0.0, -1.5, np.nan, 2.0, 0.25], np.float32)
    elif name == "mul_i32":
        v = rng.choice(np.array([-1, 1, 2, 3], np.int32), n)
        init = np.array([1, -1, 3, 0, 7], np.int32)
    else:
        v = rng.integers(0, 1 << 20, n).astype(dtype.np)
        init = rng.integers(0, 1 << 20, m).astype(dtype.np)
    want = init.copy()
    for i, x in zip(idx, v):   # the update's sequential order, transcribed
        want[i] = ufunc(want[i], x)
    (got,), (ref,) = run(k, pipe, {"idx": idx, "v": v, "init": init})
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(ref, want)


@pytest.mark.parametrize("n", [1, 5, 97, 1000])
def test_race_free_rvar_runs_in_parallel_without_atomics(opencl_device, n):
    """f[r] = f[r] * 2 + g[r]: each iteration of r writes its own point and reads only it."""
    N = vx.Dim("N")
    g = vx.Input("g", vx.int32, (N,))
    f = vx.Func("f", shape=(N,))
    x = vx.Var("x")
    f[x] = x
    r = vx.RDom(N, name="r")
    f[r] = f[r] * 2 + g[r]
    pipe = vx.Pipeline(f)
    s = vx.Schedule(pipe)
    s[f].update(0).split("r", "ro", "ri", 64).gpu_blocks("ro").gpu_threads("ri")
    k = vx.compile(pipe, s, target="opencl", device=opencl_device)
    arg = np.arange(n, dtype=np.int32) * 3 - 7
    (got,), (ref,) = run(k, pipe, {"g": arg})
    np.testing.assert_array_equal(got, np.arange(n) * 2 + arg)
    np.testing.assert_array_equal(ref, got)


@pytest.mark.parametrize("shape", [(1, 1), (3, 7), (13, 100), (40, 33)], ids=str)
def test_row_prefix_sums_with_parallel_rows(opencl_device, shape):
    """A scan along each row (RVar serial, in order) with the rows on blocks and threads."""
    H, W = vx.dims("H W")
    a = vx.Input("a", vx.float32, (H, W))
    s_ = vx.Func("scan", shape=(H, W))
    y, x = vx.vars("y x")
    s_[y, x] = a[y, x]
    r = vx.RDom([(1, W - 1)], name="r")
    s_[y, r] = s_[y, r - 1] + s_[y, r]
    pipe = vx.Pipeline(s_)
    s = vx.Schedule(pipe)
    s[s_].update(0).split("y", "yo", "yi", 8).gpu_blocks("yo").gpu_threads("yi")
    k = vx.compile(pipe, s, target="opencl", device=opencl_device)
    arr = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    (got,), (ref,) = run(k, pipe, {"a": arr})
    want = arr.copy()
    for j in range(1, shape[1]):
        want[:, j] = want[:, j - 1] + want[:, j]
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(ref, want)


def test_unscheduled_update_keeps_one_thread(opencl_device):
    pipe = histogram()
    k = vx.compile(pipe, vx.Schedule(pipe), target="opencl", device=opencl_device)
    img = np.arange(35, dtype=np.uint8).reshape(5, 7)
    (launch,) = [c for c in k.launch_config(img=img)
                 if c["entry"] == "hist_update0_kernel"]
    assert launch["grid"] == (1, 1, 1) and launch["block"] == (1, 1, 1)
    np.testing.assert_array_equal(k(img=img),
                                  np.bincount(img.ravel(), minlength=256))


def test_histogram_compiles_with_many_threads_and_blocks(offline):
    target, build = offline
    pipe = histogram()
    k = build(pipe, parallel(vx.Schedule(pipe), "hist", threads=256))
    img = np.zeros((480, 640), np.uint8)
    (launch,) = [c for c in k.launch_config(img=img)
                 if c["entry"] == "hist_update0_kernel"]
    assert launch["block"] == (256, 1, 1) and launch["grid"] == (480, 1, 1)
    assert ("atomicAdd(" in k.source) and "atomicCAS" not in k.source


def test_float_max_compiles_as_a_compare_and_swap_loop(offline):
    target, build = offline
    pipe = scatter(vx.max, vx.float32)
    s = vx.Schedule(pipe)
    s["out"].update(0).split("r", "ro", "ri", 128).gpu_blocks("ro").gpu_threads("ri").atomic()
    k = build(pipe, s)
    assert "atomicCAS(" in k.source and "__float_as_uint(" in k.source
