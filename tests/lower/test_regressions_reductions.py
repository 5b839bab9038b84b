"""Regressions in inlining, inline reductions, update definitions and Param RDom extents (issue 10;
the reproducers C, G, M, N and P of ../shared/repro/lowering). Each case runs on PoCL against
``pipe.reference`` at awkward sizes, and compiles for CUDA sm_90 and HIP gfx90a where it
generates code the others do not.

- C: an update whose index holds an inlined Func with an inline reduction dropped the reduction's
  loop (undeclared accumulator).
- G: a ``where`` predicate reading an inlined Func (an intermediate, a boundary condition) was
  lowered without inlining it (bare KeyError).
- M: the ``where`` predicate of an inlined Func's reduction kept the consumer's pure Var instead of
  the Func's point (wrong result).
- N: an inlined reduction over the consumer's own RDom (Halide's nl_means) took the consumer's
  loop counter (wrong result): inlining gives each inlined reduction a domain of its own.
- P: an RDom extent from a ranged ``vx.Param`` is a kernel scalar like any other extent; a Param
  without a range as an RDom bound is refused when the Pipeline is built.
"""
import numpy as np
import pytest

import vortex as vx


def run(pipe, device, schedule=None, **args):
    """The kernel's result and the reference's, for one call."""
    s = schedule if schedule is not None else vx.Schedule(pipe)
    kernel = vx.compile(pipe, schedule=s, target="opencl", device=device)
    return kernel(**args), pipe.reference(**args)


# --- C: an update index with an inline reduction -----------------------------------------------
def normalised_histogram():
    """hist[clamp(v[r] - min(v), 0, 3)] += 1: the index reads an inlined Func that reduces."""
    n = vx.Dim("N")
    x, b = vx.vars("x b")
    v = vx.Input("v", vx.int32, (n,))
    k = vx.RDom(n, name="k")
    g = vx.Func("g")
    g[x] = vx.clamp(v[x] - vx.minimum(v[k]), 0, 3)
    r = vx.RDom(n, name="r")
    hist = vx.Func("hist", shape=(4,))
    hist[b] = 0
    hist[g[r]] += 1
    return vx.Pipeline(hist)


@pytest.mark.parametrize("n", [1, 5, 37])
def test_update_index_with_inline_reduction(opencl_device, n):
    rng = np.random.default_rng(n)
    v = rng.integers(-5, 9, n).astype(np.int32)
    if n == 5:
        v = np.array([5, 3, 9, 4, 3], np.int32)
    got, want = run(normalised_histogram(), opencl_device, v=v)
    assert np.array_equal(got, want)
    if n == 5:
        assert list(want) == [2, 1, 1, 1]


def test_update_over_the_rdom_its_inlined_index_reduces_over(opencl_device):
    """hist[g[q]] += 1 where g reduces over q too: g's reduction keeps its own counter."""
    n = vx.Dim("N")
    x, b = vx.vars("x b")
    v = vx.Input("v", vx.int32, (n,))
    q = vx.RDom(n, name="q")
    g = vx.Func("g")
    g[x] = vx.clamp(v[x] - vx.minimum(v[q]), 0, 3)
    q.where(v[q] != 4)
    hist = vx.Func("hist", shape=(4,))
    hist[b] = 0
    hist[g[q]] += g[q] + 1
    pipe = vx.Pipeline(hist)
    kernel = vx.compile(pipe, schedule=vx.Schedule(pipe), target="opencl", device=opencl_device)
    for size in (1, 5, 37):
        v_np = np.random.default_rng(size).integers(0, 7, size).astype(np.int32)
        np.testing.assert_array_equal(kernel(v=v_np), pipe.reference(v=v_np))


def test_update_index_with_inline_reduction_compiles_offline(offline):
    _, build = offline
    assert build(normalised_histogram()).binary   # NVRTC/hiprtc produced a code object


