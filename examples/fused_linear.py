"""A linear layer with its bias and SiLU activation fused into the matrix multiply, on tensor
cores: out[i, j] = silu(Σ_k float(X[i, k]) · float(W[k, j]) + bias[j]).

Run it:  vortex run examples/fused_linear.py [--schedule FILE] [--show-source]

X (M × K) and W (K × N) are float16, the products accumulate in float32 (as tensor-core GEMMs
do), ``bias`` (N,) is float32 and so is the output. SiLU (Elfwing, Uchibe, Doya, "Sigmoid-
weighted linear units", 2018; the Swish of Ramachandran et al.) is v · sigmoid(v) = v / (1 +
exp(-v)). The whole layer is one Func: under the ``mma`` directive (docs/tensor_cores.md) the
sum is computed by warp-level matrix instructions into per-lane accumulator fragments, and the
bias add and SiLU are applied to the fragment in registers before the one store: one kernel,
the pre-activation matrix never reaches memory.

The schedules (schedules/fused_linear/<device>.toml) all use ``mma``: 16×8×16 ``mma.sync`` on
H100/A100, 16×16×16 MFMA on MI300X (compiled for gfx90a here), and on PoCL the same 16×8×16
tiling with each lane computing its fragment's elements with plain loops (exact against
``pipe.reference`` up to the last ulp of ``exp``).
"""
import numpy as np

import vortex as vx

SHAPE = (256, 512, 256)       # M, N, K


def pipeline() -> vx.Pipeline:
    M, N, K = vx.dims("M N K")
    X = vx.Input("X", vx.float16, (M, K))
    W = vx.Input("W", vx.float16, (K, N))
    bias = vx.Input("bias", vx.float32, (N,))
    i, j = vx.vars("i j")
    k = vx.RDom(K, name="k")
    v = vx.sum(vx.cast(vx.float32, X[i, k]) * vx.cast(vx.float32, W[k, j])) + bias[j]
    out = vx.Func("out", shape=(M, N))
    out[i, j] = v / (1 + vx.exp(-v))
    return vx.Pipeline(out, name="fused_linear")


def inputs(image=None) -> dict:
    """X (256, 256), W (256, 512): float16 normal values scaled by 1/16; bias (512,) float32
    normal (fixed seed); ``image`` is ignored."""
    rng = np.random.default_rng(0)
    M, N, K = SHAPE
    return {"X": (rng.standard_normal((M, K)) / 16).astype(np.float16),
            "W": (rng.standard_normal((K, N)) / 16).astype(np.float16),
            "bias": rng.standard_normal(N).astype(np.float32)}


def numpy_version(X, W, bias):
    """The unfused composition: a float32 matmul of the float16 inputs, the bias, then SiLU."""
    v = X.astype(np.float32) @ W.astype(np.float32) + bias
    return v / (1 + np.exp(-v))
