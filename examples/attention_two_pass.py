"""Multi-head attention forward with both matrix products on tensor cores: the online softmax's
statistics per query, then P·V as a matrix product with the final maximum; causal or not, with
grouped-query attention (issue 15 item 1):
O[b, h, s, :] = softmax_r(Q[b, h, s, :] · K[b, g, r, :] / sqrt(D) + mask[s, r]) V[b, g, r, :],
g = h·HK // H. The same function as examples/attention.py, for float16 or bfloat16 Q, K, V.

Run it:  vortex run examples/attention_two_pass.py [--schedule FILE] [--show-source]

Shapes: Q (B, H, S, D), K and V (B, HK, S, D) of type ``t`` (vx.float16 by default, or
vx.bfloat16, or vx.float32), O (B, H, S, D) float32; D a constant of :func:`pipeline`; GQA and
the mask as in examples/attention.py.

The algorithm, in two passes over the keys:

1. ``L[b, h, s]`` = (m, l): FlashAttention-2's recurrence (Dao 2023, Algorithm 1) on the running
   maximum and sum only — per key r, m' = max(m, x), l' = l·exp(m - m') + exp(x - m') for x =
   ``score[b, h, s, r]`` = Q Kᵀ / sqrt(D) — so after the last key m = max_r x and
   l = Σ_r exp(x - m). Its state has no d: one (m, l) per query.
2. ``O[b, h, s, d]`` = Σ_k P[s, k] · V[k, d] / l with P = t(exp(x_k - m)) (keys k <= s when
   causal): a sum of products whose first factor reads (s, k) and second (k, d), which is what
   the ``mma`` directive takes (docs/tensor_cores.md), with ``score`` recomputed per key tile
   (``score_pv``) and the division by l its epilogue.

Why not the one-pass recurrence of examples/attention.py with P·V on tensor cores: there the
state (m, l, acc) is a Tuple over (b, h, s, d), and the probability exp(x - m') of a step
reads m at (s, d); the compiler does not know that m and l do not vary along d, so P is not an
(s, k) operand and the update is no sum of products (``mma`` on it is refused). Computing m
and l first gives P with the final maximum — the softmax itself, no rescaling of acc — at the
price of computing Q Kᵀ twice (3 matrix products of S²·D multiply-adds per head instead of 2),
as FlashAttention-2's backward pass recomputes P = exp(Q Kᵀ - L) from the forward's row
statistics. What the one-pass form needs instead: an analysis proving that Tuple elements m, l
are independent of a pure Var d (their init and update read only themselves, each other and
d-free values), then m, l evaluated once per query, the key recurrence over blocks of keys with
inline reductions (block max, Σ_j exp(x_j - m'), Σ_j exp(x_j - m')·V[j, d]), and ``mma`` on an
inline reduction inside an update stage (the fragment accumulator starting from acc·exp(m - m')).

Precision: P is rounded to the input type ``t`` before the product (the instruction multiplies
float16 or bfloat16; FlashAttention does the same), l is summed from the unrounded float32
values, and everything else is float32: against numpy's float64 softmax the result differs by
the rounding of P (float16, standard normal inputs: at most 4.2e-4 absolute at S = 17, 4.9e-4 at
S = 1000; bfloat16 3.1e-3 at S = 70); with ``t=vx.float32`` P is not rounded (7e-7 at S = 128 in
``pipe.reference``). ``pipe.reference`` rounds P the same way; PoCL matches it to float32
rounding where no score lands on a float16 rounding boundary (2.4e-7 at S = 45), and otherwise
by one float16 step of one P (2.7e-4 at S = 1000).

The schedules (schedules/attention_two_pass/<device>.toml) are for float16/bfloat16 Q, K, V (the
float32 pipeline has no 16 × 8 × 16 or 16 × 16 × 16 instruction: ``mma`` refuses it). Pass 1: a
block of 32 queries (AMD: 64, one wavefront) per (batch, head), a thread per query; per key
tile of 32 the warp computes the 32 × 32 (AMD 64 × 32) score box with ``mma`` into shared memory,
then each thread runs its query's 32 steps of the recurrence. Pass 2: a block of 64 queries, 4
warps of 16 queries × all D outputs (8 tiles of 16 × 8; AMD 4 of 16 × 16); per key step of 16
the block's warps compute the 64 × 16 score box with ``mma`` into shared memory, then each warp
runs its P·V tiles, P = exp(score - m) computed as its A fragment (zero above the diagonal when
causal: the ``where`` predicate reads (s, k)). No S×S buffer, 3 launches; both products'
fragments are loaded element by element from global memory (Q, K, V are 4-D;
vortex/lower/fragment_loads.py takes 2-D staged tiles). Static figures (NVRTC, hiprtc; no GPU
has run them): sm_90 16 HMMA.16816.F32 in each of L_update0 (75 registers) and O (152
registers), 4 KiB shared each, no spills; sm_80 the same HMMA, 80 and 128 registers; gfx90a 8
v_mfma_f32_16x16x16f16 in each, 56 and 68 VGPRs, no scratch; bfloat16 on sm_90
HMMA.16816.F32.BF16; D = 128 on sm_90: 32 HMMA in O, 136 registers, no spills. The PoCL file
runs both passes as plain loops (P·V one work-item per query, D in vectors of 8): 2787.7 ms at
inputs() (B=1, H=8, HK=2, S=1024, one run after a warm-up, loaded 2-core machine), against
369.6 ms for examples/attention.py's one-pass PoCL file: on a CPU the second Q Kᵀ and the
rounding of P (a helper through memory, no half arithmetic on PoCL) cost more than the tensor
cores save on a GPU.
"""
import numpy as np