# --- G: where() reading an inlined Func -------------------------------------------------------
def where_reads_inlined(boundary: bool):
    """f[x] = a[x] + sum of a[r] over r where g[r] > 0; g an inlined intermediate (or, with
    ``boundary``, repeat_edge(a) read one step to the left)."""
    n = vx.Dim("N")
    x = vx.Var("x")
    a = vx.Input("a", vx.float32, (n,))
    g = vx.Func("g")
    g[x] = a[x] * 2
    r = vx.RDom(n, name="r")
    r.where(vx.repeat_edge(a)[r - 1] > 0 if boundary else g[r] > 0)
    f = vx.Func("f", shape=(n,))
    f[x] = a[x] + vx.sum(a[r])
    return vx.Pipeline(f)


@pytest.mark.parametrize("boundary", [False, True])
@pytest.mark.parametrize("n", [1, 3, 37])
def test_where_reads_inlined_func(opencl_device, boundary, n):
    v = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    if n == 3:
        v = np.array([1, -2, 3], np.float32)
    got, want = run(where_reads_inlined(boundary), opencl_device, a=v)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    if n == 3 and not boundary:
        np.testing.assert_array_equal(want, [5, 2, 7])


def test_where_of_an_inlined_reduction_reads_inlined_func(opencl_device):
    """The predicate sits on the reduction of an inlined Func h, and reads another inlined
    Func g: both are substituted."""
    n = vx.Dim("N")
    x = vx.Var("x")
    a = vx.Input("a", vx.float32, (n,))
    g = vx.Func("g")
    g[x] = a[x] - 0.5
    r = vx.RDom(n, name="r")
    r.where(g[r] > 0)
    h = vx.Func("h")
    h[x] = vx.sum(a[r]) + x
    f = vx.Func("f", shape=(n,))
    f[x] = h[x] * 2
    pipe = vx.Pipeline(f)
    v = np.linspace(-1, 2, 11).astype(np.float32)
    got, want = run(pipe, opencl_device, a=v)
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_where_reads_inlined_func_compiles_offline(offline):
    _, build = offline
    assert build(where_reads_inlined(True)).binary   # NVRTC/hiprtc produced a code object


def test_where_reading_its_own_func_is_refused():
    """A pure definition reducing over a domain whose predicate reads the Func itself is a
    recursive definition (the lowering recursed without end, the reference raised KeyError)."""
    n = vx.Dim("N")
    x = vx.Var("x")
    v = vx.Input("v", vx.int32, (n,))
    r = vx.RDom(n, name="r")
    h = vx.Func("h")
    h[x] = vx.sum(v[r])
    r.where(h[r] > 0)
    f = vx.Func("f", shape=(n,))
    f[x] = h[x]
    with pytest.raises(vx.TypeError) as info:
        vx.Pipeline(f)
    assert "Func 'h' reads itself in a where() predicate of RDom 'r'" in str(info.value)
    assert "update definition" in str(info.value)


@pytest.mark.parametrize("dtype", [vx.uint8, vx.int8, vx.uint16, vx.uint32])
def test_where_on_a_narrow_or_unsigned_value_is_kept(opencl_device, dtype):
    """r.where(cast(uint8, v) >= 16): the 'prove guards' pass took the difference
    cast(uint8, v) - 16 in uint8, whose wrapped range [0, 255] "proved" the guard (fuzz case
    4242:93; the predicate was dropped: wrong result)."""
    c, h, w = vx.dims("C H W")
    y, x = vx.vars("y x")
    a = vx.Input("a", vx.int32, (c, h, w))
    g = vx.Func("g")
    g[y, x] = vx.cast(dtype, a[0, y, x])
    r = vx.RDom(c, name="r")
    r.where(vx.cast(dtype, a[r, y, x]) >= 16)
    r.where(g[y, x] < 100)
    out = vx.Func("out", shape=(h, w))
    out[y, x] = vx.sum(a[r, y, x])
    pipe = vx.Pipeline(out)
    v = np.array([-5, 3, 20, 300, -300, 17, 250], np.int32).reshape(7, 1, 1)
    v = np.concatenate([v, v[::-1]], axis=2)
    got, want = run(pipe, opencl_device, a=v)
    np.testing.assert_array_equal(got, want)


