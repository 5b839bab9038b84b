"""``stage`` / ``pipeline`` in an update stage (``s[f].update(0).stage(V, "ro")``): the tile
of an Input the update reads inside loop ``ro`` (or that a producer computed at ``ro`` reads: K
for attention's score box) is copied by the block into shared memory once per iteration of
``ro``, pipelined with ``pipeline("ro", stages=n)``. The attention pipeline of
examples/attention.py (its H100 file plus these directives) on PoCL against numpy at S = 1, 17,
70, causal and not, GQA 4 over 2 heads; the trim pass still trims the causal key tiles of a
non-pipelined tile; NVRTC sm_90: cp.async (LDGSTS), no global load in the key loop, no spills;
the refusals, each message; TOML and to_python round trips."""
from pathlib import Path

import numpy as np
import pytest

import vortex as vx
import compilers
from vortex.examples import load_example
from vortex.isa.model import OpClass
from vortex.schedule import gpu_directives as G

ROOT = Path(__file__).resolve().parents[2]
attention = load_example(ROOT / "examples" / "attention.py")
H100 = ROOT / "schedules" / "attention" / "nvidia-h100.toml"
STAGED = {"V": ["V"], "VK_pipelined": ["V", "K", 2], "V_pipelined3": ["V", 3]}


def staged(pipe, what) -> vx.Schedule:
    """The H100 file (score at the key loop ro, shared) without its own stage / pipeline lines,
    with V, and K if listed, staged at ro; a trailing int pipelines ro that many stages."""
    s = vx.Schedule.load(str(H100), pipe)
    u = s["F"].update(0)
    s.directives["F.update(0)"] = [d for d in s.stage_directives("F.update(0)")
                                   if not isinstance(d, (G.Stage, G.PipelineStages))]
    for x in what:
        if isinstance(x, int):
            u.pipeline("ro", stages=x)
        else:
            u.stage(x, "ro", memory="shared")
    return s


@pytest.mark.parametrize("causal", [True, False], ids=["causal", "full"])
@pytest.mark.parametrize("what", list(STAGED))
def test_staged_key_value_tiles_on_pocl(opencl_device, what, causal):
    pipe = attention.pipeline(64, causal)
    k = vx.compile(pipe, schedule=staged(pipe, STAGED[what]), target="opencl",
                   device=opencl_device)
    for S in (1, 17, 70):
        rng = np.random.default_rng(S)
        q = rng.standard_normal((1, 4, S, 64), dtype=np.float32)
        kk, v = (rng.standard_normal((1, 2, S, 64), dtype=np.float32) for _ in range(2))
        np.testing.assert_allclose(k(Q=q, K=kk, V=v), attention.numpy_version(q, kk, v, causal),
                                   rtol=1e-5, atol=1e-5)


def _key_loop(src: str) -> str:
    update = src[src.index("F_update0_kernel"):]
    return next(line.strip() for line in update.splitlines() if "for (int ro" in line)


def test_trim_keeps_skipping_causal_tiles_of_a_staged_tile():
    """A tile staged at ro is a box of ro (refilled each iteration): the loop stops after the
    block's last query's tile. Pipelined too (a skipped iteration only prefetches for a later
    skipped one), and the last prefetch is waited for after the loop."""
    pipe = attention.pipeline(64, True)
    plain = _key_loop(vx.source(pipe, staged(pipe, ["V", "K"]), target="opencl"))
    assert plain == ("for (int ro = 0; ro < max(min(vx_fdiv_int((S + 31), 32), "
                     "vx_fdiv_int(((so * 16) + 47), 32)), 0); ++ro) {")
    src = vx.source(pipe, staged(pipe, ["V", 2]), target="cuda", arch="sm_90")
    assert _key_loop(src) == ("for (int ro = 0; ro < max(min(cse_0, vx_fdiv_int(((so * 16) + "
                              "47), 32)), 0); ++ro) {")
    assert src[src.index("F_update0_kernel"):].count("__pipeline_wait_prior(0);") == 1


def later_keys(pipelined: bool):
    """f[x] over the keys r >= x (a where predicate): the first key tiles of a block do
    nothing. Trimmed from the start without pipeline; pipelined the prologue fills the first
    tiles' slots, so the loop keeps its start."""
    N, M = vx.dims("N M")
    A = vx.Input("A", vx.float32, (N, M))
    x = vx.Var("x")
    r = vx.RDom(M, name="r")
    r.where(r >= x)
    f = vx.Func("f", shape=(N,))
    f[x] = np.float32(0)
    f[x] = f[x] * np.float32(0.5) + A[x, r]
    pipe = vx.Pipeline(f, name="later_keys")
    u, s = tiled(pipe)
    u.stage("A", "ro")
    if pipelined:
        u.pipeline("ro", stages=2)
    return pipe, s


