"""Producer bandwidth of warp_specialize (vortex/analysis_producers.py, docs/warp_specialization.md):
copy instructions per producer warp and instructions per consumer warp, per pipeline stage, from
the lowered IR; "producers are the bottleneck" exactly when the first exceeds the second.

Hand counts. The skinny schedule: a 1×512 tile of C per block (one output per consumer thread,
16 consumer warps), k split by 8 and unrolled, A and B staged at ko, 2 stages. Per stage:
A tile 1×8 f32 = 32 B, B tile 8×512 f32 = 16384 B. Consumers: 8 multiply-adds, A's 8
consecutive floats (the same for every lane) as 2 × 16 B loads, B's 8 rows as 8 × 4 B loads:
18 instructions. Producers with 16 B copies: A 2 copies → 1 per warp, B 1024 copies → 1024 /
(32 p); with 4 B copies (rows of 66 and 510 floats: not 16-byte aligned): A 8 → 1, B 4096 /
(32 p).
"""
import pytest

import pipelines as P
import vortex as vx
from vortex.analysis import analyze
from vortex.analysis_producers import _load_instructions, stage_figures
from vortex.lower import lower

SKINNY_CONSUMER = 8 + 2 + 8
STAGE_BYTES = 32 + 16384
BOTTLENECK = "producers are the bottleneck"
UNALIGNED = (4, 510, 66)   # row strides not multiples of 4 floats: 4 B copies


def skinny(producers: int, sizes=(4, 512, 64)):
    """(pipeline, schedule) of the skinny 1×512-tile matmul; ``sizes`` None: Dims M, N, K."""
    pipe, _ = P.matmul_sized(*(sizes or (None, None, None)))
    s = vx.Schedule(pipe)
    c = s["C"]
    c.tile("i", "j", "yo", "xo", "yi", "xi", 1, 512).gpu_blocks("yo", "xo").gpu_threads("xi")
    c.split("k", "ko", "ki", 8).unroll("ki")
    c.stage("A", at="ko").stage("B", at="ko").pipeline("ko", stages=2)
    c.warp_specialize(producers=producers)
    return pipe, s


def figures(pipe, s):
    (kernel,) = lower(pipe, s).kernels
    return stage_figures(kernel)


