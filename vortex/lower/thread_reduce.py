"""The block-wide collective :class:`~vortex.lower.ir.ThreadReduce` as plain IR, per dialect.

A cross-thread reduction (:mod:`vortex.lower.cross_thread`) leaves each thread with its partial
result in a local; ``ThreadReduce`` combines the partials of the ``n`` threads along one axis that
share the other thread indices (a *group*) and leaves the result in every thread of the group.
The printer expands it here (``expand(s, warp)``, ``warp`` the dialect's shuffle width, 0 for
none), into two forms (CUB's ``BlockReduce``: ``WARP_REDUCTIONS`` and ``RAKING``; the CUDA
programming guide's "Warp Shuffle Functions"; Harris, "Optimizing Parallel Reduction in CUDA"):

- **Shuffles then shared memory** (CUDA, HIP; the reduction axis is x and the block a whole
  number of warps): a butterfly of ``__shfl_xor`` steps within segments of ``seg`` lanes (the
  largest power of two dividing ``n``, at most the warp: 32 on NVIDIA, 64 on CDNA) leaves every
  lane with its segment's result; with more than one segment per group, each segment's first
  lane writes it to shared memory, a barrier, and every thread combines the ``n / seg`` results
  (another butterfly when they fit one segment, else a loop over them), then a barrier before
  the scratch may be written again. One warp per group: no shared memory, no barrier.

      before:  acc = partial of this thread
      after:   acc ⊕= shfl_xor(acc, 16, 32) … acc ⊕= shfl_xor(acc, 1, 32)     (seg = 32)
               if lane % 32 == 0: sh[g * 8 + lane / 32] = acc;  barrier      (n = 256)
               acc = sh[g * 8 + lane % 8];  acc ⊕= shfl_xor(acc, 4, 8) … ;  barrier

- **Shared-memory tree** (OpenCL, or any other shape): every thread writes its partial, then
  ``log2 n`` halving steps, each followed by a barrier, in which thread ``t < s`` combines
  element ``t + s`` into element ``t`` (``n`` need not be a power of two: a step combines only
  the lanes that have a partner); every thread reads element 0, then a barrier.

Arguments of argmax/argmin carry their position: the pair with the better value wins, and on
equal values the smaller position, so the result does not depend on the order of the tree
(partials without a point never win). With NaN among the values the position can differ from
the serial order's. A float sum is added in the tree's order (not the serial one).
"""
from __future__ import annotations

import math

from ..algorithm import dtypes as T
from ..algorithm.construct import binary
from ..algorithm.expr import BinaryOp, Cast, ReduceOp
from ..algorithm.ops import select
from .exprs import COMBINE, NO_POINT, identity
from .ir import (Assign, Barrier, BufferLoad, Declare, For, ForKind, GpuAxis, GpuIndex, If, Ref,
                 ShuffleXor, Store, ThreadReduce, block, i32, local_name)

I32 = T.int32
_THREADS = (GpuAxis.THREAD_X, GpuAxis.THREAD_Y, GpuAxis.THREAD_Z)


def combine(op: ReduceOp, value: Ref, at: Ref | None, other, other_at=None):
    """``value`` (and ``at``) ⊕= the partial ``other`` (at ``other_at``)."""
    if at is None:
        return Assign(value.name, binary(COMBINE[op], value, other))
    better = binary(BinaryOp.GT if op is ReduceOp.ARGMAX else BinaryOp.LT, other, value)
    tie = binary(BinaryOp.AND, binary(BinaryOp.EQ, other, value),
                 binary(BinaryOp.LT, other_at, at))
    take = binary(BinaryOp.AND, binary(BinaryOp.NE, other_at, i32(NO_POINT)), binary(
        BinaryOp.OR, binary(BinaryOp.EQ, at, i32(NO_POINT)), binary(BinaryOp.OR, better, tie)))
    return If(take, block(Assign(value.name, other), Assign(at.name, other_at)))


def segment(s: ThreadReduce, warp: int) -> int:
    """The lanes one shuffle butterfly spans (1: no shuffles): the largest power of two that
    divides the group's ``n`` lanes, at most ``warp``, when the lanes are x (consecutive in a
    warp) and the block is a whole number of warps (a full-warp mask is then valid)."""
    n = s.block[s.axis.dim]
    if not warp or s.axis is not GpuAxis.THREAD_X or math.prod(s.block) % warp:
        return 1
    return min(n & -n, warp)


def expand(s: ThreadReduce, warp: int):
    """``s`` as plain IR for a dialect whose shuffles span ``warp`` lanes (0: none)."""
    n = s.block[s.axis.dim]
    if n == 1:
        return block()
    seg = segment(s, warp)
    return _shuffled(s, seg) if seg > 1 else _tree(s)


