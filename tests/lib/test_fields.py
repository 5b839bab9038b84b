"""vortex.lib.fields: BabyBear (Montgomery form) and Goldilocks against Python integers, in
pipe.reference and on PoCL; compiled for CUDA sm_90 and HIP gfx90a; the field facts against
sympy; each error message.

Issue #14 acceptance 2: multiplication matches Python ints on 10**6 random pairs, with 0, 1,
p − 1 and words near 2**32 and 2**64 among them."""
import numpy as np
import pytest
import sympy

import vortex as vx
from vortex.lib.fields import BABYBEAR, GOLDILOCKS, GoldilocksField, MontgomeryField

FIELDS = {"babybear": BABYBEAR, "goldilocks": GOLDILOCKS}
R = 2 ** 32     # BabyBear's Montgomery radix


def words(F, n: int, seed: int):
    """``n`` elements: the edge values, then random ones."""
    p = F.p
    edges = [0, 1, 2, p - 2, p - 1]
    rng = np.random.default_rng(seed)
    rand = rng.integers(0, p, max(0, n - len(edges)), dtype=np.uint64)
    return np.concatenate([np.array(edges[:n], np.uint64), rand]).astype(F.dtype.np)


def value(F, w) -> int:
    return F.decode(int(w))


def elementwise(F, fns: dict):
    """A pipeline with one output per ``name -> fn(a[x], b[x])``."""
    n, x = vx.Dim("N"), vx.Var("x")
    a, b = vx.Input("a", F.dtype, (n,)), vx.Input("b", F.dtype, (n,))
    outs = []
    for name, fn in fns.items():
        f = vx.Func(name, shape=(n,))
        f[x] = fn(a[x], b[x])
        outs.append(f)
    return vx.Pipeline(*outs)


# --- the facts --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", FIELDS)
def test_field_facts(name):
    F = FIELDS[name]
    assert F.p == {"babybear": 15 * 2 ** 27 + 1, "goldilocks": 2 ** 64 - 2 ** 32 + 1}[name]
    assert sympy.isprime(F.p)
    assert sympy.primitive_root(F.p) == F.generator           # sympy's ntt uses the same root
    assert (F.p - 1) % 2 ** F.two_adicity == 0 and ((F.p - 1) >> F.two_adicity) % 2 == 1
    for k in (0, 1, 5, F.two_adicity):
        w = F.root_of_unity(2 ** k)
        assert pow(w, 2 ** k, F.p) == 1 and (k == 0 or pow(w, 2 ** (k - 1), F.p) == F.p - 1)
    for v in (0, 1, 2, F.p - 1, 12345):
        assert F.decode(F.encode(v)) == v and 0 <= F.encode(v) < F.p
    assert BABYBEAR.encode(1) == R % BABYBEAR.p and GOLDILOCKS.encode(5) == 5


# --- acceptance 2 -----------------------------------------------------------------------------
def million_pairs(F):
    """10**6 pairs: every pair of the special words, then random elements. Special: 0, 1, 2,
    p − 2, p − 1, p, p + 1 and words near 2**32 (and 2**64 for Goldilocks). BabyBear's mul takes
    any uint32 with an element (a · b < p · 2**32), so its words near 2**32 pair with elements."""
    p = F.p
    near32 = [2 ** 31, 2 ** 32 - 2, 2 ** 32 - 1]
    if F is BABYBEAR:
        special_a = [0, 1, 2, p - 2, p - 1, p, p + 1] + near32
        special_b = [0, 1, 2, p - 2, p - 1]
    else:
        special_a = special_b = [0, 1, 2, p - 2, p - 1, p, p + 1, 2 ** 32 - 1, 2 ** 32,
                                 2 ** 32 + 1, 2 ** 63, 2 ** 64 - 2, 2 ** 64 - 1]
    a = [x for x in special_a for _ in special_b]
    b = [y for _ in special_a for y in special_b]
    n = 10 ** 6
    ra, rb = words(F, n - len(a), 1), words(F, n - len(b), 2)
    return (np.concatenate([np.array(a, np.uint64).astype(F.dtype.np), ra]),
            np.concatenate([np.array(b, np.uint64).astype(F.dtype.np), rb]))


def expected_products(F, a, b) -> np.ndarray:
    """Python-int products (object arrays): BabyBear's word a · b · R⁻¹ mod p, Goldilocks' a · b
    mod p."""
    scale = pow(R, -1, F.p) if F is BABYBEAR else 1
    return (a.astype(object) * b.astype(object) * scale) % F.p


@pytest.mark.parametrize("name", FIELDS)
def test_mul_matches_python_ints_on_a_million_pairs(name, opencl_device):
    F = FIELDS[name]
    pipe = elementwise(F, {"m": F.mul})
    a, b = million_pairs(F)
    want = expected_products(F, a, b)
    ref = pipe.reference(a=a, b=b)
    assert ref.dtype == F.dtype.np and np.array_equal(ref.astype(object), want)
    kernel = vx.compile(pipe, target="opencl", device=opencl_device)
    np.testing.assert_array_equal(kernel(a=a, b=b), ref)


# --- the other operations ---------------------------------------------------------------------
def ops(F):
    return {"s": F.add, "d": F.sub, "n": lambda a, b: F.neg(a),
            "t": lambda a, b: F.to_field(b), "f": lambda a, b: F.from_field(a),
            "c": lambda a, b: F.add(F.mul(a, b), F.sub(3, a))}


def vector_schedule(pipe):
    """64-wide blocks of threads computing 4 lanes each (OpenCL prints uint4/ulong4 code)."""
    xo, xi = vx.vars("xo xi")
    s = vx.Schedule(pipe)
    for f in pipe.outputs:
        s[f.name].split("x", xo, xi, 64).vectorize(xi, 4).gpu_blocks(xo).gpu_threads(xi)
    return s


