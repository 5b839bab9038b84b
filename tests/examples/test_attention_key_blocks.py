"""examples/attention.py with ``key_block=16``: the one-pass recurrence (m, l, acc) over blocks
of 16 keys, each block's P·V a Func ``PV`` computed at the update's key-block loop. Against
numpy's float64 composition on PoCL (float32: S 1, 17, 128, 1000, D 64 and 128, causal and not,
8 query heads over 2 key/value heads; float16 with P rounded to float16, by the GPU schedule's
plain-loop emulation of the instructions), and both products (Q Kᵀ and P·V) on tensor cores in
the update kernel: NVRTC sm_90 and sm_80 HMMA, hiprtc gfx90a v_mfma, no spills."""
from pathlib import Path

import numpy as np
import pytest

import vortex as vx
import compilers
from vortex.examples import load_example
from vortex.isa import amdgcn, sass
from vortex.isa.model import OpClass

ROOT = Path(__file__).resolve().parents[2]
attention = load_example(ROOT / "examples" / "attention.py")
H, HK, BC = 8, 2, 16
_KERNELS: dict = {}


def qkv(S, D, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    return {"Q": rng.standard_normal((1, H, S, D)).astype(dtype),
            "K": rng.standard_normal((1, HK, S, D)).astype(dtype),
            "V": rng.standard_normal((1, HK, S, D)).astype(dtype)}


def pocl_schedule(pipe) -> vx.Schedule:
    """A work-group per (head, 16 queries), a work-item per query, D in vectors of 8; the
    scores, the block maximum M, the rounded probabilities P, the block sum L and the block
    product PV in local memory at the key-block loop ``kb``."""
    s = vx.Schedule(pipe)
    for st in (s["O"], s["F"]):
        st.split("s", "so", "si", 16).gpu_blocks("so", "h").gpu_threads("si").vectorize("d", 8)
    u = s["F"].update(0).split("s", "so", "si", 16).split("d", "do", "di", 8)
    u.reorder("b", "h", "so", "si", "kb", "do", "di").vectorize("di")
    u.gpu_blocks("so", "h").gpu_threads("si")
    for name in ("score", "M", "P", "L", "PV"):
        s[name].compute_at("F.update(0)", "kb").store_in("shared")
    return s


def tensor_core_schedule(pipe, n: int, D: int = 64, scores: bool = True) -> vx.Schedule:
    """A block per (batch, head, 16 queries), threads (d 64 along x, query 16; D = 128: each
    thread two outputs d, 64 apart, in a serial loop inside ``kb``); at each key
    block ``kb`` the 16 × 16 score box by ``mma`` (16 × n × 16 tiles along the keys, one warp
    each, 4 k steps unrolled) and the 16 × 64 P·V box by ``mma`` (16 × n tiles along d, one warp
    each, one k step of 16 keys, A read from the P box; D = 128: 16 × 128, 16 warps), both in
    shared memory; M, P and L by the block's threads (``scores=False``: the score box too, one
    dot product per score). Q's 16 × D tile staged in shared memory once per block, K's and V's
    16 × D tiles at ``kb`` (a block of keys clamped to S - 1: a 16-row tile from its first key,
    rows past S zero-filled), pipelined with 2 slots (cp.async on sm_80+)."""
    s = vx.Schedule(pipe)
    for st in (s["O"], s["F"]):
        st.split("s", "so", "si", 4).gpu_blocks("so", "h").gpu_threads("d", "si")
    u = s["F"].update(0).split("s", "so", "si", 16).split("d", "do", "di", 64)
    u.reorder("b", "h", "so", "si", "di", "kb", "do").gpu_blocks("so", "h", "b")
    u.gpu_threads("si", "di")
    u.stage("Q", "so").stage("K", "kb").stage("V", "kb").pipeline("kb", stages=2)
    for name in ("score", "M", "P", "L", "PV"):
        s[name].compute_at("F.update(0)", "kb").store_in("shared")
    if not scores:
        return pv_on_tensor_cores(s, n)
    sc = s["score"].split("s", "sw", "st", 16).split("j", "jw", "jt", n).split("e", "eo", "et", 16)
    sc.reorder("b", "h", "sw", "jw", "eo", "st", "jt", "et").mma("st", "jt", "et")
    sc.gpu_threads("jw").unroll("eo")
    return pv_on_tensor_cores(s, n)


def pv_on_tensor_cores(s, n: int) -> vx.Schedule:
    pv = s["PV"].split("s", "sw", "st", 16).split("d", "dw", "dt", n).split("jv", "jo", "jt", 16)
    pv.reorder("b", "h", "c", "sw", "dw", "jo", "st", "dt", "jt").mma("st", "dt", "jt")
    pv.gpu_threads("dw")
    return s


def kernel(opencl_device, D, causal):
    key = (D, causal)
    if key not in _KERNELS:
        pipe = attention.pipeline(D, causal, key_block=BC)
        _KERNELS[key] = vx.compile(pipe, schedule=pocl_schedule(pipe), target="opencl",
                                   device=opencl_device)
    return _KERNELS[key]


@pytest.mark.parametrize("causal", [True, False], ids=["causal", "full"])
@pytest.mark.parametrize("D", [64, 128])
def test_key_blocks_match_numpy_on_pocl(opencl_device, D, causal):
    """float32: P is not rounded; numpy within float32 rounding, at sizes that are not
    multiples of the block (a last block past S is masked)."""
    for S in (1, 17, 128):
        args = qkv(S, D, seed=S + D)
        out = kernel(opencl_device, D, causal)(**args)
        np.testing.assert_allclose(out, attention.numpy_version(**args, causal=causal),
                                   rtol=1e-5, atol=1e-5)


def test_key_blocks_a_thousand_keys_on_pocl(opencl_device):
    """float32 to 1e-5; float16 (P rounded) within 1e-3 of numpy's float64 softmax."""
    args = qkv(1000, 64, seed=1)
    np.testing.assert_allclose(kernel(opencl_device, 64, True)(**args),
                               attention.numpy_version(**args), rtol=1e-5, atol=1e-5)
    pipe = attention.pipeline(64, True, vx.float16, key_block=BC)
    half = {k: v.astype(np.float16) for k, v in args.items()}
    out = vx.compile(pipe, schedule=pocl_schedule(pipe), target="opencl",
                     device=opencl_device)(**half)
    np.testing.assert_allclose(out, attention.numpy_version(**half), rtol=0, atol=1e-3)


@pytest.mark.parametrize("n", [8, 16], ids=["mma_sync", "mfma"])
def test_both_products_on_tensor_cores_on_pocl(opencl_device, n):
    """float16 Q, K, V, the tensor-core schedule as the lanes' plain loops: numpy's float64
    result within P's float16 rounding (at most 4e-4 seen), causal and not, D 64 and 128 (the
    P·V box then 16 × 128), GQA; ``pipe.reference`` (which rounds P the same way) to float32
    rounding."""
    cases = {8: [(1, 64, True), (17, 64, False), (70, 128, True)], 16: [(17, 64, True)]}
    for S, D, causal in cases[n]:
        pipe = attention.pipeline(D, causal, vx.float16, key_block=BC)
        k = vx.compile(pipe, schedule=tensor_core_schedule(pipe, n, D), target="opencl",
                       device=opencl_device)
        args = qkv(S, D, np.float16, seed=S)
        out = k(**args)
        np.testing.assert_allclose(out, attention.numpy_version(**args, causal=causal),
                                   rtol=0, atol=1e-3)
        if S <= 17:
            np.testing.assert_allclose(out, pipe.reference(**args), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("target, arch, n, op, D", [
    ("cuda", "sm_90", 8, "HMMA.16816.F32", 64), ("cuda", "sm_80", 8, "HMMA.16816.F32", 64),
    ("hip", "gfx90a", 16, "v_mfma_f32_16x16x16f16", 64),
    ("cuda", "sm_90", 8, "HMMA.16816.F32", 128)])
def test_both_products_on_tensor_cores(target, arch, n, op, D):
    """The update kernel holds D/16 + 1 matrix instructions: D/16 for the score box (k steps of
    16 over D) and 1 for the P·V box (one k step of 16 keys per warp); no other kernel holds
    one; no spills, no local memory; shared memory = scores 1024 B + float16 P 512 B + P·V
    16·D·4 B + M and L 64 B each + the staged float16 tiles: Q 16·D·2 B, K and V 2 slots of
    16·D·2 B each (copied with LDGSTS on CUDA: 10 seen at D 64 and 128). Seen: sm_90 38
    registers, 16000 B (D = 128: 32, 30336 B), sm_80 40, gfx90a 65 VGPRs (58, 51 and 70 before
    K and V were staged, 5760 B)."""
    compilers.need_isa(target)
    pipe = attention.pipeline(D, t=vx.float16, key_block=BC)
    k = vx.compile(pipe, schedule=tensor_core_schedule(pipe, n, D), target=target, arch=arch)
    isa = {ki.name: ki.mix for ki in k.analysis().isa}
    assert {name: mix.count(OpClass.TENSOR) for name, mix in isa.items()} == {
        "F_kernel": 0, "F_update0_kernel": D // 16 + 1, "O_kernel": 0}
    assert all(mix.count(OpClass.LOCAL_LOAD, OpClass.LOCAL_STORE) == 0 for mix in isa.values())
    assert k.resources["F_update0_kernel"]["shared_bytes"] == 1024 + 512 + 64 * D + 128 + 160 * D
    for res in k.resources.values():
        assert res.get("spill_stores", 0) + res.get("vgpr_spills", 0) == 0
    assert {b.name for b in k.lowered.buffers}.isdisjoint({"score", "M", "P", "L", "PV"})
    _, _, binary = k.analysis().code
    code = (sass if target == "cuda" else amdgcn).disassemble(binary, arch)
    assert code.count(op) == D // 16 + 1
    assert target != "cuda" or code.count("LDGSTS") > 0


@pytest.mark.parametrize("name, n", [("nvidia-h100", 8), ("nvidia-a100", 8), ("amd-mi300x", 16),
                                     ("pocl-cpu", None)])
def test_the_shipped_files_are_these_schedules(name, n):
    """schedules/attention_key_blocks/<device>.toml are this file's schedules, so the figures
    above are the files' (test_schedules.py runs them on PoCL against pipe.reference)."""
    pipe = load_example(ROOT / "examples" / "attention_key_blocks.py").pipeline()
    path = ROOT / "schedules" / "attention_key_blocks" / f"{name}.toml"
    want = pocl_schedule(pipe) if n is None else tensor_core_schedule(pipe, n)
    assert vx.Schedule.load(path, pipe).ordered() == want.ordered()


@pytest.mark.parametrize("bad", [0, -16, 16.0, True])
def test_key_block_must_be_a_positive_int(bad):
    with pytest.raises(vx.TypeError, match=r"attention: key_block=.* must be a positive int"):
        attention.pipeline(key_block=bad)


def test_float32_probabilities_have_no_instruction():
    """float32 Q, K, V (P not rounded): NVIDIA has no float32 16 × 8 × 16 instruction, so
    ``mma`` on PV is refused (on score too: the same message)."""
    pipe = attention.pipeline(64, key_block=BC)
    for name, scores in (("score", True), ("PV", False)):
        with pytest.raises(vx.ScheduleError, match=rf"mma on Func '{name}': no 16x8x16 "
                           "instruction multiplies float32 by float32 into float32 exactly"):
            vx.compile(pipe, schedule=tensor_core_schedule(pipe, 8, scores=scores),
                       target="cuda", arch="sm_90")
