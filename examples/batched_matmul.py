"""Batched matrix multiply with half-precision inputs and f32 accumulation:
C[b, i, j] = sum_k float(A[b, i, k]) * float(B[b, k, j]).

Run it:  vortex run examples/batched_matmul.py
The float16 inputs are converted to float32 before the products, so the sum accumulates in
f32 as tensor-core GEMMs do. OpenCL kernels read the halves with ``vload_half``, which converts
each to float: half *storage* is core OpenCL 1.2 and needs no cl_khr_fp16 (only half
arithmetic would), so this runs on any OpenCL device, PoCL included. VORTEX_BMM_DTYPE=float32
runs the same pipeline on float32 inputs.

The schedule is not here: schedules/batched_matmul/<device>.toml. The PoCL one has the structure
of examples/matmul.py's (a 64×64 tile of one batch's C per work-group, 8×8 work-items each
keeping an 8×8 micro-tile in registers, k split by 4 and unrolled, ``specialize`` for the
unmasked interior). The vectorized micro-tile loop still reads B one half at a time: the OpenCL
vector printer has no ``vload_halfN`` yet, so the loads stay scalar ``vload_half`` calls.
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
