"""Regressions in ``stage`` and ``compute_at`` (issue 10; the reproducers A, B, H, H2, I and J of
../shared/repro/lowering). Each case runs on PoCL against ``pipe.reference`` at awkward sizes,
compiles for CUDA sm_90 and HIP gfx90a where it generates code the others do not, and each
refusal is a vx.ScheduleError whose text is checked.

- A: ``stage`` of a Func computed inline (no buffer to copy) crashed with a bare IndexError.
- B: a staged source read outside the staged loop (after a reduction) used the tile where it is
  not declared (C compiler error); reads outside the loop now read the source itself, and a
  loop holding no read of the source is refused. A tile staged at a GPU-bound loop was never
  copied at all: it is now copied once, in the kernel's prologue.
- H: the tile's footprint ignored the reads in the RDom's ``where`` predicate (``a[0]`` next to
  ``a[r]``): an out-of-bounds read of the tile, a wrong argmax.
- H2: the same for a ``compute_at`` buffer: the read of ``src[0]`` gets a box of its own.
- I: ``compute_at`` of a Func with update definitions dropped the updates (wrong result); the
  updates that write and read the Func at their own point are applied at the site, the others
  are refused by ``compute_at``.
- J: ``stage`` of a Func computed with ``compute_at`` (no global buffer) crashed with KeyError.
"""
import numpy as np
import pytest

import vortex as vx

x, y = vx.vars("x y")


def run(pipe, device, schedule, **args):
    """The kernel's result and the reference's, for one call."""
    kernel = vx.compile(pipe, schedule=schedule, target="opencl", device=device)
    return kernel(**args), pipe.reference(**args)


# --- A and J: stage needs a source with a global buffer -----------------------------------------
def scaled():
    """f[x] = g[x] + 1 with g[x] = a[x] * 2 (an intermediate: inline by default)."""
    n = vx.Dim("N")
    a = vx.Input("a", vx.float32, (n,))
    g = vx.Func("g")
    g[x] = a[x] * 2
    f = vx.Func("f", shape=(n,))
    f[x] = g[x] + 1
    return vx.Pipeline(f)


def test_stage_of_an_inlined_func_is_refused():
    pipe = scaled()
    s = vx.Schedule(pipe)
    s["f"].stage("g", at="x")
    with pytest.raises(vx.ScheduleError, match=r"stage\(g, x.*on Func 'f': 'g' is computed inline"
                       r".*no buffer to copy from; compute it at root"):
        vx.source(pipe, s, target="opencl")


@pytest.mark.parametrize("n", [1, 7, 37])
def test_stage_of_a_root_func_and_of_what_an_inlined_func_reads(opencl_device, n):
    pipe = scaled()
    a = np.random.default_rng(n).random(n, np.float32)
    for source, root in (("g", True), ("a", False)):
        s = vx.Schedule(pipe)
        s["f"].gpu_tile(x, "xo", "xi", 4).stage(source, at="xo")
        if root:
            s["g"].compute_root()
        got, want = run(pipe, opencl_device, s, a=a)
        np.testing.assert_allclose(got, want)


def summed_window():
    """f[x] = sum over r in [-1, 2) of g[x + r], g an intermediate of a boundary condition."""
    n = vx.Dim("N")
    a = vx.Input("a", vx.float32, (n,))
    src = vx.repeat_edge(a)
    g = vx.Func("g")
    g[x] = src[x] * 2
    r = vx.RDom([(-1, 3)], name="r")
    f = vx.Func("f", shape=(n,))
    f[x] = vx.sum(g[x + r])
    return vx.Pipeline(f)


def test_stage_of_a_compute_at_func_is_refused():
    pipe = summed_window()
    s = vx.Schedule(pipe)
    s["g"].compute_at("f", "r")
    s["f"].stage("g", at="r", memory="register")
    with pytest.raises(vx.ScheduleError, match=r"stage\(g, r.*on Func 'f': 'g' is computed with "
                       r"compute_at\(f, r\), so it has no global buffer.*compute_root\(\)"):
        vx.source(pipe, s, target="opencl")


