"""examples/residual_norm_quant.py (#15 item 2c): residual add + RMSNorm + per-row int8
quantization. The fused files are two launches — one kernel writing both new_residual and q
(a Tuple output) and the per-row scale — with no intermediate buffer; the unfused schedule is a
root kernel per operation (six). On PoCL all three outputs of both equal ``pipe.reference`` and
the numpy composition at awkward sizes, q exactly except at rounding ties (below)."""
from pathlib import Path

import numpy as np
import pytest

import vortex as vx
from fusion_checks import GPU, compile_gpu_file, intermediates
from vortex.analysis import analyze
from vortex.examples import load_example
from vortex.lower.driver import lower

ROOT = Path(__file__).resolve().parents[2]
EX = load_example(ROOT / "examples" / "residual_norm_quant.py")
FOLDER = ROOT / "schedules" / "residual_norm_quant"
FILES = sorted(FOLDER.glob("*.toml"))
SIZES = [(1, 1), (7, 13), (33, 130), (1, 1000), (7, 4097)]      # R, C


def _args(r, c, seed):
    rng = np.random.default_rng(seed)
    return {"x": rng.standard_normal((r, c)).astype(np.float32),
            "res": rng.standard_normal((r, c)).astype(np.float32),
            "w": rng.uniform(0.5, 1.5, c).astype(np.float32), "eps": 1e-6}


def assert_quantized(q, want, args):
    """q equals ``want`` except by one where numpy's normed / scale is within 1e-4 of a
    rounding tie (k + 0.5): numpy sums x² pairwise, the kernels in column order, so normed and
    scale may differ in their last bits (relative 1e-7: at most ~2e-5 absolute on a quotient
    |v| ≤ 127), and a quotient that close to a tie may round the other way."""
    _, normed = EX.numpy_normed(**args)
    scale = np.abs(normed).max(axis=-1, keepdims=True) / np.float32(EX.QMAX)
    v = normed / np.maximum(scale, np.float32(1e-30))
    diff = np.abs(q.astype(np.int32) - want.astype(np.int32))
    assert q.dtype == np.int8 and diff.max(initial=0) <= 1
    assert np.all(np.abs(np.abs(v - np.floor(v)) - 0.5)[diff == 1] < 1e-4)


def check(outs, want, args):
    (r, c), (new_residual, q, scale) = args["x"].shape, outs
    assert new_residual.shape == q.shape == (r, c) and scale.shape == (r,)
    assert new_residual.dtype == scale.dtype == np.float32
    np.testing.assert_array_equal(new_residual, want[0])      # one float32 add: exact
    assert_quantized(q, want[1], args)
    np.testing.assert_allclose(scale, want[2], rtol=1e-5, atol=0)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_each_file_is_two_launches_without_intermediates(path):
    pipe = EX.pipeline()
    lowered = lower(pipe, vx.Schedule.load(path, pipe))
    assert [k.name for k in lowered.kernels] == ["residual_q_kernel", "scale_kernel"]
    assert sorted(intermediates(lowered)) == []


def test_unfused_is_a_kernel_per_operation():
    pipe = EX.unfused_pipeline()
    lowered = lower(pipe, EX.unfused(pipe))
    assert len(lowered.kernels) == 6
    assert sorted(intermediates(lowered)) == ["amax", "inv_rms", "normed"]


def test_pocl_fused_and_unfused_match_numpy_and_the_reference(opencl_device):
    pipe, naive = EX.pipeline(), EX.unfused_pipeline()
    fused = vx.compile(pipe, schedule=str(FOLDER / "pocl-cpu.toml"), target="opencl",
                       device=opencl_device)
    unfused = vx.compile(naive, schedule=EX.unfused(naive), target="opencl",
                         device=opencl_device)
    for seed, size in enumerate(SIZES):
        args = _args(*size, seed)
        want = EX.numpy_version(**args)
        for outs in (fused(**args), unfused(**args)):
            check(outs, want, args)
            check(outs, pipe.reference(**args), args)
        check(pipe.reference(**args), naive.reference(**args), args)


def test_the_default_inputs(opencl_device):
    """At the example's own size (512 × 1024) two q values differ from numpy's by one, both at
    a rounding tie (measured); the kernels equal the reference."""
    pipe = EX.pipeline()
    kernel = vx.compile(pipe, schedule=str(FOLDER / "pocl-cpu.toml"), target="opencl",
                        device=opencl_device)
    args = EX.inputs()
    outs = kernel(**args)
    check(outs, EX.numpy_version(**args), args)
    for out, ref in zip(outs, pipe.reference(**args), strict=True):
        np.testing.assert_array_equal(out, ref)


def test_a_zero_row_has_scale_zero_and_q_zero(opencl_device):
    pipe = EX.pipeline()
    kernel = vx.compile(pipe, schedule=str(FOLDER / "pocl-cpu.toml"), target="opencl",
                        device=opencl_device)
    args = _args(3, 37, 5)
    args["res"][1] = -args["x"][1]
    new_residual, q, scale = kernel(**args)
    assert scale[1] == 0 and not q[1].any() and not new_residual[1].any() and scale[0] > 0
    check((new_residual, q, scale), EX.numpy_version(**args), args)


@pytest.mark.parametrize("device", sorted(GPU))
def test_gpu_files_compile(device):
    kernel = compile_gpu_file(EX, FOLDER, device)
    assert kernel.binary and set(kernel.resources) == {"residual_q_kernel", "scale_kernel"}


def test_the_scale_cannot_be_computed_inside_the_quantizing_kernel():
    """Why the fused files are two launches: an output is computed at root, never at a loop of
    another output (one kernel for both would need Halide's compute_with or an output stored
    from a compute_at site)."""
    pipe = EX.pipeline()
    s = vx.Schedule(pipe)
    s["residual_q"].split("r", "ro", "ri", 64).gpu_blocks("ro").gpu_threads("ri")
    with pytest.raises(vx.ScheduleError, match=r"compute_at\(residual_q, ri\) on Func 'scale': "
                                               r"'scale' is a pipeline output; outputs are "
                                               r"computed at root"):
        s["scale"].compute_at("residual_q", "ri")


@pytest.mark.parametrize("R, C", [*SIZES, (4096, 4096)])
def test_fused_moves_fewer_global_bytes(R, C):
    """kernel.analysis()'s compulsory traffic: fused, 17 bytes per element (x and res read,
    new_residual and q written, new_residual read back for the scales) against 33 unfused
    (the eager chain writes and re-reads new_residual and normed): 1.94x. A single kernel
    (not expressible: see above) would move 13."""
    shape = {"R": R, "C": C}
    pipe, naive = EX.pipeline(), EX.unfused_pipeline()
    fused = analyze(lower(pipe, vx.Schedule.load(FOLDER / "pocl-cpu.toml", pipe)), shape=shape)
    unfused = analyze(lower(naive, EX.unfused(naive)), shape=shape)
    assert fused.traffic.bytes == 17 * C * R + 8 * C + 4 * R
    assert unfused.traffic.bytes == 33 * C * R + 4 * C + 24 * R
    assert len(fused) == 2 and len(unfused) == 6
    assert fused.traffic.bytes < unfused.traffic.bytes
    print(f"residual_norm_quant {shape}: 2 launches {fused.traffic.bytes} B, 6 launches "
          f"{unfused.traffic.bytes} B, {unfused.traffic.bytes / fused.traffic.bytes:.2f}x")
