"""One C printer for OpenCL C, CUDA C++ and HIP C++; target differences come from a Dialect.

Integer ``//`` and ``%`` print as small helper functions with Python's floor semantics (and
x // 0 == x % 0 == 0, as the reference); shift counts are masked to the bit width; 8- and 16-bit
integer results are cast back to their type (C's integer promotion would not wrap); casts are
explicit; float math is called with the precision-specific names of the dialect. Every name of
the IR is printed through a :class:`~vortex.codegen.names.Namer` (C-safe, collision-free).
"""
from __future__ import annotations

import numpy as np

from ..algorithm.dtypes import bfloat16, unsigned
from ..algorithm.expr import (BinaryOp, BinOp, Call, Cast, Const, Dim, Param, Select, UnaryOp,
                              UnOp, Var)
from ..lower.check import InvariantError
from ..lower.walk import stmts
from ..lower.ir import (Allocate, Assign, AsyncCommit, AsyncCopy, AsyncWait, Barrier, Block,
                        BufferLoad, Comment, Declare, For, ForKind, GpuAxis, GpuIndex, If, Kernel,
                        MemorySpace, Ref, Store, AtomicStore)
from ..lower.ir import FragmentLoad, MmaTile, ShuffleXor, ThreadReduce
from ..lower.thread_reduce import expand
from . import bf16
from .atomics import atomic_lines
from .blend import blend
from .mma_print import fragment_load_lines, mma_lines
from .dialect import Dialect
from .names import Namer, entry_names
from . import shared_memory
from .intrinsics import HELPERS as INTRINSIC_HELPERS
from .intrinsics import helper_name
from .int_helpers import helper_source as int_helper_source

_C_OPS = {BinaryOp.ADD: "+", BinaryOp.SUB: "-", BinaryOp.MUL: "*", BinaryOp.DIV: "/",
          BinaryOp.AND: "&", BinaryOp.OR: "|", BinaryOp.XOR: "^", BinaryOp.EQ: "==",
          BinaryOp.NE: "!=", BinaryOp.LT: "<", BinaryOp.LE: "<=", BinaryOp.GT: ">",
          BinaryOp.GE: ">=", BinaryOp.SHL: "<<", BinaryOp.SHR: ">>"}
_BOOL_OPS = {BinaryOp.AND: "&&", BinaryOp.OR: "||", BinaryOp.XOR: "!="}
# Expressions C evaluates in (at least) int: an 8/16-bit result is cast back to its type, so
# it wraps as in the reference and overloads such as max(uchar, uchar) stay unambiguous.
_PROMOTED = (BinOp, UnOp, Select)


# (op, signed) -> body with Python's floor semantics, x // 0 == x % 0 == 0. A signed divisor of -1
# is answered before C's ``/`` and ``%`` (MIN / -1 overflows: undefined in C, a trap on some
# hardware): x // -1 is the wrapping negation (MIN // -1 == MIN, as numpy), x % -1 == 0.
_HELPER_BODIES = {
    ("fdiv", False): "return b == 0 ? ({t})0 : ({t})(a / b);",
    ("fmod", False): "return b == 0 ? ({t})0 : ({t})(a % b);",
    ("fdiv", True): "if (b == 0) return 0; if (b == -1) return ({t})(0 - ({u})a); "
                    "{t} r = ({t})(a / b); "
                    "return (r * b != a && ((a < 0) != (b < 0))) ? ({t})(r - 1) : r;",
    ("fmod", True): "if (b == 0 || b == -1) return 0; {t} r = ({t})(a % b); "
                    "return (r != 0 && ((r < 0) != (b < 0))) ? ({t})(r + b) : r;",
}


def helper_source(d: Dialect, ctype: str, uctype: str, signed: bool, op: str) -> str:
    """Floor division (``op="fdiv"``) or modulo (``"fmod"``) for one integer C type ``ctype``
    (``uctype``: the unsigned type of its width)."""
    tag = ctype.replace(" ", "_")
    body = _HELPER_BODIES[(op, signed)].format(t=ctype, u=uctype)
    return f"{d.helper_qual} {ctype} vx_{op}_{tag}({ctype} a, {ctype} b) {{ {body} }}\n"


