"""``ldmatrix`` fragment loads of mma tiles (vortex/lower/fragment_loads.py), the XOR swizzle that
makes them conflict-free (vortex/lower/staging.py) and the bank-conflict report of fragment
loads (vortex/analysis.py).

The proof that an ldmatrix loads the same values as the element path is checked by evaluation:
for every MmaTile of the lowered kernel, the row address each lane supplies (the FragmentLoad's
index, evaluated for the 32 lanes at random values of the outer loops) plus the element's
offset along the contiguous axis must be the address the element path reads for the element
ldmatrix puts in that lane and register slot. PoCL runs the emulation of the same schedules
(the operand layouts row- and column-major) against ``pipe.reference``; NVRTC compiles them to
HMMA fed by LDSM."""
import re

import numpy as np
import pytest

import compilers
import vortex as vx
from vortex.algorithm.expr import BinOp, Const, Dim, Select
from vortex.analysis import analyze
from vortex.lower import lower
from vortex.lower.driver import PASSES
from vortex.lower.ir import Block, BufferLoad, Declare, FragmentLoad, MmaTile, Ref
from vortex.lower.walk import stmts
from vortex.mma import nvidia

LAYOUTS = {"nn": ("ik", "kj"), "nt": ("ik", "jk"), "tn": ("ki", "kj"), "tt": ("ki", "jk")}


def gemm(layout: str, dtype=vx.float16, rdom=None):
    """C[i, j] = Σ_k f32(A) · f32(B), A stored (M, K) or (K, M) and B (K, N) or (N, K) per
    ``layout``; ``rdom`` (K → extent) narrows the reduction."""
    M, N, K = vx.dims("M N K")
    a, b = LAYOUTS[layout]
    dims = {"i": M, "j": N, "k": K}
    A = vx.Input("A", dtype, tuple(dims[c] for c in a))
    B = vx.Input("B", dtype, tuple(dims[c] for c in b))
    i, j = vx.vars("i j")
    k = vx.RDom(K if rdom is None else rdom(K), name="k")
    var = {"i": i, "j": j, "k": k}
    C = vx.Func("C", shape=(M, N))
    C[i, j] = vx.sum(vx.cast(vx.float32, A[tuple(var[c] for c in a)]) *
                     vx.cast(vx.float32, B[tuple(var[c] for c in b)]))
    return vx.Pipeline(C, name=f"gemm_{layout}")


def schedule(pipe, swizzle=True, stages=1, stage=True):
    """A 32×32 block tile of 2×2 warps, each one 16×8×16 mma tile per k step of 32 (two
    instruction k steps, unrolled); A and B staged per k step."""
    s = vx.Schedule(pipe)
    s["C"].tile("i", "j", "io", "jo", "ii", "ji", 32, 16) \
        .tile("ii", "ji", "iw", "jw", "it", "jt", 16, 8) \
        .split("k", "ko", "kq", 32).split("kq", "ku", "kt", 16) \
        .reorder("io", "jo", "iw", "jw", "ko", "ku", "it", "jt", "kt") \
        .mma("it", "jt", "kt").gpu_blocks("io", "jo").gpu_threads("iw", "jw").unroll("ku")
    if stage:
        opts = {"swizzle": "xor"} if swizzle else {}
        s["C"].stage("A", at="ko", **opts).stage("B", at="ko", **opts)
    if stages > 1:
        s["C"].pipeline("ko", stages=stages)
    return s


def tiles(pipe, sched, origins=None):
    """The MmaTiles of the lowered kernels, as the realize and unroll passes leave them (before
    simplification and common-subexpression elimination move their address arithmetic); the
    staged tiles' origins (``X.lo0``…: name → expression) go into ``origins``."""
    lowered = lower(pipe, sched, passes=PASSES[:3])
    body = [s for k in lowered.kernels for s in stmts(k.body)]
    if origins is not None:
        origins.update({s.name: s.value for s in body if isinstance(s, Declare)
                        and re.search(r"\.lo\d+$", s.name)})
    return [s for s in body if isinstance(s, MmaTile)]


