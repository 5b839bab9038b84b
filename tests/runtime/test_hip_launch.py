"""Launching HIP kernels: the host side (allocations, copies, kernel parameters, grid, timing)
against an emulated HIP runtime, which runs everywhere, and real launches checked against
``pipe.reference``, which need an AMD GPU and skip without one."""
import ctypes
from dataclasses import replace

import numpy as np
import pytest

import pipelines as P
import vortex as vx
from vortex.runtime import rocm

if rocm.library() is None:
    pytest.skip("libamdhip64 (ROCm) not found: apt-get install libamdhip64-dev "
                "libhiprtc-builtins5 rocm-device-libs libamd-comgr-dev", allow_module_level=True)
pytest.importorskip("msgpack", reason="reading HIP code object metadata needs pip install msgpack")
from hip_cases import GOOD, N, blur_shared, hand_source, matmul_tiled  # noqa: E402
from hip_cases import private_cache  # noqa: E402,F401 - the autouse fixture
from vortex.algorithm.binding import Binding  # noqa: E402
from vortex.codegen.kernel_source import BufferArg, BufferRole  # noqa: E402
from vortex.runtime.hip import HIPExecutable, HIPRuntime, _device_pointer  # noqa: E402

DEVICES, NO_DEVICE_REASON = rocm.library().devices()
gpu = pytest.mark.skipif(not DEVICES, reason=f"no HIP device ({NO_DEVICE_REASON})")


def test_cuda_array_interface_is_checked():
    class Fake:
        def __init__(self, shape, typestr="<f4", strides=None, ptr=0x1000):
            self.__cuda_array_interface__ = {"shape": shape, "typestr": typestr,
                                             "strides": strides, "data": (ptr, False)}
    f32 = np.dtype(np.float32)
    assert _device_pointer("img", Fake((3, 4)), (3, 4), f32) == 0x1000
    assert _device_pointer("img", Fake((3, 4), strides=(16, 4)), (3, 4), f32) == 0x1000
    with pytest.raises(vx.InputError, match="'img' must have shape .* float32, got .* float64"):
        _device_pointer("img", Fake((3, 4), "<f8"), (3, 4), f32)
    with pytest.raises(vx.InputError, match="'img' must be C-contiguous"):
        _device_pointer("img", Fake((3, 4), strides=(4, 12)), (3, 4), f32)
    with pytest.raises(vx.InputError, match="'img' starts at device address 0x1008, not a "
                       "multiple of 16 bytes"):
        _device_pointer("img", Fake((3, 4), ptr=0x1008), (3, 4), f32)      # a view a[2:]


class FakeHip:
    """The HIP runtime calls of a launch, emulated in host memory; every kernel computes
    ``a[i] = b[i] * 2`` for i < n. Checks the host side (allocations, copies, kernel parameters,
    grid, events) without a GPU."""

    def __init__(self):
        self.memory, self.launches = [], []

    def devices(self):
        return [(0, "Fake MI210", "gfx90a:sramecc+:xnack-")], ""

    def call(self, name, *args):
        if name == "hipMalloc":
            self.memory.append(np.zeros(args[1], np.uint8))
            args[0]._obj.value = self.memory[-1].ctypes.data
        elif name in ("hipMemcpyHtoD", "hipMemcpyDtoH"):
            ctypes.memmove(*args)
        elif name == "hipModuleLaunchKernel":
            fn, grid, block, params = args[0], args[1:4], args[4:7], args[9]
            b, a = (ctypes.c_void_p.from_address(params[i]).value for i in range(2))
            n = ctypes.c_int.from_address(params[2]).value
            self.launches.append((fn.value, grid, block, n))
            src, dst = ((ctypes.c_float * n).from_address(p) for p in (b, a))
            dst[:] = [v * 2 for v in src]
        elif name == "hipModuleGetFunction":
            args[0]._obj.value = 0xF00
        elif name == "hipEventElapsedTime":
            args[0]._obj.value = 0.25


def doubling_source():
    """A KernelSource whose launch of entry ``k`` takes an input b, an output a and n."""
    ks = hand_source(GOOD)
    b = BufferArg("b", vx.float32, BufferRole.INPUT, (N,), (0,))
    launch = replace(ks.launches[0], args=("b", "a", "n"))
    return replace(ks, buffers=(b,) + ks.buffers, launches=(launch,))


def test_launch_host_side_on_a_fake_device():
    binary = HIPRuntime().load(hand_source(GOOD), arch="gfx90a").binary
    fake = FakeHip()
    exe = HIPExecutable(doubling_source(), "gfx90a", binary, device=0, lib=fake)
    b = np.arange(100, dtype=np.float32)
    binding = Binding(arrays={"b": b}, params={}, dims={"n": 100})
    (out,) = exe.run(binding)
    np.testing.assert_array_equal(out, b * 2)
    assert fake.launches == [(0xF00, (2, 1, 1), (64, 1, 1), 100)]
    target = np.zeros(100, np.float32)
    assert exe.run(binding, out={"a": target})[0] is target
    np.testing.assert_array_equal(target, b * 2)
    assert exe.time(binding, warmup=1, repeat=3) == 0.25 and len(fake.launches) == 6
    with pytest.raises(vx.InputError, match="'b' must have shape \\(100,\\) and dtype float32"):
        exe.run(Binding(arrays={"b": b.astype(np.float64)}, params={}, dims={"n": 100}))


def test_a_device_of_another_arch_is_a_device_error():
    binary = HIPRuntime().load(hand_source(GOOD), arch="gfx908").binary
    exe = HIPExecutable(hand_source(GOOD), "gfx908", binary, device=0, lib=FakeHip())
    with pytest.raises(vx.DeviceError, match=r"compiled for gfx908 but HIP device 0 .*gfx90a"):
        exe.run(Binding(arrays={}, params={}, dims={"n": 4}))


# ---- on an AMD GPU --------------------------------------------------------------------------

@gpu
@pytest.mark.parametrize("shape", P.SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(P.BUILDERS))
def test_default_schedules_match_the_reference(name, shape):
    pipe = P.pipe(name)
    kernel = vx.compile(pipe, schedule=vx.Schedule.default(pipe), target="hip")
    args, ref = P.reference(name, shape)
    P.assert_matches(kernel(**args), ref)


@gpu
@pytest.mark.parametrize("make", [blur_shared, matmul_tiled], ids=["blur_shared", "matmul"])
def test_tiled_schedules_match_the_reference_and_time(make):
    pipe, s = make()
    kernel = vx.compile(pipe, schedule=s, target="hip")
    args, ref = P.reference(pipe.name, (37, 61))
    P.assert_matches(kernel(**args), ref)
    out = np.zeros_like(ref[0])
    assert kernel(out={pipe.outputs[0].name: out}, **args) is out
    P.assert_matches(out, ref)
    assert kernel.time(repeat=3, **args) > 0


@gpu
def test_cupy_arrays_are_used_in_place():
    cupy = pytest.importorskip("cupy", reason="zero-copy inputs need CuPy for ROCm")
    pipe = P.pipe("scale")
    kernel = vx.compile(pipe, schedule=vx.Schedule.default(pipe), target="hip")
    args, ref = P.reference("scale", (37, 61))
    out = kernel(img=cupy.asarray(args["img"]))
    assert isinstance(out, cupy.ndarray)
    P.assert_matches(cupy.asnumpy(out), ref)
