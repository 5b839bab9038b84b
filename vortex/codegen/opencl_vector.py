"""Native vector code for ``vectorize`` on OpenCL C: the lane loop becomes one ``floatN`` body.

Why a printer subclass: OpenCL C has vector types with elementwise arithmetic, comparisons,
``?:``, ``min``/``fmin``/math overloads, ``vloadN``/``vstoreN`` and ``all()``; CUDA and HIP do
not (their ``float4`` has no operators), so there the lane loop stays scalar code with only its
memory accesses vectorized (:mod:`~vortex.codegen.vector_memory`). The index algebra (dense,
uniform, affine forms) is shared: :mod:`~vortex.codegen.lanes`.

A vectorized loop ``for (l = 0; l < N; ++l)`` (N in 2, 3, 4, 8, 16) whose body is straight-line
code (declarations, a guarded store) prints as: every lane-dependent value becomes an N-vector;
a load/store whose index steps by 1 per lane becomes one dense vector access (``vloadN``/
``vstoreN`` or, on Clang, its inlined equivalent), other lane-varying indices gather/scatter
lane by lane; a lane-dependent guard becomes ``if (all(cond))`` around the vector body with the
scalar loop as the fallback (the edge of the image). A serial loop inside (an inline
reduction's RDom loop) whose bounds are the same in every lane stays one loop over vector
values: its accumulator is an N-vector, and a lane-dependent ``if`` in it that only assigns
accumulators (an argmax's "better" test) becomes lane selects. Anything else (a loop whose
bounds vary with the lane, integer floor division by a lane value, …) falls back to the scalar
loop. ``all``/``any`` and dense accesses
are printed in forms PoCL keeps inline (:mod:`~vortex.codegen.opencl_access`).

Vector locals: a local array of N elements (N in WIDTHS) read and written only at the lane of
N-lane vectorized loops or at constant elements — what the ``registers`` lowering pass makes of
a register micro-tile (:func:`vortex.lower.registers.lane_arrays`) — is one ``floatN``
variable: ``acc`` in a vector body, ``acc.s3`` at a constant element; a scalar fallback of a
lane loop that reads one is printed once per lane with the lane a constant. So an accumulator
stays in vector registers.

A lane-dependent bool is an ``intN`` mask, each lane 0 or -1 (all bits set), as OpenCL's vector
relational operators, ``all()`` and ``?:`` mean it: a comparison of 8-, 16- or 64-bit elements
(whose mask has their size) is converted to ``intN``; a scalar bool is broadcast as ``-(int)b``;
a mask becomes a number (a cast, a stored bool) as ``-mask`` (1 for true, as in C).

Source: OpenCL C 1.2 specification §6.1.2 (vector data types), §6.12.7 (vloadn/vstoren).
"""
from __future__ import annotations

from ..algorithm.expr import BinaryOp, BinOp, Cast, Const, Select, UnOp
from ..algorithm.walk import find, rebuild
from ..lower.ir import (Allocate, Assign, Block, BufferLoad, Declare, For, ForKind, If, Kernel,
                        MemorySpace, Ref, Store, local_name)
from ..lower.registers import lane_arrays
from ..lower.walk import map_stmt, stmt_exprs, stmts
from . import bf16
from .c_printer import CPrinter
from .intrinsics import HELPERS as INTRINSIC_HELPERS
from .lanes import LANE, NotVectorizable, affine, inline_definitions, lane_step
from .opencl_access import dense_access, mask_test
from .opencl_vector_loops import MASKS, SerialLoops, varying

WIDTHS = (2, 3, 4, 8, 16)
_ROUND_HALF = ("{q} float vx_round_half(float x) {{\n  ushort h;\n"
               "  vstore_half_rte(x, 0, (__private half*)&h);\n"
               "  return vload_half(0, (__private const half*)&h);\n}}\n")
_MASK_OPS = (BinaryOp.AND, BinaryOp.OR, BinaryOp.XOR, BinaryOp.EQ, BinaryOp.NE)   # on masks


