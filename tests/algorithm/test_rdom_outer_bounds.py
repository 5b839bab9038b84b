"""RDoms whose bounds use the outer pure Vars of the Func reducing over them (issue 16 item 1,
first part): a lower-triangular matmul, per-row prefix sums, a band, a triangular solve.

- numbers on PoCL and from ``pipe.reference`` against numpy at sizes 1, 2, 7, 33 (row 0's range
  of a prefix is empty: the identity), for pure definitions (inline reductions), update
  definitions, inlined and compute_at producers, argmax/argmin;
- the lowered loop's bound reads the outer Var (no box, no mask) and the nest runs exactly the
  points of every row's range (N(N+1)/2 for a triangle);
- schedules that keep the loop inside its Var's work (GPU pure Vars, a guarded split of the RDom
  loop); those that cannot (reorder outside, GPU binding, fuse, stage, rfactor, mma) are refused;
- bounds using anything else are refused at vx.Pipeline;
- CUDA sm_90 and HIP gfx90a compile.
"""
import numpy as np
import pytest

import vortex as vx
from vortex.lower import driver
from vortex.lower.ir import Block, If
from vortex.lower.ir_text import kernel_text
from vortex.lower.walk import stmts

from tests.lower.test_tighten import innermost_iterations

SIZES = (1, 2, 7, 33)
COLS = 5


def _raises(err, *parts):
    return pytest.raises(err, match=".*".join(map(__import__("re").escape, parts)))


# --- the algorithms -----------------------------------------------------------------------------
def trimatmul():
    """C = tril(L) @ B: k over [0, i + 1)."""
    m, n = vx.dims("M N")
    lo = vx.Input("L", vx.float32, (m, m))
    b = vx.Input("B", vx.float32, (m, n))
    i, j = vx.vars("i j")
    k = vx.RDom(i + 1, name="k")
    c = vx.Func("C", shape=(m, n))
    c[i, j] = vx.sum(lo[i, k] * b[k, j])
    return vx.Pipeline(c)


def prefix():
    """P[i] = sum of x[k] for k < i (exclusive prefix: row 0 is empty)."""
    n = vx.Dim("N")
    x = vx.Input("x", vx.float32, (n,))
    i = vx.Var("i")
    k = vx.RDom(i, name="k")
    p = vx.Func("P", shape=(n,))
    p[i] = vx.sum(x[k])
    return vx.Pipeline(p)


def band():
    """k over [max(i - 2, 0), min(i + 3, N)): (min, extent) both depend on i."""
    n = vx.Dim("N")
    x = vx.Input("x", vx.int32, (n,))
    i = vx.Var("i")
    first = vx.max(i - 2, 0)
    k = vx.RDom(first, vx.min(i + 3, n) - first, name="k")
    f = vx.Func("band", shape=(n,))
    f[i] = vx.sum(x[k])
    return vx.Pipeline(f)


def solve_step():
    """One Jacobi-like step of L y = b: y[i] = (b[i] - sum_{k < i} L[i, k] x0[k]) / L[i, i]."""
    n = vx.Dim("N")
    lo = vx.Input("L", vx.float32, (n, n))
    b, x0 = vx.Input("b", vx.float32, (n,)), vx.Input("x0", vx.float32, (n,))
    i = vx.Var("i")
    k = vx.RDom(i, name="k")
    y = vx.Func("y", shape=(n,))
    y[i] = (b[i] - vx.sum(lo[i, k] * x0[k])) / lo[i, i]
    return vx.Pipeline(y)


def count():
    """How many points each row's domain has: sum of 1 over k in [0, i + 1)."""
    n = vx.Dim("N")
    x = vx.Input("x", vx.int32, (n,))
    i = vx.Var("i")
    k = vx.RDom(i + 1, name="k")
    c = vx.Func("count", shape=(n,))
    c[i] = vx.sum(x[k] * 0 + 1)
    return vx.Pipeline(c)


