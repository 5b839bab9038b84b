"""A mixture-of-experts FFN layer (top-2 routing, SiLU-gated expert MLPs) as four Vortex
pipelines: route → pack → grouped GEMM → unpack.

Run it:  vortex run examples/moe.py [--schedule FILE] [--show-source]   (the grouped GEMM step)

For T tokens of width D (``X``, T × D float32), E experts and top-2 routing (Shazeer et al.,
"Outrageously large neural networks: the sparsely-gated mixture-of-experts layer", 2017;
the SiLU-gated expert MLP of Mixtral, Jiang et al. 2024):

1. ``route`` (pipeline ``moe_route``): router scores ``X · Wr`` (T × E), each token's two best
   experts ``topk_idx`` (T × 2 int32; ties go to the lower expert index, as numpy's
   ``argsort(-scores, kind="stable")``: two ``argmax`` reductions, the first maximum) and their
   weights ``topk_w`` (T × 2 float32), the softmax over the two chosen scores.
2. ``pack`` (``moe_pack``): the 2T (token, slot) assignments grouped by expert, each expert's
   segment padded to a multiple of ``block`` rows (vLLM's ``moe_align_block_size``), so that
   every tile of ``block`` packed rows belongs to one expert. ``counts[e]`` is a histogram (an
   update, ``counts[e(r)] += 1``, examples/histogram.py); ``start[e]`` the exclusive prefix sum
   of the padded counts (an ordered update over the experts, examples/scan.py); ``rank[e, a]``
   the number of assignments of expert ``e`` among the first ``a + 1`` (a scan over the
   assignments per expert: parallel over experts, in order over assignments), so an
   assignment's packed row is ``pos = start[e] + rank[e, a] - 1`` — deterministic, in token
   order within each expert. ``tile_expert[b]`` is the expert of tile ``b`` (tiles past the
   last segment: expert E - 1, on zero rows); ``src`` inverts ``pos`` (a scatter, an update
   with a data-dependent index) and ``X_p[b, i, :]`` gathers the token row of packed row
   ``b · block + i`` (zeros in the padding). Outputs: ``pos`` (T × 2 int32), ``tile_expert``
   (NT,) int32, ``X_p`` (NT × block × D) float32, NT = (2T + E (block - 1)) // block, the most
   tiles any routing needs.
3. ``experts`` (``moe_experts``): the grouped GEMM. Per packed row of tile ``b`` and expert
   ``e = tile_expert[b]``: ``h = silu(X_p W1[e]) * (X_p W3[e])``, ``y_p = h W2[e]``
   (W1, W3: E × D × F, W2: E × F × D). The weight is read at an index loaded from data; since
   the expert is a function of the tile index ``b`` (not of the row), the products are matrix
   products of the form the ``mma`` directive accepts (docs/tensor_cores.md). The matrix
   inputs are rounded to tf32 (``vx.round_tf32``: 10 mantissa bits, as tensor cores read
   float32 — PyTorch's ``allow_tf32``) in the algorithm, as in examples/rmsnorm_qkv.py, so every
   target and the reference compute the same products; ``pipeline("experts", tf32=False)`` is
   the plain float32 product (no tensor-core schedule for it).
4. ``unpack`` (``moe_unpack``): ``out[t] = Σ_s topk_w[t, s] · y_p[pos[t, s]]`` (a gather and a
   weighted sum), T × D float32.

Every index loaded from data is clamped into its range (the bounds checker proves the reads in
bounds that way); for indices the earlier steps computed, the clamp never changes them.

How the module fits ``vortex run`` (one pipeline per file): ``pipeline(step)`` builds one step
(``STEPS``); ``pipeline()`` is the grouped GEMM, and :func:`inputs` gives it the packed inputs
of a routed layer. :func:`layer` runs the four steps in sequence (each step by
``pipe.reference`` or by compiled kernels) and :func:`numpy_moe` is the layer in plain numpy
(expert by expert over the tokens routed to it: no packing), the check of the whole.

The schedules are not here: ``schedules/moe_<step>/<device>.toml``. The grouped GEMM's
NVIDIA files: ``gate`` and ``up`` root kernels and ``y_p`` with ``h`` inlined into its A
operand, each a block per (tile, 64 columns) of 2 × 2 warps, each warp 2 × 4 tf32 ``mma.sync``
m16n8k8 tiles per k step of 8 (24 ``HMMA.1688.F32.TF32`` in the three kernels, 64-96
registers, no spills), the X_p tile staged in shared memory (XOR-swizzled: conflict-free
fragment reads), the weights' fragments loaded from global memory: ``stage(W1, ...)`` is
refused, its footprint over the expert axis being the whole range of ``tile_expert``'s clamp.
The AMD file (gfx90a) has the same structure with 2 × 2 wavefronts, each 2 × 2 exact float32
MFMA 16x16x4 tiles per k step of 4 (12 ``v_mfma_f32_16x16x4f32``, 44-48 VGPRs + 12 AGPRs, no
scratch). Route, pack and unpack are root kernels of 1-D or 2-D thread tiles; in pack the histogram
commits with atomics on GPUs, ``start`` and ``src`` run in order on one thread, ``rank`` one
thread per expert.
"""
import numpy as np

