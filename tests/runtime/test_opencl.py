"""The OpenCL runtime on hand-written kernels: numbers, launch order, arguments, timing, caching,
compile errors. Runs on PoCL (CPU) in CI."""
import numpy as np
import pytest

import vortex as vx

cl = pytest.importorskip("pyopencl", reason='the OpenCL runtime needs pip install "pyopencl[pocl]"')
cla = pytest.importorskip("pyopencl.array")
from vortex.runtime import load  # noqa: E402
from vortex.runtime.opencl import PROGRAM_CACHE, OpenCLExecutable  # noqa: E402


def test_run_matches_numpy(device, scale_source, make_binding, image):
    exe = load(scale_source(), device=device)
    assert isinstance(exe, OpenCLExecutable)
    (out,) = exe.run(make_binding(image, gain=1.5))
    assert isinstance(out, np.ndarray) and out.shape == (5, 13) and out.dtype == np.float32
    np.testing.assert_array_equal(out, image * np.float32(1.5))


def test_scalar_param_and_dims_reach_the_kernel(device, scale_source, make_binding):
    exe = load(scale_source(), device=device)
    for shape in [(1, 1), (7, 3), (17, 31)]:   # Dims H, W change the guards and the grid
        img = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
        (out,) = exe.run(make_binding(img, gain=-3.0))
        np.testing.assert_array_equal(out, img * -3)


def test_two_launches_in_order_through_an_intermediate(device, two_step_source, make_binding,
                                                       image):
    exe = load(two_step_source, device=device)
    (out,) = exe.run(make_binding(image, gain=2.0))
    np.testing.assert_allclose(out, (image + 1) * 2, rtol=1e-6)
    sizes = [c["global_size"] for c in exe.launch_config(make_binding(image))]
    assert sizes == [(128,), (128,)]   # 65 elements, 64-wide blocks


def test_pyopencl_array_inputs_are_used_in_place(device, scale_source, make_binding, image,
                                                 monkeypatch):
    exe = load(scale_source(), device=device)
    img_d = cla.to_device(exe.queue, image)
    monkeypatch.setattr(cla, "to_device", lambda *a, **k: pytest.fail("input was copied"))
    (out,) = exe.run(make_binding(img_d, gain=2.0))
    assert isinstance(out, cla.Array)     # device in, device out
    np.testing.assert_array_equal(out.get(), image * 2)
    img_d.fill(np.float32(3.0))           # the kernel reads this very buffer
    np.testing.assert_array_equal(exe.run(make_binding(img_d))[0].get(), np.full((5, 13), 6.0))


def test_out_arrays_are_written_in_place(device, scale_source, make_binding, image):
    exe = load(scale_source(), device=device)
    out_d = cla.zeros(exe.queue, (5, 13), np.float32)
    (res,) = exe.run(make_binding(image), out={"out": out_d})
    assert res is out_d
    np.testing.assert_array_equal(out_d.get(), image * 2)
    out_h = np.zeros((5, 13), np.float32)
    (res,) = exe.run(make_binding(image, gain=4.0), out={"out": out_h})
    assert res is out_h
    np.testing.assert_array_equal(out_h, image * 4)


def test_bad_out_arguments(device, scale_source, make_binding, image):
    exe = load(scale_source(), device=device)
    with pytest.raises(vx.InputError, match="not outputs of 'out'"):
        exe.run(make_binding(image), out={"blur": np.zeros((5, 13), np.float32)})
    with pytest.raises(vx.InputError, match=r"shape \(5, 13\) and dtype float32"):
        exe.run(make_binding(image), out={"out": cla.zeros(exe.queue, (5, 12), np.float32)})
    with pytest.raises(vx.InputError, match="C-contiguous"):
        exe.run(make_binding(image), out={"out": np.zeros((13, 5), np.float32).T})


def test_time_returns_positive_median_ms(device, two_step_source, make_binding, image):
    exe = load(two_step_source, device=device)
    ms = exe.time(make_binding(image), warmup=1, repeat=3)
    assert isinstance(ms, float) and 0 < ms < 1000
    with pytest.raises(vx.InputError, match="repeat >= 1"):
        exe.time(make_binding(image), repeat=0)


def test_launch_config(device, scale_source, make_binding, image):
    exe = load(scale_source(block=(8, 4)), device=device)
    assert exe.launch_config(make_binding(image)) == [
        {"entry": "scale", "grid": (2, 2), "block": (8, 4), "global_size": (16, 8),
         "shared_bytes": 0}]


def test_compile_error_shows_log_and_offending_line(device, scale_source, scale_code):
    broken = scale_code.replace("* gain;", "* gian;")
    with pytest.raises(vx.CompileError) as e:
        load(scale_source(code=broken), device=device)
    msg = str(e.value)
    assert "gian" in msg and "compiler log" in msg       # the log
    assert ">    6 |         out[y * W + x] = img[y * W + x] * gian;" in msg   # the line, marked
    assert "     4 |" in msg and "     7 |" in msg       # with context
    assert "scale" in msg and "-cl-std=CL1.2" in msg     # the entry and the options


def test_missing_entry_is_a_compile_error(device, scale_source):
    ks = scale_source(code=SCALE_RENAMED)
    with pytest.raises(vx.CompileError, match="kernel 'scale' is not defined"):
        load(ks, device=device)


SCALE_RENAMED = "__kernel void other(__global float *a) { a[0] = 1.0f; }\n"


def test_second_load_of_same_source_does_not_rebuild(device, scale_source, scale_code):
    code = "// cache test %d\n" % id(object()) + scale_code
    builds, hits = PROGRAM_CACHE.builds, PROGRAM_CACHE.hits
    a = load(scale_source(code=code), device=device)
    b = load(scale_source(code=code), device=device)
    assert PROGRAM_CACHE.builds == builds + 1 and PROGRAM_CACHE.hits == hits + 1
    assert a.kernels["scale"].program == b.kernels["scale"].program
    load(scale_source(code=code), device=device, build_options=("-DVORTEX_TEST=1",))
    assert PROGRAM_CACHE.builds == builds + 2          # options are part of the key


def test_half_arithmetic_needs_cl_khr_fp16(device, scale_source, scale_code):
    if "cl_khr_fp16" in device.extensions.split():
        pytest.skip(f"{device.name} has cl_khr_fp16: nothing to refuse")
    code = "#pragma OPENCL EXTENSION cl_khr_fp16 : enable\n" + scale_code
    with pytest.raises(vx.DeviceError, match="half-precision arithmetic.*cl_khr_fp16"):
        load(scale_source(code=code), device=device)


def test_non_contiguous_numpy_input_is_an_input_error(make_binding):
    img = np.zeros((13, 5), np.float32).T
    with pytest.raises(vx.InputError, match="not C-contiguous"):
        make_binding(img)


def test_device_array_of_another_context_is_an_input_error(device, scale_source, make_binding,
                                                           image):
    exe = load(scale_source(), device=device)
    other = cl.CommandQueue(cl.Context([device]))
    with pytest.raises(vx.InputError, match="another context"):
        exe.run(make_binding(cla.to_device(other, image)))


def test_launch_argument_naming_nothing_is_a_compile_error(device, scale_source):
    ks = scale_source()
    launch = ks.launches[0]
    bad = type(launch)(launch.entry, launch.grid, launch.block, launch.args + ("bias",))
    with pytest.raises(vx.CompileError, match=r"arguments \['bias'\] name no buffer"):
        load(type(ks)(ks.target, ks.pipeline, ks.code, (bad,), ks.buffers, ks.scalars,
                      ks.outputs), device=device)
