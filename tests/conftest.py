"""Fixtures shared by every test directory.

- ``tests/`` is on ``sys.path`` (this conftest's directory), so tests ``import pipelines``.
- ``opencl_device``: the OpenCL device vx.compile(target="opencl") will use. Without pyopencl
  or a device that builds kernels (PoCL on CPU in CI), tests using it skip and say why.
- ``compiled``: vx.compile once per (pipeline, schedule key) for the whole session, so each
  schedule is built once and then runs every shape.
- Every lowering in the suite runs the IR invariant checker after each pass
  (``VORTEX_DEBUG=check``, see vortex.lower.passes), unless the environment says otherwise.
"""
from __future__ import annotations

import os

import compilers
import pipelines
import pytest

import vortex as vx

os.environ.setdefault("VORTEX_DEBUG", "check")
_KERNELS: dict = {}      # (pipeline name, schedule key) -> vx.Kernel


@pytest.fixture(scope="session")
def opencl_device():
    pytest.importorskip("pyopencl", reason='pyopencl is not installed: pip install '
                        '"pyopencl[pocl]"')
    from vortex.runtime.opencl_device import select_device, usable
    try:
        dev = select_device()
    except vx.DeviceError as e:
        pytest.skip(f"no OpenCL device: {e}")
    if not usable(dev):
        pytest.skip(f"OpenCL device {dev.name!r} cannot build kernels: apt-get install "
                    "pocl-opencl-icd, or pick another with VORTEX_OPENCL_DEVICE")
    return dev


@pytest.fixture(scope="session")
def compiled(opencl_device):
    """``compiled(name, key, schedule)`` → vx.Kernel of ``pipelines.pipe(name)`` on the OpenCL
    device, built once per (name, key)."""
    def get(name: str, key: str, schedule):
        if (name, key) not in _KERNELS:
            _KERNELS[name, key] = vx.compile(pipelines.pipe(name), schedule=schedule,
                                             target="opencl", device=opencl_device)
        return _KERNELS[name, key]
    return get


OFFLINE = {"cuda": "sm_90", "hip": "gfx90a"}   # what CI compiles for, without a GPU


@pytest.fixture(params=sorted(OFFLINE))
def offline(request):
    """``(target, build)`` for CUDA and HIP: ``build(pipe, schedule=None)`` compiles with NVRTC
    (sm_90) or hiprtc (gfx90a) without a GPU and returns the kernel (``.source``,
    ``.binary``). Skips, saying what to install, where the compiler is missing."""
    target = request.param
    compilers.NEED[target]()

    def build(pipe, schedule=None):
        sched = schedule if schedule is not None else vx.Schedule.default(pipe)
        kernel = vx.compile(pipe, schedule=sched, target=target, arch=OFFLINE[target])
        assert len(kernel.binary) > 0
        return kernel
    return target, build
