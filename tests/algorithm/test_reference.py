"""pipe.reference against hand-written numpy: stencils with boundary conditions, linear algebra,
normalizations, convolutions, update definitions (histogram, scan), strided and data-dependent
access, all inline reductions, and multiple outputs."""
import numpy as np
import pytest

import pipelines as P
import vortex as vx
from vortex.algorithm import reference

RNG = np.random.default_rng(1234)


def _rand(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


# --- stencils and boundary conditions --------------------------------------------------------

@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (64, 65)])
def test_separable_blur_repeat_edge(shape):
    a = _rand(*shape)
    p = np.pad(a, 1, mode="edge")
    bx = (p[:, :-2] + p[:, 1:-1] + p[:, 2:]) / np.float32(3)
    want = (bx[:-2] + bx[1:-1] + bx[2:]) / np.float32(3)
    got = P.blur(vx.repeat_edge, gain=False).reference(img=a)
    assert got.dtype == np.float32 and got.shape == shape
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


BOUNDARIES = [
    (vx.repeat_edge, {"mode": "edge"}),
    (lambda i: vx.constant_exterior(i, 0), {"mode": "constant", "constant_values": 0}),
    (lambda i: vx.constant_exterior(i, 2.5), {"mode": "constant", "constant_values": 2.5}),
    (vx.mirror_image, {"mode": "symmetric"}),
    (vx.mirror_interior, {"mode": "reflect"}),
]


@pytest.mark.parametrize("boundary, pad", BOUNDARIES)
@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (7, 13)])
def test_boundary_conditions_match_np_pad(boundary, pad, shape):
    """Reads up to 3 pixels outside (more than the size of the small shapes) in both directions."""
    W, H = vx.dims("W H")
    x, y = vx.vars("x y")
    img = vx.Input("img", vx.float32, (H, W))
    src = boundary(img)
    out = vx.Func("out", shape=(H, W))
    out[y, x] = src[y - 2, x - 3] + 10 * src[y + 3, x + 1]
    a = _rand(*shape)
    p = np.pad(a, 3, **pad)
    h, w = shape
    want = p[1:1 + h, 0:w] + 10 * p[6:6 + h, 4:4 + w]
    np.testing.assert_allclose(vx.Pipeline(out).reference(img=a), want, rtol=1e-6)


def test_constant_exterior_keeps_input_dtype():
    N = vx.Dim("N")
    x = vx.Var("x")
    u8 = vx.Input("u8", vx.uint8, (N,))
    src = vx.constant_exterior(u8, 255)
    out = vx.Func("out", shape=(N,))
    out[x] = src[x - 1]
    got = vx.Pipeline(out).reference(u8=np.array([3, 4, 5], np.uint8))
    assert got.dtype == np.uint8 and got.tolist() == [255, 3, 4]


# --- linear algebra and normalizations -------------------------------------------------------

def test_matmul():
    pipe = P.matmul()
    for m, n, kk in [(1, 1, 1), (5, 3, 7), (33, 17, 64)]:
        a, b = _rand(m, kk), _rand(kk, n)
        got = pipe.reference(A=a, B=b)
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, a @ b, rtol=1e-5, atol=1e-5)


def test_softmax():
    a = _rand(6, 11) * 10
    z = np.exp(a - a.max(axis=1, keepdims=True))
    want = z / z.sum(axis=1, keepdims=True)
    got = P.softmax().reference(x=a)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(got.sum(axis=1), 1, rtol=1e-5)


def test_rmsnorm_with_param_eps():
    W, H = vx.dims("W H")
    x, y = vx.vars("x y")
    inp = vx.Input("x_in", vx.float32, (H, W))
    weight = vx.Input("weight", vx.float32, (W,))
    eps = vx.Param("eps", vx.float32)
    r = vx.RDom(W, name="r")
    ms = vx.Func("mean_sq")
    ms[y] = vx.sum(inp[y, r] * inp[y, r]) / vx.cast(vx.float32, W)
    out = vx.Func("rmsnorm", shape=(H, W))
    out[y, x] = inp[y, x] / vx.sqrt(ms[y] + eps) * weight[x]
    pipe = vx.Pipeline(out)
    a, w = _rand(4, 19), _rand(19)
    for e in (1e-6, 0.5):
        want = a / np.sqrt((a * a).mean(axis=1, keepdims=True) + np.float32(e)) * w
        got = pipe.reference(x_in=a, weight=w, eps=e)
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_conv2d_nchw_3d_rdom():
    N, C, H, W, CO, KH, KW = vx.dims("N C H W CO KH KW")
    n, co, y, x = vx.vars("n co y x")
    inp = vx.Input("inp", vx.float32, (N, C, H, W))
    wt = vx.Input("wt", vx.float32, (CO, C, KH, KW))
    r = vx.RDom((C, KH, KW), name="r")
    conv = vx.Func("conv", shape=(N, CO, H - KH + 1, W - KW + 1))
    conv[n, co, y, x] = vx.sum(inp[n, r[0], y + r[1], x + r[2]] * wt[co, r[0], r[1], r[2]])
    pipe = vx.Pipeline(conv)
    a, w = _rand(2, 3, 9, 8), _rand(4, 3, 3, 2)
    want = np.zeros((2, 4, 7, 7), np.float64)
    for c in range(3):
        for kh in range(3):
            for kw in range(2):
                want += np.einsum("nyx,o->noyx", a[:, c, kh:kh + 7, kw:kw + 7], w[:, c, kh, kw])
    got = pipe.reference(inp=a, wt=w)
    assert got.shape == (2, 4, 7, 7) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


