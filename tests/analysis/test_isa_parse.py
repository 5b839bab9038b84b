"""The instruction report without any tool: classification tables, widths, the innermost-loop
rule and ratios on fixed disassembly snippets (tests/analysis/data), and the 'tool missing' /
'no machine code' lines. Counts below are read by hand from the snippets."""
from pathlib import Path

import pytest

from vortex import isa
from vortex.isa import amdgcn, sass, tools
from vortex.isa.model import OpClass, classifier

DATA = Path(__file__).parent / "data"


def _report(target, name, arch):
    return isa.from_text(target, (DATA / name).read_text(), arch)


def test_sass_snippet_counts_by_class_and_width():
    k = _report("cuda", "loop_sm90.sass", "sm_90").kernel("tiny_kernel")
    # 27 instruction lines, one of them '@!PT LDS RZ, [RZ]' (never executes): dropped
    assert k.mix.total == 26
    m = k.mix
    assert m.count(OpClass.FMA) == 2 and m.count(OpClass.MUL) == 1 and m.count(OpClass.ADD) == 1
    assert m.count(OpClass.TENSOR) == 1                       # HMMA.16816.F32
    assert m.widths(OpClass.SHARED_LOAD) == {4: 1, 16: 1}     # LDS, LDS.128
    assert m.widths(OpClass.LDMATRIX) == {16: 1}              # LDSM.16.M88.4: 4 matrices
    assert m.widths(OpClass.SHARED_STORE) == {8: 1}           # STS.64
    assert m.widths(OpClass.ASYNC_COPY) == {4: 1, 16: 1}      # LDGSTS.E, ….LTC128B.128
    assert m.widths(OpClass.GLOBAL_LOAD) == {8: 1}            # LDG.E.64.CONSTANT
    assert m.widths(OpClass.GLOBAL_STORE) == {16: 1}          # STG.E.128
    assert m.count(OpClass.LOCAL_LOAD) == 1 and m.count(OpClass.LOCAL_STORE) == 1
    assert m.count(OpClass.BARRIER) == 2


def test_sass_innermost_loop_and_ratios():
    k = _report("cuda", "loop_sm90.sass", "sm_90")[0]
    # back edges: 0x120 -> .L_x_0 (0x90), 0x150 -> .L_x_1 (0x40), which holds the first;
    # 0x1a0 'BRA .L_x_2' to itself is the trap after EXIT, not a loop
    assert [(lp.start, lp.end) for lp in k.loops] == [(0x90, 0x120)]
    inner = k.inner.mix
    assert inner.total == 10
    assert inner.count(OpClass.ASYNC_COPY) == 0 and inner.count(OpClass.BARRIER) == 0
    r = inner.ratios()
    assert r["fma_per_shared_load"] == pytest.approx(2 / 3)          # 2 FFMA / (LDS, LDS.128, LDSM)
    assert r["multiply_adds_per_shared_load"] == pytest.approx(1.0)  # + the FMUL/FADD pair
    assert r["bytes_per_shared_load"] == pytest.approx(12.0)         # (4 + 16 + 16) / 3
    assert r["bytes_per_async_copy"] is None
    assert k.mix.ratios()["bytes_per_async_copy"] == pytest.approx(10.0)   # (16 + 4) / 2


def test_amdgcn_snippet_counts_and_loop():
    k = _report("hip", "loop_gfx90a.s", "gfx90a").kernel("tiny_kernel")
    assert k.mix.total == 25            # the tiny_kernel.kd descriptor is not code
    m = k.mix
    assert m.count(OpClass.FMA) == 2    # v_fmac_f32, v_pk_fma_f32; v_mad_u64_u32 is integer
    assert m.ops(OpClass.FMA) == 3      # the packed one is two FMAs
    assert m.count(OpClass.MUL) == 1 and m.count(OpClass.ADD) == 1
    assert m.count(OpClass.TENSOR) == 1                       # v_mfma_f32_32x32x2f32
    assert m.widths(OpClass.SHARED_LOAD) == {8: 1, 16: 1}     # ds_read2_b32, ds_read_b128
    assert m.widths(OpClass.SHARED_STORE) == {8: 1}           # ds_write_b64
    assert m.widths(OpClass.GLOBAL_LOAD) == {4: 1, 16: 1}     # global_load_dword, _dwordx4
    assert m.widths(OpClass.GLOBAL_STORE) == {8: 1}           # global_store_dwordx2
    assert m.count(OpClass.LOCAL_STORE) == 1 and m.count(OpClass.LOCAL_LOAD) == 1
    assert m.count(OpClass.BARRIER) == 1
    # s_cbranch_scc1 back to ds_read_b128 closes the loop; the backward s_cbranch_execz (a skip
    # to a join block) does not
    assert [(lp.start, lp.end) for lp in k.loops] == [(0x1034, 0x1068)]
    assert k.inner.mix.total == 10
    assert k.inner.mix.ratios()["fma_per_shared_load"] == pytest.approx(1.5)   # 3 FMAs, 2 loads


