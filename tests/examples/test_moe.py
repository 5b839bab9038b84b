"""examples/moe.py (#16 item 4, acceptance 2): the mixture-of-experts layer as four pipelines
(route → pack → grouped GEMM → unpack) equals numpy — the layer written without packing, and
each step's numpy twin exactly where the step is integer — on PoCL with the pocl-cpu files and
by ``pipe.reference``, for T = 512, E = 8, top-2 with uniform and skewed routing, T = 1, and a
routing that leaves an expert without tokens. The grouped GEMM's weight is indexed by data
(``W1[tile_expert[b], k, n]``): the NVIDIA files compile it to tf32 tensor-core instructions
because the expert is a function of the tile, not of the row (the row-indexed form is refused
by ``mma``, tested below); the AMD file to the exact float32 MFMA (v_mfma_f32_16x16x4f32)."""
import re
from pathlib import Path

import numpy as np
import pytest

import compilers
import vortex as vx
from vortex.examples import load_example

ROOT = Path(__file__).resolve().parents[2]
EX = load_example(ROOT / "examples" / "moe.py")
D_MODEL, D_FF = 64, 96
CASES = {"uniform": (512, None), "skewed": (512, {0: 1.1}), "one-token": (1, None),
         "empty-expert": (37, {3: -30.0})}
EXACT = ("topk_idx", "pos", "tile_expert", "X_p")    # integer steps and copies: bit-exact


@pytest.fixture(scope="module")
def pocl(opencl_device):
    """step -> the step's pocl-cpu file compiled for PoCL."""
    return {step: vx.compile(EX.pipeline(step), target="opencl", device=opencl_device,
                             schedule=str(ROOT / "schedules" / f"moe_{step}" / "pocl-cpu.toml"))
            for step in EX.STEPS}


def _check(got: dict, args: dict, case: str):
    idx, w = EX.numpy_route(args["X"], args["Wr"])
    pos, tile_expert, X_p = EX.numpy_pack(idx, args["X"])
    for name, want in zip(EXACT, (idx, pos, tile_expert, X_p)):
        np.testing.assert_array_equal(got[name], want, err_msg=f"{case}: {name}")
    np.testing.assert_allclose(got["topk_w"], w, rtol=1e-6, atol=1e-7)
    want = EX.numpy_moe(**args)
    assert got["out"].shape == want.shape and got["out"].dtype == np.float32
    # tf32 inputs: an ulp of exp in SiLU may round h to the neighbouring tf32 value (2^-11)
    np.testing.assert_allclose(got["out"], want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


@pytest.mark.parametrize("case", list(CASES))
def test_layer_on_pocl_and_the_reference_matches_numpy(pocl, case):
    tokens, favour = CASES[case]
    args = EX.layer_inputs(tokens, D_MODEL, D_FF, favour=favour)
    got = EX.layer(**args, run=lambda step, **a: pocl[step](**a))
    _check(got, args, case)
    ref = EX.layer(**args)
    _check(ref, args, f"{case} (reference)")
    for name in EXACT:
        np.testing.assert_array_equal(got[name], ref[name])
    np.testing.assert_allclose(got["out"], ref["out"], rtol=1e-4, atol=1e-4)


def test_the_routing_cases_are_what_they_say():
    """Skewed: expert 0 in ~60% of the tokens' top-2 (a top-2 expert can have at most half the
    assignments); empty-expert: expert 3 gets none; uniform: no expert over 16% of them."""
    def counts(case):
        tokens, favour = CASES[case]
        args = EX.layer_inputs(tokens, D_MODEL, D_FF, favour=favour)
        return np.bincount(EX.numpy_route(args["X"], args["Wr"])[0].ravel(), minlength=8)
    assert 0.55 <= counts("skewed")[0] / 512 <= 0.65
    assert counts("empty-expert")[3] == 0 and counts("empty-expert").sum() == 74
    assert counts("uniform").max() / 1024 < 0.16
    assert (counts("one-token") > 0).sum() == 2


def test_ties_go_to_the_lower_expert(pocl):
    """Two experts with the same router column score exactly the same: the lower index wins,
    as numpy's stable argsort of -scores."""
    args = EX.layer_inputs(40, 16, 8)
    Wr = args["Wr"]
    Wr[:, 5] = Wr[:, 2] = Wr[:, 2] + 1        # 2 and 5 tie, and lead most tokens
    Wr[:, 6] = Wr[:, 1]                       # 1 and 6 tie
    idx, _ = EX.numpy_route(args["X"], Wr)
    assert (idx == [2, 5]).all(axis=1).any()
    got_idx, _ = pocl["route"](X=args["X"], Wr=Wr)
    np.testing.assert_array_equal(got_idx, idx)
    np.testing.assert_array_equal(EX.pipeline("route").reference(X=args["X"], Wr=Wr)[0], idx)


def test_float32_experts_without_tf32(opencl_device):
    """pipeline("experts", tf32=False): plain float32 products, against numpy's float32."""
    args = EX.layer_inputs(37, 24, 40)
    pipe = EX.pipeline("experts", tf32=False)
    kernel = vx.compile(pipe, schedule=str(ROOT / "schedules" / "moe_experts" / "pocl-cpu.toml"),
                        target="opencl", device=opencl_device)
    idx, _ = EX.numpy_route(args["X"], args["Wr"])
    _, tile_expert, X_p = EX.numpy_pack(idx, args["X"])
    weights = {k: args[k] for k in ("W1", "W3", "W2")}
    want = np.stack([EX.expert_mlp(x, *(weights[k][e] for k in ("W1", "W3", "W2")), tf32=False)
                     for x, e in zip(X_p, tile_expert)])
    got = kernel(X_p=X_p, tile_expert=tile_expert, **weights)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got, pipe.reference(X_p=X_p, tile_expert=tile_expert, **weights),
                               rtol=1e-6, atol=1e-6)


