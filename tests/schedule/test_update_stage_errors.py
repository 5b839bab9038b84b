"""Update stages in the schedule: each refusal is a vx.ScheduleError naming the Func, the update
and the conflicting access (vortex/schedule/races.py); stages round-trip through files."""
import pytest

import vortex as vx


def scatter_pipe(dtype=vx.int32):
    N, M = vx.dims("N M")
    idx = vx.Input("idx", vx.int32, (N,))
    v = vx.Input("v", dtype, (N,))
    out = vx.Func("out", shape=(M,))
    m = vx.Var("m")
    out[m] = vx.cast(dtype, 0)
    r = vx.RDom(N, name="r")
    i = vx.clamp(idx[r], 0, M - 1)
    out[i] = out[i] + v[r]
    return vx.Pipeline(out), out


def threads(stage):
    return stage.split("r", "ro", "ri", 32).gpu_blocks("ro").gpu_threads("ri")


def test_parallel_rvar_that_may_collide_needs_atomic():
    pipe, out = scatter_pipe()
    s = vx.Schedule(pipe)
    threads(s[out].update(0))
    with pytest.raises(vx.ScheduleError, match=r"gpu_blocks\(ro\) on Func 'out.update\(0\)': "
                       r"update 0 of 'out' \(out\[vx.min\(vx.max\(idx\[r\], 0\), M - 1\)\] = .*\): "
                       r"iterations of RVar 'r' \(through loop 'ro'\) may write the same point "
                       r"of 'out' \(a race\); add atomic\(\)"):
        s.validate()
    s[out].update(0).atomic()
    s.validate()


def test_read_of_another_iterations_point_is_a_race():
    N = vx.Dim("N")
    f = vx.Func("f", shape=(N,))
    x = vx.Var("x")
    f[x] = x
    r = vx.RDom(N - 1, name="r")
    f[r] = f[r] + f[r + 1]
    s = vx.Schedule(vx.Pipeline(f))
    s[f].update(0).gpu_threads("r")
    with pytest.raises(vx.ScheduleError, match=r"iterations of RVar 'r' read f\[r \+ 1\], which "
                       r"another iteration may write \(a race\); keep 'r' serial"):
        s.validate()


def test_atomic_needs_the_op_form():
    N, M = vx.dims("N M")
    idx = vx.Input("idx", vx.int32, (N,))
    out = vx.Func("out", shape=(M,))
    m = vx.Var("m")
    out[m] = vx.cast(vx.int32, 0)
    r = vx.RDom(N, name="r")
    i = vx.clamp(idx[r], 0, M - 1)
    out[i] = out[i] * 2 + 1
    s = vx.Schedule(vx.Pipeline(out))
    s[out].update(0).atomic()
    with pytest.raises(vx.ScheduleError, match=r"atomic\(\) on Func 'out.update\(0\)': update 0 "
                       r"of 'out' .* is not of the form out\[...\] = out\[...\] op e"):
        s.validate()


def test_atomic_needs_a_32_bit_type():
    pipe, out = scatter_pipe(vx.uint8)
    s = vx.Schedule(pipe)
    threads(s[out].update(0)).atomic()
    with pytest.raises(vx.ScheduleError, match=r"atomic operations commit 32-bit values "
                       r"\(int32, uint32, float32\), and 'out' is uint8"):
        s.validate()


def row_histograms():
    """h[y, img[y, r]] += 1: the pure Var y may be parallel, r only under atomic()."""
    H, W = vx.dims("H W")
    img = vx.Input("img", vx.uint8, (H, W))
    h = vx.Func("h", shape=(H, 256))
    y, b = vx.vars("y b")
    h[y, b] = vx.cast(vx.int32, 0)
    r = vx.RDom(W, name="r")
    h[y, vx.cast(vx.int32, img[y, r])] += 1
    return vx.Pipeline(h), h


def test_atomic_refuses_vector_lanes():
    pipe, h = row_histograms()
    s = vx.Schedule(pipe)
    s[h].update(0).atomic().split("y", "yo", "yi", 8).vectorize("yi")
    with pytest.raises(vx.ScheduleError, match=r"one point at a time; vector lanes cannot: "
                       r"unroll 'yi' instead of vectorizing it"):
        s.validate()
    s2 = vx.Schedule(pipe)
    s2[h].update(0).split("y", "yo", "yi", 8).vectorize("yi").gpu_blocks("yo")
    s2.validate()       # a pure Var of the update: its lanes write different rows


def test_vectorized_rvar_is_refused():
    pipe, out = scatter_pipe()
    s = vx.Schedule(pipe)
    with pytest.raises(vx.ScheduleError, match=r"vectorize\(r, 8\) on Func 'out.update\(0\)': "
                       r"var 'r_vi' iterates the update's RDom, whose points apply one at a time; "
                       r"bind it to gpu_threads \(race-free or atomic\(\)\) or unroll it"):
        s[out].update(0).vectorize("r", 8)


