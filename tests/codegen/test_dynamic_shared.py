"""All the shared memory a device has (issue 11, item 4): a kernel over the static 48 KB cap
declares one dynamic shared array carved at aligned offsets, compiles for sm_90 (227 KB per
block), is refused for sm_75 (64 KB) and gfx90a (64 KB of LDS) with a ScheduleError naming the
directive behind its biggest buffer; small kernels keep static arrays."""
import re

import compilers
import pytest

import vortex as vx
from dynamic_shared_cases import KIB, blur_shared, staged_matmul, tile_bytes
from vortex import archs
from vortex.algorithm import dtypes as T
from vortex.codegen import generate
from vortex.codegen.shared_memory import ALIGN, Origin, plan
from vortex.lower import lower
from vortex.lower.ir import Allocate, Block, Kernel, MemorySpace
from vortex.target import Target

DECL = "extern __shared__ __align__(16) unsigned char vx_smem[];"
STAGE_A = ("the biggest shared buffer is stage(A, ...) (51200 bytes): use a smaller tile for "
           "stage(A, ...) (smaller split/tile factors around its loop) or fewer stages in "
           "pipeline(...)")


@pytest.fixture
def compilers_forbidden(monkeypatch):
    """The limit is checked before NVRTC / hiprtc run."""
    from vortex.runtime import hiprtc, nvrtc

    def fail(*a, **k):
        pytest.fail("a compiler ran although the shared memory exceeds the arch's limit")
    monkeypatch.setattr(nvrtc, "compile_cuda", fail)
    monkeypatch.setattr(hiprtc.CODE_OBJECT_CACHE, "get", fail)


# ---- the table ---------------------------------------------------------------------------------
@pytest.mark.parametrize("arch, kib", [("sm_70", 96), ("sm_75", 64), ("sm_80", 163),
                                       ("sm_86", 99), ("sm_89", 99), ("sm_90", 227),
                                       ("sm_90a", 227), ("sm_100", 227)])
def test_cuda_shared_memory_per_block_is_the_opt_in_maximum(arch, kib):
    assert archs.facts("cuda", arch).limits.max_shared == kib * KIB


@pytest.mark.parametrize("arch", ["gfx90a", "gfx942"])
def test_amd_shared_memory_per_block_is_64_kib_of_lds(arch):
    assert archs.facts("hip", arch).limits.max_shared == 64 * KIB


def test_dynamic_exactly_above_the_static_cap():
    assert not archs.dynamic_shared("cuda", 48 * KIB)
    assert archs.dynamic_shared("cuda", 48 * KIB + 1)
    assert not archs.dynamic_shared("hip", 64 * KIB) and archs.dynamic_shared("hip", 64 * KIB + 1)
    assert not archs.dynamic_shared("opencl", 10 ** 9)   # __local arrays are static only


# ---- the plan and the printed source -----------------------------------------------------------
def test_offsets_are_aligned_to_16_bytes():
    """A 6-byte-per-3 float16 tile first: the float32 tile after it starts on a 16-byte line."""
    allocs = (Allocate("h.sh", T.float16, 25001, MemorySpace.SHARED),
              Allocate("f.sh", T.float32, 10, MemorySpace.SHARED),
              Allocate("r.loc", T.float32, 4, MemorySpace.LOCAL))
    k = Kernel("k", (), Block(allocs), (1, 1, 1), (32, 1, 1))
    p = plan(k, Target.CUDA)
    assert p.dynamic and [(b.name, b.offset, b.nbytes) for b in p.buffers] == [
        ("h.sh", 0, 50002), ("f.sh", 50016, 40)]
    assert p.nbytes == 50056 and all(b.offset % ALIGN == 0 for b in p.buffers)
    assert [(b.origin, b.func) for b in p.buffers] == [(Origin.COMPUTE_AT, "h"),
                                                      (Origin.COMPUTE_AT, "f")]
    assert not plan(k, Target.OPENCL).dynamic and plan(k, Target.OPENCL).nbytes == 50042


def test_100_kib_kernel_prints_one_dynamic_array_carved_at_offsets():
    pipe, s = staged_matmul()
    ks = generate(lower(pipe, s), "cuda", arch="sm_90")
    (launch,) = ks.launches
    assert launch.dynamic_shared and launch.shared_bytes == launch.dynamic_shared_bytes == 102400
    assert [(b.directive, b.offset, b.nbytes) for b in launch.shared] == [
        ("stage(A, ...)", 0, 51200), ("stage(B, ...)", 51200, 51200)]
    assert DECL in ks.code and "__shared__ float" not in ks.code
    assert "float* __restrict__ A_sh = (float*)(vx_smem + 0);" in ks.code
    assert "float* __restrict__ B_sh = (float*)(vx_smem + 51200);" in ks.code
    assert "__pipeline_memcpy_async(&A_sh[" in ks.code


