"""vortex.lib.ntt (issue #14 acceptance 1): for BabyBear and Goldilocks, the NTT of lengths
2**1 … 2**12 equals ``sympy.discrete.transforms.ntt`` (same prime, same root) in
``pipe.reference`` and on PoCL, the inverse round-trips (so it is sympy's ``intt`` on those
inputs), NTT-based polynomial products (examples/ntt.py) equal schoolbook products mod p, and
the kernels compile for sm_90 and gfx90a with the schedule of vortex.lib.ntt.schedule_stages.

Cost: each length is one pipeline with two outputs (the transform, and the inverse of it), and
every Func a root kernel; the GPU compiles take length 2**9."""
from pathlib import Path

import numpy as np
import pytest
from sympy.discrete.transforms import ntt as sympy_ntt

import vortex as vx
from vortex.examples import load_example
from vortex.lib import ntt
from vortex.lib.fields import BABYBEAR, GOLDILOCKS

FIELDS = {"babybear": BABYBEAR, "goldilocks": GOLDILOCKS}
LOGS = range(1, 13)
EXAMPLE = load_example(Path(__file__).resolve().parents[2] / "examples" / "ntt.py")


def round_trip(F, log_n: int) -> vx.Pipeline:
    """Outputs ``X`` = NTT(x) and ``back`` = NTT⁻¹(X), values in and out."""
    n = 1 << log_n
    x = vx.Input("x", F.dtype, (n,))
    w = vx.Input("w", F.dtype, (n // 2,))
    fwd = ntt.define_ntt(F, lambda k: F.to_field(x[k]), w, log_n, "f")
    inv = ntt.define_ntt(F, lambda k: fwd.out[k], w, log_n, "g", inverse=True)
    i = vx.Var("i")
    X, back = vx.Func("X", shape=(n,)), vx.Func("back", shape=(n,))
    X[i] = F.from_field(fwd.out[i])
    back[i] = F.from_field(inv.out[i])
    return vx.Pipeline(X, back, name="ntt_round_trip")


def root_schedule(pipe, threads=64) -> vx.Schedule:
    """Every Func a root kernel of ``threads``-wide blocks, except the inverse's scaling
    (inlined into ``back``)."""
    s = vx.Schedule(pipe)
    outputs = {f.name for f in pipe.outputs}
    for f in pipe.funcs:
        if f.name.endswith("_scaled"):
            continue
        if f.name not in outputs:
            s[f.name].compute_root()
        s[f.name].split(f.pure_vars[0].name, "io", "ii", threads).gpu_blocks("io") \
            .gpu_threads("ii")
    return s


def values(F, n: int, seed: int) -> np.ndarray:
    """``n`` field values: 0, 1, p − 1 first, then random ones."""
    rng = np.random.default_rng(seed)
    v = rng.integers(0, F.p, n, dtype=np.uint64)
    v[:3] = [0, 1, F.p - 1][:n]
    return v.astype(F.dtype.np)


def call_args(pipe, F, log_n: int, x) -> dict:
    args = {"x": x, "w": ntt.twiddles(F, log_n)}
    return {k: v for k, v in args.items() if k in pipe.inputs}     # log_n = 1 reads no w


def expected(F, x) -> list:
    return sympy_ntt([int(v) for v in x], F.p)


# --- acceptance 1: against sympy, in the reference and on PoCL ------------------------------
@pytest.mark.parametrize("name", FIELDS)
def test_reference_matches_sympy_and_round_trips(name):
    F = FIELDS[name]
    for log_n in LOGS:
        x = values(F, 1 << log_n, log_n)
        pipe = round_trip(F, log_n)
        X, back = pipe.reference(**call_args(pipe, F, log_n, x))
        assert [int(v) for v in X] == expected(F, x), log_n
        assert np.array_equal(back, x), log_n


@pytest.mark.parametrize("log_n", LOGS)
@pytest.mark.parametrize("name", FIELDS)
def test_pocl_matches_sympy_and_round_trips(opencl_device, name, log_n):
    F = FIELDS[name]
    pipe = round_trip(F, log_n)
    kernel = vx.compile(pipe, schedule=root_schedule(pipe), target="opencl",
                        device=opencl_device)
    x = values(F, 1 << log_n, 100 + log_n)
    X, back = kernel(**call_args(pipe, F, log_n, x))
    assert [int(v) for v in X] == expected(F, x)
    assert np.array_equal(back, x)


def forward(F, log_n: int):
    """(pipeline, NTT): values in, values out (``y``), the transform's Funcs ``f_*``."""
    n = 1 << log_n
    x = vx.Input("x", F.dtype, (n,))
    w = vx.Input("w", F.dtype, (n // 2,))
    t = ntt.define_ntt(F, lambda k: F.to_field(x[k]), w, log_n, "f")
    i = vx.Var("i")
    y = vx.Func("y", shape=(n,))
    y[i] = F.from_field(t.out[i])
    return vx.Pipeline(y), t


@pytest.mark.parametrize("name", FIELDS)
def test_stage_schedule_on_pocl_in_montgomery_form(opencl_device, name):
    """``define_ntt`` on encoded elements (``to_field`` in the load, ``from_field`` after), as
    examples/ntt.py uses it, with schedule_stages at length 2**7 and 8-work-item blocks: long
    rows with one and two thread dimensions, short rows in a loop and unrolled."""
    F, log_n = FIELDS[name], 7
    n = 1 << log_n
    pipe, t = forward(F, log_n)
    s = vx.Schedule(pipe)
    ntt.schedule_stages(s, t, threads=8)
    s["y"].split("i", "io", "ii", 8).gpu_blocks("io").gpu_threads("ii")
    kernel = vx.compile(pipe, schedule=s, target="opencl", device=opencl_device)
    xv = values(F, n, 7)
    assert [int(v) for v in kernel(x=xv, w=ntt.twiddles(F, log_n))] == expected(F, xv)


# --- polynomial products ------------------------------------------------------------------------
def schoolbook(F, a, b) -> list:
    out = [0] * (len(a) + len(b) - 1)
    for i, u in enumerate(a):
        for j, v in enumerate(b):
            out[i + j] = (out[i + j] + int(u) * int(v)) % F.p
    return out


@pytest.mark.parametrize("log", [0, 2, 5])
@pytest.mark.parametrize("name", FIELDS)
def test_polynomial_product_equals_schoolbook(opencl_device, name, log):
    """examples/ntt.py's pipeline (M = 2**log coefficients) in the reference and on PoCL."""
    F = FIELDS[name]
    pipe = EXAMPLE.pipeline(log, field=F)
    args = EXAMPLE.inputs(log=log, field=F)
    want = schoolbook(F, args["a"], args["b"])
    args = {k: v for k, v in args.items() if k in pipe.inputs}
    assert [int(v) for v in pipe.reference(**args)] == want
    kernel = vx.compile(pipe, schedule=EXAMPLE.schedule(pipe, threads=4),
                        target="opencl", device=opencl_device)
    assert [int(v) for v in kernel(**args)] == want


# --- GPU compiles ------------------------------------------------------------------------------
@pytest.mark.parametrize("offline", ["cuda", "hip"], indirect=True)
@pytest.mark.parametrize("name", FIELDS)
def test_kernels_compile_for_gpus(offline, name):
    """The length-2**9 forward transform with schedule_stages (64-thread blocks: long rows with
    one and two thread dimensions, short rows a work item each, twiddle tables)."""
    target, build = offline
    F = FIELDS[name]
    pipe, t = forward(F, 9)
    s = vx.Schedule(pipe)
    ntt.schedule_stages(s, t, threads=64)
    s["y"].split("i", "io", "ii", 256).gpu_blocks("io").gpu_threads("ii")
    kernel = build(pipe, s)
    entries = [launch.entry for launch in kernel.kernel_source.launches]
    assert [e for e in entries if e.startswith("f_s")] == [f"f_s{k}_kernel" for k in range(9)]
    assert entries[-1] == "y_kernel" and kernel.binary


# --- errors -------------------------------------------------------------------------------------
@pytest.mark.parametrize("log_n", [0, 28, 2.0, True])
def test_length_out_of_range_is_a_type_error(log_n):
    with pytest.raises(vx.TypeError, match=r"log_n = .*from 1 to 27"):
        ntt.twiddles(BABYBEAR, log_n)


@pytest.mark.parametrize("threads", [0, 48, 2.0, True])
def test_threads_not_a_power_of_two_is_a_schedule_error(threads):
    pipe, t = forward(BABYBEAR, 3)
    with pytest.raises(vx.ScheduleError, match=r"threads = .* must be a power of two"):
        ntt.schedule_stages(vx.Schedule(pipe), t, threads=threads)


@pytest.mark.parametrize("radix", [3, 8, True])
def test_radix_other_than_2_or_4_is_a_schedule_error(radix):
    pipe, t = forward(BABYBEAR, 3)
    with pytest.raises(vx.ScheduleError, match=r"radix = .* must be 2 .* or 4"):
        ntt.schedule_stages(vx.Schedule(pipe), t, threads=8, radix=radix)