def _rng_args(pipe, n: int) -> dict:
    rng = np.random.default_rng(n)
    out = {}
    for name, inp in pipe.inputs.items():
        shape = tuple(COLS if str(d) == "N" and name == "B" else n for d in inp.shape)
        if inp.dtype == vx.int32:
            out[name] = rng.integers(-9, 10, shape).astype(np.int32)
        else:
            out[name] = rng.standard_normal(shape).astype(np.float32)
    if "L" in out:
        out["L"] += 4 * np.eye(n, dtype=np.float32)   # a well-conditioned triangle
    return out


def _band_numpy(a):
    n = len(a["x"])
    return np.array([a["x"][max(t - 2, 0):min(t + 3, n)].sum() for t in range(n)], np.int32)


NUMPY = {
    "trimatmul": lambda a: np.tril(a["L"]) @ a["B"],
    "prefix": lambda a: np.concatenate([[0], np.cumsum(a["x"])[:-1]]).astype(np.float32),
    "band": _band_numpy,
    "solve_step": lambda a: (a["b"] - np.tril(a["L"], -1) @ a["x0"]) / np.diag(a["L"]),
    "count": lambda a: np.arange(1, len(a["x"]) + 1, dtype=np.int32),
}
BUILD = {"trimatmul": trimatmul, "prefix": prefix, "band": band, "solve_step": solve_step,
         "count": count}


def gpu_split_k(pipe):
    """i on blocks and threads, k split by 3 (guarded: 3 divides no row's extent) and unrolled."""
    io, ii, ko, ki = vx.vars("io ii ko ki")
    s = vx.Schedule(pipe)
    s[pipe.outputs[0].name].split("i", io, ii, 4).gpu_blocks(io).gpu_threads(ii) \
        .split("k", ko, ki, 3).unroll(ki)
    return s


SCHEDULES = {"empty": vx.Schedule, "default": vx.Schedule.default, "gpu_split_k": gpu_split_k}


@pytest.mark.parametrize("schedule", list(SCHEDULES))
@pytest.mark.parametrize("name", list(BUILD))
def test_kernels_and_reference_match_numpy(opencl_device, name, schedule):
    pipe = BUILD[name]()
    kernel = vx.compile(pipe, schedule=SCHEDULES[schedule](pipe), target="opencl",
                        device=opencl_device)
    for n in SIZES:
        args = _rng_args(pipe, n)
        want = NUMPY[name](args)
        np.testing.assert_allclose(pipe.reference(**args), want, rtol=1e-4, atol=1e-4,
                                   err_msg=f"reference {name} N={n}")
        np.testing.assert_allclose(kernel(**args), want, rtol=1e-4, atol=1e-4,
                                   err_msg=f"{schedule} {name} N={n}")


def test_a_register_tile_inside_the_triangle(opencl_device):
    """C's j split by 4 and vectorized inside k (4 accumulators per thread), k inside i's loops."""
    pipe = trimatmul()
    s = vx.Schedule(pipe)
    s["C"].split("i", "io", "ii", 4).split("j", "jo", "ji", 4) \
        .reorder("io", "jo", "ii", "k", "ji").gpu_blocks("io").gpu_threads("ii").vectorize("ji")
    kernel = vx.compile(pipe, schedule=s, target="opencl", device=opencl_device)
    for n in SIZES:
        args = _rng_args(pipe, n)
        np.testing.assert_allclose(kernel(**args), NUMPY["trimatmul"](args), rtol=1e-4,
                                   atol=1e-4, err_msg=f"N={n}")


# --- the loops ----------------------------------------------------------------------------------
def _kernel(pipe, schedule=None):
    return driver.lower(pipe, schedule or vx.Schedule(pipe)).kernels[0]


def test_the_loop_bound_reads_the_outer_var():
    text = kernel_text(_kernel(count()))
    assert "for k in [0, i + 1) serial" in text, text
    text = kernel_text(_kernel(band()))
    assert "for k in [0, 0 - vx.max(0, i + -2) + vx.min(N, i + 3)) serial" in text, text
    assert "vx.max(i - 2, 0) + k" in text, text


