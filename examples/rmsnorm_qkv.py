"""RMSNorm fused into the Q/K/V projection of a Llama-style block (#15 item 2a):
qkv[r, n] = Σ_k tf32(x[r, k] · inv_rms[r] · w_norm[k]) · tf32(Wqkv[k, n]),
inv_rms[r] = 1 / sqrt(mean_k x[r, k]² + eps).

Run it:  vortex run examples/rmsnorm_qkv.py [--schedule FILE] [--show-source]

x (R × K activations), w_norm (K,) and Wqkv (K × N, the Q, K and V weights side by side) are
float32, and so is qkv. The projection's products read tf32 inputs (``vx.round_tf32``: 10
mantissa bits, as tensor cores read float32 — PyTorch's ``allow_tf32``, Triton's default
``input_precision``) and accumulate in float32. The rounding is part of the algorithm, so every
target, ``pipe.reference`` and :func:`numpy_version` compute the same products and the NVIDIA
schedules can use the tf32 ``mma`` instruction (docs/tensor_cores.md): float32 has no exact
tensor-core instruction, and an opt-in rounding only in the schedule would differ from the
reference by ~1e-3. RMSNorm: Zhang & Sennrich, NeurIPS 2019.

Three Funcs: ``inv_rms`` (one reduction per row), ``normed`` (pointwise) and ``qkv`` (the
GEMM). The fused schedules (``schedules/rmsnorm_qkv/<device>.toml``) are one kernel: a block
computes ``inv_rms`` of its rows into shared memory (``compute_at`` its block loop) and
``normed`` is inlined into the GEMM's A operand: the normalised activations are never written
to global memory. On NVIDIA the operand reads the staged tile of ``x`` (``stage(x, ko)``) into
tf32 ``mma`` tiles; on MI300X the same tiles with the exact float32 MFMA (16x16x4: 56
VGPRs + 12 AGPRs, no scratch); on PoCL a 6 × 16 register micro-tile per work-item (26-31 ms
against 78 ms unfused, in the file). :func:`unfused` is what PyTorch launches: each Func a
root kernel (RMSNorm statistics, normalised matrix, GEMM).

Global memory (``kernel.analysis().traffic``, compulsory bytes; tests/examples/
test_rmsnorm_qkv.py): fused, 1 launch, 4·(K·N + K·R + K + N·R) bytes; unfused, 3 launches,
4·(K·N + 4·K·R + K + N·R + 2·R): 1.43x at R = K = 4096, N = 12288 (Llama-7B's QKV, 4096
tokens), more where the activations outweigh the weights.
"""
import numpy as np

import vortex as vx
from vortex.algorithm.tf32 import round_tf32_value

SHAPE = (128, 512, 768)       # R (tokens), K (hidden), N (q, k and v widths)
EPS = 1e-6


def pipeline() -> vx.Pipeline:
    R, K, N = vx.dims("R K N")
    r, n, c = vx.vars("r n c")
    x = vx.Input("x", vx.float32, (R, K))
    w_norm = vx.Input("w_norm", vx.float32, (K,))
    wqkv = vx.Input("Wqkv", vx.float32, (K, N))
    eps = vx.Param("eps", vx.float32)
    k = vx.RDom(K, name="k")

    inv_rms = vx.Func("inv_rms")
    inv_rms[r] = 1 / vx.sqrt(vx.sum(x[r, k] * x[r, k]) / vx.cast(vx.float32, K) + eps)
    normed = vx.Func("normed")
    normed[r, c] = x[r, c] * inv_rms[r] * w_norm[c]
    qkv = vx.Func("qkv", shape=(R, N))
    qkv[r, n] = vx.sum(vx.round_tf32(normed[r, k]) * vx.round_tf32(wqkv[k, n]))
    return vx.Pipeline(qkv, name="rmsnorm_qkv")


def unfused(pipe: vx.Pipeline) -> vx.Schedule:
    """Every Func of ``pipe`` a root kernel, mapped as the default schedule maps roots (16×16
    blocks of 2-D Funcs, 64 threads per block of 1-D ones): the launches an eager framework
    makes, one per operation, each intermediate written to and read back from global memory."""
    s = vx.Schedule(pipe)
    outputs = {o.name for o in pipe.outputs}
    for f in pipe.funcs:
        stage = s[f.name]
        if f.name not in outputs:
            stage.compute_root()
        pure = [v.name for v in f.pure_vars]
        if len(pure) == 1:
            stage.gpu_tile(pure[0], "uo", "ui", 64)
        else:
            stage.gpu_tile(*pure, "uo", "vo", "ui", "vi", 16, 16)
    return s


def inputs(image=None) -> dict:
    """x (128, 512) standard normal, w_norm (512,) uniform in [0.5, 1.5), Wqkv (512, 768)
    normal / sqrt(512), eps = 1e-6 (fixed seed); ``image`` is ignored."""
    rng = np.random.default_rng(0)
    R, K, N = SHAPE
    return {"x": rng.standard_normal((R, K), dtype=np.float32),
            "w_norm": rng.uniform(0.5, 1.5, K).astype(np.float32),
            "Wqkv": (rng.standard_normal((K, N)) / np.sqrt(K)).astype(np.float32),
            "eps": EPS}


def numpy_version(x, w_norm, Wqkv, eps):
    """The unfused composition in numpy: RMSNorm (float32), then the tf32-input GEMM."""
    inv_rms = 1 / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + np.float32(eps))
    normed = x * inv_rms * w_norm
    return round_tf32_value(normed) @ round_tf32_value(Wqkv)
