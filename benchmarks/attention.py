"""Causal attention forward on PoCL against numpy and PyTorch CPU (issue 15 acceptance 3), in
one run.

Usage: ``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/attention.py
[--heads 8] [--kv-heads 2] [--seq 1024] [--dim 64] [--rounds 5]``

Rows (B = 1, H query heads over HK key/value heads, S positions, head size D, float32):
  Vortex      examples/attention.py with schedules/attention/pocl-cpu.toml: the scores of a
              key tile computed inside the online-softmax recurrence's key loop (work-group
              local memory, no S×S buffer) (``kernel.time``: device time of the launches, no
              transfers);
  numpy       examples/attention.py's ``numpy_version`` in float32 (K and V repeated over the
              query heads, the full score matrix, a masked stable softmax, P·V: BLAS matmuls),
              wall time;
  PyTorch     ``torch.nn.functional.scaled_dot_product_attention`` (``is_causal=True``, K and V
              repeated to H heads) on the CPU, wall time; skipped with the reason when PyTorch
              is not installed.
Each output is checked against the float64 numpy reference first. Medians over ``--rounds``
runs after one warm-up. On a lent GPU the same comparison against PyTorch's flash backend is the
issue's goal (>= 70% of its throughput); no GPU row here.
"""
import argparse
import os
import sys
from pathlib import Path

import numpy as np

import vortex as vx
from vortex.examples import load_example

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import check, load_avg, machine, median_ms, reason, versions  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ATTENTION = load_example(ROOT / "examples" / "attention.py")


def numpy_f32(q, k, v):
    """The unfused float32 composition (numpy's own precision, BLAS matmuls)."""
    g = q.shape[1] // k.shape[1]
    k, v = np.repeat(k, g, axis=1), np.repeat(v, g, axis=1)
    s, d = q.shape[-2:]
    x = q @ k.swapaxes(-1, -2) * np.float32(d ** -0.5)
    x = np.where(np.tril(np.ones((s, s), dtype=bool)), x, np.float32(-np.inf))
    p = np.exp(x - x.max(axis=-1, keepdims=True))
    return (p / p.sum(axis=-1, keepdims=True)) @ v


def torch_row(q, k, v, rounds: int, want):
    """(ms, note) of PyTorch's CPU SDPA, or (None, why not)."""
    try:
        import torch
    except ImportError as e:
        return None, f"PyTorch not installed ({reason(e, 60)})"
    g = q.shape[1] // k.shape[1]
    tq = torch.from_numpy(q)
    tk = torch.from_numpy(np.repeat(k, g, axis=1))
    tv = torch.from_numpy(np.repeat(v, g, axis=1))
    sdpa = torch.nn.functional.scaled_dot_product_attention
    with torch.no_grad():
        check("PyTorch", sdpa(tq, tk, tv, is_causal=True).numpy(), want, rtol=1e-4, atol=1e-4,
              versus="float64 numpy")
        ms = median_ms(lambda: sdpa(tq, tk, tv, is_causal=True), rounds, warmup=1)
    return ms, f"torch {torch.__version__}, {torch.get_num_threads()} threads"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--seq", type=int, default=1024)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    from vortex.runtime.opencl_device import select_device
    print("\n".join(machine(select_device())))
    print(versions(["vortex", "numpy", "pyopencl", "torch"]))
    print(load_avg("start"))
    rng = np.random.default_rng(0)
    q = rng.standard_normal((1, a.heads, a.seq, a.dim), dtype=np.float32)
    k = rng.standard_normal((1, a.kv_heads, a.seq, a.dim), dtype=np.float32)
    v = rng.standard_normal((1, a.kv_heads, a.seq, a.dim), dtype=np.float32)
    print(f"shape     B=1, H={a.heads} over HK={a.kv_heads}, S={a.seq}, D={a.dim}, causal, "
          "float32")
    want = ATTENTION.numpy_version(q, k, v)
    pipe = ATTENTION.pipeline(a.dim)
    kernel = vx.compile(pipe, schedule=str(ROOT / "schedules" / "attention" / "pocl-cpu.toml"),
                        target="opencl")
    check("Vortex", kernel(Q=q, K=k, V=v), want, rtol=1e-5, atol=1e-5, versus="float64 numpy")
    check("numpy f32", numpy_f32(q, k, v), want, rtol=1e-4, atol=1e-4, versus="float64 numpy")
    t_vx = kernel.time(Q=q, K=k, V=v, warmup=1, repeat=a.rounds)
    t_np = median_ms(lambda: numpy_f32(q, k, v), a.rounds, warmup=1)
    t_pt, note = torch_row(q, k, v, a.rounds, want)
    print(f"\n{'':<10}{'ms':>10}{'Vortex speed-up':>18}")
    print(f"{'Vortex':<10}{t_vx:>10.2f}{1.0:>17.2f}x  ({len(kernel.lowered.kernels)} launches; "
          "the scores in the key loop)")
    print(f"{'numpy':<10}{t_np:>10.2f}{t_np / t_vx:>17.2f}x  (float32, BLAS)")
    if t_pt is None:
        print(f"{'PyTorch':<10}{'—':>10}{'':>18}  {note}")
    else:
        print(f"{'PyTorch':<10}{t_pt:>10.2f}{t_pt / t_vx:>17.2f}x  ({note}, SDPA CPU)")
    print(load_avg("end"))
    print(f"uptime    {os.popen('uptime').read().strip()}")


if __name__ == "__main__":
    main()