class OpenCLPrinter(CPrinter):
    """CPrinter plus native vector code for vectorized loops (see module docstring), and
    float16 *storage* without cl_khr_fp16: half buffers are read with ``vload_half`` and
    written with ``vstore_half`` (as float), so only half *arithmetic* needs the extension.
    Source: OpenCL C 1.2 §6.1.1.1 and §6.12.7 (the half data type, vload_half)."""

    _vectors: dict = {}   # name → Allocate of the vector locals of the kernel being printed
    _spaces: dict = {}    # name → address-space qualifier of the kernel's arrays

    def kernel(self, k: Kernel, entry: str | None = None) -> str:
        self._vectors = {n: a for n, a in lane_arrays(k).items()
                         if a.size in WIDTHS and not a.dtype.is_bool
                         and a.dtype.name not in ("float16", "bfloat16")}
        self._spaces = {a.name: self.d.shared_qual if a.memory is MemorySpace.SHARED else ""
                        for a in stmts(k.body) if isinstance(a, Allocate)}
        return super().kernel(k, entry)

    def dense(self, buffer: str, dtype, n: int):
        """(load, store) formats moving ``n`` elements of ``buffer`` (opencl_access.py)."""
        return dense_access(self.helpers, self.d.ctype(dtype, storage=True), n, dtype.itemsize,
                            self._spaces.get(buffer, self.d.buffer_qual.strip()))

    def _allocate(self, s: Allocate, ind):
        if s.name in self._vectors:
            return [f"{ind}{self.ctype(s.dtype)}{s.size} {self.ident(s.name)};"]
        if s.dtype.name == "float16":   # no half variables without cl_khr_fp16: its bits
            qual = self._spaces.get(s.name, "")
            return [f"{ind}{qual + ' ' if qual else ''}ushort {self.ident(s.name)}[{s.size}];"]
        return super()._allocate(s, ind)

    def _cast(self, e: Cast) -> str:
        """A float32 value rounded to float16 and back (an mma operand of the input type,
        computed in float32: attention's probabilities) is ``vx_round_half``: vstore_half_rte
        into a ushort and vload_half, no half variable, so no cl_khr_fp16."""
        if _round_half(e):
            self.helpers["vx_round_half"] = _ROUND_HALF.format(q=self.d.helper_qual)
            return f"vx_round_half({self.expr(e.value.value)})"
        return super()._cast(e)

    def _half(self, buffer: str) -> str:
        """A pointer to half for ``buffer``: a global half buffer as it is, a local array (held
        as ushort bits) cast to its address space's ``half*``."""
        if buffer not in self._spaces:
            return self.ident(buffer)
        qual = self._spaces[buffer]
        return f"(({qual + ' ' if qual else ''}half*){self.ident(buffer)})"

    def _async_copy(self, s, ind):
        """float16 staging: element by element through vload_half/vstore_half (values are
        floats in between, exact), zero outside the guard."""
        if s.dtype.name != "float16":
            return super()._async_copy(s, ind)
        out = []
        for lane in range(s.lanes):
            si = self.expr(s.src_index + lane if lane else s.src_index)
            di = self.expr(s.dst_index + lane if lane else s.dst_index)
            value = f"vload_half({si}, {self._half(s.src)})"
            if s.cond is not None:
                value = f"(({self.expr(s.cond)}) ? {value} : 0.0f)"
            out.append(f"{ind}vstore_half({value}, {di}, {self._half(s.dst)});")
        return out

    def element(self, buffer: str, index) -> str:
        """Element ``index`` of the vector local ``buffer``: ``v.sK`` or ``v[i]``."""
        if isinstance(index, Const):
            return f"{self.ident(buffer)}.s{int(index.value):x}"
        return f"{self.ident(buffer)}[{self.expr(index)}]"

    def expr(self, e) -> str:
        if isinstance(e, BufferLoad) and e.buffer in self._vectors:
            return self.element(e.buffer, e.index)
        if isinstance(e, BufferLoad) and e.dtype.name == "float16":
            return f"vload_half({CPrinter.expr(self, e.index)}, {self._half(e.buffer)})"
        if isinstance(e, Cast) and e.dtype.name == "float32" and \
                isinstance(e.value, BufferLoad) and e.value.dtype.name == "float16":
            return self.expr(e.value)   # vload_half already gives a float
        return super().expr(e)

    def _store(self, s: Store, ind):
        if s.buffer in self._vectors:
            return [f"{ind}{self.element(s.buffer, s.index)} = {self.expr(s.value)};"]
        if s.value.dtype.name != "float16":
            return super()._store(s, ind)
        value = self.expr(s.value.value) if isinstance(s.value, Cast) and \
            s.value.value.dtype.name == "float32" else f"(float)({self.expr(s.value)})"
        return [f"{ind}vstore_half({value}, {self.expr(s.index)}, {self._half(s.buffer)});"]

    def _for(self, s: For, ind):
        n = s.extent.value if isinstance(s.extent, Const) else None
        if s.kind is ForKind.VECTORIZED and n in WIDTHS and _is_zero(s.min) and \
                not bf16.scalar_only(self, s.body):
            try:
                return _VectorBody(self, s.var, n).stmt(s.body, ind,
                                                        fallback=self._lanes(s, ind + "  "))
            except NotVectorizable:
                pass
        return self._lanes(s, ind)

    def _reads_vector(self, body) -> bool:
        """Does ``body`` read or write a vector local?"""
        def local(x):
            return isinstance(x, BufferLoad) and x.buffer in self._vectors
        return any(isinstance(x, Store) and x.buffer in self._vectors for x in stmts(body)) \
            or any(find(e, local) for e in stmt_exprs(body))

    def _lanes(self, s: For, ind):
        """The lane loop as scalar code: a loop, or — when its body reads a vector local —
        one braced copy per lane with the lane a constant (``acc.s3``, no variable subscript
        that would send the vector through memory)."""
        n = s.extent.value if isinstance(s.extent, Const) else None
        if n not in WIDTHS or not _is_zero(s.min) or not self._reads_vector(s.body):
            return super()._for(s, ind)
        out = []
        for i in range(n):
            lane = Const.make(i, s.extent.dtype)
            body = map_stmt(s.body, lambda x: x, lambda e: rebuild(
                e, lambda x: lane if isinstance(x, Ref) and x.name == s.var else None))
            out += [f"{ind}{{", *self.stmt(body, ind + "  "), f"{ind}}}"]
        return out


