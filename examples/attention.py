"""Multi-head attention forward with an online softmax (FlashAttention-2's recurrence), causal or
not, with grouped-query attention:
O[b, h, s, :] = softmax_r(Q[b, h, s, :] · K[b, g, r, :] / sqrt(D) + mask[s, r]) V[b, g, r, :],
g = h·HK // H (= h // (H // HK)).

Run it:  vortex run examples/attention.py [--schedule FILE] [--show-source]

Shapes: Q (B, H, S, D), K and V (B, HK, S, D), O (B, H, S, D) float32. Grouped-query attention
(Ainslie et al., "GQA", 2023): the H query heads share the HK key/value heads in groups of
H / HK (HK = H is multi-head attention, HK = 1 multi-query); query head h reads key/value head
h·HK // H = h // (H // HK) by index arithmetic, K and V are never repeated. H should be a
multiple of HK; the index is written h·HK // H, not h // (H // HK), because bounds inference
proves that one below HK for any H ≥ 1 (vx.Dims carry no divisibility fact) and it keeps a
staged K tile's footprint one head (other head counts are not refused: they read the head in
proportion). D (the head size) is a constant of :func:`pipeline` (64 or 128 in the tests);
``causal=True`` (the default) masks the keys after each query (mask = -inf for r > s: those keys
are skipped, which is the same); ``t=vx.float16`` reads float16 Q, K, V (f32 arithmetic, f32 O).

The algorithm. ``score[b, h, s, r]`` is Q Kᵀ / sqrt(D) (a batched GEMM, accumulated in f32).
``F`` is a Tuple-valued Func (docs/semantics.md, "Tuple-valued Funcs") carrying, per output
element, the state of the online softmax (Milakov & Gimelshein 2018) as FlashAttention-2 keeps it
(Dao, "FlashAttention-2", 2023, Algorithm 1): the running maximum m, the running sum l of
exp(score - m) and the unnormalised output acc = Σ exp(score - m) V. Its update over the key
positions r (in order, each step reading the state before it) is

    m' = max(m, x);  l' = l·exp(m - m') + exp(x - m');  acc' = acc·exp(m - m') + exp(x - m')·V[r]

for x = score[b, h, s, r], and O = acc / l after the last key (FlashAttention-2's one division
at the end). One of exp(m - m'), exp(x - m') is 1, so the update computes one exponential,
t = exp(min(m, x) - max(m, x)). The state starts at (-inf, 0, 0); the first key of every query
is unmasked, so no exp(-inf + inf) arises. Everything runs in f32: tolerance vs numpy's f64
softmax is the f32 rounding of D-term dot products and S-term sums (~1e-6 at S = 1000).

The schedules (schedules/attention/<device>.toml): ``score`` is computed at root (a kernel of
its own, the S×S scores of every head in global memory: 64×64 tiles per block with Q and K staged
in shared memory on the GPUs); the update runs one work-group per (head, 16 queries on PoCL, 4 on
the GPUs). On PoCL a work-item is a query and runs the key loop once per 8 outputs, the 8 as one
vector (the state of those 8 stays at one address through the key loop: one run 1.35 s against
1.78 s with the 8 outputs inside the key loop, inputs() size, on a loaded 2-core machine); on
the GPUs a thread is one (query, output) pair and runs the whole key loop (sm_90: the loop reads
score and V, 2 global loads, and stores nothing: NVRTC keeps the state in registers; 30
registers; score_kernel 71 registers, 8 KiB shared; no spills on sm_90, sm_80, gfx90a).
The default schedule (``schedule=None``: ``score`` inlined into the update, recomputed for each
of the D outputs, and the update on one work-item) gives the same result ~400 times slower on
PoCL (19.9 s against 0.05 s for the PoCL file, H = 8, HK = 2, S = 256, D = 64, one run each).
What the current compiler cannot express of FlashAttention's schedule, and why:

- the score tile never leaving registers/shared memory: ``F`` is a Tuple, and Tuples are
  computed at root ("compute_at of a Tuple is not supported yet"); a producer is computed at a
  loop of its consumer's pure stage, so ``s["score"].compute_at("F", "s")`` is the ScheduleError
  "'F (update 0)' also reads 'score', outside loop 's' of 'F'", and there is no compute_at into
  the key loop of the update; ``score`` inlined into the update would be recomputed for each of
  the D outputs of a query (D times the dot products: the lowered code shows it);
- tensor cores: the ``mma`` directive takes a Func ``sum(a * b)`` (docs/tensor_cores.md); P·V is
  inside the recurrence, an update of ``F``, and ``mma`` on it is the ScheduleError "mma
  computes a pure definition whose value is a sum of products …, not update 0 of 'F'"; Q Kᵀ
  alone is such a Func, but only for 16-bit inputs (float32 needs the tf32 opt-in, which
  changes the result):
  ``pipeline(t=vx.float16)`` with ``mma`` on ``score`` (tests/examples/test_attention.py,
  ``score_on_tensor_cores``) compiles to 8 HMMA.16816.F32 per k step on sm_90 (105 registers,
  no spills; sm_80 spills 8 bytes) and 4 v_mfma on gfx90a, fed by element loads from the staged
  tiles, not ldmatrix (vortex/lower/fragment_loads.py takes an operand read X[u, v] of a 2-D
  Input; Q[b, h, s, e] and K[b, g, j, e] are 4-D); the shipped GPU files, for the float32
  pipeline, do not use tensor cores.
"""
import numpy as np