# --- update definitions ----------------------------------------------------------------------

def test_histogram_update():
    pipe = P.histogram()
    for n in (1, 1000):
        vals = RNG.integers(0, 256, n).astype(np.uint8)
        got = pipe.reference(v=vals)
        assert got.dtype == np.int32
        np.testing.assert_array_equal(got, np.bincount(vals, minlength=256))


def test_prefix_sum_scan():
    N = vx.Dim("N")
    xs = vx.Input("xs", vx.int32, (N,))
    i = vx.Var("i")
    r = vx.RDom([(1, N - 1)], name="r")
    f = vx.Func("scan", shape=(N,))
    f[i] = xs[i]
    f[r] = f[r - 1] + xs[r]
    pipe = vx.Pipeline(f)
    for n in (1, 2, 37):
        vals = RNG.integers(-100, 100, n).astype(np.int32)
        np.testing.assert_array_equal(pipe.reference(xs=vals), np.cumsum(vals))


def test_update_runs_in_rdom_order_last_dim_innermost():
    """f[0] = f[0] * 10 + d[rr[0], rr[1]] concatenates digits in C (row-major) order."""
    H, W = vx.dims("H W")
    x = vx.Var("x")
    d = vx.Input("d", vx.int64, (H, W))
    rr = vx.RDom((H, W), name="rr")
    f = vx.Func("digits", shape=(1,))
    f[x] = vx.cast(vx.int64, 0)
    f[0] = f[0] * 10 + d[rr[0], rr[1]]
    dv = np.arange(1, 7, dtype=np.int64).reshape(2, 3)
    assert vx.Pipeline(f).reference(d=dv)[0] == 123456


def test_row_scan_parallel_in_pure_var():
    H, W = vx.dims("H W")
    x, y = vx.vars("x y")
    d = vx.Input("d", vx.float64, (H, W))
    rx = vx.RDom([(1, W - 1)], name="rx")
    s = vx.Func("s", shape=(H, W))
    s[y, x] = d[y, x]
    s[y, rx] = s[y, rx - 1] + d[y, rx]
    dv = _rand(4, 9, dtype=np.float64)
    np.testing.assert_allclose(vx.Pipeline(s).reference(d=dv), np.cumsum(dv, axis=1))


def test_histogram_with_where_predicate():
    H, W = vx.dims("H W")
    im = vx.Input("im", vx.uint8, (H, W))
    b = vx.Var("b")
    rr = vx.RDom((H, W), name="rr")
    rr.where(rr[1] >= 1)
    hist = vx.Func("hist", shape=(256,))
    hist[b] = vx.cast(vx.int32, 0)
    hist[im[rr[0], rr[1]]] += 1
    iv = RNG.integers(0, 256, (5, 9)).astype(np.uint8)
    np.testing.assert_array_equal(vx.Pipeline(hist).reference(im=iv),
                                  np.bincount(iv[:, 1:].ravel(), minlength=256))


# --- strided and data-dependent access -------------------------------------------------------

