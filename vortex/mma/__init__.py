"""Warp-level matrix-multiply instructions (tensor cores) as data: one table per vendor.

An :class:`Instruction` is one hardware matrix multiply-accumulate ``D = A × B + C`` on an
``m × k`` tile of A, a ``k × n`` tile of B and an ``m × n`` accumulator, executed by the
``lanes`` threads of one warp (CUDA, 32) or wavefront (AMD CDNA, 64) together. Each operand lives
in registers spread over the lanes; a :class:`Fragment` says which element of its tile each lane
holds in each of its registers. The tables (``nvidia.py``: ``mma.sync`` and ``ldmatrix``;
``amd.py``: MFMA) are the one place where these facts are written; the lowering and the
printers read them (:func:`instructions`), in the way tinygrad keeps a ``tensor_cores`` list per
renderer.

Sources: PTX ISA, "Warp-level matrix instructions: mma" (fragment layouts of
``mma.m16n8k16`` and friends) and "ldmatrix"; AMD "CDNA2 Instruction Set Architecture",
"Matrix fused-multiply-add (MFMA)" and AMD's matrix instruction calculator.
"""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable


@dataclass(frozen=True)
class Fragment:
    """The ``rows × cols`` tile of one operand, held as ``per_lane`` elements by each lane:
    ``coords(lane, i)`` is the (row, col) of the tile that element ``i`` of ``lane`` holds.
    Over all lanes and elements every position of the tile appears exactly once
    (:func:`check_fragment`)."""

    rows: int
    cols: int
    per_lane: int
    coords: Callable[[int, int], tuple]

    def positions(self, lanes: int) -> list:
        """(lane, i, row, col) for every element of every lane."""
        return [(lane, i, *self.coords(lane, i)) for lane in range(lanes)
                for i in range(self.per_lane)]


@dataclass(frozen=True)
class Instruction:
    """One matrix instruction of a target.

    ``name``: a stable identifier (schedules and errors name it); ``target``: "cuda" or "hip";
    ``min_arch``: the first arch that has it (CUDA ``sm_XY`` → XY; AMD ``gfxNNN`` → the hex
    number, gfx90a → 0x90a; which archs have it: :func:`available`); ``m, n, k``: the
    shape; ``a, b, acc``: dtype names of A, B and the accumulator; ``lanes``: threads that
    execute it together; ``a_frag``, ``b_frag``, ``c_frag``: the register layouts (C and D share
    one); ``spelling``: how the printers emit it (a format string, see the vendor module);
    ``opt_in``: the ``mma`` directive's ``input_precision`` that admits it (it changes
    precision: "tf32"), None for an exact instruction."""

    name: str
    target: str
    min_arch: int
    m: int
    n: int
    k: int
    a: str
    b: str
    acc: str
    lanes: int
    a_frag: Fragment
    b_frag: Fragment
    c_frag: Fragment
    spelling: str
    opt_in: str | None = None


def check_fragment(frag: Fragment, lanes: int) -> None:
    """Raise AssertionError unless every (row, col) of the tile is held exactly once."""
    seen = {}
    for lane, i, row, col in frag.positions(lanes):
        assert 0 <= row < frag.rows and 0 <= col < frag.cols, (lane, i, row, col)
        assert (row, col) not in seen, f"({row}, {col}) held by {seen[(row, col)]} and {(lane, i)}"
        seen[(row, col)] = (lane, i)
    assert len(seen) == frag.rows * frag.cols, (len(seen), frag.rows, frag.cols)


TARGETS = ("cuda", "hip")     # the targets with tables, in the order shapes are looked up


def instructions(target: str) -> tuple:
    """Every :class:`Instruction` of ``target`` ("cuda" or "hip"), in table order."""
    from . import amd, nvidia
    return {"cuda": nvidia.INSTRUCTIONS, "hip": amd.INSTRUCTIONS}.get(target, ())


def available(inst: Instruction, arch_number: int) -> bool:
    """Does the arch with this number have ``inst``? Each vendor module says (its
    ``supports``): NVIDIA every arch from ``min_arch`` on; AMD only the CDNA archs, within the
    generations that kept the instruction."""
    from . import amd, nvidia
    return {"cuda": nvidia.supports, "hip": amd.supports}[inst.target](inst, arch_number)


def by_shape(shape: tuple) -> list:
    """Every instruction of every table whose (m, n, k) is ``shape``."""
    return [i for t in TARGETS for i in instructions(t) if (i.m, i.n, i.k) == tuple(shape)]


def shapes() -> str:
    """The shapes of every table, ``"16x8x16, 16x16x16, …"`` (for error messages)."""
    found = sorted({(i.m, i.n, i.k) for t in TARGETS for i in instructions(t)})
    return ", ".join("x".join(map(str, s)) for s in found)


def lanes_of(shape: tuple) -> int | None:
    """The lanes that execute an instruction of this (m, n, k); None when no table has it."""
    found = {i.lanes for i in by_shape(shape)}
    return found.pop() if len(found) == 1 else None
