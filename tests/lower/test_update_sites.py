"""compute_at into an update stage's loops (``s[g].compute_at("f.update(0)", "ro")``, Halide's
``g.compute_at(f, r)``) and shared boxes at serial loops: an order-dependent recurrence over r
reading a producer, on PoCL against numpy at sizes the splits do not divide, per-thread
(local) and block-shared boxes; the refusals, each message."""
import numpy as np
import pytest

import vortex as vx

SIZES = [(1, 1), (13, 7), (40, 33)]


def recurrence(pure_reads: bool = False, varying: bool = False):
    """f[x] = 0 (or g[x, 0]); then for r in order: f[x] = f[x]/2 + g[x, r], g = 2 A + 1; with
    ``varying`` the keys run over r <= x only through the RDom's bound (x + 1 keys)."""
    N, M = vx.dims("N M")
    A = vx.Input("A", vx.float32, (N, N if varying else M))
    x, j = vx.vars("x j")
    g = vx.Func("g")
    g[x, j] = A[x, j] * np.float32(2) + np.float32(1)
    r = vx.RDom(x + 1 if varying else M, name="r")
    f = vx.Func("f", shape=(N,))
    f[x] = g[x, 0] if pure_reads else np.float32(0)
    f[x] = f[x] * np.float32(0.5) + g[x, r]
    return vx.Pipeline(f, name="recurrence")


def numpy_recurrence(A):
    g = A.astype(np.float64) * 2 + 1
    f = np.zeros(A.shape[0])
    for r in range(A.shape[1]):
        f = f * 0.5 + g[:, r]
    return f.astype(np.float32)


def tiled(pipe, memory=None, site="f.update(0)"):
    """One block per 8 x (a thread each), the keys in tiles of 4: g at the key-tile loop."""
    s = vx.Schedule(pipe)
    s["f"].split("x", "xo", "xi", 8).gpu_blocks("xo").gpu_threads("xi")
    u = s["f"].update(0).split("x", "xo", "xi", 8).split("r", "ro", "ri", 4)
    u.reorder("xo", "xi", "ro", "ri").gpu_blocks("xo").gpu_threads("xi")
    s["g"].compute_at(site, "ro")
    if memory:
        s["g"].store_in(memory)
    return s


@pytest.mark.parametrize("memory", [None, "shared"], ids=["local", "shared"])
def test_producer_at_the_key_loop_on_pocl(opencl_device, memory):
    pipe = recurrence()
    k = vx.compile(pipe, schedule=tiled(pipe, memory), target="opencl", device=opencl_device)
    assert "g" not in {b.name for b in k.lowered.buffers}
    for N, M in SIZES:
        A = np.random.default_rng(N + M).standard_normal((N, M)).astype(np.float32)
        np.testing.assert_allclose(k(A=A), numpy_recurrence(A), rtol=1e-5, atol=1e-5)


def test_shared_box_at_a_serial_loop_has_barriers_around_it():
    pipe = recurrence()
    src = vx.source(pipe, tiled(pipe, "shared"), target="opencl")
    update = src[src.index("F_update0_kernel") if "F_update0_kernel" in src
                 else src.index("f_update0_kernel"):]
    assert "__local float g_sh[32]" in update
    assert update.count("barrier(CLK_LOCAL_MEM_FENCE)") == 2


def test_shared_box_at_a_serial_loop_of_a_pure_stage(opencl_device):
    """blur_x in shared memory at a serial loop of blur (it was refused before: 'not bound to
    gpu_blocks'): the block's threads fill it between two barriers."""
    H, W = vx.dims("H W")
    img = vx.Input("img", vx.float32, (H, W))
    y, x = vx.vars("y x")
    bx, by = vx.Func("blur_x"), vx.Func("blur", shape=(H - 1, W - 1))
    bx[y, x] = img[y, x] + img[y, x + 1]
    by[y, x] = bx[y, x] + bx[y + 1, x]
    pipe = vx.Pipeline(by)
    s = vx.Schedule(pipe)
    s["blur"].split("x", "xo", "xi", 8).split("y", "yo", "yi", 4)
    s["blur"].reorder("yo", "xo", "yi", "xi").gpu_blocks("yo").gpu_threads("yi")
    s["blur_x"].compute_at("blur", "xo").store_in("shared")
    a = np.random.default_rng(1).standard_normal((11, 21)).astype(np.float32)
    k = vx.compile(pipe, schedule=s, target="opencl", device=opencl_device)
    np.testing.assert_allclose(k(img=a), pipe.reference(img=a), rtol=1e-6)


