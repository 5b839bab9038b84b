"""What the instruction report is made of: instructions, their classes, mixes and loops.

An ISA module (:mod:`vortex.isa.sass`, :mod:`vortex.isa.amdgcn`) turns a disassembly into
:class:`Instr` lists per kernel and owns one table of :class:`Rule` rows (mnemonic pattern →
:class:`OpClass` and access width). Everything here is ISA-neutral: counting (:class:`Mix`) and
finding innermost loops (:func:`innermost_loops`).

Counts are *static*: each instruction in the code counts once, however often it runs, and a
pair of instructions predicated on opposite conditions (one executes per thread) counts twice.
"""
from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum


class OpClass(Enum):
    """The instruction classes the report counts (value: the name the table prints)."""

    FMA = "fma"                        # fused multiply-add (FFMA/HFMA2/DFMA, v_fma*/v_fmac*)
    MUL = "fmul"                       # float multiply (FMUL, v_mul_f32)
    ADD = "fadd"                       # float add/subtract (FADD, v_add_f32)
    TENSOR = "tensor"                  # matrix op (HMMA/HGMMA, v_mfma*)
    SHARED_LOAD = "shared load"        # LDS, ds_read*
    LDMATRIX = "ldmatrix"              # LDSM: a shared load that feeds tensor ops
    SHARED_STORE = "shared store"      # STS, ds_write*
    ASYNC_COPY = "async copy"          # global → shared without registers (LDGSTS, cp.async)
    GLOBAL_LOAD = "global load"        # LDG, global_load*
    GLOBAL_STORE = "global store"      # STG, global_store*
    LOCAL_LOAD = "local load"          # LDL, scratch/buffer loads: spills or stack arrays
    LOCAL_STORE = "local store"        # STL, scratch/buffer stores
    BARRIER = "barrier"                # BAR.SYNC/BAR.ARV, s_barrier


MATH = (OpClass.FMA, OpClass.MUL, OpClass.ADD, OpClass.TENSOR)
SHARED_LOADS = (OpClass.SHARED_LOAD, OpClass.LDMATRIX)
LOCAL = (OpClass.LOCAL_LOAD, OpClass.LOCAL_STORE)


@dataclass(frozen=True)
class Width:
    """Bytes per thread an access moves, read from the mnemonic's parts (split on ``sep``):
    the first part found in ``sizes`` gives the bytes, else ``default``; a part found in
    ``repeats`` multiplies them (AMDGCN ``ds_read2_b32`` reads two dwords)."""

    sizes: dict
    default: int | None = None
    sep: str = "."
    repeats: dict = field(default_factory=dict)

    def __call__(self, mnemonic: str) -> int | None:
        parts = mnemonic.split(self.sep)
        size = next((self.sizes[p] for p in parts if p in self.sizes), self.default)
        times = next((self.repeats[p] for p in parts if p in self.repeats), 1)
        return None if size is None else size * times


NO_WIDTH = Width({})


@dataclass(frozen=True)
class Rule:
    """One table row: a mnemonic matching ``pattern`` (a regex, matched at the start) is of
    class ``cls``, moving ``width(mnemonic)`` bytes per thread (None for non-memory ops)."""

    pattern: str
    cls: OpClass
    width: Width = NO_WIDTH
    lanes: int = 1      # operations per thread of one math instruction (2: HFMA2, v_pk_fma_f32)


def classifier(rules: tuple):
    """``classify(mnemonic) -> (OpClass, width, lanes) | None``: the first matching rule
    wins."""
    compiled = [(re.compile(r.pattern), r) for r in rules]

    def classify(mnemonic: str):
        for rx, rule in compiled:
            if rx.match(mnemonic):
                return rule.cls, rule.width(mnemonic), rule.lanes
        return None
    return classify


@dataclass(frozen=True)
class Instr:
    """One machine instruction: byte address, full mnemonic (``LDS.128``, ``ds_read_b128``),
    and for a direct branch the target address."""

    addr: int
    mnemonic: str
    target: int | None = None


