"""The NVIDIA tensor-core table (vortex/mma/nvidia.py): layouts, CUDA kernels built from it, and
an exact emulation of each instruction on PoCL.

1. Every fragment (A, B, C of each ``mma``, each ``ldmatrix``) holds each tile position exactly
   once over the 32 lanes; each ldmatrix feed composes into the mma fragment it claims to load;
   each spelling has exactly the placeholders of the contract.
2. A standalone CUDA kernel generated from the table per entry (one warp loads its fragment
   elements from global memory at the layout's coordinates, packs them into the registers the
   spelling expects, runs the spelling, stores D at the C layout's coordinates) compiles with
   NVRTC for sm_80 and sm_90, and its SASS holds HMMA (f16/bf16/tf32) or IMMA (s8), LDSM for
   the variant that loads A and B with ldmatrix, and no local memory (LDL/STL).
3. The exact emulation of each entry on PoCL (codegen/mma_emulation.py): the layouts route
   the right elements. It does not prove the hardware agrees (no GPU here): the transcription
   from the PTX ISA tables does.
"""
from string import Formatter

import pytest

import compilers
from codegen.mma_emulation import check_layouts, check_on_pocl, frags, offsets
from vortex.mma import available, check_fragment
from vortex.mma.nvidia import FEEDS, INSTRUCTIONS, LANES, LDMATRIX, feed, registers

IDS = [i.name for i in INSTRUCTIONS]
# C type holding one element's bits in the CUDA test kernel (tf32: the float's bits)
STORAGE = {"float16": "unsigned short", "bfloat16": "unsigned short", "float32": "unsigned",
           "int8": "unsigned char", "int32": "int"}
ACC = {"float32": "float", "int32": "int"}
# SASS opcode of the tensor-core instruction, by A type
OPCODE = {"float16": "HMMA", "bfloat16": "HMMA", "float32": "HMMA", "int8": "IMMA"}


# ---------------------------------------------------------------- 1. layouts


@pytest.mark.parametrize("inst", INSTRUCTIONS, ids=IDS)
def test_each_fragment_holds_each_position_once(inst):
    check_layouts(inst)


@pytest.mark.parametrize("key", sorted(LDMATRIX), ids=lambda k: f"x{k[0]}{'.trans' * k[1]}")
def test_each_ldmatrix_layout_holds_each_position_once(key):
    check_fragment(LDMATRIX[key].frag, LANES)


@pytest.mark.parametrize("fd", FEEDS, ids=lambda f: f"{f.instruction}.{f.operand}."
                         f"{'row' if f.contiguous else 'column'}-major")
def test_an_ldmatrix_feed_loads_the_operand_fragment(fd):
    """Element (tile row 8j + r, col c) of the load comes from the run whose address lane
    8j + r supplies (row_start), c elements on along the contiguous axis: that must be the
    element the mma fragment puts in the same lane and register slot."""
    target = frags(next(i for i in INSTRUCTIONS if i.name == fd.instruction))[fd.operand]
    assert fd.load.frag.per_lane == target.per_lane
    for lane, i, row, col in fd.load.frag.positions(LANES):
        assert fd.at(row, col) == target.coords(lane, i), (lane, i)   # tile row = supplier
    assert feed(fd.instruction, fd.operand, fd.contiguous) is fd


def test_no_feed_for_an_operand_without_one():
    assert feed("mma_m16n8k32_s8_s32", "a") is None


@pytest.mark.parametrize("inst", INSTRUCTIONS, ids=IDS)
def test_the_spelling_has_one_placeholder_per_register(inst):
    names = {f for _, f, _, _ in Formatter().parse(inst.spelling) if f is not None}
    assert names == {f"{op}{r}" for op in "dabc" for r in range(registers(inst, op))}
    assert inst.target == "cuda" and inst.lanes == LANES and available(inst, 80)
    assert not available(inst, 75)


# ---------------------------------------------------------------- 2. CUDA → SASS


def table(name: str, ctype: str, values: list) -> str:
    return f"__constant__ {ctype} {name}[{len(values)}] = {{{', '.join(map(str, values))}}};\n"


def packed(inst, op: str) -> tuple:
    """(no tables, C declarations of op's registers): element i of the lane, read from global
    memory at its layout's offset, at bit (i % per_reg) * bits of register i // per_reg."""
    frag = frags(inst)[op]
    bits = 32 * registers(inst, op) // frag.per_lane
    per_reg, lines = 32 // bits, []
    for r in range(registers(inst, op)):
        parts = [f"((unsigned){op.upper()}[{op.upper()}_OFF[lane * {frag.per_lane} + {i}]] << "
                 f"{(i % per_reg) * bits})" for i in range(r * per_reg, (r + 1) * per_reg)]
        lines.append(f"  unsigned {op}{r} = {' | '.join(parts)};")
    return "", lines