def test_the_halide_form_names_the_stage():
    pipe = recurrence()
    with pytest.raises(vx.ScheduleError, match=r"compute_at\(f, ro\) on Func 'g': 'ro' is a loop "
                       r"of the update stage 'f.update\(0\)', not of 'f''s pure definition; name "
                       r"the stage: compute_at\('f.update\(0\)', 'ro'\)"):
        tiled(pipe, site="f")


def test_an_update_stage_that_does_not_exist():
    pipe = recurrence()
    s = vx.Schedule(pipe)
    with pytest.raises(vx.ScheduleError, match=r"Func 'f' has 1 update definition\(s\), so "
                       r"'f.update\(1\)' is not one of its stages"):
        s["g"].compute_at("f.update(1)", "r")


def test_a_bad_stage_name():
    with pytest.raises(vx.ScheduleError, match=r"'f.update' is not a valid name \(a Func's, or "
                       r"\"f.update\(n\)\" for an update stage\)"):
        vx.Schedule(recurrence())["g"].compute_at("f.update", "r")


def test_the_pure_stage_also_reading_the_producer():
    pipe = recurrence(pure_reads=True)
    with pytest.raises(vx.ScheduleError, match=r"compute_at\(f.update\(0\), ro\) on Func 'g': "
                       r"'f' also reads 'g', outside loop 'ro' of 'f.update\(0\)'; compute 'g' "
                       r"at root"):
        vx.source(pipe, tiled(pipe), target="opencl")


def test_shared_at_a_loop_whose_trip_count_depends_on_the_thread():
    """r runs over x + 1 keys: threads of one block leave the key loop at different times, so a
    shared box there would put barriers where not every thread arrives."""
    pipe = recurrence(varying=True)
    s = vx.Schedule(pipe)
    s["f"].split("x", "xo", "xi", 8).gpu_blocks("xo").gpu_threads("xi")
    u = s["f"].update(0).split("x", "xo", "xi", 8)
    u.reorder("xo", "xi", "r").gpu_blocks("xo").gpu_threads("xi")
    s["g"].compute_at("f.update(0)", "r").store_in("shared")
    with pytest.raises(vx.ScheduleError, match=r"store_in\(\"shared\"\) on Func 'g' computed at "
                       r"loop 'r' of 'f.update\(0\)': the extent of loop 'r' .* depends on the "
                       r"point a thread computes"):
        vx.source(pipe, s, target="opencl")


def test_the_stage_name_round_trips_through_toml_and_python():
    """compute_at = ["f.update(0)", "ro"] in a file; to_python lists the update stage's loops
    before the producer that names one of them, so the script replays."""
    pipe = recurrence()
    s = tiled(pipe, "shared")
    assert 'compute_at = ["f.update(0)", "ro"]' in s.to_toml()
    assert vx.Schedule.from_toml(s.to_toml(), pipe).directives == s.directives
    env = {"vx": vx, "pipe": pipe}
    exec(s.to_python(), env)
    assert env["s"].directives == s.directives


def test_a_scatter_whose_bins_are_computed_at_the_key_loop(opencl_device):
    """hist[g[r]] += 1, g = A % 5 computed per tile of 4 keys (g read in the left-hand side's
    index, and in the value's hist[g[r]]): 23 keys, a partial last tile."""
    N = vx.Dim("N")
    A = vx.Input("A", vx.int32, (N,))
    i, b = vx.vars("i b")
    g = vx.Func("g")
    g[i] = A[i] % 5
    r = vx.RDom(N, name="r")
    hist = vx.Func("hist", shape=(5,))
    hist[b] = 0
    hist[g[r]] += 1
    pipe = vx.Pipeline(hist)
    s = vx.Schedule(pipe)
    s["hist"].update(0).split("r", "ro", "ri", 4)
    s["g"].compute_at("hist.update(0)", "ro")
    k = vx.compile(pipe, schedule=s, target="opencl", device=opencl_device)
    a = np.random.default_rng(2).integers(0, 100, 23).astype(np.int32)
    np.testing.assert_array_equal(k(A=a), np.bincount(a % 5, minlength=5))
