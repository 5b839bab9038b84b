"""OpenCL's emulation of an ``mma`` tile is one loop over the lane's C elements (``mma_e``), each
a k loop in order into a scalar (vortex/lower/mma.py ``emulation``), not one k loop per element: PoCL's
work-group compiler (loopvec) did not finish the kernel with 16 guarded k loops a lane after a
staged copy's barrier (fuzz/found/AA_SLOW_pocl_mma_int8_staged_a.py: > 60 s; as one loop its
first call takes 0.3 s). The CUDA/HIP instruction paths do not read the emulation."""
import numpy as np
import pytest

import vortex as vx


def _aa(dtype=vx.int8, acc=vx.int32):
    """AA's program: C = A @ B on AMD's 32x32x8 shape, one warp, A staged at ko."""
    M, N, K = vx.dims("M N K")
    i, j = vx.vars("i j")
    A, B = vx.Input("A", dtype, (M, K)), vx.Input("B", dtype, (K, N))
    k = vx.RDom(K, name="k")
    C = vx.Func("C", shape=(M, N))
    C[i, j] = vx.sum(vx.cast(acc, A[i, k]) * vx.cast(acc, B[k, j]))
    pipe = vx.Pipeline(C)
    s = vx.Schedule(pipe)
    s["C"].tile("i", "j", "io", "jo", "it", "jt", 32, 32).split("k", "ko", "kt", 8)
    s["C"].reorder("io", "jo", "ko", "it", "jt", "kt").mma("it", "jt", "kt").gpu_blocks("io", "jo")
    s["C"].stage("A", at="ko", memory="shared")
    return pipe, s


def test_the_emulation_is_one_loop_over_the_elements():
    pipe, s = _aa()
    src = vx.compile(pipe, schedule=s, target="opencl").source
    assert src.count("for (int mma_e = 0; mma_e < 16; ++mma_e)") == 1
    assert src.count("for (int mma_k = 0; mma_k < 8; ++mma_k)") == 1
    # the running sum in a scalar, read and written once per element
    assert src.count("int mma_c = C_frag[mma_e];") == src.count("C_frag[mma_e] = mma_c;") == 1
    assert "mma_c = (mma_c + " in src


@pytest.mark.parametrize("M, N, K", [(31, 5, 23), (1, 1, 1), (40, 33, 17)])
def test_int8_32x32x8_with_a_staged_equals_the_reference_on_pocl(opencl_device, M, N, K):
    pipe, s = _aa()
    rng = np.random.default_rng(M)
    args = {"A": rng.integers(-128, 128, (M, K)).astype(np.int8),
            "B": rng.integers(-128, 128, (K, N)).astype(np.int8)}
    got = vx.compile(pipe, schedule=s, target="opencl", device=opencl_device)(**args)
    assert np.array_equal(got, pipe.reference(**args))


def test_float16_32x32x8_sums_in_k_order_on_pocl(opencl_device):
    """Floats: the same sum in the same k order as the reference, exactly."""
    pipe, s = _aa(vx.float16, vx.float32)
    rng = np.random.default_rng(3)
    args = {"A": rng.standard_normal((37, 29)).astype(np.float16),
            "B": rng.standard_normal((29, 35)).astype(np.float16)}
    got = vx.compile(pipe, schedule=s, target="opencl", device=opencl_device)(**args)
    assert np.array_equal(got, pipe.reference(**args))
