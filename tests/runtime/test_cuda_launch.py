"""CUDA launches, in two tiers.

- Host side under a fake driver (fake_cuda.FakeDriver; always runs): uploads, kernel-parameter
  packing, zero-copy device inputs (``__cuda_array_interface__``, DLPack), ``out=``, read-back,
  event timing, arch compatibility.
- On a real GPU (skipped with the reason when there is none): every example pipeline with every
  schedule in ``schedules/`` and every test pipeline against ``pipe.reference``, CuPy and
  PyTorch inputs without copies, device timing.
"""
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import pipelines as P
import vortex as vx

pytest.importorskip("cuda.bindings", reason='the CUDA runtime needs pip install "vortex[cuda]"')
from fake_cuda import OK, DLPackOnly, FakeDriver, HostBackedCudaArray  # noqa: E402
from dynamic_shared_cases import staged_matmul  # noqa: E402
from vortex.algorithm.binding import bind  # noqa: E402
from vortex.examples import load_example  # noqa: E402
from vortex.runtime import cuda, cuda_device, nvrtc  # noqa: E402
from vortex.runtime.cuda_arrays import DeviceArray  # noqa: E402
from vortex.runtime.cuda_device import CudaDevice, has_cuda_device  # noqa: E402
from vortex.archs import facts  # noqa: E402

try:
    nvrtc.version()