def ldmatrix_load(inst, op: str) -> tuple:
    """(the row-address table, C lines that copy op's tile to shared memory row-major and load
    its registers with the feed's ldmatrix)."""
    fd, frag = feed(inst.name, op), frags(inst)[op]
    size = frag.rows * frag.cols
    starts = [row * frag.cols + col for row, col in map(fd.row_start, range(LANES))]
    names = {f"r{r}": f"{op}{r}" for r in range(fd.load.count)}
    addr = f"(unsigned)__cvta_generic_to_shared(&{op}_tile[{op.upper()}_START[lane]])"
    return table(f"{op.upper()}_START", "unsigned short", starts), [
        f"  __shared__ __align__(16) unsigned short {op}_tile[{size}];",
        f"  for (int p = lane; p < {size}; p += {LANES}) {op}_tile[p] = {op.upper()}[p];",
        "  __syncthreads();",
        "  " + " ".join(f"unsigned {n};" for n in names.values()),
        "  " + fd.load.spelling.format(**names, addr=addr)]


def cuda_kernel(inst, ldmatrix: bool = False) -> str:
    """``mma_test(A, B, C, D)``: one warp, tiles row-major in global memory."""
    acc, per_c = ACC[inst.acc], inst.c_frag.per_lane
    consts = "".join(table(f"{op.upper()}_OFF", "unsigned short", offsets(frag, LANES))
                     for op, frag in frags(inst).items())
    body = []
    for op in "ab":
        const, lines = (ldmatrix_load if ldmatrix else packed)(inst, op)
        consts, body = consts + const, body + lines
    body += [f"  {acc} c{i} = C[C_OFF[lane * {per_c} + {i}]];" for i in range(per_c)]
    body += ["  " + " ".join(f"{acc} d{i};" for i in range(per_c))]
    names = {f"{op}{r}": f"{op}{r}" for op in "dabc" for r in range(registers(inst, op))}
    body += ["  " + inst.spelling.format(**names)]
    body += [f"  D[C_OFF[lane * {per_c} + {i}]] = d{i};" for i in range(per_c)]
    return (consts + f'extern "C" __global__ void mma_test(const {STORAGE[inst.a]}* A, '
            f"const {STORAGE[inst.b]}* B, const {acc}* C, {acc}* D) {{\n"
            "  const unsigned lane = threadIdx.x;\n" + "\n".join(body) + "\n}\n")


def sass_mnemonics(source: str, arch: str) -> list:
    compilers.need_isa("cuda")
    from vortex.isa import sass
    from vortex.runtime import nvrtc
    compiled = nvrtc.compile_cuda(source, arch, name="mma_test.cu")
    assert compiled.resources["mma_test"]["stack_bytes"] == 0
    kernels = sass.parse(sass.disassemble(compiled.cubin, arch))
    return [ins.mnemonic for ins in kernels["mma_test"]]


def no_local_memory(mnemonics: list) -> bool:
    return not [m for m in mnemonics if m.split(".")[0] in ("LDL", "STL")]


@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
@pytest.mark.parametrize("inst", INSTRUCTIONS, ids=IDS)
def test_the_spelling_compiles_to_a_tensor_core_instruction(inst, arch):
    mnemonics = sass_mnemonics(cuda_kernel(inst), arch)
    assert any(m.split(".")[0] == OPCODE[inst.a] for m in mnemonics), mnemonics
    assert no_local_memory(mnemonics), mnemonics


@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
@pytest.mark.parametrize("inst", [i for i in INSTRUCTIONS if feed(i.name, "a")],
                         ids=lambda i: i.name)
def test_fragments_loaded_with_ldmatrix_compile_to_ldsm(inst, arch):
    mnemonics = sass_mnemonics(cuda_kernel(inst, ldmatrix=True), arch)
    heads = [m.split(".")[0] for m in mnemonics]
    assert heads.count("LDSM") == 2 and OPCODE[inst.a] in heads, mnemonics
    assert no_local_memory(mnemonics), mnemonics


# ---------------------------------------------------------------- 3. PoCL emulation

# accumulator type → (OpenCL type, sentinel a position no lane writes keeps, numpy type)
@pytest.mark.parametrize("inst", INSTRUCTIONS, ids=IDS)
def test_the_layouts_route_the_right_elements_on_pocl(inst, opencl_device):
    check_on_pocl(inst, opencl_device)
