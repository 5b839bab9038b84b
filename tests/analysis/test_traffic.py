"""Compulsory global-memory traffic (vortex/analysis_traffic.py): bytes each launch reads and
writes, from the footprints of its global buffers, against formulas derived by hand.

Hand derivations (f32: 4 bytes an element; F = C // 64 whole lane groups of a row):
- rmsnorm / softmax fused (the PoCL schedules: everything at the output's row, one kernel):
  x read once (R·C), the output written once (R·C), rmsnorm also reads weight (C).
- rmsnorm unfused (lane_sumsq, inv_rms compute_root; 3 launches):
  lane_sumsq reads x[:, :64F], writes R·64; inv_rms reads lane_sumsq (R·64) and the tail
  x[:, 64F:], writes R; rmsnorm reads x, inv_rms, weight, writes R·C.
- softmax unfused (all five producers compute_root; 6 launches): the same pattern twice
  (x → lane_max → row_max, e → lane_sum → row_sum), plus e (reads x and row_max, writes R·C)
  and softmax (reads e and row_sum, writes R·C).
- matmul: A (M·K) and B (K·N) read once, C (M·N) written, whatever the tiling and staging.
- valid 3×3 blur of an (H, W) image into (H-2, W-2): the footprint (the halo) is the whole
  image; with blur_x at root, blur_x (H, W-2) is written by one launch and read by the next.
"""
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import pipelines as P
import vortex as vx
from vortex.analysis import analyze
from vortex.examples import load_example
from vortex.lower import lower

ROOT = Path(__file__).resolve().parents[2]
SIZES = [(1, 1), (7, 13), (3, 131), (5, 64), (2, 127)]


def example(name):
    return load_example(ROOT / "examples" / f"{name}.py").pipeline()


def fused(name):
    pipe = example(name)
    return pipe, vx.Schedule.load(ROOT / "schedules" / name / "pocl-cpu.toml", pipe)


def all_root(pipe, names):
    s = vx.Schedule(pipe)
    for n in names:
        s[n].compute_root()
    return s


def per_launch(a):
    return [(r.name, r.traffic.read_bytes, r.traffic.write_bytes) for r in a]


RMS_PRODUCERS = ["lane_sumsq", "inv_rms"]
SOFTMAX_PRODUCERS = ["lane_max", "row_max", "e", "lane_sum", "row_sum"]


@pytest.mark.parametrize("R, C", SIZES)
def test_rmsnorm_fused_vs_unfused(R, C):
    pipe, s = fused("rmsnorm")
    a = analyze(lower(pipe, s), shape={"R": R, "C": C})
    assert per_launch(a) == [("rmsnorm_kernel", 4 * R * C + 4 * C, 4 * R * C)]
    assert (a.traffic.read_bytes, a.traffic.write_bytes) == (4 * R * C + 4 * C, 4 * R * C)
    u = analyze(lower(pipe, all_root(pipe, RMS_PRODUCERS)), shape={"R": R, "C": C})
    F = C // 64
    assert per_launch(u) == [
        ("lane_sumsq_kernel", 4 * R * 64 * F, 4 * R * 64),
        ("inv_rms_kernel", 4 * R * 64 + 4 * R * (C - 64 * F), 4 * R),
        ("rmsnorm_kernel", 4 * R * C + 4 * R + 4 * C, 4 * R * C)]
    assert u.traffic.bytes == 12 * R * C + 4 * C + 520 * R
    assert a.traffic.bytes < u.traffic.bytes


def test_rmsnorm_symbolic_form():
    R, C = sp.symbols("R C", integer=True, positive=True)
    pipe, s = fused("rmsnorm")
    t = analyze(lower(pipe, s)).traffic
    assert sp.expand(t.read_bytes - (4 * R * C + 4 * C)) == 0
    assert sp.expand(t.write_bytes - 4 * R * C) == 0
    assert t.at({"R": 7, "C": 13}).symbolic is t


@pytest.mark.parametrize("R, C", SIZES)
def test_softmax_fused_vs_unfused(R, C):
    pipe, s = fused("softmax")
    a = analyze(lower(pipe, s), shape={"R": R, "C": C})
    assert per_launch(a) == [("softmax_kernel", 4 * R * C, 4 * R * C)]
    lw = lower(pipe, all_root(pipe, SOFTMAX_PRODUCERS))
    u = analyze(lw, shape={"R": R, "C": C})
    F, tail = C // 64, C - 64 * (C // 64)
    lanes = [4 * R * 64 * F, 4 * R * 64]
    combine = [4 * R * 64 + 4 * R * tail, 4 * R]
    assert per_launch(u) == [
        ("lane_max_kernel", *lanes), ("row_max_kernel", *combine),
        ("e_kernel", 4 * R * C + 4 * R, 4 * R * C),
        ("lane_sum_kernel", *lanes), ("row_sum_kernel", *combine),
        ("softmax_kernel", 4 * R * C + 4 * R, 4 * R * C)]
    assert (u.traffic.read_bytes, u.traffic.write_bytes) == (16 * R * C + 520 * R,
                                                             8 * R * C + 520 * R)
    assert a.traffic.bytes < u.traffic.bytes
    for k, r in zip(lw.kernels, u):   # the footprints name exactly the kernel's buffers
        named = {f.buffer for f in (*r.traffic.reads, *r.traffic.writes)}
        assert named == {p.name for p in k.params if p.is_buffer}