# --- B: reads of a staged source outside the staged loop ----------------------------------------
def sum_plus(outside_only: bool):
    """f[x] = sum(b[r] (* a[r])) + a[x]: ``a`` read after the reduction over r (and in it)."""
    n = vx.Dim("N")
    a = vx.Input("a", vx.float32, (n,))
    b = vx.Input("b", vx.float32, (n,))
    r = vx.RDom(n, name="r")
    f = vx.Func("f", shape=(n,))
    f[x] = vx.sum(b[r] if outside_only else b[r] * a[r]) + a[x]
    return vx.Pipeline(f)


def staged_at_r(pipe, memory="shared"):
    s = vx.Schedule(pipe)
    s["f"].gpu_tile(x, "xo", "xi", 4).stage("a", at="r", memory=memory)
    return s


def test_stage_at_a_loop_without_reads_of_the_source_is_refused():
    pipe = sum_plus(outside_only=True)
    with pytest.raises(vx.ScheduleError, match=r"stage\(a, at=r\) on Func 'f': no read of 'a' "
                       r"runs inside loop 'r'.*stage 'a' at a loop that holds its reads"):
        vx.source(pipe, staged_at_r(pipe), target="opencl")


@pytest.mark.parametrize("memory", ["shared", "register"])
@pytest.mark.parametrize("n", [1, 5, 13])
def test_staged_source_read_outside_its_loop_reads_the_source(opencl_device, memory, n):
    pipe = sum_plus(outside_only=False)
    rng = np.random.default_rng(n)
    a, b = rng.random(n, np.float32), rng.random(n, np.float32)
    got, want = run(pipe, opencl_device, staged_at_r(pipe, memory), a=a, b=b)
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_staged_source_read_outside_its_loop_compiles_offline(offline):
    _, build = offline
    pipe = sum_plus(outside_only=False)
    source = build(pipe, staged_at_r(pipe)).source
    assert "a_sh[" in source and "a[x]" in source.replace(" ", "")


def blur3():
    """out[y, x] = e[y - 1, x] + e[y, x] + e[y + 1, x + 1], e = repeat_edge(img) at root."""
    h, w = vx.dims("H W")
    img = vx.Input("img", vx.float32, (h, w))
    e = vx.repeat_edge(img)
    out = vx.Func("out", shape=(h, w))
    out[y, x] = e[y - 1, x] + e[y, x] + e[y + 1, x + 1]
    return vx.Pipeline(out), e.name


def staged_at_gpu_loop(memory, at):
    pipe, e = blur3()
    s = vx.Schedule(pipe)
    s[e].compute_root()
    s["out"].gpu_tile(y, x, "yo", "xo", "yi", "xi", 4, 8).stage(e, at=at, memory=memory)
    s["out"].specialize(vx.divisible(vx.Dim("W"), 8))
    return pipe, s


@pytest.mark.parametrize("memory, at", [("shared", "xo"), ("register", "xo"), ("register", "xi")])
@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (9, 16)])
def test_stage_at_a_gpu_loop_copies_the_tile_once(opencl_device, memory, at, shape):
    pipe, s = staged_at_gpu_loop(memory, at)
    img = np.random.default_rng(shape[0]).random(shape, np.float32)
    got, want = run(pipe, opencl_device, s, img=img)
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_stage_at_a_gpu_loop_compiles_offline(offline):
    _, build = offline
    assert build(*staged_at_gpu_loop("shared", "xo")).binary   # NVRTC/hiprtc produced a code object


