"""examples/attention.py: the online-softmax attention (FlashAttention-2's recurrence as a Tuple
update) against numpy's unfused float64 composition, on PoCL with the shipped PoCL schedule and in
``pipe.reference``; grouped-query attention (8 query heads over 2 key/value heads); float16
inputs; the GQA shape error; what blocks ``mma`` on the recurrence; the float16 Q Kᵀ on tensor
cores (NVRTC, sm_90), at root and inside the recurrence's key loop (PoCL == numpy; HMMA on sm_90
and sm_80, v_mfma on gfx90a in the update kernel); the shipped files computing the scores in the
recurrence's key loop (no global score buffer, one launch fewer, no S×S traffic; NVRTC/hiprtc
without spills)."""
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import vortex as vx
import compilers
from vortex.examples import load_example
from vortex.isa import amdgcn, sass
from vortex.isa.model import OpClass

ROOT = Path(__file__).resolve().parents[2]
attention = load_example(ROOT / "examples" / "attention.py")
POCL_FILE = ROOT / "schedules" / "attention" / "pocl-cpu.toml"
H, HK = 8, 2                   # GQA: 4 query heads per key/value head
_KERNELS: dict = {}


def qkv(S, D, dtype=np.float32, heads=H, seed=0):
    rng = np.random.default_rng(seed)
    return {"Q": rng.standard_normal((1, heads, S, D)).astype(dtype),
            "K": rng.standard_normal((1, HK, S, D)).astype(dtype),
            "V": rng.standard_normal((1, HK, S, D)).astype(dtype)}


def kernel(opencl_device, D, causal, t=vx.float32):
    key = (D, causal, t)
    if key not in _KERNELS:
        _KERNELS[key] = vx.compile(attention.pipeline(D, causal, t), schedule=str(POCL_FILE),
                                   target="opencl", device=opencl_device)
    return _KERNELS[key]


def want(args, causal):
    return attention.numpy_version(**args, causal=causal)


@pytest.mark.parametrize("causal", [True, False], ids=["causal", "full"])
@pytest.mark.parametrize("D", [64, 128])
@pytest.mark.parametrize("S", [1, 17, 128])
def test_matches_numpy_on_pocl(opencl_device, S, D, causal):
    args = qkv(S, D, seed=S + D)
    out = kernel(opencl_device, D, causal)(**args)
    assert out.shape == (1, H, S, D) and out.dtype == np.float32
    np.testing.assert_allclose(out, want(args, causal), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("S, causal", [(1, True), (17, False), (17, True), (128, True)])
def test_reference_matches_numpy(S, causal):
    args = qkv(S, 64, seed=S)
    np.testing.assert_allclose(attention.pipeline(64, causal).reference(**args), want(args, causal),
                               rtol=1e-5, atol=1e-5)


def test_a_thousand_keys_on_pocl(opencl_device):
    args = qkv(1000, 64, seed=1)
    np.testing.assert_allclose(kernel(opencl_device, 64, True)(**args), want(args, True),
                               rtol=1e-5, atol=1e-5)


def test_gqa_reads_its_key_value_head():
    """Query heads 0-3 read K/V head 0, heads 4-7 head 1: adding 1 to V's head 1 adds 1 to the
    last four heads' outputs (softmax weights sum to 1) and leaves the first four alone."""
    args = qkv(5, 64, seed=3)
    pipe = attention.pipeline(64, causal=False)
    before = pipe.reference(**args)
    args["V"][:, 1] += 1
    after = pipe.reference(**args)
    np.testing.assert_array_equal(after[:, :4], before[:, :4])
    np.testing.assert_allclose(after[:, 4:], before[:, 4:] + 1, rtol=1e-5, atol=1e-5)


def test_float16_inputs_on_pocl(opencl_device):
    """float16 Q, K, V (f32 arithmetic): against numpy on the same float16 values, within the
    f32 tolerance (the inputs are exact; only f32 rounding differs)."""
    for S, causal in [(17, True), (128, False)]:
        args = qkv(S, 64, dtype=np.float16, seed=S)
        out = kernel(opencl_device, 64, causal, vx.float16)(**args)
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, want(args, causal), rtol=1e-5, atol=1e-5)