def evaluate(e, env):
    """An IR integer expression at ``env`` (numpy arrays over lanes)."""
    if isinstance(e, Const):
        return np.int64(int(e.value))
    if isinstance(e, Ref):
        return env[e.name]
    if isinstance(e, Dim):
        return np.int64(4096)
    if isinstance(e, BinOp):
        with np.errstate(all="ignore"):
            return e.op.ufunc(evaluate(e.a, env), evaluate(e.b, env))
    raise AssertionError(f"unexpected {type(e).__name__} in an address: {e}")


class Env(dict):
    """Loop counters and declared locals; an unknown counter gets a random value, the same for
    every use; a staged tile's origin its expression's value."""

    def __init__(self, rng, lanes, origins):
        super().__init__(mma_lane=lanes)
        self.rng, self.origins = rng, origins

    def __missing__(self, name):
        self[name] = evaluate(self.origins[name], self) if name in self.origins else \
            np.int64(self.rng.integers(0, 4))
        return self[name]


def run_block(block, env) -> dict:
    """Evaluate the Declares of ``block``: name → value; a load's value is its (buffer, index)."""
    out = {}
    for s in (block.stmts if isinstance(block, Block) else (block,)):
        if isinstance(s, Declare):
            value = s.value
            if isinstance(value, Select):
                value = value.true_value
            if isinstance(value, BufferLoad):
                out[s.name] = (value.buffer, evaluate(value.index, env))
            else:
                env[s.name] = evaluate(value, env)
        elif isinstance(s, FragmentLoad):
            out["ldmatrix"] = (s, evaluate(s.index, env))
    return out


def check_composition(t: MmaTile, op: str, rng, origins: dict):
    """The addresses of ``op``'s ldmatrix equal the element path's, lane by lane."""
    inst = next(i for i in nvidia.INSTRUCTIONS if i.name == t.instruction)
    frag = {"a": inst.a_frag, "b": inst.b_frag}[op]
    for _ in range(3):
        env = Env(rng, np.arange(32), origins)
        load, rows = run_block(getattr(t, f"{op}_load"), env)["ldmatrix"]
        elements = run_block(getattr(t, op), env)
        names = sorted(elements, key=lambda n: int(n.split(".")[2]))
        assert len(names) == frag.per_lane
        fd = nvidia.feed(inst.name, op, 0 if load.trans == (op == "a") else 1)
        for lane in range(32):
            for e, name in enumerate(names):
                buf, idx = elements[name]
                tile_row, c = fd.load.frag.coords(lane, e)
                assert buf == load.buffer
                assert rows[tile_row] + c == np.broadcast_to(idx, (32,))[lane], (op, lane, e)


@pytest.mark.parametrize("stages", [1, 2])
@pytest.mark.parametrize("swizzle", [True, False], ids=["xor", "plain"])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_ldmatrix_addresses_are_the_element_addresses(layout, swizzle, stages):
    rng, origins = np.random.default_rng(0), {}
    found = tiles(gemm(layout), schedule(gemm(layout), swizzle, stages), origins)
    assert found, "no mma tile"
    for t in found:
        assert t.a_load is not None and t.b_load is not None
        check_composition(t, "a", rng, origins)
        check_composition(t, "b", rng, origins)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_each_operand_layout_on_pocl_equals_the_reference(opencl_device, layout):
    pipe = gemm(layout)
    kern = vx.compile(pipe, schedule(pipe, stages=2), target="opencl", device=opencl_device)
    rng = np.random.default_rng(1)
    for m, n, kk in ((1, 1, 1), (37, 20, 45), (32, 16, 64)):
        shape = {"i": m, "j": n, "k": kk}
        a, b = LAYOUTS[layout]
        args = {"A": (rng.integers(-8, 9, [shape[c] for c in a]) / 4).astype(np.float16),
                "B": (rng.integers(-8, 9, [shape[c] for c in b]) / 4).astype(np.float16)}
        np.testing.assert_array_equal(kern(**args), pipe.reference(**args))