def test_shared_stage_at_a_thread_loop_is_refused():
    pipe, e = blur3()
    s = vx.Schedule(pipe)
    s[e].compute_root()
    s["out"].gpu_tile(y, x, "yo", "xo", "yi", "xi", 4, 8).stage(e, at="xi")
    with pytest.raises(vx.ScheduleError, match=r"stage\(.*xi.*on Func 'out': loop 'xi' is bound "
                       r"to gpu_threads.*no tile to share.*memory='register'"):
        s.validate()


def test_pipeline_of_a_gpu_loop_is_refused():
    pipe, e = blur3()
    s = vx.Schedule(pipe)
    s[e].compute_root()
    s["out"].gpu_tile(y, x, "yo", "xo", "yi", "xi", 4, 8).stage(e, at="xo").pipeline("xo")
    with pytest.raises(vx.ScheduleError, match=r"pipeline\(xo.*on Func 'out': loop 'xo' is bound "
                       r"to gpu_blocks.*no next iteration to prefetch; pipeline a serial loop"):
        s.validate()


# --- H and H2: reads in the where() predicate at another point ----------------------------------
def argmax_unlike_first():
    """f[0] = argmax over r with a[r] != a[0] of a[r]."""
    n = vx.Dim("N")
    a = vx.Input("a", vx.int32, (n,))
    r = vx.RDom(n, name="r")
    r.where(a[r] != a[0])
    f = vx.Func("f", shape=(1,))
    f[x] = vx.argmax(a[r])
    return vx.Pipeline(f)


def staged_argmax(memory):
    pipe = argmax_unlike_first()
    s = vx.Schedule(pipe)
    s["f"].stage("a", at="r", memory=memory)
    return pipe, s


@pytest.mark.parametrize("memory", ["register", "shared"])
def test_stage_covers_the_where_predicate(opencl_device, memory):
    pipe, s = staged_argmax(memory)
    kernel = vx.compile(pipe, schedule=s, target="opencl", device=opencl_device)
    v = np.array([5, 1, 5, 9, 2, 5], np.int32)
    assert list(kernel(a=v)) == list(pipe.reference(a=v)) == [3]
    rng = np.random.default_rng(0)
    for n in (1, 2, 7, 19, 37):
        w = rng.integers(0, 4, n).astype(np.int32)
        assert np.array_equal(kernel(a=w), pipe.reference(a=w)), w


def test_stage_covers_the_where_predicate_compiles_offline(offline):
    _, build = offline
    assert build(*staged_argmax("shared")).binary   # NVRTC/hiprtc produced a code object


def windowed_min():
    """f[x] = min over r in [-2, 3) of src[x + r] where src[x + r] > src[0] (src: repeat_edge)."""
    n = vx.Dim("N")
    a = vx.Input("a", vx.float32, (n,))
    src = vx.repeat_edge(a)
    r = vx.RDom([(-2, 5)], name="r")
    r.where(src[x + r] > src[0])
    f = vx.Func("f", shape=(n,))
    f[x] = vx.minimum(src[x + r])
    return vx.Pipeline(f), src.name


@pytest.mark.parametrize("n", [1, 5, 37])
def test_compute_at_reduction_loop_covers_the_where_predicate(opencl_device, n):
    """Repro H2: the producer computed at r is read at src[r] and src[0]: two boxes."""
    n_ = vx.Dim("N")
    a = vx.Input("a", vx.float32, (n_,))
    src = vx.repeat_edge(a)
    r = vx.RDom(n_, name="r")
    r.where(src[r] != src[0])
    f = vx.Func("f", shape=(1,))
    f[x] = vx.minimum(src[r])
    pipe = vx.Pipeline(f)
    s = vx.Schedule(pipe)
    s[src].compute_at(f, "r")
    v = np.array([1, 5, 3, 1, 4], np.float32) if n == 5 else \
        np.random.default_rng(n).integers(0, 3, n).astype(np.float32)
    got, want = run(pipe, opencl_device, s, a=v)
    np.testing.assert_array_equal(got, want)
    if n == 5:
        assert list(got) == [3.0]


