"""Tuple-valued Funcs (``f[x] = (a, b)``, Halide's Tuple): one buffer per element, updates that
compute every element from the values before their point, on PoCL against numpy transcriptions
and ``pipe.reference``; CUDA/HIP compile; each error message."""
import numpy as np
import pytest

import vortex as vx


def running_argmax():
    """am = (index, value) of the first maximum of a, as a Tuple update over r."""
    N = vx.Dim("N")
    a = vx.Input("a", vx.float32, (N,))
    am = vx.Func("am", shape=(1,))
    z = vx.Var("z")
    am[z] = (vx.cast(vx.int32, 0), a[0])
    r = vx.RDom(N, name="r")
    better = a[r] > am[0][1]
    am[0] = (vx.select(better, r, am[0][0]), vx.select(better, a[r], am[0][1]))
    return vx.Pipeline(am)


@pytest.mark.parametrize("n", [1, 2, 7, 1000])
def test_tuple_argmax_returns_index_and_value(opencl_device, n):
    pipe = running_argmax()
    k = vx.compile(pipe, vx.Schedule(pipe), target="opencl", device=opencl_device)
    a = np.random.default_rng(n).integers(-5, 6, n).astype(np.float32)    # ties: first wins
    idx, val = k(a=a)
    ridx, rval = pipe.reference(a=a)
    assert idx.dtype == np.int32 and val.dtype == np.float32
    assert idx[0] == ridx[0] == np.argmax(a) and val[0] == rval[0] == a.max()


def row_argmax_update():
    H, W = vx.dims("H W")
    A = vx.Input("A", vx.float32, (H, W))
    am = vx.Func("am", shape=(H,))
    y = vx.Var("y")
    am[y] = (vx.cast(vx.int32, 0), A[y, 0])
    r = vx.RDom(W, name="r")
    better = A[y, r] > am[y][1]
    am[y] = (vx.select(better, r, am[y][0]), vx.select(better, A[y, r], am[y][1]))
    out = vx.Func("out", shape=(H,))
    out[y] = vx.cast(vx.float32, am[y][0]) + am[y][1] * 2     # a consumer of both elements
    return vx.Pipeline(out), am


@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (100, 33)], ids=str)
def test_parallel_tuple_update_and_its_consumer(opencl_device, shape):
    pipe, am = row_argmax_update()
    s = vx.Schedule(pipe)
    s[am].update(0).split("y", "yo", "yi", 8).gpu_blocks("yo").gpu_threads("yi")
    s["out"].split("y", "yo", "yi", 8).gpu_blocks("yo").gpu_threads("yi")
    k = vx.compile(pipe, s, target="opencl", device=opencl_device)
    A = np.random.default_rng(shape[1]).integers(-9, 10, shape).astype(np.float32)
    want = np.argmax(A, axis=1).astype(np.float32) + A.max(axis=1) * 2
    np.testing.assert_array_equal(k(A=A), want)
    np.testing.assert_array_equal(pipe.reference(A=A), want)


def complex_power():
    """z = (re, im) multiplied by (c_re[r], c_im[r]) for each r in order: element 1 must use
    element 0 from before the point."""
    N = vx.Dim("N")
    cr = vx.Input("cr", vx.int32, (N,))
    ci = vx.Input("ci", vx.int32, (N,))
    z = vx.Func("z", shape=(1,))
    x = vx.Var("x")
    z[x] = (vx.cast(vx.int32, 1), vx.cast(vx.int32, 0))
    r = vx.RDom(N, name="r")
    re, im = z[0]
    z[0] = (re * cr[r] - im * ci[r], re * ci[r] + im * cr[r])
    return vx.Pipeline(z)


@pytest.mark.parametrize("n", [1, 3, 13])
def test_tuple_update_reads_the_old_values_of_every_element(opencl_device, n):
    pipe = complex_power()
    k = vx.compile(pipe, vx.Schedule(pipe), target="opencl", device=opencl_device)
    rng = np.random.default_rng(n)
    cr, ci = rng.integers(-2, 3, n).astype(np.int32), rng.integers(-2, 3, n).astype(np.int32)
    re, im = 1, 0
    for a, b in zip(cr, ci):                      # the loop transcription
        re, im = re * int(a) - im * int(b), re * int(b) + im * int(a)
    got, ref = k(cr=cr, ci=ci), pipe.reference(cr=cr, ci=ci)
    for g, r_, w in zip(got, ref, (re, im)):      # |z| <= 8 ** (13 / 2): no int32 overflow
        assert g[0] == r_[0] == w


