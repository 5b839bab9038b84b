"""A staged tile or a ``compute_at`` box whose footprint per iteration has no constant size but
a constant upper bound (a clamped read ``a[min(x + 2, N - 1)]``: the extent
``min(4 xo + 5, N - 1) - min(4 xo + 2, N - 1) + 1`` is at most 4) is that bound in size, from
the footprint's min; the fill skips points outside the source (Halide's bounds inference rounds
a region up to a constant-size allocation the same way). On PoCL against ``pipe.reference`` at
awkward sizes; an extent with no constant bound is still refused."""
import numpy as np
import pytest
import sympy as sp

import vortex as vx
from vortex.algorithm.symbolic import dim_symbol
from vortex.lower.sites import constant_bound
from vortex.lower.sym import loop_symbol

x, y = vx.vars("x y")
SIZES = (1, 2, 7, 13)


def clamped(through: bool):
    """f[x] = 3 a[min(x + 2, N - 1)] (``through``: via g[x] = 2 a[x] + 1)."""
    n = vx.Dim("N")
    a = vx.Input("a", vx.float32, (n,))
    src = a
    if through:
        src = vx.Func("g")
        src[x] = a[x] * 2 + 1
    f = vx.Func("f", shape=(n,))
    f[x] = src[vx.min(x + 2, n - 1)] * 3
    return vx.Pipeline(f)


def row_sums():
    """f[y] = sum over r < N + 3 of g[y, min(r, N - 1)], g = a + 1: keys past N clamped."""
    h, n = vx.dims("H N")
    a = vx.Input("a", vx.float32, (h, n))
    g = vx.Func("g")
    g[y, x] = a[y, x] + 1
    r = vx.RDom(n + 3, name="r")
    f = vx.Func("f", shape=(h,))
    f[y] = vx.sum(g[y, vx.min(r, n - 1)])
    return vx.Pipeline(f)


def check(pipe, s, device, shapes):
    k = vx.compile(pipe, schedule=s, target="opencl", device=device)
    rng = np.random.default_rng(len(shapes))
    for shape in shapes:
        args = {"a": rng.standard_normal(shape).astype(np.float32)}
        np.testing.assert_allclose(k(**args), pipe.reference(**args), rtol=1e-5, atol=1e-5)
    return k


def test_the_bound_of_a_clamped_extent():
    s, kb = dim_symbol("S"), loop_symbol("kb")
    assert constant_bound(sp.Min(s - 1, 16 * kb + 15) - sp.Min(16 * kb, s - 1) + 1) == 16
    assert constant_bound(sp.Min(s, 4)) == 4
    assert constant_bound(sp.Integer(3)) == 3
    assert constant_bound(s) is None and constant_bound(sp.Max(s, 4)) is None
    many = sum(sp.Min(s + i, i * kb + 1) for i in range(12))   # 4096 branches: gives up
    assert constant_bound(many) is None


@pytest.mark.parametrize("through", [False, True], ids=["input", "func"])
def test_staged_at_a_block_loop(opencl_device, through):
    """The tile of a (or g) per block of 4 outputs: 4 elements, from min(4 xo + 2, N - 1)."""
    pipe = clamped(through)
    s = vx.Schedule(pipe)
    if through:
        s["g"].compute_root()
    s["f"].gpu_tile(x, "xo", "xi", 4).stage("g" if through else "a", at="xo")
    k = check(pipe, s, opencl_device, [(n,) for n in SIZES])
    assert "[4]" in k.source


def test_computed_at_a_block_loop(opencl_device):
    pipe = clamped(True)
    s = vx.Schedule(pipe)
    s["f"].gpu_tile(x, "xo", "xi", 4)
    s["g"].compute_at("f", "xo").store_in("shared")
    k = check(pipe, s, opencl_device, [(n,) for n in SIZES])
    assert "g_sh[4]" in k.source


@pytest.mark.parametrize("how", ["stage", "compute_at"])
def test_at_a_serial_loop_of_clamped_keys(opencl_device, how):
    """Blocks of 4 keys r (the last ones past N, clamped): g staged (pipelined, 2 slots) or
    computed at the key-block loop ``ro``, a 1 × 4 box each."""
    pipe = row_sums()
    s = vx.Schedule(pipe)
    s["f"].gpu_tile(y, "yo", "yi", 2).split("r", "ro", "ri", 4)
    if how == "stage":
        s["g"].compute_root()
        s["f"].stage("g", at="ro").pipeline("ro", stages=2)
    else:
        s["g"].compute_at("f", "ro").store_in("shared")
    check(pipe, s, opencl_device, [(h, n) for h, n in ((1, 1), (3, 2), (2, 7), (5, 13))])


def test_an_extent_with_no_constant_bound_is_refused():
    """g computed per block of rows: each row's footprint is all N keys (no constant bound)."""
    pipe = row_sums()
    s = vx.Schedule(pipe)
    s["f"].gpu_tile(y, "yo", "yi", 2)
    s["g"].compute_at("f", "yo").store_in("shared")
    with pytest.raises(vx.ScheduleError, match=r"compute_at\(f, yo\) of Func 'g': its footprint "
                       r"per iteration is not a constant size in dimension 1 \(extent N\) and "
                       "has no constant upper bound"):
        vx.source(pipe, s, target="opencl")


def test_pipelined_bounded_tile_compiles_for_sm_90():
    """NVRTC sm_90: the 1 × 4 tile of g per key block, 2 slots, copied with cp.async."""
    import compilers
    from vortex.isa import sass
    compilers.need_isa("cuda")
    pipe = row_sums()
    s = vx.Schedule(pipe)
    s["f"].gpu_tile(y, "yo", "yi", 2).split("r", "ro", "ri", 4)
    s["g"].compute_root()
    s["f"].stage("g", at="ro").pipeline("ro", stages=2)
    k = vx.compile(pipe, schedule=s, target="cuda", arch="sm_90")
    assert "g_sh[16]" in k.source
    assert "LDGSTS" in sass.disassemble(k.analysis().code[2], "sm_90")