import vortex as vx
from vortex.algorithm.tf32 import round_tf32_value

EXPERTS = 8
TOP_K = 2          # the routing below is written for two experts per token
BLOCK = 64         # packed rows per tile (each expert's segment is padded to a multiple)
SHAPE = (512, 256, 512)    # T (tokens), D (model width), F (expert hidden width)
STEPS = ("route", "pack", "experts", "unpack")


def _route() -> vx.Pipeline:
    T, D, E = vx.dims("T D E")
    t, e, s = vx.vars("t e s")
    X = vx.Input("X", vx.float32, (T, D))
    Wr = vx.Input("Wr", vx.float32, (D, E))
    kd, re = vx.RDom(D, name="kd"), vx.RDom(E, name="re")
    scores = vx.Func("scores")
    scores[t, e] = vx.sum(X[t, kd] * Wr[kd, e])
    first = vx.Func("first")                       # the first maximum: the lower index on ties
    first[t] = vx.argmax(scores[t, re])
    second = vx.Func("second")
    second[t] = vx.argmax(vx.select(re == first[t], -np.inf, scores[t, re]))
    topk_idx = vx.Func("topk_idx", shape=(T, TOP_K))
    topk_idx[t, s] = vx.select(s == 0, first[t], second[t])
    z = vx.exp(scores[t, vx.clamp(second[t], 0, E - 1)] - scores[t, vx.clamp(first[t], 0, E - 1)])
    topk_w = vx.Func("topk_w", shape=(T, TOP_K))   # softmax over the two chosen scores
    topk_w[t, s] = vx.select(s == 0, 1, z) / (1 + z)
    return vx.Pipeline(topk_idx, topk_w, name="moe_route")


def tiles(tokens: int, experts: int = EXPERTS, block: int = BLOCK):
    """NT: the most tiles of ``block`` rows any top-2 routing of ``tokens`` tokens over
    ``experts`` experts packs into (each segment padded to a multiple of ``block``); works on
    ints and on symbolic Dims."""
    return (TOP_K * tokens + experts * (block - 1)) // block


