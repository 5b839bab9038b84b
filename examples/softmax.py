"""Row softmax of a (rows, cols) float32 matrix: y[r, :] = exp(x[r, :] - max x[r, :]) / Σ exp(…).

Run it:  vortex run examples/softmax.py [--schedule FILE] [--show-source]

The numerically stable form (subtract the row maximum first), as in every framework's softmax.
It is memory-bound: the compulsory traffic is the matrix read once and written once
(8 bytes per element); the work per element is one ``exp`` (two where it is recomputed).

The algorithm is written with the reductions already split into ``LANES`` independent partial
reductions per row (``lane_max``, ``lane_sum``: lane ``l`` reduces columns ``l, l + LANES, …``),
then combined per row (``row_max``, ``row_sum``, which also take the tail of ``cols % LANES``
columns). This is Halide's ``rfactor`` done by hand (Suriana, Adams, Kamil, "Parallel
associative reductions in Halide", CGO 2017): the lanes are a *pure* dimension, so a schedule
can vectorize them (a CPU's vector lanes) or bind them to threads (a GPU block's), while one
accumulator per row could be neither. Vortex's ``rfactor`` directive, like Halide's, factors
an update definition, not a reduction inline in a pure one, so the split sits in the algorithm.
The results equal the plain softmax for every shape (including cols < LANES: the lane
reductions are then empty and the tail does all the work).

``e = exp(x - row_max)`` is its own Func, so recomputing it (inlined, the default) or storing it
is a schedule decision. The schedules (``schedules/softmax/<device>.toml``) read each row once
from memory, in one kernel: every reduction is computed at the output's row. On PoCL a row is
one work-item whose lane reductions run as 16-wide vectors (a vectorized loop around an inline
reduction keeps vector accumulators); on the GPUs a row is one block, the 64 lanes are 64 of its
threads and ``row_max``/``row_sum`` combine them with a cross-thread (warp-shuffle) reduction.
"""
import numpy as np

import vortex as vx

LANES = 64          # partial reductions per row: 4 × float16 accumulators on a CPU with AVX-512
SHAPE = (4096, 1024)


def pipeline() -> vx.Pipeline:
    R, C = vx.dims("R C")
    r, c, lane = vx.vars("r c l")
    x = vx.Input("x", vx.float32, (R, C))
    full = C // LANES                                      # whole groups of LANES columns
    k = vx.RDom(full, name="k")                            # group index within a row
    j = vx.RDom(LANES, name="j")                           # lane index, to combine the lanes
    tail = vx.RDom([(full * LANES, C - full * LANES)], name="t")   # the last cols % LANES columns

    lane_max = vx.Func("lane_max")
    lane_max[r, lane] = vx.maximum(x[r, k * LANES + lane])
    row_max = vx.Func("row_max")
    row_max[r] = vx.max(vx.maximum(lane_max[r, j]), vx.maximum(x[r, tail]))

    e = vx.Func("e")
    e[r, c] = vx.exp(x[r, c] - row_max[r])
    lane_sum = vx.Func("lane_sum")
    lane_sum[r, lane] = vx.sum(e[r, k * LANES + lane])
    row_sum = vx.Func("row_sum")
    row_sum[r] = vx.sum(lane_sum[r, j]) + vx.sum(e[r, tail])

    softmax = vx.Func("softmax", shape=(R, C))
    softmax[r, c] = e[r, c] / row_sum[r]
    return vx.Pipeline(softmax)


def inputs(image=None) -> dict:
    """A (4096, 1024) float32 matrix of standard normal values (fixed seed); ``image`` is
    ignored."""
    rng = np.random.default_rng(0)
    return {"x": rng.standard_normal(SHAPE, dtype=np.float32)}


def numpy_version(x):
    """Stable softmax over the last axis in numpy (the peer ``vortex run`` compares against)."""
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
