"""vx.lerp, vx.mux, vx.absd, vx.saturating_cast and vx.fast_exp/fast_log on the targets: the
numbers of PoCL against pipe.reference at sizes 1, 7, 13 and 1031, with the default schedule and
a float4-vectorized one, and the same pipelines compiled by NVRTC (sm_90) and hiprtc (gfx90a)
without a GPU.

Integer results are bit-identical, and so is the float lerp ``a * (1 - w) + b * w``: no target
contracts ``x * y + z`` into an fma unless fast math is asked for (docs/semantics.md). The fast
approximations are only close (their accuracy is the target's)."""
import numpy as np
import pytest

import vortex as vx

from .conftest import vector_schedule


def rng(n):
    return np.random.default_rng(n)


def lerp_u8():
    """8-bit image blend with an 8-bit alpha (Halide's integer lerp)."""
    n, x = vx.Dim("N"), vx.Var("x")
    a, b, w = (vx.Input(k, vx.uint8, (n,)) for k in "abw")
    f = vx.Func("f", shape=(n,))
    f[x] = vx.lerp(a[x], b[x], w[x])
    return vx.Pipeline(f), lambda k: {c: rng(k).integers(0, 256, k, dtype=np.uint8) + i
                                      for i, c in enumerate("abw")}


def lerp_int():
    """Signed 16- and 32-bit lerps (uint64 products) with float and uint16 weights."""
    n, x = vx.Dim("N"), vx.Var("x")
    a, b = vx.Input("a", vx.int32, (n,)), vx.Input("b", vx.int16, (n,))
    w = vx.Input("w", vx.float32, (n,))
    f = vx.Func("f", shape=(n,))
    f[x] = vx.lerp(a[x], -a[x] // 3, w[x]) + vx.cast(vx.int32, vx.lerp(
        b[x], vx.int16(-32768), vx.saturating_cast(vx.uint16, w[x] * 65535)))

    def inputs(k):
        r = rng(k)
        return {"a": r.integers(-2 ** 31, 2 ** 31, k).astype(np.int32),
                "b": r.integers(-2 ** 15, 2 ** 15, k).astype(np.int16),
                "w": r.uniform(-0.2, 1.2, k).astype(np.float32)}
    return vx.Pipeline(f), inputs


def lerp_float():
    n, x = vx.Dim("N"), vx.Var("x")
    a, w = vx.Input("a", vx.float32, (n,)), vx.Input("w", vx.uint8, (n,))
    f = vx.Func("f", shape=(n,))
    f[x] = vx.lerp(a[x], a[x] * 2 + 1, w[x])
    return vx.Pipeline(f), lambda k: {"a": rng(k).standard_normal(k).astype(np.float32),
                                      "w": rng(k + 1).integers(0, 256, k, dtype=np.uint8)}


def mux_absd():
    """A channel picked by mux (index out of range too) plus absd of int8 pixels (uint8)."""
    n, x = vx.Dim("N"), vx.Var("x")
    a, b = vx.Input("a", vx.int8, (n,)), vx.Input("b", vx.int8, (n,))
    f = vx.Func("f", shape=(n,))
    f[x] = vx.mux(x % 5 - 1, [vx.absd(a[x], b[x]), vx.cast(vx.uint8, 7), vx.absd(b[x], 100)])
    return vx.Pipeline(f), lambda k: {c: rng(k + i).integers(-128, 128, k).astype(np.int8)
                                      for i, c in enumerate("ab")}


def saturate():
    """float → uint8 / int32 with NaN and ±inf, int32 → int8 and float16 (all exact)."""
    n, x = vx.Dim("N"), vx.Var("x")
    a, i = vx.Input("a", vx.float32, (n,)), vx.Input("i", vx.int32, (n,))
    f = vx.Func("f", shape=(n,))
    f[x] = (vx.cast(vx.float64, vx.saturating_cast(vx.uint8, a[x]))
            + vx.cast(vx.float64, vx.saturating_cast(vx.int32, a[x] * 1e6))
            + vx.cast(vx.float64, vx.saturating_cast(vx.int8, i[x]))
            + vx.cast(vx.float64, vx.saturating_cast(vx.float32, vx.cast(vx.float64, a[x]) * 1e36)))

    def inputs(k):
        r = rng(k)
        a = (r.standard_normal(k) * 300).astype(np.float32)
        a[: min(k, 4)] = [np.nan, np.inf, -np.inf, 3e9][: min(k, 4)]
        return {"a": a, "i": r.integers(-1000, 1000, k).astype(np.int32)}
    return vx.Pipeline(f), inputs


CASES = {"lerp_u8": lerp_u8, "lerp_int": lerp_int, "lerp_float": lerp_float,
         "mux_absd": mux_absd, "saturate": saturate}


@pytest.mark.parametrize("vector", [False, True], ids=["default", "float4"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_pocl_matches_the_reference(name, vector, run_pocl):
    """Bit-identical (run_pocl's default check), the float lerp too."""
    pipe, inputs = CASES[name]()
    run_pocl(pipe, inputs, vector_schedule(pipe, "f", "x") if vector else None)


def fast_math():
    n, x = vx.Dim("N"), vx.Var("x")
    a = vx.Input("a", vx.float32, (n,))
    e, g = vx.Func("e", shape=(n,)), vx.Func("g", shape=(n,))
    e[x] = vx.fast_exp(a[x])
    g[x] = vx.fast_log(vx.abs(a[x]) + 0.5)
    return vx.Pipeline(e, g), lambda k: {"a": rng(k).uniform(-10, 10, k).astype(np.float32)}


@pytest.mark.parametrize("vector", [False, True], ids=["default", "float4"])
def test_fast_exp_and_log_on_pocl_are_close_to_the_exact_functions(vector, opencl_device):
    pipe, inputs = fast_math()
    s = vx.Schedule(pipe) if vector else vx.Schedule.default(pipe)
    if vector:
        xo, xi = vx.vars("xo xi")
        for f in ("e", "g"):
            s[f].split("x", xo, xi, 64).vectorize(xi, 4).gpu_blocks(xo).gpu_threads(xi)
    kernel = vx.compile(pipe, schedule=s, target="opencl", device=opencl_device)
    assert "native_exp(" in kernel.source and "native_log(" in kernel.source
    for k in (1, 7, 13, 1031):
        args = inputs(k)
        for got, ref in zip(kernel(**args), pipe.reference(**args)):
            # native_* accuracy is the implementation's: a few ulp on PoCL
            np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(CASES))
def test_compiles_offline(name, offline):
    target, build = offline
    pipe, _ = CASES[name]()
    assert build(pipe).binary   # NVRTC/hiprtc produced a code object
    assert build(pipe, vector_schedule(pipe, "f", "x")).binary   # NVRTC/hiprtc produced a code object


def test_fast_math_compiles_to_the_target_intrinsics(offline):
    target, build = offline
    kernel = build(fast_math()[0])
    assert "__expf(" in kernel.source and "__logf(" in kernel.source, kernel.source
