"""A loop nest's original coordinates as IR expressions of its leaf loop counters."""
from __future__ import annotations

from ..algorithm import dtypes as T
from ..algorithm.construct import binary
from ..algorithm.expr import BinaryOp
from .ir import Ref, i32
from .loops import FuseRecord, LoopNest
from .sym import from_sympy
from . import ragged
from .ragged import RaggedRecord

I32 = T.int32


def counters(nest: LoopNest) -> tuple[dict, list]:
    """(loop-var name → IR expression of leaf counters, [(guard, is_reduction)]) by replaying
    the splits and fuses backwards from the leaves (a split whose factor does not divide its
    extent guards ``outer * f + inner < extent``: Halide's GuardWithIf; a ragged split reads
    its tile's start and guards ``inner < len``: :mod:`vortex.lower.ragged`)."""
    env = {lp.name: Ref(lp.name, I32) for lp in nest.loops}
    reduction = {lp.name: lp.reduction for lp in nest.loops}
    guards = []
    for rec in reversed(nest.records):
        if isinstance(rec, FuseRecord):
            fused, n = env[rec.fused], from_sympy(rec.inner_extent)
            env[rec.outer] = binary(BinaryOp.FLOORDIV, fused, n)
            env[rec.inner] = binary(BinaryOp.MOD, fused, n)
            reduction[rec.outer] = reduction[rec.inner] = reduction[rec.fused]
            continue
        if isinstance(rec, RaggedRecord):      # start[outer] + inner, inner < len[outer]
            start, length = ragged.refs(rec)
            env[rec.old] = binary(BinaryOp.ADD, start, env[rec.inner])
            guards.append((binary(BinaryOp.LT, env[rec.inner], length), False))
            reduction[rec.old] = False
            continue
        value = binary(BinaryOp.ADD, binary(BinaryOp.MUL, env[rec.outer], i32(rec.factor)),
                       env[rec.inner])
        if not rec.exact:
            guards.append((binary(BinaryOp.LT, value, from_sympy(rec.old_extent)),
                           reduction[rec.inner]))
        env[rec.old] = value
        reduction[rec.old] = reduction[rec.inner]
    return env, guards
