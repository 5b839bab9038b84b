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

The schedules (schedules/attention/<device>.toml) compute ``score`` inside the recurrence's key
loop, FlashAttention's structure: the update ``F.update(0)`` splits the keys r into tiles of 32
(ro, ri) and ``score`` is ``compute_at("F.update(0)", "ro")`` with ``store_in("shared")``: per key
tile the block's threads fill the (16 queries × 32 keys) score box in shared memory between two
barriers, then run the 32 steps of the recurrence reading it (causal: the key tiles above the
block's diagonal are skipped, by the ``trim no-ops`` pass, vortex/lower/trim.py: the loop runs to
``(16·so + 47) // 32``; PoCL, inputs() size, one run each: 233.1 ms trimmed against 340.0 ms with
the pass removed); the S×S scores never reach global memory (3 launches, no ``score`` buffer;
compulsory traffic at B=1, H=8, HK=2, S=1024: 28311552 bytes against 95420416 with ``score`` at
root, ``kernel.analysis().traffic``). On PoCL a work-group owns (head, 16 queries), a work-item is
a query and runs each key tile once per 8 outputs, the 8 as one vector (inputs() size, one run
after a warm-up: 369.6 ms against 526.2 ms with ``score`` at root, wall, loaded 2-core machine;
benchmarks/attention.py once: 306.46 ms device time against float32 numpy 58.06 ms and PyTorch CPU
SDPA 11.46 ms). On the GPUs a block owns (batch, head, 16 queries) and a thread is one (query,
output) pair; the update stage stages the block's Q tile once (``stage("Q", "so")``) and the K and
V tiles of each key tile, pipelined two deep (``stage("K", "ro")``, ``stage("V", "ro")``,
``pipeline("ro", stages=2)``: the next tile's copy is issued before this tile is used, cp.async —
LDGSTS — on sm_80 and later); 1024 threads fill the 512 scores of a tile (64-term dot products from
the shared Q and K tiles), then each runs the tile's keys (the key loop loads nothing from global
memory and stores nothing: NVRTC keeps the state in registers; sm_90 32 registers, sm_80 31, 38912
B shared, no spills; gfx90a 35 VGPRs, no scratch; static figures,
tests/examples/test_attention.py). On MI300X the threads are (output d 64 along x, query 16) and
the score box is computed by the block's two wavefronts with exact float32 MFMA (``mma`` on
``score`` at the key loop, 16 × 16 × 4 tiles: v_mfma_f32_16x16x4f32, the products not rounded); the
NVIDIA files keep CUDA cores, float32 there needing the tf32 opt-in, which rounds Q and K.
The default schedule (``schedule=None``: ``score`` inlined into the update, recomputed for each
of the D outputs, and the update on one work-item) gives the same result ~400 times slower on
PoCL (19.9 s against 0.05 s for the PoCL file of the time, ``score`` at root, H = 8, HK = 2,
S = 256, D = 64, one run each).
What the current compiler cannot express of FlashAttention's schedule, and why:

- the recurrence's state in registers for the whole key loop: ``F`` is a Tuple, and Tuples are
  computed at root ("compute_at of a Tuple is not supported yet"), so the state (m, l, acc) is
  initialised by a kernel of its own and read and written in global memory once per key tile
  (the compiler keeps it in registers within a tile); the output division is a third kernel;
- P·V on tensor cores in the per-key recurrence: P·V is inside the update of ``F`` (``mma`` on
  an update is the ScheduleError "mma computes a pure definition whose value is a sum of
  products …, not update 0 of 'F'") and its probability exp(x - m') reads the state m at (s, d),
  so P is no (s, key) operand there. The key-block form below puts it on tensor cores. Q Kᵀ is
  on tensor cores inside the key loop: ``mma`` on ``score``
  computed at ``F.update(0)``'s loop ``ro`` (the producer's own split/reorder/gpu_threads shape
  the instruction tiles over its box; vortex/lower/mma_site.py). For float16 inputs
  (tests/examples/test_attention.py, ``scores_in_the_key_loop_on_tensor_cores``: threads (d 64
  along x, query 16), the 16 × 32 box in 16 × 8 × 16 tiles on 4 warps, or 16 × 16 × 16 on 2
  wavefronts, 4 k steps unrolled) the update kernel holds 4 HMMA.16816.F32 on sm_90 (50
  registers) and sm_80 (49), 4 v_mfma_f32_16x16x16f16 on gfx90a (51 VGPRs), no spills, 2 KiB
  shared, fragments loaded element by element from global Q and K (not ldmatrix:
  vortex/lower/fragment_loads.py takes an operand read X[u, v] of a 2-D Input; Q[b, h, s, e]
  and K[b, g, j, e] are 4-D). With ``score`` at root instead (``score_on_tensor_cores``): 8
  HMMA per k step of the score kernel on sm_90 (105 registers), 4 v_mfma on gfx90a.