def window_schedule(shared: bool):
    pipe, src = windowed_min()
    s = vx.Schedule(pipe)
    s["f"].gpu_tile(x, "xo", "xi", 8)
    s[src].compute_at("f", "xo" if shared else "xi")
    if shared:
        s[src].store_in("shared")
    return pipe, s


@pytest.mark.parametrize("shared", [True, False])
@pytest.mark.parametrize("n", [1, 7, 37])
def test_compute_at_tile_covers_the_where_predicate(opencl_device, shared, n):
    pipe, s = window_schedule(shared)
    a = np.random.default_rng(n).random(n, np.float32)
    got, want = run(pipe, opencl_device, s, a=a)
    np.testing.assert_array_equal(got, want)


def test_compute_at_tile_covers_the_where_predicate_compiles_offline(offline):
    _, build = offline
    assert build(*window_schedule(shared=True)).binary   # NVRTC/hiprtc produced a code object


# --- I: compute_at of a Func with update definitions --------------------------------------------
def doubled(with_rdom: bool):
    """h[x] = a[x]; h[x] = h[x] * 2 (or h[x] * 0.5 + b[r] where b[r] > 0.3); out = h + 1."""
    n = vx.Dim("N")
    a = vx.Input("a", vx.float32, (n,))
    h = vx.Func("h", shape=(n,))
    h[x] = a[x]
    if with_rdom:
        b = vx.Input("b", vx.float32, (8,))
        r = vx.RDom(8, name="r")
        r.where(b[r] > 0.3)
        h[x] = h[x] * 0.5 + b[r]
        h[x] = h[x] - 1
    else:
        h[x] = h[x] * 2
    out = vx.Func("out", shape=(n,))
    out[x] = h[x] + 1
    return vx.Pipeline(out)


def doubled_at(pipe, memory):
    s = vx.Schedule(pipe)
    s["out"].gpu_tile(x, "xo", "xi", 4)
    s["h"].compute_at("out", "xo")
    if memory:
        s["h"].store_in(memory)
    return s


@pytest.mark.parametrize("with_rdom", [False, True])
@pytest.mark.parametrize("memory", [None, "shared"])
@pytest.mark.parametrize("n", [1, 6, 13])
def test_compute_at_applies_update_definitions(opencl_device, with_rdom, memory, n):
    pipe = doubled(with_rdom)
    rng = np.random.default_rng(n)
    args = {"a": rng.random(n, np.float32)}
    if with_rdom:
        args["b"] = rng.random(8).astype(np.float32)
    got, want = run(pipe, opencl_device, doubled_at(pipe, memory), **args)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    if not with_rdom:
        np.testing.assert_allclose(got, 2 * args["a"] + 1)


def test_compute_at_applies_update_definitions_compiles_offline(offline):
    _, build = offline
    pipe = doubled(with_rdom=True)
    assert build(pipe, doubled_at(pipe, "shared")).binary   # NVRTC/hiprtc produced a code object


def test_compute_at_of_a_scattering_update_is_refused():
    """A histogram writes hist[v[r]], away from the point a compute_at site computes."""
    n = vx.Dim("N")
    v = vx.Input("v", vx.uint8, (n,))
    r = vx.RDom(n, name="r")
    b = vx.Var("b")
    hist = vx.Func("hist", shape=(256,))
    hist[b] = vx.cast(vx.int32, 0)
    hist[v[r]] += 1
    out = vx.Func("out", shape=(256,))
    out[b] = hist[b] * 2
    s = vx.Schedule(vx.Pipeline(out))
    s["out"].gpu_tile(b, "bo", "bi", 32)
    with pytest.raises(vx.ScheduleError, match=r"compute_at\(out, bo\) on Func 'hist': update "
                       r"definition 0 of 'hist' .* away from its own point.*compute 'hist' at "
                       r"root \(compute_root\(\)\)"):
        s["hist"].compute_at("out", "bo")


