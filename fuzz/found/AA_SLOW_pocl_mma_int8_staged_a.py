"""Fuzz case 20261201mma:226: hang (Timeout) in phase 'run opencl sizes {'M': 31, 'N': 5, 'K':
23}' (no answer after 60 s), minimised.

C[i, j] = sum_k i32(A[i, k]) * i32(B[k, j]) (int8 A, B) on AMD's 32 x 32 x 8 instruction shape
(one 64-lane warp, 16 accumulators a lane), A staged in shared memory at the k loop. On OpenCL
the instruction is each lane's plain loops: 16 guarded k loops after the staged copy's barrier.

Expected: the reference's numbers within seconds on PoCL. Got: the first call does not return
(killed after 300 s; in a 45 s limit too). vx.compile and clBuildProgram take ~1 s; the time is
PoCL's work-group compile at the first enqueue (gdb: one thread deep in recursive frames of
libpocl.so, the others idle). The same schedule with float16 operands: 5.28 s; int8 with B
staged instead of A: 1.49 s; int8 16 x 16 x 16 with A staged: 1.37 s; no staging: 0.37 s.

Run: python <this file>; it runs the kernel in a subprocess and exits 0 once that gives the
reference's numbers within 60 s.
"""
import subprocess
import sys

CHECK = r"""
import numpy as np
import vortex as vx

M, N, K = vx.dims("M N K")
i, j = vx.vars("i j")
A, B = vx.Input("A", vx.int8, (M, K)), vx.Input("B", vx.int8, (K, N))
k = vx.RDom(K, name="k")
C = vx.Func("C", shape=(M, N))
C[i, j] = vx.sum(vx.cast(vx.int32, A[i, k]) * vx.cast(vx.int32, B[k, j]))
pipe = vx.Pipeline(C)
s = vx.Schedule(pipe)
s["C"].tile("i", "j", "io", "jo", "it", "jt", 32, 32).split("k", "ko", "kt", 8)
s["C"].reorder("io", "jo", "ko", "it", "jt", "kt").mma("it", "jt", "kt").gpu_blocks("io", "jo")
s["C"].stage("A", at="ko", memory="shared")
rng = np.random.default_rng(0)
args = {"A": rng.integers(-128, 128, (31, 23)).astype(np.int8),
        "B": rng.integers(-128, 128, (23, 5)).astype(np.int8)}
got = vx.compile(pipe, schedule=s, target="opencl")(**args)
raise SystemExit(0 if np.array_equal(got, pipe.reference(**args)) else 1)
"""

if __name__ == "__main__":
    import os
    import tempfile
    env = dict(os.environ, POCL_CACHE_DIR=tempfile.mkdtemp(), VORTEX_CACHE_DIR=tempfile.mkdtemp())
    try:
        rc = subprocess.run([sys.executable, "-c", CHECK], env=env, timeout=60).returncode
    except subprocess.TimeoutExpired:
        print("no answer after 60 s")
        rc = 1
    print("matches the reference" if rc == 0 else "fails")
    sys.exit(rc)
