"""The CUDA runtime without a GPU: real NVRTC compiles (pip wheels) of generated CUDA for sm_80
and sm_90, ptxas resources, launch limits checked before NVRTC, compile errors, the compile cache,
array-interface checks, and vx.DeviceError when a kernel is called with no device.

Launch and numerics tests live in test_cuda_launch.py (they skip without a GPU)."""
from pathlib import Path

import numpy as np
import pytest

import compilers
import pipelines as P
import vortex as vx

pytest.importorskip("cuda.bindings", reason='NVRTC needs pip install "vortex[cuda]" '
                    "(cuda-bindings, nvidia-cuda-nvrtc, nvidia-cuda-runtime)")
from vortex.codegen import generate  # noqa: E402
from vortex.codegen.kernel_source import BufferArg, BufferRole, KernelSource, Launch  # noqa: E402
from vortex.examples import load_example  # noqa: E402
from vortex.lower import lower  # noqa: E402
from vortex.runtime import nvrtc, runtime  # noqa: E402
from vortex.runtime.cuda import CUDAExecutable, CUDARuntime, has_cuda_device, info  # noqa: E402
from vortex.runtime.cuda_arrays import device_view, dlpack_tensor  # noqa: E402
from vortex.target import Target  # noqa: E402

try:
    nvrtc.version()
except vx.DeviceError as e:
    pytest.skip(f"NVRTC does not load: {e}", allow_module_level=True)
if nvrtc.include_dir() is None:
    pytest.skip("cuda_fp16.h not found: pip install nvidia-cuda-runtime", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]
ARCHS = ("sm_80", "sm_90")
EXAMPLE_SCHEDULES = [(ex, toml) for ex in sorted((ROOT / "examples").glob("*.py"))
                     for toml in sorted((ROOT / "schedules" / ex.stem).glob("*.toml"))]
no_gpu = pytest.mark.skipif(has_cuda_device(), reason="checks the no-GPU behaviour")


