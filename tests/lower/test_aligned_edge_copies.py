"""16-byte staged copies for sizes known only at run time (issue 11 acceptance 1;
vortex/lower/vector_copy.py, vortex/lower/staging.py).

A staged tile of ``A[M, K]`` / ``B[K, N]`` is aligned when the row strides ``K`` and ``N`` are
multiples of 4 floats: the lowering tests ``K % 4 == 0 && N % 4 == 0`` once per copy site and
copies 16 bytes there, a chunk outside the matrix zero-filled (cp.async src-size 0, a guarded
``uint4``/``vload4`` elsewhere); otherwise it copies element by element, synchronously (a load
and a shared store, never a narrow cp.async). Checked: the IR's two branches, the printed
CUDA/OpenCL/HIP, exact results against ``pipe.reference`` on PoCL at sizes that are and are not
multiples of 4 and of the tiles, and the sm_90/sm_80 machine code (only ``LDGSTS.E.128``)."""
from pathlib import Path

import compilers
import numpy as np
import pipelines
import pytest

import vortex as vx
from vortex.examples import load_example
from vortex.isa.model import LOCAL, OpClass
from vortex.lower.driver import lower
from vortex.lower.ir import AsyncCopy, If
from vortex.lower.ir_text import expr_text
from vortex.lower.walk import stmts

ROOT = Path(__file__).resolve().parents[2]
SIZES = [(1, 1, 1), (64, 64, 64), (67, 61, 33), (130, 7, 129), (68, 60, 36), (5, 12, 9)]
ALIGNED = "(K % 4 == 0) & (N % 4 == 0)"


def staged(stages=3, producers=0, specialize=False):
    """C = A @ B (float32, M, N, K Dims): 32×32 tiles per block, 2×2 outputs per thread
    (unrolled), k split by 8; A (32×8, XOR-swizzled) and B (8×32) staged in shared memory at
    ``ko`` in a ``stages``-deep pipeline, copied by ``producers`` warps (0: every thread)."""
    pipe, C = pipelines.matmul_sized()
    s = vx.Schedule(pipe)
    s[C].tile("i", "j", "io", "jo", "ii", "ji", 32, 32).gpu_blocks("io", "jo")
    s[C].split("ii", "iii", "it", 16).split("ji", "jt", "jii", 2)
    s[C].gpu_threads("it", "jt").split("k", "ko", "ki", 8)
    s[C].reorder("it", "jt", "ko", "ki", "iii", "jii").unroll("iii").unroll("jii")
    s[C].stage("A", at="ko", memory="shared", swizzle="xor").stage("B", at="ko", memory="shared")
    s[C].pipeline("ko", stages=stages)
    if producers:
        s[C].warp_specialize(producers)
    if specialize:
        s[C].specialize(vx.divisible("M", 32)).specialize(vx.divisible("N", 32))
        s[C].specialize(vx.divisible("K", 8))
    return pipe, s


def copy_sites(pipe, s) -> list:
    """The ``If``s that test the alignment facts, in the lowered kernel."""
    (k,) = lower(pipe, s).kernels
    return [x for x in stmts(k.body) if isinstance(x, If) and expr_text(x.cond) == ALIGNED]


def rand(rng, *shape):
    return rng.random(shape, np.float32)


def assert_exact(kernel, pipe, m, n, k):
    """The kernel equals the reference bit for bit at one (m, n, k)."""
    rng = np.random.default_rng(m * 10007 + n * 101 + k)
    A, B = rand(rng, m, k), rand(rng, k, n)
    np.testing.assert_array_equal(kernel(A=A, B=B), pipe.reference(A=A, B=B))


# --- the IR ------------------------------------------------------------------------------------
def test_alignment_facts_select_16_byte_copies_or_synchronous_elements():
    """Each copy site (3-stage prologue: 2, the loop's prefetch: 1) tests the facts; the
    aligned branch copies 16 bytes with a per-chunk condition (zero-filled), the other one
    element at a time, synchronously."""
    sites = copy_sites(*staged())
    assert len(sites) == 3
    for site in sites:
        fast = [c for c in stmts(site.then) if isinstance(c, AsyncCopy)]
        slow = [c for c in stmts(site.otherwise) if isinstance(c, AsyncCopy)]
        assert {c.src for c in fast} == {c.src for c in slow} == {"A", "B"}
        assert all(c.lanes == 4 and c.cond is not None and not c.sync for c in fast)
        assert all(c.lanes == 1 and c.sync for c in slow)


