"""examples/attention_two_pass.py: attention with Q Kᵀ and P·V on tensor cores (the softmax's
statistics per query by the online recurrence, then P·V as a matrix product with the final
maximum). PoCL against numpy's float64 softmax within the rounding of P to float16 (GQA 8 over 2
heads, causal and not, S ∈ {1, 17, 128, 1000}, D ∈ {64, 128}), with the shipped PoCL file and
with the GPU files' own directives (mma emulated by the lanes' plain loops); bfloat16; float32
without rounding in ``pipe.reference``; the GPU files compile to HMMA (sm_90, sm_80) and v_mfma
(gfx90a) in both passes, without spills; no S×S buffer; the float32 pipeline refused by the
16-bit files."""
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest
import sympy as sp

import compilers
import vortex as vx
from vortex.examples import load_example
from vortex.isa import amdgcn, sass
from vortex.isa.model import OpClass

ROOT = Path(__file__).resolve().parents[2]
ex = load_example(ROOT / "examples" / "attention_two_pass.py")
FILES = ROOT / "schedules" / "attention_two_pass"
HK = 2
F16_TOL = 1.5e-3     # P rounded to float16: at most 4.9e-4 seen at S = 1000 (max |O - numpy|)
_KERNELS: dict = {}


def qkv(S, D=64, heads=8, dtype=np.float16, seed=0):
    rng = np.random.default_rng(seed)
    return {"Q": rng.standard_normal((1, heads, S, D)).astype(dtype),
            "K": rng.standard_normal((1, HK, S, D)).astype(dtype),
            "V": rng.standard_normal((1, HK, S, D)).astype(dtype)}


def kernel(opencl_device, name, D=64, causal=True, t=vx.float16):
    key = (name, D, causal, t)
    if key not in _KERNELS:
        _KERNELS[key] = vx.compile(ex.pipeline(D, causal, t), schedule=str(FILES / f"{name}.toml"),
                                   target="opencl", device=opencl_device)
    return _KERNELS[key]


@pytest.mark.parametrize("causal", [True, False], ids=["causal", "full"])
@pytest.mark.parametrize("S", [1, 17, 128])
def test_matches_numpy_on_pocl(opencl_device, S, causal):
    args = qkv(S, seed=S)
    out = kernel(opencl_device, "pocl-cpu", causal=causal)(**args)
    assert out.shape == (1, 8, S, 64) and out.dtype == np.float32
    np.testing.assert_allclose(out, ex.numpy_version(**args, causal=causal), rtol=0,
                               atol=F16_TOL)


@pytest.mark.parametrize("name, S, causal", [("nvidia-h100", 17, False),
                                             ("amd-mi300x", 70, True)])
def test_the_gpu_directives_on_pocl(opencl_device, name, S, causal):
    """The GPU files' mma (16x8x16 and 16x16x16 tiles: the lanes' plain loops on PoCL) in both
    passes, at sizes that are not multiples of the tiles (tests/examples/test_schedules.py runs
    every file against pipe.reference too)."""
    args = qkv(S, seed=S)
    np.testing.assert_allclose(kernel(opencl_device, name, causal=causal)(**args),
                               ex.numpy_version(**args, causal=causal), rtol=0, atol=F16_TOL)


@pytest.mark.parametrize("causal", [True, False], ids=["causal", "full"])
def test_a_thousand_keys_on_pocl(opencl_device, causal):
    args = qkv(1000, heads=4, seed=7)
    np.testing.assert_allclose(kernel(opencl_device, "pocl-cpu", causal=causal)(**args),
                               ex.numpy_version(**args, causal=causal), rtol=0, atol=F16_TOL)


def test_head_size_128_on_pocl(opencl_device):
    args = qkv(17, D=128, seed=3)
    np.testing.assert_allclose(kernel(opencl_device, "pocl-cpu", D=128)(**args),
                               ex.numpy_version(**args), rtol=0, atol=F16_TOL)


