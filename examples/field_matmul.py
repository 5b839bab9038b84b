"""Matrix multiply over the Goldilocks field (p = 2**64 − 2**32 + 1) with lazy reduction:
C[i, j] = Σ_k A[i, k] · B[k, j] mod p — the building block of verifiable inference.

Run it:  vortex run examples/field_matmul.py [--schedule FILE] [--show-source]

A (M × K), B (K × N) and C are uint64 field elements (canonical words < p, vortex.lib.fields,
docs/fields.md). Each product is reduced to an element (``GOLDILOCKS.mul``: the 128-bit
product, then the 2**64 ≡ 2**32 − 1 reduction); the K products are **added without
reduction** into a 128-bit accumulator of two words — ``acc = (lo, hi)``, a Tuple-valued Func
whose update adds the product to ``lo`` and the carry out of that word to ``hi`` — and reduced
once at the end (``GOLDILOCKS.reduce128(lo, hi)``). The bound: every product is < p < 2**64,
so after K terms ``hi`` < K, and any K < 2**64 fits; the K modular additions of the eager form
(an add, a carry fix and a canonical min each) become one add and one carry.

``numpy_version`` is the Python-integer product (object arrays: exact), the independent check.
"""
import numpy as np

import vortex as vx
from vortex.lib.fields import GOLDILOCKS as F

SHAPE = (64, 48, 80)       # M, N, K


def pipeline() -> vx.Pipeline:
    M, N, K = vx.dims("M N K")
    A = vx.Input("A", vx.uint64, (M, K))
    B = vx.Input("B", vx.uint64, (K, N))
    i, j = vx.vars("i j")
    k = vx.RDom(K, name="k")
    zero = vx.cast(vx.uint64, 0)
    acc = vx.Func("acc", shape=(M, N))
    acc[i, j] = (zero, zero)
    lo, hi = acc[i, j]
    product = F.mul(A[i, k], B[k, j])
    acc[i, j] = (lo + product, hi + vx.carry(lo, product))
    C = vx.Func("C", shape=(M, N))
    C[i, j] = F.reduce128(acc[i, j][0], acc[i, j][1])
    return vx.Pipeline(C, name="field_matmul")


def inputs(image=None) -> dict:
    """A (64, 80), B (80, 48): uniform elements in [0, p) with p − 1, 0 and 1 in the first
    row/column (fixed seed); ``image`` is ignored."""
    rng = np.random.default_rng(0)
    M, N, K = SHAPE
    A = rng.integers(0, F.p, (M, K), dtype=np.uint64)
    B = rng.integers(0, F.p, (K, N), dtype=np.uint64)
    A[0, :3] = [F.p - 1, 0, 1]
    B[:3, 0] = [F.p - 1, F.p - 1, 1]
    return {"A": A, "B": B}


def numpy_version(A, B):
    """C = A·B mod p with Python integers (object arrays), as uint64."""
    prod = A.astype(object) @ B.astype(object)
    return (prod % F.p).astype(np.uint64)
