"""Attention over a packed batch of variable-length sequences, causal or not, with grouped-query
attention; no padding anywhere (issue 16 item 5):
O[t, h, :] = softmax_r(Q[t, h, :] · K[r, g, :] / sqrt(D)) V[r, g, :] over the keys r of token
t's own sequence (causal: up to t), g = h·HK // H.

Run it:  vortex run examples/varlen_attention.py [--schedule FILE] [--show-source]

Layout (CSR / "jagged", as PyTorch's jagged NestedTensor and FlashAttention's varlen API):
the B sequences are packed one after another along the token axis, ``Q`` (T, H, D), ``K`` and
``V`` (T, HK, D) float32, T = sum of the lengths; ``offsets`` (B1,) int32, B1 = B + 1, holds
each sequence's first row (``offsets[b] … offsets[b + 1] - 1`` is sequence b, ``offsets[B] =
T``), declared ``range=(0, T)`` and ``monotone=True`` (non-decreasing); ``seg`` (T,) int32 is the sequence of each token, declared
``range=(0, B1 - 2)``. Both ranges are checked at every call (vx.InputError before any launch);
the offsets' length is a Dim of its own (B1, not B + 1) so that the shapes fix every size and a
call needs no ``B=``. A sequence of length 0 has no rows. O is (T, H, D) float32, packed as Q;
a row in no sequence (T > offsets[B1 - 1]) has no keys and gets 0 (O divides by
max(row_sum, 1): row_sum >= 1 whenever there is a key, its maximum contributing exp(0)).
GQA: query head h reads key/value head h·HK // H by index arithmetic (examples/attention.py).

The key loop of token t runs over its own sequence, ``vx.RDom(lo, hi - lo)`` with lo =
``offsets[seg[t]]`` and hi = ``offsets[seg[t] + 1]``, causal ``min(t + 1, that)``: an RDom bounded by
data loaded at the token (docs/semantics.md, "RDom"); the lowered loop is ``for r in [0, hi -
lo)`` reading offsets and seg, no box over the longest sequence and no mask, so the work is
Σ L_b² (causal: Σ L_b (L_b + 1) / 2) key steps per head, not B · max(L)².

The algorithm: the softmax in three reductions over that domain, each a plain Func —
``row_max[t, h]`` = max_r score, ``row_sum[t, h]`` = Σ_r exp(score - row_max), and
``O[t, h, d]`` = Σ_r exp(score - row_max) V[r, g, d] / row_sum — with ``score[t, h, r]`` = Q Kᵀ /
sqrt(D) inlined into each (a D-term dot product per key and reduction: 3 per key). Not the
online-softmax Tuple recurrence of examples/attention.py, for two reasons found while writing
this (reproducers named in the issue-16 report): ``pipe.reference`` of a Tuple update whose
RDom bounds use a pure Var fails (KeyError on the Var: vortex/algorithm/reference_tuple.py
evaluates the bounds without the pure Vars), and with the token axis split (a guarded tail)
and ``d`` vectorized inside the key loop, the update's loop bound (which loads ``seg[t]``) is
printed outside the tail guard, reading past ``seg`` (a segfault on PoCL at T = 190, in 2 of 3
runs). Also, with ``score`` inlined into the recurrence, each use of x
in (m', l', acc') recomputes the dot product (13 per key, where the three reductions need 3);
``score`` at root would be the T × T matrix this layout exists to avoid, and there is no
compute_at into an update's key loop.

The schedules (schedules/varlen_attention/<device>.toml): ``row_max`` and ``row_sum`` at root,
O one work-item (thread) per token, blocks of 16 tokens (PoCL; 8 on GPUs) per head; the key
loops serial inside each work-item (an RDom bounded by data cannot be bound to threads). O's
token axis is cut with ``ragged_split(t, offsets, to, ti, 16)`` (docs/semantics.md): a small
inspector kernel builds a table of tiles from the offsets, each tile inside one sequence, and
O's blocks run one tile each, so a block never straddles two sequences (its threads' key loops
start in the same sequence) and only a sequence's last tile has idle threads. On PoCL, ``d`` is
vectorized by D: the score of a key is computed once as a scalar and the D outputs updated as
one vector.
"""
import numpy as np

import vortex as vx

LENGTHS = (47, 128, 2048, 15)  # the sequence lengths of inputs()
SHAPE = (sum(LENGTHS), 2, 16)  # T, H, D of inputs()
KV_HEADS = 1                   # HK: both query heads read the one key/value head


