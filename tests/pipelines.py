"""Pipelines shared by every test directory (and ``benchmarks/check_time.py``).

Every builder returns a fresh ``vx.Pipeline``. Those in ``BUILDERS`` have an input maker:
``inputs(name, shape, seed)`` gives the keyword arguments of a call for a 2-D "shape" ``(h, w)``
(each pipeline maps it onto its own sizes: matmul ``M, N = h, w``; histogram ``N = h * w``;
softmax rows × cols; 3-D ``(2, h, w)``). The others serve the schedule and algorithm tests.
"""
from __future__ import annotations

import types
from pathlib import Path

import numpy as np

import vortex as vx
from vortex.examples import load_example
from vortex.schedule import MemoryType, Schedule, divisible

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

SHAPES = [(1, 1), (7, 13), (37, 1023), (256, 256)]
MATMUL_K = 19


def blur(boundary=vx.repeat_edge, gain: bool = True) -> vx.Pipeline:
    """Separable 3x3 box blur of img through ``boundary``: blur_x (inlined by default) →
    blur[y, x]; with ``gain``, a runtime Param ``gain`` scales the output."""
    W, H = vx.dims("W H")
    x, y = vx.vars("x y")
    img = vx.Input("img", vx.float32, (H, W))
    g = vx.Param("gain", vx.float32) if gain else None
    src = boundary(img)
    blur_x = vx.Func("blur_x")
    blur_x[y, x] = (src[y, x - 1] + src[y, x] + src[y, x + 1]) / 3
    out = vx.Func("blur", shape=(H, W))
    total = blur_x[y - 1, x] + blur_x[y, x] + blur_x[y + 1, x]
    out[y, x] = (total if g is None else g * total) / 3
    return vx.Pipeline(out)


def matmul() -> vx.Pipeline:
    """examples/matmul.py's algorithm: C[i, j] = sum_k A[i, k] * B[k, j]; loops [i, j, k]."""
    return load_example(EXAMPLES / "matmul.py").pipeline()


def matmul_sized(M=None, N=None, K=None) -> tuple:
    """(pipeline 'mm', C) of the same algorithm with any of M, N, K a fixed int (None: a Dim
    of that name), for schedules that need constant sizes."""
    dims = vx.dims("M N K")
    M, N, K = (d if v is None else v for d, v in zip(dims, (M, N, K)))
    A = vx.Input("A", vx.float32, (M, K))
    B = vx.Input("B", vx.float32, (K, N))
    i, j = vx.vars("i j")
    k = vx.RDom(K, name="k")
    C = vx.Func("C", shape=(M, N))
    C[i, j] = vx.sum(A[i, k] * B[k, j])
    return vx.Pipeline(C, name="mm"), C


def matmul_f16() -> vx.Pipeline:
    """C[i, j] = sum_k f32(A[i, k]) * f32(B[k, j]) with float16 A and B (tensor-core types)."""
    M, N, K = vx.dims("M N K")
    A, B = vx.Input("A", vx.float16, (M, K)), vx.Input("B", vx.float16, (K, N))
    i, j = vx.vars("i j")
    k = vx.RDom(K, name="k")
    C = vx.Func("C", shape=(M, N))
    C[i, j] = vx.sum(vx.cast(vx.float32, A[i, k]) * vx.cast(vx.float32, B[k, j]))
    return vx.Pipeline(C, name="matmul_f16")


def _quarters(rng, *shape):
    """float16 multiples of 1/4 in [-2, 2]: their products and sums are exact in float32."""
    return (rng.integers(-8, 9, shape) / 4).astype(np.float16)


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


def _hist(bins: int) -> vx.Func:
    N = vx.Dim("N")
    v = vx.Input("v", vx.uint8, (N,))
    r = vx.RDom(N, name="r")
    b = vx.Var("b")
    hist = vx.Func("hist", shape=(bins,))
    hist[b] = vx.cast(vx.int32, 0)
    hist[v[r]] += 1
    return hist


def histogram(bins: int = 256) -> vx.Pipeline:
    """hist[b] = 0; hist[v[r]] += 1 over a uint8 vector (an update definition). With fewer than
    256 ``bins`` the update writes outside hist: a vx.BoundsError here."""
    return vx.Pipeline(_hist(bins))


def histogram_consumer() -> vx.Pipeline:
    """An intermediate with updates (hist, computed at root by default) read by an output."""
    hist = _hist(256)
    b = vx.Var("b")
    cdf = vx.Func("scaled_hist", shape=(256,))
    cdf[b] = hist[b] * 2
    return vx.Pipeline(cdf)


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


def ragged_rows() -> vx.Pipeline:
    """out[y, x] = img[y, x] * 2 + offsets[0], with ``offsets`` (3,) int32 declared within
    [0, H] and monotone: a place for ``ragged_split(y, offsets, ...)``."""
    H, W = vx.dims("H W")
    img = vx.Input("img", vx.float32, (H, W))
    offsets = vx.Input("offsets", vx.int32, (3,), range=(0, H), monotone=True)
    y, x = vx.vars("y x")
    out = vx.Func("out", shape=(H, W))
    out[y, x] = img[y, x] * 2 + vx.cast(vx.float32, offsets[0])
    return vx.Pipeline(out, name="ragged_rows")


