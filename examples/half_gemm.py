"""GEMM of 16-bit float inputs with float32 accumulation, on tensor cores:
C[i, j] = Σ_k float(A[i, k]) · float(B[k, j]).

Run it:  vortex run examples/half_gemm.py [--schedule FILE] [--show-source]

A (M × K) and B (K × N) are float16 (``pipeline(vx.bfloat16)`` builds the bfloat16 GEMM:
``ml_dtypes.bfloat16`` arrays, every target); C is float32. The products are exact in float32
and the sum accumulates in float32, as the tensor
cores' ``mma.sync`` (f16/bf16 → f32) and MFMA do, so ``pipe.reference`` and numpy's float32
matmul of the converted inputs are the references.

The schedules (schedules/half_gemm/<device>.toml) all use the ``mma`` directive
(docs/tensor_cores.md): on H100/A100 a 128×128 block tile of 8 warps, each warp 64×32 as 4×4
``mma.sync.m16n8k16`` tiles; A and B staged in shared memory by 16-byte ``cp.async`` copies,
XOR-swizzled, three stages deep; the fragments loaded with ``ldmatrix`` (``LDSM`` in the SASS:
benchmarks/isa_report.py). On MI300X (compiled for gfx90a here) 16×16×16 MFMA (``…f16``, or
``…bf16_1k`` for bfloat16). On PoCL the same mma tiling with each lane
computing its fragment with plain loops: it checks the GPU schedules' tiling and indexing.
"""
import numpy as np

import vortex as vx

SHAPE = (512, 512, 512)       # M, N, K


def pipeline(t=vx.float16) -> vx.Pipeline:
    """The GEMM of ``t`` inputs (vx.float16 or vx.bfloat16)."""
    M, N, K = vx.dims("M N K")
    A = vx.Input("A", t, (M, K))
    B = vx.Input("B", t, (K, N))
    i, j = vx.vars("i j")
    k = vx.RDom(K, name="k")
    C = vx.Func("C", shape=(M, N))
    C[i, j] = vx.sum(vx.cast(vx.float32, A[i, k]) * vx.cast(vx.float32, B[k, j]))
    return vx.Pipeline(C, name="half_gemm")


def inputs(image=None) -> dict:
    """A (512, 512), B (512, 512): float16 normal values / 16 (fixed seed); ``image`` is
    ignored."""
    rng = np.random.default_rng(0)
    M, N, K = SHAPE
    return {"A": (rng.standard_normal((M, K)) / 16).astype(np.float16),
            "B": (rng.standard_normal((K, N)) / 16).astype(np.float16)}


def numpy_version(A, B):
    """float32 matmul of the inputs converted to float32."""
    return A.astype(np.float32) @ B.astype(np.float32)