import vortex as vx

SHAPE = (1, 8, 1024, 64)      # B, H, S, D of inputs()
KV_HEADS = 2                  # HK: 4 query heads per key/value head


def pipeline(D: int = 64, causal: bool = True, t=vx.float32) -> vx.Pipeline:
    """Attention of (B, H, S, D) queries over (B, HK, S, D) keys and values of type ``t``
    (vx.float32 or vx.float16), head size ``D`` (a constant), causal or not; f32 output."""
    B, H, HK, S = vx.dims("B H HK S")
    Q = vx.Input("Q", t, (B, H, S, D))
    K = vx.Input("K", t, (B, HK, S, D))
    V = vx.Input("V", t, (B, HK, S, D))
    b, h, s, d, j = vx.vars("b h s d j")
    kv = h * HK // H                                  # h // (H // HK): the K/V head

    def f32(x):
        return vx.cast(vx.float32, x)

    e = vx.RDom(D, name="e")
    score = vx.Func("score")
    score[b, h, s, j] = vx.sum(f32(Q[b, h, s, e]) * f32(K[b, kv, j, e])) * np.float32(D ** -0.5)

    r = vx.RDom(S, name="r")                          # key positions, in order
    if causal:
        r.where(r <= s)
    F = vx.Func("F", shape=(B, H, S, D))        # (running max, running sum, accumulator)
    F[b, h, s, d] = (f32(-np.inf), f32(0), f32(0))
    m, l, acc = F[b, h, s, d]
    x = score[b, h, s, r]
    grows = x > m
    t_ = vx.exp(vx.min(m, x) - vx.max(m, x))         # exp(-|x - m|): the one exponential
    alpha = vx.select(grows, t_, f32(1))               # exp(m - m')
    p = vx.select(grows, f32(1), t_)                   # exp(x - m')
    F[b, h, s, d] = (vx.max(m, x), l * alpha + p, acc * alpha + p * f32(V[b, kv, r, d]))

    O = vx.Func("O", shape=(B, H, S, D))
    O[b, h, s, d] = F[b, h, s, d][2] / F[b, h, s, d][1]
    return vx.Pipeline(O, name="attention")


def inputs(image=None) -> dict:
    """Q (1, 8, 1024, 64), K and V (1, 2, 1024, 64): float32 standard normal values (fixed
    seed): 4 query heads per key/value head; ``image`` is ignored."""
    rng = np.random.default_rng(0)
    B, H, S, D = SHAPE
    return {"Q": rng.standard_normal((B, H, S, D), dtype=np.float32),
            "K": rng.standard_normal((B, KV_HEADS, S, D), dtype=np.float32),
            "V": rng.standard_normal((B, KV_HEADS, S, D), dtype=np.float32)}


def numpy_version(Q, K, V, causal=True):
    """The unfused composition in float64: K and V repeated H / HK times along the heads, the full
    S×S score matrix, a masked stable softmax, P V; returned as float32."""
    G = Q.shape[1] // K.shape[1]
    K = np.repeat(K.astype(np.float64), G, axis=1)
    V = np.repeat(V.astype(np.float64), G, axis=1)
    S, D = Q.shape[-2:]
    x = Q.astype(np.float64) @ K.swapaxes(-1, -2) / np.sqrt(D)
    if causal:
        x = np.where(np.tril(np.ones((S, S), dtype=bool)), x, -np.inf)
    p = np.exp(x - x.max(axis=-1, keepdims=True))
    return ((p / p.sum(axis=-1, keepdims=True)) @ V).astype(np.float32)