def test_where_on_a_var_the_reducing_func_lacks_is_refused():
    """r.where(r < y) reduced by g[x]: y means nothing at g's points (the reference raised a
    bare KeyError; inlined, the kernel read the consumer's y)."""
    n = vx.Dim("N")
    x, y = vx.vars("x y")
    a = vx.Input("a", vx.float32, (n,))
    r = vx.RDom(n, name="r")
    r.where(r < y)
    g = vx.Func("g")
    g[x] = vx.sum(a[r]) + x
    f = vx.Func("f", shape=(n,))
    f[y] = g[y]
    with pytest.raises(vx.TypeError) as info:
        vx.Pipeline(f)
    assert "RDom 'r'.where(r < y) uses Var(s) ['y']" in str(info.value)
    assert "the pure definition of 'g'" in str(info.value) and "['x']" in str(info.value)


# --- M: an inlined where() predicate on a pure Var -------------------------------------------
def inlined_predicate_on_pure_var(consumer_var: str):
    """g[x] = sum of a[r, x] over rows r with a[r, x] != a[0, x]; f[c] = g[W - 1 - c]."""
    h, w = vx.dims("H W")
    x, c = vx.Var("x"), vx.Var(consumer_var)
    a = vx.Input("a", vx.float32, (h, w))
    r = vx.RDom(h, name="r")
    r.where(a[r, x] != a[0, x])
    g = vx.Func("g")
    g[x] = vx.sum(a[r, x])
    f = vx.Func("f", shape=(w,))
    f[c] = g[w - 1 - c]
    return vx.Pipeline(f)


@pytest.mark.parametrize("consumer_var", ["x", "y"])
@pytest.mark.parametrize("shape", [(1, 1), (3, 3), (7, 13)])
def test_inlined_where_predicate_substitutes_pure_var(opencl_device, consumer_var, shape):
    rng = np.random.default_rng(shape[1])
    v = rng.integers(0, 3, shape).astype(np.float32)
    if shape == (3, 3):
        v = np.array([[1, 2, 3], [1, 5, 3], [4, 2, 3]], np.float32)
    got, want = run(inlined_predicate_on_pure_var(consumer_var), opencl_device, a=v)
    np.testing.assert_array_equal(got, want)
    if shape == (3, 3):
        np.testing.assert_array_equal(want, [0, 5, 4])


def test_inlined_where_predicate_compiles_offline(offline):
    _, build = offline
    assert build(inlined_predicate_on_pure_var("y")).binary   # NVRTC/hiprtc produced a code object


# --- N: nested reductions over one RDom ------------------------------------------------------
def box_of_box():
    """g[x] = sum_r inner[x + r], inner[x] = sum_r src[x + r]: one RDom for both (nl_means)."""
    n = vx.Dim("N")
    x = vx.Var("x")
    a = vx.Input("a", vx.float32, (n,))
    src = vx.repeat_edge(a)
    r = vx.RDom(3, name="r")
    inner = vx.Func("inner")
    inner[x] = vx.sum(src[x + r])
    g = vx.Func("g", shape=(n,))
    g[x] = vx.sum(inner[x + r])
    return vx.Pipeline(g)


def box_of_box_numpy(v):
    n = len(v)
    src = np.pad(v, (0, 4), mode="edge")
    inner = np.array([src[i:i + 3].sum() for i in range(n + 2)], np.float32)
    return np.array([inner[i:i + 3].sum() for i in range(n)], np.float32)


