"""The AMD MFMA table (vortex/mma/amd.py): layouts, HIP kernels built from it, and an exact
emulation of each instruction on PoCL.

1. Every fragment (A, B, C of each entry) holds each tile position exactly once over the 64
   lanes of a wavefront; each spelling has exactly the placeholders ``{a}``, ``{b}``, ``{c}``.
2. A standalone HIP kernel generated from the table per entry (one wavefront loads its fragment
   elements from global memory at the layout's coordinates into the operand vectors, evaluates
   the spelling, stores D at the C layout's coordinates) compiles with hiprtc for gfx90a; its
   code object holds the entry's ``v_mfma_*`` instruction and uses no scratch memory.
3. An OpenCL C kernel generated from the same table, 64 work-items in one work-group: each
   writes the A and B elements it holds into local-memory tiles (filled first with a sentinel),
   then computes each C element it holds as the dot product over k plus C; compared exactly with
   numpy ``A @ B + C``. This shows the layouts are bijections that route the right elements. It
   does not prove the hardware agrees (no GPU here): the transcription from AMD's ISA guide and
   matrix instruction calculator does.
"""
from string import Formatter

import compilers
import numpy as np
import pytest

from vortex.mma import check_fragment, instructions
from vortex.mma.amd import (
    INSTRUCTIONS,
    LANES,
    LAST_ARCH,
    VECTORS,
    supports,
    typedefs,
    vector_type,
)

IDS = [i.name for i in INSTRUCTIONS]
ARCH = "gfx90a"


def frags(inst):
    return {"a": inst.a_frag, "b": inst.b_frag, "c": inst.c_frag}


def offsets(frag) -> list:
    """Row-major offset in the operand tile of element i of lane l, at index l * per_lane + i."""
    return [row * frag.cols + col for _, _, row, col in frag.positions(LANES)]


# ---------------------------------------------------------------- 1. layouts and facts


@pytest.mark.parametrize("inst", INSTRUCTIONS, ids=IDS)
def test_each_fragment_holds_each_position_once(inst):
    assert (inst.a_frag.rows, inst.a_frag.cols) == (inst.m, inst.k)
    assert (inst.b_frag.rows, inst.b_frag.cols) == (inst.k, inst.n)
    assert (inst.c_frag.rows, inst.c_frag.cols) == (inst.m, inst.n)
    for frag in frags(inst).values():
        check_fragment(frag, inst.lanes)


@pytest.mark.parametrize("inst", INSTRUCTIONS, ids=IDS)
def test_the_spelling_has_the_contract_placeholders(inst):
    names = [f for _, f, _, _ in Formatter().parse(inst.spelling) if f is not None]
    assert sorted(names) == ["a", "b", "c"]
    assert inst.target == "hip" and inst.lanes == LANES == 64
    assert inst.spelling.startswith(f"__builtin_amdgcn_{inst.name}(")


def test_the_table_is_the_hip_table():
    assert instructions("hip") is INSTRUCTIONS
    assert len({i.name for i in INSTRUCTIONS}) == len(INSTRUCTIONS)


@pytest.mark.parametrize("inst", INSTRUCTIONS, ids=IDS)
def test_which_archs_have_it(inst):
    """All on gfx90a; f16/int8 already on gfx908, bf16_1k not; int8 k=8/16 gone on gfx942;
    none on an APU (gfx90c) or RDNA (gfx1030, gfx1100), whose numbers are larger."""
    assert supports(inst, 0x90a)
    assert supports(inst, 0x908) == (inst.a != "bfloat16")
    assert supports(inst, 0x942) == (inst.name not in LAST_ARCH)
    assert not any(supports(inst, arch) for arch in (0x906, 0x90c, 0x1030, 0x1100))


# ---------------------------------------------------------------- 2. HIP → gfx90a code


def hip_kernel(inst) -> str:
    """``mfma_test(A, B, C, D)``: one wavefront, tiles row-major in global memory (bfloat16 as
    its bits in ``short``)."""
    consts = "".join(f"__constant__ unsigned short {op.upper()}_OFF[] = "
                     f"{{{', '.join(map(str, offsets(f)))}}};\n" for op, f in frags(inst).items())
    dtypes = {"a": inst.a, "b": inst.b, "c": inst.acc}
    body = []
    for op, frag in frags(inst).items():
        body.append(f"  {vector_type(dtypes[op], frag.per_lane)} {op};")
        body += [f"  {op}[{i}] = {op.upper()}[{op.upper()}_OFF[lane * {frag.per_lane} + {i}]];"
                 for i in range(frag.per_lane)]
    per_c = inst.c_frag.per_lane
    body.append(f"  const {vector_type(inst.acc, per_c)} d = "
                + inst.spelling.format(a="a", b="b", c="c") + ";")
    body += [f"  D[C_OFF[lane * {per_c} + {i}]] = d[{i}];" for i in range(per_c)]
    ctype = {op: VECTORS[t][1] for op, t in dtypes.items()}
    return ("\n".join(typedefs(inst)) + "\n" + consts
            + f'extern "C" __global__ void __launch_bounds__({LANES}) mfma_test('
            f"const {ctype['a']}* A, const {ctype['b']}* B, const {ctype['c']}* C, "
            f"{ctype['c']}* D) {{\n  const unsigned lane = threadIdx.x;\n"
            + "\n".join(body) + "\n}\n")


