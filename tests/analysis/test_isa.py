"""The instruction report on real code: small fixed kernels compiled offline (NVRTC sm_90,
hiprtc gfx90a) and disassembled (nvdisasm, llvm-objdump). The figures were checked by hand
against the disassembly (NVRTC 13.5: the elementwise kernel below has three copies of its
4-element body after ptxas merges the identical specialized versions: 12 FFMA, 36 LDG, 12 STG);
the asserts keep the relations that hold for any compiler version."""
import re
from pathlib import Path

import compilers
import pipelines

import vortex as vx
from vortex.isa import sass
from vortex.isa.model import OpClass


def _fma_pipe():
    """f[x] = a[x] * b[x] + c[x]: 4 unrolled elements per thread, 64 threads per block."""
    N = vx.Dim("N")
    a, b, c = (vx.Input(n, vx.float32, (N,)) for n in "abc")
    x = vx.Var("x")
    f = vx.Func("f", shape=(N,))
    f[x] = a[x] * b[x] + c[x]
    pipe = vx.Pipeline(f)
    s = vx.Schedule(pipe)
    s[f].split("x", "xo", "xi", 4).split("xo", "xb", "xt", 64)
    s[f].gpu_blocks("xb").gpu_threads("xt").unroll("xi")
    s[f].specialize(vx.divisible(N, 256))
    return pipe, s


def _staged_matmul():
    """16×16 tile per block, one output per thread; A staged in shared memory per 4-wide k
    step with a 2-stage cp.async pipeline; ki unrolled. K = 1029: A's rows are not 16-byte
    aligned, so each copy moves one float."""
    pipe, C = pipelines.matmul_sized(K=1029)
    s = vx.Schedule(pipe)
    s[C].tile("i", "j", "io", "jo", "ii", "ji", 16, 16).gpu_blocks("io", "jo")
    s[C].gpu_threads("ii", "ji").split("k", "ko", "ki", 4).reorder("ii", "ji", "ko", "ki")
    s[C].unroll("ki").stage("A", at="ko", memory="shared").pipeline("ko", stages=2)
    return pipe, s


def test_fma_kernel_figures_sm90():
    compilers.need_isa("cuda")
    pipe, s = _fma_pipe()
    kern = vx.compile(pipe, schedule=s, target="cuda", arch="sm_90", fast_math=True)
    rep = kern.analysis().isa
    assert rep.missing is None and rep.isa == "SASS" and rep.arch == "sm_90"
    k = rep.kernel("f_kernel")
    fma = k.mix.count(OpClass.FMA)
    # every copy of the body: 4 FFMA, 3 × 4 loads and 4 stores, all 32-bit
    assert fma in (4, 8, 12, 16)
    assert k.mix.widths(OpClass.GLOBAL_LOAD) == {4: 3 * fma}
    assert k.mix.widths(OpClass.GLOBAL_STORE) == {4: fma}
    assert k.mix.count(OpClass.MUL, OpClass.ADD, OpClass.TENSOR) == 0
    assert k.mix.count(OpClass.LOCAL_LOAD, OpClass.LOCAL_STORE) == 0   # no spills
    assert k.loops == [] and k.inner is None
    # the same count straight from the text, independent of the table
    text = sass.disassemble(kern.binary, "sm_90")
    assert fma == len(re.findall(r"\sFFMA[.\s]", text))


def test_strict_math_counts_multiply_adds_as_pairs():
    compilers.need_isa("cuda")
    pipe, s = _fma_pipe()
    fast = vx.compile(pipe, schedule=s, target="cuda", arch="sm_90", fast_math=True)
    strict = vx.compile(pipe, schedule=s, target="cuda", arch="sm_90")   # --fmad=false
    m = strict.analysis().isa[0].mix
    assert m.count(OpClass.FMA) == 0
    assert m.count(OpClass.MUL) == m.count(OpClass.ADD) == fast.analysis().isa[0].mix.count(OpClass.FMA)
    assert m.multiply_adds == m.count(OpClass.MUL)


def test_staged_copy_is_4_byte_ldgsts_in_the_k_loop():
    compilers.need_isa("cuda")
    pipe, s = _staged_matmul()
    kern = vx.compile(pipe, schedule=s, target="cuda", arch="sm_90", fast_math=True)
    k = kern.analysis().isa.kernel("C_kernel")
    copies = k.mix.widths(OpClass.ASYNC_COPY)
    assert list(copies) == [4] and copies[4] > 0        # one float per cp.async: LDGSTS.E
    inner = k.inner.mix
    assert inner.count(OpClass.ASYNC_COPY) > 0 and inner.count(OpClass.BARRIER) > 0
    assert inner.count(OpClass.FMA) > 0 and inner.count(OpClass.FMA) % 4 == 0   # ki unrolled
    assert inner.widths(OpClass.SHARED_LOAD) == {4: inner.count(OpClass.SHARED_LOAD)}
    assert inner.ratios()["bytes_per_async_copy"] == 4.0
    assert k.mix.count(OpClass.LOCAL_LOAD, OpClass.LOCAL_STORE) == 0
    assert kern.resources["C_kernel"]["spill_stores"] == 0      # ptxas agrees: no spills


def test_fma_kernel_figures_gfx90a():
    compilers.need_isa("hip")
    pipe, s = _fma_pipe()
    kern = vx.compile(pipe, schedule=s, target="hip", arch="gfx90a", fast_math=True)
    rep = kern.analysis().isa
    assert rep.missing is None and rep.isa == "AMDGCN"
    m = rep.kernel("f_kernel").mix
    # hiprtc 5.2 merges neighbours into dwordx3 accesses and v_pk_fma_f32 (2 FMAs): one
    # v_fmac_f32 or half a v_pk_fma_f32 per output, 3 floats loaded per float stored
    outputs = m.bytes(OpClass.GLOBAL_STORE) // 4
    assert outputs >= 4 and m.bytes(OpClass.GLOBAL_LOAD) == 3 * 4 * outputs
    assert outputs / 2 <= m.count(OpClass.FMA) <= outputs
    assert m.ops(OpClass.FMA) == outputs        # a packed FMA counts its two lanes
    assert m.count(OpClass.LOCAL_LOAD, OpClass.LOCAL_STORE) == 0


def test_opencl_analysis_says_no_machine_code(opencl_device):
    pipe, s = _fma_pipe()
    kern = vx.compile(pipe, schedule=s, target="opencl", device=opencl_device)
    assert str(kern.analysis().isa).startswith("instruction mix: no machine code for opencl")


def test_cli_analyze_prints_the_instruction_mix(capsys):
    compilers.need_isa("cuda")
    from vortex.cli import main
    example = str(Path(__file__).resolve().parents[2] / "examples" / "matmul.py")
    rc = main(["run", example, "--target", "cuda", "--arch", "sm_90", "--analyze"])
    out = capsys.readouterr().out
    assert "instruction mix of C_kernel (SASS, sm_90)" in out
    assert re.search(r"async copy\s+\d+ \(16B:\d+\)", out)   # 16 B only (vector_copy.py)
    assert rc in (0, 2)   # 2: compiled and analysed, but no CUDA device to run on
