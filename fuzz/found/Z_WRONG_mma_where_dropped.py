"""``mma`` on a sum whose RDom has a ``where`` predicate (found by hand, not by the fuzzer, which
did not generate ``mma`` then; it does now: fuzz/mma.py).

C[i, j] = sum over k <= i of f32(A[i, k]) * f32(B[k, j]) (float16 A, B), 16 x 8 x 16 tiles.

Expected: pipe.reference, exactly (inputs are multiples of 1/4). Got (before a2b6f11): the full
sum over every k, the predicate dropped: at M, N, K = 37, 29, 40 on PoCL this script's data
was 26.5 off ("largest difference from the reference: 26.5"; the commit's test data 38.06).
The fix zeroes, per conjunct, the fragment elements of the operand whose coordinates it reads. Exits 0
once fixed.
"""
import numpy as np

import vortex as vx

M, N, K = vx.dims("M N K")
A, B = vx.Input("A", vx.float16, (M, K)), vx.Input("B", vx.float16, (K, N))
i, j = vx.vars("i j")
k = vx.RDom(K, name="k")
k.where(k <= i)
C = vx.Func("C", shape=(M, N))
C[i, j] = vx.sum(vx.cast(vx.float32, A[i, k]) * vx.cast(vx.float32, B[k, j]))
pipe = vx.Pipeline(C)

s = vx.Schedule(pipe)
s["C"].tile("i", "j", "io", "jo", "it", "jt", 16, 8).split("k", "ko", "kt", 16)
s["C"].reorder("io", "jo", "ko", "it", "jt", "kt").mma("it", "jt", "kt")
s["C"].gpu_blocks("io", "jo")


if __name__ == "__main__":
    import sys
    rng = np.random.default_rng(1)
    args = {"A": (rng.integers(-8, 9, (37, 40)) / 4).astype(np.float16),
            "B": (rng.integers(-8, 9, (40, 29)) / 4).astype(np.float16)}
    got = vx.compile(pipe, schedule=s, target="opencl")(**args)
    want = pipe.reference(**args)
    diff = float(np.max(np.abs(got - want)))
    print("largest difference from the reference:", diff)
    sys.exit(0 if diff == 0 else 1)