@dataclass
class Mix:
    """Static instruction counts of a stretch of code: ``counts[(OpClass, width)]`` (width
    None for non-memory classes) and ``total`` (every instruction, classified or not)."""

    counts: Counter = field(default_factory=Counter)
    total: int = 0
    lane_ops: Counter = field(default_factory=Counter)   # OpClass -> operations (packed: 2)

    @classmethod
    def of(cls, instrs, classify) -> "Mix":
        mix = cls(total=len(instrs))
        for ins in instrs:
            hit = classify(ins.mnemonic)
            if hit is not None:
                op, width, lanes = hit
                mix.counts[op, width] += 1
                mix.lane_ops[op] += lanes
        return mix

    def count(self, *classes: OpClass) -> int:
        """Instructions of any of ``classes``."""
        return sum(n for (c, _), n in self.counts.items() if c in classes)

    def ops(self, *classes: OpClass) -> int:
        """Operations per thread of the instructions of ``classes``: a packed instruction
        (``HFMA2``, ``v_pk_fma_f32``) counts its lanes."""
        return sum(self.lane_ops[c] for c in classes)

    def widths(self, cls: OpClass) -> dict:
        """``{bytes per thread: instructions}`` of ``cls``, by width."""
        return dict(sorted((w, n) for (c, w), n in self.counts.items() if c is cls))

    def bytes(self, *classes: OpClass) -> int:
        """Bytes per thread moved by one execution of every instruction of ``classes``."""
        return sum((w or 0) * n for (c, w), n in self.counts.items() if c in classes)

    @property
    def multiply_adds(self) -> int:
        """FMA operations plus FMUL/FADD pairs: strict math (``fast_math=False``,
        ``--fmad=false``) compiles ``a * b + c`` as a multiply then an add, so this counts one
        schedule's multiply-adds alike in both math modes (packed instructions by lanes)."""
        return self.ops(OpClass.FMA) + min(self.ops(OpClass.MUL), self.ops(OpClass.ADD))

    def ratios(self) -> dict:
        """The figures a GPU engineer reads (None where the denominator is 0):
        ``fma_per_shared_load`` (FMA operations per shared-load instruction, LDSM included),
        ``multiply_adds_per_shared_load`` (see :attr:`multiply_adds`), and bytes per thread per
        instruction of shared loads, async copies and global loads."""
        loads = self.count(*SHARED_LOADS)
        return {
            "fma_per_shared_load": _div(self.ops(OpClass.FMA), loads),
            "multiply_adds_per_shared_load": _div(self.multiply_adds, loads),
            "bytes_per_shared_load": _div(self.bytes(*SHARED_LOADS), loads),
            "bytes_per_async_copy": _div(self.bytes(OpClass.ASYNC_COPY),
                                         self.count(OpClass.ASYNC_COPY)),
            "bytes_per_global_load": _div(self.bytes(OpClass.GLOBAL_LOAD),
                                          self.count(OpClass.GLOBAL_LOAD)),
        }


def _div(a: int, b: int) -> float | None:
    return a / b if b else None


@dataclass
class Loop:
    """An innermost loop: the instructions from the branch target ``start`` to the backward
    branch at ``end`` (byte addresses, both included) and their :class:`Mix`."""

    start: int
    end: int
    mix: Mix


def innermost_loops(instrs: list) -> list:
    """``(first, last)`` instruction indices of every innermost loop, in address order.

    Rule: a direct branch to an address below its own is a loop's back edge; the loop is the
    code from the target to the branch. A loop is innermost when no other back edge lies
    inside it (a header with two back edges, a ``continue``, keeps the shorter stretch). A
    branch to itself (the trap loop after a kernel's last EXIT) is not a loop.
    """
    addrs = [i.addr for i in instrs]
    loops = [(bisect.bisect_left(addrs, ins.target), k) for k, ins in enumerate(instrs)
             if ins.target is not None and ins.target < ins.addr]
    return [(a, b) for a, b in loops
            if not any(a <= b2 < b and a2 >= a for a2, b2 in loops if (a2, b2) != (a, b))]


@dataclass
class KernelISA:
    """One kernel's report: its whole :class:`Mix` and its innermost :class:`Loop` s."""

    name: str
    mix: Mix
    loops: list

    @property
    def inner(self) -> Loop | None:
        """The innermost loop with the most math operations (the hot loop); on a tie the one
        with the fewest instructions — the unguarded version (a ``specialize``d or partitioned
        kernel holds the same loop with and without its guards; the device compiler places
        them in either order) — then the first in address order. None without loops."""
        if not self.loops:
            return None
        return min(self.loops, key=lambda lp: (-lp.mix.ops(*MATH), lp.mix.total, lp.start))


def kernel_isa(name: str, instrs: list, classify) -> KernelISA:
    """Counts for ``instrs`` (one kernel, address order) and for each innermost loop."""
    loops = [Loop(instrs[a].addr, instrs[b].addr, Mix.of(instrs[a:b + 1], classify))
             for a, b in innermost_loops(instrs)]
    return KernelISA(name, Mix.of(instrs, classify), loops)