@pytest.fixture(autouse=True, scope="module")
def private_cache(tmp_path_factory):
    """Every compile of this module caches under a fresh directory, not ~/.cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(nvrtc.CACHE_ENV, str(tmp_path_factory.mktemp("cuda-cache")))
        nvrtc.CUBIN_CACHE.clear()
        yield
    nvrtc.CUBIN_CACHE.clear()


def compile_cuda(pipe, schedule, arch="sm_90", **options):
    return vx.compile(pipe, schedule=schedule, target="cuda", arch=arch, **options)


def elf_size(image: bytes) -> int:
    """End of the furthest part of an ELF64 image: a section, or the section or program header
    table (a CUBIN ends with its program headers, whose last bytes are zeros)."""
    def word(at, n):
        return int.from_bytes(image[at:at + n], "little")
    e_phoff, e_shoff = word(0x20, 8), word(0x28, 8)
    entsize, count = word(0x3A, 2), word(0x3C, 2)
    end = max(e_shoff + entsize * count, e_phoff + word(0x36, 2) * word(0x38, 2))
    for i in range(count):
        sh = image[e_shoff + i * entsize:e_shoff + (i + 1) * entsize]
        kind, offset, size = (int.from_bytes(sh[a:b], "little") for a, b in
                              ((4, 8), (0x18, 0x20), (0x20, 0x28)))
        if kind != 8:   # SHT_NOBITS occupies no bytes in the file
            end = max(end, offset + size)
    return end


def assert_compiled(kernel, arch):
    exe = kernel._exe
    assert isinstance(exe, CUDAExecutable) and exe.arch == arch and ".entry" in exe.ptx
    assert kernel.binary[:4] == b"\x7fELF"                        # a CUBIN (ELF), not PTX
    assert len(kernel.binary) == elf_size(kernel.binary)           # whole, not NUL-stripped
    for launch in kernel.kernel_source.launches:
        res = kernel.resources[launch.entry]
        assert res["registers"] > 0, res
        assert res["shared_bytes"] == launch.shared_bytes, (res, launch)
        assert set(res) == {"registers", "shared_bytes", "spill_stores", "spill_loads",
                            "stack_bytes"}


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("name", sorted(P.BUILDERS))
def test_default_schedules_compile(name, arch):
    pipe = P.pipe(name)
    assert_compiled(compile_cuda(pipe, vx.Schedule.default(pipe), arch), arch)


def _blur_shared():
    pipe = P.pipe("blur")
    s = vx.Schedule(pipe)
    s["blur"].gpu_tile("y", "x", "yo", "xo", "yi", "xi", 8, 32)
    s["blur_x"].compute_at("blur", "xo").store_in("shared")
    return pipe, s


def _matmul_tiled():
    pipe = P.pipe("matmul")
    s = vx.Schedule(pipe)
    s["C"].gpu_tile("i", "j", "io", "jo", "ii", "ji", 16, 16).split("k", "ko", "ki", 4) \
        .unroll("ki")
    return pipe, s


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("make", [_blur_shared, _matmul_tiled], ids=["blur_shared", "matmul"])
def test_tiled_schedules_compile(make, arch):
    kernel = compile_cuda(*make(), arch)
    assert_compiled(kernel, arch)
    assert kernel.launch_config(**P.inputs(kernel.pipe.name, (37, 61)))   # no device needed


@pytest.mark.parametrize("arch", ("sm_75",) + ARCHS)
def test_staged_pipelined_matmul_compiles(arch):
    """stage + pipeline print cp.async (cuda_pipeline.h) for sm_80+, plain copies before."""
    pipe = P.pipe("matmul")
    s = vx.Schedule(pipe)
    s["C"].tile("i", "j", "io", "jo", "ii", "ji", 32, 32).gpu_blocks("io", "jo") \
        .gpu_threads("ii", "ji").split("k", "ko", "ki", 16) \
        .reorder("io", "jo", "ko", "ii", "ji", "ki")
    s["C"].stage("A", at="ko").stage("B", at="ko", swizzle="xor").pipeline("ko", stages=3)
    ks = generate(lower(pipe, s), "cuda", arch=arch)
    exe = CUDARuntime().load(ks, arch=arch)
    assert exe.resources["C_kernel"]["shared_bytes"] == ks.launches[0].shared_bytes > 0
    assert ("cp.async" in exe.ptx) == (arch != "sm_75")


# Every schedule file compiles for every CUDA arch here, except a GPU file for its own arch:
# tests/examples/test_schedules.py compiles that one (and checks its spills and shared memory).
OWN_ARCH = {"nvidia-h100": "sm_90", "nvidia-a100": "sm_80"}
CROSS_COMPILES = [(e, t, a) for e, t in EXAMPLE_SCHEDULES for a in ARCHS
                  if OWN_ARCH.get(t.stem) != a]


@pytest.mark.parametrize("example, toml, arch", CROSS_COMPILES,
                         ids=[f"{e.stem}-{t.stem}-{a}" for e, t, a in CROSS_COMPILES])
def test_example_schedules_compile(example, toml, arch):
    pipe = load_example(example).pipeline()
    s = vx.Schedule.load(toml, pipe)
    if compilers.foreign_mma(pipe, s, "cuda"):      # an AMD tensor-core tile
        with pytest.raises(vx.CompileError, match=r"does not exist on cuda: .*16x8x16"):
            compile_cuda(pipe, s, arch)
        return
    kernel = compile_cuda(pipe, s, arch)
    assert_compiled(kernel, arch)
    assert "__global__" in kernel.source


@no_gpu
def test_calling_without_a_device_is_a_device_error():
    pipe = P.pipe("scale")
    kernel = compile_cuda(pipe, vx.Schedule.default(pipe))
    args = P.inputs("scale", (7, 13))
    with pytest.raises(vx.DeviceError, match="no CUDA device") as e:
        kernel(**args)
    assert "sm_90" in str(e.value)
    with pytest.raises(vx.DeviceError, match="no CUDA device"):
        kernel.time(**args)


@no_gpu
def test_no_arch_and_no_device_says_to_pass_arch():
    pipe = P.pipe("scale")
    with pytest.raises(vx.DeviceError, match=r"no CUDA device.*pass arch="):
        vx.compile(pipe, schedule=vx.Schedule.default(pipe), target="cuda")


@pytest.fixture
def nvrtc_forbidden(monkeypatch):
    def fail(*a, **k):
        pytest.fail("NVRTC ran although the launch limits were exceeded")
    monkeypatch.setattr(nvrtc, "compile_cuda", fail)


def test_too_many_threads_fails_before_nvrtc(nvrtc_forbidden):
    pipe = P.pipe("blur")
    s = vx.Schedule(pipe)
    s["blur"].gpu_tile("y", "x", "yo", "xo", "yi", "xi", 64, 64)
    with pytest.raises(vx.ScheduleError, match=r"4096 threads.*gpu_threads / gpu_tile"):
        compile_cuda(pipe, s, "sm_80")


def test_oversized_shared_memory_fails_before_nvrtc(nvrtc_forbidden):
    pipe = P.pipe("blur")
    s = vx.Schedule(pipe)
    s["blur"].tile("y", "x", "yo", "xo", "yi", "xi", 128, 128).gpu_blocks("yo", "xo")
    s["blur_x"].compute_at("blur", "xo").store_in("shared")
    with pytest.raises(vx.ScheduleError, match=r"66560 bytes of shared memory.*store_in"):
        compile_cuda(pipe, s, "sm_75")   # 64 KB per block (sm_90 has 227 KB: it compiles)


def test_unknown_arch_lists_the_valid_ones():
    pipe = P.pipe("scale")
    with pytest.raises(vx.CompileError, match=r"unknown CUDA arch 'sm_61': this machine's NVRTC "
                                                 r"compiles for sm_75, sm_80, .*sm_90, sm_90a, "
                                                 r"sm_100,"):
        compile_cuda(pipe, vx.Schedule.default(pipe), "sm_61")


def _source(code, entry="k", args=("a", "n")):
    from vortex.algorithm.symbolic import dim_symbol
    from vortex.codegen.kernel_source import ScalarArg
    n = dim_symbol("n")
    buf = BufferArg("a", vx.float32, BufferRole.OUTPUT, (n,), (0,))
    launch = Launch(entry, ((n + 63) // 64,), (64,), args)
    return KernelSource(Target.CUDA, "handmade", code, (launch,), (buf,),
                        (ScalarArg("n", vx.int32),), ("a",))


GOOD = ('extern "C" __global__ void k(float* a, int n) '
        '{ if (threadIdx.x < n) a[threadIdx.x] = 1; }\n')


def test_syntax_error_gives_log_and_source_lines():
    code = "// line 1\n" + GOOD.replace("= 1;", "= undefined_name;")
    with pytest.raises(vx.CompileError) as e:
        CUDARuntime().load(_source(code), arch="sm_80")
    text = str(e.value)
    assert "handmade.cu(2): error" in text and 'identifier "undefined_name"' in text
    assert ">    2 | extern" in text and "--gpu-architecture=sm_80" in text


def test_undefined_entry_is_a_compile_error():
    with pytest.raises(vx.CompileError, match=r"\['other'\] are not defined"):
        CUDARuntime().load(_source(GOOD, entry="other"), arch="sm_80")


def test_cache_hits_in_memory_then_on_disk(tmp_path, monkeypatch):
    cache = nvrtc.CubinCache(directory=tmp_path)
    first = CUDARuntime().load(_source(GOOD), arch="sm_90", cache=cache)
    assert (cache.compiles, cache.hits) == (1, 0) and first.compile_seconds > 0
    assert len(list(tmp_path.glob("*.cubin"))) == 1 and len(list(tmp_path.glob("*.json"))) == 1
    monkeypatch.setattr(nvrtc, "compile_cuda", lambda *a, **k: pytest.fail("recompiled"))
    again = CUDARuntime().load(_source(GOOD), arch="sm_90", cache=cache)
    assert cache.hits == 1 and again.binary == first.binary
    cache.clear()   # a new process: memory empty, disk kept
    from_disk = CUDARuntime().load(_source(GOOD), arch="sm_90", cache=cache)
    assert cache.disk_hits == 1 and from_disk.binary == first.binary
    assert from_disk.resources == first.resources and from_disk.ptx == first.ptx
    assert from_disk.compile_seconds == 0.0


def test_cache_key_covers_arch_options_and_source(tmp_path):
    cache = nvrtc.CubinCache(directory=tmp_path)
    for arch, opts, code in [("sm_80", (), GOOD), ("sm_90", (), GOOD),
                             ("sm_90", ("-DX=1",), GOOD), ("sm_90", (), GOOD + "// edit\n")]:
        CUDARuntime().load(_source(code), arch=arch, build_options=opts, cache=cache)
    assert cache.compiles == 4 and cache.hits == 0


def test_damaged_disk_entry_is_recompiled(tmp_path):
    cache = nvrtc.CubinCache(directory=tmp_path)
    CUDARuntime().load(_source(GOOD), arch="sm_80", cache=cache)
    next(tmp_path.glob("*.json")).write_text("{not json")
    cache.clear()
    CUDARuntime().load(_source(GOOD), arch="sm_80", cache=cache)
    assert (cache.compiles, cache.disk_hits) == (1, 0)


PTXAS_LOG = """\
ptxas info    : 0 bytes gmem
ptxas info    : Function properties for helper
ptxas         .     64 bytes stack frame, 8 bytes spill stores, 8 bytes spill loads
ptxas info    : Compiling entry function 'k2' for 'sm_90'
ptxas info    : Function properties for k2
ptxas         .     0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 8 registers, used 0 barriers, 360 bytes cmem[0]
ptxas info    : Compiling entry function 'k' for 'sm_90'
ptxas info    : Function properties for k
ptxas         .     400 bytes stack frame, 12 bytes spill stores, 16 bytes spill loads
ptxas info    : Used 32 registers, used 1 barriers, 400 bytes cumulative stack size, 1024 bytes smem, 372 bytes cmem[0]
"""


def test_parse_ptxas_log():
    assert nvrtc.parse_ptxas(PTXAS_LOG) == {
        "k2": {"registers": 8, "shared_bytes": 0, "stack_bytes": 0, "spill_stores": 0,
               "spill_loads": 0},
        "k": {"registers": 32, "shared_bytes": 1024, "stack_bytes": 400, "spill_stores": 12,
              "spill_loads": 16}}


SPILLY = """\
extern "C" __global__ void spilly(const float* __restrict__ a, float* __restrict__ b, int n) {
  float acc[64];
  #pragma unroll
  for (int j = 0; j < 64; ++j) acc[j] = a[j * n + threadIdx.x];
  for (int i = 0; i < n; ++i) {
    #pragma unroll
    for (int j = 0; j < 64; ++j) acc[j] = acc[j] * a[i] + acc[(j + 7) % 64];
  }
  float s = 0.0f;
  #pragma unroll
  for (int j = 0; j < 64; ++j) s += acc[j] * j;
  b[threadIdx.x] = s;
}
"""


def test_register_spills_are_reported():
    """A real ptxas report: 64 live floats under --maxrregcount=32 must spill."""
    from vortex.algorithm.symbolic import dim_symbol
    from vortex.codegen.kernel_source import ScalarArg
    n = dim_symbol("n")
    bufs = (BufferArg("a", vx.float32, BufferRole.INPUT, (n,), (0,)),
            BufferArg("b", vx.float32, BufferRole.OUTPUT, (n,), (0,)))
    ks = KernelSource(Target.CUDA, "spilly", SPILLY, (Launch("spilly", (1,), (64,),
                      ("a", "b", "n")),), bufs, (ScalarArg("n", vx.int32),), ("b",))
    res = CUDARuntime().load(ks, arch="sm_80", build_options=("--maxrregcount=32",)).resources
    assert res["spilly"]["registers"] <= 32
    assert res["spilly"]["spill_stores"] > 0 and res["spilly"]["spill_loads"] > 0


def test_runtime_registry_and_info():
    assert isinstance(runtime("cuda"), CUDARuntime)
    text = "\n".join(info())
    assert f"NVRTC {nvrtc.version()[0]}" in text and "cuda_fp16.h" in text
    assert ("no CUDA device" in text) != has_cuda_device()


class FakeCudaArray:
    """Only ``__cuda_array_interface__`` (no memory behind it: the checks need none)."""

    def __init__(self, shape, typestr="<f4", strides=None, ptr=0x1000):
        self.__cuda_array_interface__ = {"shape": shape, "typestr": typestr, "strides": strides,
                                         "data": (ptr, False), "version": 3}


def test_cuda_array_interface_is_checked():
    f32 = np.dtype(np.float32)
    assert device_view("img", FakeCudaArray((3, 4)), (3, 4), f32).ptr == 0x1000
    assert device_view("img", FakeCudaArray((3, 4), strides=(16, 4)), (3, 4), f32).ptr == 0x1000
    assert device_view("img", np.zeros((3, 4), f32), (3, 4), f32) is None   # host: copied
    with pytest.raises(vx.InputError, match="'img' must have shape .* float32, got .* float64"):
        device_view("img", FakeCudaArray((3, 4), "<f8"), (3, 4), f32)
    with pytest.raises(vx.InputError, match="must have shape \\(3, 4\\)"):
        device_view("img", FakeCudaArray((4, 3)), (3, 4), f32)
    with pytest.raises(vx.InputError, match="'img' is not C-contiguous"):
        device_view("img", FakeCudaArray((3, 4), strides=(4, 12)), (3, 4), f32)
    with pytest.raises(vx.InputError, match="'img' starts at device address 0x1004, not a "
                       "multiple of 16 bytes .* pass a copy"):
        device_view("img", FakeCudaArray((3, 4), ptr=0x1004), (3, 4), f32)   # a view a[1:]


def test_dlpack_capsule_is_read_in_place():
    a = np.arange(12, dtype=np.int16).reshape(3, 4)
    t = dlpack_tensor(a)
    assert (t["ptr"], t["shape"], t["dtype"], t["device_type"]) == (a.ctypes.data, (3, 4),
                                                                      a.dtype, 1)
    t = dlpack_tensor(a[1:, ::2])
    assert t["ptr"] == a[1:].ctypes.data and t["strides"] == (8, 4) and t["shape"] == (2, 2)
    assert dlpack_tensor(np.zeros(2, bool))["dtype"] == np.bool_


def test_importing_vortex_does_not_import_cuda_bindings():
    import subprocess
    import sys
    code = "import sys, vortex, vortex.runtime; assert 'cuda.bindings' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
