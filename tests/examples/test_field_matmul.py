"""examples/field_matmul.py (issue #14 acceptance 3): the Goldilocks matrix product with lazy
reduction equals the Python-integer product mod p at 64×48×80 (the example's inputs, with
p − 1, 0 and 1 among them) and at small awkward sizes, in pipe.reference and on PoCL; the
kernel compiles for sm_90 and gfx90a."""
import numpy as np
import pytest

import vortex as vx
from vortex.examples import load_example
from vortex.lib.fields import GOLDILOCKS as F

EXAMPLE = load_example(__file__.rsplit("/tests/", 1)[0] + "/examples/field_matmul.py")


def python_product(A, B) -> np.ndarray:
    """Row by column with Python ints, written out (independent of numpy_version's matmul)."""
    M, K = A.shape
    N = B.shape[1]
    out = [[sum(int(A[i, k]) * int(B[k, j]) for k in range(K)) % F.p for j in range(N)]
           for i in range(M)]
    return np.array(out, dtype=np.uint64).reshape(M, N)


def test_the_example_inputs_on_pocl_and_in_the_reference(opencl_device):
    pipe, args = EXAMPLE.pipeline(), EXAMPLE.inputs()
    assert args["A"].shape == (64, 80) and args["B"].shape == (80, 48)
    want = python_product(args["A"], args["B"])
    np.testing.assert_array_equal(pipe.reference(**args), want)
    kernel = vx.compile(pipe, target="opencl", device=opencl_device)
    np.testing.assert_array_equal(kernel(**args), want)
    np.testing.assert_array_equal(EXAMPLE.numpy_version(**args), want)


@pytest.mark.parametrize("m, n, k", [(1, 1, 1), (3, 5, 7), (2, 1, 300)])
def test_awkward_sizes_and_the_largest_elements(opencl_device, m, n, k):
    """All p − 1: every product is 1 (mod p) but the 128-bit accumulator carries every term."""
    pipe = EXAMPLE.pipeline()
    kernel = vx.compile(pipe, target="opencl", device=opencl_device)
    A = np.full((m, k), F.p - 1, dtype=np.uint64)
    B = np.full((k, n), F.p - 1, dtype=np.uint64)
    want = np.full((m, n), k % F.p, dtype=np.uint64)
    np.testing.assert_array_equal(kernel(A=A, B=B), want)
    np.testing.assert_array_equal(pipe.reference(A=A, B=B), want)


@pytest.mark.parametrize("offline", ["cuda", "hip"], indirect=True)
def test_compiles_for_the_gpus(offline):
    target, build = offline
    kernel = build(EXAMPLE.pipeline())
    assert len(kernel.binary) > 0 and ("__umul64hi" in kernel.source)