@pytest.mark.parametrize("n", [1, 8, 37])
def test_nested_reductions_over_one_rdom(opencl_device, n):
    v = (np.arange(1, n + 1, dtype=np.float32) ** 2)
    got, want = run(box_of_box(), opencl_device, a=v)
    np.testing.assert_allclose(want, box_of_box_numpy(v), rtol=1e-6)
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_nested_reductions_over_one_2d_rdom_and_a_schedule(opencl_device):
    """A 2-D patch RDom shared by an inlined box filter and its consumer, under gpu_tile."""
    h, w = vx.dims("H W")
    y, x, yo, xo, yi, xi = vx.vars("y x yo xo yi xi")
    a = vx.Input("a", vx.float32, (h, w))
    src = vx.repeat_edge(a)
    p = vx.RDom([(-1, 3), (-1, 3)], name="p")
    blur = vx.Func("blur")
    blur[y, x] = vx.sum(src[y + p[0], x + p[1]])
    out = vx.Func("out", shape=(h, w))
    out[y, x] = vx.maximum(blur[y + p[1], x - p[0]])
    pipe = vx.Pipeline(out)
    s = vx.Schedule(pipe)
    s[out].gpu_tile(y, x, yo, xo, yi, xi, 4, 8)
    v = np.random.default_rng(0).standard_normal((7, 13)).astype(np.float32)
    got, want = run(pipe, opencl_device, s, a=v)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_nested_reductions_get_distinct_counters():
    source = vx.source(box_of_box(), vx.Schedule(box_of_box()), target="opencl")
    assert "r_inner" in source          # the inlined reduction's own loop, named after 'inner'


def test_nested_reductions_compile_offline(offline):
    _, build = offline
    assert build(box_of_box()).binary   # NVRTC/hiprtc produced a code object


# --- a reduction over a one-point RDom ----------------------------------------------------
def one_point_reduction():
    """out[x] = ~max of |a[x + r]| over r in [0, 1), shifted: the reduction loop has one trip."""
    w = vx.Dim("W")
    x = vx.Var("x")
    a = vx.Input("a", vx.int32, (w,))
    r = vx.RDom([(0, 1)], name="r")
    out = vx.Func("out", shape=(w,))
    out[x] = (~vx.maximum(vx.abs(vx.mirror_interior(a)[x + r]))) + a[vx.clamp(x - 1, 0, w - 1)]
    return vx.Pipeline(out)


def one_point_schedules(pipe):
    xo, xi = vx.vars("xo xi")
    tiled = vx.Schedule(pipe)
    tiled["out"].gpu_tile("x", xo, xi, 8)
    return {"default": vx.Schedule(pipe), "gpu_tile": tiled}


@pytest.mark.parametrize("schedule", ["default", "gpu_tile"])
def test_one_point_reduction(opencl_device, schedule):
    """The simplifier replaced the one-trip reduction loop by its body in the enclosing C scope,
    which then declared the consumer's coordinate twice (fuzz 4242:121/125/72: 'redefinition
    of x'); the body's locals are renamed where they clash."""
    pipe = one_point_reduction()
    s = one_point_schedules(pipe)[schedule]
    for n in (1, 7, 31):
        v = np.random.default_rng(n).integers(-9, 9, n).astype(np.int32)
        got, want = run(pipe, opencl_device, s, a=v)
        np.testing.assert_array_equal(got, want)


def test_one_point_reduction_compiles_offline(offline):
    _, build = offline
    pipe = one_point_reduction()
    for s in one_point_schedules(pipe).values():
        assert build(pipe, s).binary   # NVRTC/hiprtc produced a code object


# --- P: RDom extents from Params ------------------------------------------------------------
def param_window(dtype=vx.int32):
    """f[x] = sum of src[x + r] over r < w, with w a run-time Param in [1, 8]."""
    n = vx.Dim("N")
    x = vx.Var("x")
    a = vx.Input("a", vx.float32, (n,))
    w = vx.Param("w", dtype, range=(1, 8))
    r = vx.RDom(w, name="r")
    f = vx.Func("f", shape=(n,))
    f[x] = vx.sum(vx.repeat_edge(a)[x + r])
    return vx.Pipeline(f)


def split_schedule(pipe):
    xo, xi, ro, ri = vx.vars("xo xi ro ri")
    s = vx.Schedule(pipe)
    s["f"].split("x", xo, xi, 8).gpu_blocks(xo).gpu_threads(xi).split("r", ro, ri, 3)
    return s


@pytest.mark.parametrize("dtype", [vx.int32, vx.int16])
@pytest.mark.parametrize("split", [False, True])
def test_param_rdom_extent(opencl_device, dtype, split):
    pipe = param_window(dtype)
    kernel = vx.compile(pipe, schedule=split_schedule(pipe) if split else vx.Schedule(pipe),
                        target="opencl", device=opencl_device)
    for n, w in [(1, 1), (10, 3), (37, 8), (37, 7)]:
        v = np.arange(n, dtype=np.float32) ** 2
        want = pipe.reference(a=v, w=w)
        expect = np.array([np.pad(v, (0, w), mode="edge")[i:i + w].sum() for i in range(n)])
        np.testing.assert_allclose(want, expect, rtol=1e-6)
        np.testing.assert_allclose(kernel(a=v, w=w), want, rtol=1e-6)