@pytest.mark.parametrize("pipelined", [False, True], ids=["staged", "pipelined"])
def test_trim_keeps_the_start_of_a_pipelined_loop(opencl_device, pipelined):
    pipe, s = later_keys(pipelined)
    src = vx.source(pipe, s, target="opencl")
    loop = next(line.strip() for line in src.splitlines() if "for (int ro" in line)
    assert loop.startswith("for (int ro = 0;") == pipelined
    k = vx.compile(pipe, schedule=s, target="opencl", device=opencl_device)
    for n, m in [(1, 1), (13, 7), (40, 33)]:
        a = np.random.default_rng(n).standard_normal((n, m)).astype(np.float32)
        np.testing.assert_allclose(k(A=a), pipe.reference(A=a), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("what, copies, shared", [(["V"], 2, 10240),
                                                  (["V", "K", 2], 8, 34816)])
def test_sm90_copies_the_tiles_with_cp_async(what, copies, shared):
    """F_update0_kernel on sm_90: the key loop loads nothing from global memory (V from the
    staged tile), the tiles arrive by cp.async (LDGSTS, 16 bytes each), 32 registers, no
    spills; shared = score box 2 KiB + 8 KiB per V/K tile and slot."""
    compilers.need_isa("cuda")
    from vortex.isa import sass
    pipe = attention.pipeline(64, True)
    k = vx.compile(pipe, schedule=staged(pipe, what), target="cuda", arch="sm_90")
    res = k.resources["F_update0_kernel"]
    assert res["shared_bytes"] == shared
    assert res["spill_stores"] == res["spill_loads"] == res["stack_bytes"] == 0
    isa = {ki.name: ki for ki in k.analysis().isa}
    assert isa["F_update0_kernel"].inner.mix.count(OpClass.GLOBAL_LOAD) == 0
    text = sass.disassemble(k.analysis().code[2], "sm_90")
    assert sum("LDGSTS" in line for line in text.splitlines()) == copies


def recurrence(varying=False):
    """f[x] = 0; for r in order: f[x] = f[x] / 2 + A[x, r] (r <= x only through the RDom's
    bound with ``varying``)."""
    N, M = vx.dims("N M")
    A = vx.Input("A", vx.float32, (N, N if varying else M))
    x = vx.Var("x")
    r = vx.RDom(x + 1 if varying else M, name="r")
    f = vx.Func("f", shape=(N,))
    f[x] = np.float32(0)
    f[x] = f[x] * np.float32(0.5) + A[x, r]
    return vx.Pipeline(f, name="recurrence")


def tiled(pipe, split=True):
    s = vx.Schedule(pipe)
    s["f"].split("x", "xo", "xi", 8).gpu_blocks("xo").gpu_threads("xi")
    u = s["f"].update(0).split("x", "xo", "xi", 8)
    if split:
        u.split("r", "ro", "ri", 4).reorder("xo", "xi", "ro", "ri")
    return u.gpu_blocks("xo").gpu_threads("xi"), s


@pytest.mark.parametrize("memory", ["shared", "register"])
def test_a_recurrence_reading_its_staged_tile(opencl_device, memory):
    """8 rows x 4 keys per block and key tile, shared or one row per thread in registers,
    at 1 x 1, 13 x 7 and 40 x 33 (partial row blocks and key tiles)."""
    pipe = recurrence()
    u, s = tiled(pipe)
    u.stage("A", "ro", memory=memory).pipeline("ro", stages=2)
    k = vx.compile(pipe, schedule=s, target="opencl", device=opencl_device)
    for n, m in [(1, 1), (13, 7), (40, 33)]:
        a = np.random.default_rng(n).standard_normal((n, m)).astype(np.float32)
        np.testing.assert_allclose(k(A=a), pipe.reference(A=a), rtol=1e-6, atol=1e-6)


def test_a_tile_at_a_loop_whose_trip_count_depends_on_the_thread():
    """r runs over x + 1 keys: the threads of a block would leave the loop at different
    times (vortex/lower/varying.py refuses staging there, in an update stage too)."""
    pipe = recurrence(varying=True)
    u, s = tiled(pipe, split=False)
    u.stage("A", "r")
    with pytest.raises(vx.ScheduleError, match=r"stage\(A, r, \{'memory': 'shared'\}\) on Func "
                       r"'f.update\(0\)': the RDom loop r has bounds depending on x: staging "
                       r"reads of a reduction over such a domain is not supported"):
        vx.source(pipe, s, target="opencl")


def test_warp_specialize_on_an_update_stage():
    u, _ = tiled(recurrence())
    with pytest.raises(vx.ScheduleError, match=r"an update stage takes only loop directives, "
                       r"atomic\(\) and rfactor\(\) \(.*\), stage\(\) and pipeline\(\)"):
        u.stage("A", "ro").warp_specialize(1)


def test_an_update_stage_cannot_stage_its_own_func():
    u, _ = tiled(recurrence())
    with pytest.raises(vx.ScheduleError, match=r"'f.update\(0\)' cannot stage itself"):
        u.stage("f", "ro")


def test_pipeline_without_a_staged_tile_at_that_loop():
    u, _ = tiled(recurrence())
    with pytest.raises(vx.ScheduleError, match=r"pipeline\(ro, \{'stages': 2\}\) on Func "
                       r"'f.update\(0\)': no stage\(\.\.\., at='ro'\) before it"):
        u.pipeline("ro", stages=2)


def test_a_shared_tile_at_a_thread_loop_of_an_update():
    pipe = recurrence()
    u, s = tiled(pipe)
    u.stage("A", "xi")
    with pytest.raises(vx.ScheduleError, match=r"loop 'xi' is bound to gpu_threads: each thread "
                       r"runs its own iteration, so there is no tile to share"):
        vx.source(pipe, s, target="opencl")


def test_the_directives_round_trip_through_toml_and_python():
    pipe = attention.pipeline(64, True)
    s = staged(pipe, ["V", "K", 2])
    text = s.to_toml()
    assert 'stage = ["V", "ro", { memory = "shared" }]' in text
    assert 'pipeline = ["ro", { stages = 2 }]' in text
    assert vx.Schedule.from_toml(text, pipe).directives == s.directives
    env = {"vx": vx, "pipe": pipe}
    exec(s.to_python(), env)
    assert env["s"].directives == s.directives
