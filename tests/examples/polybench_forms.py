"""PolyBench/C 4.2 kernels in their natural Halide forms (issue 12, items 6a and 6b), each with a
loop-for-loop numpy transcription of the same form (float32 operations in the same order).

- 6a: an inline reduction inside an update over the update's own RVars (cholesky, lu, trisolv):
  ``vx.sum(A[r[0], k] * A[r[1], k])`` reduces over ``k``; ``r`` stays the update's.
- 6b: an update reading its own Func at another point of a pure dimension (floyd-warshall's
  ``P[i, k]``, jacobi-2d's neighbours): the pure loop is ordered.
"""
from __future__ import annotations

import numpy as np

import vortex as vx

F32 = np.float32


def trisolv(over: bool = False) -> vx.Pipeline:
    """x = L⁻¹ b by forward substitution: x[r] = (b[r] - Σ_{k<r} L[r, k] x[k]) / L[r, r]."""
    N = vx.Dim("N")
    L, b = vx.Input("L", vx.float32, (N, N)), vx.Input("b", vx.float32, (N,))
    i = vx.Var("i")
    r, k = vx.RDom(N, name="r"), vx.RDom(N, name="k")
    k.where(k < r)
    x = vx.Func("x", shape=(N,))
    x[i] = b[i]
    x[r] = (x[r] - (vx.sum(L[r, k] * x[k], over=k) if over else vx.sum(L[r, k] * x[k]))) / L[r, r]
    return vx.Pipeline(x, name="trisolv")


def trisolv_np(L, b):
    x = b.copy()
    for i in range(len(b)):
        s = F32(0)
        for j in range(i):
            s = F32(s + L[i, j] * x[j])
        x[i] = (x[i] - s) / L[i, i]
    return x


def trisolv_2d() -> vx.Pipeline:
    """PolyBench's own loop order in one update over a 2-D RDom: x[i] -= L[i, j] x[j] for j < i,
    then x[i] /= L[i, i] at j == i."""
    N = vx.Dim("N")
    L, b = vx.Input("L", vx.float32, (N, N)), vx.Input("b", vx.float32, (N,))
    i = vx.Var("i")
    r = vx.RDom([(0, N), (0, N)], name="r")
    r.where(r[1] <= r[0])
    x = vx.Func("x", shape=(N,))
    x[i] = b[i]
    x[r[0]] = vx.select(r[1] < r[0], x[r[0]] - L[r[0], r[1]] * x[r[1]], x[r[0]] / L[r[0], r[0]])
    return vx.Pipeline(x, name="trisolv_2d")


def trisolv_2d_np(L, b):
    x = b.copy()
    for i in range(len(b)):
        for j in range(i):
            x[i] = x[i] - L[i, j] * x[j]
        x[i] = x[i] / L[i, i]
    return x


def cholesky() -> vx.Pipeline:
    """In-place Cholesky of the lower triangle: A[i, j] = (A[i, j] - Σ_{k<j} A[i, k] A[j, k]) /
    A[j, j] below the diagonal, sqrt(A[i, i] - Σ_{k<i} A[i, k]²) on it (the upper triangle keeps
    the input)."""
    N = vx.Dim("N")
    a = vx.Input("a", vx.float32, (N, N))
    i, j = vx.vars("i j")
    r, k = vx.RDom([(0, N), (0, N)], name="r"), vx.RDom(N, name="k")
    r.where(r[1] <= r[0])
    k.where(k < r[1])
    A = vx.Func("A", shape=(N, N))
    A[i, j] = a[i, j]
    t = A[r[0], r[1]] - vx.sum(A[r[0], k] * A[r[1], k])
    A[r[0], r[1]] = vx.select(r[1] < r[0], t / A[r[1], r[1]], vx.sqrt(t))
    return vx.Pipeline(A, name="cholesky")


