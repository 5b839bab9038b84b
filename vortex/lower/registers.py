"""The ``registers`` pass: a thread's local array whose every access is at a constant element,
or at ``c + lane`` of a vectorized loop, becomes scalar locals and lane-wide vectors — no
private array the device compiler has to keep in memory (the register micro-tile of a GEMM:
CUTLASS's "thread-level accumulator fragment", Halide's ``StorageFlattening`` of a register
``Func`` into scalars).

A per-thread array (``Allocate`` in ``MemorySpace.LOCAL``) is indexed by loop counters; after
``unroll`` the counters of unrolled loops are constants, so an accumulator micro-tile is read
and written at fixed elements. A device compiler keeps such an array in registers only if it
proves every index constant (NVRTC usually does; PoCL's LLVM kept an 8-wide ``vload8``/
``vstore8`` of a ``float C_acc[128]`` around every multiply-add in memory: 0.06× numpy).

Before (``s[C].unroll(yii).vectorize(xii, 8)``, a 2 × 8 micro-tile)::

    allocate C.acc: float32[16] in local
    for xii.t0 in [0, 8) vectorized:
      C.acc[8 + xii.t0] = 0.0
    for ko in [0, K) serial:
      for xii in [0, 8) vectorized:
        C.acc[8 + xii] = C.acc[8 + xii] + A[…] * B[…]
    …
    C.acc[3] = C.acc[3] * 2     (a constant element, e.g. from an unrolled j loop)

after::

    allocate C.acc.v8: float32[8] in local      (one lane-wide vector: elements 8..15)
    declare C.acc.r3: float32                    (one scalar)
    for xii.t0 in [0, 8) vectorized:
      C.acc.v8[xii.t0] = 0.0
    for ko …:
      for xii in [0, 8) vectorized:
        C.acc.v8[xii] = C.acc.v8[xii] + A[…] * B[…]
    C.acc.r3 = C.acc.r3 * 2

Elements read only at constant indices become scalar locals (``Declare`` / ``Ref`` /
``Assign``): registers on every target. Each range ``[c, c + N)`` read at ``c + lane`` of a
vectorized loop of N lanes (from 0) becomes its own N-element array, indexed by the lane
counter alone (or, for a constant element inside it, by ``element - c``): the OpenCL printer
prints it as one ``floatN`` variable (:mod:`vortex.codegen.opencl_vector`), CUDA and HIP as an
N-element array read in their unrolled lane loop (a vectorized loop is ``#pragma unroll`` there:
schedule a GPU micro-tile with ``unroll`` to get scalars in the IR).

An array is left as it is when any access is something else: an index depending on a serial
counter or a load, a stride other than 1 per lane, a range that partly overlaps another, an
element outside the array, or an asynchronous copy into or out of it. Names: the scalar for
element e of ``a`` is ``a.r<e>``, the vector from element c ``a.v<c>``
(:func:`~vortex.lower.ir.local_name`), each made unique in the kernel.
"""
from __future__ import annotations

from dataclasses import fields, replace

from ..algorithm.expr import BinaryOp, BinOp, Const, Expr
from ..algorithm.walk import find, rebuild
from .ir import (Allocate, Assign, AsyncCopy, Block, BufferLoad, Declare, For, ForKind, Kernel,
                 MemorySpace, MmaTile, Ref, Stmt, Store, i32, local_name)
from .passes import Pass
from .walk import map_stmt, stmts