@pytest.mark.parametrize("shape", [(1, 1), (5, 7), (8, 6)])
def test_strided_downsample(shape):
    W, H = vx.dims("W H")
    x, y = vx.vars("x y")
    img = vx.Input("img", vx.float32, (H, W))
    down = vx.Func("down", shape=(H // 2, W // 2))
    down[y, x] = img[2 * y + 1, 2 * x + 1]
    a = _rand(*shape)
    h, w = shape
    got = vx.Pipeline(down).reference(img=a)
    assert got.shape == (h // 2, w // 2)
    np.testing.assert_array_equal(got, a[1::2, 1::2][:h // 2, :w // 2])


@pytest.mark.parametrize("shape", [(1, 1), (5, 7)])
def test_upsample(shape):
    W, H = vx.dims("W H")
    x, y = vx.vars("x y")
    img = vx.Input("img", vx.float32, (H, W))
    up = vx.Func("up", shape=(2 * H, 2 * W))
    up[y, x] = img[y // 2, x // 2]
    a = _rand(*shape)
    got = vx.Pipeline(up).reference(img=a)
    np.testing.assert_array_equal(got, a.repeat(2, axis=0).repeat(2, axis=1))


def test_lut_gather():
    W, H = vx.dims("W H")
    x, y = vx.vars("x y")
    lut = vx.Input("lut", vx.float32, (256,))
    img = vx.Input("img", vx.uint8, (H, W))
    idx = vx.Input("idx", vx.int32, (H, W))
    g8 = vx.Func("g8", shape=(H, W))
    g8[y, x] = lut[img[y, x]]
    g32 = vx.Func("g32", shape=(H, W))
    g32[y, x] = lut[vx.clamp(idx[y, x], 0, 255)]
    table = _rand(256)
    iv = RNG.integers(0, 256, (6, 7)).astype(np.uint8)
    jv = RNG.integers(-1000, 1000, (6, 7)).astype(np.int32)
    o8, o32 = vx.Pipeline(g8, g32).reference(lut=table, img=iv, idx=jv)
    np.testing.assert_array_equal(o8, table[iv])
    np.testing.assert_array_equal(o32, table[np.clip(jv, 0, 255)])


# --- inline reductions -----------------------------------------------------------------------

def _volume_reductions(dtype):
    B, H, W = vx.dims("B H W")
    b = vx.Var("b")
    vol = vx.Input("vol", dtype, (B, H, W))
    rr = vx.RDom((H, W), name="rr")
    outs = {}
    for name, fn in [("argmax", vx.argmax), ("argmin", vx.argmin), ("minimum", vx.minimum),
                     ("maximum", vx.maximum), ("sum", vx.sum)]:
        outs[name] = vx.Func(name, shape=(B,))
        outs[name][b] = fn(vol[b, rr[0], rr[1]])
    outs["product"] = vx.Func("product", shape=(B,))
    outs["product"][b] = vx.product(vx.cast(vx.int64, vol[b, rr[0], rr[1]]))
    return vx.Pipeline(*outs.values()), list(outs)


@pytest.mark.parametrize("chunk", [reference.CHUNK_ELEMENTS, 7])
def test_reductions_multi_dim_rdom(monkeypatch, chunk):
    """Small values make ties common: argmax/argmin must give the first occurrence, flat index.
    A tiny CHUNK_ELEMENTS exercises combining partial results across chunks."""
    monkeypatch.setattr(reference, "CHUNK_ELEMENTS", chunk)
    pipe, names = _volume_reductions(vx.int16)
    v = RNG.integers(-3, 4, (5, 4, 6)).astype(np.int16)
    flat = v.reshape(5, -1)
    want = {"argmax": flat.argmax(1), "argmin": flat.argmin(1), "minimum": flat.min(1),
            "maximum": flat.max(1), "sum": flat.sum(1, dtype=np.int16),
            "product": flat.astype(np.int64).prod(1)}
    for name, got in zip(names, pipe.reference(vol=v)):
        np.testing.assert_array_equal(got, want[name], err_msg=name)
    assert [o.dtype for o in pipe.reference(vol=v)] == [np.int32, np.int32, np.int16, np.int16,
                                                          np.int16, np.int64]


def test_reductions_with_where_predicate():
    B, H, W = vx.dims("B H W")
    b = vx.Var("b")
    vol = vx.Input("vol", vx.float32, (B, H, W))
    rr = vx.RDom((H, W), name="rr")
    rr.where(rr[0] != rr[1])
    mx = vx.Func("mx", shape=(B,))
    mx[b] = vx.maximum(vol[b, rr[0], rr[1]])
    am = vx.Func("am", shape=(B,))
    am[b] = vx.argmax(vol[b, rr[0], rr[1]])
    mn = vx.Func("mn", shape=(B,))
    mn[b] = vx.minimum(vol[b, rr[0], rr[1]])
    v = _rand(3, 4, 5)
    off_diag = ~np.eye(4, 5, dtype=bool)
    lo = np.where(off_diag, v, -np.inf).reshape(3, -1)
    hi = np.where(off_diag, v, np.inf).reshape(3, -1)
    got_mx, got_am, got_mn = vx.Pipeline(mx, am, mn).reference(vol=v)
    np.testing.assert_array_equal(got_mx, lo.max(1))
    np.testing.assert_array_equal(got_am, lo.argmax(1))
    np.testing.assert_array_equal(got_mn, hi.min(1))


def test_argmax_1d_rdom_with_min_gives_coordinate():
    N = vx.Dim("N")
    x = vx.Var("x")
    q = vx.Input("q", vx.float32, (N,))
    r = vx.RDom([(1, N - 1)], name="r")
    f = vx.Func("f", shape=(1,))
    f[x] = vx.argmax(q[r])
    qv = np.array([9, 1, 5, 5, 2], np.float32)
    assert vx.Pipeline(f).reference(q=qv)[0] == 1 + qv[1:].argmax() == 2


def test_empty_reductions_give_identities():
    N = vx.Dim("N")
    x = vx.Var("x")
    q = vx.Input("q", vx.float32, (N,))
    qi = vx.Input("qi", vx.int8, (N,))
    r = vx.RDom([(0, N - 1)], name="r")
    cases = {"s": (vx.sum, q, 0.0), "p": (vx.product, q, 1.0), "mx": (vx.maximum, q, -np.inf),
             "mn": (vx.minimum, q, np.inf), "mxi": (vx.maximum, qi, -128),
             "mni": (vx.minimum, qi, 127), "am": (vx.argmax, q, 0), "an": (vx.argmin, qi, 0)}
    funcs = []
    for name, (fn, src, _) in cases.items():
        f = vx.Func(name, shape=(1,))
        f[x] = fn(src[r])
        funcs.append(f)
    outs = vx.Pipeline(*funcs).reference(q=np.ones(1, np.float32), qi=np.ones(1, np.int8))
    for (name, (_, _, want)), got in zip(cases.items(), outs):
        assert got[0] == want, name


def test_triangular_sum_with_where_on_pure_var():
    N = vx.Dim("N")
    x = vx.Var("x")
    q = vx.Input("q", vx.float64, (N,))
    r = vx.RDom(N, name="r")
    r.where(r <= x)
    f = vx.Func("f", shape=(N,))
    f[x] = vx.sum(q[r])
    qv = _rand(9, dtype=np.float64)
    np.testing.assert_allclose(vx.Pipeline(f).reference(q=qv), np.cumsum(qv))


# --- multiple outputs, scalars, intrinsics ---------------------------------------------------

def test_multiple_outputs_tuple_in_order():
    N = vx.Dim("N")
    x = vx.Var("x")
    a = vx.Input("a", vx.float32, (N,))
    dbl = vx.Func("dbl", shape=(N,))
    dbl[x] = a[x] * 2
    neg = vx.Func("neg", shape=(N,))
    neg[x] = -dbl[x]
    av = _rand(5)
    out = vx.Pipeline(neg, dbl).reference(a=av)
    assert isinstance(out, tuple) and len(out) == 2
    np.testing.assert_array_equal(out[0], -2 * av)
    np.testing.assert_array_equal(out[1], 2 * av)


def test_intrinsics_match_numpy():
    import math
    N = vx.Dim("N")
    x = vx.Var("x")
    a = vx.Input("a", vx.float64, (N,))
    g = vx.Param("g", vx.float64)
    fns = {"exp": np.exp, "log": np.log, "sqrt": np.sqrt, "rsqrt": lambda v: 1 / np.sqrt(v),
           "sin": np.sin, "cos": np.cos, "tan": np.tan, "tanh": np.tanh, "floor": np.floor,
           "ceil": np.ceil, "round": np.rint, "erf": np.vectorize(math.erf)}
    funcs = []
    for name in fns:
        f = vx.Func(name, shape=(N,))
        f[x] = getattr(vx, name)(a[x]) + getattr(vx, name)(g)  # a scalar operand too
        funcs.append(f)
    av = RNG.uniform(0.1, 3, 7)
    for (name, fn), got in zip(fns.items(), vx.Pipeline(*funcs).reference(a=av, g=0.5)):
        np.testing.assert_allclose(got, fn(av) + fn(0.5), rtol=1e-12, err_msg=name)


def test_output_sized_by_keyword_dim():
    """A size used only by an output's shape is passed by name."""
    N = vx.Dim("N")
    x = vx.Var("x")
    f = vx.Func("ramp", shape=(N,))
    f[x] = x * 3
    np.testing.assert_array_equal(vx.Pipeline(f).reference(N=4), [0, 3, 6, 9])
