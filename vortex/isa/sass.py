"""NVIDIA SASS: the classification table and a parser of ``nvdisasm -c`` output.

``nvdisasm -c kernel.cubin`` prints, per kernel, a section header
``.section .text.<kernel>,"ax",@progbits``, labels (``.L_x_8:``) and one instruction a line::

        /*1c30*/              @P0 BRA `(.L_x_9) ;
        /*5150*/              @!P1 LDGSTS.E [R83], desc[UR6][R70.64], !PT ;

Instructions predicated on ``!PT`` (never true) are padding the compiler leaves and are dropped.
Widths come from the mnemonic's modifiers (``LDS.128`` = 16 bytes per thread, no size modifier
= 32 bits). Sources: CUDA Binary Utilities, "Instruction Set Reference" (the opcode list per
architecture) and "nvdisasm" (options).
"""
from __future__ import annotations

import re
import tempfile
from pathlib import Path

from .model import Instr, OpClass, Rule, Width
from .tools import NVDISASM

TOOL = NVDISASM
NAME = "SASS"

# size modifiers of memory instructions (bytes per thread); none = 32 bits
_SIZE = Width({"U8": 1, "S8": 1, "U16": 2, "S16": 2, "64": 8, "128": 16}, default=4)
# LDSM loads 1, 2 or 4 8x8 matrices (.M88.2, .M88.4): 4 bytes per thread per matrix
_MATRICES = Width({"2": 8, "4": 16}, default=4)

RULES = (
    Rule(r"HFMA2\b", OpClass.FMA, lanes=2),
    Rule(r"(FFMA|FFMA32I|DFMA)\b", OpClass.FMA),
    Rule(r"HMUL2\b", OpClass.MUL, lanes=2),
    Rule(r"(FMUL|FMUL32I|DMUL)\b", OpClass.MUL),
    Rule(r"HADD2\b", OpClass.ADD, lanes=2),
    Rule(r"(FADD|FADD32I|DADD)\b", OpClass.ADD),
    Rule(r"(HMMA|IMMA|DMMA|BMMA|HGMMA|IGMMA|QGMMA|BGMMA)\b", OpClass.TENSOR),
    Rule(r"LDSM\b", OpClass.LDMATRIX, _MATRICES),
    Rule(r"LDS\b", OpClass.SHARED_LOAD, _SIZE),
    Rule(r"STS\b", OpClass.SHARED_STORE, _SIZE),
    Rule(r"LDGSTS\b", OpClass.ASYNC_COPY, _SIZE),
    Rule(r"LDG\b", OpClass.GLOBAL_LOAD, _SIZE),
    Rule(r"STG\b", OpClass.GLOBAL_STORE, _SIZE),
    Rule(r"LDL\b", OpClass.LOCAL_LOAD, _SIZE),
    Rule(r"STL\b", OpClass.LOCAL_STORE, _SIZE),
    Rule(r"BAR\b", OpClass.BARRIER),
)

_SECTION = re.compile(r"\s*\.section\s+\.text\.([^,\s]+)")
_LABEL = re.compile(r"^([.\w$]+):")
_INSTR = re.compile(r"^\s*/\*([0-9a-f]+)\*/\s*\{?\s*(?:@(!?)(U?P\w+)\s+)?([A-Z][A-Z0-9_.]*)([^;]*);")
_TARGET = re.compile(r"`\(([^)]+)\)")
_BRANCHES = ("BRA",)


def disassemble(binary: bytes, arch: str) -> str:
    """``nvdisasm -c`` of the CUBIN ``binary`` (the arch is read from the ELF)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "kernel.cubin"
        path.write_bytes(binary)
        return TOOL.run("-c", str(path))


def parse(text: str) -> dict:
    """``{kernel: [Instr]}`` from ``nvdisasm`` output, branch targets resolved to addresses."""
    kernels, labels, pending = {}, {}, []
    current = None
    for line in text.splitlines():
        if m := _SECTION.match(line):
            current = kernels.setdefault(m.group(1), [])
            continue
        if m := _LABEL.match(line):
            pending.append(m.group(1))
            continue
        m = _INSTR.match(line)
        if m is None or current is None:
            continue
        addr = int(m.group(1), 16)
        for name in pending:
            labels[name] = addr
        pending = []
        if m.group(2) and m.group(3) in ("PT", "UPT"):
            continue  # @!PT: never executes
        mnemonic, target = m.group(4), _TARGET.search(m.group(5))
        branch = target.group(1) if target and mnemonic.split(".")[0] in _BRANCHES else None
        current.append((addr, mnemonic, branch))
    return {k: [Instr(a, mn, labels.get(b) if b else None) for a, mn, b in v]
            for k, v in kernels.items()}