@pytest.mark.parametrize("name", ["count", "band", "prefix"])
def test_the_nest_runs_each_rows_own_range(name):
    """Innermost iterations == the sum of the rows' extents (N(N+1)/2 for the triangle), with no
    test of the RDom counter left in the loop (no box, no mask)."""
    k = _kernel(BUILD[name]())
    assert not any(isinstance(s, If) for s in stmts(k.body) if not isinstance(s, Block)), \
        kernel_text(k)
    extent = {"count": lambda t, n: t + 1, "prefix": lambda t, n: t,
              "band": lambda t, n: min(t + 3, n) - max(t - 2, 0)}[name]
    for n in SIZES:
        assert innermost_iterations(k.body, {"N": n}) == sum(extent(t, n) for t in range(n))
    assert innermost_iterations(_kernel(count()).body, {"N": 33}) == 33 * 34 // 2


def test_a_split_rdom_loop_is_guarded_by_the_rows_extent():
    """split(k, ko, ki, 3): ko runs ceil((i + 1) / 3) trips and ki is guarded by i + 1."""
    pipe = count()
    k = _kernel(pipe, gpu_split_k(pipe))
    text = kernel_text(k)
    assert "ko * 3" in text and "io * 4 + ii + 1" in text, text


def test_an_extent_sympy_cannot_hold_is_lowered_from_the_bound(opencl_device):
    """Extent 2 - i % 2 (interval arithmetic cannot keep i % 2 exact): the loop nest holds a
    symbol for the whole extent, printed from the bound itself; split, guarded, it still runs
    each row's own range. P is computed at root over its inferred region [1, N - 1]."""
    n = vx.Dim("N")
    x = vx.Input("x", vx.float32, (n,))
    i = vx.Var("i")
    k = vx.RDom(i - 1, 2 - (i % 2), name="k")
    p = vx.Func("P")
    p[i] = vx.sum(x[k] * vx.cast(vx.float32, k + 1))
    q = vx.Func("Q", shape=(n - 2,))
    q[i] = p[i + 1] + p[i + 2]
    pipe = vx.Pipeline(q)
    s = vx.Schedule.default(pipe)
    s["P"].compute_root().split("k", "ko", "ki", 2)
    assert "% 2" in kernel_text(driver.lower(pipe, s).kernels[0])
    kernel = vx.compile(pipe, schedule=s, target="opencl", device=opencl_device)
    for size in (3, 4, 9, 35):
        xs = np.random.default_rng(size).standard_normal(size).astype(np.float32)
        row = [sum(xs[j] * (j + 1) for j in range(t - 1, t + 1 - t % 2)) for t in range(size)]
        want = np.array([row[t + 1] + row[t + 2] for t in range(size - 2)])
        np.testing.assert_allclose(pipe.reference(x=xs), want, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(kernel(x=xs), want, rtol=1e-4, atol=1e-4)
    with _raises(vx.ScheduleError, "unroll(k) on Func 'P'", "the extent extent(k) of 'k' is "
                 "not a constant"):
        _lowered(pipe, lambda s: s["P"].compute_root().unroll("k"))


# --- updates, producers, argmax -----------------------------------------------------------------
def band_update():
    """f[i] = 0; f[i] += 2 g[r] over r in [max(i - 3, 0), i]: the update's own RDom."""
    n = vx.Dim("N")
    g = vx.Input("g", vx.float32, (n,))
    i = vx.Var("i")
    r = vx.RDom(vx.max(i - 3, 0), vx.min(i, 3) + 1, name="r")
    f = vx.Func("f", shape=(n,))
    f[i] = vx.cast(vx.float32, 0)
    f[i] = f[i] + g[r] * 2
    return vx.Pipeline(f)


def suffix_update():
    """f[i] = g[i]; then f[i] = f[i] / 2 + g[r] for r = i … N-1 in order (not an accumulation)."""
    n = vx.Dim("N")
    g = vx.Input("g", vx.float32, (n,))
    i = vx.Var("i")
    r = vx.RDom(i, n - i, name="r")
    f = vx.Func("f", shape=(n,))
    f[i] = g[i]
    f[i] = f[i] * 0.5 + g[r]
    return vx.Pipeline(f)


def trisolve():
    """Forward substitution L x = b, an update over r with an inline reduction over k < r."""
    n = vx.Dim("N")
    lo, b = vx.Input("L", vx.float32, (n, n)), vx.Input("b", vx.float32, (n,))
    i = vx.Var("i")
    r = vx.RDom(n, name="r")
    k = vx.RDom(r, name="k")
    x = vx.Func("x", shape=(n,))
    x[i] = b[i]
    x[r] = (x[r] - vx.sum(lo[r, k] * x[k], over=k)) / lo[r, r]
    return vx.Pipeline(x)


def _suffix_numpy(g):
    f = g.copy()
    for t in range(len(g)):
        for r in range(t, len(g)):
            f[t] = np.float32(f[t] * np.float32(0.5) + g[r])
    return f


def update_gpu(pipe):
    io, ii = vx.vars("io ii")
    s = vx.Schedule(pipe)
    s["f"].update(0).split("i", io, ii, 4).gpu_blocks(io).gpu_threads(ii)
    return s


UPDATES = [
    ("band_update", band_update, None,
     lambda a: np.array([2 * a["g"][max(t - 3, 0):t + 1].sum() for t in range(len(a["g"]))])),
    ("band_update_gpu", band_update, update_gpu,
     lambda a: np.array([2 * a["g"][max(t - 3, 0):t + 1].sum() for t in range(len(a["g"]))])),
    ("suffix_update", suffix_update, None, lambda a: _suffix_numpy(a["g"])),
    ("suffix_update_gpu", suffix_update, update_gpu, lambda a: _suffix_numpy(a["g"])),
    ("trisolve", trisolve, None, lambda a: np.linalg.solve(np.tril(a["L"]), a["b"])),
]


@pytest.mark.parametrize("case", UPDATES, ids=lambda c: c[0])
def test_updates_match_numpy(opencl_device, case):
    _, build, schedule, oracle = case
    pipe = build()
    kernel = vx.compile(pipe, schedule=schedule(pipe) if schedule else vx.Schedule(pipe),
                        target="opencl", device=opencl_device)
    for n in SIZES:
        args = _rng_args(pipe, n)
        want = oracle(args)
        np.testing.assert_allclose(pipe.reference(**args), want, rtol=1e-3, atol=1e-4)
        np.testing.assert_allclose(kernel(**args), want, rtol=1e-3, atol=1e-4)


def test_a_tuple_update_over_each_rows_prefix(opencl_device):
    """A Tuple-valued update whose RDom's extent is i + 1 (running mean of each prefix): the
    reference iterates the box of all rows' ranges with each row's own mask (it raised
    KeyError: 'i' before), and equals the kernel and numpy at sizes 1, 2, 7, 33."""
    N = vx.Dim("N")
    x = vx.Input("x", vx.float32, (N,))
    i = vx.Var("i")
    r = vx.RDom(0, i + 1, name="r")
    f = vx.Func("f", shape=(N,))
    f[i] = (np.float32(0), np.float32(0))
    total, count = f[i]
    f[i] = (total + x[r], count + 1)
    o = vx.Func("o", shape=(N,))
    o[i] = f[i][0] / f[i][1]
    pipe = vx.Pipeline(o)
    kernel = vx.compile(pipe, target="opencl", device=opencl_device)
    for n in (1, 2, 7, 33):
        xs = np.random.default_rng(n).standard_normal(n).astype(np.float32)
        want = np.cumsum(xs, dtype=np.float64) / np.arange(1, n + 1)
        np.testing.assert_allclose(pipe.reference(x=xs), want, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(kernel(x=xs), want, rtol=1e-5, atol=1e-6)


def test_an_update_loop_reads_its_pure_var():
    text = kernel_text(next(k for k in driver.lower(band_update(), vx.Schedule(
        band_update())).kernels if "update" in k.name))
    assert "for r in [0, vx.min(3, i) + 1) serial" in text, text


def producer():
    """P (no shape: inlined or computed at Q's tiles) is a per-row inclusive prefix sum."""
    n = vx.Dim("N")
    x = vx.Input("x", vx.float32, (n,))
    i = vx.Var("i")
    k = vx.RDom(i + 1, name="k")
    p = vx.Func("P")
    p[i] = vx.sum(x[k])
    q = vx.Func("Q", shape=(n,))
    q[i] = p[i] * 2 + p[n - 1 - i]
    return vx.Pipeline(q)


def _at_tiles(pipe):
    io, ii = vx.vars("io ii")
    s = vx.Schedule(pipe)
    s["Q"].split("i", io, ii, 8).gpu_blocks(io).gpu_threads(ii)
    s["P"].compute_at("Q", io)
    return s


@pytest.mark.parametrize("schedule", [vx.Schedule, _at_tiles], ids=["inline", "compute_at"])
def test_producers_inlined_and_computed_at(opencl_device, schedule):
    pipe = producer()
    kernel = vx.compile(pipe, schedule=schedule(pipe), target="opencl", device=opencl_device)
    for n in SIZES:
        x = np.random.default_rng(n).standard_normal(n).astype(np.float32)
        c = np.cumsum(x)
        np.testing.assert_allclose(pipe.reference(x=x), 2 * c + c[::-1], rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(kernel(x=x), 2 * c + c[::-1], rtol=1e-4, atol=1e-4)


def test_a_producers_update_computed_at_tiles(opencl_device):
    """P[i] = 0; P[i] += x[r] + sum of x[m] for m < i, r in [0, i]: P computed at Q's tiles
    (its update filled point by point, both loops bounded by the point's i)."""
    n = vx.Dim("N")
    x = vx.Input("x", vx.float32, (n,))
    i = vx.Var("i")
    r, m = vx.RDom(i + 1, name="r"), vx.RDom(i, name="m")
    p = vx.Func("P", shape=(n,))
    p[i] = vx.cast(vx.float32, 0)
    p[i] = p[i] + x[r] + vx.sum(x[m])
    q = vx.Func("Q", shape=(n,))
    q[i] = p[i] * 2
    pipe = vx.Pipeline(q)
    kernel = vx.compile(pipe, schedule=_at_tiles(pipe), target="opencl", device=opencl_device)
    for size in SIZES:
        xs = np.random.default_rng(size).standard_normal(size).astype(np.float32)
        c = np.cumsum(xs)
        want = 2 * (c + np.arange(1, size + 1) * np.concatenate([[0], c[:-1]]))
        np.testing.assert_allclose(pipe.reference(x=xs), want, rtol=1e-4, atol=1e-3)
        np.testing.assert_allclose(kernel(x=xs), want, rtol=1e-4, atol=1e-3)


def arg_pipes():
    """argmax of x over k in [0, i) (row 0 empty: its first point, 0) and argmin over the 2-D
    domain [0, 2) x [i, i + 3) (the flat position within each row's own domain)."""
    n = vx.Dim("N")
    x = vx.Input("x", vx.int32, (n + 3,))
    i = vx.Var("i")
    k = vx.RDom(i, name="k")
    rr = vx.RDom([(0, 2), (i, 3)], name="rr")
    a = vx.Func("amax", shape=(n,))
    a[i] = vx.argmax(x[k])
    b = vx.Func("amin", shape=(n,))
    b[i] = vx.argmin(x[rr[1]] * (1 - 2 * rr[0]))
    return vx.Pipeline(a, b)


def test_argmax_and_argmin_positions(opencl_device):
    pipe = arg_pipes()
    kernel = vx.compile(pipe, schedule=vx.Schedule(pipe), target="opencl", device=opencl_device)
    for n in SIZES:
        x = np.random.default_rng(n).integers(-5, 6, n + 3).astype(np.int32)
        amax = np.array([int(np.argmax(x[:t])) if t else 0 for t in range(n)], np.int32)
        amin = np.array([int(np.argmin(np.concatenate([x[t:t + 3], -x[t:t + 3]])))
                         for t in range(n)], np.int32)
        for got in (pipe.reference(x=x, N=n), kernel(x=x, N=n)):
            np.testing.assert_array_equal(got[0], amax, err_msg=f"N={n}")
            np.testing.assert_array_equal(got[1], amin, err_msg=f"N={n}")


# --- what is refused ----------------------------------------------------------------------------
def test_bounds_inference_sees_each_rows_range():
    """k in [0, i + 2) reads x[k] one past the end on the last row: a vx.BoundsError."""
    n = vx.Dim("N")
    x = vx.Input("x", vx.float32, (n,))
    i = vx.Var("i")
    k = vx.RDom(i + 2, name="k")
    f = vx.Func("over", shape=(n,))
    f[i] = vx.sum(x[k])
    with _raises(vx.BoundsError, "'over'", "x[k]", "[0, N]"):
        vx.Pipeline(f)


def test_bound_on_a_var_of_another_func():
    n = vx.Dim("N")
    x = vx.Input("x", vx.float32, (n,))
    i, j = vx.vars("i j")
    k = vx.RDom(j, name="k")
    f = vx.Func("f", shape=(n,))
    f[i] = vx.sum(x[k])
    with _raises(vx.TypeError, "RDom 'k' of 'f' has bounds depending on j",
                 "not a variable of the pure definition there (['i'])", ".where"):
        vx.Pipeline(f)


def test_bound_on_a_load():
    n = vx.Dim("N")
    x = vx.Input("x", vx.float32, (n,))
    m = vx.Input("m", vx.int32, (n,))
    i = vx.Var("i")
    k = vx.RDom(m[i], name="k")
    f = vx.Func("f", shape=(n,))
    f[i] = vx.sum(x[k])
    with _raises(vx.TypeError, "RDom 'k' of 'f' has bounds depending on the load m[i] from the "
                 "Input 'm', which declares no value range", "range=(lo, hi)"):
        vx.Pipeline(f)


def test_bound_on_an_rvar_out_of_scope():
    """k2's bound uses k, but the reduction over k2 is not inside the one over k."""
    n = vx.Dim("N")
    x = vx.Input("x", vx.float32, (n,))
    i = vx.Var("i")
    k = vx.RDom(n, name="k")
    k2 = vx.RDom(k + 1, name="k2")
    f = vx.Func("f", shape=(n,))
    f[i] = vx.sum(x[k]) + vx.sum(x[k2])
    with _raises(vx.TypeError, "RDom 'k2' of 'f' has bounds depending on k",
                 "not a variable of the pure definition there (['i'])"):
        vx.Pipeline(f)


def test_nested_reduction_bounded_by_the_outer_rvar(opencl_device):
    """f[i] = sum over k <= i of (sum over m <= k of x[m]): a pyramid, both loops bounded."""
    n = vx.Dim("N")
    x = vx.Input("x", vx.float32, (n,))
    i = vx.Var("i")
    k = vx.RDom(i + 1, name="k")
    m = vx.RDom(k + 1, name="m")
    f = vx.Func("f", shape=(n,))
    f[i] = vx.sum(vx.sum(x[m]), over=k)
    pipe = vx.Pipeline(f)
    kernel = vx.compile(pipe, schedule=vx.Schedule(pipe), target="opencl", device=opencl_device)
    for size in SIZES:
        xs = np.random.default_rng(size).standard_normal(size).astype(np.float32)
        want = np.cumsum(np.cumsum(xs))
        np.testing.assert_allclose(pipe.reference(x=xs), want, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(kernel(x=xs), want, rtol=1e-4, atol=1e-4)


def test_update_reading_across_the_var():
    """An update reading f at another point along i runs its RDom loop outside i's."""
    n = vx.Dim("N")
    i = vx.Var("i")
    r = vx.RDom(i, name="r")
    f = vx.Func("f", shape=(n,))
    f[i] = vx.cast(vx.float32, 1)
    f[i] = f[i] + f[r]
    with _raises(vx.TypeError, "RDom 'r' of update 1 of 'f' has bounds depending on i",
                 "reads f at another point along i", "f[r]", ".where"):
        vx.Pipeline(f)


def _lowered(pipe, fn):
    s = vx.Schedule(pipe)
    fn(s)
    return driver.lower(pipe, s)


REFUSED = [
    ("reorder", trimatmul, lambda s: s["C"].reorder("k", "i", "j"),
     ("reorder(k, i, j) on Func 'C'", "RDom loop k has bounds depending on i",
      "cannot be reordered outside i", "keep k's loops inside i's")),
    ("reorder_split", trimatmul,
     lambda s: s["C"].split("i", "io", "ii", 4).reorder("io", "k", "ii", "j"),
     ("cannot be reordered outside ii",)),
    ("threads", trimatmul, lambda s: s["C"].split("k", "ko", "ki", 4).gpu_threads("ki"),
     ("gpu_threads(ki) on Func 'C'", "its loop ki cannot be bound to GPU blocks or threads")),
    ("fuse", trimatmul, lambda s: s["C"].split("k", "ko", "ki", 4).fuse("ko", "ki", "kk"),
     ("fuse(ko, ki, kk) on Func 'C'", "it cannot be fused")),
    ("stage", trimatmul, lambda s: s["C"].split("i", "io", "ii", 4).split("j", "jo", "ji", 4)
     .reorder("io", "jo", "ii", "ji", "k").gpu_blocks("io", "jo").gpu_threads("ii", "ji")
     .stage("L", at="k"), ("on Func 'C'", "staging reads of a reduction over such a domain")),
    ("mma", trimatmul, lambda s: s["C"].split("i", "io", "ii", 16).split("j", "jo", "ji", 8)
     .split("k", "ko", "ki", 8).reorder("io", "jo", "ko", "ii", "ji", "ki")
     .mma("ii", "ji", "ki"), ("cannot be reordered outside ii",)),
    ("update_blocks", band_update, lambda s: s["f"].update(0).atomic().gpu_blocks("r"),
     ("gpu_blocks(r) on Func 'f.update(0)'", "RDom loop r has bounds depending on i")),
    ("update_reorder", band_update, lambda s: s["f"].update(0).reorder("r", "i"),
     ("reorder(r, i) on Func 'f.update(0)'", "cannot be reordered outside i")),
    ("rfactor", band_update, lambda s: s["f"].update(0).rfactor("r", "u"),
     ("rfactor(r, u) on Func 'f.update(0)'", "RDom 'r' has bounds depending on i",
      "rfactor cannot split it")),
    ("unroll", trimatmul, lambda s: s["C"].unroll("k"),
     ("unroll(k) on Func 'C'", "the extent i + 1 of 'k' is not a constant")),
]


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c[0])
def test_schedules_that_cannot_keep_the_loop_inside_are_refused(case):
    _, build, fn, parts = case
    with _raises(vx.ScheduleError, *parts):
        _lowered(build(), fn)


# --- offline compiles ---------------------------------------------------------------------------
def test_compiles_for_cuda_and_hip(offline):
    _, build = offline
    for make in (trimatmul, band, prefix, band_update, trisolve):
        pipe = make()
        assert build(pipe).binary
    pipe = trimatmul()
    assert build(pipe, gpu_split_k(pipe)).binary
    pipe = band_update()
    assert build(pipe, update_gpu(pipe)).binary
