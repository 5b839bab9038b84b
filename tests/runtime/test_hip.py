"""The HIP runtime without a GPU: real hiprtc compiles (Debian's ROCm 5.2 in CI) of generated HIP
for gfx90a, resources from the code object's metadata, launch limits checked before hiprtc,
compile errors, the compile cache, and vx.DeviceError when a kernel is called with no device.

Launches live in test_hip_launch.py (an emulated HIP runtime, and real AMD GPUs)."""
import struct
from pathlib import Path

import pytest

import compilers
import pipelines as P
import vortex as vx
from vortex.runtime import rocm

if rocm.library() is None:
    pytest.skip("libamdhip64 (ROCm) not found: apt-get install libamdhip64-dev "
                "libhiprtc-builtins5 rocm-device-libs libamd-comgr-dev", allow_module_level=True)
pytest.importorskip("msgpack", reason="reading HIP code object metadata needs pip install msgpack")
from hip_cases import GOOD, HEAD, blur_shared, hand_source, matmul_tiled  # noqa: E402
from hip_cases import private_cache  # noqa: E402,F401 - the autouse fixture
from vortex.examples import load_example  # noqa: E402
from vortex.runtime import code_object, hiprtc, runtime  # noqa: E402
from vortex.runtime.hip import HIPExecutable, HIPRuntime, info  # noqa: E402
from vortex.archs import HIP_RESOURCES  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_SCHEDULES = [(ex, toml) for ex in sorted((ROOT / "examples").glob("*.py"))
                     for toml in sorted((ROOT / "schedules" / ex.stem).glob("*.toml"))]
DEVICES, _ = rocm.library().devices()
no_gpu = pytest.mark.skipif(bool(DEVICES), reason="checks the no-GPU behaviour")


def compile_hip(pipe, schedule, arch="gfx90a", **options):
    return vx.compile(pipe, schedule=schedule, target="hip", arch=arch, **options)


def assert_compiled(kernel, arch="gfx90a") -> HIPExecutable:
    exe = kernel._exe
    assert exe.arch == arch and exe.code_object[:4] == b"\x7fELF" and len(exe.binary) > 0
    for launch in kernel.kernel_source.launches:
        res = exe.resources[launch.entry]
        assert res["vgprs"] > 0 and res["sgprs"] > 0, res
        assert res["lds_bytes"] >= launch.shared_bytes and res["shared_bytes"] == res["lds_bytes"]
        threads = launch.block[0] * launch.block[1] * launch.block[2]
        # __launch_bounds__(threads): the code object's maximum is the block's size
        assert res["wavefront_size"] in (32, 64) and res["max_threads"] == threads
    return exe


@pytest.mark.parametrize("name", sorted(P.BUILDERS))
def test_default_schedules_compile(name):
    pipe = P.pipe(name)
    assert_compiled(compile_hip(pipe, vx.Schedule.default(pipe)))


@pytest.mark.parametrize("make", [blur_shared, matmul_tiled], ids=["blur_shared", "matmul"])
def test_tiled_schedules_compile(make):
    kernel = compile_hip(*make())
    exe = assert_compiled(kernel)
    assert kernel.launch_config(**P.inputs(kernel.pipe.name, (37, 61)))   # no device needed
    if make is blur_shared:   # the staged blur_x tile lives in LDS
        assert exe.resources["blur_kernel"]["lds_bytes"] > 0


# The AMD files are compiled for gfx90a by tests/examples/test_schedules.py (with their spill and
# LDS checks); every other schedule file compiles for HIP here.
CROSS_COMPILES = [(e, t) for e, t in EXAMPLE_SCHEDULES if not t.stem.startswith("amd-")]


@pytest.mark.parametrize("example, toml", CROSS_COMPILES,
                         ids=[f"{e.stem}-{t.stem}" for e, t in CROSS_COMPILES])
def test_example_schedules_compile(example, toml):
    pipe = load_example(example).pipeline()
    s = vx.Schedule.load(toml, pipe)
    if compilers.foreign_mma(pipe, s, "hip"):       # an NVIDIA tensor-core tile
        with pytest.raises(vx.CompileError, match=r"does not exist on hip: .*16x16x16"):
            compile_hip(pipe, s)
        return
    assert_compiled(compile_hip(pipe, s))


