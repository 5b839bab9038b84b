"""Printing an :class:`~vortex.lower.ir.MmaTile` (the ``mma`` directive) per target, from the
instruction tables of :mod:`vortex.mma`:

- **CUDA**: the A and B registers loaded by ``ldmatrix`` where the lowering planned one (the
  tile's ``a_load``/``b_load``: :mod:`vortex.lower.fragment_loads`), else the lane's fragment
  elements (the tile's ``a``/``b`` declarations) packed into 32-bit registers (element ``i`` in register ``i // per_reg``, low bits first: the
  contract of :mod:`vortex.mma.nvidia`) and one ``mma.sync`` inline-asm statement whose C and
  D are the accumulator elements;
- **HIP**: the elements as ``ext_vector_type`` vectors and one MFMA builtin call
  (:mod:`vortex.mma.amd`);
- **OpenCL**: the tile's ``emulation``, plain loops over the same addresses.

An instruction printed for a target whose tables do not have it is a vx.CompileError that
names the shapes that target has.
"""
from __future__ import annotations

from .. import errors
from ..algorithm.dtypes import as_dtype
from ..lower.check import InvariantError
from ..lower.ir import BufferLoad, Declare, FragmentLoad, MmaTile, local_name
from ..lower.walk import stmts
from ..mma import amd, instructions, nvidia
from ..target import Target

# How CUDA C reads the bits of one A/B element of each type as an unsigned int.
_BITS = {"float16": "(unsigned)__half_as_ushort({v})",
         "bfloat16": "(unsigned)__bfloat16_as_ushort({v})",
         "int8": "(unsigned)(unsigned char)({v})",
         "float32": "__float_as_uint({v})"}     # tf32: rounded by the lowering (round_tf32)
# How HIP C++ turns one element into the vector element type of vortex.mma.amd.VECTORS
# (a bfloat16 element is a float holding a bfloat16 value: codegen/bf16.py; its bits, exact).
_HIP_ELEMENT = {"float16": "__builtin_bit_cast(_Float16, __half_as_ushort({v}))",
                "bfloat16": "(short)vx_bf16_bits({v})",
                "int8": "(signed char)({v})", "float32": "{v}"}


def _instruction(s: MmaTile, target: Target):
    table = instructions(target.value)
    found = next((i for i in table if i.name == s.instruction), None)
    if found is None:
        shapes = ", ".join(sorted({f"{i.m}x{i.n}x{i.k} ({i.a})" for i in table})) or "none"
        raise errors.CompileError(
            f"the mma instruction {s.instruction} does not exist on {target.value}: schedule "
            f"the mma loops with one of its shapes ({shapes}) in this target's schedule")
    return found


def _acc(p, s: MmaTile, inst, e: int) -> str:
    return p.expr(BufferLoad(s.acc, s.offset + e, as_dtype(inst.acc)))


def _names(part, prefix: str, n: int) -> list:
    """The names of the ``n`` fragment elements declared in ``part`` (``mma.<prefix>.<e>``, as
    the lowering named them and the unroll pass renamed them), in element order."""
    stem = local_name("mma", prefix) + "."
    names = [d.name for d in stmts(part) if isinstance(d, Declare) and d.name.startswith(stem)]
    if len(names) != n:
        raise InvariantError(f"mma: {len(names)} {prefix} elements declared, {n} expected")
    return names


def _register(p, op: str, r: int) -> str:
    """The C name of register ``r`` of operand ``op`` loaded by a FragmentLoad."""
    return p.ident(local_name("ldm", op, str(r)))


def fragment_load_lines(p, s: FragmentLoad, ind: str) -> list:
    """CUDA: the operand's registers declared and loaded by one ``ldmatrix`` (only CUDA's
    MmaTile printer prints a FragmentLoad)."""
    regs = {f"r{r}": _register(p, s.operand, r) for r in range(s.count)}
    ldm = nvidia.LDMATRIX[s.count, s.trans]
    addr = f"(unsigned)__cvta_generic_to_shared(&{p.ident(s.buffer)}[{p.expr(s.index)}])"
    return [f"{ind}unsigned {', '.join(regs.values())};",
            f"{ind}{ldm.spelling.format(**regs, addr=addr)}"]


def _cuda(p, s: MmaTile, ind: str) -> list:
    inst = _instruction(s, Target.CUDA)
    inner = ind + "  "
    out = [f"{ind}{{"]
    args = {}
    for op, frag, dtype in (("a", inst.a_frag, inst.a), ("b", inst.b_frag, inst.b)):
        count = nvidia.registers(inst, op)
        load = getattr(s, f"{op}_load")
        if load is not None:
            out += p.stmt(load, inner)
            args.update({f"{op}{r}": _register(p, op, r) for r in range(count)})
            continue
        out += p.stmt(getattr(s, op), inner)
        names = [p.ident(n) for n in _names(getattr(s, op), op, frag.per_lane)]
        per_reg = frag.per_lane // count
        bits = 32 // per_reg
        for r in range(count):
            parts = [f"({_BITS[dtype].format(v=names[r * per_reg + x])} << {x * bits})"
                     for x in range(per_reg)]
            args[f"{op}{r}"] = " | ".join(parts)
    for e in range(inst.c_frag.per_lane):
        args[f"d{e}"] = args[f"c{e}"] = _acc(p, s, inst, e)
    return out + [f"{inner}{inst.spelling.format(**args)}", f"{ind}}}"]


def _hip(p, s: MmaTile, ind: str) -> list:
    inst = _instruction(s, Target.HIP)
    inner = ind + "  "
    out = [f"{ind}{{", *(inner + t for t in amd.typedefs(inst)), *p.stmt(s.a, inner),
           *p.stmt(s.b, inner)]
    vecs = {}
    for op, frag, dtype in (("a", inst.a_frag, inst.a), ("b", inst.b_frag, inst.b)):
        elems = ", ".join(_HIP_ELEMENT[dtype].format(v=p.ident(n))
                          for n in _names(getattr(s, op), op, frag.per_lane))
        name = p.ident(f"mma_{op}v")
        out.append(f"{inner}{amd.vector_type(dtype, frag.per_lane)} {name} = {{{elems}}};")
        vecs[op] = name
    per = inst.c_frag.per_lane
    accs = [_acc(p, s, inst, e) for e in range(per)]
    out.append(f"{inner}{amd.vector_type(inst.acc, per)} mma_cv = {{{', '.join(accs)}}};")
    out.append(f"{inner}mma_cv = {inst.spelling.format(a=vecs['a'], b=vecs['b'], c='mma_cv')};")
    out += [f"{inner}{a} = mma_cv[{e}];" for e, a in enumerate(accs)]
    return out + [f"{ind}}}"]


def _emulated(p, s: MmaTile, ind: str) -> list:
    return [f"{ind}{{", *p.stmt(s.emulation, ind + "  "), f"{ind}}}"]


PRINTERS = {Target.CUDA: _cuda, Target.HIP: _hip, Target.OPENCL: _emulated}


def mma_lines(p, s: MmaTile, ind: str) -> list:
    """The lines of ``s`` for the printer ``p``'s target."""
    return PRINTERS[p.d.target](p, s, ind)