def _lane0(name: str) -> str:
    """The local holding lane 0's value of the vector local ``name``."""
    return local_name(name, "l0")


def _is_zero(e) -> bool:
    return isinstance(e, Const) and e.value == 0


class _VectorBody(SerialLoops):
    def __init__(self, printer: CPrinter, lane: str, n: int):
        self.p, self.lane, self.n = printer, lane, n
        self.vec = {lane}                          # names holding N-vectors
        self.defs = {lane: LANE}                    # affine forms of integer locals
        self.declared = set()                      # locals declared inside the lane loop
        self.values = {}                           # their definitions

    # --- statements --------------------------------------------------------------------------
    def stmt(self, s, ind, fallback):
        """The vector body; under a lane-dependent guard, the scalar loop is the else branch,
        run only where some lane passes the guard when every store is under it (a thread past
        the edge of the domain then skips the lane loop after one vector test)."""
        self._guard, self._in_guard, self._stores_outside = None, False, False
        self._depth = 0                                      # serial loops around the statement
        self.assigned = {x.name for x in stmts(s) if isinstance(x, Assign)}
        self.vec |= varying(s, self.lane, set(self.p._vectors)) & self.assigned
        lines = self._stmt(s, ind + "  ")
        if self._guard is None:
            return [f"{ind}{{", *lines, f"{ind}}}"]
        test = {op: mask_test(self.p.helpers, self.p.d.helper_qual, op, self.n)
                for op in ("all", "any")}
        other = "else" if self._stores_outside else f"else if ({test['any']}({self._guard}))"
        return [f"{ind}if ({test['all']}({self._guard})) {{", *lines, f"{ind}}} {other} {{",
                *fallback, f"{ind}}}"]

    def _stmt(self, s, ind):
        if isinstance(s, Block):
            return [line for x in s.stmts for line in self._stmt(x, ind)]
        if isinstance(s, Declare) and (s.value is None or s.name in self.assigned):
            return self._accumulator(s, ind)
        if isinstance(s, Assign):
            text, is_vec = self.expr(s.value)
            if is_vec and s.name not in self.vec:
                raise NotVectorizable(f"{s.name} varies with the lane only after its declaration")
            text = self._broadcast(text, s.value.dtype) if s.name in self.vec and not is_vec \
                else text
            return [f"{ind}{self.p.ident(s.name)} = {text};"]
        if isinstance(s, For):
            return self._serial(s, ind)
        if isinstance(s, Declare):
            self.declared.add(s.name)
            self.values[s.name] = s.value
            text, is_vec = self.expr(s.value)
            if s.dtype.is_int:
                form = affine(s.value, self.defs)
                if form is not None or is_vec:   # a lane-varying local of unknown form is
                    self.defs[s.name] = form     # no affine index (None), never uniform
            elif is_vec:
                self.defs[s.name] = None         # (read through a cast, it is not uniform)
            if is_vec:
                self.vec.add(s.name)
                out = [f"{ind}{self._vtype(s.dtype)} {self.p.ident(s.name)} = {text};"]
                if s.dtype.is_int:  # its lane-0 value, the base of dense vloadN/vstoreN
                    out.append(f"{ind}{self.p.ctype(s.dtype)} {self.p.ident(_lane0(s.name))} = "
                               f"{self.p.expr(self._at_lane0(s.value))};")
                return out
            return [f"{ind}{self.p.ctype(s.dtype)} {self.p.ident(s.name)} = {text};"]
        if isinstance(s, If) and s.otherwise is None and self._guard is None:
            cond, is_vec = self.expr(s.cond)
            if is_vec and self._depth:
                return self._blend(s, cond, ind)
            if is_vec:
                cond, _ = self.expr(inline_definitions(s.cond, self.values))
                self._guard, self._in_guard = cond, True
                lines = self._stmt(s.then, ind + "  ")
                self._in_guard = False
                return lines
            return [f"{ind}if ({cond}) {{", *self._stmt(s.then, ind + "  "), f"{ind}}}"]
        if isinstance(s, Store):
            self._stores_outside |= not self._in_guard
            return [f"{ind}{line}" for line in self._store(s)]
        raise NotVectorizable(type(s).__name__)

    def _store(self, s: Store):
        value, v_vec = self.expr(s.value)
        if s.buffer in self.p._vectors:
            return self._store_vector_local(s, value, v_vec)
        kind, base = self._index(s.index)
        if kind == "uniform":
            raise NotVectorizable("all lanes store to one location")
        t, buf = self.p.d.ctype(s.value.dtype, storage=True), self.p.ident(s.buffer)
        if v_vec and s.value.dtype.is_bool:   # a mask stores as 0/1 in its storage type
            value = f"convert_{t}{self.n}(-({value}))"
        if kind == "dense":
            value = value if v_vec else f"(({t}{self.n})({value}))"
            _, store = self.p.dense(s.buffer, s.value.dtype, self.n)
            return [store.format(v=value, p=f"{buf} + {base}")]
        idx, idx_vec = self.expr(s.index)
        if not idx_vec:
            raise NotVectorizable("all lanes store to one location")
        return [f"{buf}[({idx}).s{i:x}] = " + (f"({value}).s{i:x};" if v_vec else f"{value};")
                for i in range(self.n)]

    def _store_vector_local(self, s: Store, value: str, v_vec: bool):
        """All lanes into a vector local at the lane (``acc = value``), or a scalar into one
        of its elements."""
        if isinstance(s.index, Ref) and s.index.name == self.lane:
            value = value if v_vec else self._broadcast(value, s.value.dtype)
            return [f"{self.p.ident(s.buffer)} = {value};"]
        if v_vec or self.expr(s.index)[1]:
            raise NotVectorizable("lanes store into one element of a vector local")
        return [f"{self.p.element(s.buffer, s.index)} = {value};"]

    def _index(self, index):
        kind = lane_step(affine(index, self.defs))
        return kind, (self.expr_at_lane0(index)[0] if kind == "dense" else None)

    def expr_at_lane0(self, e):
        return self.p.expr(self._at_lane0(e)), False

    def _at_lane0(self, e):
        """``e`` at lane 0: the lane is 0 and vector locals read their ``_l0`` copies."""
        from ..algorithm.walk import rebuild

        def fn(n):
            if isinstance(n, Ref) and n.name == self.lane:
                return Const.make(0, n.dtype)
            if isinstance(n, Ref) and n.name in self.vec:
                return Ref(_lane0(n.name), n.dtype)
            return None
        return rebuild(e, fn)

    # --- expressions -------------------------------------------------------------------------
    def _vtype(self, t) -> str:
        return f"{self.p.ctype(t)}{self.n}" if not t.is_bool else f"int{self.n}"

    def _broadcast(self, text: str, t) -> str:
        """The scalar ``text`` of type ``t`` in every lane (a bool as a mask: true is -1)."""
        if t.is_bool:
            return f"(({self._vtype(t)})(-(int)({text})))"
        return f"(({self._vtype(t)})({text}))"

    def expr(self, e):
        """(OpenCL text, is it an N-vector)."""
        if isinstance(e, Ref):
            if e.name == self.lane:
                return f"(({self._vtype(e.dtype)})({', '.join(map(str, range(self.n)))}))", True
            return self.p.ident(e.name), e.name in self.vec
        if isinstance(e, BufferLoad) and e.buffer in self.p._vectors:
            if isinstance(e.index, Ref) and e.index.name == self.lane:
                return self.p.ident(e.buffer), True
            if self.expr(e.index)[1]:
                raise NotVectorizable("a lane-varying element of a vector local")
            return self.p.expr(e), False
        if isinstance(e, BufferLoad):
            kind, base = self._index(e.index)
            if kind == "uniform":
                return self.p.expr(e), False
            if e.dtype.is_bool or e.dtype.name == "float16":
                raise NotVectorizable("vector load of bool/half")
            buf = self.p.ident(e.buffer)
            if kind == "dense":
                load, _ = self.p.dense(e.buffer, e.dtype, self.n)
                return load.format(p=f"{buf} + {base}"), True
            idx, idx_vec = self.expr(e.index)
            if not idx_vec:  # not affine but the same for every lane (e.g. an XOR swizzle)
                return self.p.expr(e), False
            lanes = ", ".join(f"{buf}[({idx}).s{i:x}]" for i in range(self.n))
            return f"(({self._vtype(e.dtype)})({lanes}))", True
        if isinstance(e, BinOp):
            (a, va), (b, vb) = self.expr(e.a), self.expr(e.b)
            if not (va or vb):
                return self.p.expr(e), False
            if e.op in (BinaryOp.FLOORDIV, BinaryOp.MOD, BinaryOp.POW, BinaryOp.SHL, BinaryOp.SHR):
                raise NotVectorizable(e.op.name)
            t = e.a.dtype
            if t.is_bool and e.op not in _MASK_OPS:
                raise NotVectorizable(f"{e.op.name} of bools")   # -1 < 0: masks do not order
            a = a if va else self._broadcast(a, t)
            b = b if vb else self._broadcast(b, t)
            text = self._vector_binop(e, a, b)
            if e.dtype.is_bool and not t.is_bool and t.bits != 32:   # char4 < → int4 mask
                text = f"convert_int{self.n}({text})"
            return text, True
        if isinstance(e, (UnOp, Select, Cast)) or hasattr(e, "args"):
            return self._other(e)
        return self.p.expr(e), False

    def _vector_binop(self, e, a, b):
        from .c_printer import _C_OPS
        t = e.a.dtype
        if e.op in (BinaryOp.MIN, BinaryOp.MAX):
            fn = ("fmin" if e.op is BinaryOp.MIN else "fmax") if t.is_float else e.op.symbol
            return f"{fn}({a}, {b})"
        if t.is_bool and e.op in (BinaryOp.AND, BinaryOp.OR):
            return f"({a} {'&&' if e.op is BinaryOp.AND else '||'} {b})"
        return f"({a} {_C_OPS[e.op]} {b})"

    def _other(self, e):
        if _round_half(e):          # printed whole (vx_round_half), never its half operand
            if self.expr(e.value.value)[1]:
                raise NotVectorizable("vx_round_half is a scalar helper function")
            return self.p.expr(e), False
        kids = [self.expr(c) for c in _children(e)]
        if not any(v for _, v in kids):
            return self.p.expr(e), False
        if isinstance(e, Cast):
            if e.dtype.is_bool:
                raise NotVectorizable("cast to bool")
            value = f"(-({kids[0][0]}))" if e.value.dtype.is_bool else kids[0][0]   # true is 1
            return f"convert_{self._vtype(e.dtype)}({value})", True
        if isinstance(e, Select):
            (c, vc), (a, va), (b, vb) = kids
            if e.branch_free and (not vc or e.dtype.is_bool):   # blended per lane (blend.py)
                raise NotVectorizable("a branch-free select without a vector mask")
            a = a if va else self._broadcast(a, e.dtype)
            b = b if vb else self._broadcast(b, e.dtype)
            if vc:  # a vector ?: needs a mask of the result's element size (float4 < → int4)
                bits = 32 if e.dtype.is_bool else e.dtype.bits
                c = f"convert_{MASKS[bits]}{self.n}({c})"
            if e.branch_free:   # OpenCL's select: a per-lane blend on the mask's top bit
                return f"select({b}, {a}, {c})", True
            return f"({c} ? {a} : {b})", True
        if isinstance(e, UnOp):
            if e.op.name != "NEG" or e.dtype.kind.value == "i":   # signed: wraps (CPrinter)
                raise NotVectorizable(e.op.name)
            return f"(-{kids[0][0]})", True
        if e.fn in INTRINSIC_HELPERS:
            raise NotVectorizable(f"{e.fn.value} is a scalar helper function")
        args = [t if v else self._broadcast(t, e.dtype) for t, v in kids]
        return self.p._math(e.fn.value, e.dtype, *args), True


def _round_half(e) -> bool:
    """Is ``e`` float32(float16(x)) of a float32 ``x`` (printed as vx_round_half)?"""
    return isinstance(e, Cast) and e.dtype.name == "float32" and isinstance(e.value, Cast) \
        and e.value.dtype.name == "float16" and e.value.value.dtype.name == "float32"


def _children(e):
    from ..algorithm.walk import children
    return children(e)