def test_stage_handles_are_checked():
    pipe, out = scatter_pipe()
    s = vx.Schedule(pipe)
    with pytest.raises(vx.ScheduleError, match=r"Func 'out' has 1 update definition\(s\), so "
                       r"'out.update\(3\)' is not one of its stages \(only update\(0\) exists\)"):
        s[out].update(3)
    with pytest.raises(vx.ScheduleError, match=r"atomic\(\) applies to an update stage: "
                       r"s\['out'\].update\(n\).atomic\(\)"):
        s[out].atomic()
    with pytest.raises(vx.ScheduleError, match=r"an update stage takes only loop directives, "
                       r"atomic\(\) and rfactor\(\) .* scheduled on s\['out'\]"):
        s[out].update(0).compute_root()
    with pytest.raises(vx.ScheduleError, match=r"unknown var 'k'; loop vars of "
                       r"'out.update\(0\)' are \[r\]"):
        s[out].update(0).gpu_threads("k")


def test_update_stage_of_a_func_computed_at_a_consumer():
    N = vx.Dim("N")
    a = vx.Input("a", vx.int32, (N,))
    f, g = vx.Func("f", shape=(N,)), vx.Func("g", shape=(N,))
    x = vx.Var("x")
    f[x] = a[x]
    f[x] = f[x] * 2
    g[x] = f[x] + 1
    s = vx.Schedule(vx.Pipeline(g))
    s[g].split(x, "xo", "xi", 4)
    s[f].compute_at(g, "xo")
    s[f].update(0).split("x", "xo", "xi", 2)
    with pytest.raises(vx.ScheduleError, match=r"'f' is computed at 'g', where its updates run "
                       r"point by point .* only when 'f' is computed at root"):
        s.validate()


def test_thread_extent_must_be_constant():
    pipe, out = scatter_pipe()
    s = vx.Schedule(pipe)
    s[out].update(0).gpu_threads("r").atomic()
    with pytest.raises(vx.ScheduleError, match=r"gpu_threads\(r\) on Func 'out.update\(0\)': "
                       r"the thread extent N is not a constant"):
        vx.lower.lower(pipe, s)


def test_update_stages_round_trip_through_toml_and_python():
    pipe, out = scatter_pipe()
    s = vx.Schedule(pipe)
    threads(s[out].update(0)).atomic()
    text = s.to_toml()
    assert '[["out.update(0)"]]' in text and "atomic = []" in text
    assert vx.Schedule.from_toml(text, pipe) == s
    assert 's["out"].update(0).atomic()' in s.to_python()
    with pytest.raises(vx.ScheduleError, match=r"<toml>: Func 'out' has 1 update definition"):
        vx.Schedule.from_toml(text.replace("update(0)", "update(1)"), pipe)


def floyd_warshall():
    N = vx.Dim("N")
    g = vx.Input("g", vx.float32, (N, N))
    P = vx.Func("P", shape=(N, N))
    i, j = vx.vars("i j")
    P[i, j] = g[i, j]
    k = vx.RDom(N, name="k")
    P[i, j] = vx.min(P[i, j], P[i, k] + P[k, j])
    return vx.Pipeline(P), P


def test_an_ordered_update_runs_its_rdom_outside_its_pure_loops():
    """P reads P[i, k] and P[k, j]: every k is applied to all (i, j) in turn (Halide's order),
    so the RDom loop is outermost, and i and j may not run in parallel."""
    pipe, P = floyd_warshall()
    s = vx.Schedule(pipe)
    assert s.loop_vars("P.update(0)") == ["k", "i", "j"]
    s[P].update(0).gpu_threads("j")
    with pytest.raises(vx.ScheduleError, match=r"gpu_threads\(j\) on Func 'P.update\(0\)': update "
                       r"0 of 'P' .* reads P\[i, k\] at index 1 = k, not at the pure Var 'j', so its "
                       r"iterations over 'j' depend on each other \(an ordered pure loop\): 'j' "
                       r"must stay serial in P.update\(0\)"):
        s.validate()
    assert vx.Schedule(pipe).loop_vars("P") == ["i", "j"]


def test_a_reorder_may_not_change_the_order_of_the_updates_points():
    """Fuzz case ci:81 (a wrong result before the check): reorder(y, r3, x) put the ordered pure
    loop y outside the RDom loop r3 of out[y, x] ^= out[clamp(y - 1 - r3), x]."""
    H, W = vx.dims("H W")
    a = vx.Input("a", vx.uint8, (H, W))
    out = vx.Func("out", shape=(H, W))
    y, x = vx.vars("y x")
    out[y, x] = a[y, x]
    r3 = vx.RDom(3, name="r3")
    out[y, x] = out[y, x] ^ out[vx.clamp(y - 1 - r3, 0, H - 1), x]
    s = vx.Schedule(vx.Pipeline(out))
    s[out].update(0).reorder("y", "r3", "x")
    with pytest.raises(vx.ScheduleError, match=r"loop 'y' runs outside 'r3', which changes the "
                       r"order in which the update applies its points .* keep 'r3' outside 'y'"):
        s.validate()
    r = vx.RDom((H, W), name="r")
    g = vx.Func("g", shape=(H, W))
    g[y, x] = a[y, x]
    g[r[0], r[1]] = g[r[0], vx.max(r[1] - 1, 0)] + g[r[0], r[1]]
    s2 = vx.Schedule(vx.Pipeline(g))
    s2[g].update(0).split("r_1", "ro", "ri", 4).reorder("ri", "ro")
    with pytest.raises(vx.ScheduleError, match=r"loop 'ri' runs outside 'ro'"):
        s2.validate()
