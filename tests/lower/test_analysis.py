"""kernel.analysis(): bank conflicts from the index expressions (32 banks × 4 B), coalescing,
shared bytes. The staged tile is copied 16 bytes at a time (under the run-time test that K
and N are multiples of 4), so its XOR swizzle permutes 4-float chunks (CUTLASS's layout): a
column's 32 rows fall on 8 chunk positions, a 4-way conflict, where the same schedule without
the swizzle reads it with a 32-way conflict; the 16-byte copies themselves, served a quarter
warp at a time, are conflict-free."""
import numpy as np
import pytest

import pipelines as P
import vortex as vx
from vortex.analysis import analyze
from vortex.lower import lower

yo, xo, yi, xi, ko, ki = vx.vars("yo xo yi xi ko ki")


def column_reads(swizzle):
    """Threads along i (the A-tile row) read one column of the staged 32×32 A tile."""
    pipe = P.pipe("matmul")
    s = vx.Schedule(pipe)
    s["C"].tile("i", "j", yo, xo, yi, xi, 32, 8).gpu_blocks(yo, xo).gpu_threads(xi, yi)
    s["C"].split("k", ko, ki, 32).stage("A", at=ko, swizzle=swizzle).stage("B", at=ko)
    return pipe, s


def shared_reads(report, buffer):
    return [a for a in report.accesses if a.buffer == buffer and a.kind == "read"]


def test_swizzled_tile_is_read_with_a_4_way_conflict():
    (report,) = analyze(lower(*column_reads("xor")))
    reads = shared_reads(report, "A_sh")   # one per version of the k loop (steady, edges)
    assert reads and all(r.memory == "shared" and r.ways == 4 for r in reads)
    writes = [a for a in report.accesses if a.memory == "shared" and a.kind == "write"]
    assert writes and all(w.ways == 1 for w in writes)
    assert report.bank_conflicts == 3 * len(reads)


def test_unswizzled_tile_has_a_32_way_conflict():
    (report,) = analyze(lower(*column_reads(None)))
    reads = shared_reads(report, "A_sh")
    assert reads and all(r.ways == 32 for r in reads)
    assert report.bank_conflicts == 31 * len(reads)


def test_report_gives_shared_bytes_and_coalescing():
    (report,) = analyze(lower(*column_reads("xor")))
    assert report.shared_bytes == 4 * (32 * 32 + 32 * 8)
    fills = {a.buffer: a for a in report.accesses if a.memory == "global" and a.kind == "read"}
    assert fills["A"].segments == fills["A"].minimum == 1   # a warp copies one 128-byte row
    assert "32-way" not in str(analyze(lower(*column_reads("xor"))))


def test_occupancy_estimate_uses_the_arch_table():
    low = lower(*column_reads("xor"))
    (report,) = analyze(low, {"C_kernel": {"registers": 64}},
                          arch=vx.archs.facts("cuda", "sm_90"))
    # 256 threads × 64 registers = 16384 per block → 4 blocks by registers, 8 by threads
    assert report.occupancy == pytest.approx(4 * 256 / 2048)


def test_kernel_analysis_on_pocl(opencl_device):
    pipe, s = column_reads("xor")
    kern = vx.compile(pipe, schedule=s)
    text = str(kern.analysis())
    assert "A_sh" in text and "conflict-free" in text
    a = np.random.default_rng(0).random((70, 45), dtype=np.float32)
    b = np.random.default_rng(1).random((45, 33), dtype=np.float32)
    np.testing.assert_allclose(kern(A=a, B=b), a @ b, rtol=1e-4)
