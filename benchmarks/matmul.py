"""f32 matrix multiply C = A @ B (M = N = K = 1024): Vortex against numpy/OpenBLAS, hand-written
OpenCL C and (on a CUDA GPU) CuPy/cuBLAS, in one run.

Usage: ``python benchmarks/matmul.py [--size 1024] [--repeat 15] [--settle 0.25]``.

Every output is checked against numpy (``np.allclose``, rtol 1e-4) before anything is timed.
A and B are uniform in [0, 1), as in ``examples/matmul.py``. Rows:
  Vortex (PoCL)   examples/matmul.py + schedules/matmul/pocl-cpu.toml; ``kernel.time``: the
        OpenCL profiling interval of the launch (no transfers).
  OpenCL C 4×8 (hand)   a register-blocked kernel written directly in OpenCL C: each work-item
        computes 4 rows × 8 contiguous columns in 32 scalar accumulators, work-groups of 8×8.
        Issue 5's reference point ("~24% of numpy here").
  OpenCL C 8×16 float16 (hand)   each work-item keeps 8 rows × 16 columns in 8 ``float16``
        accumulators: one ``vload16`` of B and 8 broadcasts of A per k. The fastest hand-written
        kernel found on this device. Both hand kernels run through pyopencl on the device and
        queue Vortex uses, built with Vortex's options, timed by profiling events.
  numpy (OpenBLAS)   ``np.matmul(A, B, out=C)``, wall time, with all of OpenBLAS's threads.
  CuPy/cuBLAS, Vortex (CUDA)   only on a CUDA GPU: ``cupy.matmul`` (cuBLAS SGEMM, no TF32) and
        Vortex with schedules/matmul/nvidia-h100.toml (compute capability 9.x) or
        nvidia-a100.toml (others), both timed by CUDA events. Elsewhere these rows say why not.
Measurement: ``--repeat`` rounds; each round runs every row once, in the same order, after
one warm-up run per row before the first round. The table shows the median over the rounds.
Interleaving rounds spreads load from other processes over all rows alike. Each timed run
starts ``--settle`` seconds (0.25) after the previous one ended: OpenBLAS's worker threads
keep spinning for a while after a call returns, and on a 2-core machine a kernel started at
once shares the cores with them (it ran up to 2× slower here).
GFLOP/s = 2·M·N·K / median time; "×numpy" = numpy's median / the row's median (the ratio of
GFLOP/s; issue 11 asks for ≥ 0.5 from the Vortex PoCL row at 1024³, and 1000³ within 1.3× of
1024³'s time per FLOP). Run it with ``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE`` so that
OpenBLAS picks this CPU's own kernel (the ``blas`` header line says which one it uses).
"""
import argparse
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vortex.examples import load_example

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (check as check_against, event_ms, load_avg, machine, reason,  # noqa: E402
                    version, versions, wall_ms)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = load_example(ROOT / "examples" / "matmul.py")
SCHEDULES = ROOT / "schedules" / "matmul"
RTOL = 1e-4
HAND_SRC = """
__kernel void mm_4x8(__global const float* restrict A, __global const float* restrict B,
                     __global float* restrict C, int M, int N, int K) {
  int row = get_global_id(1) * 4, col = get_global_id(0) * 8;
  float acc[4][8];
  for (int r = 0; r < 4; ++r) for (int c = 0; c < 8; ++c) acc[r][c] = 0.0f;
  for (int k = 0; k < K; ++k) {
    #pragma unroll
    for (int r = 0; r < 4; ++r) {
      float a = A[(row + r) * K + k];
      #pragma unroll
      for (int c = 0; c < 8; ++c) acc[r][c] += a * B[k * N + col + c];
    }
  }
  for (int r = 0; r < 4; ++r) for (int c = 0; c < 8; ++c) C[(row + r) * N + col + c] = acc[r][c];
}
__kernel void mm_8x16_vec(__global const float* restrict A, __global const float* restrict B,
                          __global float* restrict C, int M, int N, int K) {
  int row = get_global_id(1) * 8, col = get_global_id(0) * 16;
  float16 acc[8];
  for (int r = 0; r < 8; ++r) acc[r] = (float16)(0.0f);
  for (int k = 0; k < K; ++k) {
    float16 b = vload16(0, B + k * N + col);
    #pragma unroll
    for (int r = 0; r < 8; ++r) acc[r] += A[(row + r) * K + k] * b;
  }
  for (int r = 0; r < 8; ++r) vstore16(acc[r], 0, C + (row + r) * N + col);
}
"""
HAND = {  # kernel -> (label, rows × cols per work-item)
    "mm_4x8": ("OpenCL C 4×8 (hand)", (4, 8)),
    "mm_8x16_vec": ("OpenCL C 8×16 float16 (hand)", (8, 16)),
}
WORK_GROUP = (8, 8)
CUPY = ("cupy-cuda12x", "cupy-cuda11x", "cupy")   # the distribution names CuPy ships under