def pipeline(D: int = 16, causal: bool = True) -> vx.Pipeline:
    """Variable-length attention of packed (T, H, D) float32 queries over packed (T, HK, D) keys
    and values, head size ``D`` (a constant), causal or not; O (T, H, D) float32."""
    T, B1, H, HK = vx.dims("T B1 H HK")
    Q = vx.Input("Q", vx.float32, (T, H, D))
    K = vx.Input("K", vx.float32, (T, HK, D))
    V = vx.Input("V", vx.float32, (T, HK, D))
    offsets = vx.Input("offsets", vx.int32, (B1,), range=(0, T), monotone=True)
    seg = vx.Input("seg", vx.int32, (T,), range=(0, B1 - 2))
    t, h, d, j = vx.vars("t h d j")
    kv = h * HK // H                                  # the K/V head of query head h
    lo = offsets[seg[t]]
    end = offsets[seg[t] + 1]
    hi = vx.min(t + 1, end) if causal else end       # min: a row of no sequence has no keys

    e = vx.RDom(D, name="e")
    score = vx.Func("score")
    score[t, h, j] = vx.sum(Q[t, h, e] * K[j, kv, e]) * np.float32(D ** -0.5)

    def keys(name):                                   # token t's keys, in its own sequence
        return vx.RDom(lo, hi - lo, name=name)

    r1, r2, r3 = keys("r1"), keys("r2"), keys("r3")
    row_max = vx.Func("row_max")
    row_max[t, h] = vx.maximum(score[t, h, r1])
    row_sum = vx.Func("row_sum")
    row_sum[t, h] = vx.sum(vx.exp(score[t, h, r2] - row_max[t, h]))
    O = vx.Func("O", shape=(T, H, D))
    num = vx.sum(vx.exp(score[t, h, r3] - row_max[t, h]) * V[r3, kv, d])
    O[t, h, d] = num / vx.max(row_sum[t, h], np.float32(1))   # row_sum >= 1 unless no keys: 0
    return vx.Pipeline(O, name="varlen_attention")


def packed(lengths, H: int = 2, HK: int = 1, D: int = 16, seed: int = 0) -> dict:
    """Q, K, V (standard normal float32, fixed seed), offsets and seg for sequences of
    ``lengths`` packed together; a batch of only empty sequences keeps one unused row (T >= 1)."""
    off = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    n = max(int(off[-1]), 1)
    rng = np.random.default_rng(seed)
    seg = np.repeat(np.arange(len(lengths)), lengths).astype(np.int32)
    return {"Q": rng.standard_normal((n, H, D), dtype=np.float32),
            "K": rng.standard_normal((n, HK, D), dtype=np.float32),
            "V": rng.standard_normal((n, HK, D), dtype=np.float32),
            "offsets": off, "seg": np.pad(seg, (0, n - len(seg)))}


def inputs(image=None) -> dict:
    """Lengths (47, 128, 2048, 15) packed: T = 2238 tokens, H = 2 query heads over HK = 1,
    D = 16; ``image`` is ignored."""
    T, H, D = SHAPE
    return packed(LENGTHS, H, KV_HEADS, D)


def numpy_version(Q, K, V, offsets, seg, causal=True):
    """Per sequence, in float64: K and V repeated H / HK times along the heads, the L×L score
    matrix, a (causally) masked stable softmax, P V; rows of no sequence stay 0; float32."""
    G = Q.shape[1] // K.shape[1]
    out = np.zeros(Q.shape, np.float32)
    for a, z in zip(offsets[:-1], offsets[1:]):
        if z <= a:
            continue
        q = Q[a:z].astype(np.float64).transpose(1, 0, 2)
        k = np.repeat(K[a:z].astype(np.float64).transpose(1, 0, 2), G, axis=0)
        v = np.repeat(V[a:z].astype(np.float64).transpose(1, 0, 2), G, axis=0)
        x = q @ k.swapaxes(-1, -2) / np.sqrt(Q.shape[-1])
        if causal:
            x = np.where(np.tril(np.ones((z - a, z - a), dtype=bool)), x, -np.inf)
        p = np.exp(x - x.max(axis=-1, keepdims=True))
        out[a:z] = ((p / p.sum(axis=-1, keepdims=True)) @ v).transpose(1, 0, 2)
    return out
