"""vx.export / `vortex export`: the files are self-contained and build with the vendors'
compilers (nvcc for CUDA, hipcc for HIP); OpenCL export is a .cl plus launch metadata."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import pipelines as P
import vortex as vx

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ["blur", "unsharp", "matmul"]


def example_pipe(name):
    from vortex.examples import load_example
    path = ROOT / "examples" / f"{name}.py"
    if not path.exists():
        pytest.skip(f"examples/{name}.py is not in this checkout")
    return load_example(path).pipeline()


def schedule_for(pipe):
    path = ROOT / "schedules" / pipe.name / "pocl-cpu.toml"
    return path if path.exists() else None


def compile_with(tool, args, cwd):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (CI installs it; see .ci/run)")
    r = subprocess.run([tool, *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "HIP_PLATFORM": "amd"})
    assert r.returncode == 0, r.stderr[-3000:]


@pytest.mark.parametrize("name", EXAMPLES)
def test_exported_cuda_compiles_with_nvcc(tmp_path, name):
    pipe = example_pipe(name)
    cu, h = vx.export(pipe, schedule=schedule_for(pipe), target="cuda", out_dir=tmp_path)
    assert cu.suffix == ".cu" and h.suffix == ".h"
    header = h.read_text()
    assert f'extern "C" cudaError_t {pipe.name}_launch(' in header
    assert "cudaStream_t stream" in header and "block (" in header and "[[" in header
    compile_with("nvcc", ["-c", cu.name, "-o", "k.o"], tmp_path)
    assert (tmp_path / "k.o").stat().st_size > 0


@pytest.mark.parametrize("name", EXAMPLES)
def test_exported_hip_compiles_with_hipcc(tmp_path, name):
    pipe = example_pipe(name)
    src, h = vx.export(pipe, schedule=schedule_for(pipe), target="hip", out_dir=tmp_path)
    assert src.suffix == ".hip"
    assert f'extern "C" hipError_t {pipe.name}_launch(' in h.read_text()
    compile_with("hipcc", ["--offload-arch=gfx90a", "-x", "hip", "-c", src.name, "-o", "k.o"],
                 tmp_path)
    assert (tmp_path / "k.o").stat().st_size > 0


def test_exported_launcher_allocates_intermediates_and_launches_in_order(tmp_path):
    pipe = P.pipe("blur")
    s = vx.Schedule.default(pipe)
    s["blur_x"].compute_root()
    cu, _ = vx.export(pipe, schedule=s, target="cuda", out_dir=tmp_path, name="myblur")
    text = cu.read_text()
    assert "cudaMallocAsync((void**)&blur_x" in text and "cudaFreeAsync(blur_x, stream)" in text
    assert text.index("blur_x_kernel<<<") < text.index("blur_kernel<<<")
    assert 'extern "C" cudaError_t myblur_launch(const float* img, float* blur' in text


def test_opencl_export_is_source_plus_launch_metadata(tmp_path):
    pipe = P.pipe("blur")
    cl, js = vx.export(pipe, schedule=None, target="opencl", out_dir=tmp_path)
    assert "__kernel void blur_kernel" in cl.read_text()
    meta = json.loads(js.read_text())
    assert [x["entry"] for x in meta["launches"]] == ["blur_kernel"]
    assert meta["launches"][0]["block"] and meta["outputs"] == ["blur"]
    assert {b["name"] for b in meta["buffers"]} == {"img", "blur"}


def test_vortex_export_command(tmp_path):
    r = subprocess.run([sys.executable, "-m", "vortex.cli", "export", "examples/blur.py",
                        "--target", "cuda", "--out-dir", str(tmp_path)], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "blur.cu").exists() and (tmp_path / "blur.h").exists()
    assert "wrote" in r.stdout


def test_export_for_sm90_has_async_copies_and_builds_with_nvcc(tmp_path):
    """`vortex export examples/matmul.py --target cuda --arch sm_90 --schedule …nvidia-h100.toml`
    writes cp.async copies, names the arch in its header, and builds with nvcc -arch=sm_90."""
    r = subprocess.run([sys.executable, "-m", "vortex.cli", "export", "examples/matmul.py",
                        "--target", "cuda", "--arch", "sm_90", "--schedule",
                        "schedules/matmul/nvidia-h100.toml", "--out-dir", str(tmp_path)],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("arch: sm_90\n")
    cu, h = tmp_path / "matmul.cu", tmp_path / "matmul.h"
    assert "__pipeline_memcpy_async(" in cu.read_text()
    assert "// Arch: sm_90\n" in h.read_text()
    compile_with("nvcc", ["-arch=sm_90", "-c", cu.name, "-o", "k.o"], tmp_path)
    assert (tmp_path / "k.o").stat().st_size > 0


def test_export_without_arch_names_the_arch_it_chose(tmp_path):
    r = subprocess.run([sys.executable, "-m", "vortex.cli", "export", "examples/matmul.py",
                        "--target", "cuda", "--out-dir", str(tmp_path)], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    note = ("sm_75 (none given: code for every CUDA GPU Vortex supports; pass --arch (arch= in "
            "Python) sm_80 or newer for asynchronous cp.async copies)")
    assert r.stdout.startswith(f"arch: {note}\n")
    assert f"// Arch: {note}\n" in (tmp_path / "matmul.h").read_text()
    assert "__pipeline_memcpy_async(" not in (tmp_path / "matmul.cu").read_text()


def test_export_auto_uses_the_schedule_file_of_the_archs_device(tmp_path):
    pipe = example_pipe("matmul")
    cu, h = vx.export(pipe, target="cuda", arch="sm_90", out_dir=tmp_path)
    assert "Schedule origin: file:" in h.read_text()
    assert "schedules/matmul/nvidia-h100.toml (the device's file)" in h.read_text()
    assert "__pipeline_memcpy_async(" in cu.read_text()


def test_export_with_an_unknown_arch_is_a_compile_error(tmp_path):
    r = subprocess.run([sys.executable, "-m", "vortex.cli", "export", "examples/blur.py",
                        "--target", "cuda", "--arch", "sm_61", "--out-dir", str(tmp_path)],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert r.stderr.startswith("vortex: CompileError: unknown CUDA arch 'sm_61': this machine's "
                               "NVRTC compiles for sm_75, sm_80,")
    assert not list(tmp_path.iterdir())


def test_exported_launcher_opts_in_to_100_kib_of_dynamic_shared_memory(tmp_path):
    """Issue 11 acceptance 4: the launcher sets cudaFuncAttributeMaxDynamicSharedMemorySize to
    the kernel's 102400 bytes before launching it with them, and builds with nvcc for sm_90."""
    from dynamic_shared_cases import staged_matmul
    pipe, s = staged_matmul()
    cu, h = vx.export(pipe, schedule=s, target="cuda", arch="sm_90", out_dir=tmp_path)
    code = cu.read_text()
    assert "extern __shared__ __align__(16) unsigned char vx_smem[];" in code
    assert ("  if ((err = cudaFuncSetAttribute(C_kernel, "
            "cudaFuncAttributeMaxDynamicSharedMemorySize, 102400)) != cudaSuccess) return err;\n"
            ) in code
    assert code.index("cudaFuncSetAttribute(") < code.index("C_kernel<<<")
    assert ", dim3(16, 16, 1), 102400, stream>>>(A, B, C, K, M, N);" in code
    assert "102400 bytes of shared memory (dynamic: the launcher opts in)" in h.read_text()
    compile_with("nvcc", ["-arch=sm_90", "-c", cu.name, "-o", "k.o"], tmp_path)
    assert (tmp_path / "k.o").stat().st_size > 0


