"""Instruction-level report: the machine-code instruction mix of each compiled kernel.

For CUDA the CUBIN from NVRTC is disassembled to SASS with ``nvdisasm``; for HIP the code
object from hiprtc to AMDGCN with ``llvm-objdump``. Each kernel's instructions are classified
with one table per ISA (:data:`vortex.isa.sass.RULES`, :data:`vortex.isa.amdgcn.RULES`):
FMA / FMUL / FADD / tensor ops, shared loads and stores by width, async copies by width, global
loads and stores by width, local-memory (spill) accesses, barriers; the same counts are given
for the kernel's hot innermost loop (:func:`vortex.isa.model.innermost_loops` states the rule),
with the ratios a GPU engineer reads (FMAs per shared-load instruction, bytes per copy
instruction). See docs/isa_report.md.

Use: ``kernel.analysis().isa`` (or :func:`report` directly); ``vortex run --analyze`` prints it.
The idea of reading the kernel's SASS mix to find its limiter: CUTLASS/"How to optimize a
CUDA matmul" practice (FFMA to LDS ratios), Nsight Compute's "Instruction Statistics".
"""
from __future__ import annotations

from ..target import Target
from . import amdgcn, sass
from .model import KernelISA, Mix, OpClass, classifier, kernel_isa
from .report import ISAReport

__all__ = ["report", "from_text", "ISAReport", "KernelISA", "Mix", "OpClass", "ISAS"]

ISAS = {Target.CUDA: sass, Target.HIP: amdgcn}   # target → ISA module (TOOL, NAME, RULES, …)


def from_text(target, text: str, arch: str | None = None) -> ISAReport:
    """The report of a disassembly ``text`` (``nvdisasm -c`` for CUDA, ``llvm-objdump -d``
    for HIP) — what :func:`report` does after running the tool."""
    isa = ISAS[Target.parse(target)]
    classify = classifier(isa.RULES)
    kernels = [kernel_isa(name, instrs, classify) for name, instrs in isa.parse(text).items()]
    return ISAReport(kernels, isa.NAME, arch)


def report(target, arch: str | None, binary: bytes | None) -> ISAReport:
    """The instruction report of ``binary`` (CUBIN for ``"cuda"``, code object or offload
    bundle for ``"hip"``) compiled for ``arch``. No exception for a missing tool or target
    without machine code: the report's ``missing`` says so (and ``str()`` prints it). Raises
    vx.CompileError when the disassembler fails on the binary."""
    target = Target.parse(target)
    isa = ISAS.get(target)
    if isa is None:
        return ISAReport(missing=f"no machine code for {target.value}: the driver compiles "
                                 "OpenCL at run time (use target='cuda' or 'hip')")
    if binary is None:
        return ISAReport(isa=isa.NAME, arch=arch, missing="no machine code: nothing compiled")
    if isa.TOOL.find() is None:
        return ISAReport(isa=isa.NAME, arch=arch, missing=isa.TOOL.missing)
    if target is Target.HIP:
        from ..runtime.code_object import unbundle
        binary = unbundle(binary, arch)
    return from_text(target, isa.disassemble(binary, arch), arch)
