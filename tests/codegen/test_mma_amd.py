"""The AMD MFMA table (vortex/mma/amd.py): layouts, HIP kernels built from it, and an exact
emulation of each instruction on PoCL.

1. Every fragment (A, B, C of each entry) holds each tile position exactly once over the 64
   lanes of a wavefront; each spelling has exactly the placeholders ``{a}``, ``{b}``, ``{c}``.
2. A standalone HIP kernel generated from the table per entry (one wavefront loads its fragment
   elements from global memory at the layout's coordinates into the operand vectors, evaluates
   the spelling, stores D at the C layout's coordinates) compiles with hiprtc for gfx90a; its
   code object holds the entry's ``v_mfma_*`` instruction and uses no scratch memory.
3. The exact emulation of each entry on PoCL (codegen/mma_emulation.py): the layouts route
   the right elements. It does not prove the hardware agrees (no GPU here): the transcription
   from AMD's ISA guide and matrix instruction calculator does.
"""
from string import Formatter

import pytest

import compilers
from codegen.mma_emulation import check_layouts, check_on_pocl, frags, offsets
from vortex.mma import instructions
from vortex.mma.amd import (INSTRUCTIONS, LANES, LAST_ARCH, VECTORS, supports, typedefs,
                            vector_type)

IDS = [i.name for i in INSTRUCTIONS]
ARCH = "gfx90a"


# ---------------------------------------------------------------- 1. layouts and facts


@pytest.mark.parametrize("inst", INSTRUCTIONS, ids=IDS)
def test_each_fragment_holds_each_position_once(inst):
    check_layouts(inst)


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
                     f"{{{', '.join(map(str, offsets(f, LANES)))}}};\n" for op, f in frags(inst).items())
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
@pytest.mark.parametrize("inst", INSTRUCTIONS, ids=IDS)
def test_the_layouts_route_the_right_elements_on_pocl(inst, opencl_device):
    check_on_pocl(inst, opencl_device)