def scale1d() -> vx.Pipeline:
    """scaled[x] = v[x] * 2 over a vector: loop vars [x]."""
    N = vx.Dim("N")
    x = vx.Var("x")
    v = vx.Input("v", vx.float32, (N,))
    out = vx.Func("scaled", shape=(N,))
    out[x] = v[x] * 2
    return vx.Pipeline(out)


def nd(rank: int) -> vx.Pipeline:
    """An elementwise pipeline of the given rank (3-D: vars [z, y, x]; more: a, b, … first)."""
    names = ["a", "b", "c", "w"][: max(rank - 3, 0)] + ["z", "y", "x"][-rank:]
    sizes = vx.dims(" ".join(n.upper() + "S" for n in names))
    vs = vx.vars(" ".join(names))
    t = vx.Input("t", vx.float32, sizes)
    out = vx.Func(f"out{rank}d", shape=sizes)
    out[vs] = t[vs] + 1
    return vx.Pipeline(out)


def branches() -> vx.Pipeline:
    """f and g both read img; out = f + g. g does not consume f. Chain: pre → f → out."""
    W, H = vx.dims("W H")
    x, y = vx.vars("x y")
    img = vx.Input("img", vx.float32, (H, W))
    pre = vx.Func("pre")
    pre[y, x] = img[y, x] * 2
    f = vx.Func("f")
    f[y, x] = pre[y, x] + 1
    g = vx.Func("g")
    g[y, x] = img[y, x] - 1
    out = vx.Func("out", shape=(H, W))
    out[y, x] = f[y, x] + g[y, x]
    return vx.Pipeline(out)


def branches_and_counts() -> vx.Pipeline:
    """:func:`branches` plus a second output with an update definition: ``counts``, a
    16-bin histogram of ``img`` (every directive has a stage to apply to)."""
    pipe = branches()
    out, img = pipe.outputs[0], pipe.inputs["img"]
    counts = vx.Func("counts", shape=(16,))
    b = vx.Var("b")
    counts[b] = vx.cast(vx.int32, 0)
    r = vx.RDom(img.shape, name="r")
    i = vx.clamp(vx.cast(vx.int32, img[r[0], r[1]]), 0, 15)
    counts[i] = counts[i] + 1
    return vx.Pipeline(out, counts)


def stencil_chain_output(n_stages: int) -> vx.Func:
    """``n_stages`` Funcs, each the 3-tap vertical average of the previous; the first reads the
    input through repeat_edge; the last, returned, is the output of shape (H, W)."""
    W, H = vx.dims("W H")
    x, y = vx.vars("x y")
    img = vx.Input("img", vx.float32, (H, W))
    prev = vx.repeat_edge(img)
    for s in range(n_stages):
        f = vx.Func(f"s{s}", shape=(H, W) if s == n_stages - 1 else None)
        f[y, x] = (prev[y - 1, x] + prev[y, x] + prev[y + 1, x]) / 3
        prev = f
    return prev


def stencil_chain(n_stages: int) -> vx.Pipeline:
    """The pipeline of :func:`stencil_chain_output`."""
    return vx.Pipeline(stencil_chain_output(n_stages))


def _f32(rng, *shape):
    return rng.random(shape, dtype=np.float32)


INPUTS = {
    "blur": lambda rng, h, w: {"img": _f32(rng, h, w), "gain": 1.5},
    "matmul": lambda rng, h, w: {"A": _f32(rng, h, MATMUL_K), "B": _f32(rng, MATMUL_K, w)},
    "matmul_f16": lambda rng, h, w: {"A": _quarters(rng, h, MATMUL_K),
                                     "B": _quarters(rng, MATMUL_K, w)},
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
    "ragged_rows": lambda rng, h, w: {"img": _f32(rng, h, w), "offsets": np.sort(
        rng.integers(0, h + 1, 3)).astype(np.int32)},
}

BUILDERS = {"blur": blur, "matmul": matmul, "matmul_f16": matmul_f16, "softmax": softmax, "histogram": histogram,
            "intops": intops, "narrow": narrow, "rowstats": rowstats, "taps": taps,
            "box": box, "volume": volume, "scale": scale, "ragged_rows": ragged_rows}


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


# What ``to_python()`` output needs in scope as ``vx`` (independent of vortex/__init__ exports).
VX = types.SimpleNamespace(Schedule=Schedule, divisible=divisible, MemoryType=MemoryType)


def replay_python(s: Schedule) -> Schedule:
    """exec ``s.to_python()`` with ``vx`` and ``pipe`` in scope; returns the rebuilt schedule."""
    scope = {"vx": VX, "pipe": s.pipe}
    exec(s.to_python(), scope)  # noqa: S102 - the round trip under test
    return scope["s"]