@pytest.mark.parametrize("ki, stages, dynamic", [(24, 2, False), (25, 2, True), (8, 4, False)])
def test_static_up_to_48_kib_dynamic_above(ki, stages, dynamic):
    pipe, s = staged_matmul(ki, stages)
    ks = generate(lower(pipe, s), "cuda", arch="sm_90")
    (launch,) = ks.launches
    assert launch.shared_bytes == tile_bytes(ki, stages)
    assert launch.dynamic_shared is dynamic and (DECL in ks.code) is dynamic
    assert ("__shared__ float A_sh[" in ks.code) is not dynamic
    assert launch.dynamic_shared_bytes == (tile_bytes(ki, stages) if dynamic else 0)


def test_opencl_keeps_static_local_arrays():
    pipe, s = staged_matmul()
    ks = generate(lower(pipe, s), "opencl")
    assert "__local float A_sh[12800];" in ks.code and "vx_smem" not in ks.code
    assert not ks.launches[0].dynamic_shared and ks.launches[0].shared_bytes == 102400


# ---- compiled and refused ----------------------------------------------------------------------
def test_100_kib_kernel_compiles_for_sm90():
    compilers.need_nvrtc()
    pipe, s = staged_matmul()
    kernel = vx.compile(pipe, schedule=s, target="cuda", arch="sm_90")
    assert len(kernel.binary) > 0 and DECL in kernel.source
    assert not re.search(r"[1-9]\d* bytes smem", kernel._exe.log)   # ptxas: no static smem
    res = kernel.resources["C_kernel"]
    assert res["shared_bytes"] == 102400   # ptxas' static 0 + the dynamic size of the launch
    assert res["spill_stores"] == 0


def test_compute_at_shared_over_48_kib_compiles_for_sm90():
    compilers.need_nvrtc()
    pipe, s = blur_shared()
    kernel = vx.compile(pipe, schedule=s, target="cuda", arch="sm_90")
    assert DECL in kernel.source and "float* __restrict__ blur_x_sh = (float*)(vx_smem + 0);" \
        in kernel.source
    assert kernel.resources["blur_kernel"]["shared_bytes"] == 130 * 128 * 4


def test_100_kib_kernel_is_refused_for_sm75(compilers_forbidden):
    compilers.need_nvrtc()
    pipe, s = staged_matmul()
    with pytest.raises(vx.ScheduleError) as e:
        vx.compile(pipe, schedule=s, target="cuda", arch="sm_75")
    assert str(e.value) == ("kernel 'C_kernel' on sm_75: 102400 bytes of shared memory per "
                            f"block exceed the 65536 bytes allowed; {STAGE_A}")


def test_100_kib_kernel_is_refused_for_sm86_but_fits_sm80(compilers_forbidden):
    pipe, s = staged_matmul()
    ks = generate(lower(pipe, s), "cuda", arch="sm_80")
    from vortex.runtime.limits import check_launches
    check_launches(ks, archs.facts("cuda", "sm_80").limits)   # 163 KB: fits
    with pytest.raises(vx.ScheduleError, match=r"on sm_86: 102400 bytes .* the 101376 bytes"):
        check_launches(ks, archs.facts("cuda", "sm_86").limits)


def test_compute_at_shared_is_named_when_refused(compilers_forbidden):
    compilers.need_nvrtc()
    pipe, s = blur_shared()
    with pytest.raises(vx.ScheduleError) as e:
        vx.compile(pipe, schedule=s, target="cuda", arch="sm_75")
    assert str(e.value) == (
        "kernel 'blur_kernel' on sm_75: 66560 bytes of shared memory per block exceed the 65536 "
        "bytes allowed; the biggest shared buffer is compute_at(...).store_in(\"shared\") of "
        "Func 'blur_x' (66560 bytes): compute 'blur_x' at an inner loop, use smaller tiles "
        "around its compute_at loop, or store_in(\"register\")")


def test_hip_kernel_over_64_kib_is_refused_for_gfx90a(compilers_forbidden):
    from vortex.runtime import rocm
    if rocm.library() is None:
        pytest.skip("libamdhip64 (ROCm) not found: apt-get install libamdhip64-dev")
    pipe, s = staged_matmul()
    with pytest.raises(vx.ScheduleError) as e:
        vx.compile(pipe, schedule=s, target="hip", arch="gfx90a")
    assert str(e.value) == ("kernel 'C_kernel' on gfx90a: 102400 bytes of shared memory per "
                            f"block exceed the 65536 bytes allowed; {STAGE_A}")


def test_hip_dynamic_array_compiles_with_hiprtc():
    """An arch with more LDS (gfx950: 160 KB) gets the same dynamic array; hiprtc (here for
    gfx90a, which cannot launch it) accepts the source."""
    from vortex.runtime import hiprtc, rocm
    lib = rocm.library()
    if lib is None:
        pytest.skip("libamdhip64 (ROCm) not found: apt-get install libamdhip64-dev")
    pipe, s = staged_matmul()
    ks = generate(lower(pipe, s), "hip")
    assert DECL in ks.code and ks.launches[0].dynamic_shared_bytes == 102400
    options = ("--offload-arch=gfx90a",) + hiprtc.COMPILE_OPTIONS + hiprtc.MATH_OPTIONS[False]
    binary, _ = hiprtc.CODE_OBJECT_CACHE.get(lib, hiprtc.hiprtc_source(ks.code), options,
                                             "gfx90a", ("C_kernel",), "matmul.hip")
    assert len(binary) > 0
