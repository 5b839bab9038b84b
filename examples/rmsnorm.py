"""RMSNorm over the last axis: y[r, c] = x[r, c] / sqrt(mean_c(x[r, c]²) + eps) * weight[c].

Run it:  vortex run examples/rmsnorm.py [--schedule FILE] [--show-source]

Root-mean-square layer normalisation (Zhang & Sennrich, "Root Mean Square Layer
Normalization", NeurIPS 2019) of a (rows, cols) float32 matrix with a learned (cols,) float32
``weight`` and a run-time ``eps`` (``vx.Param``, 1e-6 in :func:`inputs`). Memory-bound: the
compulsory traffic is the matrix read once and written once (plus the small weight vector).

As in ``examples/softmax.py``, the sum of squares is written as ``LANES`` partial sums per
row (``lane_sumsq``: lane ``l`` sums columns ``l, l + LANES, …``) combined in ``inv_rms`` with
the tail of ``cols % LANES`` columns: Halide's ``rfactor`` by hand, so that a schedule can
vectorize the lanes or bind them to threads (the ``rfactor`` directive factors update
definitions, not reductions inline in a pure definition). ``inv_rms`` is 1 / sqrt(mean + eps),
computed once per row, so the output is two multiplications per element.

The schedules (``schedules/rmsnorm/<device>.toml``) read each row once, in one kernel: the lane
sums and ``inv_rms`` are computed at the output's row (PoCL: 16-wide vector accumulators; GPUs:
the lanes on a block's threads, combined by a cross-thread reduction).
"""
import numpy as np

import vortex as vx

LANES = 64
SHAPE = (4096, 1024)
EPS = 1e-6


def pipeline() -> vx.Pipeline:
    R, C = vx.dims("R C")
    r, c, lane = vx.vars("r c l")
    x = vx.Input("x", vx.float32, (R, C))
    weight = vx.Input("weight", vx.float32, (C,))
    eps = vx.Param("eps", vx.float32)
    full = C // LANES
    k = vx.RDom(full, name="k")
    j = vx.RDom(LANES, name="j")
    tail = vx.RDom([(full * LANES, C - full * LANES)], name="t")

    lane_sumsq = vx.Func("lane_sumsq")
    lane_sumsq[r, lane] = vx.sum(x[r, k * LANES + lane] * x[r, k * LANES + lane])
    inv_rms = vx.Func("inv_rms")
    sumsq = vx.sum(lane_sumsq[r, j]) + vx.sum(x[r, tail] * x[r, tail])
    inv_rms[r] = 1 / vx.sqrt(sumsq / vx.cast(vx.float32, C) + eps)

    rmsnorm = vx.Func("rmsnorm", shape=(R, C))
    rmsnorm[r, c] = x[r, c] * inv_rms[r] * weight[c]
    return vx.Pipeline(rmsnorm)


def inputs(image=None) -> dict:
    """x: (4096, 1024) standard normal, weight: (1024,) uniform in [0.5, 1.5), eps = 1e-6
    (fixed seed); ``image`` is ignored."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(SHAPE, dtype=np.float32)
    weight = rng.uniform(0.5, 1.5, SHAPE[1]).astype(np.float32)
    return {"x": x, "weight": weight, "eps": EPS}


def numpy_version(x, weight, eps):
    """The same formula in numpy (float32 throughout)."""
    ms = np.mean(x * x, axis=-1, keepdims=True)
    return x / np.sqrt(ms + np.float32(eps)) * weight