def _pack(experts: int, block: int) -> vx.Pipeline:
    T, D = vx.dims("T D")
    E, A, NT = experts, TOP_K * T, tiles(T, experts, block)
    t, e, s, a, b, p, i, d = vx.vars("t e s a b p i d")
    topk_idx = vx.Input("topk_idx", vx.int32, (T, TOP_K))
    X = vx.Input("X", vx.float32, (T, D))

    def expert(x):                                 # the expert of assignment x = 2 t + s
        return vx.clamp(topk_idx[x // TOP_K, x % TOP_K], 0, E - 1)

    def padded(c):
        return (c + block - 1) // block * block

    counts = vx.Func("counts", shape=(E,))         # histogram of the assignments
    counts[e] = vx.cast(vx.int32, 0)
    r = vx.RDom(A, name="r")
    counts[expert(r)] += 1
    start = vx.Func("start", shape=(E,))           # exclusive scan of the padded counts
    start[e] = vx.cast(vx.int32, 0)
    q = vx.RDom([(1, E - 1)], name="q")
    start[q] = start[q - 1] + padded(counts[q - 1])
    rank = vx.Func("rank", shape=(E, A))           # assignments of e among 0..a (inclusive)
    rank[e, a] = vx.cast(vx.int32, expert(a) == e)
    ra = vx.RDom([(1, A - 1)], name="ra")
    rank[e, ra] = rank[e, ra - 1] + rank[e, ra]
    pos = vx.Func("pos", shape=(T, TOP_K))
    pos[t, s] = start[expert(TOP_K * t + s)] + rank[expert(TOP_K * t + s), TOP_K * t + s] - 1
    tile_expert = vx.Func("tile_expert", shape=(NT,))
    re = vx.RDom(E, name="re")                     # experts whose segment ends by the tile
    ended = vx.sum(vx.cast(vx.int32, start[re] + padded(counts[re]) <= b * block))
    tile_expert[b] = vx.min(ended, E - 1)
    src = vx.Func("src", shape=(NT * block,))      # token of each packed row (-1: padding)
    src[p] = vx.cast(vx.int32, -1)
    src[vx.clamp(pos[r // TOP_K, r % TOP_K], 0, NT * block - 1)] = r // TOP_K
    row = src[b * block + i]
    X_p = vx.Func("X_p", shape=(NT, block, D))
    X_p[b, i, d] = vx.select(row >= 0, X[vx.clamp(row, 0, T - 1), d], 0.0)
    return vx.Pipeline(pos, tile_expert, X_p, name="moe_pack")


def _experts(block: int, tf32: bool) -> vx.Pipeline:
    NT, D, F, E = vx.dims("NT D F E")
    b, i, n, d = vx.vars("b i n d")
    X_p = vx.Input("X_p", vx.float32, (NT, block, D))
    tile_expert = vx.Input("tile_expert", vx.int32, (NT,))
    W1 = vx.Input("W1", vx.float32, (E, D, F))
    W3 = vx.Input("W3", vx.float32, (E, D, F))
    W2 = vx.Input("W2", vx.float32, (E, F, D))
    e = vx.clamp(tile_expert[b], 0, E - 1)         # the tile's expert: a function of b only
    k, kf = vx.RDom(D, name="k"), vx.RDom(F, name="kf")
    rnd = vx.round_tf32 if tf32 else (lambda v: v)
    gate = vx.Func("gate")
    gate[b, i, n] = vx.sum(rnd(X_p[b, i, k]) * rnd(W1[e, k, n]))
    up = vx.Func("up")
    up[b, i, n] = vx.sum(rnd(X_p[b, i, k]) * rnd(W3[e, k, n]))
    h = vx.Func("h")                               # SiLU(gate) * up
    h[b, i, n] = gate[b, i, n] / (1 + vx.exp(-gate[b, i, n])) * up[b, i, n]
    y_p = vx.Func("y_p", shape=(NT, block, D))
    y_p[b, i, d] = vx.sum(rnd(h[b, i, kf]) * rnd(W2[e, kf, d]))
    return vx.Pipeline(y_p, name="moe_experts")


def _unpack(block: int) -> vx.Pipeline:
    T, NT, D = vx.dims("T NT D")
    t, d = vx.vars("t d")
    y_p = vx.Input("y_p", vx.float32, (NT, block, D))
    pos = vx.Input("pos", vx.int32, (T, TOP_K))
    topk_w = vx.Input("topk_w", vx.float32, (T, TOP_K))

    def term(s):
        p = vx.clamp(pos[t, s], 0, NT * block - 1)
        return topk_w[t, s] * y_p[p // block, p % block, d]
    out = vx.Func("out", shape=(T, D))
    out[t, d] = term(0) + term(1)
    return vx.Pipeline(out, name="moe_unpack")


BUILDERS = {"route": lambda experts, block, tf32: _route(),
            "pack": lambda experts, block, tf32: _pack(experts, block),
            "experts": lambda experts, block, tf32: _experts(block, tf32),
            "unpack": lambda experts, block, tf32: _unpack(block)}


def pipeline(step: str = "experts", experts: int = EXPERTS, block: int = BLOCK,
             tf32: bool = True) -> vx.Pipeline:
    """The pipeline of one step (``STEPS``; the default, the grouped GEMM, is what ``vortex
    run`` runs). ``experts`` (E) and ``block`` (rows per tile) are algorithm constants of the
    pack step (its outputs' shapes depend on them); the others read E from their inputs' shapes.
    ``tf32``: the expert GEMMs read tf32-rounded inputs (module docstring). Raises
    vx.InputError for an unknown step."""
    if step not in BUILDERS:
        raise vx.InputError(f"moe has no step {step!r}; the steps are {list(STEPS)}")
    return BUILDERS[step](experts, block, tf32)


# --- inputs, the layer, and numpy ---------------------------------------------------------

def layer_inputs(tokens: int, d_model: int, d_ff: int, experts: int = EXPERTS, favour=None,
                 seed: int = 0) -> dict:
    """X (T × D) standard normal, Wr (D × E) normal / sqrt(D), W1, W3 (E × D × F) and W2
    (E × F × D) normal / sqrt of their fan-in, float32 (fixed seed). ``favour``: ``{expert:
    bias}`` adds ``bias`` to those experts' scores through X's column 0, which is set to 1 (a
    bias feature): a large positive bias routes most tokens to the expert, a large negative one
    none."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((tokens, d_model), dtype=np.float32)
    Wr = (rng.standard_normal((d_model, experts)) / np.sqrt(d_model)).astype(np.float32)
    if favour:
        X[:, 0] = 1
        for e, bias in favour.items():
            Wr[0, e] = bias
    def normal(shape, fan_in):
        return (rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32)
    return {"X": X, "Wr": Wr, "W1": normal((experts, d_model, d_ff), d_model),
            "W3": normal((experts, d_model, d_ff), d_model),
            "W2": normal((experts, d_ff, d_model), d_ff)}


def layer(X, Wr, W1, W3, W2, run=None, block: int = BLOCK) -> dict:
    """The MoE layer as the four steps in sequence: ``run(step, **args)`` evaluates a step
    (default: ``pipeline(step).reference``; pass compiled kernels to run them). Returns every
    step's outputs by name (``out`` is the layer's T × D result)."""
    experts = W1.shape[0]
    if run is None:
        pipes = {s: pipeline(s, experts, block) for s in STEPS}
        run = lambda step, **args: pipes[step].reference(**args)   # noqa: E731
    topk_idx, topk_w = run("route", X=X, Wr=Wr)
    pos, tile_expert, X_p = run("pack", topk_idx=topk_idx, X=X)
    y_p = run("experts", X_p=X_p, tile_expert=tile_expert, W1=W1, W3=W3, W2=W2)
    out = run("unpack", y_p=y_p, pos=pos, topk_w=topk_w)
    return dict(topk_idx=topk_idx, topk_w=topk_w, pos=pos, tile_expert=tile_expert, X_p=X_p,
                y_p=y_p, out=out)


def numpy_route(X, Wr):
    """topk_idx (ties: lower index, by a stable argsort) and the softmax weights."""
    scores = X @ Wr
    idx = np.argsort(-scores, axis=1, kind="stable")[:, :TOP_K].astype(np.int32)
    chosen = np.take_along_axis(scores, idx, axis=1)
    z = np.exp(chosen - chosen[:, :1])
    return idx, (z / z.sum(axis=1, keepdims=True)).astype(np.float32)


def numpy_pack(topk_idx, X, experts: int = EXPERTS, block: int = BLOCK):
    """pos, tile_expert, X_p as the pack step defines them (stable sort by expert)."""
    flat = topk_idx.ravel()
    counts = np.bincount(flat, minlength=experts)
    padded = -(-counts // block) * block
    start = np.concatenate([[0], np.cumsum(padded)[:-1]])
    order = np.argsort(flat, kind="stable")        # assignments by expert, in token order
    rank = np.empty_like(order)                    # index among the expert's assignments
    rank[order] = np.arange(order.size) - np.repeat(np.cumsum(counts) - counts, counts)
    pos = (start[flat] + rank).reshape(topk_idx.shape)
    nt = tiles(topk_idx.shape[0], experts, block)
    ended = (start + padded)[None, :] <= (np.arange(nt) * block)[:, None]
    X_p = np.zeros((nt * block, X.shape[1]), np.float32)
    X_p[pos.ravel()] = np.repeat(X, TOP_K, axis=0)
    return (pos.astype(np.int32), np.minimum(ended.sum(axis=1), experts - 1).astype(np.int32),
            X_p.reshape(nt, block, -1))


def expert_mlp(x, w1, w3, w2, tf32: bool = True):
    """silu(x w1) * (x w3) then · w2, float32, the matrix inputs rounded to tf32 if ``tf32``."""
    rnd = round_tf32_value if tf32 else (lambda v: v)
    g, u = rnd(x) @ rnd(w1), rnd(x) @ rnd(w3)
    return rnd(g / (1 + np.exp(-g)) * u) @ rnd(w2)


def numpy_version(X_p, tile_expert, W1, W3, W2):
    """The grouped GEMM step in numpy: each tile through its expert's MLP."""
    return np.stack([expert_mlp(x, W1[e], W3[e], W2[e]) for x, e in zip(X_p, tile_expert)])


def numpy_moe(X, Wr, W1, W3, W2, tf32: bool = True):
    """The layer in numpy without packing: per expert, the tokens routed to it through its MLP,
    weighted into their outputs."""
    idx, w = numpy_route(X, Wr)
    out = np.zeros_like(X)
    for e in range(W1.shape[0]):
        tok, slot = np.nonzero(idx == e)
        if tok.size:
            out[tok] += w[tok, slot, None] * expert_mlp(X[tok], W1[e], W3[e], W2[e], tf32)
    return out


def inputs(image=None) -> dict:
    """The grouped GEMM's inputs at SHAPE: a layer's tokens routed and packed in numpy
    (``image`` is ignored)."""
    args = layer_inputs(*SHAPE)
    idx, _ = numpy_route(args["X"], args["Wr"])
    _, tile_expert, X_p = numpy_pack(idx, args["X"])
    return {"X_p": X_p, "tile_expert": tile_expert, "W1": args["W1"], "W3": args["W3"],
            "W2": args["W2"]}