def test_exported_hip_launcher_sets_the_attribute_too(tmp_path):
    """Without an arch (no HIP default) the 100 KiB kernel is exported for archs with that much
    LDS (gfx950); hipcc builds it (here for gfx90a, which could not launch it)."""
    from dynamic_shared_cases import staged_matmul
    pipe, s = staged_matmul()
    src, _ = vx.export(pipe, schedule=s, target="hip", out_dir=tmp_path)
    code = src.read_text()
    assert ("  if ((err = hipFuncSetAttribute((const void*)C_kernel, "
            "hipFuncAttributeMaxDynamicSharedMemorySize, 102400)) != hipSuccess) return err;\n"
            ) in code
    compile_with("hipcc", ["--offload-arch=gfx90a", "-x", "hip", "-c", src.name, "-o", "k.o"],
                 tmp_path)


@pytest.mark.parametrize("target, arch, limit", [("cuda", None, 65536), ("cuda", "sm_86", 101376),
                                                 ("hip", "gfx90a", 65536)])
def test_export_for_an_arch_without_enough_shared_memory_is_refused(tmp_path, target, arch,
                                                                    limit):
    from dynamic_shared_cases import staged_matmul
    pipe, s = staged_matmul()
    shown = arch or "sm_75"   # CUDA's default export arch
    with pytest.raises(vx.ScheduleError) as e:
        vx.export(pipe, schedule=s, target=target, arch=arch, out_dir=tmp_path)
    assert str(e.value).startswith(f"kernel 'C_kernel' on {shown}: 102400 bytes of shared "
                                   f"memory per block exceed the {limit} bytes allowed; the "
                                   "biggest shared buffer is stage(A, ...)")
    assert not list(tmp_path.iterdir())
