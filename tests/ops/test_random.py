"""vx.random_uint / vx.random_float: MurmurHash3_x86_32 of the coordinates, identical bits in
the reference, on PoCL and in the CUDA/HIP sources.

The oracle is an independent byte-wise MurmurHash3_x86_32 written here from the SMHasher
reference (``murmur3`` below), itself checked against the published test vectors."""
import struct

import numpy as np
import pytest

import vortex as vx

M32 = 0xFFFFFFFF


def murmur3(data: bytes, seed: int) -> int:
    """MurmurHash3_x86_32 (SMHasher ``MurmurHash3.cpp``) on whole 4-byte blocks, in Python ints."""
    def rotl(v, r):
        return ((v << r) | (v >> (32 - r))) & M32
    h = seed
    for (k,) in struct.iter_unpack("<I", data):
        k = rotl(k * 0xCC9E2D51 & M32, 15) * 0x1B873593 & M32
        h = (rotl(h ^ k, 13) * 5 + 0xE6546B64) & M32
    h ^= len(data)
    h = (h ^ (h >> 16)) * 0x85EBCA6B & M32
    h = (h ^ (h >> 13)) * 0xC2B2AE35 & M32
    return h ^ (h >> 16)


# Published MurmurHash3_x86_32 vectors for 4-byte keys (key as a little-endian uint32).
VECTORS = [(0x00000000, 0, 0x2362F9DE), (0xFFFFFFFF, 0, 0x76293B50),
           (0x87654321, 0, 0xF55B516B), (0x87654321, 0x5082EDEE, 0x2362F9DE)]


def test_the_oracle_gives_the_published_vectors():
    for word, seed, expect in VECTORS:
        assert murmur3(struct.pack("<I", word), seed) == expect


def one_word(seed):
    n, x = vx.Dim("N"), vx.Var("x")
    c = vx.Input("c", vx.uint32, (n,))
    f = vx.Func("f", shape=(n,))
    f[x] = vx.random_uint(c[x], seed=seed)
    return vx.Pipeline(f)


def test_random_uint_is_murmur3_of_the_coordinate():
    for seed in {s for _, s, _ in VECTORS}:
        got = one_word(seed).reference(c=np.array([w for w, s, _ in VECTORS if s == seed],
                                                  np.uint32))
        assert got.tolist() == [e for _, s, e in VECTORS if s == seed]


def noise(seed=None):
    """u[y, x] = random_uint(y, x - 5, seed) and r[y, x] = random_float(x, y, 3 * y, seed): two
    outputs, negative coordinates included; ``seed=None`` makes it a uint32 Param."""
    h, w = vx.dims("H W")
    y, x = vx.vars("y x")
    s = vx.Param("seed", vx.uint32) if seed is None else seed
    u, r = vx.Func("u", shape=(h, w)), vx.Func("r", shape=(h, w))
    u[y, x] = vx.random_uint(y, x - 5, seed=s)
    r[y, x] = vx.random_float(x, y, 3 * y, seed=s)
    return vx.Pipeline(u, r)


def oracle(h, w, seed):
    def words(*cs):
        return struct.pack(f"<{len(cs)}I", *(c & M32 for c in cs))
    u = [[murmur3(words(y, x - 5), seed) for x in range(w)] for y in range(h)]
    r = [[murmur3(words(x, y, 3 * y), seed) >> 8 for x in range(w)] for y in range(h)]
    return np.array(u, np.uint32), np.array(r, np.float32) / np.float32(2 ** 24)


@pytest.mark.parametrize("seed", [0, 7, M32])
def test_reference_matches_the_oracle_and_floats_are_exact_in_0_1(seed):
    u, r = noise(seed).reference(H=9, W=11)
    eu, er = oracle(9, 11, seed)
    assert u.dtype == np.uint32 and r.dtype == np.float32
    np.testing.assert_array_equal(u, eu)
    np.testing.assert_array_equal(r, er)          # top 24 bits * 2**-24: exact in float32
    assert r.min() >= 0 and r.max() < 1


def test_random_float_is_uniform_and_seeds_give_independent_streams():
    p = noise()
    _, a = p.reference(H=256, W=256, seed=1)
    _, b = p.reference(H=256, W=256, seed=2)
    counts = np.histogram(a, bins=16, range=(0, 1))[0] / a.size
    assert abs(a.mean() - 0.5) < 0.005 and counts.min() > 0.058 and counts.max() < 0.067
    assert abs(np.corrcoef(a.ravel(), b.ravel())[0, 1]) < 0.01


def vector_noise_schedule(pipe):
    """float4-vectorized rows: the hash helpers are scalar, so OpenCL keeps the lane loop."""
    xo, xi = vx.vars("xo xi")
    s = vx.Schedule(pipe)
    for f in ("u", "r"):
        s[f].split("x", xo, xi, 16).vectorize(xi, 4).gpu_blocks("y", xo).gpu_threads(xi)
    return s


@pytest.mark.parametrize("vector", [False, True], ids=["default", "float4"])
def test_pocl_is_bit_identical_to_the_reference(vector, opencl_device):
    pipe = noise()
    sched = vector_noise_schedule(pipe) if vector else vx.Schedule.default(pipe)
    kernel = vx.compile(pipe, schedule=sched, target="opencl", device=opencl_device)
    assert "vx_murmur3_mix(" in kernel.source
    for (h, w), seed in [((1, 1), 0), ((7, 13), 5), ((13, 7), M32), ((37, 61), 123456789)]:
        for got, ref in zip(kernel(H=h, W=w, seed=seed), pipe.reference(H=h, W=w, seed=seed)):
            np.testing.assert_array_equal(got, ref)


def test_the_hash_helpers_compile_offline(offline):
    kernel = offline[1](noise())
    assert "vx_murmur3_fmix(" in kernel.source and "0xcc9e2d51u" in kernel.source


def test_random_errors():
    x = vx.Var("x")
    with pytest.raises(vx.TypeError, match=r"need the coordinates to hash, e.g. "
                                           r"vx.random_float\(y, x, seed=1\)"):
        vx.random_float(seed=3)
    with pytest.raises(vx.TypeError, match=r"vx.random_\* coordinate vx.cast\(vx.float32, x\) "
                                           r"has type float32; coordinates and seeds are integers"):
        vx.random_uint(vx.cast(vx.float32, x))
    for bad in (-1, 2 ** 32):
        with pytest.raises(vx.TypeError, match=rf"vx.random_\* seed {bad} is out of range: a "
                                               rf"seed is a uint32, 0 <= seed < 2\*\*32"):
            vx.random_uint(x, seed=bad)
    with pytest.raises(vx.TypeError, match=r"seed gain has type float32"):
        vx.random_float(x, seed=vx.Param("gain", vx.float32))