def cholesky_np(a):
    A = a.copy()
    for i in range(len(A)):
        for j in range(i + 1):
            s = F32(0)
            for k in range(j):
                s = F32(s + A[i, k] * A[j, k])
            t = A[i, j] - s
            A[i, j] = t / A[j, j] if j < i else np.sqrt(t)
    return A


def lu() -> vx.Pipeline:
    """In-place LU (Doolittle, no pivoting): A[i, j] -= Σ_{k<min(i,j)} A[i, k] A[k, j], divided by
    A[j, j] below the diagonal."""
    N = vx.Dim("N")
    a = vx.Input("a", vx.float32, (N, N))
    i, j = vx.vars("i j")
    r, k = vx.RDom([(0, N), (0, N)], name="r"), vx.RDom(N, name="k")
    k.where(k < vx.min(r[0], r[1]))
    A = vx.Func("A", shape=(N, N))
    A[i, j] = a[i, j]
    t = A[r[0], r[1]] - vx.sum(A[r[0], k] * A[k, r[1]])
    A[r[0], r[1]] = vx.select(r[1] < r[0], t / A[r[1], r[1]], t)
    return vx.Pipeline(A, name="lu")


def lu_np(a):
    A = a.copy()
    n = len(A)
    for i in range(n):
        for j in range(n):
            s = F32(0)
            for k in range(min(i, j)):
                s = F32(s + A[i, k] * A[k, j])
            t = A[i, j] - s
            A[i, j] = t / A[j, j] if j < i else t
    return A


def floyd_warshall() -> vx.Pipeline:
    """All-pairs shortest paths: P[i, j] = min(P[i, j], P[i, k] + P[k, j]) for each k in order."""
    N = vx.Dim("N")
    w = vx.Input("w", vx.int32, (N, N))
    i, j = vx.vars("i j")
    k = vx.RDom(N, name="k")
    P = vx.Func("P", shape=(N, N))
    P[i, j] = w[i, j]
    P[i, j] = vx.min(P[i, j], P[i, k] + P[k, j])
    return vx.Pipeline(P, name="floyd_warshall")


def floyd_warshall_np(w):
    P = w.copy()
    n = len(P)
    for k in range(n):
        for i in range(n):
            for j in range(n):
                P[i, j] = min(P[i, j], P[i, k] + P[k, j])
    return P


def jacobi_2d() -> vx.Pipeline:
    """PolyBench's jacobi-2d as one Func over half-steps: S[2t - 1] is B after step t, S[2t] is A;
    the interior is the 5-point average of the previous half-step, the border the input's."""
    T, N = vx.Dim("T"), vx.Dim("N")
    a, b = vx.Input("a", vx.float32, (N, N)), vx.Input("b", vx.float32, (N, N))
    t, i, j = vx.vars("t i j")
    S = vx.Func("S", shape=(2 * T + 1, N, N))
    S[t, i, j] = a[i, j]
    r = vx.RDom([(1, 2 * T)], name="r")
    up, down = vx.max(i - 1, 0), vx.min(i + 1, N - 1)
    left, right = vx.max(j - 1, 0), vx.min(j + 1, N - 1)
    p = r - 1
    avg = 0.2 * (S[p, i, j] + S[p, i, left] + S[p, i, right] + S[p, down, j] + S[p, up, j])
    inside = (i >= 1) & (i < N - 1) & (j >= 1) & (j < N - 1)
    S[r, i, j] = vx.select(inside, avg, vx.select(r % 2 == 1, b[i, j], a[i, j]))
    return vx.Pipeline(S, name="jacobi_2d")


def jacobi_2d_np(a, b, steps):
    A, B = a.copy(), b.copy()
    n = len(A)
    for _ in range(steps):
        for src, dst in ((A, B), (B, A)):
            for i in range(1, n - 1):
                for j in range(1, n - 1):
                    dst[i, j] = F32(0.2) * (src[i, j] + src[i, j - 1] + src[i, j + 1]
                                            + src[i + 1, j] + src[i - 1, j])
    return A, B