except vx.DeviceError as e:
    pytest.skip(f"NVRTC does not load: {e}", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
NO_GPU = "no CUDA device (the driver or a GPU is missing); these tests need an NVIDIA GPU"
gpu = pytest.mark.skipif(not has_cuda_device(), reason=NO_GPU)


@pytest.fixture(autouse=True, scope="module")
def private_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(nvrtc.CACHE_ENV, str(tmp_path_factory.mktemp("cuda-cache")))
        yield


# ---- host side under the fake driver ------------------------------------------------------------
@pytest.fixture
def fake(monkeypatch):
    """``fake(name, arch="sm_90", device_arch="sm_90")`` → (kernel, FakeDriver)."""
    def make(name, arch="sm_90", device_arch="sm_90"):
        pipe = P.pipe(name)
        kernel = vx.compile(pipe, schedule=vx.Schedule.default(pipe), target="cuda", arch=arch)
        drv = FakeDriver(kernel.kernel_source, pipe)
        dev = CudaDevice(0, "Fake GPU", device_arch, 0, "ctx", facts("cuda", device_arch).limits)
        monkeypatch.setattr(cuda_device, "_init", lambda: (drv, None))
        monkeypatch.setattr(cuda, "select_device", lambda selector=None: dev)
        return kernel, drv
    return make


@pytest.mark.parametrize("name", ["blur", "matmul", "scale"])
def test_numpy_inputs_are_uploaded_and_results_read_back(fake, name):
    kernel, drv = fake(name)
    for shape in [(1, 1), (37, 61)]:
        args, ref = P.reference(name, shape)
        P.assert_matches(kernel(**args), ref)
    assert drv.modules == 1                                 # the CUBIN is loaded once
    n_inputs = len(kernel.pipe.inputs)
    assert drv.copies == {"htod": 2 * n_inputs, "dtoh": 2}
    cfg = kernel.launch_config(**args)[0]
    assert drv.launches[-1]["grid"] == cfg["grid"] and drv.launches[-1]["block"] == cfg["block"]
    assert drv.launches[-1]["stream"] == 0 and drv.launches[-1]["shared"] == 0


def test_scalar_parameters_have_the_kernels_types(fake):
    kernel, drv = fake("blur")
    args, _ = P.reference("blur", (7, 13))
    kernel(**args)
    values = drv.launches[-1]["values"]
    assert values["gain"].dtype == np.float32 and values["gain"] == np.float32(1.5)
    assert values["H"].dtype == np.int32 and (values["H"], values["W"]) == (7, 13)


def test_device_inputs_are_not_copied(fake):
    kernel, drv = fake("blur")
    args, ref = P.reference("blur", (5, 9))
    out = kernel(img=HostBackedCudaArray(args["img"]), gain=args["gain"])
    assert drv.copies["htod"] == 0 and isinstance(out, DeviceArray)   # device in, device out
    P.assert_matches(out.get(), ref)
    dl = kernel(img=DLPackOnly(args["img"]), gain=args["gain"])
    P.assert_matches(dl.get(), ref)
    assert drv.copies["htod"] == 0


def test_out_arrays_are_written_in_place(fake):
    kernel, drv = fake("scale")
    args, ref = P.reference("scale", (4, 6))
    host = np.zeros((4, 6), np.float32)
    assert kernel(out={"scale": host}, **args) is host
    P.assert_matches(host, ref)
    dev = HostBackedCudaArray(np.zeros((4, 6), np.float32))
    assert kernel(out={"scale": dev}, **args) is dev and drv.copies["dtoh"] == 1
    P.assert_matches(dev.array, ref)
    with pytest.raises(vx.InputError, match=r"out\['scale'\] must be a C-contiguous array"):
        kernel(out={"scale": np.zeros((6, 4), np.float32)}, **args)
    with pytest.raises(vx.InputError, match="not outputs of 'scale'"):
        kernel(out={"nope": host}, **args)


def test_non_contiguous_device_input_is_an_input_error(fake):
    kernel, _ = fake("scale")
    img = np.zeros((4, 12), np.float32)[:, ::2]
    with pytest.raises(vx.InputError, match="'img' is not C-contiguous"):
        kernel(img=HostBackedCudaArray(img))


def test_time_is_the_median_of_event_intervals(fake):
    kernel, drv = fake("scale")
    args, _ = P.reference("scale", (8, 8))
    assert kernel.time(warmup=2, repeat=5, **args) == 0.25
    assert len(drv.launches) == 7
    with pytest.raises(vx.InputError, match="repeat >= 1"):
        kernel.time(repeat=0, **args)


def test_a_cubin_for_another_arch_is_a_device_error(fake):
    kernel, drv = fake("scale", arch="sm_90", device_arch="sm_80")
    with pytest.raises(vx.DeviceError, match=r"compiled for sm_90.*arch='sm_80'"):
        kernel(**P.reference("scale", (2, 2))[0])
    assert drv.modules == 0


def test_minor_arch_compatibility():
    assert cuda._compatible("sm_80", "sm_86") and cuda._compatible("sm_90", "sm_90")
    assert not cuda._compatible("sm_86", "sm_80") and not cuda._compatible("sm_80", "sm_90")


class OptInDriver(FakeDriver):
    """FakeDriver that also records cuFuncSetAttribute calls (dynamic shared memory opt-in)."""

    CUfunction_attribute = SimpleNamespace(CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES=8)

    def __init__(self, *a):
        super().__init__(*a)
        self.attributes = []

    def cuFuncSetAttribute(self, f, attr, value):
        self.attributes.append((f, attr, value))
        return (OK,)


def test_dynamic_shared_memory_opt_in_and_launch_size(monkeypatch):
    """A 100 KiB kernel: its function opts in once, at load, to 102400 bytes of dynamic shared
    memory, and every launch passes them (host side; the fake computes the reference)."""
    pipe, s = staged_matmul()
    kernel = vx.compile(pipe, schedule=s, target="cuda", arch="sm_90")
    drv = OptInDriver(kernel.kernel_source, pipe)
    dev = CudaDevice(0, "Fake GPU", "sm_90", 0, "ctx", facts("cuda", "sm_90").limits)
    monkeypatch.setattr(cuda_device, "_init", lambda: (drv, None))
    monkeypatch.setattr(cuda, "select_device", lambda selector=None: dev)
    for shape in [(1, 1), (37, 61)]:
        args, ref = P.reference("matmul", shape)
        P.assert_matches(kernel(**args), ref)
    assert drv.attributes == [("C_kernel", 8, 102400)]
    assert [launch["shared"] for launch in drv.launches] == [102400, 102400]


# ---- on a real GPU ------------------------------------------------------------------------------
def _example_inputs(pipe, sizes=(3, 37, 53)):
    """Random inputs with awkward sizes (Dims in order get 3, 37, 53, …) and Params of 1.5."""
    rng = np.random.default_rng(0)
    dims = {name: sizes[i % len(sizes)] for i, name in enumerate(sorted(pipe.dims))}
    args = {name: rng.random(tuple(dims[d.name] for d in inp.shape)).astype(inp.dtype.np)
            for name, inp in pipe.inputs.items()}
    args.update({name: p.dtype.np.type(1.5) for name, p in pipe.params.items()})
    return args


def _schedules(example):
    pipe = load_example(example).pipeline()
    yield pipe, vx.Schedule.default(pipe), "default"
    for toml in sorted((ROOT / "schedules" / pipe.name).glob("*.toml")):
        yield pipe, vx.Schedule.load(toml, pipe), toml.stem


@gpu
@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_examples_match_the_reference_on_the_gpu(example):
    for pipe, schedule, label in _schedules(example):
        kernel = vx.compile(pipe, schedule=schedule, target="cuda")
        args = _example_inputs(pipe)
        np.testing.assert_allclose(kernel(**args), pipe.reference(**args), rtol=1e-5,
                                   atol=1e-6, err_msg=f"{pipe.name} with schedule {label}")
        assert kernel.time(**args) > 0
        assert kernel._exe.arch == kernel._exe.device.arch   # no arch=: the device's own


@gpu
@pytest.mark.parametrize("name", sorted(P.BUILDERS))
def test_pipelines_match_the_reference_on_the_gpu(name):
    pipe = P.pipe(name)
    kernel = vx.compile(pipe, schedule=vx.Schedule.default(pipe), target="cuda")
    for shape in P.SHAPES:
        args, ref = P.reference(name, shape)
        P.assert_matches(kernel(**args), ref)


@gpu
@pytest.mark.parametrize("ki, stages", [(25, 4), (8, 4)], ids=["100KiB-dynamic", "32KiB-static"])
def test_staged_matmul_over_48_kib_matches_the_reference_on_the_gpu(ki, stages):
    """Dynamic shared memory on a real device (sm_80 or newer: 102400 bytes need the opt-in)
    at awkward sizes: M, N not multiples of the 128 tile, K of the ko step, several ko steps."""
    dev = cuda_device.select_device()
    if dev.limits.max_shared < 102400:
        pytest.skip(f"{dev.name} has {dev.limits.max_shared} bytes of shared memory per block")
    pipe, s = staged_matmul(ki, stages)
    kernel = vx.compile(pipe, schedule=s, target="cuda")
    assert kernel.kernel_source.launches[0].dynamic_shared is (ki == 25)
    rng = np.random.default_rng(1)
    for m, n, k in [(1, 1, 1), (131, 257, 103), (256, 128, 200)]:
        args = {"A": rng.random((m, k), np.float32), "B": rng.random((k, n), np.float32)}
        np.testing.assert_allclose(kernel(**args), pipe.reference(**args), rtol=1e-4, atol=1e-4,
                                   err_msg=f"M, N, K = {m}, {n}, {k}")


@gpu
def test_cupy_arrays_are_used_in_place(monkeypatch):
    cupy = pytest.importorskip("cupy", reason="CuPy is not installed")
    kernel = vx.compile(P.pipe("blur"), schedule=vx.Schedule.default(P.pipe("blur")),
                        target="cuda")
    args, ref = P.reference("blur", (37, 61))
    img = cupy.asarray(args["img"])
    monkeypatch.setattr(DeviceArray, "from_host", lambda *a: pytest.fail("input was copied"))
    out = kernel(img=img, gain=args["gain"])
    assert isinstance(out, cupy.ndarray)
    P.assert_matches(cupy.asnumpy(out), ref)
    given = cupy.zeros_like(img)
    assert kernel(out={"blur": given}, img=img, gain=args["gain"]) is given
    P.assert_matches(cupy.asnumpy(given), ref)


@gpu
def test_torch_tensors_are_used_in_place(monkeypatch):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    if not torch.cuda.is_available():
        pytest.skip("PyTorch has no CUDA support here")
    pipe = P.pipe("blur")
    kernel = vx.compile(pipe, schedule=vx.Schedule.default(pipe), target="cuda")
    args, ref = P.reference("blur", (37, 61))
    binding = bind(pipe, args, contiguous=True)   # sizes and params from the numpy arguments
    img = torch.from_numpy(args["img"]).cuda()
    monkeypatch.setattr(DeviceArray, "from_host", lambda *a: pytest.fail("input was copied"))
    (out,) = kernel._exe.run(type(binding)(binding.dims, {"img": img}, binding.params))
    assert isinstance(out, torch.Tensor) and out.is_cuda
    P.assert_matches(out.cpu().numpy(), ref)
    (dl,) = kernel._exe.run(type(binding)(binding.dims, {"img": DLPackOnly(img)},
                                          binding.params))
    P.assert_matches(dl.get(), ref)
