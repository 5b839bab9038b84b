"""vortex.lib.ntt's schedule for PoCL speed (benchmarks/ntt.py): the bit reversal as a root
kernel of 16 x 16 tiles, one work item per butterfly pair (the product once, both points
written), stages of rows (one or two thread dimensions) and flat stages, and the branch-free
butterfly ``a + (±t)`` (``negate_where``) — each equal to sympy's NTT on PoCL, for both
fields, at lengths on both sides of the tiling's threshold (2**8) and of the rows' (a stage
has rows when 2**(log_n − 1 − s) >= 16)."""
import numpy as np
import pytest
from sympy.discrete.transforms import intt as sympy_intt
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


def compiled(F, log_n: int, threads: int, device, inverse: bool = False):
    pipe = ntt.ntt_pipeline(F, log_n, inverse=inverse)
    s = vx.Schedule(pipe)
    ntt.schedule_stages(s, ntt.NTT.find(pipe), threads)
    s["y"].split("i", "io", "ii", threads).gpu_blocks("io").gpu_threads("ii")
    return vx.compile(pipe, schedule=s, target="opencl", device=device)


@pytest.mark.parametrize("name", sorted(FIELDS))
@pytest.mark.parametrize("log_n,threads", [(3, 4), (7, 16), (9, 32), (10, 8)])
def test_schedule_equals_sympy_on_pocl(name, log_n, threads, opencl_device):
    F = FIELDS[name]
    kernel = compiled(F, log_n, threads, opencl_device)
    x = values(F, 1 << log_n)
    got = kernel(x=x, w=ntt.twiddles(F, log_n))
    assert [int(v) for v in got] == sympy_ntt([int(v) for v in x], F.p)


@pytest.mark.parametrize("name", sorted(FIELDS))
def test_inverse_pipeline_equals_sympy_intt_on_pocl(name, opencl_device):
    F = FIELDS[name]
    kernel = compiled(F, 9, 32, opencl_device, inverse=True)
    x = values(F, 1 << 9)
    got = kernel(x=x, w=ntt.twiddles(F, 9))
    assert [int(v) for v in got] == sympy_intt([int(v) for v in x], F.p)


def test_launches_of_the_global_schedule(opencl_device):
    """log 9, 32 threads: the tiled bit reversal (one block per 16 x 16 tile), one kernel per
    stage and the output, nothing else (the twiddles read from ``w`` inside the stages);
    stages 0-3 rows of 256 … 32 pairs (one thread dimension), stage 4 rows of 16 (two), stages
    5-8 flat; each stage a pair per work item (both points stored, one product), branch-free."""
    kernel = compiled(BABYBEAR, 9, 32, opencl_device)
    launches = kernel.kernel_source.launches
    assert [launch.entry for launch in launches] == \
        ["ntt_rev_kernel", *(f"ntt_s{k}_kernel" for k in range(9)), "y_kernel"]
    assert launches[0].block == (16, 16, 1)
    blocks = {launch.entry: launch.block for launch in launches}
    assert [blocks[f"ntt_s{k}_kernel"] for k in range(9)] == \
        [(32, 1, 1)] * 4 + [(16, 2, 1)] + [(32, 1, 1)] * 4
    assert [ntt.is_rows(9, k) for k in range(9)] == [True] * 5 + [False] * 4
    s5 = kernel.source.split("ntt_s5_kernel")[1].split("\n}")[0]
    assert s5.count("ntt_s5[") == 2 and "?" not in s5       # both points, no branch


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
    t = ntt.NTT.find(pipe)
    assert t.log_n == 3 and len(t.twiddles) == 2 and t.out.name == "ntt_out"
    assert ntt.NTT.find(ntt.ntt_pipeline(BABYBEAR, 3, inverse=True)).out.name == "ntt_scaled"
    with pytest.raises(vx.ScheduleError, match=r"no transform named 'fa' \(no Func 'fa_rev'\)"):
        ntt.NTT.find(pipe, "fa")


@pytest.mark.parametrize("offline", ["cuda", "hip"], indirect=True)
def test_global_schedule_compiles_for_gpus(offline):
    """The same schedule (tiled bit reversal, stages of rows and flat stages) for sm_90 and
    gfx90a."""
    target, build = offline
    pipe = ntt.ntt_pipeline(BABYBEAR, 9)
    s = vx.Schedule(pipe)
    ntt.schedule_stages(s, ntt.NTT.find(pipe), 32)
    s["y"].split("i", "io", "ii", 32).gpu_blocks("io").gpu_threads("ii")
    kernel = build(pipe, s)
    assert "ntt_rev_kernel" in kernel.source and "ntt_s8_kernel" in kernel.source