import vortex as vx
from attention import numpy_version  # noqa: F401 - the unfused float64 composition
from attention import f32, qkv

SHAPE = (1, 8, 1024, 64)      # B, H, S, D of inputs()
KV_HEADS = 2                  # HK: 4 query heads per key/value head


def pipeline(D: int = 64, causal: bool = True, t=vx.float16) -> vx.Pipeline:
    """Attention of (B, H, S, D) queries over (B, HK, S, D) keys and values of type ``t``, head
    size ``D`` (a constant), causal or not, in two passes (module docstring); f32 output."""
    (B, H, HK, S), (Q, K, V), (b, h, s, d, j), kv = qkv(D, t)
    e = vx.RDom(D, name="e")

    def scores(name: str) -> vx.Func:                 # Q Kᵀ / sqrt(D), one Func per pass
        f = vx.Func(name)
        f[b, h, s, j] = vx.sum(f32(Q[b, h, s, e]) * f32(K[b, kv, j, e])) * np.float32(D ** -0.5)
        return f
    score, score_pv = scores("score"), scores("score_pv")

    r = vx.RDom(S, name="r")                          # pass 1: the keys, in order
    if causal:
        r.where(r <= s)
    L = vx.Func("L", shape=(B, H, S))                 # (running max, running sum)
    L[b, h, s] = (f32(-np.inf), f32(0))
    m, l = L[b, h, s]
    x = score[b, h, s, r]
    grows = x > m
    t_ = vx.exp(vx.min(m, x) - vx.max(m, x))         # exp(-|x - m|): the one exponential
    L[b, h, s] = (vx.max(m, x), l * vx.select(grows, t_, f32(1)) + vx.select(grows, f32(1), t_))

    k = vx.RDom(S, name="k")                          # pass 2: P·V
    if causal:
        k.where(k <= s)
    p = vx.cast(t, vx.exp(score_pv[b, h, s, k] - L[b, h, s][0]))
    O = vx.Func("O", shape=(B, H, S, D))
    O[b, h, s, d] = vx.sum(f32(p) * f32(V[b, kv, k, d])) / L[b, h, s][1]
    return vx.Pipeline(O, name="attention_two_pass")


def inputs(image=None) -> dict:
    """Q (1, 8, 1024, 64), K and V (1, 2, 1024, 64): float16 standard normal values (fixed
    seed): 4 query heads per key/value head; ``image`` is ignored."""
    rng = np.random.default_rng(0)
    B, H, S, D = SHAPE
    return {"Q": rng.standard_normal((B, H, S, D)).astype(np.float16),
            "K": rng.standard_normal((B, KV_HEADS, S, D)).astype(np.float16),
            "V": rng.standard_normal((B, KV_HEADS, S, D)).astype(np.float16)}
