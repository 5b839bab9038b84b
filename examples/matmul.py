"""f32 matrix multiply, C[i, j] = sum_k A[i, k] * B[k, j], and the space its schedules are tuned in.

Run it:   vortex run examples/matmul.py
Tune it:  vortex-tune examples/matmul.py --shape M=256,N=256,K=256 --trials 60

The schedule is not here: it lives in schedules/matmul/<device>.toml (written by vortex-tune).
Sizes: M = N = K = 256 by default, or $VORTEX_MATMUL_SIZE (one number, or "M,N,K").
"""
import os

import numpy as np

import vortex as vx


def pipeline() -> vx.Pipeline:
    M, N, K = vx.dims("M N K")
    A = vx.Input("A", vx.float32, (M, K))
    B = vx.Input("B", vx.float32, (K, N))
    i, j = vx.vars("i j")
    k = vx.RDom(K, name="k")
    C = vx.Func("C", shape=(M, N))
    C[i, j] = vx.sum(A[i, k] * B[k, j])
    return vx.Pipeline(C, name="matmul")


def space(pipe) -> vx.Schedule:
    """How to schedule it, as a search space: a TI × JT tile of C per block; each thread computes
    V adjacent elements of a row as one vector (JT / V threads across j), and the k loop is
    split by KS with the inner part unrolled. (JT not a multiple of V is pruned: the split
    factor must divide the tile.)"""
    TI = vx.Tunable.pow2("TI", 2, 32)
    JT = vx.Tunable.pow2("JT", 8, 64)
    V = vx.Tunable.pow2("V", 1, 8)
    KS = vx.Tunable.pow2("KS", 1, 8)
    s = vx.Schedule(pipe)
    s["C"].tile("i", "j", "io", "jo", "ii", "ji", TI, JT).split("ji", "jt", "jv", V)
    s["C"].gpu_blocks("io", "jo").gpu_threads("ii", "jt")
    s["C"].split("k", "ko", "ki", KS).reorder("ko", "ki", "jv").unroll("ki").vectorize("jv")
    return s


def _sizes() -> tuple:
    sizes = [int(v) for v in os.environ.get("VORTEX_MATMUL_SIZE", "256").split(",")]
    return tuple(sizes * 3) if len(sizes) == 1 else tuple(sizes)


def inputs(image=None) -> dict:
    """Random A (M×K) and B (K×N) in [0, 1), float32 (``image`` is ignored)."""
    m, n, k = _sizes()
    rng = np.random.default_rng(0)
    return {"A": rng.random((m, k), dtype=np.float32), "B": rng.random((k, n), dtype=np.float32)}


def numpy_version(A, B):
    return A @ B
