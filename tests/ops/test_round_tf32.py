"""vx.round_tf32 (vortex/algorithm/tf32.py): float32 rounded to TensorFloat-32 as
cvt.rna.tf32.f32 does — to nearest, ties away from zero, infinities and NaN kept — in the
reference and on PoCL (the helper printed for the kernels), bit for bit; CUDA and HIP compile
the helper."""
import numpy as np
import pytest

import vortex as vx
from vortex.algorithm.tf32 import round_tf32_value

EDGES = np.array([0.0, -0.0, 1.0, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -10 + 2 ** -12,
                  -(1 + 2 ** -11), 3.4028235e38, -3.4028235e38, 1e-40, -1e-45, np.inf, -np.inf,
                  0.1, 1 / 3], dtype=np.float32)


def pipeline():
    N = vx.Dim("N")
    x = vx.Input("x", vx.float32, (N,))
    i = vx.Var("i")
    f = vx.Func("f", shape=(N,))
    f[i] = vx.round_tf32(x[i])
    return vx.Pipeline(f)


def bits(a):
    return np.asarray(a, dtype=np.float32).view(np.uint32)


def test_the_numpy_twin_rounds_to_nearest_ties_away():
    got = bits(round_tf32_value(EDGES))
    assert (got & 0x1FFF == 0).all()
    want = [0x00000000, 0x80000000, 0x3F800000, 0x3F802000, 0x3F804000, 0x3F802000,
            0xBF802000, 0x7F800000, 0xFF800000, 0x00012000, 0x80000000, 0x7F800000, 0xFF800000,
            0x3DCCC000, 0x3EAAA000]
    assert got.tolist() == want
    assert np.isnan(round_tf32_value(np.float32(np.nan)))


def test_pocl_equals_the_reference_bit_for_bit(opencl_device):
    pipe = pipeline()
    kernel = vx.compile(pipe, target="opencl", device=opencl_device)
    rng = np.random.default_rng(3)
    x = np.concatenate([EDGES, [np.nan], rng.standard_normal(1021).astype(np.float32) * 1e3])
    x = x.astype(np.float32)
    for n in (1, 7, len(x)):
        out, ref = kernel(x=x[:n]), pipe.reference(x=x[:n])
        np.testing.assert_array_equal(bits(out), bits(ref))


@pytest.mark.parametrize("offline", ["cuda", "hip"], indirect=True)
def test_the_helper_compiles(offline):
    target, build = offline
    kernel = build(pipeline())
    assert "0xffffe000u" in kernel.source and len(kernel.binary) > 0


def test_other_types_are_refused():
    x = vx.Input("x", vx.float16, (4,))
    with pytest.raises(vx.TypeError, match=r"vx.round_tf32 takes float32, got float16; cast it "
                                           r"with vx.cast\(vx.float32, ...\)"):
        vx.round_tf32(x[0])