@pytest.mark.parametrize("rules, mnemonic, expected", [
    (sass.RULES, "LDS.U.128", (OpClass.SHARED_LOAD, 16, 1)),
    (sass.RULES, "LDS.U16", (OpClass.SHARED_LOAD, 2, 1)),
    (sass.RULES, "LDSM.16.MT88.2", (OpClass.LDMATRIX, 8, 1)),
    (sass.RULES, "LDSM.16.M88", (OpClass.LDMATRIX, 4, 1)),
    (sass.RULES, "LDGSTS.E.LTC128B", (OpClass.ASYNC_COPY, 4, 1)),
    (sass.RULES, "LDG.E.U8.CONSTANT", (OpClass.GLOBAL_LOAD, 1, 1)),
    (sass.RULES, "HFMA2.MMA", (OpClass.FMA, None, 2)),
    (sass.RULES, "HGMMA.64x128x16.F32", (OpClass.TENSOR, None, 1)),
    (sass.RULES, "BAR.ARV", (OpClass.BARRIER, None, 1)),
    (sass.RULES, "LDC.64", None),
    (sass.RULES, "FMNMX", None),
    (amdgcn.RULES, "ds_read_b96", (OpClass.SHARED_LOAD, 12, 1)),
    (amdgcn.RULES, "ds_read2st64_b64", (OpClass.SHARED_LOAD, 16, 1)),
    (amdgcn.RULES, "ds_read_u16_d16", (OpClass.SHARED_LOAD, 2, 1)),
    (amdgcn.RULES, "global_load_ubyte", (OpClass.GLOBAL_LOAD, 1, 1)),
    (amdgcn.RULES, "global_store_dwordx4", (OpClass.GLOBAL_STORE, 16, 1)),
    (amdgcn.RULES, "buffer_load_dword", (OpClass.LOCAL_LOAD, 4, 1)),
    (amdgcn.RULES, "v_fma_f64", (OpClass.FMA, None, 1)),
    (amdgcn.RULES, "v_pk_mul_f32", (OpClass.MUL, None, 2)),
    (amdgcn.RULES, "v_mad_u32_u24", None),
    (amdgcn.RULES, "s_load_dwordx2", None),
])
def test_classification_tables(rules, mnemonic, expected):
    assert classifier(rules)(mnemonic) == expected


def test_missing_nvdisasm_says_what_to_install(monkeypatch):
    monkeypatch.setattr(tools, "_nvidia_utility", lambda name: None)
    rep = isa.report("cuda", "sm_90", b"\x7fELF not disassembled")
    assert len(rep) == 0
    assert rep.missing == ('tool missing: nvdisasm (install it with pip install "vortex[cuda]" '
                           "(the nvidia-cuda-nvdisasm wheel) or a CUDA toolkit)")
    assert str(rep) == f"instruction mix: {rep.missing}"


def test_missing_llvm_objdump_says_what_to_install(monkeypatch):
    monkeypatch.setattr(tools, "_llvm_objdump", lambda: None)
    rep = isa.report("hip", "gfx90a", b"\x7fELF not disassembled")
    assert rep.missing.startswith("tool missing: llvm-objdump (install ROCm's llvm")
    assert "apt-get install llvm" in str(rep)


def test_opencl_has_no_machine_code():
    rep = isa.report("opencl", None, None)
    assert rep.missing == ("no machine code for opencl: the driver compiles OpenCL at run time "
                           "(use target='cuda' or 'hip')")


def test_unknown_kernel_name_lists_the_kernels():
    rep = _report("cuda", "loop_sm90.sass", "sm_90")
    with pytest.raises(KeyError, match=r"no kernel 'blur' in this report; kernels: \['tiny_kernel'\]"):
        rep.kernel("blur")