@pytest.mark.parametrize("arch", sorted(HIP_RESOURCES))
def test_every_arch_compiles_or_says_this_rocm_cannot(arch):
    """ROCm 5.2's comgr knows gfx908/gfx90a/gfx1030 but not gfx942/gfx1100 (and hiprtc aborts
    the process when asked for them): the arch is checked against comgr's list first, and the
    error lists what this hiprtc compiles for."""
    pipe = P.pipe("scale")
    if arch in rocm.library().toolchain["archs"]:
        assert_compiled(compile_hip(pipe, vx.Schedule.default(pipe), arch), arch)
    else:
        with pytest.raises(vx.CompileError,
                           match=rf"unknown HIP arch '{arch}': this machine's hiprtc compiles "
                                 r"for gfx900, .*gfx90a, .*gfx1030"):
            compile_hip(pipe, vx.Schedule.default(pipe), arch)


def test_a_dying_hiprtc_is_a_compile_error_not_a_dead_process():
    """hiprtc runs in a child process: its aborts (an arch comgr does not know) and its LLVM
    (which clashes with PoCL's) never reach the caller."""
    lib = rocm.library()
    unknown = next((a for a in ("gfx942", "gfx1100") if a not in lib.toolchain["archs"]), None)
    if unknown is None:
        pytest.skip("this ROCm compiles for every Vortex arch: nothing makes hiprtc abort")
    code, log = lib.compile(GOOD, "handmade.hip", [f"--offload-arch={unknown}"])
    assert code is None and "the hiprtc process died" in log


@no_gpu
def test_calling_without_a_device_is_a_device_error():
    pipe = P.pipe("scale")
    kernel = compile_hip(pipe, vx.Schedule.default(pipe))
    args = P.inputs("scale", (7, 13))
    with pytest.raises(vx.DeviceError, match="no HIP device") as e:
        kernel(**args)
    assert "gfx90a" in str(e.value) and "kernel.binary" in str(e.value)
    with pytest.raises(vx.DeviceError, match="no HIP device"):
        kernel.time(**args)


@no_gpu
def test_no_arch_and_no_device_says_to_pass_arch():
    pipe = P.pipe("scale")
    with pytest.raises(vx.DeviceError, match=r"no HIP device.*pass arch="):
        vx.compile(pipe, schedule=vx.Schedule.default(pipe), target="hip")


@pytest.fixture
def hiprtc_forbidden(monkeypatch):
    def fail(*a, **k):
        pytest.fail("hiprtc ran although the launch limits were exceeded")
    monkeypatch.setattr(rocm.Hip, "compile", fail)


def test_too_many_threads_fails_before_hiprtc(hiprtc_forbidden):
    pipe = P.pipe("blur")
    s = vx.Schedule(pipe)
    s["blur"].gpu_tile("y", "x", "yo", "xo", "yi", "xi", 64, 64)
    with pytest.raises(vx.ScheduleError, match=r"gfx90a.*4096 threads.*gpu_threads / gpu_tile"):
        compile_hip(pipe, s)


def test_oversized_shared_memory_fails_before_hiprtc(hiprtc_forbidden):
    pipe = P.pipe("blur")
    s = vx.Schedule(pipe)
    s["blur"].tile("y", "x", "yo", "xo", "yi", "xi", 128, 160).gpu_blocks("yo", "xo")
    s["blur_x"].compute_at("blur", "xo").store_in("shared")
    with pytest.raises(vx.ScheduleError, match=r"bytes of shared memory.*65536.*store_in"):
        compile_hip(pipe, s)


def test_unknown_arch_lists_the_valid_ones(hiprtc_forbidden):
    pipe = P.pipe("scale")
    with pytest.raises(vx.CompileError, match=r"unknown HIP arch 'gfx803': this machine's hiprtc "
                                                 r"compiles for gfx900, .*gfx908, .*gfx90a"):
        compile_hip(pipe, vx.Schedule.default(pipe), "gfx803")


def test_hip_fp16_include_is_left_to_hiprtc():
    """ROCm 5.2's hiprtc redefines __half when hip_fp16.h is included: the line is commented
    out (same line count), and __half still works from hiprtc's built-in header."""
    assert hiprtc.hiprtc_source(GOOD).count("\n") == GOOD.count("\n")
    assert "#include <hip/hip_fp16.h>" not in hiprtc.hiprtc_source(GOOD)
    exe = HIPRuntime().load(hand_source(GOOD), arch="gfx90a")
    assert exe.resources["k"]["kernarg_bytes"] >= 12   # a pointer and an int