def test_bfloat16_on_pocl(opencl_device):
    """bfloat16 Q, K, V and P (8 bits of mantissa): the GPU file's mma emulation equals
    pipe.reference to float32 rounding; numpy's float64 softmax within bfloat16's rounding."""
    args = qkv(70, heads=4, dtype=ml_dtypes.bfloat16, seed=70)
    pipe = ex.pipeline(64, True, vx.bfloat16)
    out = kernel(opencl_device, "nvidia-h100", t=vx.bfloat16)(**args)
    np.testing.assert_allclose(out, pipe.reference(**args), rtol=0, atol=1e-5)
    wide = {k: v.astype(np.float32) for k, v in args.items()}
    np.testing.assert_allclose(out, ex.numpy_version(**wide), rtol=0, atol=1e-2)


@pytest.mark.parametrize("S, causal", [(1, True), (17, False), (33, True)])
def test_float32_reference_does_not_round(S, causal):
    args = qkv(S, heads=4, dtype=np.float32, seed=S)
    np.testing.assert_allclose(ex.pipeline(64, causal, vx.float32).reference(**args),
                               ex.numpy_version(**args, causal=causal), rtol=1e-5, atol=1e-5)


def test_gqa_reads_its_key_value_head():
    """Adding 1 to V's head 1 adds 1 to query heads 4-7 only (softmax weights sum to 1; the
    float16 values stay exact: |V| + 1 < 2^11 ulp)."""
    args = qkv(5, seed=3)
    pipe = ex.pipeline(64, causal=False)
    before = pipe.reference(**args)
    args["V"][:, 1] += np.float16(1)
    after = pipe.reference(**args)
    np.testing.assert_array_equal(after[:, :4], before[:, :4])
    np.testing.assert_allclose(after[:, 4:], before[:, 4:] + 1, rtol=0, atol=2e-3)


GPU = [("nvidia-h100", "cuda", "sm_90", "HMMA.16816.F32", 16, 32),
       ("nvidia-a100", "cuda", "sm_80", "HMMA.16816.F32", 16, 32),
       ("amd-mi300x", "hip", "gfx90a", "v_mfma_f32_16x16x16f16", 8, 16)]


@pytest.mark.parametrize("name, target, arch, op, per_kernel, total", GPU)
def test_both_products_on_tensor_cores(name, target, arch, op, per_kernel, total):
    """Pass 1's score box and pass 2's score box and P·V all by mma: sm_90 and sm_80 16 HMMA in
    each of L_update0 and O (static counts), gfx90a 8 v_mfma each; no spills, no local memory;
    3 launches, no S×S buffer, compulsory traffic linear in S."""
    compilers.need_isa(target)
    pipe = ex.pipeline()
    k = vx.compile(pipe, schedule=str(FILES / f"{name}.toml"), target=target, arch=arch)
    isa = {ki.name: ki.mix for ki in k.analysis().isa}
    assert {n: mix.count(OpClass.TENSOR) for n, mix in isa.items()} == {
        "L_kernel": 0, "L_update0_kernel": per_kernel, "O_kernel": per_kernel}
    assert all(mix.count(OpClass.LOCAL_LOAD, OpClass.LOCAL_STORE) == 0 for mix in isa.values())
    for res in k.resources.values():
        assert res.get("spill_stores", 0) + res.get("vgpr_spills", 0) == 0
    text = (sass if target == "cuda" else amdgcn).disassemble(k.analysis().code[2], arch)
    assert text.count(op) == total
    assert [kk.name for kk in k.lowered.kernels] == ["L_kernel", "L_update0_kernel", "O_kernel"]
    assert not {"score", "score_pv"} & {b.name for b in k.lowered.buffers}
    traffic = k.analysis().traffic
    S = next(d for d in traffic.dims if d.name == "S")
    assert sp.degree(sp.expand(traffic.bytes), S) == 1


def test_bfloat16_on_hopper_tensor_cores():
    compilers.need_isa("cuda")
    k = vx.compile(ex.pipeline(64, True, vx.bfloat16), schedule=str(FILES / "nvidia-h100.toml"),
                   target="cuda", arch="sm_90")
    assert sass.disassemble(k.analysis().code[2], "sm_90").count("HMMA.16816.F32.BF16") == 32


def test_the_float32_pipeline_is_refused_by_the_16_bit_files():
    with pytest.raises(vx.ScheduleError, match=r"mma on Func 'score': no 16x8x16 instruction "
                       r"multiplies float32 by float32 into float32 exactly"):
        vx.source(ex.pipeline(64, True, vx.float32), str(FILES / "nvidia-h100.toml"),
                  target="cuda")