@pytest.mark.parametrize("inst", INSTRUCTIONS, ids=IDS)
def test_the_spelling_compiles_to_its_mfma_for_gfx90a(inst):
    compilers.need_isa("hip")
    from vortex.isa import amdgcn
    from vortex.runtime import hiprtc
    from vortex.runtime.code_object import kernel_resources
    source = hip_kernel(inst)
    binary, _ = hiprtc.CODE_OBJECT_CACHE.get(
        hiprtc.library(), source, (f"--offload-arch={ARCH}",) + hiprtc.COMPILE_OPTIONS, ARCH,
        ("mfma_test",), f"{inst.name}.hip")
    kernels = amdgcn.parse(amdgcn.disassemble(binary, ARCH))
    mnemonics = [ins.mnemonic for ins in kernels["mfma_test"]]
    assert mnemonics.count(f"v_{inst.name}") == 1, mnemonics
    assert not [m for m in mnemonics if m.startswith(("scratch_", "buffer_"))], mnemonics
    assert kernel_resources(binary)["mfma_test"]["scratch_bytes"] == 0


# ---------------------------------------------------------------- 3. PoCL emulation

# accumulator type → (OpenCL type, sentinel a position no lane writes keeps, numpy type)
EMULATED = {"float32": ("float", "NAN", np.float32), "int32": ("int", "(1 << 20)", np.int32)}


def opencl_kernel(inst) -> str:
    """``emulate(A, B, C, D)``: 64 work-items, one per lane, all operands in the accumulator
    type (the test values are exact in the instruction's input types)."""
    ctype, sentinel, _ = EMULATED[inst.acc]
    m, n, k = inst.m, inst.n, inst.k
    consts = "".join(f"__constant int {op.upper()}_OFF[] = {{{', '.join(map(str, offsets(f)))}}};\n"
                     for op, f in frags(inst).items())
    pa, pb, pc = (f.per_lane for f in frags(inst).values())
    return consts + f"""
__kernel void emulate(__global const {ctype}* A, __global const {ctype}* B,
                      __global const {ctype}* C, __global {ctype}* D) {{
  __local {ctype} As[{m * k}], Bs[{k * n}];
  const int lane = get_local_id(0);
  for (int p = lane; p < {m * k}; p += {LANES}) As[p] = {sentinel};
  for (int p = lane; p < {k * n}; p += {LANES}) Bs[p] = {sentinel};
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int i = 0; i < {pa}; ++i) As[A_OFF[lane * {pa} + i]] = A[A_OFF[lane * {pa} + i]];
  for (int i = 0; i < {pb}; ++i) Bs[B_OFF[lane * {pb} + i]] = B[B_OFF[lane * {pb} + i]];
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int i = 0; i < {pc}; ++i) {{
    const int o = C_OFF[lane * {pc} + i], row = o / {n}, col = o % {n};
    {ctype} acc = C[o];
    for (int kk = 0; kk < {k}; ++kk) acc += As[row * {k} + kk] * Bs[kk * {n} + col];
    D[o] = acc;
  }}
}}
"""


def operands(inst, rng):
    """A, B, C exact in the instruction's types, products and sums exact: quarters in [-4, 4]
    for f16/bf16 (at most 5 significant bits), int8 A, nonzero int8 B (a missing A element then
    always shows), int32 C well inside the range."""
    if inst.acc == "int32":
        a = rng.integers(-128, 128, (inst.m, inst.k))
        b = rng.choice(np.r_[-128:0, 1:128], (inst.k, inst.n))
        c = rng.integers(-2**20, 2**20, (inst.m, inst.n))
        return a.astype(np.int32), b.astype(np.int32), c.astype(np.int32)
    a, b, c = (rng.integers(-16, 17, shape) / 4 for shape in
               ((inst.m, inst.k), (inst.k, inst.n), (inst.m, inst.n)))
    return a.astype(np.float32), b.astype(np.float32), c.astype(np.float32)


@pytest.mark.parametrize("inst", INSTRUCTIONS, ids=IDS)
def test_the_layouts_route_the_right_elements_on_pocl(inst, opencl_device):
    import pyopencl as cl

    from vortex.runtime.opencl import BUILD_OPTIONS
    from vortex.runtime.opencl_device import context_queue
    a, b, c = operands(inst, np.random.default_rng(len(inst.name)))
    ctx, queue = context_queue(opencl_device)
    prog = cl.Program(ctx, opencl_kernel(inst)).build(options=list(BUILD_OPTIONS))
    mf = cl.mem_flags
    bufs = [cl.Buffer(ctx, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=np.ascontiguousarray(x))
            for x in (a, b, c)]
    d = np.full_like(c, -7)                   # a position no lane stores keeps -7
    d_buf = cl.Buffer(ctx, mf.READ_WRITE | mf.COPY_HOST_PTR, hostbuf=d)
    prog.emulate(queue, (LANES,), (LANES,), *bufs, d_buf)
    cl.enqueue_copy(queue, d, d_buf)
    expected = a.astype(np.int64) @ b + c if inst.acc == "int32" else \
        a.astype(np.float64) @ b + c
    np.testing.assert_array_equal(d, expected.astype(EMULATED[inst.acc][2]))