@pytest.mark.parametrize("producers, sizes, width, copies, bottleneck", [
    (1, (4, 512, 64), 16, 1 + 1024 // 32, True),       # 33 > 18
    (2, (4, 512, 64), 16, 1 + 1024 // 64, False),      # 17 <= 18
    (2, UNALIGNED, 4, 1 + 4096 // 64, True),           # 65 > 18: 4 B copies, 4x the instructions
    (8, UNALIGNED, 4, 1 + 4096 // 256, False),         # 17 <= 18
])
def test_skinny_tile_figures_match_hand_counts(producers, sizes, width, copies, bottleneck):
    (f,) = figures(*skinny(producers, sizes))
    assert (f.loop, f.producer_warps, f.consumer_warps) == ("ko", producers, 16)
    assert f.copies == {width: copies} and f.producer_instructions == copies
    assert f.stage_bytes == STAGE_BYTES
    assert f.math == 8 and f.loads == {4: 8, 16: 2}
    assert f.consumer_instructions == SKINNY_CONSUMER
    assert f.bottleneck is bottleneck
    assert f.copies_per_warp() == copies      # the tile model agrees with the IR's trip counts


def test_bottleneck_message_names_what_to_change():
    (f,) = figures(*skinny(1))
    text = "\n".join(f.lines())
    assert f"{BOTTLENECK} (33 vs 18 " in text
    assert "warp_specialize(producers=2)" in text and "wider copies" not in text
    (narrow,) = figures(*skinny(2, UNALIGNED))
    text = "\n".join(narrow.lines())
    assert f"{BOTTLENECK} (65 vs 18 " in text
    assert "warp_specialize(producers=8)" in text   # 7 warps: 1 + ceil(4096 / 224) = 20 > 18
    assert narrow.copies_per_warp(7) == 20 and narrow.copies_per_warp(8) == 17
    assert "wider copies: 65 of 65 are under 16 B; 16 B copies would take 17 per warp" in text


def test_message_appears_exactly_when_producers_exceed_consumers():
    for producers, sizes in [(1, (4, 512, 64)), (2, (4, 512, 64)), (2, UNALIGNED),
                             (8, UNALIGNED), (2, None)]:
        pipe, s = skinny(producers, sizes)
        (f,) = figures(pipe, s)
        text = str(analyze(lower(pipe, s)))
        assert (BOTTLENECK in text) is (f.producer_instructions > f.consumer_instructions)
        assert "producers keep up" in text or BOTTLENECK in text


def test_shipped_h100_schedule_producers_keep_up():
    """128×128 tile, k tile 8, 8×8 per thread, 1 producer warp, 8 consumer warps. Per stage:
    (128×8 + 8×128) f32 = 8192 B: 8192 / (32 × 16) = 16 copies of 16 B in both versions (the
    general one's under K % 4 == 0 && N % 4 == 0, the branch an aligned tile takes); consumers 8 × (64 multiply-adds + A's 8 rows as
    8 × 4 B + B's 8 adjacent columns as 2 × 16 B) = 592."""
    pipe = P.matmul()
    low = lower(pipe, vx.Schedule.load("schedules/matmul/nvidia-h100.toml", pipe))
    (report,) = analyze(low)
    wide, narrow = report.stages
    assert (wide.version, narrow.version, wide.versions) == (1, 2, 2)
    assert wide.copies == {16: 16} and narrow.copies == {16: 16}
    for f in (wide, narrow):
        assert (f.producer_warps, f.consumer_warps, f.stage_bytes) == (1, 8, 8192)
        assert f.math == 512 and f.loads == {4: 64, 16: 16}
        assert f.consumer_instructions == 592 and not f.bottleneck
    text = str(analyze(low))
    assert text.count("producers keep up (16 vs 592 ") == 2
    assert BOTTLENECK not in text
    # 16 B copies under bounds conditions: 16 copies + their address arithmetic < 592
    assert not wide.arithmetic_may_bind and not narrow.arithmetic_may_bind
    assert "address arithmetic may not" not in text


def test_address_arithmetic_caution_only_when_copies_keep_up():
    """Copies alone: 17 vs 18 (keep up); each copy's address (unflatten the copy index, the
    shared and global offsets) is integer work the producers issue too, counted from the IR."""
    (f,) = figures(*skinny(2))
    assert f.index_ops > f.consumer_instructions and f.arithmetic_may_bind
    assert "address arithmetic may not" in "\n".join(f.lines())
    (bound,) = figures(*skinny(1))
    assert bound.bottleneck and not bound.arithmetic_may_bind
    assert "address arithmetic may not" not in "\n".join(bound.lines())


def test_no_figures_without_warp_specialize():
    pipe, s = skinny(1)
    s = vx.Schedule(pipe)
    s["C"].tile("i", "j", "yo", "xo", "yi", "xi", 1, 512).gpu_blocks("yo", "xo") \
        .gpu_threads("xi").split("k", "ko", "ki", 8).stage("B", at="ko").pipeline("ko", stages=2)
    (report,) = analyze(lower(pipe, s))
    assert report.stages == [] and "warp specialization" not in str(analyze(lower(pipe, s)))


def test_loads_merge_only_when_consecutive_and_aligned():
    """Addresses (elements of 4 B) 1 … 8 in every lane: 1 alone (misaligned), 2–3 as 8 B,
    4–7 as 16 B, 8 alone; lanes 16 elements apart keep the pattern; a lane off by one element
    breaks every vector load."""
    rows = {tuple(o + 16 * lane for lane in range(32)) for o in range(1, 9)}
    assert _load_instructions(rows, 4) == {4: 2, 8: 1, 16: 1}
    skewed = {tuple(o + 16 * lane + (lane == 5) for lane in range(32)) for o in range(8)}
    assert _load_instructions(skewed, 4) == {4: 8}
    broadcast = {(o,) * 32 for o in range(8)}
    assert _load_instructions(broadcast, 4) == {16: 2}


def test_kernel_analysis_reports_figures_for_compiled_code(offline):
    """kernel.analysis() (what `vortex run --analyze` prints) of the NVRTC/hiprtc build."""
    _, build = offline
    kernel = build(*skinny(1))
    text = str(kernel.analysis())
    assert "1 producer / 16 consumer warps" in text and f"{BOTTLENECK} (33 vs 18 " in text