class CPrinter:
    """Prints loop-IR kernels in one dialect. ``helpers`` collects the integer helper
    functions the printed code needs (emitted once, before the kernels); ``names`` spells IR
    names as C identifiers (one Namer for every kernel of a source)."""

    def __init__(self, dialect: Dialect, names: Namer | None = None):
        self.d = dialect
        self.names = names or Namer()
        self.helpers: dict[str, str] = {}
        self.uses_half = False
        self._shared = None   # the SharedPlan of the kernel being printed
        self._expr = {Const: self._const, Var: self._name, Ref: self._name, Dim: self._name,
                      Param: self._name, BinOp: self._binop, UnOp: self._unop,
                      Select: self._select, Cast: self._cast, Call: self._call,
                      BufferLoad: self._load, GpuIndex: lambda e: self.d.index[e.axis],
                      ShuffleXor: lambda e: self.d.shuffle_xor.format(
                          v=self.expr(e.value), mask=e.mask, width=e.width)}
        self._stmt = {Block: self._block, For: self._for, If: self._if, Store: self._store,
                      AtomicStore: lambda s, ind: atomic_lines(self, s, ind),
                      Assign: self._assign, Declare: self._declare, Allocate: self._allocate,
                      Barrier: self._barrier,
                      ThreadReduce: lambda s, ind: self.stmt(expand(s, self.d.warp), ind),
                      Comment: lambda s, ind: [f"{ind}// {s.text}"],
                      AsyncCopy: self._async_copy,
                      MmaTile: lambda s, ind: mma_lines(self, s, ind),
                      FragmentLoad: lambda s, ind: fragment_load_lines(self, s, ind),
                      AsyncCommit: lambda s, ind: [ind + self.d.async_commit] if self.d.async_copy
                      else [],
                      AsyncWait: lambda s, ind: [f"{ind}{self.d.async_wait.format(n=s.pending)}"]
                      if self.d.async_copy else []}

    # --- expressions -------------------------------------------------------------------------
    def expr(self, e) -> str:
        if e.dtype.name == "float16":
            self.uses_half = True
        if e.dtype is bfloat16 and self.d.bf16_as_bits:
            return bf16.expr(self, e, lambda: self._expr[type(e)](e))
        text = self._expr[type(e)](e)
        if isinstance(e, _PROMOTED) and e.dtype.is_int and e.dtype.bits < 32:
            return f"(({self.ctype(e.dtype)}){text})"   # C computes in int: wrap back
        return text

    def ctype(self, t) -> str:
        return self.d.ctype(t)

    def ident(self, name: str) -> str:
        """The C identifier of IR name ``name``."""
        return self.names.c_name(name)

    def _name(self, e) -> str:
        return self.ident(e.name)

    def _const(self, e: Const) -> str:
        """A literal, parenthesized when negative: every printed expression is a primary
        expression, so no neighbour can merge with its sign (``-(-0.5f)`` is not ``--0.5f``)."""
        text = self._literal(e)
        return f"({text})" if text.startswith("-") else text

    def _literal(self, e: Const) -> str:
        t = e.dtype
        if t.is_bool:
            return "true" if e.value else "false"
        if t.is_float:
            v = float(e.value)
            if t.name in ("float16", "float32"):   # the value of the type, rounded once as
                with np.errstate(over="ignore"):   # numpy rounds it, not by the C parser
                    v = float(t.np.type(v))
            if v != v:
                return f"({self.d.inf.get(t.name, 'INFINITY')} - {self.d.inf.get(t.name, 'INFINITY')})"
            if v in (float("inf"), float("-inf")):
                return ("-" if v < 0 else "") + self.d.inf[t.name]
            # the shortest decimal that reads back as exactly this value (a float16 value is
            # a float32 one, and reaches its type by an exact cast)
            lit = repr(v) if t.name in ("float64", "bfloat16") else str(np.float32(v))
            return f"{lit}f" if t.name == "float32" else (
                lit if t.name == "float64" else f"(({self.ctype(t)})({lit}f))")
        v = int(e.value)
        if t.bits == 64:
            suffix = self.d.long_suffix[t.kind.value == "u"]
            return f"({v + 1}{suffix} - 1)" if v == -(2 ** 63) else f"{v}{suffix}"
        if t.name == "uint32":
            return f"{v}u"
        if t.name == "int32":
            return "(-2147483647 - 1)" if v == -(2 ** 31) else str(v)
        return f"(({self.ctype(t)}){v})"

    def _binop(self, e: BinOp) -> str:
        a, b = self.expr(e.a), self.expr(e.b)
        t = e.a.dtype
        if e.op in (BinaryOp.FLOORDIV, BinaryOp.MOD):
            if t.is_float:
                q = self._math("floor", t, f"{a} / {b}")
                return f"({q})" if e.op is BinaryOp.FLOORDIV else f"({a} - {b} * {q})"
            if t.kind.value == "u" and isinstance(e.b, Const) and e.b.value > 0:
                return f"({a} {'/' if e.op is BinaryOp.FLOORDIV else '%'} {b})"
            name = self.ctype(t)
            tag = name.replace(" ", "_")
            op = "fdiv" if e.op is BinaryOp.FLOORDIV else "fmod"
            self.helpers[f"{op} {name}"] = helper_source(self.d, name, self.ctype(unsigned(t)),
                                                         t.kind.value == "i", op)
            return f"vx_{op}_{tag}({a}, {b})"
        if e.op in (BinaryOp.MIN, BinaryOp.MAX):
            if t.is_float:
                return self._math("fmin" if e.op is BinaryOp.MIN else "fmax", t, a, b)
            return self._int_op('min' if e.op is BinaryOp.MIN else 'max', t, a, b)
        if e.op is BinaryOp.POW:
            return self._math("pow", t, a, b)
        if e.op in (BinaryOp.SHL, BinaryOp.SHR):
            return f"({a} {_C_OPS[e.op]} ({b} & {t.bits - 1}))"
        if t.is_bool and e.op in _BOOL_OPS:
            return f"({a} {_BOOL_OPS[e.op]} {b})"
        return f"({a} {_C_OPS[e.op]} {b})"

    def _unop(self, e: UnOp) -> str:
        """Negation and absolute value of a signed integer wrap as numpy's do (-MIN == MIN,
        abs(MIN) == MIN): C leaves signed overflow undefined, and a compiler that assumes
        ``abs(x) >= 0`` drops the sign test of a floor division after it (fuzz case
        20261206:882), so they are computed in the unsigned type and cast back."""
        a = self.expr(e.a)
        t = e.dtype
        wraps = t.kind.value == "i"
        if e.op is UnaryOp.NEG:
            return f"(({self.ctype(t)})(0 - ({self.ctype(unsigned(t))})({a})))" if wraps else \
                f"(-{a})"
        if e.op is UnaryOp.INVERT:
            return f"(!{a})" if t.is_bool else f"(~{a})"
        if t.is_float:
            return self._math("fabs", t, a)
        if not wraps:
            return a                  # unsigned: its own absolute value
        name, u = self.ctype(t), self.ctype(unsigned(t))
        fn = f"vx_abs_{name.replace(' ', '_')}"
        self.helpers[f"abs {name}"] = (f"{self.d.helper_qual} {name} {fn}({name} a) {{ return "
                                       f"({name})(a < 0 ? 0 - ({u})a : ({u})a); }}\n")
        return f"{fn}({a})"

    def _select(self, e: Select) -> str:
        c, a, b = self.expr(e.cond), self.expr(e.true_value), self.expr(e.false_value)
        return blend(self, e, c, a, b) if e.branch_free else f"({c} ? {a} : {b})"

    def _cast(self, e: Cast) -> str:
        v = self.expr(e.value)
        if e.dtype.is_bool:
            return f"({v} != 0)"
        return f"(({self.ctype(e.dtype)})({v}))"

    def _call(self, e: Call) -> str:
        args = [self.expr(a) for a in e.args]
        body = INTRINSIC_HELPERS.get(e.fn)
        if body is not None:   # no library function: a helper, emitted once (intrinsics.py)
            name = helper_name(e.fn)
            to_bits, from_bits = self.d.float_bits["float32"]
            self.helpers[name] = body.format(q=self.d.helper_qual, u=self.ctype(e.dtype), name=name,
                                             bits=to_bits.format(v="x"),
                                             value=from_bits.format(v="b"))
            return f"{name}({', '.join(args)})"
        return self._int_op(e.fn.value, e.dtype, *args) if e.dtype.is_int else \
            self._math(e.fn.value, e.dtype, *args)

    def _int_op(self, name: str, t, *args) -> str:
        """Integer ``min``/``max``/``mul_hi``: the dialect's helper function where its table
        has one (codegen/int_helpers.py, emitted once), else the library call."""
        helper = self.d.int_helpers.get((name, t.name))
        if helper is None:
            return self._math(name, t, *args)
        self.helpers[helper] = int_helper_source(self, name, t, helper)
        return f"{helper}({', '.join(args)})"

    def _math(self, name: str, t, *args) -> str:
        if t.name in ("float16", "bfloat16") and self.d.half_via_float:
            inner = ", ".join(f"(float)({a})" for a in args)
            return f"(({self.ctype(t)})({self.d.math_f32.get(name, name)}({inner})))"
        table = self.d.math_f64 if t.name == "float64" else self.d.math_f32
        name = self.d.math_int.get((name, t.name), name)   # integer intrinsics (mul_hi)
        return f"{table.get(name, name)}({', '.join(args)})"

    def _load(self, e: BufferLoad) -> str:
        v = f"{self.ident(e.buffer)}[{self.expr(e.index)}]"
        return f"({v} != 0)" if e.dtype.is_bool else v

    # --- statements --------------------------------------------------------------------------
    def stmt(self, s, ind: str = "  ") -> list[str]:
        return self._stmt[type(s)](s, ind)

    def _block(self, s: Block, ind):
        return [line for x in s.stmts for line in self.stmt(x, ind)]

    def _for(self, s: For, ind):
        if s.kind.is_gpu:
            raise InvariantError(f"a {s.kind.name} loop {s.var!r} reached the printer: the "
                                 "lowering's 'gpu offload' pass turns GPU loops into indices")
        lo, ext = self.expr(s.min), self.expr(s.extent)
        end = ext if lo == "0" else f"{lo} + {ext}"
        # A VECTORIZED loop (UNROLLED ones are gone from the IR) gets the dialect's unroll hint
        # when it is innermost: a hint on a loop around loops makes the device compiler unroll
        # the whole nest (hiprtc took minutes on an 8 × 32 × 3 × 4 nest: fuzz case 20261201:123).
        hint = s.kind is not ForKind.SERIAL and self.d.unroll and not any(
            isinstance(x, For) for x in stmts(s.body))
        head = [f"{ind}{self.d.unroll}"] if hint else []
        var = self.ident(s.var)
        return head + [f"{ind}for (int {var} = {lo}; {var} < {end}; ++{var}) {{",
                       *self.stmt(s.body, ind + "  "), f"{ind}}}"]

    def _if(self, s: If, ind):
        out = [f"{ind}if ({self.expr(s.cond)}) {{", *self.stmt(s.then, ind + "  ")]
        if s.otherwise is not None:
            out += [f"{ind}}} else {{", *self.stmt(s.otherwise, ind + "  ")]
        return out + [f"{ind}}}"]

    def _store(self, s: Store, ind):
        value = self.expr(s.value)
        if s.value.dtype is bfloat16 and self.d.bf16_as_bits:
            value = bf16.store_value(self, value)
        return [f"{ind}{self.ident(s.buffer)}[{self.expr(s.index)}] = {value};"]

    def _barrier(self, s: Barrier, ind):
        """A block barrier, or a producer/consumer named barrier where the dialect has one."""
        if not (s.named and self.d.named_barrier):
            return [ind + self.d.barrier]
        bar = self.d.named_barrier
        first, second = ("sync", "arrive") if s.producers_wait else ("arrive", "sync")
        tid = self.d.index[GpuAxis.THREAD_X]
        return [f"{ind}if ({tid} < {s.producers}) {bar.format(op=first, id=s.named, n=s.total)}",
                f"{ind}else {bar.format(op=second, id=s.named, n=s.total)}"]

    def _async_copy(self, s: AsyncCopy, ind):
        """A staged copy: ``cp.async`` (zero-filled when out of range: src-size 0) where the
        dialect has it, the destination is shared memory and the copy is not ``sync``; a
        guarded load and store otherwise, of
        ``s.lanes`` elements at once (16 bytes, aligned: the dialect's ``vector_copy``) when > 1."""
        di, si = self.expr(s.dst_index), self.expr(s.src_index)
        dst, src = self.ident(s.dst), self.ident(s.src)
        t = self.d.ctype(s.dtype, storage=True)
        size = f"sizeof({t})" if s.lanes == 1 else str(s.lanes * s.dtype.itemsize)
        if self.d.async_copy and s.dst_shared and not s.sync:
            if s.cond is None:
                return [f"{ind}__pipeline_memcpy_async(&{dst}[{di}], &{src}[{si}], {size});"]
            c = self.expr(s.cond)
            return [f"{ind}__pipeline_memcpy_async(&{dst}[{di}], &{src}[({c}) ? ({si}) : 0], "
                    f"{size}, ({c}) ? 0 : {size});"]
        if s.lanes > 1:
            vec = self.d.vector_copy
            value = vec.load.format(n=s.lanes, p=f"&{src}[{si}]")
            if s.cond is not None:
                value = f"({self.expr(s.cond)}) ? {value} : {vec.zero.format(n=s.lanes, t=t)}"
            return [f"{ind}{vec.store.format(n=s.lanes, p=f'&{dst}[{di}]', v=value)}"]
        value = f"{src}[{si}]" if s.cond is None else \
            f"({self.expr(s.cond)}) ? {src}[{si}] : ({t})0"
        return [f"{ind}{dst}[{di}] = {value};"]

    def _assign(self, s: Assign, ind):
        return [f"{ind}{self.ident(s.name)} = {self.expr(s.value)};"]

    def _declare(self, s: Declare, ind):
        init = "" if s.value is None else f" = {self.expr(s.value)}"
        return [f"{ind}{self.ctype(s.dtype)} {self.ident(s.name)}{init};"]

    def _allocate(self, s: Allocate, ind):
        """A constant-size array; a shared one of a kernel over the static cap is a typed
        pointer into the dynamic array at its offset (codegen/shared_memory.py)."""
        shared = s.memory is MemorySpace.SHARED
        t = self.d.ctype(s.dtype, storage=True)
        if shared and self._shared is not None and self._shared.dynamic:
            offset = self._shared.buffer(s.name).offset
            return [f"{ind}{t}* {self.d.restrict} {self.ident(s.name)} = "
                    f"({t}*)({shared_memory.DYNAMIC_NAME} + {offset});"]
        qual = f"{self.d.shared_qual} " if shared else ""
        aligned = shared and self._shared is not None and self._shared.buffer(s.name).aligned
        align = shared_memory.ALIGNED if aligned else ""
        return [f"{ind}{qual}{t} {self.ident(s.name)}[{s.size}]{align};"]

    def _dynamic_shared(self, k: Kernel) -> list[str]:
        """The kernel's one dynamic shared array, when its plan says so (else nothing)."""
        self._shared = shared_memory.plan(k, self.d.target)
        if not self._shared.dynamic:
            return []
        return ["  " + self.d.dynamic_shared.format(align=shared_memory.ALIGN,
                                                    name=shared_memory.DYNAMIC_NAME)]

    # --- kernels -----------------------------------------------------------------------------
    def kernel(self, k: Kernel, entry: str | None = None) -> str:
        """Kernel ``k`` as C text, named ``entry`` (default: its name spelled as C)."""
        params = []
        for p in k.params:
            if p.is_buffer:
                const = "" if p.writable else "const "
                params.append(f"{self.d.buffer_qual}{const}{self.d.ctype(p.dtype, storage=True)}"
                              f"* {self.d.restrict} {self.ident(p.name)}")
            else:
                params.append(f"const {self.d.ctype(p.dtype, storage=True)} {self.ident(p.name)}")
        body = self._dynamic_shared(k) + self.stmt(k.body)
        threads = k.block[0] * k.block[1] * k.block[2]
        bounds = self.d.launch_bounds.format(n=threads) if self.d.launch_bounds else ""
        entry = entry or entry_names([k.name])[0]
        sig = f"{self.d.kernel_prefix} {bounds}{entry}({', '.join(params)})"
        return "\n".join([sig + " {", *body, "}"]) + "\n"
