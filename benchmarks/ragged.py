"""Ragged kernels against the same algorithm on the batch padded to its longest sequence (issue
16 acceptance 4), on PoCL, in one run.

Usage: ``python benchmarks/ragged.py [--rounds 5] [--cols 1024]``.

Rows (each a pair: ragged, then padded; both Vortex pipelines with the same schedule shape):
  seq_sum      per-sequence column sums of a packed (T, cols) float32 batch, the RDom bounded by
               ``offsets`` (tests/algorithm/test_ragged.py) — padded: (B, Smax, cols) summed over
               all Smax rows, each multiplied by (row < length): every padded row is read (a
               ``select`` would skip the padded rows' loads: it prints as ``?:``);
  attention    examples/varlen_attention.py (D = 16, H = 2 over HK = 1), causal and full, its
               shipped PoCL schedule (O's tokens by ``ragged_split``; the same schedule with a
               plain ``split`` is timed too and printed beside it) —
               padded: (B, Smax, H, D) with every key step computed and the keys past the
               length masked to -inf (causal: the triangle over Smax, as a causal kernel skips
               it on a padded batch too);
  moe experts  examples/moe.py's grouped GEMM (T = 512 tokens, D = 256, F = 512, E = 8, top-2,
               skewed: expert 0 gets ~60% of the tokens) over the tiles the real segments need —
               padded: every expert padded to the largest expert's tile count.
Lengths: [47, 128, 2048, 15]. Times: ``kernel.time`` (device time of all launches, no
transfers), median of ``--rounds`` runs after one warm-up. Ideal ratio = real work / padded work
(rows for the sums, key steps for attention, 64-row tiles for the GEMM); measured ratio = ragged
time / padded time; the goal is measured <= 1.2 x ideal. Every output is checked first (the
valid rows of the padded results too).
"""
import argparse
import os
import sys
from pathlib import Path

import numpy as np

import vortex as vx
from vortex.examples import load_example

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import check, load_avg, machine, versions  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
VARLEN = load_example(ROOT / "examples" / "varlen_attention.py")
MOE = load_example(ROOT / "examples" / "moe.py")
LENGTHS = [47, 128, 2048, 15]
TILE = 16                      # tokens per work-group, as schedules/varlen_attention/pocl-cpu


# --- per-sequence sums ------------------------------------------------------------------------
def ragged_sum():
    B1, T, C = vx.dims("B1 T C")
    offsets = vx.Input("offsets", vx.int32, (B1,), range=(0, T))
    x = vx.Input("x", vx.float32, (T, C))
    b, c = vx.vars("b c")
    r = vx.RDom(offsets[b], offsets[b + 1] - offsets[b], name="r")
    f = vx.Func("seq_sum", shape=(B1 - 1, C))
    f[b, c] = vx.sum(x[r, c])
    return vx.Pipeline(f)


def padded_sum():
    B, S, C = vx.dims("B S C")
    lens = vx.Input("lens", vx.int32, (B,), range=(0, S))
    x = vx.Input("x", vx.float32, (B, S, C))
    b, c = vx.vars("b c")
    r = vx.RDom(S, name="r")
    f = vx.Func("seq_sum", shape=(B, C))
    f[b, c] = vx.sum(x[b, r, c] * vx.cast(vx.float32, r < lens[b]))   # reads every row
    return vx.Pipeline(f)


def sum_schedule(pipe):
    """A work-group per (sequence, 256 columns), a work-item per 16 columns as one vector."""
    s = vx.Schedule(pipe)
    s["seq_sum"].split("c", "co", "ci", 256).split("ci", "cw", "cv", 16) \
        .reorder("b", "co", "cw", "r", "cv").gpu_blocks("co", "b").gpu_threads("cw") \
        .vectorize("cv")
    return s