def test_mma_cannot_take_the_recurrence():
    """P·V sits in the update of the Tuple F: mma on it is refused (it computes a pure sum of
    products, not an update), which is why the GPU files do not use tensor cores for P·V."""
    pipe = attention.pipeline(64, t=vx.float16)
    s = vx.Schedule(pipe)
    st = s["F"].update(0).split("s", "so", "si", 16).split("d", "do", "di", 8)
    st.split("r", "ro", "ri", 16).reorder("b", "h", "so", "do", "ro", "si", "di", "ri")
    with pytest.raises(vx.ScheduleError, match="mma computes a pure definition whose value is a "
                       "sum of products .*not update 0 of 'F'"):
        st.mma("si", "di", "ri")
    with pytest.raises(vx.ScheduleError, match="Tuples are computed at root"):
        vx.Schedule(pipe)["F"].compute_at("O", "s")


def score_on_tensor_cores(pipe, n: int) -> vx.Schedule:
    """Q Kᵀ by ``mma`` (16×n×16 tiles: n = 8 mma.sync, 16 MFMA): a 64×64 score tile per block,
    2×2 warps of 32×32, Q and K staged per k step of 16; the recurrence as in the GPU files."""
    s = vx.Schedule(pipe)
    sc = s["score"].compute_root()
    sc.tile("s", "j", "so", "jo", "si", "ji", 64, 64)
    sc.tile("si", "ji", "sw", "jw", "sq", "jq", 32, 32)
    sc.tile("sq", "jq", "su", "ju", "st", "jt", 16, n).split("e", "eo", "et", 16)
    sc.reorder("b", "h", "so", "jo", "sw", "jw", "eo", "su", "ju", "st", "jt", "et")
    sc.mma("st", "jt", "et").gpu_blocks("so", "jo", "h").gpu_threads("sw", "jw")
    sc.unroll("su").unroll("ju")
    sc.stage("Q", "eo", memory="shared", swizzle="xor").stage("K", "eo", memory="shared",
                                                                swizzle="xor")
    for stage in (s["F"], s["F"].update(0), s["O"]):
        stage.split("s", "so", "si", 4)
    s["F"].update(0).reorder("b", "h", "so", "si", "d", "r")
    for stage in (s["F"], s["F"].update(0), s["O"]):
        stage.gpu_blocks("so", "h").gpu_threads("d", "si")
    return s