def test_param_rdom_min_and_update(opencl_device):
    """A Param as an RDom's min, and as the extent of an update's RDom."""
    a = vx.Input("a", vx.float32, (16,))
    b = vx.Var("b")
    lo = vx.Param("lo", vx.int32, range=(0, 4))
    n = vx.Param("n", vx.int32, range=(0, 12))
    r = vx.RDom([(lo, n)], name="r")
    out = vx.Func("out", shape=(16,))
    out[b] = a[b]
    out[r] += 1.0
    pipe = vx.Pipeline(out)
    v = np.arange(16, dtype=np.float32)
    kernel = vx.compile(pipe, schedule=vx.Schedule(pipe), target="opencl", device=opencl_device)
    for lo_v, n_v in [(0, 0), (0, 12), (4, 12), (3, 5)]:
        want = pipe.reference(a=v, lo=lo_v, n=n_v)
        expect = v.copy()
        expect[lo_v:lo_v + n_v] += 1
        np.testing.assert_array_equal(want, expect)
        np.testing.assert_array_equal(kernel(a=v, lo=lo_v, n=n_v), want)


@pytest.mark.parametrize("op", [vx.maximum, vx.minimum, vx.argmax])
def test_param_rdom_extent_may_be_empty(opencl_device, op):
    """w = 0 empties the inner dimension of a 2-D domain: the reduction is its identity (the
    reference's numpy max/min/argmax over an empty axis raised ValueError)."""
    n = vx.Dim("N")
    x = vx.Var("x")
    a = vx.Input("a", vx.float32, (n,))
    w = vx.Param("w", vx.int32, range=(0, 4))
    r = vx.RDom([(0, 3), (0, w)], name="r")
    f = vx.Func("f", shape=(n,))
    f[x] = vx.cast(vx.float32, op(vx.repeat_edge(a)[x + r[0] + r[1]]))
    pipe = vx.Pipeline(f)
    kernel = vx.compile(pipe, schedule=vx.Schedule(pipe), target="opencl", device=opencl_device)
    v = np.random.default_rng(1).standard_normal(9).astype(np.float32)
    for w_v in (0, 1, 4):
        np.testing.assert_array_equal(kernel(a=v, w=w_v), pipe.reference(a=v, w=w_v))
    empty = {vx.maximum: -np.inf, vx.minimum: np.inf, vx.argmax: 0}[op]
    np.testing.assert_array_equal(pipe.reference(a=v, w=0), np.full(9, empty, np.float32))


def test_param_rdom_extent_is_a_kernel_argument():
    source = vx.source(param_window(), vx.Schedule(param_window()), target="opencl")
    # the loop over r ends at w: partitioned (its clamps), the epilogue runs up to w
    assert "const int w" in source and "r < r_p0_hi + (w - r_p0_hi)" in source


def test_param_rdom_extent_compiles_offline(offline):
    _, build = offline
    pipe = param_window()
    assert build(pipe, split_schedule(pipe)).binary   # NVRTC/hiprtc produced a code object


def test_param_rdom_extent_without_range_is_refused():
    n = vx.Dim("N")
    x = vx.Var("x")
    a = vx.Input("a", vx.float32, (n,))
    w = vx.Param("w", vx.int32)
    r = vx.RDom(w, name="r")
    f = vx.Func("f", shape=(n,))
    f[x] = vx.sum(vx.repeat_edge(a)[x + r])
    with pytest.raises(vx.TypeError) as info:
        vx.Pipeline(f)
    msg = str(info.value)
    assert "RDom 'r' of 'f'" in msg and "Param 'w'" in msg and "no declared range" in msg
    assert "vx.Param('w', vx.int32, range=(lo, hi))" in msg