def loads(pipe, sched) -> list:
    return [(t.a_load is not None, t.b_load is not None) for t in tiles(pipe, sched)]


def test_operands_read_from_global_memory_are_loaded_element_by_element():
    pipe = gemm("nn")
    assert set(loads(pipe, schedule(pipe, stage=False))) == {(False, False)}


def test_a_reduction_narrower_than_the_input_keeps_element_loads():
    """k < K - 3 is not implied by the staged copy's zero fill (A has K columns): the element
    path's zeros are needed, so no ldmatrix."""
    pipe = gemm("nn", rdom=lambda K: K - 3)
    assert set(loads(pipe, schedule(pipe))) == {(False, False)}


def test_an_amd_instruction_has_no_ldmatrix():
    s = vx.Schedule(gemm("nn"))
    s["C"].tile("i", "j", "io", "jo", "ii", "ji", 16, 16) \
        .tile("ii", "ji", "iw", "jw", "it", "jt", 16, 16).split("k", "ko", "kt", 16) \
        .reorder("io", "jo", "iw", "jw", "ko", "it", "jt", "kt").mma("it", "jt", "kt") \
        .gpu_blocks("io", "jo").gpu_threads("iw", "jw").stage("A", at="ko").stage("B", at="ko")
    assert set(loads(s.pipe, s)) == {(False, False)}


def bank_report(pipe, sched) -> set:
    report = analyze(lower(pipe, sched))
    return {(a.buffer, a.ways) for r in report for a in r.accesses if a.kind == "ldmatrix"}


def test_the_xor_swizzle_makes_ldmatrix_conflict_free():
    """A's tile rows are 32 halves (64 bytes: two rows per 128-byte bank line), B's 16 (32
    bytes: four): without the swizzle the 8 rows of one ldmatrix matrix fall on 2 (A) and 4
    (B) of the 8 16-byte bank groups, 4-way and 2-way conflicts."""
    pipe = gemm("nn")
    assert bank_report(pipe, schedule(pipe, swizzle=False)) == {("A_sh", 4), ("B_sh", 2)}
    assert bank_report(pipe, schedule(pipe, swizzle=True)) == {("A_sh", 1), ("B_sh", 1)}


@pytest.mark.parametrize("layout, dtype, arch", [
    ("nn", vx.float16, "sm_80"), ("nn", vx.float16, "sm_90"), ("nt", vx.float16, "sm_90"),
    ("tt", vx.float16, "sm_90"), ("nn", vx.bfloat16, "sm_80"), ("tn", vx.bfloat16, "sm_90")],
    ids=str)
def test_cuda_feeds_hmma_with_ldsm(layout, dtype, arch):
    """Per k step of 32 each warp issues 2 HMMA fed by 2 LDSM.x4 (A) and 2 LDSM.x2 (B); the
    transposing form (MT88) where a fragment's element pairs run across the stored rows
    (k-major A, k-major B)."""
    compilers.need_isa("cuda")
    from vortex.isa import sass
    pipe = gemm(layout, dtype)
    kern = vx.compile(pipe, schedule(pipe, stages=2), target="cuda", arch=arch)
    text = sass.disassemble(kern.binary, arch)
    hmma = r"HMMA\.16816\.F32\.BF16\b" if dtype is vx.bfloat16 else r"HMMA\.16816\.F32\b(?!\.)"
    assert len(re.findall(hmma, text)) >= 2
    found = set(re.findall(r"\bLDSM\.16\.(M|MT)88\.(\d)\b", text))
    trans = {"a": layout[0] == "t", "b": layout[1] == "n"}
    assert found == {("MT" if trans["a"] else "M", "4"), ("MT" if trans["b"] else "M", "2")}
    assert not re.search(r"\b(LDL|STL)\b", text)
    assert kern.resources["C_kernel"]["spill_stores"] == 0
