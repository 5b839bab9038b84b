"""Fixtures for runtime tests: a tiny pipeline (only to get Bindings) and hand-written kernels.

Runtime tests do not depend on lowering or code generation: every kernel here is OpenCL C written
by hand and wrapped in a KernelSource. They need pyopencl and a device that builds kernels (PoCL
on CPU in CI); without one they skip, saying how to get one.
"""
import numpy as np
import pytest

import vortex as vx
from vortex.algorithm.binding import bind
from vortex.algorithm.symbolic import dim_symbol
from vortex.codegen.kernel_source import BufferArg, BufferRole, KernelSource, Launch, ScalarArg
from vortex.target import Target

H, W = dim_symbol("H"), dim_symbol("W")

SCALE = """\
__kernel void scale(__global const float *img, __global float *out,
                    const float gain, const int H, const int W)
{
    const int x = get_global_id(0), y = get_global_id(1);
    if (x < W && y < H)
        out[y * W + x] = img[y * W + x] * gain;
}
"""

TWO_STEP = """\
__kernel void add_one(__global const float *img, __global float *tmp, const int H, const int W)
{
    const int i = get_global_id(0);
    if (i < H * W) tmp[i] = img[i] + 1.0f;
}
__kernel void times_gain(__global const float *tmp, __global float *out, const float gain,
                         const int H, const int W)
{
    const int i = get_global_id(0);
    if (i < H * W) out[i] = tmp[i] * gain;
}
"""


@pytest.fixture(scope="session")
def device():
    pytest.importorskip("pyopencl", reason='the OpenCL runtime needs pip install "pyopencl[pocl]"')
    from vortex.runtime.opencl_device import all_devices, select_device, usable
    if not all_devices():
        pytest.skip("no OpenCL device: pip install \"pyopencl[pocl]\"")
    dev = select_device()
    if not usable(dev):
        pytest.skip(f"OpenCL device {dev.name!r} cannot build kernels (an old PoCL on a CPU its "
                    "LLVM does not know?): apt-get install pocl-opencl-icd")
    return dev


@pytest.fixture(scope="session")
def pipe():
    h, w = vx.dims("H W")
    y, x = vx.vars("y x")
    img = vx.Input("img", vx.float32, (h, w))
    gain = vx.Param("gain", vx.float32)
    out = vx.Func("out", shape=(h, w))
    out[y, x] = img[y, x] * gain
    return vx.Pipeline(out)


@pytest.fixture(scope="session")
def make_binding(pipe):
    """``make_binding(img, gain=2.0)`` → Binding of the ``pipe`` fixture."""
    return lambda img, gain=2.0: bind(pipe, {"img": img, "gain": gain}, contiguous=True)


def buffers(*extra):
    return (BufferArg("img", vx.float32, BufferRole.INPUT, (H, W), (0, 0)),
            BufferArg("out", vx.float32, BufferRole.OUTPUT, (H, W), (0, 0))) + extra


SCALARS = (ScalarArg("gain", vx.float32), ScalarArg("H", vx.int32), ScalarArg("W", vx.int32))


@pytest.fixture(scope="session")
def scale_code():
    """The OpenCL C of the ``scale`` kernel (out = img * gain), for tests that edit it."""
    return SCALE


@pytest.fixture(scope="session")
def scale_source():
    """``scale_source(code=SCALE, block=(8, 4))``: out = img * gain, one 2-D launch."""
    return _scale_source


def _scale_source(code=SCALE, block=(8, 4)):
    bx, by = block
    launch = Launch("scale", ((W + bx - 1) // bx, (H + by - 1) // by), block,
                    ("img", "out", "gain", "H", "W"))
    return KernelSource(Target.OPENCL, "out", code, (launch,), buffers(), SCALARS, ("out",))


@pytest.fixture(scope="session")
def two_step_source():
    """out = (img + 1) * gain in two 1-D launches through an INTERMEDIATE buffer ``tmp``."""
    tmp = BufferArg("tmp", vx.float32, BufferRole.INTERMEDIATE, (H * W,), (0,))
    grid = ((H * W + 63) // 64,)
    launches = (Launch("add_one", grid, (64,), ("img", "tmp", "H", "W")),
                Launch("times_gain", grid, (64,), ("tmp", "out", "gain", "H", "W")))
    return KernelSource(Target.OPENCL, "out", TWO_STEP, launches, buffers(tmp), SCALARS, ("out",))


@pytest.fixture
def image():
    return np.random.default_rng(0).standard_normal((5, 13)).astype(np.float32)