def test_compute_at_of_an_update_reading_another_point_in_a_predicate_is_refused():
    a = vx.Input("a", vx.float32, (8,))
    r = vx.RDom(4, name="r")
    h = vx.Func("h", shape=(8,))
    h[x] = a[x]
    r.where(h[r] > 0)
    h[x] = h[x] + vx.sum(a[r])
    out = vx.Func("out", shape=(8,))
    out[x] = h[x]
    s = vx.Schedule(vx.Pipeline(out))
    with pytest.raises(vx.ScheduleError, match=r"update definition 0 of 'h'.*away from its own"):
        s["h"].compute_at("out", "x")


# --- staged tiles and compute_at producers inside the staged loop -------------------------------
def row_sums():
    """C[i] = sum over k of g[i, k] + A[i, k], g = 2 A (an intermediate)."""
    m, k = vx.dims("M K")
    i, j = vx.vars("i j")
    a = vx.Input("A", vx.float32, (m, k))
    g = vx.Func("g")
    g[i, j] = a[i, j] * 2
    kk = vx.RDom(k, name="kk")
    c = vx.Func("C", shape=(m,))
    c[i] = vx.sum(g[i, kk] + a[i, kk])
    return vx.Pipeline(c)


@pytest.mark.parametrize("memory, site", [("shared", "ki"), ("register", "ko")])
@pytest.mark.parametrize("m", [1, 3, 9])
def test_stage_covers_a_producer_computed_inside_the_staged_loop(opencl_device, memory, site, m):
    pipe = row_sums()
    s = vx.Schedule(pipe)
    s["C"].gpu_tile("i", "io", "ii", 4).split("kk", "ko", "ki", 4).stage("A", at="ko",
                                                                          memory=memory)
    s["g"].compute_at("C", site)
    a = np.random.default_rng(m).random((m, 2 * m + 1), np.float32)
    got, want = run(pipe, opencl_device, s, A=a)
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_register_tiles_are_not_copied_with_cp_async(offline):
    """cp.async writes shared memory only: a register tile is copied with plain loads."""
    target, build = offline
    m, n, k = vx.dims("M N K")
    i, j = vx.vars("i j")
    kk = vx.RDom(k, name="kk")
    a, b = vx.Input("A", vx.float32, (m, k)), vx.Input("B", vx.float32, (k, n))
    c = vx.Func("C", shape=(m, n))
    c[i, j] = vx.sum(a[i, kk] * b[kk, j])
    pipe = vx.Pipeline(c)
    s = vx.Schedule(pipe)
    s["C"].gpu_tile(i, j, "io", "jo", "ii", "ji", 8, 8).split("kk", "ko", "ki", 4)
    s["C"].stage("A", at="ko", memory="register").stage("B", at="ko")
    source = build(pipe, s).source
    assert "A_reg[" in source and "memcpy_async(&A_reg" not in source
    if target == "cuda":
        assert "memcpy_async(&B_sh" in source


def test_stage_at_a_loop_a_later_directive_replaces_is_refused():
    """Fuzzer case R: stage(a, at=x) then split(x, ...) crashed with StopIteration."""
    n = vx.Dim("N")
    a = vx.Input("a", vx.float32, (n,))
    f = vx.Func("f", shape=(n,))
    f[x] = a[x] * 2
    s = vx.Schedule(vx.Pipeline(f))
    s["f"].stage("a", at="x", memory="register").split(x, "xo", "xi", 4)
    with pytest.raises(vx.ScheduleError, match=r"stage\(a, x.*on Func 'f': loop 'x' no longer "
                       r"exists.*\(a later split.*\); name one of the loops \[xo, xi\]"):
        s.validate()