@pytest.mark.parametrize("vector", [False, True], ids=["scalar", "vector4"])
@pytest.mark.parametrize("name", FIELDS)
def test_add_sub_neg_and_conversions_on_pocl_and_reference(name, vector, opencl_device):
    F = FIELDS[name]
    p, enc = F.p, F.encode
    pipe = elementwise(F, ops(F))
    sched = vector_schedule(pipe) if vector else vx.Schedule.default(pipe)
    kernel = vx.compile(pipe, schedule=sched, target="opencl", device=opencl_device)
    a, b = words(F, 1031, 3), words(F, 1031, 4)
    top = F.dtype.value_range()[1]
    b[5:9] = [top, top - 1, p, p + 1]          # not elements: to_field's integers only
    for n in (1, 7, 13, 1031):
        ref = pipe.reference(a=a[:n], b=b[:n])
        for got, r in zip(kernel(a=a[:n], b=b[:n]), ref):
            np.testing.assert_array_equal(got, r)
        for i in range(n):
            s, d, neg, t, f, c = (int(r[i]) for r in ref)
            x, raw = value(F, a[i]), int(b[i])
            assert (neg, t, f) == (enc(-x % p), enc(raw % p), x)
            if raw < p:                        # add, sub and mul take elements
                y = value(F, raw)
                assert (s, d, c) == (enc((x + y) % p), enc((x - y) % p), enc((x * y + 3 - x) % p))


def powers(F, exponents):
    n, x = vx.Dim("N"), vx.Var("x")
    a = vx.Input("a", F.dtype, (n,))
    outs = []
    for k, e in enumerate(exponents):
        f = vx.Func(f"pow{k}", shape=(n,))
        F.define_pow(f, (x,), a[x], e)
        outs.append(f)
    inv = vx.Func("inv", shape=(n,))
    F.define_inverse(inv, (x,), a[x])
    return vx.Pipeline(*outs, inv)


@pytest.mark.parametrize("name", FIELDS)
def test_pow_and_inverse_on_pocl_and_reference(name, opencl_device):
    F = FIELDS[name]
    p = F.p
    exponents = [0, 1, 2, 5, 2 ** 32 + 3, p - 1]
    pipe = powers(F, exponents)
    kernel = vx.compile(pipe, target="opencl", device=opencl_device)
    a = words(F, 61, 5)
    for n in (1, 7, 61):
        ref = pipe.reference(a=a[:n])
        for got, r in zip(kernel(a=a[:n]), ref):
            np.testing.assert_array_equal(got, r)
        for i in range(n):
            v = value(F, a[i])
            want = [F.encode(pow(v, e, p)) for e in exponents] + [F.encode(pow(v, p - 2, p))]
            assert [int(r[i]) for r in ref] == want
            if v:
                assert value(F, ref[-1][i]) * v % p == 1


@pytest.mark.parametrize("name", FIELDS)
def test_fields_compile_offline(name, offline):
    F = FIELDS[name]
    build = offline[1]
    kernel = build(elementwise(F, ops(F) | {"m": F.mul}))
    assert {"babybear": "__umulhi(", "goldilocks": "__umul64hi("}[name] in kernel.source
    build(powers(F, [5]))


# --- errors -----------------------------------------------------------------------------------
def test_field_errors():
    x = vx.Var("x")
    i32 = vx.Input("i", vx.int32, (4,))
    with pytest.raises(vx.TypeError, match=r"BabyBear.mul: operand i\[x\] has type int32; "
                                           r"BabyBear elements are uint32: use BabyBear.to_field"
                                           r"\(vx.cast\(vx.uint32, …\)\) for integer values"):
        BABYBEAR.mul(i32[x], 2)
    u32 = vx.Input("u", vx.uint32, (4,))
    with pytest.raises(vx.TypeError, match=r"Goldilocks.add: operand u\[x\] has type uint32; "
                                           r"Goldilocks elements are uint64"):
        GOLDILOCKS.add(u32[x], 1)
    with pytest.raises(vx.TypeError, match=r"BabyBear.root_of_unity\(3\): n must be a power of "
                                           r"two from 1 to 2\*\*27"):
        BABYBEAR.root_of_unity(3)
    with pytest.raises(vx.TypeError, match=r"Goldilocks.root_of_unity\(8589934592\): n must be "
                                           r"a power of two from 1 to 2\*\*32"):
        GOLDILOCKS.root_of_unity(2 ** 33)
    f = vx.Func("f", shape=(4,))
    for bad in (-1, 2 ** 64, 1.5):
        with pytest.raises(vx.TypeError, match=rf"BabyBear.define_pow\(f, …, {bad!r}\): the "
                                               r"exponent must be a Python int in \[0, 2\*\*64\); "
                                               r"use define_inverse for -1"):
            BABYBEAR.define_pow(f, (x,), u32[x], bad)
    with pytest.raises(vx.TypeError, match=r"MontgomeryField 'M': p = 4294967311 must be an odd "
                                           r"prime below 2\*\*31 \(R = 2\*\*32\)"):
        MontgomeryField("M", p=4294967311, generator=3, two_adicity=1)
    with pytest.raises(vx.TypeError, match=r"GoldilocksField 'G': p = 97; its reduction holds "
                                           r"only for p = 2\*\*64 - 2\*\*32 \+ 1"):
        GoldilocksField("G", p=97, generator=5, two_adicity=5)
    with pytest.raises(vx.TypeError, match=r"Python integer 4294967296 is out of range for "
                                           r"uint32"):
        BABYBEAR.to_field(2 ** 32)
