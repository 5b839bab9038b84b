"""The SwiGLU MLP input of a Llama-style block as one kernel (#15 item 2b):
h[r, n] = silu(Σ_k x[r, k] · W_gate[k, n]) · Σ_k x[r, k] · W_up[k, n].

Run it:  vortex run examples/swiglu.py [--schedule FILE] [--show-source]

x (R × K activations), W_gate and W_up (K × N) and h are float32; silu(g) = g / (1 + exp(-g))
(Elfwing et al. 2018). SwiGLU: Shazeer, "GLU Variants Improve Transformer", 2020; Llama's MLP
is W_down · h. Three Funcs: ``gate`` and ``up`` (the two projections) and ``h``.

The fused schedules (``schedules/swiglu/<device>.toml``) compute ``gate`` and ``up`` at the
thread loop of ``h`` (``compute_at`` + ``store_in("register")``): each thread computes its
point's two dot products over the same row of x (x is read by both from the cache, not from a
shared A tile: see below) and applies silu(g) · u in registers; neither projection reaches
global memory. On PoCL a work-item computes 16 adjacent columns of a row, gate and up as
16-wide vectors (23.5-25.2 ms against 393-397 ms for the unfused launches, in the file).
:func:`unfused` launches what PyTorch does: two GEMMs and the elementwise
product, each projection written out and read back.

Global memory (``kernel.analysis().traffic``, compulsory bytes; tests/examples/test_swiglu.py):
fused, 1 launch, 8·K·N + 4·K·R + 4·N·R bytes; unfused, 3 launches, 8·K·N + 8·K·R + 20·N·R:
2.30x at R = K = 4096, N = 11008 (Llama-7B's MLP, 4096 tokens).

Not expressible yet: one k loop feeding both products from one A tile, and tensor cores for
them. The ``mma`` directive computes exactly one sum of products of a root Func (a Func's
reduction lowering has one accumulator: a second ``vx.sum`` in the same definition becomes its
own loop after the first), ``compute_at`` producers take no ``mma`` and no reduction reorder,
and a Tuple-valued Func — ``gu[r, n] = (g + x·W_gate, u + x·W_up)`` updated over k, which would
share the load — cannot be computed at another Func's loop ("Tuples are computed at root").
"""
import numpy as np

import vortex as vx
from rmsnorm_qkv import unfused  # noqa: F401 - every Func a root kernel (examples import siblings)

SHAPE = (128, 512, 1024)       # R (tokens), K (hidden), N (MLP width)


def pipeline() -> vx.Pipeline:
    R, K, N = vx.dims("R K N")
    r, n = vx.vars("r n")
    x = vx.Input("x", vx.float32, (R, K))
    w_gate = vx.Input("W_gate", vx.float32, (K, N))
    w_up = vx.Input("W_up", vx.float32, (K, N))
    k = vx.RDom(K, name="k")

    gate = vx.Func("gate")
    gate[r, n] = vx.sum(x[r, k] * w_gate[k, n])
    up = vx.Func("up")
    up[r, n] = vx.sum(x[r, k] * w_up[k, n])
    h = vx.Func("h", shape=(R, N))
    g = gate[r, n]
    h[r, n] = g / (1 + vx.exp(-g)) * up[r, n]
    return vx.Pipeline(h, name="swiglu")


def inputs(image=None) -> dict:
    """x (128, 512) standard normal, W_gate and W_up (512, 1024) normal / sqrt(512) (fixed
    seed); ``image`` is ignored."""
    rng = np.random.default_rng(0)
    R, K, N = SHAPE
    return {"x": rng.standard_normal((R, K), dtype=np.float32),
            "W_gate": (rng.standard_normal((K, N)) / np.sqrt(K)).astype(np.float32),
            "W_up": (rng.standard_normal((K, N)) / np.sqrt(K)).astype(np.float32)}


def numpy_version(x, W_gate, W_up):
    """The unfused composition in numpy (float32): two matmuls, then silu(g) · u."""
    g, u = x @ W_gate, x @ W_up
    return g / (1 + np.exp(-g)) * u
