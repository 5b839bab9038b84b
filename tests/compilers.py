"""Skip (saying what to install) unless an offline compiler or disassembler is here: NVRTC for
CUDA, hiprtc for HIP, and ``nvdisasm`` / ``llvm-objdump`` for the instruction report."""
import pytest

import vortex as vx
from vortex.isa import amdgcn, sass


def need_nvrtc():
    """The loaded ``vortex.runtime.nvrtc`` module, or skip saying what to install."""
    pytest.importorskip("cuda.bindings", reason='NVRTC needs pip install "vortex[cuda]"')
    from vortex.runtime import nvrtc
    try:
        nvrtc.version()
    except vx.DeviceError as e:
        pytest.skip(f"NVRTC does not load: {e}")
    return nvrtc


def need_hiprtc():
    from vortex.runtime import rocm
    if rocm.library() is None:
        pytest.skip("libamdhip64 (ROCm) not found: apt-get install libamdhip64-dev "
                    "libhiprtc-builtins5 rocm-device-libs libamd-comgr-dev")


NEED = {"cuda": need_nvrtc, "hip": need_hiprtc}
DISASSEMBLER = {"cuda": sass.TOOL, "hip": amdgcn.TOOL}


def need_isa(target: str):
    """The compiler of ``target`` ("cuda" or "hip") and the disassembler of its machine code."""
    NEED[target]()
    if DISASSEMBLER[target].find() is None:
        pytest.skip(DISASSEMBLER[target].missing)


def foreign_mma(pipe, schedule, target: str) -> bool:
    """Does ``schedule`` use an ``mma`` instruction that ``target``'s table does not have (a
    16x16x16 MFMA tile compiled for CUDA)? Compiling it is then a vx.CompileError naming the
    shapes the target has (docs/tensor_cores.md), not a kernel."""
    from vortex.lower.driver import lower
    from vortex.lower.ir import MmaTile
    from vortex.lower.walk import stmts
    from vortex.mma import instructions
    names = {i.name for i in instructions(target)}
    return any(isinstance(s, MmaTile) and s.instruction not in names
               for k in lower(pipe, schedule).kernels for s in stmts(k.body))