# --- attention on the padded batch ------------------------------------------------------------
def padded_attention(D=16, causal=True):
    """examples/varlen_attention.py's algorithm on (B, S, H, D) padded sequences: the keys past
    lens[b] masked to -inf; every row and key step of the padded box computed."""
    B, S, H, HK = vx.dims("B S H HK")
    Q = vx.Input("Q", vx.float32, (B, S, H, D))
    K = vx.Input("K", vx.float32, (B, S, HK, D))
    V = vx.Input("V", vx.float32, (B, S, HK, D))
    lens = vx.Input("lens", vx.int32, (B,), range=(0, S))
    b, s, h, d, j = vx.vars("b s h d j")
    kv = h * HK // H
    e = vx.RDom(D, name="e")
    score = vx.Func("score")
    score[b, s, h, j] = vx.select(j < lens[b], vx.sum(Q[b, s, h, e] * K[b, j, kv, e])
                                  * np.float32(D ** -0.5), np.float32(-np.inf))

    def keys(name):
        return vx.RDom(0, s + 1, name=name) if causal else vx.RDom(S, name=name)
    r1, r2, r3 = keys("r1"), keys("r2"), keys("r3")
    row_max = vx.Func("row_max")
    row_max[b, s, h] = vx.maximum(score[b, s, h, r1])
    row_sum = vx.Func("row_sum")
    row_sum[b, s, h] = vx.sum(vx.exp(score[b, s, h, r2] - row_max[b, s, h]))
    O = vx.Func("O", shape=(B, S, H, D))
    O[b, s, h, d] = vx.sum(vx.exp(score[b, s, h, r3] - row_max[b, s, h]) * V[b, r3, kv, d]) \
        / vx.max(row_sum[b, s, h], np.float32(1))
    return vx.Pipeline(O, name="padded_attention")


def padded_attention_schedule(pipe):
    """schedules/varlen_attention/pocl-cpu.toml on the padded axes: blocks of 16 queries per
    (head, sequence), a work-item per query, d of O as one vector."""
    s = vx.Schedule(pipe)
    for name in ("row_max", "row_sum"):
        s[name].compute_root().split("s", "so", "si", TILE).reorder("b", "so", "h", "si") \
            .gpu_blocks("so", "h", "b").gpu_threads("si")
    s["O"].split("s", "so", "si", TILE).reorder("b", "so", "h", "si", "d") \
        .gpu_blocks("so", "h", "b").gpu_threads("si").vectorize("d", 16)
    return s


def pad(packed, offsets, smax):
    """(T, ...) packed rows -> (B, smax, ...) zero-padded."""
    out = np.zeros((len(offsets) - 1, smax) + packed.shape[1:], packed.dtype)
    for i, (a, z) in enumerate(zip(offsets[:-1], offsets[1:])):
        out[i, :z - a] = packed[a:z]
    return out


def valid(padded, offsets):
    """The rows of the sequences, packed again."""
    return np.concatenate([padded[i, :z - a] for i, (a, z)
                           in enumerate(zip(offsets[:-1], offsets[1:]))])


# --- rows ---------------------------------------------------------------------------------------
def timed(kernel, rounds, **args):
    return kernel.time(warmup=1, repeat=rounds, **args)


def sums_row(rounds, cols):
    off = np.concatenate([[0], np.cumsum(LENGTHS)]).astype(np.int32)
    x = np.random.default_rng(0).standard_normal((int(off[-1]), cols), dtype=np.float32)
    lens, xp = np.diff(off).astype(np.int32), pad(x, off, max(LENGTHS))
    want = np.stack([x[a:z].sum(0, dtype=np.float64) for a, z in zip(off[:-1], off[1:])])
    rag, padk = ragged_sum(), padded_sum()
    kr = vx.compile(rag, schedule=sum_schedule(rag), target="opencl")
    kp = vx.compile(padk, schedule=sum_schedule(padk), target="opencl")
    check("seq_sum ragged", kr(offsets=off, x=x), want, rtol=1e-4, atol=1e-3, width=22)
    check("seq_sum padded", kp(lens=lens, x=xp), want, rtol=1e-4, atol=1e-3, width=22)
    ideal = sum(LENGTHS) / (len(LENGTHS) * max(LENGTHS))
    return (f"seq_sum (cols {cols})", timed(kr, rounds, offsets=off, x=x),
            timed(kp, rounds, lens=lens, x=xp), ideal)


def attention_row(rounds, causal):
    args = VARLEN.packed(LENGTHS)
    off, smax = args["offsets"], max(LENGTHS)
    want = VARLEN.numpy_version(**args, causal=causal)
    kr = vx.compile(VARLEN.pipeline(16, causal), target="opencl")   # the shipped PoCL file
    pipe = padded_attention(16, causal)
    kp = vx.compile(pipe, schedule=padded_attention_schedule(pipe), target="opencl")
    padded = {k: pad(args[k], off, smax) for k in ("Q", "K", "V")}
    padded["lens"] = np.diff(off).astype(np.int32)
    name = f"attention {'causal' if causal else 'full'}"
    ks = vx.compile(kr.pipe, schedule=split_schedule(kr.pipe), target="opencl")
    check(name + " ragged", kr(**args), want, rtol=1e-5, atol=1e-5, width=22)
    check(name + " split", ks(**args), want, rtol=1e-5, atol=1e-5, width=22)
    check(name + " padded", valid(kp(**padded), off), want, rtol=1e-5, atol=1e-5, width=22)
    L = np.array(LENGTHS, np.float64)
    steps = (lambda n: n * (n + 1) / 2) if causal else (lambda n: n * n)
    ideal = steps(L).sum() / (len(L) * steps(float(smax)))
    tr, ts = timed(kr, rounds, **args), timed(ks, rounds, **args)
    print(f"  {name}: O by ragged_split(t, offsets, to, ti, {TILE}) {tr:.2f} ms, by "
          f"split(t, to, ti, {TILE}) {ts:.2f} ms")
    return (name, tr, timed(kp, rounds, **padded), ideal)