def test_tuple_of_two_reductions(opencl_device):
    """A pure Tuple definition with one reduction per element (argmin and minimum of a row)."""
    H, W = vx.dims("H W")
    A = vx.Input("A", vx.int32, (H, W))
    f = vx.Func("f", shape=(H,))
    y = vx.Var("y")
    r = vx.RDom(W, name="r")
    f[y] = (vx.argmin(A[y, r]), vx.minimum(A[y, r]))
    pipe = vx.Pipeline(f)
    s = vx.Schedule(pipe)
    s[f].split("y", "yo", "yi", 4).gpu_blocks("yo").gpu_threads("yi")
    k = vx.compile(pipe, s, target="opencl", device=opencl_device)
    for shape in [(1, 1), (5, 17), (33, 64)]:
        A = np.random.default_rng(shape[1]).integers(-50, 50, shape).astype(np.int32)
        idx, val = k(A=A)
        np.testing.assert_array_equal(idx, np.argmin(A, axis=1))
        np.testing.assert_array_equal(val, A.min(axis=1))
        for g, r_ in zip((idx, val), pipe.reference(A=A)):
            np.testing.assert_array_equal(g, r_)


def test_tuples_compile_for_cuda_and_hip(offline):
    target, build = offline
    pipe, am = row_argmax_update()
    s = vx.Schedule(pipe)
    s[am].update(0).split("y", "yo", "yi", 64).gpu_blocks("yo").gpu_threads("yi")
    k = build(pipe, s)
    assert "am_0" in k.source and "am_1" in k.source


def test_tuple_errors():
    N = vx.Dim("N")
    a = vx.Input("a", vx.float32, (N,))
    f = vx.Func("f", shape=(N,))
    x = vx.Var("x")
    f[x] = (a[x], vx.cast(vx.int32, x))
    with pytest.raises(vx.TypeError, match=r"f\[x\] is a Tuple of 2 elements; use one: "
                       r"f\[x\]\[0\]"):
        f[x] + 1
    with pytest.raises(vx.TypeError, match=r"'f' has 2 Tuple elements; index f\[...\] with "
                       r"0 … 1, not 2"):
        f[x][2]
    with pytest.raises(vx.TypeError, match=r"Func 'f' is Tuple-valued, of types "
                       r"\(float32, int32\)"):
        f.dtype
    with pytest.raises(vx.TypeError, match=r"update of 'f' assigns a Tuple of 3 elements, but "
                       r"'f' has 2 elements"):
        f[x] = (a[x], x, x)
    with pytest.raises(vx.TypeError, match=r"element 1 of an update of 'f' has type float32 but "
                       r"element 1 of 'f' is int32; wrap it in vx.cast\(vx.int32, …\)"):
        f[x] = (a[x], a[x])
    with pytest.raises(vx.TypeError, match=r"'f' is Tuple-valued \(2 elements\): assign a tuple "
                       r"of 2 values"):
        f[x] = a[x]
    g = vx.Func("g")
    with pytest.raises(vx.TypeError, match=r"a Tuple value of 'g' needs at least two elements"):
        g[x] = (a[x],)
    h = vx.Func("h", shape=(N,))
    h[x] = f[x][0] + vx.cast(vx.float32, f[x][1])
    s = vx.Schedule(vx.Pipeline(h))
    with pytest.raises(vx.ScheduleError, match=r"compute_inline\(\) on Func 'f': 'f' is "
                       r"Tuple-valued; Tuples are computed at root"):
        s[f].compute_inline()
    with pytest.raises(vx.ScheduleError, match=r"'f' is Tuple-valued; Tuples are computed at "
                       r"root \(compute_at of a Tuple is not supported yet\)"):
        s[f].compute_at(h, "x")
    am = running_argmax()
    s = vx.Schedule(am)
    s["am"].update(0).atomic()
    with pytest.raises(vx.ScheduleError, match=r"is not of the form am\[...\] = am\[...\] op e"):
        s.validate()
