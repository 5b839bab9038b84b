"""Batched matrix multiply with half-precision inputs and f32 accumulation:
C[b, i, j] = sum_k float(A[b, i, k]) * float(B[b, k, j]).

Run it:  vortex run examples/batched_matmul.py
The float16 inputs are converted to float32 before the products, so the sum accumulates in
f32 as tensor-core GEMMs do. OpenCL kernels read the halves with ``vload_half``-free plain
``half`` loads, which need cl_khr_fp16: on OpenCL devices without it set
VORTEX_BMM_DTYPE=float32. Schedules: schedules/batched_matmul/<device>.toml.
"""
import os

import numpy as np

import vortex as vx

DTYPE = os.environ.get("VORTEX_BMM_DTYPE", "float16")


def pipeline() -> vx.Pipeline:
    Bt, M, N, K = vx.dims("Bt M N K")
    t = vx.float16 if DTYPE == "float16" else vx.float32
    A = vx.Input("A", t, (Bt, M, K))
    B = vx.Input("B", t, (Bt, K, N))
    b, i, j = vx.vars("b i j")
    k = vx.RDom(K, name="k")
    C = vx.Func("C", shape=(Bt, M, N))
    C[b, i, j] = vx.sum(vx.cast(vx.float32, A[b, i, k]) * vx.cast(vx.float32, B[b, k, j]))
    return vx.Pipeline(C, name="batched_matmul")


def inputs(image=None) -> dict:
    """8 batches of 128×128 × 128×128, values in [0, 1) (``image`` is ignored)."""
    rng = np.random.default_rng(0)
    t = np.float16 if DTYPE == "float16" else np.float32
    return {"A": rng.random((8, 128, 128)).astype(t), "B": rng.random((8, 128, 128)).astype(t)}


def numpy_version(A, B):
    return np.matmul(A.astype(np.float32), B.astype(np.float32))
