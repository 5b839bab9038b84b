"""Launches that do not fit the OpenCL device are schedule errors, found before anything is built
or launched (as on CUDA and HIP): the block (work-group) against ``CL_DEVICE_MAX_WORK_GROUP_SIZE``
and ``CL_DEVICE_MAX_WORK_ITEM_SIZES``, shared (local) memory against ``CL_DEVICE_LOCAL_MEM_SIZE``,
and after the build against the kernel's own ``CL_KERNEL_WORK_GROUP_SIZE``. Runs on PoCL in CI."""
import re
from dataclasses import replace

import pytest

import pipelines as P
import vortex as vx

pytest.importorskip("pyopencl", reason='the OpenCL runtime needs pip install "pyopencl[pocl]"')
from vortex.codegen import generate  # noqa: E402
from vortex.lower import lower  # noqa: E402
from vortex.runtime import load, opencl  # noqa: E402
from vortex.runtime.opencl_device import describe, device_limits  # noqa: E402
from vortex.tuner.device import device_info  # noqa: E402


@pytest.fixture
def build_forbidden(monkeypatch):
    def fail(*a, **k):
        pytest.fail("the OpenCL program was built although the launch limits were exceeded")
    monkeypatch.setattr(opencl.PROGRAM_CACHE, "get", fail)


def entry(s: vx.Schedule) -> str:
    """The name of the (single) kernel the schedule generates, as errors quote it."""
    (launch,) = generate(lower(s.pipe, s), "opencl").launches
    return launch.entry


def blur_tile(fy: int, fx: int) -> vx.Schedule:
    s = vx.Schedule(P.pipe("blur"))
    s["blur"].gpu_tile("y", "x", "yo", "xo", "yi", "xi", fy, fx)
    return s


def test_device_limits_are_the_devices(opencl_device):
    lim = device_limits(opencl_device)
    assert (lim.max_threads, lim.max_block, lim.max_shared) == (
        opencl_device.max_work_group_size, tuple(opencl_device.max_work_item_sizes),
        opencl_device.local_mem_size)
    assert device_info("opencl", opencl_device).limits == lim     # the tuner prunes with them


def test_oversized_block_is_a_schedule_error_at_compile(opencl_device, build_forbidden):
    """gpu_tile 64 × (twice the work-group limit / 64): refused by vx.compile, before the build."""
    limit = opencl_device.max_work_group_size
    s = blur_tile(64, 2 * limit // 64)
    with pytest.raises(vx.ScheduleError) as e:
        vx.compile(s.pipe, schedule=s, target="opencl", device=opencl_device)
    assert str(e.value) == (
        f"kernel {entry(s)!r} on {describe(opencl_device)}: a block of {2 * limit // 64}×64×1 = "
        f"{2 * limit} threads exceeds the limit of {limit} (per axis "
        f"{tuple(opencl_device.max_work_item_sizes)}); use smaller gpu_threads / gpu_tile factors")


def test_hand_written_block_too_large(device, scale_source, build_forbidden):
    with pytest.raises(vx.ScheduleError, match=re.escape(
            f"kernel 'scale' on {describe(device)}: a block of 8192×8192 = 67108864 threads "
            f"exceeds the limit of {device.max_work_group_size}")):
        load(scale_source(block=(8192, 8192)), device=device)


def test_oversized_local_memory_is_a_schedule_error(opencl_device, build_forbidden):
    """A shared compute_at footprint of (rows + 2) × 4096 floats over the device's local memory."""
    rows = opencl_device.local_mem_size // (4 * 4096) + 1
    s = vx.Schedule(P.pipe("blur"))
    s["blur"].tile("y", "x", "yo", "xo", "yi", "xi", rows, 4096).gpu_blocks("yo", "xo")
    s["blur_x"].compute_at("blur", "xo").store_in("shared")
    with pytest.raises(vx.ScheduleError) as e:
        vx.compile(s.pipe, schedule=s, target="opencl", device=opencl_device)
    assert str(e.value) == (
        f"kernel {entry(s)!r} on {describe(opencl_device)}: {(rows + 2) * 4096 * 4} bytes of "
        f"shared memory per block exceed the {opencl_device.local_mem_size} bytes allowed; the "
        f"biggest shared buffer is compute_at(...).store_in(\"shared\") of Func 'blur_x' "
        f"({(rows + 2) * 4096 * 4} bytes): compute 'blur_x' at an inner loop, use smaller "
        "tiles around its compute_at loop, or store_in(\"register\")")


def test_kernel_work_group_limit_checked_after_the_build(opencl_device, monkeypatch):
    """Where the device would allow the block but the built kernel does not (its
    CL_KERNEL_WORK_GROUP_SIZE), the error is the same, naming the kernel's limit."""
    real = device_limits(opencl_device)
    huge = replace(real, max_threads=2 ** 30, max_block=(2 ** 30,) * 3)
    monkeypatch.setattr(opencl, "device_limits", lambda dev: huge)
    s = blur_tile(64, 2 * real.max_threads // 64)
    with pytest.raises(vx.ScheduleError, match=re.escape(
            f"kernel {entry(s)!r} on {describe(opencl_device)} (as built): a block of "
            f"{2 * real.max_threads // 64}×64×1 = {2 * real.max_threads} threads exceeds the "
            "limit of ") + r"\d+ .*; use smaller gpu_threads / gpu_tile factors"):
        vx.compile(s.pipe, schedule=s, target="opencl", device=opencl_device)


def test_block_at_the_limit_runs(opencl_device):
    """The largest square block the device allows still compiles and matches the reference."""
    side = 1 << (opencl_device.max_work_group_size.bit_length() - 1) // 2
    s = blur_tile(side, side)
    kernel = vx.compile(s.pipe, schedule=s, target="opencl", device=opencl_device)
    args, ref = P.reference("blur", (37, 1023))
    P.assert_matches(kernel(**args), ref)
