"""NVIDIA tensor cores as data: ``mma.sync.aligned`` (sm_80+) and ``ldmatrix``, inline PTX.

Sources, PTX ISA §"Warp-level matrix instructions": "Matrix Fragments for mma.m16n8k16 with
floating point type", "Matrix Fragments for mma.m16n8k8" (.tf32), "Matrix Fragments for
mma.m16n8k32" (.s8), "Multiply-and-Accumulate Instruction: mma" and "Warp-level matrix load
instruction: ldmatrix"; tinygrad's CUDA tensor-core table was a cross-check (facts only). The
layouts use the ISA's names: ``g = groupID = lane >> 2``, ``t = threadID_in_group = lane % 4`` (written ``lane & 3``).
No header is needed (NVRTC here has no ``mma.h``): everything is inline ``asm``.

**Types.** ``a``, ``b``, ``acc`` are Vortex dtype names of the values in memory: the tf32 entry
reads float32 (``opt_in="tf32"``: its inputs keep 10 of their 23 mantissa bits) and names tf32 only
in PTX.

**Registers.** Each operand is a list of 32-bit registers; element ``i`` of a fragment lies in
register ``i // per_reg`` at bit ``(i % per_reg) * bits`` (``per_reg = 32 // bits``: two
f16/bf16 per ``.f16x2`` register, a0 in the low half; four s8 per ``.b32``, low byte first; one
tf32, f32 or s32). :func:`registers` counts them; element ``i`` of D is register ``d<i>``.

**Spelling contract** (``Instruction.spelling``): one CUDA inline-``asm`` statement as a Python
``str.format`` template (literal braces doubled) with one named placeholder per register:
``{d0}``..``{d<R-1>}`` for D (written), then ``{a0}``.., ``{b0}``.., ``{c0}``.. (read), with R
per operand from :func:`registers`. Each is filled with a C expression:
D an lvalue and C a value of the accumulator type (``float`` or ``int``); A and B an
``unsigned`` holding the packed elements (tf32: the float's bits, ``__float_as_uint``, rounded
first with ``cvt.rna.tf32.f32`` when round-to-nearest matters). A printer calls
``inst.spelling.format(d0=..., a0=..., ...)``. The s8 product wraps on int32 overflow (no
``.satfinite``), like int32 arithmetic.

**ldmatrix** (:class:`LdMatrix`, spelling placeholders ``{r0}``..``{r<count-1>}``: ``unsigned``
lvalues, and ``{addr}``: a 32-bit ``.shared`` address, ``__cvta_generic_to_shared(p)``) loads
8×8 matrices of 16-bit elements from shared memory straight into mma fragments;
:data:`FEEDS` says which one loads which operand and which lane supplies which row address:
an x4 loads the A fragment of m16n8k16 (matrix j = register j: rows ``8 * (j & 1)``.., k
columns ``8 * (j >> 1)``..), an x2 the B fragment (matrix j = k rows ``8j``..``8j + 7``); each from a tile
stored either way round (``.trans`` when the fragment's element pairs run across the stored
rows: a k-major A, a k-major B; the lane addresses are in :func:`_feeds`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..algorithm.dtypes import as_dtype
from . import Fragment, Instruction

LANES = 32
_PTX_TYPE = {"float16": "f16", "bfloat16": "bf16", "int8": "s8", "float32": "f32",
             "int32": "s32"}
_CONSTRAINT = {"float32": "f", "int32": "r"}     # asm operand letter of an accumulator register


def _g(lane: int) -> int:
    return lane >> 2


def _t(lane: int) -> int:
    return lane & 3


# C/D of every shape here, f32 or s32: row g for c0, c1, g + 8 for c2, c3; col 2t + (i & 1).
ACC_16x8 = Fragment(16, 8, 4, lambda lane, i: (_g(lane) + 8 * (i >> 1), 2 * _t(lane) + (i & 1)))
# m16n8k16 f16/bf16 A: row g for a0, a1, a4, a5, else g + 8; col 2t + (i & 1), + 8 for i >= 4.
A_M16N8K16 = Fragment(16, 16, 8, lambda lane, i: (_g(lane) + 8 * ((i >> 1) & 1),
                                                  2 * _t(lane) + (i & 1) + 8 * (i >> 2)))
# m16n8k16 f16/bf16 B (k × n): row 2t + (i & 1), + 8 for i >= 2; col g.
B_M16N8K16 = Fragment(16, 8, 4, lambda lane, i: (2 * _t(lane) + (i & 1) + 8 * (i >> 1), _g(lane)))
# m16n8k8 tf32 A: row g for a0, a2, g + 8 for a1, a3; col t for a0, a1, t + 4 for a2, a3.
A_M16N8K8 = Fragment(16, 8, 4, lambda lane, i: (_g(lane) + 8 * (i & 1), _t(lane) + 4 * (i >> 1)))
# m16n8k8 tf32 B: row t for b0, t + 4 for b1; col g.
B_M16N8K8 = Fragment(8, 8, 2, lambda lane, i: (_t(lane) + 4 * i, _g(lane)))
# m16n8k32 s8 A: row g for a0..a3, a8..a11, else g + 8; col 4t + (i & 3), + 16 for i >= 8.
A_M16N8K32 = Fragment(16, 32, 16, lambda lane, i: (_g(lane) + 8 * ((i >> 2) & 1),
                                                   4 * _t(lane) + (i & 3) + 16 * (i >> 3)))
# m16n8k32 s8 B: row 4t + (i & 3), + 16 for i >= 4; col g.
B_M16N8K32 = Fragment(32, 8, 8, lambda lane, i: (4 * _t(lane) + (i & 3) + 16 * (i >> 2), _g(lane)))


def _registers(frag: Fragment, dtype: str) -> int:
    return frag.per_lane * as_dtype(dtype).bits // 32


def registers(inst: Instruction, operand: str) -> int:
    """How many 32-bit registers hold ``operand`` ("a", "b", "c" or "d") of ``inst`` per lane."""
    frag, dtype = {"a": (inst.a_frag, inst.a), "b": (inst.b_frag, inst.b),
                   "c": (inst.c_frag, inst.acc), "d": (inst.c_frag, inst.acc)}[operand]
    return _registers(frag, dtype)


def _mma(name, m, n, k, a, acc, a_frag, b_frag, ptx_ab=None, opt_in=None) -> Instruction:
    """The ``mma.sync.aligned.m<m>n<n>k<k>.row.col`` entry of A and B type ``a`` (PTX type
    ``ptx_ab``, default from ``a``) with its spelling (see the module docstring)."""
    counts = {"d": _registers(ACC_16x8, acc), "a": _registers(a_frag, a),
              "b": _registers(b_frag, a), "c": _registers(ACC_16x8, acc)}
    letter = {"d": "=" + _CONSTRAINT[acc], "a": "r", "b": "r", "c": _CONSTRAINT[acc]}
    lists, args, start = [], {}, 0
    for op, count in counts.items():
        lists.append("{{" + ", ".join(f"%{start + r}" for r in range(count)) + "}}")
        args[op] = ", ".join(f'"{letter[op]}"({{{op}{r}}})' for r in range(count))
        start += count
    ab, cd = ptx_ab or _PTX_TYPE[a], _PTX_TYPE[acc]
    ptx = f"mma.sync.aligned.m{m}n{n}k{k}.row.col.{cd}.{ab}.{ab}.{cd} " + ", ".join(lists) + ";"
    spelling = f'asm("{ptx}" : {args["d"]} : {args["a"]}, {args["b"]}, {args["c"]});'
    return Instruction(name, "cuda", 80, m, n, k, a, a, acc, LANES, a_frag, b_frag, ACC_16x8,
                       spelling, opt_in)


INSTRUCTIONS = (
    _mma("mma_m16n8k16_f16_f32", 16, 8, 16, "float16", "float32", A_M16N8K16, B_M16N8K16),
    _mma("mma_m16n8k16_bf16_f32", 16, 8, 16, "bfloat16", "float32", A_M16N8K16, B_M16N8K16),
    # float32 inputs read as tf32 (10-bit mantissa): changes precision, so only on request
    _mma("mma_m16n8k8_tf32_f32", 16, 8, 8, "float32", "float32", A_M16N8K8, B_M16N8K8,
         ptx_ab="tf32", opt_in="tf32"),
    _mma("mma_m16n8k32_s8_s32", 16, 8, 32, "int8", "int32", A_M16N8K32, B_M16N8K32),
)


@dataclass(frozen=True)
class LdMatrix:
    """``ldmatrix.sync.aligned.m8n8.x<count>[.trans].shared.b16``: the warp loads ``count``
    8×8 matrices of 16-bit elements from shared memory, register j of every lane from matrix j.

    Addresses: lane ``8j + r`` (j < count, r < 8) supplies the address of row r of matrix j,
    the start of 8 contiguous elements, 16-byte aligned. Lanes ≥ 8·count are ignored on sm_80+
    (give them a copy of a lower lane's address, as the ISA advises).
    ``frag``: the ``8·count × 8`` tile of the matrices stacked (tile row ``8j + r`` = row r of
    matrix j as addressed); element ``2j + e`` of a lane is half e (low first) of register j.
    Without ``.trans`` lane l holds (row ``l >> 2``, col ``2(l % 4) + e``) of each matrix, a
    row read by four lanes; with ``.trans`` the matrix is read column-major: (row
    ``2(l % 4) + e``, col ``l >> 2``)."""

    count: int
    trans: bool
    frag: Fragment
    spelling: str


def _ldmatrix(count: int, trans: bool) -> LdMatrix:
    def coords(lane, i):
        j, e = divmod(i, 2)
        row, col = _g(lane), 2 * _t(lane) + e
        return (8 * j + col, row) if trans else (8 * j + row, col)
    regs = ", ".join(f"%{r}" for r in range(count))
    outs = ", ".join(f'"=r"({{r{r}}})' for r in range(count))
    ptx = f"ldmatrix.sync.aligned.m8n8.x{count}{'.trans' if trans else ''}.shared.b16"
    spelling = f'asm volatile("{ptx} {{{{{regs}}}}}, [%{count}];" : {outs} : "r"({{addr}}));'
    return LdMatrix(count, trans, Fragment(8 * count, 8, 2 * count, coords), spelling)


LDMATRIX = {(count, trans): _ldmatrix(count, trans) for count in (1, 2, 4) for trans in (False, True)}


@dataclass(frozen=True)
class Feed:
    """How one ldmatrix loads operand ``operand`` ("a" or "b") of the instruction named
    ``instruction`` from a shared-memory tile of that operand (A: m × k, B: k × n) whose axis
    ``contiguous`` (0: the operand's rows, 1: its columns) is the tile's last dimension
    (consecutive elements), runs of 8 elements 16-byte aligned. ``row_start(lane)`` → the
    (row, col) of the operand tile whose address the lane supplies; register j of the load is
    then register j of the operand's fragment (tests/codegen/test_mma_nvidia.py checks the
    composition for every feed)."""

    instruction: str
    operand: str
    load: LdMatrix
    row_start: Callable[[int], tuple]
    contiguous: int = 1

    def at(self, lane: int, offset: int) -> tuple:
        """The operand coordinates of element ``offset`` of the run whose address ``lane``
        supplies."""
        row, col = self.row_start(lane)
        return (row, col + offset) if self.contiguous else (row + offset, col)


def _feeds(instruction: str) -> tuple:
    # Matrix j of an x4 is register j of A: m rows 8 (j & 1).., k columns 8 (j >> 1)..; of
    # an x2 register j of B: k rows 8j.., the n columns 0..7. Lanes 16-31 of an x2 repeat
    # lanes 0-15 (ignored). Row-major A (k contiguous): lane l supplies m row l % 16 at k
    # 8 (l >> 4); k-major A (m contiguous, .trans): stored row k = 8 (l >> 4) + (l & 7) at m
    # 8 ((l >> 3) & 1). k-major B (n contiguous, .trans): k row l % 16; n-major B (k
    # contiguous, as torch.nn.Linear keeps its weight): stored row n = l & 7 at k 8 ((l >> 3) & 1).
    return (Feed(instruction, "a", LDMATRIX[4, False], lambda lane: (lane & 15, 8 * (lane >> 4))),
            Feed(instruction, "a", LDMATRIX[4, True],
                 lambda lane: (8 * ((lane >> 3) & 1), 8 * (lane >> 4) + (lane & 7)), 0),
            Feed(instruction, "b", LDMATRIX[2, True], lambda lane: (lane & 15, 0)),
            Feed(instruction, "b", LDMATRIX[2, False],
                 lambda lane: (8 * ((lane >> 3) & 1), lane & 7), 0))


FEEDS = _feeds("mma_m16n8k16_f16_f32") + _feeds("mma_m16n8k16_bf16_f32")


def feed(instruction: str, operand: str, contiguous: int = 1) -> Feed | None:
    """The :class:`Feed` loading ``operand`` of ``instruction`` with ldmatrix from a tile whose
    operand axis ``contiguous`` is stored contiguously, or None (the fragment is then loaded
    element by element)."""
    return next((f for f in FEEDS if (f.instruction, f.operand, f.contiguous)
                 == (instruction, operand, contiguous)), None)


def supports(inst: Instruction, arch_number: int) -> bool:
    """Does ``sm_<arch_number>`` have ``inst``? Every arch from ``min_arch`` on (the PTX ISA's
    "Target ISA notes": mma.m16n8k16 requires sm_80 or higher)."""
    return arch_number >= inst.min_arch
