"""Float semantics (docs/semantics.md, issue 10 acceptance 7): by default every target computes
``a * b + c`` as two rounded operations, as ``pipe.reference`` does, so float results of
``+ - * /`` chains are bit-identical to it; ``vx.compile(..., fast_math=True)`` is the opt-in to
contraction (and the rest of the compiler's fast math).

How each target is held to it: OpenCL by ``#pragma OPENCL FP_CONTRACT OFF`` in the source,
unless ``-cl-fast-relaxed-math`` defines ``__FAST_RELAXED_MATH__``; NVRTC by ``--fmad=false``
(PTX ``mul.rn``/``add.rn``, which ptxas never fuses), fast math ``--use_fast_math``; hiprtc by
``-ffp-contract=off``, fast math ``-ffast-math``. The PoCL tests fail under contraction: with
``fast_math=True`` the same kernels differ from the reference (shown below).
"""
import shutil
import subprocess

import numpy as np
import pytest

import vortex as vx

SIZES = (1, 7, 13, 1031, 1 << 16)


def fma_exposing():
    """``a * b - c`` with ``c`` the rounded product: exactly 0 unless the product is fused (then
    the rounding error of a * b); and a longer chain of every operation."""
    n, x = vx.Dim("N"), vx.Var("x")
    a, b, c, d = (vx.Input(name, vx.float32, (n,)) for name in "abcd")
    f, g = vx.Func("f", shape=(n,)), vx.Func("g", shape=(n,))
    f[x] = a[x] * b[x] - c[x]
    g[x] = (a[x] * b[x] + c[x] * d[x]) / (d[x] + 1) - a[x] * c[x] + b[x] * 3.1
    return vx.Pipeline(f, g)


def product_minus():
    """Only ``a * b - c`` (a division is itself made of fmas on AMD GPUs)."""
    n, x = vx.Dim("N"), vx.Var("x")
    a, b, c = (vx.Input(name, vx.float32, (n,)) for name in "abc")
    f = vx.Func("f", shape=(n,))
    f[x] = a[x] * b[x] - c[x]
    return vx.Pipeline(f)


def inputs(n):
    r = np.random.default_rng(n)
    a, b, d = (r.standard_normal(n).astype(np.float32) for _ in range(3))
    return {"a": a, "b": b, "c": (a * b).astype(np.float32), "d": d}


def vector_schedule(pipe):
    s = vx.Schedule(pipe)
    for f in ("f", "g"):
        s[f].split("x", "xo", "xi", 64).vectorize("xi", 4).gpu_blocks("xo").gpu_threads("xi")
    return s


def schedules(pipe):
    return {"default": vx.Schedule.default(pipe), "float4": vector_schedule(pipe)}


@pytest.mark.parametrize("kind", ["default", "float4"])
def test_pocl_results_equal_the_reference_bit_for_bit(kind, opencl_device):
    pipe = fma_exposing()
    kernel = vx.compile(pipe, schedule=schedules(pipe)[kind], target="opencl",
                        device=opencl_device)
    for n in SIZES:
        args = inputs(n)
        for got, ref in zip(kernel(**args), pipe.reference(**args)):
            np.testing.assert_array_equal(got, ref)
    assert "#pragma OPENCL FP_CONTRACT OFF" in kernel.source


@pytest.mark.parametrize("kind", ["default", "float4"])
def test_pocl_fast_math_contracts(kind, opencl_device):
    """The opt-in: the same source built with -cl-fast-relaxed-math fuses a * b - c, so the
    bit-for-bit test above is one that fails under contraction."""
    pipe = fma_exposing()
    kernel = vx.compile(pipe, schedule=schedules(pipe)[kind], target="opencl",
                        device=opencl_device, fast_math=True)
    args = inputs(1 << 16)
    got, ref = kernel(**args)[0], pipe.reference(**args)[0]
    assert np.count_nonzero(got != ref) > (1 << 16) // 2
    np.testing.assert_allclose(got, ref, atol=1e-6)   # by the product's rounding error only


def f32_ops(ptx: str) -> set:
    return {ln.split()[0] for ln in ptx.splitlines() if ln.split() and ".f32" in ln.split()[0]}


