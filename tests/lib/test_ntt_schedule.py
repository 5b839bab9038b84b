"""vortex.lib.ntt's schedule for PoCL speed (benchmarks/ntt.py): the bit reversal as a root
kernel of 16 x 16 tiles, per-stage twiddle tables, root products for the first stages,
two-dimensional threads for the stages below the block width, and the branch-free butterfly
``a + (±t)`` (``negate_where``) — each equal to sympy's NTT on PoCL, for both fields, at
lengths on both sides of the tiling's threshold (2**8)."""
import numpy as np
import pytest
from sympy.discrete.transforms import ntt as sympy_ntt

import vortex as vx
from vortex.lib import ntt
from vortex.lib.fields import BABYBEAR, GOLDILOCKS

FIELDS = {"babybear": BABYBEAR, "goldilocks": GOLDILOCKS}


def values(F, n: int, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = rng.integers(0, F.p, n, dtype=np.uint64)
    v[:4] = [0, 1, F.p - 1, F.p - 2]
    return v.astype(F.dtype.np)


def compiled(F, log_n: int, fused: int, threads: int, device):
    pipe = ntt.ntt_pipeline(F, log_n)
    s = vx.Schedule(pipe)
    ntt.schedule_stages(s, ntt.NTT.find(pipe), fused, threads)
    s["y"].split("i", "io", "ii", threads).gpu_blocks("io").gpu_threads("ii")
    return vx.compile(pipe, schedule=s, target="opencl", device=device)


@pytest.mark.parametrize("name", sorted(FIELDS))
@pytest.mark.parametrize("log_n,fused,threads", [(3, 0, 4), (7, 0, 16), (9, 0, 32),
                                                 (9, 3, 8)])
def test_schedule_equals_sympy_on_pocl(name, log_n, fused, threads, opencl_device):
    F = FIELDS[name]
    kernel = compiled(F, log_n, fused, threads, opencl_device)
    x = values(F, 1 << log_n)
    got = kernel(x=x, w=ntt.twiddles(F, log_n))
    assert [int(v) for v in got] == sympy_ntt([int(v) for v in x], F.p)


def test_launches_of_the_global_schedule(opencl_device):
    """log 9, 32 threads: the tiled bit reversal (one block per 16 x 16 tile), one table per
    stage whose twiddles lie >= 16 words apart in w (stages 1 … 4), products root below
    half-width 8 (stages 1, 2), threads in two dimensions for half-widths 8 and 16 (stages 3,
    4), every stage a kernel, and the output."""
    kernel = compiled(BABYBEAR, 9, 0, 32, opencl_device)
    entries = [launch.entry for launch in kernel.kernel_source.launches]
    assert entries[0] == "ntt_rev_kernel"
    assert kernel.kernel_source.launches[0].block == (16, 16, 1)
    assert sorted(e for e in entries if e.startswith("ntt_w")) == \
        sorted(f"ntt_w{k}_kernel" for k in range(1, 5))
    assert sorted(e for e in entries if e.startswith("ntt_t")) == \
        ["ntt_t1_kernel", "ntt_t2_kernel"]
    blocks = {launch.entry: launch.block for launch in kernel.kernel_source.launches}
    assert blocks["ntt_s3_kernel"] == (8, 4, 1) and blocks["ntt_s4_kernel"] == (16, 2, 1)
    assert blocks["ntt_s2_kernel"] == blocks["ntt_s5_kernel"] == (32, 1, 1)
    assert len([e for e in entries if e.startswith("ntt_s")]) == 9
    assert "?" not in kernel.source.split("ntt_s1_kernel")[1].split("}")[0]   # branch-free


@pytest.mark.parametrize("name", sorted(FIELDS))
def test_negate_where_at_the_edges(name):
    """``p − t`` where the bit is 1 (``p`` for ``t = 0``), ``t`` where it is 0, in the
    reference, for t in {0, 1, p − 1}."""
    F = FIELDS[name]
    n, x = vx.Dim("N"), vx.Var("x")
    t, bit = vx.Input("t", F.dtype, (n,)), vx.Input("bit", vx.int32, (n,))
    f = vx.Func("f", shape=(n,))
    f[x] = ntt.negate_where(F, t[x], bit[x])
    tv = np.array([0, 1, F.p - 1] * 2, dtype=F.dtype.np)
    bv = np.array([1, 1, 1, 0, 0, 0], dtype=np.int32)
    got = vx.Pipeline(f).reference(t=tv, bit=bv)
    assert [int(v) for v in got] == [F.p, F.p - 1, 1, 0, 1, F.p - 1]


def test_find_names_the_missing_transform():
    pipe = ntt.ntt_pipeline(BABYBEAR, 3)
    assert ntt.NTT.find(pipe).log_n == 3 and len(ntt.NTT.find(pipe).twiddles) == 2
    with pytest.raises(vx.ScheduleError, match=r"no transform named 'fa' \(no Func 'fa_rev'\)"):
        ntt.NTT.find(pipe, "fa")


@pytest.mark.parametrize("offline", ["cuda", "hip"], indirect=True)
def test_global_schedule_compiles_for_gpus(offline):
    """The same schedule (tiled bit reversal, tables, two-dimensional threads) for sm_90 and
    gfx90a."""
    target, build = offline
    pipe = ntt.ntt_pipeline(BABYBEAR, 9)
    s = vx.Schedule(pipe)
    ntt.schedule_stages(s, ntt.NTT.find(pipe), 0, 32)
    s["y"].split("i", "io", "ii", 32).gpu_blocks("io").gpu_threads("ii")
    kernel = build(pipe, s)
    assert "ntt_rev_kernel" in kernel.source and "ntt_w1_kernel" in kernel.source