class _Parts:
    """The locals, scratch arrays and indices of one ThreadReduce."""

    def __init__(self, s: ThreadReduce):
        self.s, self.n = s, s.block[s.axis.dim]
        self.lane = GpuIndex(s.axis)
        group, stride = None, 1
        for a in _THREADS:
            if a is s.axis or s.block[a.dim] == 1:
                continue
            term = binary(BinaryOp.MUL, GpuIndex(a), i32(stride)) if stride > 1 else GpuIndex(a)
            group = term if group is None else binary(BinaryOp.ADD, group, term)
            stride *= s.block[a.dim]
        self.group = group
        self.pairs = [(s.value, s.scratch)] + ([(s.at, s.at_scratch)] if s.at is not None else [])

    def slot(self, per_group: int, j):
        """The scratch index of element ``j`` of this thread's group (``per_group`` each)."""
        if self.group is None:
            return j
        return binary(BinaryOp.ADD, binary(BinaryOp.MUL, self.group, i32(per_group)), j)

    def loads(self, index):
        return [BufferLoad(buf, index, ref.dtype) for ref, buf in self.pairs]

    def stores(self, index):
        return [Store(buf, index, ref) for ref, buf in self.pairs]

    def combine_from(self, index):
        value, *at = self.loads(index)
        return combine(self.s.op, self.s.value, self.s.at, value, *at)

    def assign_from(self, index):
        return [Assign(ref.name, v) for (ref, _), v in zip(self.pairs, self.loads(index))]


def _tree(s: ThreadReduce):
    p = _Parts(s)
    n, lane = p.n, p.lane
    out = [*p.stores(p.slot(n, lane)), Barrier()]
    step = 1 << (n - 1).bit_length() - 1           # the largest power of two below n
    while step >= 1:
        active = binary(BinaryOp.LT, lane, i32(min(step, n - step)))
        mine = p.slot(n, lane)
        out += [If(active, block(p.combine_from(binary(BinaryOp.ADD, mine, i32(step))),
                                 *p.stores(mine))), Barrier()]
        step //= 2
    return block(*out, *p.assign_from(p.slot(n, i32(0))), Barrier())


def _wide(t: T.DType) -> T.DType:
    """The type a value is shuffled in: 32 bits at least (shuffles take int, float and wider)."""
    if t.bits >= 32 and not t.is_bool:
        return t
    return T.float32 if t.is_float else I32


def _butterfly(p: _Parts, width: int, tag: str):
    """Every lane ⊕= its partners' values within segments of ``width`` lanes."""
    out, m = [], width // 2
    while m >= 1:
        others = []
        for ref, _ in p.pairs:
            wide = _wide(ref.dtype)
            v = ref if wide is ref.dtype else Cast(wide, ref)
            shuffled = ShuffleXor(v, m, width)
            name = local_name(ref.name, tag, m)
            out.append(Declare(name, ref.dtype, shuffled if wide is ref.dtype
                               else Cast(ref.dtype, shuffled)))
            others.append(Ref(name, ref.dtype))
        out.append(combine(p.s.op, p.s.value, p.s.at, *others))
        m //= 2
    return out


def _shuffled(s: ThreadReduce, seg: int):
    p = _Parts(s)
    out = _butterfly(p, seg, "w")
    per = p.n // seg
    if per == 1:
        return block(*out)
    first = binary(BinaryOp.EQ, binary(BinaryOp.AND, p.lane, i32(seg - 1)), i32(0))
    out += [If(first, block(*p.stores(p.slot(per, binary(BinaryOp.SHR, p.lane,
                                                               i32(seg.bit_length() - 1)))))),
            Barrier()]
    width = 1 << (per - 1).bit_length()
    if width <= seg:
        j = binary(BinaryOp.AND, p.lane, i32(width - 1))
        if width == per:
            out += p.assign_from(p.slot(per, j))
        else:
            inside = binary(BinaryOp.LT, j, i32(per))
            empty = [identity(s.op, s.value.dtype), i32(NO_POINT)]
            out += [Assign(ref.name, select(inside, v, e)) for (ref, _), v, e in
                    zip(p.pairs, p.loads(p.slot(per, j)), empty)]
        out += _butterfly(p, width, "b")
    else:
        j = local_name(s.value.name, "j")
        out += [*p.assign_from(p.slot(per, i32(0))),
                For(j, i32(1), i32(per - 1), ForKind.SERIAL,
                    p.combine_from(p.slot(per, Ref(j, I32))))]
    return block(*out, Barrier())
