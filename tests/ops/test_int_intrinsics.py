"""vx.mul_hi, vx.mul_wide, vx.carry, vx.borrow (vortex/algorithm/integer.py) against Python
integers: in pipe.reference and on PoCL (scalar and uint4/ulong4-vectorized code), at the edges
(0, 1, 2**31, 2**32 - 1, 2**63, 2**64 - 1, values near the BabyBear and Goldilocks primes) and on
random words; compiled for CUDA sm_90 and HIP gfx90a; each error message."""
import compilers
import numpy as np
import pytest

import vortex as vx
from vortex.isa import sass

from .conftest import vector_schedule

BABYBEAR, GOLDILOCKS = 15 * 2 ** 27 + 1, 2 ** 64 - 2 ** 32 + 1
EDGES = {
    8: [0, 1, 2, 127, 128, 255],
    32: [0, 1, 2, 3, 2 ** 16, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 2, 2 ** 32 - 1,
         BABYBEAR - 1, BABYBEAR, BABYBEAR + 1],
    64: [0, 1, 2, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 63, 2 ** 64 - 2, 2 ** 64 - 1,
         GOLDILOCKS - 1, GOLDILOCKS, GOLDILOCKS + 1, BABYBEAR - 1],
}
TYPES = {8: vx.uint8, 32: vx.uint32, 64: vx.uint64}

# name -> (function, result bits, Python-int oracle for (a, b, bits))
CASES = {
    "mul_hi": (vx.mul_hi, lambda a, b, w: (a * b) >> w),
    "mul_wide": (vx.mul_wide, lambda a, b, w: a * b),
    "carry": (vx.carry, lambda a, b, w: int(a + b >= 2 ** w)),
    "borrow": (vx.borrow, lambda a, b, w: int(a < b)),
}
WIDTHS = {"mul_hi": (32, 64), "mul_wide": (32,), "carry": (8, 32, 64), "borrow": (8, 32, 64)}
PARAMS = [(name, w) for name in CASES for w in WIDTHS[name]]


def pairs(bits: int, n_random: int = 1000):
    """Every pair of edge values, then random words (a fixed seed): two numpy arrays."""
    e = EDGES[bits]
    a = [x for x in e for _ in e]
    b = [y for _ in e for y in e]
    rng = np.random.default_rng(bits)
    hi = 2 ** bits
    a += [int(v) for v in rng.integers(0, hi, n_random, dtype=np.uint64)]
    b += [int(v) for v in rng.integers(0, hi, n_random, dtype=np.uint64)]
    t = TYPES[bits].np
    return np.array(a, dtype=t), np.array(b, dtype=t)


def pipeline(name: str, bits: int):
    n, x = vx.Dim("N"), vx.Var("x")
    a, b = vx.Input("a", TYPES[bits], (n,)), vx.Input("b", TYPES[bits], (n,))
    f = vx.Func("f", shape=(n,))
    f[x] = CASES[name][0](a[x], b[x])
    return vx.Pipeline(f)


def oracle(name, a, b, bits):
    fn = CASES[name][1]
    return [fn(int(x), int(y), bits) for x, y in zip(a, b)]


@pytest.mark.parametrize("name,bits", PARAMS)
def test_reference_equals_python_ints(name, bits):
    a, b = pairs(bits)
    got = pipeline(name, bits).reference(a=a, b=b)
    assert got.tolist() == oracle(name, a, b, bits)


@pytest.mark.parametrize("vector", [False, True], ids=["scalar", "vector4"])
@pytest.mark.parametrize("name,bits", PARAMS)
def test_pocl_equals_python_ints(name, bits, vector, opencl_device):
    pipe = pipeline(name, bits)
    sched = vector_schedule(pipe, "f", "x") if vector else vx.Schedule.default(pipe)
    kernel = vx.compile(pipe, schedule=sched, target="opencl", device=opencl_device)
    a, b = pairs(bits)
    for n in (1, 7, 13, len(a)):      # 1, primes, not a multiple of the 64-wide block
        got = kernel(a=a[:n], b=b[:n])
        assert got.tolist() == oracle(name, a[:n], b[:n], bits)
        np.testing.assert_array_equal(got, pipe.reference(a=a[:n], b=b[:n]))


def test_mul_hi_prints_the_targets_intrinsic(offline):
    build = offline[1]
    for bits, fn in ((32, "__umulhi"), (64, "__umul64hi")):
        assert f"{fn}(" in build(pipeline("mul_hi", bits)).source
    for name, bits in PARAMS:
        build(pipeline(name, bits))