def staged(pipe):
    s = vx.Schedule(pipe)
    c = s["C"]
    c.tile("i", "j", "yo", "xo", "yi", "xi", 8, 8).gpu_blocks("yo", "xo").gpu_threads("yi", "xi")
    c.split("k", "ko", "ki", 4).stage("A", at="ko").stage("B", at="ko")
    return s


@pytest.mark.parametrize("M, N, K", [(1, 1, 1), (7, 13, 5), (17, 3, 31), (64, 64, 64)])
@pytest.mark.parametrize("schedule", [vx.Schedule, staged])
def test_matmul_reads_each_operand_once(M, N, K, schedule):
    pipe, _ = P.matmul_sized()
    a = analyze(lower(pipe, schedule(pipe)), shape={"M": M, "N": N, "K": K})
    assert per_launch(a) == [("C_kernel", 4 * (M * K + K * N), 4 * M * N)]
    (launch,) = a.traffic.launches
    assert [(f.buffer, f.bytes) for f in launch.reads] == [("A", 4 * M * K), ("B", 4 * K * N)]


def valid_blur():
    H, W = vx.Dim("H", min=3), vx.Dim("W", min=3)
    x, y = vx.vars("x y")
    img = vx.Input("img", vx.float32, (H, W))
    blur_x = vx.Func("blur_x")
    blur_x[y, x] = img[y, x] + img[y, x + 1] + img[y, x + 2]
    out = vx.Func("blur", shape=(H - 2, W - 2))
    out[y, x] = blur_x[y, x] + blur_x[y + 1, x] + blur_x[y + 2, x]
    return vx.Pipeline(out)


@pytest.mark.parametrize("H, W", [(3, 3), (7, 13), (31, 5)])
def test_blur_halo_two_launches(H, W):
    pipe = valid_blur()
    one = analyze(lower(pipe, vx.Schedule(pipe)), shape={"H": H, "W": W})
    assert per_launch(one) == [("blur_kernel", 4 * H * W, 4 * (H - 2) * (W - 2))]
    two = analyze(lower(pipe, all_root(pipe, ["blur_x"])), shape={"H": H, "W": W})
    mid = 4 * H * (W - 2)      # blur_x: written by launch 1, read by launch 2
    assert per_launch(two) == [("blur_x_kernel", 4 * H * W, mid),
                               ("blur_kernel", mid, 4 * (H - 2) * (W - 2))]
    t = two.traffic
    assert len(t.launches) == 2 and t.bytes == sum(x.bytes for x in t.launches)
    assert t.bytes - one.traffic.bytes == 2 * mid
    text = str(two)
    assert f"global memory (compulsory): read {4 * H * W} B (img {4 * H * W}), written " \
           f"{mid} B (blur_x {mid})" in text
    assert f"pipeline: 2 launches, compulsory global memory: read {t.read_bytes} B, written " \
           f"{t.write_bytes} B, total {t.bytes} B" in text


@pytest.mark.parametrize("h, w", [(1, 1), (7, 13)])
def test_boundary_condition_reads_only_the_image(h, w):
    pipe = P.blur()     # repeat_edge: indices clamped into the image
    a = analyze(lower(pipe, vx.Schedule(pipe)), shape={"H": h, "W": w})
    assert per_launch(a) == [("blur_kernel", 4 * h * w, 4 * h * w)]


def test_update_reads_and_writes_its_buffer():
    pipe = P.histogram()        # hist[b] = 0; hist[v[r]] += 1 (int32, 256 bins; v uint8)
    a = analyze(lower(pipe, vx.Schedule(pipe)), shape={"N": 1000})
    assert per_launch(a) == [("hist_kernel", 0, 1024), ("hist_update0_kernel", 1000 + 1024, 1024)]


def test_kernel_analysis_at_shape_on_pocl():
    pipe, s = fused("rmsnorm")
    k = vx.compile(pipe, schedule=s, target="opencl")
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((7, 13), dtype=np.float32), np.ones(13, np.float32)
    np.testing.assert_allclose(k(x=x, weight=w, eps=1e-6), pipe.reference(x=x, weight=w, eps=1e-6),
                               rtol=1e-5)
    text = str(k.analysis(shape={"R": 7, "C": 13}))
    assert "global memory (compulsory): read 416 B (x 364, weight 52), written 364 B " \
           "(rmsnorm 364)" in text
    assert "pipeline: 1 launch, compulsory global memory: read 416 B, written 364 B, " \
           "total 780 B" in text
    assert "read 4*C*R + 4*C B" in str(k.analysis())


@pytest.mark.parametrize("shape, message", [
    ({"R": 7}, r"lacks the Dims \['C'\]; give a size for each of \['C', 'R'\]"),
    ({"R": 7, "C": 3, "Q": 1}, r"names no Dim \['Q'\]"),
    ({"R": 0, "C": 3}, r"sizes must be ints >= 1, not \{'R': 0\}"),
])
def test_bad_shape(shape, message):
    pipe, s = fused("rmsnorm")
    with pytest.raises(vx.InputError, match=message):
        analyze(lower(pipe, s), shape=shape)
