"""Polynomial multiplication over BabyBear by NTT: c = a · b for two polynomials of M = 2**LOG
coefficients (degree M − 1), c of 2M − 1 coefficients (degree 2M − 2), all mod p = 15·2**27 + 1.

Run it:  vortex run examples/ntt.py [--schedule FILE] [--show-source]
         VORTEX_NTT_LOG=20 python examples/ntt.py     (degree 2**20 − 1, checked on a slice)

The algorithm is the convolution theorem: with N = 2M (a power of two; the product's 2M − 1
coefficients fit, and N ≤ 2**27, BabyBear's two-adicity, up to LOG = 26), pad a and b with
zeros to N, transform both (vortex.lib.ntt: log2 N butterfly stages in Stockham's
self-sorting order, each a Func, no bit-reversal pass), multiply pointwise, transform back (the
inverse reads the forward transform reversed and scales by N⁻¹). Values enter as integers in
[0, p) and are taken to Montgomery form where the first stage of each forward transform reads
them (``to_field``) and back in the output (``from_field``).
Funcs: ``fa_w1`` …, ``fa_s0`` …, ``fa_out`` (a's transform), ``fb_*`` (b's),
``prod``, ``fc_*`` (the inverse), ``fc_scaled``, and the output ``c`` (2M − 1,) uint32.

Size: ``LOG`` is read from ``$VORTEX_NTT_LOG`` (default 8: 256 coefficients, transforms of
length 512). The default is small because every stage is a Func, so the pipeline's Funcs and
its schedule files (schedules/ntt/<device>.toml, written for the default: the PoCL file runs
in the CI's schedule test with ``pipe.reference``) depend on LOG. Another LOG names the
pipeline ``ntt_log<LOG>``, which has no schedule file; run it as a script (``python
examples/ntt.py``), which schedules it with :func:`schedule` (vortex.lib.ntt.schedule_stages)
and checks it on a slice (:func:`check_slice`: coefficients by direct convolution with Python
ints, an independent method) instead of with the reference.

The schedules are not here: schedules/ntt/<device>.toml (written by :func:`schedule`).
"""
import os
import sys

import numpy as np

import vortex as vx
from vortex.lib import ntt
from vortex.lib.fields import BABYBEAR as F

DEFAULT_LOG = 8
LOG = int(os.environ.get("VORTEX_NTT_LOG", DEFAULT_LOG))   # M = 2**LOG coefficients each