def test_sass_has_the_hardware_multiplies():
    """sm_90: the high half and the widening product are one IMAD each, not emulated."""
    compilers.need_isa("cuda")
    for name, op in (("mul_hi", "IMAD.HI.U32"), ("mul_wide", "IMAD.WIDE.U32")):
        kernel = vx.compile(pipeline(name, 32), target="cuda", arch="sm_90")
        assert op in sass.disassemble(kernel.binary, "sm_90")


def test_opencl_prints_mul_hi_as_a_helper():
    """Scalar OpenCL code calls Vortex's helper, not the built-in (codegen/int_helpers.py)."""
    for bits, c in ((32, "uint"), (64, "ulong")):
        assert f"vx_mul_hi_{c}(a[x], b[x])" in vx.source(pipeline("mul_hi", bits), target="opencl")


def test_python_ints_take_the_other_operands_type():
    x = vx.Var("x")
    a = vx.Input("a", vx.uint64, (4,))
    e = vx.mul_hi(a[x], 2 ** 64 - 1)
    assert e.dtype == vx.uint64 and str(e) == "vx.mul_hi(a[x], 18446744073709551615)"
    assert vx.carry(7, a[x]).dtype == vx.uint64
    assert vx.mul_wide(vx.cast(vx.uint32, x), 3).dtype == vx.uint64


def test_a_python_int_out_of_range_and_a_scalar_pipeline():
    u = vx.Param("u", vx.uint64)
    f = vx.Func("f", shape=(1,))
    f[vx.Var("x")] = vx.mul_hi(u, u) + vx.borrow(u, 1)
    p = vx.Pipeline(f)
    assert p.reference(u=np.uint64(2 ** 64 - 1)).tolist() == [2 ** 64 - 2]
    assert p.reference(u=np.uint64(0)).tolist() == [1]
    with pytest.raises(vx.TypeError, match=r"Python integer 4294967296 is out of range for uint32"):
        vx.mul_hi(vx.Param("w", vx.uint32), 2 ** 32)


def test_errors_name_the_operand_and_the_cast():
    x = vx.Var("x")
    a32, a64 = vx.Input("a", vx.uint32, (4,)), vx.Input("b", vx.uint64, (4,))
    i32 = vx.Input("i", vx.int32, (4,))
    f32 = vx.Input("f", vx.float32, (4,))
    with pytest.raises(vx.TypeError, match=r"vx.mul_hi\(i\[x\], 3\): operand i\[x\] has type "
                                           r"int32; vx.mul_hi takes uint32 or uint64 operands: "
                                           r"use vx.cast\(vx.uint32, i\[x\]\)"):
        vx.mul_hi(i32[x], 3)
    with pytest.raises(vx.TypeError, match=r"operand f\[x\] has type float32; vx.carry takes "
                                           r"uint8 or uint16 or uint32 or uint64 operands: use "
                                           r"vx.cast\(vx.uint32, f\[x\]\)"):
        vx.carry(f32[x], a32[x])
    with pytest.raises(vx.TypeError, match=r"vx.borrow\(a\[x\], b\[x\]\): operands of two "
                                           r"types, uint32 and uint64; cast one so both are "
                                           r"uint64"):
        vx.borrow(a32[x], a64[x])
    with pytest.raises(vx.TypeError, match=r"vx.mul_wide\(b\[x\], b\[x\]\): operand b\[x\] has "
                                           r"type uint64; vx.mul_wide takes uint32 operands"):
        vx.mul_wide(a64[x], a64[x])
    with pytest.raises(vx.TypeError, match=r"vx.mul_hi takes uint32 or uint64 operands: use "
                                           r"vx.cast\(vx.uint32, vx.cast\(vx.uint16, x\)\)"):
        vx.mul_hi(vx.cast(vx.uint16, x), vx.cast(vx.uint16, x))
    with pytest.raises(vx.TypeError, match=r"vx.carry\(1, 2\) needs a typed operand to know the "
                                           r"word size: cast one, e.g. vx.carry\(vx.cast\("
                                           r"vx.uint32, 1\), 2\)"):
        vx.carry(1, 2)
    with pytest.raises(vx.TypeError, match=r"operand vx.cast\(vx.bool, x\) has type bool; "
                                           r"vx.borrow takes uint8"):
        vx.borrow(vx.cast(vx.bool_, x), a32[x])