def test_no_narrow_asynchronous_copy_is_left():
    for args in ({}, {"producers": 1}, {"specialize": True}):
        (k,) = lower(*staged(**args)).kernels
        copies = [c for c in stmts(k.body) if isinstance(c, AsyncCopy)]
        assert copies and all(c.lanes == 4 or c.sync for c in copies), args


def test_constant_aligned_sizes_need_no_test():
    pipe, C = pipelines.matmul_sized(67, 60, 36)
    s = vx.Schedule(pipe)
    s[C].tile("i", "j", "io", "jo", "ii", "ji", 16, 16).gpu_blocks("io", "jo")
    s[C].gpu_threads("ii", "ji").split("k", "ko", "ki", 8).reorder("ii", "ji", "ko", "ki")
    s[C].stage("A", at="ko", memory="shared").stage("B", at="ko", memory="shared")
    (k,) = lower(pipe, s).kernels
    copies = [c for c in stmts(k.body) if isinstance(c, AsyncCopy)]
    assert copies and all(c.lanes == 4 for c in copies)
    assert "vx_fmod" not in vx.source(pipe, s, target="cuda", arch="sm_90")   # no test


def test_cuda_prints_zero_fill_and_plain_element_copies():
    src = vx.source(*staged(), target="cuda", arch="sm_90")
    assert "if (((vx_fmod_int(K, 4) == 0) && (vx_fmod_int(N, 4) == 0)))" in src
    assert ": 0], 16, (" in src and ") ? 0 : 16);" in src          # src-size 0 outside
    assert "sizeof(float)" not in src                               # no 4-byte cp.async
    assert "] : (float)0;" in src                                   # LDG + STS fallback


def test_opencl_and_hip_print_a_guarded_16_byte_load_or_zeros():
    cl = vx.source(*staged(), target="opencl")
    assert ") ? vload4(0, &A[" in cl and ": ((float4)(0)), 0, &A_sh[" in cl
    hip = vx.source(*staged(), target="hip", arch="gfx90a")
    assert ") ? (*(const uint4*)(&A[" in hip and "make_uint4(0u, 0u, 0u, 0u)" in hip


# --- exact results on PoCL ---------------------------------------------------------------------
@pytest.mark.parametrize("args", [{}, {"stages": 1}, {"producers": 1}, {"specialize": True}],
                         ids=["3-stage", "1-stage", "warp-specialized", "specialized"])
def test_staged_matmul_matches_reference(opencl_device, args):
    pipe, s = staged(**args)
    kernel = vx.compile(pipe, schedule=s, target="opencl", device=opencl_device)
    for m, n, k in SIZES:
        assert_exact(kernel, pipe, m, n, k)


@pytest.mark.parametrize("name", ["pocl-cpu", "nvidia-h100", "nvidia-a100", "amd-mi300x"])
def test_shipped_schedules_match_reference(opencl_device, name):
    """The shipped files printed for OpenCL (the GPU ones: 128×128 tiles, so every size here
    is an edge tile of the general version)."""
    pipe = load_example(str(ROOT / "examples" / "matmul.py")).pipeline()
    kernel = vx.compile(pipe, schedule=str(ROOT / "schedules" / "matmul" / f"{name}.toml"),
                        target="opencl", device=opencl_device)
    for m, n, k in SIZES:
        assert_exact(kernel, pipe, m, n, k)


# --- CUDA and HIP ------------------------------------------------------------------------------
def test_compiles_offline(offline):
    target, build = offline
    kernel = build(*staged(producers=1))
    assert ("__pipeline_memcpy_async(" if target == "cuda" else "uint4") in kernel.source


@pytest.mark.parametrize("arch", ["sm_90", "sm_80"])
def test_sass_has_only_16_byte_async_copies(arch):
    compilers.need_isa("cuda")
    for args in ({}, {"producers": 1}, {"specialize": True}):
        pipe, s = staged(**args)
        kernel = vx.compile(pipe, schedule=s, target="cuda", arch=arch, fast_math=True)
        isa = kernel.analysis().isa
        if isa.missing:
            pytest.skip(isa.missing)
        mix = isa.kernel("C_kernel").mix
        copies = mix.widths(OpClass.ASYNC_COPY)
        assert list(copies) == [16] and copies[16] > 0, args     # LDGSTS.E.128 only
        assert mix.count(OpClass.GLOBAL_LOAD) > 0                # the unaligned fallback
        assert mix.count(*LOCAL) == 0
