"""Pipelines shared by the lowering, codegen and runtime tests, each with an input maker.

Every builder returns a fresh ``vx.Pipeline``; ``inputs(name, shape, seed)`` gives the keyword
arguments of a call for a 2-D "shape" ``(h, w)`` (each pipeline maps it onto its own sizes:
matmul ``M, N = h, w``; histogram ``N = h * w``; softmax rows × cols; 3-D ``(2, h, w)``).
"""
from __future__ import annotations

import numpy as np

import vortex as vx

SHAPES = [(1, 1), (7, 13), (37, 1023), (256, 256)]
MATMUL_K = 19


def blur() -> vx.Pipeline:
    """Separable 3x3 box blur with repeat_edge and a runtime gain: blur_x → blur[y, x]."""
    W, H = vx.dims("W H")
    x, y = vx.vars("x y")
    img = vx.Input("img", vx.float32, (H, W))
    gain = vx.Param("gain", vx.float32)
    src = vx.repeat_edge(img)
    blur_x = vx.Func("blur_x")
    blur_x[y, x] = (src[y, x - 1] + src[y, x] + src[y, x + 1]) / 3
    out = vx.Func("blur", shape=(H, W))
    out[y, x] = gain * (blur_x[y - 1, x] + blur_x[y, x] + blur_x[y + 1, x]) / 3
    return vx.Pipeline(out)


def matmul() -> vx.Pipeline:
    """C[i, j] = sum_k A[i, k] * B[k, j]; loops [i, j, k]."""
    M, N, K = vx.dims("M N K")
    A = vx.Input("A", vx.float32, (M, K))
    B = vx.Input("B", vx.float32, (K, N))
    i, j = vx.vars("i j")
    k = vx.RDom(K, name="k")
    C = vx.Func("C", shape=(M, N))
    C[i, j] = vx.sum(A[i, k] * B[k, j])
    return vx.Pipeline(C, name="matmul")


def softmax() -> vx.Pipeline:
    """Row softmax: row_max (maximum), e = exp(x - max), row_sum (sum), out = e / row_sum."""
    R, C = vx.dims("R C")
    r, c = vx.vars("r c")
    x = vx.Input("x", vx.float32, (R, C))
    k = vx.RDom(C, name="k")
    row_max = vx.Func("row_max")
    row_max[r] = vx.maximum(x[r, k])
    e = vx.Func("e")
    e[r, c] = vx.exp(x[r, c] - row_max[r])
    row_sum = vx.Func("row_sum")
    row_sum[r] = vx.sum(e[r, k])
    out = vx.Func("softmax", shape=(R, C))
    out[r, c] = e[r, c] / row_sum[r]
    return vx.Pipeline(out)


def histogram() -> vx.Pipeline:
    """hist[b] = 0; hist[v[r]] += 1 over a uint8 vector (an update definition)."""
    N = vx.Dim("N")
    v = vx.Input("v", vx.uint8, (N,))
    r = vx.RDom(N, name="r")
    b = vx.Var("b")
    hist = vx.Func("hist", shape=(256,))
    hist[b] = vx.cast(vx.int32, 0)
    hist[v[r]] += 1
    return vx.Pipeline(hist)


