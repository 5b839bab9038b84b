"""Pipelines the schedule tests share, built with the public API (``import vortex as vx``)."""
from __future__ import annotations

import types

import vortex as vx
from vortex.schedule import MemoryType, Schedule, divisible


def blur() -> vx.Pipeline:
    """Two-stage 3x3 box blur: blur_x (inlined by default) → blur[y, x] (output, 2-D)."""
    W, H = vx.dims("W H")
    x, y = vx.vars("x y")
    img = vx.Input("img", vx.float32, (H, W))
    src = vx.repeat_edge(img)
    blur_x = vx.Func("blur_x")
    blur_x[y, x] = (src[y, x - 1] + src[y, x] + src[y, x + 1]) / 3
    out = vx.Func("blur", shape=(H, W))
    out[y, x] = (blur_x[y - 1, x] + blur_x[y, x] + blur_x[y + 1, x]) / 3
    return vx.Pipeline(out)


def matmul() -> vx.Pipeline:
    """C[i, j] = sum_k A[i, k] * B[k, j]: loop vars [i, j, k]."""
    M, N, K = vx.dims("M N K")
    A = vx.Input("A", vx.float32, (M, K))
    B = vx.Input("B", vx.float32, (K, N))
    i, j = vx.vars("i j")
    k = vx.RDom(K, name="k")
    C = vx.Func("C", shape=(M, N))
    C[i, j] = vx.sum(A[i, k] * B[k, j])
    return vx.Pipeline(C, name="matmul")


def box2d() -> vx.Pipeline:
    """out[y, x] = sum over a 2-D RDom rr (vars rr_0, rr_1): loop vars [y, x, rr_0, rr_1]."""
    W, H = vx.dims("W H")
    x, y = vx.vars("x y")
    img = vx.Input("img", vx.float32, (H, W))
    src = vx.repeat_edge(img)
    rr = vx.RDom((3, 3), name="rr")
    out = vx.Func("box", shape=(H, W))
    out[y, x] = vx.sum(src[y + rr[0] - 1, x + rr[1] - 1])
    return vx.Pipeline(out)


def scale1d() -> vx.Pipeline:
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


def histogram() -> vx.Pipeline:
    """hist[b] = 0; hist[v[r]] += 1 — a Func with an update definition."""
    N = vx.Dim("N")
    v = vx.Input("v", vx.uint8, (N,))
    r = vx.RDom(N, name="r")
    b = vx.Var("b")
    hist = vx.Func("hist", shape=(256,))
    hist[b] = vx.cast(vx.int32, 0)
    hist[v[r]] += 1
    return vx.Pipeline(hist)


def histogram_consumer() -> vx.Pipeline:
    """An intermediate with updates (hist, computed at root by default) read by an output."""
    N = vx.Dim("N")
    v = vx.Input("v", vx.uint8, (N,))
    r = vx.RDom(N, name="r")
    b = vx.Var("b")
    hist = vx.Func("hist", shape=(256,))
    hist[b] = vx.cast(vx.int32, 0)
    hist[v[r]] += 1
    cdf = vx.Func("scaled_hist", shape=(256,))
    cdf[b] = hist[b] * 2
    return vx.Pipeline(cdf)


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


# What ``to_python()`` output needs in scope as ``vx`` (independent of vortex/__init__ exports).
VX = types.SimpleNamespace(Schedule=Schedule, divisible=divisible, MemoryType=MemoryType)


def replay_python(s: Schedule) -> Schedule:
    """exec ``s.to_python()`` with ``vx`` and ``pipe`` in scope; returns the rebuilt schedule."""
    scope = {"vx": VX, "pipe": s.pipe}
    exec(s.to_python(), scope)  # noqa: S102 - the round trip under test
    return scope["s"]