Key blocks (``key_block=Bc``; issue 15 item 1: both products on tensor cores in one pass). The
same Tuple state (m, l, acc) steps over blocks ``kb`` of Bc keys (FlashAttention-2's outer
loop), and each block's sums are Funcs of the block ``c`` that read no state, taken with the
block's own maximum (the chunked softmax of Rabe & Staats, "Self-attention does not need O(n²)
memory", 2021): M[c] = max_j x_j, L[c] = Σ_j exp(x_j - M[c]) (unrounded), the probabilities
P[b, h, s, j] = t(exp(x_j - M[j // Bc])) (rounded to the input type ``t``, as
examples/attention_two_pass.py does; a Func of its own so that it is computed once per (s, key),
not once per output d) and PV[b, h, s, d, c] = Σ_j P[c·Bc + j]·V[c·Bc + j, d]; the update

    m' = max(m, M[kb]);  l' = l·exp(m - m') + exp(M[kb] - m')·L[kb];
    acc' = acc·exp(m - m') + exp(M[kb] - m')·PV[kb]

(the same numbers as FlashAttention-2's P̃ = exp(x - m'), whose block product is
exp(M - m')·PV). The block's keys past S and, when causal, after s are ``where`` predicates of
the block's RDoms (a causal query skips the blocks after it: ``kb.where(kb·Bc <= s)``); the key
index of K and V is clamped (min(·, S - 1)) so a block's box is Bc keys wide. PV is a sum of
products whose factors read (s, key) and (key, d), so ``mma`` takes it computed at the update's
loop ``kb`` (tests/examples/test_attention_key_blocks.py, ``tensor_core_schedule``, Bc = 16:
``score``, M, P, L, PV in shared memory at ``kb``, the 16 × 16 score box and the 16 × D product
box by ``mma``, its A fragments read from the P box; Q's 16 × D tile staged in shared memory
once per block, K's and V's 16 × D tiles at ``kb``, double-buffered by ``pipeline("kb",
stages=2)``: the clamped block's footprint is not a constant size (fewer rows in the last
block), so its tile is the constant bound, 16 rows from the block's first key, the rows past S
zero-filled). Static figures (NVRTC, hiprtc; no GPU has run them): float16, D = 64, the update
kernel holds 5 HMMA.16816.F32 on sm_90 and sm_80 (4 for Q Kᵀ, 1 for P·V), 10 LDGSTS (cp.async),
38 registers on sm_90 (40 on sm_80), 16000 bytes shared (the boxes' 5760 + Q 2048 + K and V 2
slots × 2048 each), no spills; gfx90a 5 v_mfma_f32_16x16x16f16, 65 VGPRs, no scratch; D = 128
on sm_90 9 HMMA, 32 registers, 30336 bytes shared. Without the staged tiles: 58 registers on
sm_90 (51 on sm_80), 5760 bytes, gfx90a 70 VGPRs, D = 128 53 registers.
Precision: float32 inputs are not rounded (PoCL == numpy's float64 to 1e-5, S 1 … 1000);
float16 within P's float16 rounding (3.3e-4 at S 17, 3.5e-4 at S 70, D 128); float32 has no
16 × 8 × 16 instruction (``mma`` refuses it). The pipeline is named ``attention_key_blocks``:
examples/attention_key_blocks.py (float16 by default) and its files
schedules/attention_key_blocks/<device>.toml (the PoCL file: 3080.1 ms at inputs() size,
float16, median of 2; 6527.5 ms with P computed inside PV, once per d; against 369.6 ms for
this file's per-key float32 PoCL schedule: on a CPU the rounding of P and the block boxes cost
more than the instructions save on a GPU). Not done: m and l are computed once per output d,
though they do not vary along d (vortex/algorithm/invariance.py proves it, no lowering uses it
yet); the mma fragments are read from the shared tiles element by element (no ldmatrix).
"""
import numpy as np

import vortex as vx

SHAPE = (1, 8, 1024, 64)      # B, H, S, D of inputs()
KV_HEADS = 2                  # HK: 4 query heads per key/value head


def f32(x):
    """``x`` cast to vx.float32: every product and sum here is in f32."""
    return vx.cast(vx.float32, x)


def qkv(D: int, t):
    """The declarations every attention pipeline here starts from: dims (B, H, HK, S), Inputs
    Q (B, H, S, D), K and V (B, HK, S, D) of type ``t``, Vars (b, h, s, d, j), and ``kv``, the
    K/V head of query head h."""
    B, H, HK, S = vx.dims("B H HK S")
    Q = vx.Input("Q", t, (B, H, S, D))
    K = vx.Input("K", t, (B, HK, S, D))
    V = vx.Input("V", t, (B, HK, S, D))
    b, h, s, d, j = vx.vars("b h s d j")
    kv = h * HK // H                                  # h // (H // HK): the K/V head
    return (B, H, HK, S), (Q, K, V), (b, h, s, d, j), kv


def pipeline(D: int = 64, causal: bool = True, t=vx.float32,
             key_block: int | None = None) -> vx.Pipeline:
    """Attention of (B, H, S, D) queries over (B, HK, S, D) keys and values of type ``t``
    (vx.float32 or vx.float16), head size ``D`` (a constant), causal or not; f32 output.
    ``key_block=Bc`` (a positive int): the recurrence steps over blocks of Bc keys instead of
    one key (module docstring, "Key blocks"); None: one key per step."""
    (B, H, HK, S), (Q, K, V), (b, h, s, d, j), kv = qkv(D, t)
    e = vx.RDom(D, name="e")
    score = vx.Func("score")
    key = j if key_block is None else vx.min(j, S - 1)   # a block's keys past S: clamped
    score[b, h, s, j] = vx.sum(f32(Q[b, h, s, e]) * f32(K[b, kv, key, e])) * np.float32(D ** -0.5)
    if key_block is not None:
        return _blocked(score, V, causal, t, key_block, (B, H, S, D), (b, h, s, d), kv)

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


def _blocked(score, V, causal, t, Bc: int, dims, pure, kv) -> vx.Pipeline:
    """The recurrence over blocks of ``Bc`` keys, each block's P·V a matrix product with the
    block's own maximum (module docstring, "Key blocks")."""
    if not isinstance(Bc, int) or isinstance(Bc, bool) or Bc < 1:
        raise vx.TypeError(f"attention: key_block={Bc!r} must be a positive int (keys per "
                           "step of the recurrence), or None for one key per step")
    (B, H, S, D), (b, h, s, d), c = dims, pure, vx.Var("c")

    def keys(name):                                   # block c's keys (masked)
        jj = vx.RDom(Bc, name=name)
        jj.where(c * Bc + jj < S)
        if causal:
            jj.where(c * Bc + jj <= s)
        return jj

    jm, jl, jv = keys("jm"), keys("jl"), keys("jv")
    M = vx.Func("M")                                  # the block's maximum score
    M[b, h, s, c] = vx.maximum(score[b, h, s, c * Bc + jm])

    j = vx.Var("j")
    P = vx.Func("P")                                  # exp(x - M) <= 1 of key j, rounded to t
    P[b, h, s, j] = vx.cast(t, vx.exp(score[b, h, s, j] - M[b, h, s, j // Bc]))
    L = vx.Func("L")                                  # the block's sum of exp(x - M), unrounded
    L[b, h, s, c] = vx.sum(vx.exp(score[b, h, s, c * Bc + jl] - M[b, h, s, c]))
    PV = vx.Func("PV")                                # the block's P·V
    PV[b, h, s, d, c] = vx.sum(f32(P[b, h, s, c * Bc + jv])
                               * f32(V[b, kv, vx.min(c * Bc + jv, S - 1), d]))
    kb = vx.RDom((S + Bc - 1) // Bc, name="kb")        # the key blocks, in order
    if causal:
        kb.where(kb * Bc <= s)                        # a block with a key at or before s
    F = vx.Func("F", shape=(B, H, S, D))
    F[b, h, s, d] = (f32(-np.inf), f32(0), f32(0))
    m, l, acc = F[b, h, s, d]
    mb = M[b, h, s, kb]
    grown = vx.max(m, mb)                                                  # m'
    alpha, beta = vx.exp(m - grown), vx.exp(mb - grown)
    F[b, h, s, d] = (grown, l * alpha + beta * L[b, h, s, kb],
                     acc * alpha + beta * PV[b, h, s, d, kb])
    O = vx.Func("O", shape=(B, H, S, D))
    O[b, h, s, d] = F[b, h, s, d][2] / F[b, h, s, d][1]
    return vx.Pipeline(O, name="attention_key_blocks")   # examples/attention_key_blocks.py


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
