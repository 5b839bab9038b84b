"""Attention with both matrix products on tensor cores in one pass: examples/attention.py's
online-softmax recurrence (a Tuple of running max, running sum and accumulator) over blocks of
16 keys, each block's P·V a matrix product (issue 15 item 1). The algorithm and its figures are
in examples/attention.py's docstring, "Key blocks"; this file gives it its own name, inputs and
schedules (schedules/attention_key_blocks/<device>.toml).

Run it:  vortex run examples/attention_key_blocks.py [--schedule FILE] [--show-source]

Shapes: Q (B, H, S, D), K and V (B, HK, S, D) of type ``t`` (vx.float16 by default, vx.bfloat16
or vx.float32), O (B, H, S, D) float32; GQA and the mask as in examples/attention.py. P is
rounded to ``t`` before the product (float16: within 4e-4 of numpy's float64 softmax at
standard normal inputs); float32 leaves it unrounded and has no tensor-core instruction on
NVIDIA (``mma`` refuses it), so the GPU files are for float16/bfloat16.

The schedules: GPU (H100, A100, MI300X) a block per (batch, head, 16 queries), threads (output
d 64 along x, query 16); at each key block the 16 × 16 score box (``mma``, 4 k steps over D =
64) and the 16 × 64 P·V box (``mma``, one k step of 16 keys, a warp per 16 × 8 tile, AMD 16 × 16
per wavefront) in shared memory, then each thread's step of the recurrence; Q's tile staged
in shared memory once per block, K's and V's per key block (2 slots, cp.async). Static (NVRTC,
hiprtc; no GPU has run them): sm_90 5 HMMA.16816.F32 and 10 LDGSTS in the update kernel, 38
registers, 16000 B shared, no spills; gfx90a 5 v_mfma_f32_16x16x16f16, 65 VGPRs. PoCL: a work-group per (head, 16
queries), a work-item per query, D in vectors of 8, the block sums as plain loops (3080.1 ms at
inputs(), ``vortex run examples/attention_key_blocks.py --schedule
schedules/attention_key_blocks/pocl-cpu.toml --repeat 2``, median of 2, loaded 2-core machine;
numpy 316.0 ms in the same run).
"""
import vortex as vx
from attention import numpy_version  # noqa: F401 - the unfused float64 composition
from attention import pipeline as _attention
from attention_two_pass import SHAPE, KV_HEADS, inputs  # noqa: F401 - float16 Q, K, V of SHAPE

KEY_BLOCK = 16                # keys per step of the recurrence (the instruction's k)


def pipeline(D: int = 64, causal: bool = True, t=vx.float16) -> vx.Pipeline:
    """examples/attention.py's pipeline(D, causal, t, key_block=16), named
    ``attention_key_blocks``."""
    return _attention(D, causal, t, key_block=KEY_BLOCK)