def pipeline(log: int = LOG, field=F) -> vx.Pipeline:
    """The product pipeline for M = 2**log coefficients over ``field`` (BabyBear by default;
    any field of vortex.lib.fields with two-adicity > log)."""
    F = field
    m, n = 1 << log, 2 << log
    a = vx.Input("a", F.dtype, (m,))                  # coefficients, integers in [0, p)
    b = vx.Input("b", F.dtype, (m,))
    w = vx.Input("w", F.dtype, (n // 2,))             # ntt.twiddles(F, log + 1)
    pa, pb = vx.constant_exterior(a, 0), vx.constant_exterior(b, 0)   # zero-padded to N
    fa = ntt.define_ntt(F, lambda k: F.to_field(pa[k]), w, log + 1, "fa")
    fb = ntt.define_ntt(F, lambda k: F.to_field(pb[k]), w, log + 1, "fb")
    i = vx.Var("i")
    prod = vx.Func("prod", shape=(n,))
    prod[i] = F.mul(fa.out[i], fb.out[i])
    fc = ntt.define_ntt(F, lambda k: prod[k], w, log + 1, "fc", inverse=True)
    c = vx.Func("c", shape=(n - 1,))
    c[i] = F.from_field(fc.out[i])
    return vx.Pipeline(c, name="ntt" if log == DEFAULT_LOG else f"ntt_log{log}")


def transforms(pipe: vx.Pipeline) -> list:
    """The three transforms' Funcs of :func:`pipeline`, as vortex.lib.ntt.NTT records."""
    return [ntt.NTT.find(pipe, t) for t in ("fa", "fb", "fc")]


def schedule(pipe: vx.Pipeline, threads: int) -> vx.Schedule:
    """Each transform by vortex.lib.ntt.schedule_stages (the bit reversal a tiled pass, every
    stage a global pass with a butterfly pair per work item, blocks of ``threads``); ``prod``,
    the transforms' outputs and ``fc_scaled`` inlined into their consumers, the output ``c``
    in blocks of ``threads``."""
    s = vx.Schedule(pipe)
    for t in transforms(pipe):
        ntt.schedule_stages(s, t, threads)
    s["c"].split("i", "io", "ii", threads).gpu_blocks("io").gpu_threads("ii")
    return s


def inputs(image=None, log: int = LOG, field=F) -> dict:
    """a, b: (2**log,) random integers in [0, p) of the field's word type (fixed seed); w: the
    twiddles of the length-2**(log + 1) transform; ``image`` is ignored."""
    rng = np.random.default_rng(0)
    m, p = 1 << log, field.p
    a, b = (rng.integers(0, p, m, dtype=np.uint64).astype(field.dtype.np) for _ in "ab")
    return {"a": a, "b": b, "w": ntt.twiddles(field, log + 1)}


def bit_reversal(n: int) -> np.ndarray:
    """The bit-reversal permutation of ``n`` = 2**log indices."""
    log = n.bit_length() - 1
    k = np.arange(n)
    return sum(((k >> b) & 1) << (log - 1 - b) for b in range(log))


def numpy_ntt(x: np.ndarray, p: int, roots: np.ndarray, dtype=np.uint64,
              rev: np.ndarray | None = None) -> np.ndarray:
    """The same radix-2 NTT in vectorized numpy: ``x`` (N,) integers in [0, p), ``roots``
    (N/2,) the powers ω**k (plain values, not Montgomery), computed in ``dtype`` (uint64 is
    exact for p < 2**32; object arrays of Python ints for larger p); ``rev`` the
    :func:`bit_reversal` of N when precomputed."""
    n = x.size
    a = x[bit_reversal(n) if rev is None else rev].astype(dtype)
    h = 1
    while h < n:
        a = a.reshape(n // (2 * h), 2, h)
        t = a[:, 1, :] * roots[::n // (2 * h)][:h] % p
        u = a[:, 0, :]
        a = np.stack([(u + t) % p, (u + p - t) % p], axis=1).reshape(n)
        h *= 2
    return a


def numpy_version(a, b, w):
    """The same product by the same method in numpy (uint64, exact for BabyBear): the peer
    ``vortex run`` times (``w`` is unused: numpy takes plain powers, not Montgomery words)."""
    p, n = F.p, 2 * a.size
    roots = _powers(F.root_of_unity(n), n // 2, p)
    pad = lambda v: np.concatenate([v.astype(np.uint64), np.zeros(n - v.size, np.uint64)])
    prod = numpy_ntt(pad(a), p, roots) * numpy_ntt(pad(b), p, roots) % p
    inv = numpy_ntt(prod, p, roots)[(n - np.arange(n)) % n] * pow(n, -1, p) % p
    return inv[:n - 1].astype(np.uint32)


def _powers(root: int, count: int, p: int) -> np.ndarray:
    """root**k mod p for k < count, vectorized by doubling (uint64, exact for p < 2**32)."""
    out = np.ones(count, np.uint64)
    step, filled = root, 1
    while filled < count:
        take = min(filled, count - filled)
        out[filled:filled + take] = out[:take] * np.uint64(step) % np.uint64(p)
        step, filled = step * step % p, filled + take
    return out


def check_slice(c, a, b, indices, field=F) -> list:
    """The indices where ``c`` differs from the direct convolution with Python ints,
    c[k] = Σ_{i+j=k} a[i] · b[j] mod p (an empty list: all agree)."""
    m, p = len(a), field.p
    bad = []
    for k in indices:
        lo, hi = max(0, k - m + 1), min(k, m - 1)
        want = sum(int(a[i]) * int(b[k - i]) for i in range(lo, hi + 1)) % p
        if int(c[k]) != want:
            bad.append(k)
    return bad


if __name__ == "__main__":
    import time
    pipe = pipeline()
    args = inputs()
    target = os.environ.get("VORTEX_TARGET", "opencl")
    kernel = vx.compile(pipe, schedule=schedule(pipe, threads=256), target=target)
    t0 = time.perf_counter()
    c = kernel(**args)
    print(f"product of two degree-{(1 << LOG) - 1} polynomials over BabyBear: "
          f"{(time.perf_counter() - t0) * 1e3:.1f} ms (first call)")
    m = 1 << LOG
    slice_ = sorted({0, 1, 2, m - 2, m - 1, m, 2 * m - 3, 2 * m - 2}
                    | set(range(m // 2, m // 2 + 8)))
    bad = check_slice(c, args["a"], args["b"], [k for k in slice_ if 0 <= k < 2 * m - 1])
    print(f"checked {len(slice_)} coefficients by direct convolution: "
          f"{'all equal' if not bad else f'MISMATCH at {bad}'}")
    sys.exit(1 if bad else 0)
