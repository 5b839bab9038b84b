"""``rfactor`` (vortex/schedule/rfactor.py) on PoCL against numpy and ``pipe.reference``: a
histogram split into per-row partial histograms (parallel without atomics), sums and minima
with where() predicates, at awkward sizes; its errors; stages of ``f_intm`` in files."""
import numpy as np
import pytest

import vortex as vx


def histogram():
    H, W = vx.dims("H W")
    img = vx.Input("img", vx.uint8, (H, W))
    hist = vx.Func("hist", shape=(256,))
    b = vx.Var("b")
    hist[b] = vx.cast(vx.int32, 0)
    r = vx.RDom((H, W), name="r")
    hist[vx.cast(vx.int32, img[r[0], r[1]])] += 1
    return vx.Pipeline(hist)


def per_row(pipe):
    s = vx.Schedule(pipe)
    s["hist"].update(0).rfactor("r_0", "y").gpu_threads("b")
    s["hist_intm"].gpu_blocks("y").gpu_threads("b")
    s["hist_intm"].update(0).split("y", "yo", "yi", 4).gpu_blocks("yo").gpu_threads("yi")
    return s


@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (7, 13), (37, 101), (130, 64)], ids=str)
def test_rfactored_histogram_matches_bincount(opencl_device, shape):
    pipe = histogram()
    k = vx.compile(pipe, per_row(pipe), target="opencl", device=opencl_device)
    img = np.random.default_rng(shape[1]).integers(0, 256, shape, dtype=np.uint8)
    want = np.bincount(img.ravel(), minlength=256)
    np.testing.assert_array_equal(k(img=img), want)
    np.testing.assert_array_equal(pipe.reference(img=img), want)
    assert "atomic" not in k.source


def lower_triangle_sum(dtype):
    """total[0] = sum of A[i, j] over j <= i (a 2-D RDom with a where() predicate)."""
    N = vx.Dim("N")
    a = vx.Input("a", dtype, (N, N))
    total = vx.Func("total", shape=(1,))
    z = vx.Var("z")
    total[z] = vx.cast(dtype, 0)
    r = vx.RDom((N, N), name="r")
    r.where(r[1] <= r[0])
    total[0] = total[0] + a[r[0], r[1]]
    return vx.Pipeline(total)


@pytest.mark.parametrize("n", [1, 2, 7, 20, 67])
def test_rfactored_triangular_sum(opencl_device, n):
    pipe = lower_triangle_sum(vx.int32)
    s = vx.Schedule(pipe)
    s["total"].update(0).rfactor("r_0", "i")
    s["total_intm"].split("i", "io", "ii", 16).gpu_blocks("io").gpu_threads("ii")
    s["total_intm"].update(0).split("i", "io", "ii", 16).gpu_blocks("io").gpu_threads("ii")
    k = vx.compile(pipe, s, target="opencl", device=opencl_device)
    a = np.random.default_rng(n).integers(-1000, 1000, (n, n)).astype(np.int32)
    want = np.tril(a).sum(dtype=np.int32)
    assert k(a=a)[0] == want == pipe.reference(a=a)[0]


@pytest.mark.parametrize("n", [1, 5, 64, 100])
def test_rfactored_float_sum_reassociates_within_rounding(opencl_device, n):
    pipe = lower_triangle_sum(vx.float32)
    s = vx.Schedule(pipe)
    s["total"].update(0).rfactor("r_0", "i")
    s["total_intm"].update(0).split("i", "io", "ii", 32).gpu_blocks("io").gpu_threads("ii")
    k = vx.compile(pipe, s, target="opencl", device=opencl_device)
    a = np.random.default_rng(n).standard_normal((n, n)).astype(np.float32)
    np.testing.assert_allclose(k(a=a)[0], np.tril(a).astype(np.float64).sum(), rtol=1e-4,
                               atol=1e-4)


@pytest.mark.parametrize("n", [1, 3, 17, 200])
def test_rfactor_of_a_one_dimensional_min_with_a_predicate(opencl_device, n):
    """1-D RDom: the intermediate's update has no RVar; the predicate on the factored RVar
    becomes a select."""
    N = vx.Dim("N")
    a = vx.Input("a", vx.float32, (N,))
    m = vx.Func("m", shape=(1,))
    z = vx.Var("z")
    m[z] = vx.cast(vx.float32, 7.0)
    r = vx.RDom(N, name="r")
    r.where(r % 3 != 1)
    m[0] = vx.min(m[0], a[r])
    pipe = vx.Pipeline(m)
    s = vx.Schedule(pipe)
    s["m"].update(0).rfactor("r", "u")
    s["m_intm"].update(0).split("u", "uo", "ui", 32).gpu_blocks("uo").gpu_threads("ui")
    k = vx.compile(pipe, s, target="opencl", device=opencl_device)
    a = np.random.default_rng(n).standard_normal(n).astype(np.float32) * 10
    keep = a[np.arange(n) % 3 != 1]
    want = np.float32(min(7.0, keep.min())) if keep.size else np.float32(7.0)
    assert k(a=a)[0] == want == pipe.reference(a=a)[0]