def test_cuda_ptx_rounds_every_operation_unless_fast_math():
    pytest.importorskip("cuda.bindings", reason='NVRTC needs pip install "vortex[cuda]"')
    pipe = product_minus()
    ops = {fast: f32_ops(vx.compile(pipe, schedule=vx.Schedule.default(pipe), target="cuda",
                                    arch="sm_90", fast_math=fast)._exe.ptx)
           for fast in (False, True)}
    assert {"mul.rn.f32", "sub.rn.f32"} <= ops[False]
    assert not [op for op in ops[False] if op.startswith("fma")]
    assert "mul.rn.f32" not in ops[True]    # fused, or left to ptxas to fuse (no .rn)


def test_cuda_fast_math_is_not_combined_with_fmad_false():
    from vortex.runtime import nvrtc
    assert nvrtc.MATH_OPTIONS == {False: ("--fmad=false",), True: ("--use_fast_math",)}
    assert not set(nvrtc.MATH_OPTIONS[False]) & set(nvrtc.BASE_OPTIONS)


def test_hip_code_object_has_no_fma_unless_fast_math(tmp_path):
    from vortex.runtime import rocm
    if rocm.library() is None:
        pytest.skip("libamdhip64 (ROCm) not found: apt-get install libamdhip64-dev "
                    "libhiprtc-builtins5 rocm-device-libs libamd-comgr-dev")
    objdump = shutil.which("llvm-objdump-15") or shutil.which("llvm-objdump")
    if objdump is None:
        pytest.skip("llvm-objdump is not installed (apt-get install llvm-15)")
    pipe = product_minus()
    ops = {}
    for fast in (False, True):
        kernel = vx.compile(pipe, schedule=vx.Schedule.default(pipe), target="hip",
                            arch="gfx90a", fast_math=fast)
        path = tmp_path / f"fast{fast}.co"
        path.write_bytes(kernel.binary)
        r = subprocess.run([objdump, "-d", "--mcpu=gfx90a", str(path)], capture_output=True,
                           text=True, check=True)
        ops[fast] = {w for ln in r.stdout.splitlines() for w in ln.split() if w.startswith("v_")}
    assert "v_mul_f32_e32" in ops[False] or "v_mul_f32_e64" in ops[False]
    assert not {op for op in ops[False] if op.startswith(("v_fma_f32", "v_fmac_f32", "v_mad"))}
    assert {op for op in ops[True] if op.startswith(("v_fma_f32", "v_fmac_f32"))}


def sum_rows():
    n, w = vx.dims("N W")
    y = vx.Var("y")
    a = vx.Input("a", vx.float32, (n, w))
    r = vx.RDom(w, name="r")
    s = vx.Func("s", shape=(n,))
    s[y] = vx.sum(a[y, r])
    p = vx.Func("p", shape=(n,))
    p[y] = vx.product(a[y, r])
    return vx.Pipeline(s, p)


def test_float_sums_and_products_run_in_rdom_order(opencl_device):
    """The reference reduces floats one value at a time in the RDom's order, as every kernel's
    loop does: numpy's pairwise np.sum overflowed differently (fuzz case 20261201:2026: +inf in
    the reference, NaN on PoCL), and rounds differently on long sums."""
    pipe = sum_rows()
    rng = np.random.default_rng(11)
    a = (rng.choice([-1, 1], (37, 61)) * rng.uniform(1e37, 3e38, (37, 61))).astype(np.float32)
    a[::5, 17] = np.inf
    b = rng.uniform(0.5, 1.5, (37, 61)).astype(np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        for x in (a, b):
            want_s = np.array([_in_order(np.add, row) for row in x], dtype=np.float32)
            want_p = np.array([_in_order(np.multiply, row) for row in x], dtype=np.float32)
            ref_s, ref_p = pipe.reference(a=x)
            np.testing.assert_array_equal(ref_s, want_s)
            np.testing.assert_array_equal(ref_p, want_p)
            got_s, got_p = vx.compile(pipe, target="opencl", device=opencl_device)(a=x)
            np.testing.assert_array_equal(got_s, ref_s)
            np.testing.assert_array_equal(got_p, ref_p)


def _in_order(op, row):
    acc = row[0]
    for v in row[1:]:
        acc = op(acc, v, dtype=np.float32)
    return acc