# --- index forms -------------------------------------------------------------------------------
def linear_form(e) -> dict | None:
    """``e`` (an integer IR expression) as {local name or None (the constant): coefficient},
    for constants, locals and ``+ - *`` by a constant; None for anything else."""
    if isinstance(e, Const) and e.dtype.is_int:
        return {None: int(e.value)}
    if isinstance(e, Ref) and e.dtype.is_int:
        return {e.name: 1}
    if not (isinstance(e, BinOp) and e.op in (BinaryOp.ADD, BinaryOp.SUB, BinaryOp.MUL)):
        return None
    a, b = linear_form(e.a), linear_form(e.b)
    if a is None or b is None:
        return None
    if e.op is BinaryOp.MUL:
        if set(a) - {None} and set(b) - {None}:
            return None
        scale, form = (a.get(None, 0), b) if not set(a) - {None} else (b.get(None, 0), a)
        return {k: v * scale for k, v in form.items()}
    sign = -1 if e.op is BinaryOp.SUB else 1
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) + sign * v
    return {k: v for k, v in out.items() if v or k is None}


def classify(index, lanes: dict, size: int):
    """How an access at ``index`` of a ``size``-element array reads it: ``("element", e)`` (a
    constant in [0, size)), ``("lanes", c, N, lane)`` (``c + lane`` of a vectorized loop of N
    lanes from 0, within the array) or None. ``lanes``: counter → N of the enclosing
    vectorized loops."""
    form = linear_form(index)
    if form is None:
        return None
    c = form.pop(None, 0)
    if not form:
        return ("element", c) if 0 <= c < size else None
    if len(form) == 1:
        (lane, coef), = form.items()
        n = lanes.get(lane)
        if coef == 1 and n is not None and 0 <= c and c + n <= size:
            return ("lanes", c, n, lane)
    return None


def vector_lanes(s: For, lanes: dict) -> dict:
    """``lanes`` inside loop ``s``: its counter added when it is a vectorized loop from 0 of a
    constant extent, and removed otherwise (a counter of the same name shadows it)."""
    inner = {k: v for k, v in lanes.items() if k != s.var}
    if s.kind is ForKind.VECTORIZED and isinstance(s.min, Const) and s.min.value == 0 \
            and isinstance(s.extent, Const):
        inner[s.var] = int(s.extent.value)
    return inner


def accesses(s: Stmt, name: str, lanes: dict | None = None):
    """Every (index, lanes) at which statements ``s`` read or write buffer ``name``, ``lanes``
    as in :func:`classify`; None when ``name`` is used otherwise (an asynchronous copy, a
    declaration of the same name)."""
    out, lanes = [], lanes or {}

    def visit(x, lanes) -> bool:
        if isinstance(x, AsyncCopy) and name in (x.dst, x.src):
            return False
        if isinstance(x, MmaTile) and x.acc == name:      # the instruction's registers
            return False
        if isinstance(x, (Allocate, Declare)) and x.name == name:
            return False
        if isinstance(x, Store) and x.buffer == name:
            out.append((x.index, lanes))
        inner = vector_lanes(x, lanes) if isinstance(x, For) else lanes
        for f in fields(x):
            v = getattr(x, f.name)
            for item in (v if isinstance(v, tuple) else (v,)):
                if isinstance(item, Stmt) and not visit(item, inner):
                    return False
                if isinstance(item, Expr):   # a statement's own expressions: outside its body
                    out.extend((ld.index, lanes) for ld in find(
                        item, lambda n: isinstance(n, BufferLoad) and n.buffer == name))
        return True
    return out if visit(s, lanes) else None


# --- the plan for one array -------------------------------------------------------------------
def _plan(a: Allocate, scope: Stmt):
    """(scalar elements, {start: lanes}) replacing array ``a`` in ``scope``, or None."""
    found = accesses(scope, a.name)
    if not found:
        return None
    kinds = [classify(index, lanes, a.size) for index, lanes in found]
    if any(k is None for k in kinds):
        return None
    groups = {}
    for k in kinds:
        if k[0] == "lanes" and groups.setdefault(k[1], k[2]) != k[2]:
            return None
    end = -1
    for c in sorted(groups):
        if c < end:
            return None   # two lane ranges overlap
        end = c + groups[c]
    elements = sorted({k[1] for k in kinds if k[0] == "element"
                       and not any(c <= k[1] < c + n for c, n in groups.items())})
    return elements, groups