def test_rfactor_errors():
    pipe = histogram()
    s = vx.Schedule(pipe)
    with pytest.raises(vx.ScheduleError, match=r"rfactor\(k, y\) on Func 'hist.update\(0\)': "
                       r"'k' is not an RVar of update 0 of 'hist' \(its RVars: r_0, r_1\)"):
        s["hist"].update(0).rfactor("k", "y")
    with pytest.raises(vx.ScheduleError, match=r"rfactor\(r_0, y\) on Func 'hist.update\(0\)': "
                       r"rfactor must be the first directive of its stage"):
        s["hist"].update(0).atomic().rfactor("r_0", "y")
    with pytest.raises(vx.ScheduleError, match=r"rfactor\(r_0, b\) on Func 'hist.update\(0\)': "
                       r"the name 'b' is taken"):
        vx.Schedule(pipe)["hist"].update(0).rfactor("r_0", "b")
    with pytest.raises(vx.ScheduleError, match=r"rfactor\(\) applies to an update stage: "
                       r"s\['hist'\].update\(n\).rfactor\(r_0, y\)"):
        vx.Schedule(pipe)["hist"].rfactor("r_0", "y")
    with pytest.raises(vx.ScheduleError, match=r"'hist_intm' is unknown Func"):
        vx.Schedule(pipe)["hist_intm"]
    N = vx.Dim("N")
    f = vx.Func("f", shape=(N,))
    x = vx.Var("x")
    f[x] = x
    r = vx.RDom(N - 1, name="r")
    f[r + 1] = f[r] + 1      # reads f at another point: not a reduction
    with pytest.raises(vx.ScheduleError, match=r"update 0 of 'f' is not of the form "
                       r"f\[...\] = f\[...\] op e .* cannot be split into partial results"):
        vx.Schedule(vx.Pipeline(f))["f"].update(0).rfactor("r", "u")


def test_rfactored_schedule_round_trips_through_toml_and_python():
    import pipelines as P
    pipe = histogram()
    s = per_row(pipe)
    text = s.to_toml()
    assert text.index('[["hist.update(0)"]]\nrfactor') < text.index("[[hist_intm]]")
    assert vx.Schedule.from_toml(text, pipe) == s
    assert P.replay_python(s) == s
    assert vx.Schedule(pipe).computed_pipeline() is pipe
    assert [f.name for f in s.computed_pipeline().funcs] == ["hist_intm", "hist"]


def argmax_2d():
    """am = (row, column, value) of the first maximum of a, a Tuple update over a 2-D RDom."""
    H, W = vx.dims("H W")
    a = vx.Input("a", vx.float32, (H, W))
    am = vx.Func("am", shape=(1,))
    z = vx.Var("z")
    am[z] = (vx.cast(vx.int32, 0), vx.cast(vx.int32, 0), a[0, 0])
    r = vx.RDom((H, W), name="r")
    v = a[r[0], r[1]]
    better = v > am[0][2]
    am[0] = (vx.select(better, r[0], am[0][0]), vx.select(better, r[1], am[0][1]),
             vx.select(better, v, am[0][2]))
    return vx.Pipeline(am)


@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (7, 13), (100, 33)], ids=str)
def test_rfactored_tuple_argmax_keeps_the_first_maximum(opencl_device, shape):
    """Per-row partial (row, column, value) in parallel, merged in row order: ties (small
    integers) resolve to the first maximum, as np.argmax and the sequential update do."""
    pipe = argmax_2d()
    s = vx.Schedule(pipe)
    s["am"].update(0).rfactor("r_0", "y")
    s["am_intm"].split("y", "yo", "yi", 16).gpu_blocks("yo").gpu_threads("yi")
    s["am_intm"].update(0).split("y", "yo", "yi", 16).gpu_blocks("yo").gpu_threads("yi")
    k = vx.compile(pipe, s, target="opencl", device=opencl_device)
    a = np.random.default_rng(shape[1]).integers(-5, 6, shape).astype(np.float32)
    row, col = divmod(int(np.argmax(a)), shape[1])
    for got in (k(a=a), pipe.reference(a=a)):
        assert (got[0][0], got[1][0], got[2][0]) == (row, col, a.max())


def test_rfactor_of_an_argmax_over_its_inner_rvar_is_refused():
    with pytest.raises(vx.ScheduleError, match=r"rfactor\(r_1, x\) on Func 'am.update\(0\)': "
                       r"an argmax-like Tuple update keeps the first of equal keys; only its "
                       r"outermost RVar 'r_0' can be factored"):
        vx.Schedule(argmax_2d())["am"].update(0).rfactor("r_1", "x")
