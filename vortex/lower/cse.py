"""The ``cse`` pass: each repeated integer subexpression computed once (Halide's ``CSE.cpp``, with
the kernel-invariant part of ``LICM.cpp``; the ideas, not the code).

Two steps, on each kernel:

1. **Kernel invariants.** An integer expression of Dims, Params and constants alone that occurs
   more than once in the kernel, and cannot fault (below), is declared once at the top of the
   kernel body (after its shared allocations) and read by name everywhere. Before::

       for (int ko = 0; ko < vx_fdiv_int((K + 7), 8); ++ko) {
         if (((ko + 3) < vx_fdiv_int((K + 7), 8))) {

   after (the H100 matmul computed it 8 times)::

       int cse_2 = vx_fdiv_int((K + 7), 8);
       …
       for (int ko = 0; ko < cse_2; ++ko) {
         if (((ko + 3) < cse_2)) {

2. **Within one statement.** An integer subexpression that occurs twice or more in the
   expressions of one statement (a store's index and value, a copy's indices, a condition, a
   loop's bounds) is declared in a local just before that statement, inside the same guards.

Which expressions: structurally equal ones are found by global value numbering (each distinct
expression gets a number; ``uses`` counts the distinct parents that read it, so ``(K + 7)`` inside
a repeated ``(K + 7) // 8`` is used once, by that one parent, and is not named apart). A named
expression is *pure* (constants, locals, GPU indices, Dims, Params and arithmetic, selects,
casts, math calls: never a load, and no node kind this pass does not know), of an integer type
(float expressions stay whole, so their rounding and contraction cannot change: results stay bit
exact), and not a leaf or a cast of one (nothing to save).

Never out of a guard where it could fault. An expression is evaluated where it is declared,
unconditionally. Where the original evaluated it only under a condition (a branch of a select,
the right side of ``&&``/``||``, a staged copy's source index under its condition), it may be
named before the statement only if it *cannot fault*: no signed integer ``//`` or ``%`` except
by a constant other than -1 (``INT_MIN / -1`` traps on a CPU; by 0 the helpers return 0), and no
integer true division. Kernel invariants are always lifted out of every guard, so only those that
cannot fault are. The condition of an ``If`` over sizes alone whose body holds a barrier is left
as written (the IR checker proves such a barrier uniform by the condition holding no local), and
vectorized loop bodies get no new locals (the OpenCL vector printer reads a local it cannot
see through as the same in every lane). Generated
names are ``cse.<n>`` (:func:`~vortex.lower.ir.local_name`), skipping every name the kernel uses.
"""
from __future__ import annotations

from dataclasses import fields, replace

from ..algorithm.expr import Dim, Param
from ..algorithm.walk import find
from .gvn import Numbering
from .ir import (Allocate, Assign, AsyncCopy, Barrier, Block, BufferLoad, Declare, For, ForKind,
                 GpuIndex, If, Kernel, Ref, Stmt, Store, block, local_name)
from .passes import Pass
from .walk import stmt_exprs, stmts


# --- where expressions are: the slots of each statement kind -----------------------------------
# statement kind → its expression fields, (name, evaluated only sometimes?); a GPU loop's bounds
# are its launch, not code (the offload pass drops them)
_SLOTS = {
    Store: lambda s: (("index", False), ("value", False)),
    Declare: lambda s: (("value", False),),
    Assign: lambda s: (("value", False),),
    If: lambda s: (("cond", False),),
    For: lambda s: () if getattr(s.kind, "is_gpu", False) else (("min", False), ("extent", False)),
    AsyncCopy: lambda s: (("cond", False), ("dst_index", False),
                          ("src_index", s.cond is not None)),
}


class _Slots:
    """``slots(s)``: [(field, expression, conditional)] of ``s`` that this pass may rewrite. Not
    the condition of an ``If`` over sizes alone around a barrier: it must keep holding no local
    (the IR checker proves such a barrier uniform that way)."""

    def __init__(self):
        self.memo = {}   # id(statement) → (statement, holds a barrier?)

    def __call__(self, s: Stmt) -> list:
        fn = _SLOTS.get(type(s))
        if fn is None or (isinstance(s, If) and self._barrier_guard(s)):
            return []
        return [(f, getattr(s, f), c) for f, c in fn(s) if getattr(s, f) is not None]

    def _barrier_guard(self, s: If) -> bool:
        uniform = not find(s.cond, lambda x: isinstance(x, (Ref, BufferLoad, GpuIndex)))
        return uniform and self._barrier(s)

    def _barrier(self, s: Stmt) -> bool:
        hit = self.memo.get(id(s))
        if hit is None:
            subs = [v for f in fields(s) for v in _stmts_in(getattr(s, f.name))]
            hit = self.memo[id(s)] = (s, isinstance(s, Barrier) or any(map(self._barrier, subs)))
        return hit[1]


def _stmts_in(v) -> tuple:
    if isinstance(v, Stmt):
        return (v,)
    return tuple(x for x in v if isinstance(x, Stmt)) if isinstance(v, tuple) else ()