def test_float16_scores_on_tensor_cores_on_pocl(opencl_device):
    """The mma schedule's tiling and staging, run as plain loops on PoCL, at a size that is not a
    multiple of the tiles."""
    pipe = attention.pipeline(64, causal=True, t=vx.float16)
    k = vx.compile(pipe, schedule=score_on_tensor_cores(pipe, 8), target="opencl",
                   device=opencl_device)
    args = qkv(70, 64, dtype=np.float16, heads=4, seed=5)
    np.testing.assert_allclose(k(**args), attention.numpy_version(**args), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("target, arch, n", [("cuda", "sm_90", 8), ("hip", "gfx90a", 16)])
def test_float16_scores_on_tensor_cores(target, arch, n):
    """sm_90: 8 HMMA per k step of the score kernel (2×4 tiles of a warp), no spills; gfx90a:
    4 v_mfma; none in the recurrence's kernels."""
    compilers.need_isa(target)
    pipe = attention.pipeline(64, t=vx.float16)
    k = vx.compile(pipe, schedule=score_on_tensor_cores(pipe, n), target=target, arch=arch)
    tensor = {ki.name: ki.mix.count(OpClass.TENSOR) for ki in k.analysis().isa}
    assert tensor == {"score_kernel": 8 if target == "cuda" else 4, "F_kernel": 0,
                      "F_update0_kernel": 0, "O_kernel": 0}
    res = k.resources["score_kernel"]
    assert res.get("spill_stores", 0) + res.get("vgpr_spills", 0) == 0


def scores_in_the_key_loop_on_tensor_cores(pipe, n: int) -> vx.Schedule:
    """The GPU files' structure (a block per (batch, head, 16 queries), ``score`` computed at
    the update's key-tile loop ``ro`` in shared memory) with the 16 × 32 score box filled by
    ``mma``: 16 × n × 16 tiles (n = 8: mma.sync m16n8k16, 4 warps; n = 16: MFMA 16x16x16, 2
    wavefronts) along the keys, bound to thread axis y, the 4 k steps of 16 unrolled. The
    block's x axis is the output column d (64 threads: whole warps along x)."""
    s = vx.Schedule(pipe)
    for st in (s["O"], s["F"]):
        st.split("s", "so", "si", 4).gpu_blocks("so", "h").gpu_threads("d", "si")
    u = s["F"].update(0).split("s", "so", "si", 16).split("r", "ro", "ri", 32)
    u.reorder("b", "h", "so", "si", "d", "ro", "ri").gpu_blocks("so", "h", "b")
    u.gpu_threads("si", "d")
    sc = s["score"].compute_at("F.update(0)", "ro").store_in("shared")
    sc.split("s", "sw", "st", 16).split("j", "jw", "jt", n).split("e", "eo", "et", 16)
    sc.reorder("b", "h", "sw", "jw", "eo", "st", "jt", "et").mma("st", "jt", "et")
    sc.gpu_threads("jw").unroll("eo")
    return s


@pytest.mark.parametrize("n", [8, 16], ids=["mma_sync", "mfma"])
def test_float16_scores_in_the_key_loop_on_tensor_cores_on_pocl(opencl_device, n):
    """mma on ``score`` computed inside the recurrence's key loop, run as the lanes' plain loops
    on PoCL: numpy's result, causal and not, GQA, at sizes that are not multiples of the tiles."""
    pipe = {c: attention.pipeline(64, causal=c, t=vx.float16) for c in (True, False)}
    for S, causal in [(1, True), (17, False), (70, True)]:
        k = vx.compile(pipe[causal], schedule=scores_in_the_key_loop_on_tensor_cores(
            pipe[causal], n), target="opencl", device=opencl_device)
        args = qkv(S, 64, dtype=np.float16, heads=4, seed=S)
        np.testing.assert_allclose(k(**args), want(args, causal), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("target, arch, n, op", [("cuda", "sm_90", 8, "HMMA.16816.F32"),
                                                 ("cuda", "sm_80", 8, "HMMA.16816.F32"),
                                                 ("hip", "gfx90a", 16,
                                                  "v_mfma_f32_16x16x16f16")])
def test_float16_scores_in_the_key_loop_on_tensor_cores(target, arch, n, op):
    """The update kernel holds the tensor-core instructions (4 k steps, unrolled: 4 HMMA on
    sm_90 and sm_80, 4 v_mfma on gfx90a), no other kernel does; no spills, no local memory,
    the 16 × 32 f32 score box in 2 KiB of shared memory; 3 launches, no score buffer."""
    compilers.need_isa(target)
    pipe = attention.pipeline(64, t=vx.float16)
    k = vx.compile(pipe, schedule=scores_in_the_key_loop_on_tensor_cores(pipe, n),
                   target=target, arch=arch)
    assert "score" not in {b.name for b in k.lowered.buffers}
    isa = {ki.name: ki.mix for ki in k.analysis().isa}
    assert {name: mix.count(OpClass.TENSOR) for name, mix in isa.items()} == {
        "F_kernel": 0, "F_update0_kernel": 4, "O_kernel": 0}
    assert all(mix.count(OpClass.LOCAL_LOAD, OpClass.LOCAL_STORE) == 0 for mix in isa.values())
    assert k.resources["F_update0_kernel"]["shared_bytes"] == 2048
    for res in k.resources.values():
        assert res.get("spill_stores", 0) + res.get("vgpr_spills", 0) == 0
    _, _, binary = k.analysis().code
    text = (sass if target == "cuda" else amdgcn).disassemble(binary, arch)
    assert text.count(op) == 4


def score_at_root(pipe) -> vx.Schedule:
    """The schedule the shipped PoCL file had before compute_at into the update's key loop:
    ``score`` a root kernel (the S×S scores of every head in global memory)."""
    s = vx.Schedule(pipe)
    s["score"].compute_root().split("s", "so", "si", 16).gpu_blocks("so", "h").gpu_threads("si")
    for st in (s["O"], s["F"]):
        st.split("s", "so", "si", 16).gpu_blocks("so", "h").gpu_threads("si").vectorize("d", 8)
    u = s["F"].update(0).split("s", "so", "si", 16).split("d", "do", "di", 8)
    u.reorder("b", "h", "so", "si", "do", "r", "di").gpu_blocks("so", "h").gpu_threads("si")
    u.vectorize("di")
    return s


FILES = ["pocl-cpu", "nvidia-h100", "nvidia-a100", "amd-mi300x"]


@pytest.mark.parametrize("name", FILES)
def test_the_scores_never_reach_global_memory(name):
    """Every shipped file computes ``score`` in the update's key loop (shared memory): no global
    buffer of it, 3 launches instead of 4, and the compulsory traffic has no S×S term (B=1, H=8,
    HK=2, S=1024: 28311552 bytes against 95420416 with score at root)."""
    pipe = attention.pipeline()
    k = vx.compile(pipe, schedule=str(ROOT / "schedules" / "attention" / f"{name}.toml"),
                   target="opencl")
    root = vx.compile(pipe, schedule=score_at_root(pipe), target="opencl")
    assert [kk.name for kk in k.lowered.kernels] == ["F_kernel", "F_update0_kernel", "O_kernel"]
    assert len(root.lowered.kernels) == 4
    assert "score" not in {b.name for b in k.lowered.buffers}
    assert "score" in {b.name for b in root.lowered.buffers}
    traffic, before = k.analysis().traffic, root.analysis().traffic
    S = next(d for d in traffic.dims if d.name == "S")
    assert sp.degree(sp.expand(traffic.bytes), S) == 1
    assert sp.degree(sp.expand(before.bytes), S) == 2
    shape = {"B": 1, "H": 8, "HK": 2, "S": 1024}
    assert traffic.at(shape).bytes == 28311552 and before.at(shape).bytes == 95420416


def test_the_halide_form_of_the_key_loop_is_refused():
    s = vx.Schedule(attention.pipeline())
    s["F"].update(0).split("r", "ro", "ri", 32)
    with pytest.raises(vx.ScheduleError, match=r"'ro' is a loop of the update stage "
                       r"'F.update\(0\)', not of 'F''s pure definition; name the stage: "
                       r"compute_at\('F.update\(0\)', 'ro'\)"):
        s["score"].compute_at("F", "ro")


@pytest.mark.parametrize("name, target, arch", [("nvidia-h100", "cuda", "sm_90"),
                                                ("nvidia-a100", "cuda", "sm_80"),
                                                ("amd-mi300x", "hip", "gfx90a")])
def test_the_gpu_recurrence_keeps_its_state_in_registers(name, target, arch):
    """Shipped GPU files: the key loop of the update stores nothing and loads nothing from
    global memory (Q staged once per block, K and V tiles of 32 keys staged per key tile and
    pipelined two deep: sm_90/sm_80 fill them with cp.async, LDGSTS; the score box from shared
    memory): the compiler holds (m, l, acc) in registers through the loop; no local memory and
    no spills in any kernel of the f32 files;
    tensor ops only in the MI300X file's update kernel (the score box by exact float32 MFMA,
    v_mfma_f32_16x16x4f32: the NVIDIA files' float32 would need the tf32 opt-in)."""
    compilers.need_isa(target)
    pipe = attention.pipeline()
    k = vx.compile(pipe, schedule=str(ROOT / "schedules" / "attention" / f"{name}.toml"),
                   target=target, arch=arch)
    isa = {ki.name: ki for ki in k.analysis().isa}
    loop = isa["F_update0_kernel"].inner.mix
    assert loop.count(OpClass.GLOBAL_STORE) == 0 and loop.count(OpClass.GLOBAL_LOAD) == 0
    # score 16 × 32, Q 16 × 64, K and V 2 stages × 32 × 64, float32
    assert k.resources["F_update0_kernel"]["shared_bytes"] == 4 * (16 * 32 + 16 * 64 + 4 * 2048)
    if target == "cuda":
        assert "LDGSTS" in sass.disassemble(k.analysis().code[2], arch)
    for ki in isa.values():
        tensor = target == "hip" and ki.name == "F_update0_kernel"
        assert (ki.mix.count(OpClass.TENSOR) > 0) == tensor
        assert ki.mix.count(OpClass.LOCAL_LOAD, OpClass.LOCAL_STORE) == 0
    if target == "hip":
        text = amdgcn.disassemble(k.analysis().code[2], arch)
        assert text.count("v_mfma_f32_16x16x4f32") == isa["F_update0_kernel"].mix.count(
            OpClass.TENSOR)
    for res in k.resources.values():
        assert res.get("spill_stores", 0) + res.get("vgpr_spills", 0) == 0
