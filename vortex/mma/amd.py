"""AMD matrix cores as data: MFMA builtins of CDNA (``v_mfma_*``), called from HIP C++.

Sources: AMD "Instinct MI200 Instruction Set Architecture Reference Guide" (CDNA2), chapter
"Matrix Arithmetic Instructions" (the MFMA operands and how their registers map to lanes), and
the MI300 (CDNA3) guide's chapter of the same name; the layouts below were checked entry by
entry against AMD's matrix instruction calculator (``matrix_calculator.py -a CDNA2 -i <inst>
--matrix-layout``, also ``-a CDNA1`` and ``-a CDNA3``); LLVM's ``BuiltinsAMDGPU.def`` gives the
builtins' signatures (facts only). One wavefront, ``lanes = 64``, executes an instruction.

**Layouts** (lane ``l``, element ``e`` of the lane; ``m = n`` is 32 or 16, ``g = 64 / m`` lane
groups, ``q = m·k / 64`` elements of A and B per lane — 4 for the 16-bit and int8 entries, 1
for float32): A (m × k) element e of lane l is A[l % m][q·(l / m) + e]; B (k × n) is
B[q·(l / m) + e][l % m] (a lane holds a column of B); C/D (m × n, m·n/64 elements)
is C[4·g·(e / 4) + 4·(l / m) + e % 4][l % m]: a lane holds a column, in blocks of 4 rows, the
lane groups taking consecutive blocks. Element e of a 16-bit operand is half e % 2 (low first)
of register e / 2, of an int8 operand byte e (low first) of its one register.

**Archs** (``Instruction.min_arch``: the gfx number read as hex, gfx908 → 0x908, gfx90a →
0x90a, gfx942 → 0x942). gfx908 (MI100, CDNA1) has the f16 and int8 entries (min_arch 0x908)
but not the ``bf16_1k`` ones (it has only the 2-element bf16 MFMAs: min_arch 0x90a).
gfx940-942 (MI300, CDNA3) keep the f16 and bf16 entries (the builtins are assembled as
``v_mfma_f32_32x32x8_f16``, ``…_bf16``, same layouts) but dropped the k = 8/16 int8 ones for
``v_mfma_i32_32x32x16_i8`` / ``16x16x32_i8`` (8 int8 per lane, not in this table):
:data:`LAST_ARCH` holds that limit. A number alone does not say CDNA: gfx90c (an APU) and
gfx10xx/11xx (RDNA, wave32, WMMA instead) have no MFMA: :func:`supports` (what
``vortex.mma.available`` asks for "hip") knows the CDNA archs.

**Spelling contract** (``Instruction.spelling``): a Python ``str.format`` template of one HIP
C++ *expression*, the builtin call, with three named placeholders ``{a}``, ``{b}``, ``{c}``,
each used once. Each is filled with an expression of type ``vector_type(dtype, per_lane)`` of
that operand (A: ``inst.a`` × ``a_frag.per_lane``; B likewise; C: ``inst.acc`` ×
``c_frag.per_lane``), whose element e is the fragment's element e; the expression's value is D,
of C's type: a printer writes ``d = inst.spelling.format(a=..., b=..., c=...);``. The typedefs
(:func:`typedefs`) are ``ext_vector_type`` vectors named ``vx_<f16|bf16|i8|f32|i32>x<N>``, not
``float4``/``int4``/``short4``, which hip_runtime.h already defines as structs. bfloat16 values
travel as their bits in ``short`` (the ``_1k`` builtins take ``short`` vectors); int8 vectors
are bit-cast to the ``int`` the builtin takes, a float32 operand's one-element vector to the
``float`` it takes. The modifiers (cbsz, abid, blgp) are 0: no
broadcast, no lane permutation.

Checked here (tests/codegen/test_mma_amd.py): each spelling compiles to its ``v_mfma_*`` for
gfx90a with hiprtc, and an emulation on PoCL shows each layout routes every element once; no
AMD GPU has run these entries, so the layouts rest on the sources above.
"""
from __future__ import annotations

from . import Fragment, Instruction

LANES = 64
# dtype → (typedef name part, C++ element type of its vectors; bfloat16 as its bits)
VECTORS = {"float16": ("f16", "_Float16"), "bfloat16": ("bf16", "short"),
           "int8": ("i8", "signed char"), "float32": ("f32", "float"), "int32": ("i32", "int")}
_CDNA = (0x908, 0x90a, 0x940, 0x941, 0x942, 0x950)   # gfx archs with MFMA (CDNA1-3, MI350)


