"""kernel.analysis() evaluates each access for the lanes of a warp that executes it
(vortex/analysis.py, ``_Warp``): under ``warp_specialize(producers=p)`` the consumer code (guarded
by ``thread_x >= 32 p``) is evaluated for the first consumer warp, threads 32p … 32p + 31, and the
producers' copies for warp 0; an ``if`` or a loop extent that reads the thread ids masks lanes.

Hand counts. The column schedule: a 32×8 tile of C per block, threads along i (``yi``, 32) then
j (``xi``, 8), k split by 32, A (32×32) and B (32×8) staged at ko. Consumer lane l of the first
consumer warp is c = l: yi = l, xi = 0. At ko = ki = 0 it reads A_sh row l, column 0: with the
XOR swizzle of 16-byte chunks (the tile is copied 16 bytes at a time when K and N are
multiples of 4, vortex/lower/staging.py): chunk 0 ^ (l & 7), word 32·l + 4·(l & 7), bank
4·(l & 7): 8 banks, 4-way; unswizzled 32·l: bank 0 for 32 words, 32-way. B_sh word 8·ki + xi
= 0 for every lane: a broadcast. It writes C[(32 yo + l)·N + 0]: 32 rows of 4 B, 32 segments
where the 128 bytes would fit one.
"""
import types

import pytest

import pipelines as P
import vortex as vx
from vortex.algorithm import dtypes as T
from vortex.algorithm.construct import binary
from vortex.algorithm.expr import BinaryOp, Const
from vortex.analysis import analyze
from vortex.lower import lower
from vortex.lower.ir import (Allocate, For, ForKind, GpuAxis, GpuIndex, If, Kernel, MemorySpace,
                             Store, block, i32)

yo, xo, yi, xi, ko, ki = vx.vars("yo xo yi xi ko ki")
A_WAYS = {"xor": 4, None: 32}          # the consumers' A_sh reads (module docstring)


def column(swizzle, producers: int):
    """(pipeline, schedule): threads along the A-tile rows; ``producers`` 0: not specialized."""
    pipe = P.pipe("matmul")
    s = vx.Schedule(pipe)
    c = s["C"]
    c.tile("i", "j", yo, xo, yi, xi, 32, 8).gpu_blocks(yo, xo).gpu_threads(xi, yi)
    c.split("k", ko, ki, 32).stage("A", at=ko, swizzle=swizzle).stage("B", at=ko)
    if producers:
        c.pipeline(ko, stages=2).warp_specialize(producers=producers)
    return pipe, s


def accesses(pipe, s):
    (report,) = analyze(lower(pipe, s))
    return report


def consumer(report):
    """The consumers' accesses: shared reads and the store of C."""
    return [a for a in report.accesses if (a.memory, a.kind) == ("shared", "read") or
            a.buffer == "C"]


@pytest.mark.parametrize("swizzle", ["xor", None])
@pytest.mark.parametrize("producers", [1, 2])
def test_consumer_reads_use_the_first_consumer_warp(swizzle, producers):
    report = accesses(*column(swizzle, producers))
    assert report.block == (32 * producers + 256, 1, 1)
    reads = {a.buffer: a for a in consumer(report) if a.kind == "read"}
    assert set(reads) == {"A_sh", "B_sh"}
    assert all(a.warp == producers for a in consumer(report))       # threads 32p … 32p + 31
    assert all(a.ways == A_WAYS[swizzle] for a in consumer(report) if a.buffer == "A_sh")
    assert all(a.ways == 1 for a in consumer(report) if a.buffer == "B_sh")   # a broadcast
    (store,) = [a for a in report.accesses if a.buffer == "C"]
    assert (store.segments, store.minimum) == (32, 1)
    assert report.bank_conflicts == (A_WAYS[swizzle] - 1) * len(
        [a for a in consumer(report) if a.buffer == "A_sh"])


@pytest.mark.parametrize("producers", [1, 2])
def test_copies_use_the_producer_warp(producers):
    report = accesses(*column("xor", producers))
    copies = [a for a in report.accesses if a.buffer in ("A", "B") or
              (a.memory, a.kind) == ("shared", "write")]
    assert copies and all(a.warp == 0 for a in copies)
    text = str(analyze(lower(*column("xor", producers))))
    assert f"shared read  A_sh             4-way bank conflict (warp {producers})" in text


@pytest.mark.parametrize("swizzle", ["xor", None])
def test_figures_without_warp_specialize_are_the_first_warps(swizzle):
    """Not specialized: warp 0 does everything, its figures are the consumer warp's above
    (the same lanes c = 0 … 31 of the same tile), and the report names no warp."""
    plain = accesses(*column(swizzle, 0))
    assert all(a.warp == 0 for a in plain.accesses)
    assert "(warp" not in str(analyze(lower(*column(swizzle, 0))))
    special = accesses(*column(swizzle, 1))
    figures = lambda r: {(a.buffer, a.ways, a.segments, a.minimum) for a in consumer(r)}
    assert figures(plain) == figures(special)
    assert {a.ways for a in plain.accesses if a.buffer == "A_sh" and a.kind == "read"} == \
        {A_WAYS[swizzle]}


# --- lane masks, on a hand-written kernel --------------------------------------------------
TX = GpuIndex(GpuAxis.THREAD_X)
ONE = Const.make(1.0, T.float32)


def _ways(*stmts, threads=64):
    """Ways of each shared store of a kernel of ``threads`` threads holding ``stmts``."""
    body = block(Allocate("sh", T.float32, 256, MemorySpace.SHARED), *stmts)
    k = Kernel("k", (), body, (1, 1, 1), (threads, 1, 1), 1024)
    (report,) = analyze(types.SimpleNamespace(kernels=[k]))
    return [a.ways for a in report.accesses]


def _at(scale, offset=0):
    """The word ``scale · thread_x + offset``."""
    return binary(BinaryOp.ADD, binary(BinaryOp.MUL, TX, i32(scale)), i32(offset))


def test_a_thread_condition_counts_only_the_lanes_that_pass():
    """Even words 2·l: 32 lanes put two words in each of 16 banks (2-way); the 16 lanes with
    thread_x < 16 one word in each of 16 banks (conflict-free); odd words likewise."""
    assert _ways(Store("sh", _at(2), ONE)) == [2]
    assert _ways(If(binary(BinaryOp.LT, TX, i32(16)), Store("sh", _at(2), ONE),
                    Store("sh", _at(2, 1), ONE))) == [1, 1]   # the else: lanes 16 … 31


def test_a_loop_whose_extent_reads_the_thread_ids_masks_lanes():
    """for t in [0, 16 - thread_x): lanes 0 … 15 enter."""
    loop = For("t", i32(0), binary(BinaryOp.SUB, i32(16), TX), ForKind.SERIAL,
               Store("sh", _at(2), ONE))
    assert _ways(loop) == [1]


def test_an_access_no_lane_reaches_keeps_all_lanes_of_the_first_warp():
    """thread_x >= 64 in a 64-thread block: no warp gets there (an edge version at SIZE);
    the access is still reported, for the 32 lanes of warp 0 (2-way)."""
    assert _ways(If(binary(BinaryOp.GE, TX, i32(64)), Store("sh", _at(2), ONE))) == [2]
