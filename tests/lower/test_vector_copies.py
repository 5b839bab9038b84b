"""16-byte staged copies (issue 11 item 1): a copy into a shared tile moves 16 bytes when the
lowering proves both ends aligned (vortex/lower/vector_copy.py), else one element; the XOR
swizzle permutes 16-byte chunks. Results are checked against ``pipe.reference`` on PoCL at
awkward sizes (edge vectors wholly outside a source whose row is a multiple of 4 are zero-filled,
ones partly outside take the per-lane fallback; a stride that is not a multiple of 4 keeps
element copies; tests/lower/test_aligned_edge_copies.py: sizes known at run time), and the machine code of a small fixed staged kernel
compiled offline for sm_90 and sm_80 holds only 16-byte ``cp.async`` (``LDGSTS.E.128``)."""
import compilers
import numpy as np
import pipelines
import pytest

import vortex as vx
from vortex.isa.model import OpClass
from vortex.lower.driver import lower
from vortex.lower.ir import AsyncCopy, If
from vortex.lower.ir_text import expr_text
from vortex.lower.walk import stmts


def matmul(M=None, N=None, K=None, specialize=False, stages=2):
    """C = A @ B (float32): a 16×16 tile per block, one output per thread, k split by 8; A
    (16×8) and B (8×16) staged in shared memory at ``ko``, XOR-swizzled, ``stages``-deep
    pipeline. Sizes left None are Dims."""
    pipe, C = pipelines.matmul_sized(M, N, K)
    s = vx.Schedule(pipe)
    s[C].tile("i", "j", "io", "jo", "ii", "ji", 16, 16).gpu_blocks("io", "jo")
    s[C].gpu_threads("ii", "ji").split("k", "ko", "ki", 8).reorder("ii", "ji", "ko", "ki")
    s[C].unroll("ki")
    for src in "AB":
        s[C].stage(src, at="ko", memory="shared", swizzle="xor")
    s[C].pipeline("ko", stages=stages)
    if specialize:
        s[C].specialize(vx.divisible("M", 16)).specialize(vx.divisible("N", 16))
        s[C].specialize(vx.divisible("K", 8))
    return pipe, s


def window(n_taps=5, tile=12):
    """f[x] = Σ_{r < n_taps} a[x + r], a of N + n_taps - 1 floats; a staged per block of
    ``tile`` outputs (a tile of ``tile + n_taps - 1`` floats at origin ``tile · xo``)."""
    N = vx.Dim("N")
    a = vx.Input("a", vx.float32, (N + n_taps - 1,))
    x = vx.Var("x")
    r = vx.RDom(n_taps, name="r")
    f = vx.Func("f", shape=(N,))
    f[x] = vx.sum(a[x + r])
    pipe = vx.Pipeline(f, name="window")
    s = vx.Schedule(pipe)
    s[f].gpu_tile("x", "xo", "xi", tile).stage("a", at="xo", memory="shared")
    return pipe, s


def lanes(pipe, s) -> dict:
    """{staged source: sorted lane counts of its copies} over the lowered kernels."""
    out = {}
    for k in lower(pipe, s).kernels:
        for c in stmts(k.body):
            if isinstance(c, AsyncCopy):
                out.setdefault(c.src, set()).add(c.lanes)
    return {k: sorted(v) for k, v in out.items()}


def check(pipe, s, device, **inputs):
    kernel = vx.compile(pipe, schedule=s, target="opencl", device=device)
    np.testing.assert_array_equal(kernel(**inputs), pipe.reference(**inputs))
    return kernel


def rand(rng, *shape):
    return rng.random(shape, np.float32)


# --- the proof ---------------------------------------------------------------------------------
def test_constant_strides_that_are_multiples_of_4_give_16_byte_copies():
    assert lanes(*matmul(64, 64, 64)) == {"A": [4], "B": [4]}


def test_a_stride_not_a_multiple_of_4_keeps_element_copies():
    # B's rows are 130 floats apart: no vector of B starts 16-byte aligned in every row
    assert lanes(*matmul(33, 130, 20)) == {"A": [4], "B": [1]}   # A: edge vectors zero-filled
    # N = 128: B's 16-byte chunks are each wholly inside or outside, zero-filled outside
    assert lanes(*matmul(33, 128, 7)) == {"A": [1], "B": [4]}