class _Names:
    """Fresh ``cse.<n>`` names: none equal to a name the kernel already uses (a statement's
    names, and those of the locals, sizes and buffers its expressions read)."""

    def __init__(self, k: Kernel, vn: Numbering):
        self.taken = {p.name for p in k.params}
        for s in stmts(k.body):
            self.taken |= {v for f in fields(s) if isinstance(v := getattr(s, f.name), str)}
        for e in stmt_exprs(k.body):
            vn.number(e)
        for info in vn.infos:
            x = info.node
            if isinstance(x, (Ref, Dim, Param, BufferLoad)):
                self.taken.add(x.buffer if isinstance(x, BufferLoad) else x.name)
        self.count = 0

    def __call__(self) -> str:
        while local_name("cse", self.count) in self.taken:
            self.count += 1
        self.taken.add(name := local_name("cse", self.count))
        return name


# --- the two steps -----------------------------------------------------------------------------
def _rewrite(s: Stmt, fn) -> Stmt:
    """``s`` with each sub-statement through ``_rewrite`` and then ``fn`` (bottom-up); Blocks
    returned inside Blocks are flattened (one C scope); vectorized loop bodies are left alone
    when ``fn`` asks so (``fn.enter_vectorized``)."""
    if isinstance(s, For) and s.kind is ForKind.VECTORIZED and not fn.enter_vectorized:
        return s
    changes = {}
    for f in fields(s):
        v = getattr(s, f.name)
        if isinstance(v, Stmt):
            changes[f.name] = _rewrite(v, fn)
        elif isinstance(v, tuple) and v and isinstance(v[0], Stmt):
            changes[f.name] = tuple(_rewrite(x, fn) for x in v)
    s = replace(s, **changes) if changes else s
    return block(*s.stmts) if isinstance(s, Block) else fn(s)


class _Hoist:
    """Step 1: replace the chosen kernel invariants by their names (in every statement)."""

    enter_vectorized = True

    def __init__(self, numbering: Numbering, slots: _Slots, chosen: dict):
        self.vn, self.slots, self.chosen = numbering, slots, chosen

    def __call__(self, s: Stmt) -> Stmt:
        slots = self.slots(s)
        if not slots:
            return s
        return replace(s, **{f: self.vn.substitute(e, self.chosen) for f, e, _ in slots})


class _Local:
    """Step 2: name the subexpressions repeated within one statement, declared just before it."""

    enter_vectorized = False

    def __init__(self, numbering: Numbering, slots: _Slots, names: _Names, assigned: set):
        self.vn, self.slots, self.names, self.assigned = numbering, slots, names, assigned

    def __call__(self, s: Stmt) -> Stmt:
        slots = self.slots(s)
        if isinstance(s, For) and any(x.name in self.assigned for _, e, _ in slots
                                      for x in find(e, lambda x: isinstance(x, Ref))):
            return s   # C re-reads a loop's bounds each trip: keep them where they are
        roots = [e for _, e, _ in slots]
        infos = self.vn.infos
        repeated = [n for n, u in self.vn.uses(roots).items() if u > 1 and infos[n].nameable]
        if not repeated:
            return s
        always = self.vn.unconditional([e for _, e, c in slots if not c])
        chosen = {n for n in repeated if infos[n].safe or n in always}
        if not chosen:
            return s
        named = {n: self.names() for n in self.vn.order(roots, chosen)}
        new = replace(s, **{f: self.vn.substitute(e, named) for f, e, _ in slots})
        return block(*self.vn.declarations(roots, named), new)


def _at_top(body: Stmt, decls: list) -> Stmt:
    """``body`` with ``decls`` after its leading allocations."""
    items = body.stmts if isinstance(body, Block) else (body,)
    i = 0
    while i < len(items) and isinstance(items[i], Allocate):
        i += 1
    return block(*items[:i], *decls, *items[i:])


def cse_kernel(k: Kernel) -> Kernel:
    """``k`` with its kernel invariants hoisted and its repeated subexpressions named (see the
    module docstring); every result is the same, bit for bit."""
    vn = Numbering()
    names, slots = _Names(k, vn), _Slots()
    roots = [e for s in stmts(k.body) for _, e, _ in slots(s)]
    infos = vn.infos
    chosen = {n for n, u in vn.uses(roots).items() if u > 1 and infos[n].nameable
              and infos[n].invariant and infos[n].sized and infos[n].safe}
    named = {n: names() for n in vn.order(roots, chosen)}
    body = k.body if not named else _at_top(_rewrite(k.body, _Hoist(vn, slots, named)),
                                            vn.declarations(roots, named))
    assigned = {x.name for x in stmts(body) if isinstance(x, Assign)}
    return replace(k, body=_rewrite(body, _Local(vn, slots, names, assigned)))


CSE = Pass("cse", lambda prog: prog.map_kernels(cse_kernel),
           "every integer expression of Dims and Params alone that occurs more than once in a "
           "kernel and cannot fault is computed once, at the top of the kernel; every integer "
           "subexpression repeated within one statement is computed once, in a local declared "
           "just before it; no load is moved, and nothing that can fault leaves its guard")