def _fresh(base: str, tag: str, used: set) -> str:
    name, n = local_name(base, tag), 0
    while name in used:
        n += 1
        name = local_name(base, tag, n)
    return name


def _promote(a: Allocate, scope: Block, used: set):
    """(declarations, scope) with array ``a`` replaced, or None when it stays an array."""
    plan = _plan(a, scope)
    if plan is None:
        return None
    elements, groups = plan
    scalar = {e: _fresh(a.name, f"r{e}", used) for e in elements}
    vector = {c: _fresh(a.name, f"v{c}", used) for c in groups}

    def place(index):
        """(scalar name, None) or (vector name, index within it) of an access at ``index``."""
        form = linear_form(index)
        c = form.pop(None, 0)
        if form:
            (lane, _), = form.items()
            return vector[c], Ref(lane, index.dtype)
        if c in scalar:
            return scalar[c], None
        start = max(s for s in groups if s <= c)
        return vector[start], i32(c - start)

    def expr(e):
        def fn(n):
            if isinstance(n, BufferLoad) and n.buffer == a.name:
                target, idx = place(n.index)
                return Ref(target, n.dtype) if idx is None else BufferLoad(target, idx, n.dtype)
            return None
        return rebuild(e, fn)

    def stmt(s):
        if isinstance(s, Store) and s.buffer == a.name:
            target, idx = place(s.index)
            return Assign(target, s.value) if idx is None else Store(target, idx, s.value)
        return s
    decls = [Allocate(vector[c], a.dtype, groups[c], MemorySpace.LOCAL) for c in sorted(groups)]
    decls += [Declare(scalar[e], a.dtype) for e in elements]
    return decls, map_stmt(scope, stmt, expr)


def _block(used: set):
    def visit(s: Stmt) -> Stmt:
        if not isinstance(s, Block):
            return s
        out, rest = [], list(s.stmts)
        while rest:
            x = rest.pop(0)
            done = None
            if isinstance(x, Allocate) and x.memory is MemorySpace.LOCAL:
                done = _promote(x, Block(tuple(rest)), used)
            if done is None:
                out.append(x)
                continue
            decls, scope = done
            out += decls
            rest = list(scope.stmts)
        return Block(tuple(out))
    return visit


def _names(k: Kernel) -> set:
    names = set()
    for s in stmts(k.body):
        names.update(getattr(s, f.name) for f in fields(s) if isinstance(getattr(s, f.name), str))
    return names


def lane_arrays(k: Kernel) -> dict:
    """name → Allocate of each local array of ``k`` that is read and written only at the lane
    counter of vectorized loops as long as the array (from 0), or at constant elements — the
    arrays this pass makes, which a printer with vector types may hold as one vector."""
    found, bad = {}, set()
    for s in stmts(k.body):
        if not isinstance(s, Block):
            continue
        for i, a in enumerate(s.stmts):
            if not (isinstance(a, Allocate) and a.memory is MemorySpace.LOCAL):
                continue
            uses = accesses(Block(s.stmts[i + 1:]), a.name)
            ok = uses is not None and found.setdefault(a.name, a) == a and all(
                (c := classify(index, lanes, a.size)) is not None
                and (c[0] == "element" or (c[1] == 0 and c[2] == a.size))
                for index, lanes in uses)
            if not ok:
                bad.add(a.name)
    return {n: a for n, a in found.items() if n not in bad}


def promote_registers(k: Kernel) -> Kernel:
    """``k`` with every local array that fits (see the module docstring) in scalar locals and
    lane-wide vectors."""
    return replace(k, body=map_stmt(k.body, _block(_names(k)), lambda e: e))


REGISTERS = Pass("registers", lambda prog: prog.map_kernels(promote_registers),
                 "no per-thread array read only at constant elements or at c + lane of "
                 "vectorized loops: its elements are scalar locals, each such lane range an "
                 "array of its own indexed by the lane alone")