def test_symbolic_strides_are_tested_at_run_time():
    """K and N unknown: 16-byte copies under ``K % 4 == 0 && N % 4 == 0``, element copies
    otherwise (test_aligned_edge_copies.py); under specialize(divisible) likewise in the
    general version."""
    assert lanes(*matmul()) == {"A": [1, 4], "B": [1, 4]}
    assert lanes(*matmul(specialize=True)) == {"A": [1, 4], "B": [1, 4]}


def test_divisible_version_has_no_edge_fallback():
    """In the specialized version every vector is proven inside: no lane loop, no condition."""
    pipe, s = matmul(specialize=True)
    k = lower(pipe, s).kernels[0]
    (top,) = [x for x in stmts(k.body) if isinstance(x, If) and "% 16" in expr_text(x.cond)]
    vec = [c for c in stmts(top.then) if isinstance(c, AsyncCopy)]
    assert vec and all(c.cond is None and c.lanes == 4 for c in vec)
    ir = vx.source(pipe, s, target="cuda", arch="sm_90")
    assert ir.count("], 16);") == len(vec)     # __pipeline_memcpy_async(&.., &.., 16);


def test_window_tile_with_extent_not_a_multiple_of_4_is_not_vectorized():
    assert lanes(*window(5, 12)) == {"a": [1, 4]}       # 16 floats per tile at 12 · xo
    assert lanes(*window(5, 14)) == {"a": [1]}          # 18 floats
    assert lanes(*window(5, 10)) == {"a": [1]}          # 14 floats at 10 · xo: not aligned


# --- exact results on PoCL ---------------------------------------------------------------------
@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (7, 33, 20), (33, 130, 20), (33, 128, 7),
                                   (130, 7, 33), (16, 16, 8), (40, 36, 44)])
def test_constant_size_matmul_matches_reference(opencl_device, m, n, k):
    rng = np.random.default_rng(m * 1000 + n * 10 + k)
    check(*matmul(m, n, k), opencl_device, A=rand(rng, m, k), B=rand(rng, k, n))


@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (7, 33, 20), (33, 130, 7), (32, 48, 64),
                                   (16, 16, 8), (48, 32, 24)])
@pytest.mark.parametrize("stages", [1, 3])
def test_specialized_matmul_matches_reference(opencl_device, m, n, k, stages):
    """Divisible sizes run the 16-byte version, the others the element one."""
    rng = np.random.default_rng(m + n + k)
    check(*matmul(specialize=True, stages=stages), opencl_device, A=rand(rng, m, k),
          B=rand(rng, k, n))


@pytest.mark.parametrize("n", [1, 7, 12, 33, 130])
def test_window_matches_reference(opencl_device, n):
    """The last tile's vectors lie partly outside ``a``: the per-lane fallback reads 0 there."""
    rng = np.random.default_rng(n)
    pipe, s = window(5, 12)
    check(pipe, s, opencl_device, a=rand(rng, n + 4), N=n)


def copy2d(dtype, h, w):
    """f = a (h×w of ``dtype``), a staged per 4×32 tile, XOR-swizzled."""
    a = vx.Input("a", dtype, (h, w))
    y, x = vx.vars("y x")
    f = vx.Func("f", shape=(h, w))
    f[y, x] = a[y, x]
    pipe = vx.Pipeline(f, name="cp")
    s = vx.Schedule(pipe)
    s[f].tile("y", "x", "yo", "xo", "yi", "xi", 4, 32).gpu_blocks("yo", "xo")
    s[f].gpu_threads("yi", "xi").stage("a", at="xo", memory="shared", swizzle="xor")
    return pipe, s


@pytest.mark.parametrize("dtype", [vx.int8, vx.uint8, vx.int16, vx.float64, vx.bool_])
@pytest.mark.parametrize("w", [64, 67])
def test_other_element_sizes_copy_16_bytes(opencl_device, dtype, w):
    """16 // itemsize lanes (2 … 16) where the row stride allows, exact either way."""
    pipe, s = copy2d(dtype, 9, w)
    v = 16 // dtype.itemsize
    assert lanes(pipe, s) == {"a": [v] if w % v == 0 else [1]}   # edge chunks zero-filled
    a = np.random.default_rng(w).random((9, w)) * 100
    check(pipe, s, opencl_device, a=(a > 50) if dtype is vx.bool_ else a.astype(dtype.np))


def test_opencl_prints_vload_and_aligned_local_array():
    src = vx.source(*matmul(64, 64, 64), target="opencl")
    assert "vstore4(vload4(0, &A[" in src
    assert "__local float A_sh[256] __attribute__((aligned(16)));" in src


