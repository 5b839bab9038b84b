"""Vector builtins that a CPU OpenCL compiler keeps inline: dense loads and stores, mask tests.

``vloadN(0, p)``/``vstoreN(v, 0, p)`` are the portable way to move N elements at element
alignment, but PoCL (3.0, x86-64) calls them as out-of-line library functions: every call
clobbers all vector registers, so a register micro-tile around a ``vload16`` of B was spilled
and reloaded at each k step (matmul 8×16 on one Zen 3 core: 20 GFLOP/s with ``vload16``, 38 with
the form below). Compilers built on Clang (PoCL, Intel, AMD ROCm, Apple) accept a vector type of
element alignment (``__attribute__((ext_vector_type(N), aligned(itemsize)))``): a dereference
of it is one unaligned vector load or store, inlined. Each access is printed as a macro that is
that dereference under ``__clang__`` and ``vloadN``/``vstoreN`` otherwise. Not for N = 3: a
3-element vector type occupies 4 elements (OpenCL C 1.2 §6.1.5), so only ``vload3``/``vstore3``
move exactly 3.

``all(m)``/``any(m)`` are library calls on PoCL too; a guarded lane loop tests its mask at every
iteration (the edge tiles of a matmul: twelve calls per k step), so masks are tested by small
``inline`` functions of the source: the most significant bits of the lanes ANDed (all) or ORed
(any) by halving the vector, as the builtins define them (§6.12.6).

Source: Clang's "Vectors and Extended Vectors" language extension (``ext_vector_type``);
OpenCL C 1.2 §6.12.7 (vloadn/vstoren), §6.12.6 (all/any).
"""
from __future__ import annotations

SPACES = {"__global": "global", "__local": "local", "": "private"}   # qualifier → name tag


def dense_access(helpers: dict, ctype: str, n: int, itemsize: int, space: str):
    """(load format with ``{p}``, store format with ``{v}`` and ``{p}``) moving ``n`` elements
    of OpenCL type ``ctype`` at pointer ``p`` in address ``space`` (a qualifier of
    :data:`SPACES`); the macros they use are added to ``helpers`` (name → source text)."""
    if n == 3:
        return "vload3(0, {p})", "vstore3({v}, 0, {p});"
    unaligned = f"vx_{ctype}{n}_u"
    helpers.setdefault(f"type {unaligned}", (
        f"#if defined(__clang__)\ntypedef {ctype} {unaligned} __attribute__((ext_vector_type({n}), "
        f"aligned({itemsize})));\n#endif\n"))
    load, store = (f"vx_v{op}{n}_{ctype}_{SPACES[space]}" for op in ("load", "store"))
    qual = f"{space} " if space else ""
    helpers.setdefault(f"access {load}", "\n".join((
        "#if defined(__clang__)",
        f"#define {load}(p) (*(const {qual}{unaligned}*)(p))",
        f"#define {store}(v, p) (*({qual}{unaligned}*)(p) = (v))",
        "#else",
        f"#define {load}(p) vload{n}(0, p)",
        f"#define {store}(v, p) vstore{n}(v, 0, p)",
        "#endif", "")))
    return f"{load}({{p}})", f"{store}({{v}}, {{p}});"


def mask_test(helpers: dict, qual: str, op: str, n: int) -> str:
    """The name of an inline function ``int f(intN m)``: 1 when the sign bit of every lane
    (``op="all"``) or of some lane (``"any"``) of mask ``m`` is set; its source (with the
    dialect's helper qualifier ``qual``) is added to ``helpers``."""
    name = f"vx_{op}{n}"
    if f"mask {name}" not in helpers:
        sym = "&" if op == "all" else "|"
        lines, v, width = [], "m", n
        if n == 3:
            result = f"(m.x {sym} m.y {sym} m.z) < 0"
        else:
            while width > 1:
                width //= 2
                lines.append(f"int{width if width > 1 else ''} h{width} = {v}.lo {sym} {v}.hi;")
                v = f"h{width}"
            result = f"{v} < 0"
        body = " ".join(lines + [f"return {result};"])
        helpers[f"mask {name}"] = f"{qual} int {name}(int{n} m) {{ {body} }}\n"
    return name
