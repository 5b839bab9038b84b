"""Vector loads and stores for ``vectorize`` on CUDA and HIP: ``float4``/``float2`` accesses
where their alignment is proven.

Why a printer subclass: CUDA/HIP vector types (``float4``, ``int2``, …) have no arithmetic, so a
vectorized loop stays scalar code, but its memory accesses can be one 8- or 16-byte instruction
(``LDG.E.128``/``STG.E.128`` on NVIDIA, ``global_load_dwordx4`` on AMD) instead of N 4-byte
ones. A ``for (l = 0; l < N; ++l)`` loop of :data:`LANES` lanes whose body is straight-line
code (declarations and stores, under at most one guard) is printed as N copies of its body with
the lane a constant (the lane's locals renamed per copy), in lane order, where

- a load of 32-bit elements (:data:`TYPES`) whose index steps by 1 per lane and whose lane-0
  element index is **proven** a multiple of N (:func:`vortex.codegen.lanes.multiple_of`: every
  term of its affine form, with the Dims a ``specialize`` on ``D % m == 0`` around the loop
  makes multiples of ``m``) becomes one vector load into a local, before its first use in lane
  0, and lane ``i`` reads its component ``.x/.y/.z/.w``;
- a store of that kind becomes a scalar local per lane and one vector store of
  ``make_float4(...)`` after the last lane;
- a guard whose truth is proven the same in every lane (``x < W`` with ``x = 4 k + l`` and
  ``W % 4 == 0``: :func:`vortex.codegen.lanes.uniform_guard`) is tested once around the copies;
  a guard that differs between lanes (the edge of a domain that is not a multiple of N) keeps
  the whole loop scalar.

A loop where no access qualifies is printed exactly as :class:`CPrinter` prints it. Vector
accesses are only made to buffers that start aligned: the kernel's buffer arguments (device
allocations are 256-byte aligned: ``cuMemAlloc``, ``hipMalloc``) and shared arrays declared 16-
byte aligned (:mod:`vortex.codegen.shared_memory`); never to a register array. The order of
memory effects is kept: a buffer that the loop body stores to is not vector-loaded (the load
would move before earlier lanes' stores), and a vector-stored buffer has that one store and
no load in the body (the store moves after the later lanes).

Source: CUDA C++ Programming Guide, "Device Memory Accesses" (naturally aligned 8- and 16-byte
accesses compile to single instructions; vector types ``float2``/``float4`` and
``reinterpret_cast`` of an aligned pointer); Halide ``VectorizeLoops.cpp`` and the
``ModulusRemainder`` alignment facts; CUTLASS ``AlignedArray`` accesses.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..algorithm.expr import Const
from ..algorithm.walk import find, rebuild
from ..lower.ir import (Allocate, Assign, Block, BufferLoad, Comment, Declare, For, ForKind, If,
                        Kernel, MemorySpace, Ref, Store, local_name)
from ..lower.walk import map_stmt, stmt_exprs, stmts
from . import bf16
from .c_printer import CPrinter
from .lanes import (LANE, NotVectorizable, affine, at_lane0, dim_multiples, inline_definitions,
                    lane_step, multiple_of, uniform_guard)

LANES = (2, 4)                                             # 8 and 16 bytes of 32-bit elements
TYPES = {"float32": "float", "int32": "int", "uint32": "uint"}   # element → vector type stem
COMPONENTS = "xyzw"


@dataclass(frozen=True)
class VectorSpelling:
    """How the dialect moves ``{t}`` (``float4``) at element pointer ``{p}``: ``load`` (a
    value), ``store`` of ``{v}``, ``make`` from ``{args}``."""

    load: str = "(*reinterpret_cast<const {t}*>({p}))"
    store: str = "*reinterpret_cast<{t}*>({p}) = {v};"
    make: str = "make_{t}({args})"


SPELLING = VectorSpelling()   # CUDA and HIP (hip_runtime.h defines the same vector types)


class VectorMemoryPrinter(CPrinter):
    """CPrinter with vector loads/stores in vectorized loops where alignment is proven (module
    docstring). While printing it keeps what the proofs need at each point: the affine forms of
    the integer locals in scope (:attr:`_forms`) and the Dim multiples of the enclosing
    ``specialize`` tests (:attr:`_multiples`)."""

    def kernel(self, k: Kernel, entry: str | None = None) -> str:
        self._fixed = {s.name for s in stmts(k.body) if isinstance(s, Assign)}   # no form
        self._forms, self._multiples = {}, {}
        self._components = None                 # lane-substituted load → its vector component
        self._aligned = {p.name for p in k.params if p.is_buffer}
        return super().kernel(k, entry)         # (plans shared memory, then prints the body)

    def _dynamic_shared(self, k: Kernel) -> list[str]:
        out = super()._dynamic_shared(k)
        self._aligned |= {a.name for a in stmts(k.body) if isinstance(a, Allocate) and
                          a.memory is MemorySpace.SHARED and (self._shared.dynamic or
                                                              self._shared.buffer(a.name).aligned)}
        return out

    # --- what is known where -------------------------------------------------------------------
    def stmt(self, s, ind: str = "  ") -> list[str]:
        if not isinstance(s, (For, If)):
            return super().stmt(s, ind)
        saved = dict(self._forms), dict(self._multiples)   # a C scope: its locals end here
        try:
            return super().stmt(s, ind)
        finally:
            self._forms, self._multiples = saved

    def _declare(self, s: Declare, ind):
        if s.dtype.is_int and s.value is not None and s.name not in self._fixed:
            form = affine(s.value, self._forms)
            if form is not None:
                self._forms[s.name] = form
        return super()._declare(s, ind)

    def _if(self, s: If, ind):
        out = [f"{ind}if ({self.expr(s.cond)}) {{"]
        outer = dict(self._multiples)
        self._multiples.update(dim_multiples(s.cond))
        out += self.stmt(s.then, ind + "  ")
        self._multiples = outer
        if s.otherwise is not None:
            out += [f"{ind}}} else {{", *self.stmt(s.otherwise, ind + "  ")]
        return out + [f"{ind}}}"]

    def expr(self, e) -> str:
        if self._components is not None and isinstance(e, BufferLoad):
            text = self._components.get(e.key)
            if text is not None:
                return text
        return super().expr(e)

    # --- vectorized loops ----------------------------------------------------------------------
    def _for(self, s: For, ind):
        n = s.extent.value if isinstance(s.extent, Const) else None
        if s.kind is ForKind.VECTORIZED and n in LANES and isinstance(s.min, Const) and \
                s.min.value == 0 and not bf16.scalar_only(self, s.body):
            try:
                return _LaneCopies(self, s, n).print(ind)
            except NotVectorizable:
                pass
        return super()._for(s, ind)


@dataclass
class _Access:
    """One vector access of the loop body: the IR ``node`` (BufferLoad or Store), its vector
    local ``name`` (a load) or per-lane value names (a store), and its C vector type."""

    node: object
    name: str
    vtype: str


class _LaneCopies:
    """One vectorized loop printed as lane copies with vector accesses (module docstring)."""

    def __init__(self, printer: VectorMemoryPrinter, loop: For, n: int):
        self.p, self.loop, self.n = printer, loop, n
        self.forms = {**printer._forms, loop.var: LANE}   # affine forms, the body's added
        self.values = {}                                  # the body's locals → definitions

    def print(self, ind: str) -> list[str]:
        items, guard = self._straight_line(self.loop.body)
        loads, stores = self._vector_accesses(items, guard)
        if not loads and not stores:
            raise NotVectorizable("no access is dense and aligned")
        head = ""
        if guard is not None:
            cond = inline_definitions(guard, self.values)
            if not uniform_guard(cond, self.loop.var, self.forms, self.n, self.p._multiples):
                raise NotVectorizable("the guard differs between lanes (an edge)")
            head = self.p.expr(self._at_lane(cond, 0))
        lines = self._copies(items, loads, stores, ind + "  ")
        open_ = f"{ind}if ({head}) {{" if head else f"{ind}{{"
        return [open_, *lines, f"{ind}}}"]

    # --- analysis ------------------------------------------------------------------------------
    def _straight_line(self, body):
        """(statements of the body in order, the guard's condition or None): declarations and
        stores, under at most one ``If`` without ``else`` that holds every store."""
        items, guard, stores_outside = [], None, False

        def walk(s, guarded):
            nonlocal guard, stores_outside
            if isinstance(s, Block):
                for x in s.stmts:
                    walk(x, guarded)
            elif isinstance(s, If) and s.otherwise is None and guard is None:
                guard = s.cond
                walk(s.then, True)
            elif isinstance(s, Declare) and s.value is not None or isinstance(s, Comment):
                items.append(s)
            elif isinstance(s, Store):
                stores_outside |= not guarded
                items.append(s)
            else:
                raise NotVectorizable(type(s).__name__)
        walk(body, False)
        if guard is not None and stores_outside:
            raise NotVectorizable("a store outside the guard")
        return items, guard

    def _vector_accesses(self, items, guard):
        """(loads, stores): the dense aligned accesses of ``items`` that may move (module
        docstring), as {load's structural key: _Access} and {id of the Store: _Access}; the
        body's local forms are recorded on the way."""
        stored, loaded = {}, set()
        for s in items:
            if isinstance(s, Store):
                stored[s.buffer] = stored.get(s.buffer, 0) + 1
        exprs = [e for s in items for e in stmt_exprs(s)] + ([guard] if guard is not None else [])
        for e in exprs:
            loaded |= {x.buffer for x in find(e, lambda x: isinstance(x, BufferLoad))}
        loads, stores = {}, {}
        for s in items:
            for e in stmt_exprs(s):
                for x in find(e, lambda x: isinstance(x, BufferLoad)):
                    if x.key not in loads and x.buffer not in stored and \
                            self._aligned(x, x.dtype):
                        loads[x.key] = _Access(x, local_name(self.loop.var, "v", len(loads)),
                                           self._vtype(x.dtype))
            if isinstance(s, Declare):
                self.values[s.name] = s.value
                form = affine(s.value, self.forms) if s.dtype.is_int else None
                self.forms[s.name] = form         # None: varies with the lane in no known way
            if isinstance(s, Store) and stored[s.buffer] == 1 and s.buffer not in loaded and \
                    self._aligned(s, s.value.dtype):
                stores[id(s)] = _Access(s, local_name(self.loop.var, "s", len(stores)),
                                    self._vtype(s.value.dtype))
        return loads, stores

    def _aligned(self, access, dtype) -> bool:
        """Is ``access`` (a BufferLoad or Store) dense in the lane, of a 32-bit type, to an
        aligned buffer, with its lane-0 element index a proven multiple of N?"""
        if dtype.name not in TYPES or access.buffer not in self.p._aligned:
            return False
        form = affine(access.index, self.forms)
        return lane_step(form) == "dense" and multiple_of(at_lane0(form), self.n,
                                                          self.p._multiples)

    def _vtype(self, dtype) -> str:
        return f"{TYPES[dtype.name]}{self.n}"

    # --- printing ------------------------------------------------------------------------------
    def _at_lane(self, e, i: int):
        """``e`` in lane ``i``'s copy: the lane a constant, the body's locals renamed."""
        lane = Const.make(i, self.loop.extent.dtype)

        def fn(x):
            if isinstance(x, Ref) and x.name == self.loop.var:
                return lane
            if isinstance(x, Ref) and x.name in self.values:
                return Ref(_renamed(x.name, i), x.dtype)
            return None
        return rebuild(e, fn)

    def _copy(self, s, i: int):
        def rename(x):
            return Declare(_renamed(x.name, i), x.dtype, x.value) if isinstance(x, Declare) \
                else x
        return map_stmt(s, rename, lambda e: self._at_lane(e, i))

    def _copies(self, items, loads, stores, ind) -> list[str]:
        p, out, issued = self.p, [], set()
        for i in range(self.n):
            p._components = {self._at_lane(a.node, i).key: f"{p.ident(a.name)}.{COMPONENTS[i]}"
                             for a in loads.values()}
            try:
                for s in items:
                    out += self._issue(s, loads, issued, ind) if i == 0 else []
                    if id(s) in stores:
                        name = local_name(stores[id(s)].name, i)
                        out.append(f"{ind}{p.ctype(s.value.dtype)} {p.ident(name)} = "
                                   f"{p.expr(self._at_lane(s.value, i))};")
                    else:
                        out += p.stmt(self._copy(s, i), ind)
            finally:
                p._components = None
        for s in items:
            a = stores.get(id(s))
            if a is None:
                continue
            args = ", ".join(p.ident(local_name(a.name, i)) for i in range(self.n))
            ptr = f"{p.ident(s.buffer)} + {p.expr(self._at_lane(s.index, 0))}"
            out.append(ind + SPELLING.store.format(t=a.vtype, p=ptr, v=SPELLING.make.format(
                t=a.vtype, args=args)))
        return out

    def _issue(self, s, loads, issued, ind) -> list[str]:
        """The vector loads statement ``s`` reads first (printed before lane 0's copy of it)."""
        out = []
        for e in stmt_exprs(s):
            for x in find(e, lambda x: isinstance(x, BufferLoad)):
                a = loads.get(x.key)
                if a is None or x.key in issued:
                    continue
                issued.add(x.key)
                saved, self.p._components = self.p._components, None
                ptr = f"{self.p.ident(x.buffer)} + {self.p.expr(self._at_lane(x.index, 0))}"
                self.p._components = saved
                out.append(f"{ind}{a.vtype} {self.p.ident(a.name)} = "
                           f"{SPELLING.load.format(t=a.vtype, p=ptr)};")
        return out


def _renamed(name: str, lane: int) -> str:
    """Lane ``lane``'s copy of the loop body's local ``name``."""
    return local_name(name, "l", lane)
