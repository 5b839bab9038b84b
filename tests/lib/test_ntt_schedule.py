"""vortex.lib.ntt's schedule for PoCL speed (benchmarks/ntt.py): one work item per butterfly
pair (the product once, both points written), rows of >= 16 pairs with one or two thread
dimensions, shorter rows a work item each (a loop or unrolled) with a twiddle table,
radix 4 (a stage inlined into the next), and the branch-free butterfly ``a + (±t)``
(``negate_where``) — each equal to sympy's NTT on PoCL, for both fields (radix 4 for BabyBear
only: docs/fields.md), at lengths on both sides of each threshold."""
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


def compiled(F, log_n: int, threads: int, device, inverse: bool = False, radix: int = 2):
    pipe = ntt.ntt_pipeline(F, log_n, inverse=inverse)
    s = vx.Schedule(pipe)
    ntt.schedule_stages(s, ntt.NTT.find(pipe), threads, radix)
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


@pytest.mark.parametrize("log_n,threads", [(2, 4), (7, 8), (10, 16), (11, 32)])
def test_radix_4_equals_sympy_on_pocl(log_n, threads, opencl_device):
    """BabyBear, two stages per pass where the second has rows of >= 16 pairs (odd and even
    counts of stages, rows longer and shorter than the block), the rest radix 2."""
    kernel = compiled(BABYBEAR, log_n, threads, opencl_device, radix=4)
    x = values(BABYBEAR, 1 << log_n)
    got = kernel(x=x, w=ntt.twiddles(BABYBEAR, log_n))
    assert [int(v) for v in got] == sympy_ntt([int(v) for v in x], BABYBEAR.p)


def test_launches_of_the_global_schedule(opencl_device):
    """log 9, 32 threads: one kernel per stage (R = 256 … 1 pairs a row) and the output, no
    bit reversal; rows of >= 32 a block per 32 pairs, of 16 two thread dimensions, of 8 … 2 a
    work item per row after a twiddle table (a loop over the row for 8 and 4, unrolled for 2),
    of 1 a work item per row reading ``w`` itself; each pair once, both points stored, no
    branch. With radix 4: stages 0, 2 inlined into 1, 3 (the next has rows >= 16)."""
    kernel = compiled(BABYBEAR, 9, 32, opencl_device)
    launches = kernel.kernel_source.launches
    assert [launch.entry for launch in launches] == \
        [*(f"ntt_s{k}_kernel" for k in range(5)), "ntt_w5_kernel", "ntt_s5_kernel",
         "ntt_w6_kernel", "ntt_s6_kernel", "ntt_w7_kernel", "ntt_s7_kernel", "ntt_s8_kernel",
         "y_kernel"]
    blocks = {launch.entry: launch.block for launch in launches}
    assert [blocks[f"ntt_s{k}_kernel"] for k in range(9)] == \
        [(32, 1, 1)] * 4 + [(16, 2, 1)] + [(32, 1, 1)] * 4
    body = {k: kernel.source.split(f"ntt_s{k}_kernel(")[1].split("\n}")[0] for k in range(9)}
    assert all("for (" in body[k] for k in (5, 6)) and "for (" not in body[7]
    assert body[0].count("ntt_s0[") == 2 and "?" not in body[0]       # both points, no branch
    assert body[7].count("ntt_s7[") == 4                                # 2 pairs, unrolled
    radix4 = compiled(BABYBEAR, 9, 32, opencl_device, radix=4).kernel_source.launches
    assert [launch.entry for launch in radix4][:4] == \
        ["ntt_s1_kernel", "ntt_s3_kernel", "ntt_s4_kernel", "ntt_w5_kernel"]


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
    assert [tuple(int(d.value) for d in f.shape) for f in t.stages] == [(2, 4), (4, 2), (8, 1)]
    assert ntt.NTT.find(ntt.ntt_pipeline(BABYBEAR, 3, inverse=True)).out.name == "ntt_scaled"
    with pytest.raises(vx.ScheduleError, match=r"no transform named 'fa' \(no Func 'fa_s0'\)"):
        ntt.NTT.find(pipe, "fa")


@pytest.mark.parametrize("offline", ["cuda", "hip"], indirect=True)
def test_global_schedule_compiles_for_gpus(offline):
    """The same schedule (long rows, short rows in a loop and unrolled, twiddle tables), radix
    2 and 4, for sm_90 and gfx90a."""
    target, build = offline
    pipe = ntt.ntt_pipeline(BABYBEAR, 9)
    for radix in (2, 4):
        s = vx.Schedule(pipe)
        ntt.schedule_stages(s, ntt.NTT.find(pipe), 32, radix)
        s["y"].split("i", "io", "ii", 32).gpu_blocks("io").gpu_threads("ii")
        kernel = build(pipe, s)
        assert "ntt_w5_kernel" in kernel.source and "ntt_s8_kernel" in kernel.source
        assert ("ntt_s0_kernel" in kernel.source) == (radix == 2)