# --- CUDA and HIP ------------------------------------------------------------------------------
def test_cuda_below_sm80_and_hip_copy_as_uint4():
    for target, arch in (("cuda", "sm_75"), ("hip", "gfx90a")):
        src = vx.source(*matmul(64, 64, 64), target=target, arch=arch)
        assert "*(uint4*)(&A_sh[" in src and "(*(const uint4*)(&A[" in src
        assert "__pipeline_memcpy_async" not in src
        assert "__shared__ float A_sh[256] __attribute__((aligned(16)));" in src


def test_vector_copies_compile_offline(offline):
    target, build = offline
    pipe, s = matmul(64, 64, 64)
    kernel = build(pipe, s)
    assert ("__pipeline_memcpy_async(" if target == "cuda" else "uint4") in kernel.source


@pytest.mark.parametrize("arch", ["sm_90", "sm_80"])
def test_sass_has_only_16_byte_async_copies(arch):
    compilers.need_isa("cuda")
    pipe, s = matmul(64, 64, 64)
    kernel = vx.compile(pipe, schedule=s, target="cuda", arch=arch, fast_math=True)
    mix = kernel.analysis().isa.kernel("C_kernel").mix
    copies = mix.widths(OpClass.ASYNC_COPY)
    assert list(copies) == [16] and copies[16] > 0                 # LDGSTS.E.128 only
    assert mix.count(OpClass.LOCAL_LOAD, OpClass.LOCAL_STORE) == 0


def test_sm75_vector_copies_compile():
    compilers.need_isa("cuda")
    pipe, s = matmul(64, 64, 64)
    kernel = vx.compile(pipe, schedule=s, target="cuda", arch="sm_75")
    mix = kernel.analysis().isa.kernel("C_kernel").mix
    assert mix.count(OpClass.ASYNC_COPY) == 0
    assert 16 in mix.widths(OpClass.GLOBAL_LOAD)                  # LDG.E.128


# --- the swizzle -------------------------------------------------------------------------------
def test_swizzle_permutes_16_byte_chunks_and_reads_stay_conflict_free():
    """The compute loop's reads of the swizzled tiles are conflict-free (kernel.analysis())."""
    pipe, s = matmul(64, 64, 64)
    src = vx.source(pipe, s, target="cuda", arch="sm_90")
    # A: 2 chunks of 16 bytes a row, 4 rows per 128-byte bank line: chunk ^ ((r % 8) / 4);
    # B: 4 chunks a row, 2 rows per line: chunk ^ ((r % 8) / 2)
    assert "& 7) >> (2 & 31)) * 4)" in src and "& 7) >> (1 & 31)) * 4)" in src
    kernel = vx.compile(pipe, schedule=s, target="cuda", arch="sm_90") \
        if _has_nvrtc() else None
    if kernel is None:
        pytest.skip("NVRTC missing")
    reads = [a for r in kernel.analysis() for a in r.accesses
             if a.memory == "shared" and a.kind == "read"]
    assert reads and all(a.ways == 1 for a in reads)


def _has_nvrtc() -> bool:
    try:
        from vortex.runtime import nvrtc
        nvrtc.version()
        return True
    except Exception:
        return False


@pytest.mark.parametrize("name", ["nvidia-h100.toml", "nvidia-a100.toml", "amd-mi300x.toml"])
def test_shipped_matmul_schedules_stay_exact_on_pocl(opencl_device, name):
    """The shipped GPU schedules (warp_specialize, 2–4 stage pipelines, XOR swizzle,
    specialize) printed for OpenCL: the divisible version copies with vload4, the other
    elements; both exact."""
    from pathlib import Path

    from vortex.examples import load_example
    root = Path(__file__).resolve().parents[2]
    pipe = load_example(str(root / "examples" / "matmul.py")).pipeline()
    s = str(root / "schedules" / "matmul" / name)
    kernel = vx.compile(pipe, schedule=s, target="opencl", device=opencl_device)
    assert "vload4(0, &A[" in kernel.source and "vload4(0, &B[" in kernel.source
    for m, n, k in [(128, 256, 32), (130, 7, 33)]:
        rng = np.random.default_rng(m + n + k)
        A, B = rand(rng, m, k), rand(rng, k, n)
        np.testing.assert_array_equal(kernel(A=A, B=B), pipe.reference(A=A, B=B))
