"""Inclusive prefix sum of a 1-D float32 array: scan[i] = a[0] + a[1] + … + a[i].

Run it:  vortex run examples/scan.py [--schedule FILE] [--show-source]

A scan is a recurrence (scan[i] needs scan[i - 1]), so written as one update over the array it
runs on one thread. Here it is written in the blocked form that runs in parallel (Blelloch,
"Prefix sums and their applications", 1990, section 1.4; the "reduce-then-scan" of GPU
libraries): the array is cut into blocks of ``BLOCK`` consecutive elements and

1. ``local[j, t]``: the scan *within* block ``j`` — a copy of the block, then an update over the
   in-block RVar ``r`` (``local[j, r] += local[j, r - 1]``). The block index ``j`` is a pure
   Var, so the blocks' scans are independent and a schedule may bind ``j`` to GPU blocks and
   threads without atomics (the race check of vortex/schedule/races.py proves it); ``r`` runs
   in order inside each;
2. ``offset[j]``: the sum of all blocks before ``j`` — an exclusive scan of the block totals
   ``local[j, BLOCK - 1]``, serial over the ceil(N / BLOCK) blocks;
3. ``scan[i] = local[i // BLOCK, i % BLOCK] + offset[i // BLOCK]``: parallel over ``i``.

How the block size and the schedule relate: ``BLOCK`` is the length of each serial in-block
scan (step 1, one scan per work-item or GPU thread) and N / BLOCK is both the number of those
scans that can run side by side and the length of the serial step 2. The schedule only chooses
how the N / BLOCK independent scans map onto the machine (``s["local"].update(0)``: ``j`` split
into GPU blocks of threads) and how steps 1's copy and 3 are tiled; changing ``BLOCK`` changes
the algorithm (the order of the float additions) and is not a schedule decision. ``BLOCK = 256``
gives 65536 parallel scans for N = 2^24 (enough threads to fill a GPU) and a 65536-step serial
step 2 (under 1 ms on PoCL). The last block is padded with zeros (``constant_exterior``), so
every N >= 1 works.

Floats: the blocked sum adds in another order than ``np.cumsum`` (sequential), so the results
differ by rounding: compare with a tolerance (relative about N · 2^-24), or use integer-valued
inputs below 2^24 in magnitude, whose every partial sum is exact in float32 — then the scan
equals ``np.cumsum`` bit for bit (tests/examples/test_histogram_scan.py does both).

The schedule is not here: ``schedules/scan/<device>.toml``.
"""
import numpy as np

import vortex as vx

BLOCK = 256          # elements per in-block scan (see the docstring: an algorithm constant)
SIZE = 1 << 24       # elements of the array inputs() makes


def pipeline() -> vx.Pipeline:
    N = vx.Dim("N")
    i, j, t = vx.vars("i j t")
    a = vx.Input("a", vx.float32, (N,))
    blocks = (N + BLOCK - 1) // BLOCK

    local = vx.Func("local", shape=(blocks, BLOCK))     # 1. the scan within each block
    local[j, t] = vx.constant_exterior(a, 0.0)[j * BLOCK + t]
    r = vx.RDom([(1, BLOCK - 1)], name="r")
    local[j, r] = local[j, r - 1] + local[j, r]

    offset = vx.Func("offset", shape=(blocks,))         # 2. the sum of the blocks before j
    offset[j] = vx.float32(0)
    k = vx.RDom([(1, blocks - 1)], name="k")
    offset[k] = offset[k - 1] + local[k - 1, BLOCK - 1]

    scan = vx.Func("scan", shape=(N,))                  # 3. each element plus its offset
    scan[i] = local[i // BLOCK, i % BLOCK] + offset[i // BLOCK]
    return vx.Pipeline(scan, name="scan")


def inputs(image=None) -> dict:
    """a: (2^24,) float32, standard normal (fixed seed); ``image`` is ignored."""
    return {"a": np.random.default_rng(0).standard_normal(SIZE, dtype=np.float32)}


def numpy_version(a):
    """``np.cumsum`` in float32 (sequential order: equal to the blocked scan up to rounding)."""
    return np.cumsum(a, dtype=np.float32)
