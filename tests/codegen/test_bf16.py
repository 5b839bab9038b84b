"""bfloat16 where the target has no bfloat16 type (OpenCL C; HIP under hiprtc 5.2): its bits in
memory, a float rounded after every operation (vortex/codegen/bf16.py), against the reference
(numpy with ml_dtypes.bfloat16), bit for bit, at awkward sizes — including rounding ties,
overflow to infinity, NaN and casts from float32, float64 and int32."""
import ml_dtypes
import numpy as np
import pytest

import compilers
import vortex as vx
from vortex.algorithm.dtypes import round_to_bfloat16

SIZES = (1, 7, 257, 1000)


def test_round_to_bfloat16_is_ml_dtypes_rounding():
    """The constant rounding (literals) against ml_dtypes' float32 → bfloat16 conversion: random
    floats, every tie pattern (low 16 bits 0x8000, odd and even kept bit), overflow, NaN."""
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2 ** 32, 20000, dtype=np.uint64).astype(np.uint32)
    bits[:1000] = (bits[:1000] & 0xFFFF0000) | 0x8000                    # exact ties
    values = np.concatenate([bits.view(np.float32),
                             np.array([3.4e38, -3.4e38, np.inf, -0.0, 1e-40], np.float32)])
    ours = np.array([round_to_bfloat16(float(v)) for v in values], np.float32)
    with np.errstate(invalid="ignore"):   # NaN payloads
        theirs = values.astype(ml_dtypes.bfloat16).astype(np.float32)
    nan = np.isnan(theirs)
    assert np.array_equal(np.isnan(ours), nan)
    assert np.array_equal(ours[~nan].view(np.uint32), theirs[~nan].view(np.uint32))


def elementwise():
    """Every kind of bfloat16 expression: loads, a Param, arithmetic (rounded), exp, min/max,
    select, negation, casts to bfloat16 from float32, float64 and int32, and back."""
    N, = vx.dims("N")
    i, = vx.vars("i")
    a, b = vx.Input("a", vx.bfloat16, (N,)), vx.Input("b", vx.bfloat16, (N,))
    x, n = vx.Input("x", vx.float32, (N,)), vx.Input("n", vx.int32, (N,))
    s = vx.Param("s", vx.bfloat16)
    f = vx.Func("f", shape=(N,))
    f[i] = (a[i] * b[i] + s) - vx.exp(a[i] / 3.0) + \
        vx.max(a[i], -b[i]) * vx.cast(vx.bfloat16, n[i])
    g = vx.Func("g", shape=(N,))
    wide = vx.cast(vx.float64, x[i]) * 1.0000001
    g[i] = vx.select(a[i] > b[i], vx.cast(vx.bfloat16, x[i]), vx.cast(vx.bfloat16, wide))
    h = vx.Func("h", shape=(N,))
    h[i] = vx.cast(vx.float32, f[i]) * 0.5 + vx.cast(vx.float32, g[i])
    return vx.Pipeline(f, g, h)


def operands(n: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(n).astype(ml_dtypes.bfloat16)
    b = (rng.standard_normal(n) * 4).astype(ml_dtypes.bfloat16)
    x = rng.standard_normal(n).astype(np.float32)
    x.view(np.uint32)[::3] = (x.view(np.uint32)[::3] & 0xFFFF0000) | 0x8000   # ties
    a[::11] = np.float32(3.0e38)               # products and sums overflow to inf
    b[::13] = np.float32(np.nan)
    return {"a": a, "b": b, "x": x, "n": rng.integers(-5, 6, n).astype(np.int32), "s": 0.3}


def same(out, ref) -> bool:
    """Bit-equal as bfloat16 (or float32), any NaN equal to any NaN."""
    o, r = np.asarray(out, np.float32), np.asarray(ref, np.float32)
    nan = np.isnan(r)
    return np.array_equal(np.isnan(o), nan) and np.array_equal(o[~nan].view(np.uint32),
                                                             r[~nan].view(np.uint32))


def vectorized(pipe):
    s = vx.Schedule(pipe)
    for name in ("f", "g", "h"):
        s[name].split("i", "io", "ii", 64).split("ii", "iv", "il", 8) \
            .gpu_blocks("io").gpu_threads("iv").vectorize("il")
    return s


@pytest.mark.parametrize("schedule", [vx.Schedule.default, vectorized], ids=["default", "vector"])
def test_pocl_equals_the_reference_bit_for_bit(opencl_device, schedule):
    pipe = elementwise()
    kernel = vx.compile(pipe, schedule=schedule(pipe), target="opencl", device=opencl_device)
    assert "__global ushort" in kernel.source and "vx_round_bf16" in kernel.source
    for n in SIZES:
        args = operands(n, seed=n)
        outs, refs = kernel(**args), pipe.reference(**args)
        assert [o.dtype for o in outs] == [np.dtype(ml_dtypes.bfloat16)] * 2 + [np.float32]
        for name, o, r in zip("fgh", outs, refs):
            assert same(o, r), (name, n)
        assert np.isinf(np.asarray(outs[0], np.float32)).any() or n < 11   # overflow reached


def test_every_operation_rounds_once():
    """A product is rounded before the sum: (a·b)_bf16 + c differs from the unrounded float
    a·b + c where a·b has more than 8 significant bits."""
    pipe = elementwise()
    src = vx.source(pipe, schedule=vx.Schedule.default(pipe), target="opencl")
    assert "vx_round_bf16((vx_round_bf16((vx_bf16_value(a[i]) * vx_bf16_value(b[i]))) + " \
           "vx_bf16_value(s)))" in src
    assert "vx_bf16_bits(" in src and "const ushort s" in src


@pytest.mark.parametrize("schedule", [vx.Schedule.default, vectorized], ids=["default", "vector"])
def test_hip_compiles_bfloat16_for_gfx90a(schedule):
    """HIP bfloat16 is its bits too (hiprtc 5.2 cannot compile hip_bfloat16.h)."""
    compilers.need_hiprtc()
    pipe = elementwise()
    kernel = vx.compile(pipe, schedule=schedule(pipe), target="hip", arch="gfx90a")
    assert "const unsigned short* __restrict__ a" in kernel.source
    assert all(r["scratch_bytes"] == 0 for r in kernel.resources.values())
