"""Hoisting invariant conditions out of loops (loop unswitching; Halide does it for the
conditions ``PartitionLoops`` and ``LoopInvariantCodeMotion`` find invariant).

A condition that guards every statement of a loop body the same way, such as the compute
threads' ``threadIdx.x >= 32`` under ``warp_specialize``, is tested once per loop entry
instead of once per statement per iteration. Before (unrolled 2 × 1 micro-tile)::

    for ki in [0, 8):
      int i.u0 = …
      if (threadIdx.x >= 32) { acc[0] += A_sh[…] * B_sh[…] }
      int i.u1 = …
      if (threadIdx.x >= 32) { acc[1] += A_sh[…] * B_sh[…] }

after::

    if (threadIdx.x >= 32)
      for ki in [0, 8):
        int i.u0 = …
        acc[0] += A_sh[…] * B_sh[…]
        int i.u1 = …
        acc[1] += A_sh[…] * B_sh[…]

Besides the tests saved, one guarded region lets the device compiler share the loads of the
micro-tile's operands between its statements (the A value of a row serves every column): with
a guard per statement, NVCC loaded each operand once per FMA.

Three rewrites, bottom-up, each exact:

1. *sink*: a ``Declare`` read only by the ``If`` (without ``else``) that follows it, and not by
   its condition, moves inside that ``If`` (it then runs no more often than before; a load in
   its value stays behind the guard it now has in addition);
2. *merge*: adjacent ``If (c) A; If (c) B`` become ``If (c) {A; B}`` when ``c`` reads no buffer
   and no local that ``A`` assigns, and ``A`` and ``B`` declare no name in common;
3. *hoist*: a serial loop whose whole body is ``If (c) S`` with ``c`` free of the loop counter,
   of buffer loads and of locals the body assigns becomes ``If (c) for … S``.
"""
from __future__ import annotations

from dataclasses import replace

from ..algorithm.expr import Expr, same
from ..algorithm.walk import find
from .ir import Assign, Block, BufferLoad, Declare, For, ForKind, If, Kernel, Ref, Stmt, block
from .passes import Pass
from .walk import map_stmt, stmt_exprs, stmts


def _refs(e: Expr) -> set:
    return {r.name for r in find(e, lambda x: isinstance(x, Ref))}


def _stmt_refs(s: Stmt) -> set:
    return set().union(*(_refs(e) for e in stmt_exprs(s)))


def _assigned(s: Stmt) -> set:
    return {st.name for st in stmts(s) if isinstance(st, Assign)}


def _declared(s: Stmt) -> set:
    """Names declared at the top level of ``s`` (its own scope)."""
    return {st.name for st in (s.stmts if isinstance(s, Block) else (s,))
            if isinstance(st, Declare)}


def _stable(cond: Expr, body: Stmt, counter: str | None = None) -> bool:
    """``cond`` has the same value before and after ``body`` runs (and in every iteration of a
    loop over ``counter``): it reads no buffer, no local ``body`` assigns, not the counter."""
    if find(cond, lambda x: isinstance(x, BufferLoad)):
        return False
    names = _refs(cond)
    return counter not in names and not names & _assigned(body)


def _plain_if(s: Stmt) -> bool:
    return isinstance(s, If) and s.otherwise is None


def _sink(items: list) -> list:
    """Rewrite 1 over one Block's statements: each Declare read only by the next non-Declare
    statement, an If without else whose condition does not read it, moves into that If."""
    out = list(items)
    reads = [_stmt_refs(s) for s in out]     # names each statement reads (kept in step)
    for i in range(len(out) - 1, -1, -1):
        d = out[i]
        if not isinstance(d, Declare):
            continue
        j = next((j for j in range(i + 1, len(out)) if not isinstance(out[j], Declare)), None)
        if j is None or not _plain_if(out[j]) or d.name in _refs(out[j].cond):
            continue
        if any(d.name in r for k, r in enumerate(reads[i + 1:], i + 1) if k != j):
            continue
        out[j] = replace(out[j], then=block(d, out[j].then))
        reads[j] |= reads[i]
        del out[i], reads[i]
    return out


def _merge(items: list) -> list:
    """Rewrite 2: adjacent plain Ifs on the same stable condition become one."""
    out = []
    for s in items:
        prev = out[-1] if out else None
        if (_plain_if(s) and _plain_if(prev) and same(prev.cond, s.cond)
                and _stable(s.cond, prev.then)
                and not _declared(prev.then) & _declared(s.then)):
            out[-1] = replace(prev, then=block(prev.then, s.then))
        else:
            out.append(s)
    return out


def _rewrite(s: Stmt) -> Stmt:
    if isinstance(s, Block):
        return block(*_merge(_sink(list(s.stmts))))
    if (isinstance(s, For) and s.kind is ForKind.SERIAL and _plain_if(s.body)
            and _stable(s.body.cond, s.body.then, s.var)):
        return If(s.body.cond, replace(s, body=s.body.then))
    return s


def hoist_conditions(k: Kernel) -> Kernel:
    """``k`` with the rewrites of the module docstring applied bottom-up."""
    return replace(k, body=map_stmt(k.body, _rewrite, lambda e: e))


HOIST = Pass("hoist conditions", lambda prog: prog.map_kernels(hoist_conditions),
             "no serial loop whose whole body is one If on a condition invariant in it, and no "
             "two adjacent Ifs on one condition that the first cannot change: each such "
             "condition is tested once, outside the loop or around both")
