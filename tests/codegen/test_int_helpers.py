"""Unsigned ``min``/``max``/``mul_hi`` on OpenCL print as Vortex's helper functions
(vortex/codegen/int_helpers.py; the OpenCL dialect's ``int_helpers`` table), branch-free, and
equal Python integers on PoCL at the edges (0, 1, p − 1 of BabyBear and Goldilocks, 2**31,
2**32 − 1, 2**63, 2**64 − 1) for public and secret operands; CUDA/HIP keep their intrinsics.
(``mul_hi`` on PoCL against Python ints: tests/ops/test_int_intrinsics.py, which runs the same
helpers.)"""
import itertools
import re

import numpy as np
import pytest

import vortex as vx

BABYBEAR, GOLDILOCKS = 15 * 2 ** 27 + 1, 2 ** 64 - 2 ** 32 + 1
EDGES = {
    vx.uint32: [0, 1, 2, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 2, 2 ** 32 - 1, BABYBEAR - 1,
                BABYBEAR, BABYBEAR + 1],
    vx.uint64: [0, 1, 2, 2 ** 32 - 1, 2 ** 32, 2 ** 63 - 1, 2 ** 63, 2 ** 64 - 2, 2 ** 64 - 1,
                GOLDILOCKS - 1, GOLDILOCKS, BABYBEAR - 1],
}
C = {vx.uint32: "uint", vx.uint64: "ulong"}
OPS = {"min": (vx.min, min), "max": (vx.max, max), "mul_hi": (vx.mul_hi, None)}


def pipeline(op: str, dtype, secret: bool = False):
    n, x = vx.Dim("N"), vx.Var("x")
    a = vx.Input("a", dtype, (n,), secret=secret)
    b = vx.Input("b", dtype, (n,), secret=secret)
    f = vx.Func("f", shape=(n,))
    f[x] = OPS[op][0](a[x], b[x])
    return vx.Pipeline(f)


def oracle(op, a, b, bits):
    fn = OPS[op][1] or (lambda u, v: (u * v) >> bits)
    return [fn(int(u), int(v)) for u, v in zip(a, b)]


def pairs(dtype):
    """Every ordered pair of edge values, then 300 random words (fixed seed)."""
    e = EDGES[dtype]
    a, b = map(list, zip(*itertools.product(e, e)))
    rng = np.random.default_rng(dtype.bits)
    a += [int(v) for v in rng.integers(0, 2 ** dtype.bits, 300, dtype=np.uint64)]
    b += [int(v) for v in rng.integers(0, 2 ** dtype.bits, 300, dtype=np.uint64)]
    return np.array(a, dtype=dtype.np), np.array(b, dtype=dtype.np)


@pytest.mark.parametrize("dtype", [vx.uint32, vx.uint64], ids=str)
@pytest.mark.parametrize("op", sorted(OPS))
def test_opencl_calls_one_branch_free_helper(op, dtype):
    src = vx.source(pipeline(op, dtype), target="opencl")
    name = f"vx_{op}_{C[dtype]}"
    assert f"{name}(a[x], b[x])" in src
    assert src.count(f"inline {C[dtype]} {name}(") == 1        # defined once
    assert "?" not in src and not re.search(r"(?<![\w])(min|max|mul_hi)\(", src)


@pytest.mark.parametrize("target,fns", [
    ("cuda", {"min": "min", "max": "max", "mul_hi": "__umulhi"}),
    ("hip", {"min": "min", "max": "max", "mul_hi": "__umulhi"})])
def test_cuda_and_hip_keep_their_intrinsics(target, fns):
    for op, fn in fns.items():
        src = vx.source(pipeline(op, vx.uint32), target=target)
        assert f"{fn}(a[x], b[x])" in src and "vx_" not in src


def test_signed_and_narrow_min_keep_the_builtin():
    """Only uint32/uint64 are in the table (what the fields use; measured there)."""
    for dtype in (vx.int32, vx.int64, vx.uint8):
        n, x = vx.Dim("N"), vx.Var("x")
        a = vx.Input("a", dtype, (n,))
        f = vx.Func("f", shape=(n,))
        f[x] = vx.min(a[x], a[x] + 1)
        assert "vx_min_" not in vx.source(vx.Pipeline(f), target="opencl")


@pytest.mark.parametrize("secret", [False, True], ids=["public", "secret"])
@pytest.mark.parametrize("dtype", [vx.uint32, vx.uint64], ids=str)
@pytest.mark.parametrize("op", sorted(OPS))
def test_pocl_equals_python_ints(op, dtype, secret, opencl_device):
    pipe = pipeline(op, dtype, secret)
    kernel = vx.compile(pipe, target="opencl", device=opencl_device)
    assert "?" not in kernel.source
    a, b = pairs(dtype)
    for n in (1, 7, 37, len(a)):       # 1, primes, the edge pairs and random words
        got = kernel(a=a[:n], b=b[:n])
        assert got.dtype == dtype.np
        assert got.tolist() == oracle(op, a[:n], b[:n], dtype.bits)
        np.testing.assert_array_equal(got, pipe.reference(a=a[:n], b=b[:n]))


def test_nested_min_of_a_field_add_on_pocl(opencl_device):
    """BabyBear's canonical sum min(s, s − p) inside another min: the helper nests."""
    from vortex.lib.fields import BABYBEAR as F
    n, x = vx.Dim("N"), vx.Var("x")
    a, b = vx.Input("a", vx.uint32, (n,)), vx.Input("b", vx.uint32, (n,))
    f = vx.Func("f", shape=(n,))
    f[x] = F.add(F.add(a[x], b[x]), a[x])
    pipe = vx.Pipeline(f)
    kernel = vx.compile(pipe, target="opencl", device=opencl_device)
    e = np.array([0, 1, 2, BABYBEAR - 2, BABYBEAR - 1, 12345], dtype=np.uint32)
    a_, b_ = (np.array(v, dtype=np.uint32) for v in zip(*itertools.product(e, e)))
    want = [(2 * int(u) + int(v)) % BABYBEAR for u, v in zip(a_, b_)]
    assert kernel(a=a_, b=b_).tolist() == want