def vector_type(dtype: str, count: int) -> str:
    """Name of the vector typedef of ``count`` elements of ``dtype`` (e.g. ``vx_f16x4``)."""
    return f"vx_{VECTORS[dtype][0]}x{count}"


def typedefs(inst: Instruction) -> tuple:
    """The C++ typedef lines the spelling of ``inst`` needs (A, B, C/D vector types), once each."""
    kinds = ((inst.a, inst.a_frag.per_lane), (inst.b, inst.b_frag.per_lane),
             (inst.acc, inst.c_frag.per_lane))
    return tuple(dict.fromkeys(
        f"typedef {VECTORS[t][1]} {vector_type(t, c)} __attribute__((ext_vector_type({c})));"
        for t, c in kinds))


# m and n are powers of two: lane % m is lane & (m - 1), lane // m is lane >> log2(m) (what
# the lowering substitutes a lane expression into: no signed-division fix-ups in the code);
# likewise e // 4 is e >> 2 and e % 4 is e & 3 (OpenCL's emulation loops over e: lower/mma.py).
# A and B hold m·k / 64 elements per lane: 4 (16-bit and int8 entries) or 1 (float32).
def _a(m: int, k: int) -> Fragment:
    s, per = m.bit_length() - 1, m * k // LANES
    return Fragment(m, k, per, lambda lane, e: (lane & (m - 1), per * (lane >> s) + e))


def _b(k: int, n: int) -> Fragment:
    s, per = n.bit_length() - 1, k * n // LANES
    return Fragment(k, n, per, lambda lane, e: (per * (lane >> s) + e, lane & (n - 1)))


def _c(m: int, n: int) -> Fragment:
    groups, s = LANES // n, n.bit_length() - 1
    return Fragment(m, n, m * n // LANES,
                    lambda lane, e: (4 * groups * (e >> 2) + 4 * (lane >> s) + (e & 3),
                                     lane & (n - 1)))


def _mfma(builtin: str, m: int, k: int, ab: str, acc: str, min_arch: int,
          packed: str = "") -> Instruction:
    """One ``__builtin_amdgcn_mfma_<builtin>`` entry (m = n); ``packed``: the scalar type the
    builtin takes A and B as (int8: ``int``), reached by ``__builtin_bit_cast``."""
    def operand(x):
        return f"__builtin_bit_cast({packed}, {{{x}}})" if packed else f"{{{x}}}"
    spelling = f"__builtin_amdgcn_mfma_{builtin}({operand('a')}, {operand('b')}, {{c}}, 0, 0, 0)"
    return Instruction(f"mfma_{builtin}", "hip", min_arch, m, m, k, ab, ab, acc, LANES,
                       _a(m, k), _b(k, m), _c(m, m), spelling)


INSTRUCTIONS = (
    _mfma("f32_32x32x8f16", 32, 8, "float16", "float32", 0x908),
    _mfma("f32_16x16x16f16", 16, 16, "float16", "float32", 0x908),
    _mfma("f32_32x32x8bf16_1k", 32, 8, "bfloat16", "float32", 0x90a),
    _mfma("f32_16x16x16bf16_1k", 16, 16, "bfloat16", "float32", 0x90a),
    _mfma("i32_32x32x8i8", 32, 8, "int8", "int32", 0x908, packed="int"),
    _mfma("i32_16x16x16i8", 16, 16, "int8", "int32", 0x908, packed="int"),
    # float32 × float32 → float32, exact (no tf32 rounding): one A and one B element per lane
    _mfma("f32_32x32x2f32", 32, 2, "float32", "float32", 0x908, packed="float"),
    _mfma("f32_16x16x4f32", 16, 4, "float32", "float32", 0x908, packed="float"),
)

# name → the last arch (gfx number) that has it: CDNA3 dropped the k = 8/16 int8 MFMAs.
LAST_ARCH = {"mfma_i32_32x32x8i8": 0x90a, "mfma_i32_16x16x16i8": 0x90a}


def supports(inst: Instruction, arch_number: int) -> bool:
    """Does the gfx arch with this number (hex, gfx90a → 0x90a) have ``inst``? Only CDNA archs
    have MFMA; see :data:`LAST_ARCH` for the int8 entries CDNA3 lacks."""
    return (arch_number in _CDNA and arch_number >= inst.min_arch
            and arch_number <= LAST_ARCH.get(inst.name, arch_number))
