"""Fixtures for the end-to-end API tests: they need an OpenCL device that builds kernels."""
import pytest


@pytest.fixture(scope="session")
def opencl():
    pytest.importorskip("pyopencl", reason='needs pip install "pyopencl[pocl]"')
    from vortex.runtime.opencl_device import all_devices, select_device, usable
    if not all_devices() or not usable(select_device()):
        pytest.skip("no OpenCL device that can build kernels: run ./install.sh "
                    "(installs Debian's pocl-opencl-icd when pip's PoCL cannot)")
    return select_device()