@pytest.mark.parametrize("n", [1, 7, 37])
def test_stage_at_a_loop_that_took_the_name_follows_it(opencl_device, n):
    """Halide's name reuse: after split(x, x, xi, 4) the stage at x means the new outer x."""
    m = vx.Dim("N")
    a = vx.Input("a", vx.float32, (m,))
    f = vx.Func("f", shape=(m,))
    f[x] = a[x] * 2 + a[vx.min(x + 1, m - 1)]
    pipe = vx.Pipeline(f)
    s = vx.Schedule(pipe)
    s["f"].stage("a", at="x", memory="register").split(x, x, "xi", 4)
    v = np.random.default_rng(n).random(n, np.float32)
    got, want = run(pipe, opencl_device, s, a=v)
    np.testing.assert_allclose(got, want)


def test_compute_at_producer_read_in_another_funcs_where_predicate_is_refused():
    """A root Func reading the producer only in a where() predicate crashed with KeyError."""
    n = vx.Dim("N")
    a = vx.Input("a", vx.float32, (n,))
    p = vx.Func("p")
    p[x] = a[x] * 2
    r = vx.RDom(n, name="r")
    r.where(p[r] > 1)
    q = vx.Func("q", shape=(n,))
    q[x] = vx.sum(a[r]) + x
    f = vx.Func("f", shape=(n,))
    f[x] = p[x] + q[x]
    pipe = vx.Pipeline(f)
    s = vx.Schedule(pipe)
    s["q"].compute_root()
    s["p"].compute_at("f", "x")
    with pytest.raises(vx.ScheduleError, match=r"compute_at\(f, x\) on Func 'p': 'q' also reads "
                       r"'p', outside loop 'x' of 'f'; compute 'p' at root"):
        vx.source(pipe, s, target="opencl")


def test_stage_of_a_read_shadowed_by_a_nested_reduction_is_refused():
    """In sum_r(a[r] * sum_r(b[r])) the inner b[r] runs over all of r in every iteration of the
    loop over r: the tile of b at r is not one element (it read past its tile: wrong result)."""
    n = vx.Dim("N")
    a, b = vx.Input("a", vx.float32, (n,)), vx.Input("b", vx.float32, (n,))
    r = vx.RDom(n, name="r")
    f = vx.Func("f", shape=(n,))
    f[x] = vx.sum(a[r] * vx.sum(b[r]))
    pipe = vx.Pipeline(f)
    s = vx.Schedule(pipe)
    s["f"].gpu_tile(x, "xo", "xi", 4).stage("b", at="r", memory="register")
    with pytest.raises(vx.ScheduleError, match=r"stage\(b, at=r\) on Func 'f': its footprint per "
                       r"iteration is not a constant size in dimension 0 \(extent N\)"):
        vx.source(pipe, s, target="opencl")


def test_footprint_of_many_reads_is_quick():
    """Fuzz case U: a compute_at footprint of six clamped/strided reads took 5 s of sympy
    simplification (60 s with ten reads) before its ScheduleError; boxes are now grouped by plain
    sympy arithmetic (origins a constant apart), so this answers at once."""
    import time
    h, w = vx.dims("H W")
    a = vx.Input("a", vx.int32, (h, w))
    src = vx.constant_exterior(a, 100)
    out = vx.Func("out", shape=(h, w))
    out[y, x] = (src[y, 2 * x + 1] + src[vx.clamp(y + 3, 0, h - 1), x // 2]
                 + src[y * 3 // 2, w - x] + src[2 * y + 1, x]
                 + src[vx.clamp(y - 1, 0, h - 1), vx.clamp(x - 2, 0, w - 1)]
                 + src[vx.clamp(y + 3, 0, h - 1), 2 * x + 1])
    pipe = vx.Pipeline(out)
    s = vx.Schedule(pipe)
    s["out"].vectorize(y, 3).gpu_blocks(y)
    s[src.name].compute_at("out", "y_vi")
    start = time.perf_counter()
    with pytest.raises(vx.ScheduleError, match="not a constant size in dimension 1"):
        vx.source(pipe, s, target="opencl")
    assert time.perf_counter() - start < 2.5
