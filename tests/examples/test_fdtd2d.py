"""PolyBench/C 4.2 fdtd-2d with a Tuple: the fields (ex, ey, hz) are one Tuple-valued Func
updated over an RDom of (time step, phase); each phase reads the fields the earlier phases of
its step wrote, at neighbouring points (ordered pure loops). Against the loop-for-loop numpy
transcription of the C kernel, on PoCL and through ``pipe.reference``; compiled for sm_90 and
gfx90a."""
import numpy as np
import pytest

import vortex as vx


def fdtd2d() -> vx.Pipeline:
    T, NX, NY = vx.dims("T NX NY")
    ex0, ey0, hz0 = (vx.Input(n, vx.float32, (NX, NY)) for n in ("ex0", "ey0", "hz0"))
    fict = vx.Input("fict", vx.float32, (T,))
    F = vx.Func("F", shape=(NX, NY))
    i, j = vx.vars("i j")
    F[i, j] = (ex0[i, j], ey0[i, j], hz0[i, j])
    r = vx.RDom([(0, T), (0, 3)], name="r")        # (t, phase): ey, then ex, then hz
    t, phase = r[0], r[1]
    ex, ey, hz = F[i, j]
    up, left = vx.max(i - 1, 0), vx.max(j - 1, 0)
    down, right = vx.min(i + 1, NX - 1), vx.min(j + 1, NY - 1)
    new_ey = vx.select(i == 0, fict[t], ey - 0.5 * (hz - F[up, j][2]))
    new_ex = vx.select(j > 0, ex - 0.5 * (hz - F[i, left][2]), ex)
    new_hz = vx.select((i < NX - 1) & (j < NY - 1),
                       hz - 0.7 * (F[i, right][0] - ex + F[down, j][1] - ey), hz)
    F[i, j] = (vx.select(phase == 1, new_ex, ex), vx.select(phase == 0, new_ey, ey),
               vx.select(phase == 2, new_hz, hz))
    return vx.Pipeline(F)


def fdtd2d_loops(ex, ey, hz, fict):
    """The C kernel, transcribed loop for loop (float32)."""
    ex, ey, hz = ex.copy(), ey.copy(), hz.copy()
    nx, ny = ex.shape
    half, c7 = np.float32(0.5), np.float32(0.7)
    for t in range(len(fict)):
        for j in range(ny):
            ey[0, j] = fict[t]
        for i in range(1, nx):
            for j in range(ny):
                ey[i, j] = ey[i, j] - half * (hz[i, j] - hz[i - 1, j])
        for i in range(nx):
            for j in range(1, ny):
                ex[i, j] = ex[i, j] - half * (hz[i, j] - hz[i, j - 1])
        for i in range(nx - 1):
            for j in range(ny - 1):
                hz[i, j] = hz[i, j] - c7 * (ex[i, j + 1] - ex[i, j] + ey[i + 1, j] - ey[i, j])
    return ex, ey, hz


def fields(t, nx, ny, seed):
    rng = np.random.default_rng(seed)
    return {n: rng.standard_normal((nx, ny)).astype(np.float32) for n in ("ex0", "ey0", "hz0")} \
        | {"fict": np.arange(t, dtype=np.float32)}


@pytest.mark.parametrize("t, nx, ny", [(1, 1, 1), (2, 3, 5), (4, 7, 13), (3, 20, 11)])
def test_fdtd2d_with_a_tuple_matches_the_loops(opencl_device, t, nx, ny):
    pipe = fdtd2d()
    args = fields(t, nx, ny, seed=nx * ny)
    want = fdtd2d_loops(args["ex0"], args["ey0"], args["hz0"], args["fict"])
    k = vx.compile(pipe, vx.Schedule(pipe), target="opencl", device=opencl_device)
    for got in (k(**args), pipe.reference(**args)):
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


def test_fdtd2d_compiles_for_cuda_and_hip(offline):
    target, build = offline
    k = build(fdtd2d(), None)
    assert "F_2" in k.source