def test_syntax_error_gives_log_and_source_lines():
    code = GOOD.replace("= __half2float", "= undefined_name + __half2float")
    with pytest.raises(vx.CompileError) as e:
        HIPRuntime().load(hand_source(code), arch="gfx908")
    text = str(e.value)
    assert "handmade.hip:5:21: error: use of undeclared identifier 'undefined_name'" in text
    assert ">    5 |   if (i < n) a[i] = undefined_name" in text
    assert "--offload-arch=gfx908" in text and "kernel(s) k" in text


def test_undefined_entry_is_a_compile_error():
    with pytest.raises(vx.CompileError, match="kernel 'other' is not defined"):
        HIPRuntime().load(hand_source(GOOD, entry="other"), arch="gfx90a")


def test_cache_hits_in_memory_then_on_disk(tmp_path, monkeypatch):
    cache = hiprtc.CodeObjectCache(directory=tmp_path)
    first = HIPRuntime().load(hand_source(GOOD), arch="gfx90a", cache=cache)
    assert (cache.compiles, cache.hits) == (1, 0) and first.compile_seconds > 0
    assert len(list(tmp_path.glob("*.hsaco"))) == 1
    monkeypatch.setattr(rocm.Hip, "compile", lambda *a, **k: pytest.fail("recompiled"))
    again = HIPRuntime().load(hand_source(GOOD), arch="gfx90a", cache=cache)
    assert cache.hits == 1 and again.binary == first.binary and again.compile_seconds == 0.0
    cache.clear()   # a new process: memory empty, disk kept
    from_disk = HIPRuntime().load(hand_source(GOOD), arch="gfx90a", cache=cache)
    assert cache.disk_hits == 1 and from_disk.binary == first.binary
    assert from_disk.resources == first.resources


def test_cache_key_covers_arch_options_and_source(tmp_path):
    cache = hiprtc.CodeObjectCache(directory=tmp_path)
    for arch, opts, code in [("gfx90a", (), GOOD), ("gfx908", (), GOOD),
                             ("gfx90a", ("-DX=1",), GOOD), ("gfx90a", (), GOOD + "// edit\n")]:
        HIPRuntime().load(hand_source(code), arch=arch, build_options=opts, cache=cache)
    assert cache.compiles == 4 and cache.hits == 0


SCRATCH_AND_LDS = HEAD + """\
extern "C" __global__ void k(float* a, int n) {
  __shared__ float tile[1024];
  float local[256];
  for (int j = 0; j < 256; ++j) local[j] = a[(j * n) % 997];
  tile[threadIdx.x] = local[n & 255];
  __syncthreads();
  a[threadIdx.x] = tile[(threadIdx.x + n) & 1023];
}
"""


def test_lds_and_scratch_are_reported():
    res = HIPRuntime().load(hand_source(SCRATCH_AND_LDS, block=256), arch="gfx90a").resources["k"]
    assert res["lds_bytes"] == 4096 and res["shared_bytes"] == 4096
    assert res["scratch_bytes"] >= 1024   # the dynamically indexed local array lives in scratch


def test_code_object_bundle_and_bad_blobs():
    elf = HIPRuntime().load(hand_source(GOOD), arch="gfx90a").code_object
    triple = b"hipv4-amdgcn-amd-amdhsa--gfx90a"
    header = code_object.BUNDLE_MAGIC + struct.pack("<Q", 1)
    offset = len(header) + 24 + len(triple)
    bundle = header + struct.pack("<QQQ", offset, len(elf), len(triple)) + triple + elf
    assert code_object.unbundle(bundle, "gfx90a") == elf
    with pytest.raises(vx.CompileError, match="no code object for gfx908"):
        code_object.unbundle(bundle, "gfx908")
    with pytest.raises(vx.CompileError, match="neither an ELF"):
        code_object.unbundle(b"garbage!", "gfx90a")
    assert set(code_object.kernel_resources(elf)) == {"k"}


def test_runtime_registry_and_info():
    assert isinstance(runtime("hip"), HIPRuntime)
    text = "\n".join(info())
    lib = rocm.library()
    assert f"hiprtc {lib.hiprtc_version()}" in text and lib.path in text and "gfx90a" in text
    assert ("no HIP device" in text) != bool(DEVICES)
