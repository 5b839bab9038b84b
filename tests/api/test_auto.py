"""``schedule="auto"`` without a GPU: the device-naming rule (vortex.devices), schedule files by
device and by shape (vortex.auto), and the arch tables (vortex.archs) behind ``arch=``."""
import sys
from pathlib import Path

import pytest

import vortex as vx
from vortex import archs, auto, devices
from vortex.target import Target

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
import matmul  # noqa: E402


@pytest.mark.parametrize("target, name, slug, family", [
    ("cuda", "NVIDIA H100 80GB HBM3", "nvidia-h100-80gb-hbm3", "nvidia-h100"),
    ("cuda", "NVIDIA H100 PCIe", "nvidia-h100-pcie", "nvidia-h100"),
    ("cuda", "NVIDIA H100 NVL", "nvidia-h100-nvl", "nvidia-h100"),
    ("cuda", "NVIDIA H200", "nvidia-h200", "nvidia-h200"),
    ("cuda", "NVIDIA A100-SXM4-80GB", "nvidia-a100-sxm4-80gb", "nvidia-a100"),
    ("cuda", "Tesla V100-SXM2-16GB", "nvidia-tesla-v100-sxm2-16gb", "nvidia-v100"),
    ("cuda", "NVIDIA GeForce RTX 4090", "nvidia-geforce-rtx-4090", "nvidia-geforce-rtx-4090"),
    ("hip", "AMD Instinct MI300X", "amd-instinct-mi300x", "amd-mi300x"),
    ("opencl", "gfx90a:sramecc+:xnack-", "gfx90a-sramecc-xnack", "gfx90a"),
    ("opencl", "Intel(R) UHD Graphics 620", "intel-uhd-graphics-620", "intel-uhd-graphics-620"),
])
def test_device_naming_rule(target, name, slug, family):
    assert devices.slug(name, target) == slug
    assert devices.family(name, target) == family


def test_stems_most_specific_first_then_the_archs_representative():
    assert devices.stems("cuda", "NVIDIA H100 80GB HBM3", "sm_90") == (
        "nvidia-h100-80gb-hbm3", "nvidia-h100")
    assert devices.stems("cuda", "NVIDIA H200", "sm_90a") == ("nvidia-h200", "nvidia-h100")
    assert devices.stems("cuda", None, "sm_80") == ("nvidia-a100",)
    assert devices.stems("hip", None, "gfx942") == ("amd-mi300x",)
    assert devices.stems("cuda", None, "sm_75") == ()


@pytest.mark.parametrize("target, device, arch, file", [
    ("cuda", "NVIDIA H100 80GB HBM3", "sm_90", "nvidia-h100.toml"),
    ("cuda", "NVIDIA H100 PCIe", "sm_90", "nvidia-h100.toml"),
    ("cuda", "NVIDIA H200", "sm_90a", "nvidia-h100.toml"),       # no h200 file: the arch's
    ("cuda", None, "sm_90", "nvidia-h100.toml"),
    ("cuda", "NVIDIA A100-SXM4-80GB", "sm_80", "nvidia-a100.toml"),
    ("hip", "AMD Instinct MI300X", "gfx90a", "amd-mi300x.toml"),
])
def test_auto_finds_the_gpu_schedule_files_without_a_gpu(target, device, arch, file):
    pipe = matmul.pipeline()
    sched, origin = vx.api.resolve_schedule(pipe, "auto", Target(target), device, None, arch)
    assert origin == f"file:{ROOT / 'schedules' / 'matmul' / file} (the device's file)"
    assert sched == vx.Schedule.load(ROOT / "schedules" / "matmul" / file, pipe)


def test_compile_for_h100_by_name_reports_the_shipped_schedule():
    """Acceptance: the H100's name and arch, no GPU → the committed H100 schedule, with
    cp.async copies in the CUBIN's source."""
    k = vx.compile(matmul.pipeline(), schedule="auto", target="cuda", arch="sm_90",
                   device="NVIDIA H100 80GB HBM3")
    assert k.origin.startswith(f"file:{ROOT / 'schedules' / 'matmul' / 'nvidia-h100.toml'}")
    assert k.arch == "sm_90" and "__pipeline_memcpy_async(" in k.source and k.binary


def test_unknown_device_and_arch_without_files_is_the_default():
    pipe = matmul.pipeline()
    assert vx.api.resolve_schedule(pipe, "auto", Target.CUDA, "NVIDIA T4", None, "sm_75")[1] \
        == "default"