def test_unknown_step():
    with pytest.raises(vx.InputError, match=r"moe has no step 'gemm'; the steps are "
                       r"\['route', 'pack', 'experts', 'unpack'\]"):
        EX.pipeline("gemm")


def test_mma_refuses_an_expert_read_per_row():
    """Why the pack step aligns the segments to tiles: with the expert read per packed row the
    weight factor reads the row var, and the mma directive refuses it."""
    P, D, F, E = vx.dims("P D F E")
    p, n = vx.vars("p n")
    X_p = vx.Input("X_p", vx.float32, (P, D))
    expert = vx.Input("expert_of_row", vx.int32, (P,))
    W1 = vx.Input("W1", vx.float32, (E, D, F))
    k = vx.RDom(D, name="k")
    g = vx.Func("g", shape=(P, F))
    g[p, n] = vx.sum(vx.round_tf32(X_p[p, k])
                     * vx.round_tf32(W1[vx.clamp(expert[p], 0, E - 1), k, n]))
    s = vx.Schedule(vx.Pipeline(g))
    s["g"].tile("p", "n", "po", "no", "pi", "ni", 16, 8).split("k", "ko", "kt", 8)
    s["g"].reorder("po", "no", "ko", "pi", "ni", "kt").mma("pi", "ni", "kt", input_precision="tf32")
    with pytest.raises(vx.ScheduleError, match=r"mma on Func 'g': one factor of .* must read "
                       r"'p' and 'k' \(A\), the other 'k' and 'n' \(B\)"):
        vx.compile(s.pipe, schedule=s, target="cuda", arch="sm_90")


GPU = {"nvidia-h100": ("cuda", "sm_90", r"\bHMMA\.1688\.F32\.TF32\b"),
       "nvidia-a100": ("cuda", "sm_80", r"\bHMMA\.1688\.F32\.TF32\b"),
       "amd-mi300x": ("hip", "gfx90a", r"\bv_mfma_f32_16x16x4f32\b")}


@pytest.mark.parametrize("device", sorted(GPU))
def test_grouped_gemm_compiles_to_matrix_instructions(device):
    """Each of the three GEMM kernels (gate, up, y_p) of the GPU file: tf32 mma.sync on
    NVIDIA (8 per k step: a warp's 2 x 4 tiles of 16 x 8); float32 MFMAs on AMD (4 per k step:
    a wavefront's 2 x 2 tiles of 16 x 16), no scratch."""
    target, arch, opcode = GPU[device]
    compilers.need_isa(target)
    kernel = vx.compile(EX.pipeline("experts"), target=target, arch=arch,
                        schedule=str(ROOT / "schedules" / "moe_experts" / f"{device}.toml"))
    assert set(kernel.resources) == {"gate_kernel", "up_kernel", "y_p_kernel"}
    if target == "cuda":
        from vortex.isa import sass
        text = sass.disassemble(kernel.binary, arch)
        assert len(re.findall(opcode, text)) == 24
    else:
        from vortex.isa import amdgcn
        text = amdgcn.disassemble(kernel.binary, arch)
        assert len(re.findall(opcode, text)) == 12
        assert all(r["scratch_bytes"] == 0 for r in kernel.resources.values())