def intops() -> vx.Pipeline:
    """int32 // % & | ^ << >> on negative values (Python floor semantics; x // 0 == 0)."""
    W, H = vx.dims("W H")
    x, y = vx.vars("x y")
    a = vx.Input("a", vx.int32, (H, W))
    b = vx.Input("b", vx.int32, (H, W))
    out = vx.Func("ints", shape=(H, W))
    q, m = a[y, x] // b[y, x], a[y, x] % b[y, x]
    bits = ((a[y, x] & b[y, x]) | (a[y, x] ^ 0x5A5A)) ^ (b[y, x] << 3)
    out[y, x] = q * 7 + m + bits + (a[y, x] >> (b[y, x] & 15)) + (a[y, x] // -4) % 5
    return vx.Pipeline(out)


def narrow() -> vx.Pipeline:
    """8-bit integer arithmetic that wraps (uint8 and int8), and a bool output: three outputs."""
    W, H = vx.dims("W H")
    x, y = vx.vars("x y")
    a = vx.Input("a", vx.uint8, (H, W))
    s = vx.Input("s", vx.int8, (H, W))
    u = vx.Func("u8", shape=(H, W))
    u[y, x] = vx.max((a[y, x] * 3) // 2, (a[y, x] - 200) % 7) + ~a[y, x] // 3
    i = vx.Func("i8", shape=(H, W))
    i[y, x] = ((s[y, x] << 2) >> 1) + (-s[y, x]) // 3 + vx.abs(s[y, x])
    big = vx.Func("big", shape=(H, W))
    big[y, x] = (s[y, x] + 100) > 50
    return vx.Pipeline(u, i, big)


def rowstats() -> vx.Pipeline:
    """Per row: argmax (the stage's reduction) and argmin (an inline one) of a float image."""
    W, H = vx.dims("W H")
    y = vx.Var("y")
    img = vx.Input("img", vx.float32, (H, W))
    k = vx.RDom(W, name="k")
    out = vx.Func("rowstats", shape=(H,))
    out[y] = vx.argmax(img[y, k]) * 10000 + vx.argmin(img[y, k])
    return vx.Pipeline(out)


def box() -> vx.Pipeline:
    """3x3 sum of squares (the stage's 2-D reduction, RDom rr) plus the 3x3 maximum (an inline
    reduction) over a repeat_edge image: box[y, x]."""
    W, H = vx.dims("W H")
    x, y = vx.vars("x y")
    img = vx.Input("img", vx.float32, (H, W))
    src = vx.repeat_edge(img)
    sq = vx.Func("sq")
    sq[y, x] = src[y, x] * src[y, x]
    rr = vx.RDom((3, 3), name="rr")
    out = vx.Func("box", shape=(H, W))
    out[y, x] = (vx.sum(sq[y + rr[0] - 1, x + rr[1] - 1])
                 + vx.maximum(src[y + rr[0] - 1, x + rr[1] - 1]))
    return vx.Pipeline(out)


def taps() -> vx.Pipeline:
    """A 3-tap filter whose weights are a Func over a constant domain (a place for bound())."""
    W, H = vx.dims("W H")
    x, y, i = vx.vars("x y i")
    img = vx.Input("img", vx.float32, (H, W))
    src = vx.repeat_edge(img)
    weights = vx.Func("weights")
    weights[i] = vx.cast(vx.float32, i + 1) / 6
    out = vx.Func("taps", shape=(H, W))
    out[y, x] = src[y, x - 1] * weights[0] + src[y, x] * weights[1] + src[y, x + 1] * weights[2]
    return vx.Pipeline(out)


def volume() -> vx.Pipeline:
    """3-D: out[z, y, x] = t[z, y, x] * 2 - t[z, y, W - 1 - x]."""
    Z, H, W = vx.dims("Z H W")
    z, y, x = vx.vars("z y x")
    t = vx.Input("t", vx.float32, (Z, H, W))
    out = vx.Func("vol", shape=(Z, H, W))
    out[z, y, x] = t[z, y, x] * 2 - t[z, y, W - 1 - x]
    return vx.Pipeline(out)


def scale() -> vx.Pipeline:
    """out[y, x] = img[y, x] * 2 + 1: the golden-source pipeline."""
    W, H = vx.dims("W H")
    x, y = vx.vars("x y")
    img = vx.Input("img", vx.float32, (H, W))
    out = vx.Func("scale", shape=(H, W))
    out[y, x] = img[y, x] * 2 + 1
    return vx.Pipeline(out)


def _f32(rng, *shape):
    return rng.random(shape, dtype=np.float32)


INPUTS = {
    "blur": lambda rng, h, w: {"img": _f32(rng, h, w), "gain": 1.5},
    "matmul": lambda rng, h, w: {"A": _f32(rng, h, MATMUL_K), "B": _f32(rng, MATMUL_K, w)},
    "softmax": lambda rng, h, w: {"x": (rng.standard_normal((h, w)) * 4).astype(np.float32)},
    "histogram": lambda rng, h, w: {"v": rng.integers(0, 256, h * w, dtype=np.uint8)},
    "intops": lambda rng, h, w: {"a": rng.integers(-1000, 1000, (h, w), dtype=np.int32),
                                 "b": rng.integers(-9, 10, (h, w), dtype=np.int32)},
    "narrow": lambda rng, h, w: {"a": rng.integers(0, 256, (h, w), dtype=np.uint8),
                                 "s": rng.integers(-128, 128, (h, w), dtype=np.int8)},
    "rowstats": lambda rng, h, w: {"img": rng.integers(0, 5, (h, w)).astype(np.float32)},
    "taps": lambda rng, h, w: {"img": _f32(rng, h, w)},
    "box": lambda rng, h, w: {"img": _f32(rng, h, w)},
    "volume": lambda rng, h, w: {"t": _f32(rng, 2, h, w)},
    "scale": lambda rng, h, w: {"img": _f32(rng, h, w)},
}

BUILDERS = {"blur": blur, "matmul": matmul, "softmax": softmax, "histogram": histogram,
            "intops": intops, "narrow": narrow, "rowstats": rowstats, "taps": taps,
            "box": box, "volume": volume, "scale": scale}


def inputs(name: str, shape, seed: int = 0) -> dict:
    """Call arguments of pipeline ``name`` for ``shape`` = (h, w), deterministic in ``seed``."""
    return INPUTS[name](np.random.default_rng(seed), *shape)


# --- shared objects and checks ----------------------------------------------------------------
_PIPES: dict = {}        # name -> Pipeline: one object per name for a whole test session
_REFERENCES: dict = {}   # (name, shape) -> (call arguments, reference outputs as a tuple)


def pipe(name: str) -> vx.Pipeline:
    """The session's Pipeline object for ``name`` (built once by ``BUILDERS[name]``)."""
    if name not in _PIPES:
        _PIPES[name] = BUILDERS[name]()
    return _PIPES[name]


def reference(name: str, shape, make=None):
    """(call arguments, reference outputs tuple) of ``pipe(name)`` for ``shape``, cached;
    ``make(shape)`` overrides :func:`inputs` (its shape key must then be unique)."""
    key = (name, tuple(shape))
    if key not in _REFERENCES:
        args = make(shape) if make else inputs(name, shape)
        ref = pipe(name).reference(**args)
        _REFERENCES[key] = args, ref if isinstance(ref, tuple) else (ref,)
    return _REFERENCES[key]


def assert_matches(out, ref: tuple):
    """Exact for integers and bools; rtol 1e-5 (atol 1e-7 for values near 0) for floats."""
    outs = out if isinstance(out, tuple) else (out,)
    assert len(outs) == len(ref)
    for o, r in zip(outs, ref):
        assert o.shape == r.shape and o.dtype == r.dtype, (o.shape, o.dtype, r.shape, r.dtype)
        if np.issubdtype(r.dtype, np.floating):
            np.testing.assert_allclose(o, r, rtol=1e-5, atol=1e-7)
        else:
            np.testing.assert_array_equal(o, r)