@dataclass
class Row:
    name: str
    timed_by: str
    run: object = None          # () -> ms of one run
    note: str = ""              # why there is no time
    samples: list = field(default_factory=list)

    @property
    def ms(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None


def check(name: str, out, ref) -> None:
    """Print the max relative error against numpy; raise AssertionError outside RTOL."""
    check_against(name, out, ref, rtol=RTOL, atol=0, relative=True, width=30, digits=1)


# ---- the rows -------------------------------------------------------------------------------
def vortex_pocl(a, b, ref) -> list[Row]:
    import vortex as vx
    kernel = vx.compile(EXAMPLE.pipeline(), schedule=str(SCHEDULES / "pocl-cpu.toml"),
                        target="opencl")
    check("Vortex (PoCL)", kernel(A=a, B=b), ref)
    return [Row("Vortex (PoCL)", "device events",
                lambda: kernel.time(warmup=0, repeat=1, A=a, B=b))]


def hand_opencl(a, b, ref) -> list[Row]:
    """The hand-written kernels on Vortex's device and queue (profiling events)."""
    import pyopencl as cl
    from vortex.runtime.opencl import BUILD_OPTIONS
    from vortex.runtime.opencl_device import context_queue, select_device
    ctx, queue = context_queue(select_device())
    (m, k), n = a.shape, b.shape[1]
    mf = cl.mem_flags
    a_d = cl.Buffer(ctx, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=a)
    b_d = cl.Buffer(ctx, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=b)
    c_d = cl.Buffer(ctx, mf.READ_WRITE, m * n * 4)
    program = cl.Program(ctx, HAND_SRC).build(options=list(BUILD_OPTIONS))
    rows = []
    for entry, (label, (ty, tx)) in HAND.items():
        wy, wx = ty * WORK_GROUP[1], tx * WORK_GROUP[0]
        if m % wy or n % wx:
            rows.append(Row(label, "-", note=f"needs M % {wy} == 0 and N % {wx} == 0"))
            continue
        kern = cl.Kernel(program, entry)
        kern.set_args(a_d, b_d, c_d, np.int32(m), np.int32(n), np.int32(k))

        def run(kern=kern, size=(n // tx, m // ty), keep=(a_d, b_d, c_d)):
            # keep: the kernel does not own its argument buffers; they must outlive the launch
            event = cl.enqueue_nd_range_kernel(queue, kern, size, WORK_GROUP)
            event.wait()
            return event_ms(event)
        run()
        out = np.empty((m, n), np.float32)
        cl.enqueue_copy(queue, out, c_d)
        check(label, out, ref)
        rows.append(Row(label, "device events", run))
    return rows


def numpy_row(a, b, ref) -> list[Row]:
    out = np.empty_like(ref)
    return [Row("numpy (OpenBLAS)", "wall", lambda: wall_ms(lambda: np.matmul(a, b, out=out)))]


def cuda_rows(a, b, ref) -> list[Row]:
    """CuPy/cuBLAS and Vortex on the first CUDA GPU, timed with CUDA events."""
    import cupy as cp
    import vortex as vx
    if cp.cuda.runtime.getDeviceCount() < 1:
        raise RuntimeError("no CUDA device")
    a_d, b_d = cp.asarray(a), cp.asarray(b)
    c_d = cp.empty((a.shape[0], b.shape[1]), cp.float32)

    def cublas():
        start, end = cp.cuda.Event(), cp.cuda.Event()
        start.record()
        cp.matmul(a_d, b_d, out=c_d)
        end.record()
        end.synchronize()
        return cp.cuda.get_elapsed_time(start, end)
    cublas()
    check("CuPy/cuBLAS", cp.asnumpy(c_d), ref)
    rows = [Row("CuPy/cuBLAS", "CUDA events", cublas)]
    hopper = int(cp.cuda.Device().compute_capability) >= 90     # "90" for sm_90
    schedule = SCHEDULES / ("nvidia-h100.toml" if hopper else "nvidia-a100.toml")
    kernel = vx.compile(EXAMPLE.pipeline(), schedule=str(schedule), target="cuda")
    check(f"Vortex (CUDA, {schedule.stem})", kernel(A=a, B=b), ref)
    rows.append(Row(f"Vortex (CUDA, {schedule.stem})", "CUDA events",
                    lambda: kernel.time(warmup=0, repeat=1, A=a, B=b)))
    return rows


# ---- report ---------------------------------------------------------------------------------
def header(size: int, repeat: int) -> str:
    from vortex.runtime.opencl_device import select_device
    cupy = next((v for v in map(version, CUPY) if v != "not installed"), "not installed")
    return "\n".join([
        f"matmul f32, M = N = K = {size}, median of {repeat} interleaved rounds",
        *machine(select_device()),       # its blas line: the library and kernel (threadpoolctl)
        versions(("vortex", "numpy", "pyopencl"), cupy=cupy),
        load_avg("start"),
    ])


def table(rows: list[Row], flops: float) -> str:
    numpy_ms = next(r.ms for r in rows if r.name.startswith("numpy"))
    lines = [f"{'implementation':<32}{'timed by':<15}{'median ms':>10}{'GFLOP/s':>9}"
             f"{'×numpy':>8}"]
    for r in rows:
        if r.ms is None:
            lines.append(f"{r.name:<32}n/a: {r.note}")
            continue
        lines.append(f"{r.name:<32}{r.timed_by:<15}{r.ms:>10.2f}{flops / r.ms / 1e6:>9.1f}"
                     f"{numpy_ms / r.ms:>8.2f}")
    vortex = next(r for r in rows if r.name == "Vortex (PoCL)")
    lines.append(f"Vortex (PoCL) reaches {numpy_ms / vortex.ms:.2f} of numpy's GFLOP/s "
                 "(issue 11, acceptance 2: ≥ 0.5 at 1024³)")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=1024, help="M = N = K")
    p.add_argument("--repeat", type=int, default=15, help="interleaved rounds (median reported)")
    p.add_argument("--settle", type=float, default=0.25,
                   help="seconds of idle time before each timed run")
    args = p.parse_args(argv)
    print(header(args.size, args.repeat))
    rng = np.random.default_rng(0)
    a = rng.random((args.size, args.size), dtype=np.float32)
    b = rng.random((args.size, args.size), dtype=np.float32)
    ref = a @ b
    rows = []
    for label, make in (("Vortex (PoCL)", vortex_pocl), ("OpenCL C (hand)", hand_opencl),
                        ("numpy (OpenBLAS)", numpy_row), ("CuPy/cuBLAS", cuda_rows)):
        try:
            rows.extend(make(a, b, ref))
        except AssertionError:
            raise
        except Exception as e:  # noqa: BLE001 - a peer that cannot run says why; others go on
            rows.append(Row(label, "-", note=reason(e, 90)))
    timed = [r for r in rows if r.run is not None]
    for r in timed:                      # one warm-up run each
        r.run()
    for _ in range(args.repeat):
        for r in timed:
            time.sleep(args.settle)
            r.samples.append(r.run())
    print(table(rows, 2.0 * args.size ** 3))
    print(load_avg("end"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
