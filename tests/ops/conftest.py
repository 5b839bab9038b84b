"""Fixtures for the Halide-vocabulary tests: run a pipeline on PoCL against its reference, and
compile it offline for CUDA (NVRTC, sm_90) and HIP (hiprtc, gfx90a) without a GPU.

``offline`` (tests/conftest.py) is parametrized over the two offline targets; each skips,
saying what to install, where its compiler is missing (CI installs both)."""
import numpy as np
import pytest

import vortex as vx

SIZES = (1, 7, 13, 1031)          # 1, primes, not a multiple of the 64-wide block


def vector_schedule(pipe, func: str, var: str):
    """64-wide blocks whose threads each compute 4 lanes (OpenCL prints float4 code)."""
    xo, xi = vx.vars("xo xi")
    s = vx.Schedule(pipe)
    s[func].split(var, xo, xi, 64).vectorize(xi, 4).gpu_blocks(xo).gpu_threads(xi)
    return s


@pytest.fixture(scope="session")
def run_pocl(opencl_device):
    """``run_pocl(pipe, inputs_for, schedule=None, check=...)``: compile on PoCL (default
    schedule unless given), then for every size in SIZES call the kernel on ``inputs_for(n)``
    and ``check(got, reference)`` (default: bit-identical); returns the kernel."""
    def run(pipe, inputs_for, schedule=None, check=None):
        sched = schedule if schedule is not None else vx.Schedule.default(pipe)
        kernel = vx.compile(pipe, schedule=sched, target="opencl", device=opencl_device)
        for n in SIZES:
            args = inputs_for(n)
            got, ref = kernel(**args), pipe.reference(**args)
            assert got.dtype == ref.dtype and got.shape == ref.shape
            (check or np.testing.assert_array_equal)(got, ref)
        return kernel
    return run