def split_schedule(pipe):
    """The shipped PoCL file with O's ragged_split replaced by a plain split: blocks of 16
    consecutive tokens, which may straddle two sequences."""
    text = (ROOT / "schedules" / "varlen_attention" / "pocl-cpu.toml").read_text()
    ragged = f'ragged_split = ["t", "offsets", "to", "ti", {TILE}]'
    assert ragged in text
    return vx.Schedule.from_toml(text.replace(ragged, f'split = ["t", "to", "ti", {TILE}]'),
                                 pipe)


def moe_row(rounds):
    T, D, F = MOE.SHAPE
    layer = MOE.layer_inputs(T, D, F, favour={0: 1.1})
    idx, _ = MOE.numpy_route(layer["X"], layer["Wr"])
    counts = np.bincount(idx.ravel(), minlength=MOE.EXPERTS)
    _, tile_expert, X_p = MOE.numpy_pack(idx, layer["X"])
    per = -(-counts // MOE.BLOCK)                      # tiles each expert's segment needs
    used = int(per.sum())
    real = {"X_p": X_p[:used], "tile_expert": tile_expert[:used]}
    most = int(per.max())                              # every expert padded to the largest
    Xpad = np.zeros((MOE.EXPERTS * most, MOE.BLOCK, D), np.float32)
    starts = np.concatenate([[0], np.cumsum(per)[:-1]])
    for e in range(MOE.EXPERTS):
        Xpad[e * most:e * most + per[e]] = X_p[starts[e]:starts[e] + per[e]]
    pads = {"X_p": Xpad, "tile_expert": np.repeat(np.arange(MOE.EXPERTS, dtype=np.int32), most)}
    W = {k: layer[k] for k in ("W1", "W3", "W2")}
    k = vx.compile(MOE.pipeline("experts"), target="opencl")        # the shipped PoCL file
    want = MOE.numpy_version(**real, **W)
    check("moe experts ragged", k(**real, **W), want, rtol=1e-4, atol=1e-4, width=22)
    got = k(**pads, **W)
    check("moe experts padded", np.concatenate([got[e * most:e * most + per[e]]
                                                for e in range(MOE.EXPERTS)]),
          want, rtol=1e-4, atol=1e-4, width=22)
    print(f"  moe routing: tokens per expert {counts.tolist()} (expert 0: "
          f"{counts[0] / T:.0%} of the tokens); tiles {per.tolist()} = {used} vs "
          f"{MOE.EXPERTS} x {most} = {MOE.EXPERTS * most} padded; rows "
          f"{int(counts.sum())} vs {MOE.EXPERTS * int(counts.max())}")
    return ("moe experts (skewed)", timed(k, rounds, **real, **W),
            timed(k, rounds, **pads, **W), used / (MOE.EXPERTS * most))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--cols", type=int, default=1024)
    a = ap.parse_args()
    from vortex.runtime.opencl_device import select_device
    print("\n".join(machine(select_device())))
    print(versions(["vortex", "numpy", "pyopencl"]))
    print(load_avg("start"))
    print(f"lengths   {LENGTHS} (T = {sum(LENGTHS)}, padded {len(LENGTHS)} x {max(LENGTHS)})")
    rows = [sums_row(a.rounds, a.cols), attention_row(a.rounds, True),
            attention_row(a.rounds, False), moe_row(a.rounds)]
    print(f"\n{'':<24}{'ragged ms':>11}{'padded ms':>11}{'ideal':>8}{'measured':>10}"
          f"{'meas/ideal':>12}  goal <= 1.2")
    for name, tr, tp, ideal in rows:
        m = tr / tp
        print(f"{name:<24}{tr:>11.2f}{tp:>11.2f}{ideal:>8.3f}{m:>10.3f}{m / ideal:>12.2f}  "
              f"{'met' if m <= 1.2 * ideal else 'not met'}")
    print(load_avg("end"))
    print(f"uptime    {os.popen('uptime').read().strip()}")


if __name__ == "__main__":
    main()
