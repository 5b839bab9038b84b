"""OpenCL device selection and identity, and the runtime registry."""
import subprocess
import sys
from types import SimpleNamespace

import pytest

import vortex as vx

cl = pytest.importorskip("pyopencl", reason='the OpenCL runtime needs pip install "pyopencl[pocl]"')
from vortex.runtime import base, load, runtime  # noqa: E402
from vortex.runtime.opencl import OpenCLRuntime  # noqa: E402
from vortex.runtime.opencl_device import (ENV_VAR, all_devices, describe, device_key,  # noqa: E402
                                          device_slug, list_devices, pocl_version,
                                          runs_wide_vectors, select_device, usable)
from vortex.target import Target  # noqa: E402


@pytest.fixture(autouse=True)
def no_env(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)


def test_select_by_argument(device):
    devices = all_devices()
    assert select_device(device) is device
    assert select_device(devices.index(device)) == device
    assert select_device(describe(device).upper()) == device       # case-insensitive
    assert select_device(device.name.strip()[2:]) in devices         # any part of the name


def test_select_by_env_var(device, monkeypatch, scale_source):
    monkeypatch.setenv(ENV_VAR, describe(device).lower())
    assert select_device() == device
    monkeypatch.setenv(ENV_VAR, str(all_devices().index(device)))
    assert load(scale_source(), device=None).device == device


def test_argument_wins_over_env_var(device, monkeypatch):
    monkeypatch.setenv(ENV_VAR, "no such device anywhere")
    assert select_device(describe(device)) == device


@pytest.mark.parametrize("how", ["env", "arg", "index"])
def test_unknown_device_lists_the_available_ones(device, monkeypatch, how):
    selector = {"env": None, "arg": "Voodoo Banshee", "index": 999}[how]
    if how == "env":
        monkeypatch.setenv(ENV_VAR, "Voodoo Banshee")
    with pytest.raises(vx.DeviceError) as e:
        select_device(selector)
    msg = str(e.value)
    assert ("$VORTEX_OPENCL_DEVICE" if how == "env" else "device=") in msg
    assert "available devices" in msg and describe(device) in msg


def test_no_driver_says_how_to_install_one(monkeypatch):
    from vortex.runtime import opencl_device
    monkeypatch.setattr(opencl_device, "all_devices", lambda: [])
    with pytest.raises(vx.DeviceError, match=r'pip install "pyopencl\[pocl\]"'):
        select_device()


def test_default_prefers_gpu_then_pocl_cpu(device):
    gpus = [d for d in all_devices() if d.type & cl.device_type.GPU]
    if gpus:
        assert device.type & cl.device_type.GPU
    else:
        assert device_slug(device) == "pocl-cpu"


def test_the_default_device_runs_wide_vector_builtins(device):
    """What install.sh checks in a subprocess: the chosen device runs 16-wide built-ins (pip's
    PoCL on an AVX-512 CPU its LLVM 14 does not know crashes here; install.sh then adds
    Debian's PoCL, which the default prefers as the newer one)."""
    code = ("import sys; from vortex.runtime.opencl_device import select_device, "
            "runs_wide_vectors; sys.exit(0 if runs_wide_vectors(select_device()) else 1)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, (describe(device), r.returncode, r.stderr[-2000:])


def test_the_newest_pocl_is_preferred(monkeypatch):
    from vortex.runtime import opencl_device
    def pocl(version):
        d = _fake("Portable Computing Language", "cpu", cl.device_type.CPU)
        d.platform.version = version
        return d
    old = pocl("OpenCL 3.0 PoCL 3.0-rc2  Linux, Release, LLVM 14.0.6")
    new = pocl("OpenCL 3.0 PoCL 3.1+debian  Linux, LLVM 15.0.6")
    assert pocl_version(old) == (3, 0) and pocl_version(new) == (3, 1)
    assert pocl_version(pocl("OpenCL 1.2 AMD-APP")) == ()
    monkeypatch.setattr(opencl_device, "usable", lambda d: True)
    assert opencl_device._default([old, new]) is new


def test_exact_name_wins_over_a_partial_match(device):
    assert select_device(device.name.strip()).name == device.name


def test_a_driver_that_cannot_compile_is_a_device_error(device, scale_source):
    broken = [d for d in all_devices() if not usable(d)]
    if not broken:
        pytest.skip("every OpenCL device here builds kernels")
    with pytest.raises((vx.DeviceError, vx.CompileError), match="cannot compile|build failed"):
        load(scale_source(), device=broken[0])


def test_list_devices(device):
    rows = list_devices()
    assert all(len(r) == 4 and all(isinstance(s, str) for s in r) for r in rows)
    assert (device.platform.name.strip(), device.name.strip()) in [r[:2] for r in rows]
    assert any("OpenCL" in r[3] for r in rows)


def test_device_key_is_stable_and_complete(device):
    key = device_key(device)
    assert key == device_key(select_device(describe(device)))
    assert key.split("|") == [device.platform.name.strip(), device.name.strip(),
                              device.driver_version.strip(), device.version.strip()]


def _fake(platform, name, kind):
    return SimpleNamespace(platform=SimpleNamespace(name=platform), name=name, type=kind)


@pytest.mark.parametrize("platform, name, kind, slug", [
    ("NVIDIA CUDA", "NVIDIA GeForce RTX 4090", cl.device_type.GPU, "nvidia-geforce-rtx-4090"),
    ("Intel(R) OpenCL Graphics", "Intel(R) UHD Graphics 620", cl.device_type.GPU,
     "intel-uhd-graphics-620"),
    ("AMD Accelerated Parallel Processing", "gfx90a:sramecc+:xnack-", cl.device_type.GPU,
     "gfx90a-sramecc-xnack"),
    ("Portable Computing Language", "pthread-AMD EPYC 7763 64-Core Processor",
     cl.device_type.CPU, "pocl-cpu"),
])
def test_device_slug(platform, name, kind, slug):
    assert device_slug(_fake(platform, name, kind)) == slug


def test_registry_is_keyed_by_target(monkeypatch):
    monkeypatch.delitem(base.RUNTIMES, Target.HIP, raising=False)
    monkeypatch.delitem(base._INSTANCES, Target.HIP, raising=False)
    assert Target.OPENCL in base.RUNTIMES
    assert isinstance(runtime("opencl"), OpenCLRuntime) and runtime(Target.OPENCL).target \
        is Target.OPENCL
    with pytest.raises(vx.DeviceError, match="no runtime for target 'hip'"):
        runtime("hip")


def test_importing_vortex_does_not_import_pyopencl():
    code = "import sys, vortex, vortex.runtime; assert 'pyopencl' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