def _write(path: Path, pipe, shape=None):
    s = vx.Schedule.default(pipe)
    if shape:
        s.meta["measured"] = {"shape": shape, "ms": 1.0}
    path.parent.mkdir(parents=True, exist_ok=True)
    s.save(path)
    return path


def test_pick_by_shape_then_class_then_device_file_then_nearest(tmp_path, monkeypatch):
    pipe = matmul.pipeline()
    monkeypatch.setattr(auto, "schedule_dirs", lambda: [tmp_path])
    base = tmp_path / "matmul"
    big = _write(base / "nvidia-h100" / "K=4096,M=4096,N=4096.toml", pipe,
                 {"M": 4096, "N": 4096, "K": 4096})
    odd = _write(base / "nvidia-h100" / "K=100,M=100,N=100.toml", pipe,
                 {"M": 100, "N": 100, "K": 100})

    def origin(shape):
        return vx.api.resolve_schedule(pipe, "auto", Target.CUDA, None, shape, "sm_90")[1]

    assert origin({"M": 4096, "N": 4096, "K": 4096}) == \
        f"file:{big} (measured at K=4096,M=4096,N=4096: this shape)"
    assert origin({"M": 1024, "N": 512, "K": 256}) == (
        f"file:{big} (measured at K=4096,M=4096,N=4096: same divisibility as "
        "K=256,M=1024,N=512)")
    assert origin({"M": 300, "N": 20, "K": 4}) == (
        f"file:{odd} (measured at K=100,M=100,N=100: same divisibility as K=4,M=300,N=20)")
    assert origin({"M": 7, "N": 7, "K": 7}) == (
        f"file:{odd} (measured at K=100,M=100,N=100: the nearest to K=7,M=7,N=7)")
    plain = _write(base / "nvidia-h100.toml", pipe)
    assert origin({"M": 7, "N": 7, "K": 7}) == f"file:{plain} (the device's file)"
    assert origin(None) == f"file:{plain} (the device's file)"


def test_divisibility_classes():
    assert auto.divisibility({"M": 96, "N": 1000, "K": 4096}) == {"M": 32, "N": 8, "K": 128}
    assert auto.shape_text({"N": 2, "M": 1}) == "M=1,N=2"


def test_arch_lists_are_sorted_numerically_and_include_variants():
    cuda = archs.supported("cuda")
    assert cuda.index("sm_90") < cuda.index("sm_90a") < cuda.index("sm_100")
    assert "sm_89a" not in cuda and "sm_100f" in cuda
    hip = archs.supported("hip")
    assert hip.index("gfx90a") < hip.index("gfx1030")
    assert archs.supported("opencl") == ()


@pytest.mark.parametrize("arch", ["sm_90a", "sm_100a", "sm_121"])
def test_arch_variants_compile(arch):
    """Every name of the CUDA table compiles (sm_103/sm_121 were refused before)."""
    pipe = matmul.pipeline()
    k = vx.compile(pipe, schedule=None, target="cuda", arch=arch)
    assert k.arch == arch and k.binary
    assert k.analysis()[0].occupancy is not None


def test_arch_facts_for_limits_and_occupancy():
    h100 = archs.facts("cuda", "sm_90a")
    assert h100.number == 90 and h100.async_copy and h100.resources.shared_optin == 227 * 1024
    assert archs.facts("cuda", "sm_75").async_copy is False
    assert archs.facts("cuda", "sm_121").resources == archs.CUDA_RESOURCES[120]
    assert archs.facts("hip", "gfx1031").resources.warp == 32
    assert archs.facts("hip", "gfx90a").resources.warp == 64


@pytest.mark.parametrize("target, arch, message", [
    ("cuda", "sm_89a", r"unknown CUDA arch 'sm_89a': this machine's NVRTC compiles for sm_75, "
                       r"sm_80, sm_86, .*sm_90, sm_90a, sm_100"),
    ("cuda", "SM-90", r"unknown CUDA arch 'SM-90': this machine's NVRTC compiles for sm_75, "),
    ("hip", "gfx942", r"unknown HIP arch 'gfx942': this machine's hiprtc compiles for gfx900, "),
    ("opencl", "sm_90", r"arch='sm_90' means nothing for target 'opencl': OpenCL kernels are "
                        r"compiled for the device by its driver"),
])
def test_bad_arch_is_a_compile_error_listing_the_valid_ones(target, arch, message):
    pipe = matmul.pipeline()
    with pytest.raises(vx.CompileError, match=message):
        vx.compile(pipe, schedule=None, target=target, arch=arch)
