"""``mma`` on a reduction with ``where`` predicates (vortex/lower/mma.py): a predicate reading
the A operand's coordinates (i, k) zeroes A's fragment elements where it fails, one reading
(k, j) zeroes B's; the OpenCL emulation guards each step with all of them. Before, the
predicates were dropped (a lower-triangular k <= i sum was the full sum: 38.06 off at
37 × 29 × 40). One reading i and j is refused. PoCL == pipe.reference exactly (inputs are
small multiples of 1/4); NVRTC compiles the predicated fragments to HMMA."""
import numpy as np
import pytest

import compilers
import vortex as vx
from vortex.isa.model import OpClass


def triangular(pred) -> vx.Pipeline:
    """C[i, j] = Σ_{k : pred(i, j, k)} f32(A[i, k]) f32(B[k, j]), float16 A and B."""
    M, N, K = vx.dims("M N K")
    A, B = vx.Input("A", vx.float16, (M, K)), vx.Input("B", vx.float16, (K, N))
    i, j = vx.vars("i j")
    k = vx.RDom(K, name="k")
    k.where(pred(i, j, k))
    C = vx.Func("C", shape=(M, N))
    C[i, j] = vx.sum(vx.cast(vx.float32, A[i, k]) * vx.cast(vx.float32, B[k, j]))
    return vx.Pipeline(C)


def schedule(pipe) -> vx.Schedule:
    s = vx.Schedule(pipe)
    s["C"].tile("i", "j", "io", "jo", "it", "jt", 16, 8).split("k", "ko", "kt", 16)
    s["C"].reorder("io", "jo", "ko", "it", "jt", "kt").mma("it", "jt", "kt")
    s["C"].gpu_blocks("io", "jo")
    return s


PREDICATES = {"k_le_i": lambda i, j, k: k <= i, "k_ge_j": lambda i, j, k: k >= j,
              "both": lambda i, j, k: (k <= i + 3) & (k % 3 != j % 2 + 5)}


@pytest.mark.parametrize("name", list(PREDICATES))
def test_predicates_zero_their_operand_on_pocl(opencl_device, name):
    pipe = triangular(PREDICATES[name])
    k = vx.compile(pipe, schedule=schedule(pipe), target="opencl", device=opencl_device)
    rng = np.random.default_rng(1)
    for M, N, K in [(1, 1, 1), (37, 29, 40)]:
        args = {"A": (rng.integers(-8, 9, (M, K)) / 4).astype(np.float16),
                "B": (rng.integers(-8, 9, (K, N)) / 4).astype(np.float16)}
        np.testing.assert_array_equal(k(**args), pipe.reference(**args))


def test_a_predicate_reading_i_and_j_is_refused():
    pipe = triangular(lambda i, j, k: k <= i + j)
    with pytest.raises(vx.ScheduleError, match=r"mma on Func 'C': the where predicate .* reads "
                       r"both 'i' and 'j', so it does not zero one operand's elements"):
        vx.source(pipe, schedule(pipe), target="opencl")


def test_predicated_fragments_compile_to_hmma():
    compilers.need_isa("cuda")
    pipe = triangular(PREDICATES["k_le_i"])
    k = vx.compile(pipe, schedule=schedule(pipe), target="cuda", arch="sm_90")
    assert [ki.mix.count(OpClass.TENSOR) for ki in k.analysis().isa] == [1]
    assert k.resources["C_kernel"]["spill_stores"] == 0
