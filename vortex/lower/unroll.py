"""Loop unrolling in the IR (Halide's ``UnrollLoops``): every ``UNROLLED`` loop of constant
extent becomes its body repeated, the counter replaced by ``min + i`` in the i-th copy.

Before (``s[f].unroll(x, 2)``)::

    for x.. in [0, 2) unrolled:
      int x.c = x * 2 + x..
      f[x.c] = …

after (the simplify pass then folds ``+ 0``)::

    int x.c.u0 = x * 2 + 0
    f[x.c.u0] = …
    int x.c.u1 = x * 2 + 1
    f[x.c.u1] = …

So the unrolled code is in the IR and the printed source, and correctness never depends on a
device compiler honouring ``#pragma unroll`` (PoCL's handling of it crashed or hung on guarded
and barrier-holding loops); after this pass no ``UNROLLED`` loop is left. The copies share one
C scope, so every local declared in the body (``Declare``, ``Allocate``, an inner loop's
counter) is renamed per copy: ``name.u<i>`` (:func:`~vortex.lower.ir.local_name`).
"""
from __future__ import annotations

from dataclasses import fields, replace

from ..algorithm.construct import binary
from ..algorithm.expr import BinaryOp, Const
from ..algorithm.walk import rebuild
from .ir import (Allocate, Block, BufferLoad, Comment, Declare, For, ForKind, Kernel, Ref, Stmt, i32,
                 local_name)
from .passes import Pass
from .walk import map_stmt, stmts


def unroll_kernel(k: Kernel) -> Kernel:
    """``k`` with every UNROLLED loop of constant extent expanded (innermost first)."""
    return replace(k, body=map_stmt(k.body, _unroll, lambda e: e))


def _unroll(s: Stmt) -> Stmt:
    if not (isinstance(s, For) and s.kind is ForKind.UNROLLED and isinstance(s.extent, Const)):
        return s
    declared = {d.name for d in stmts(s.body) if isinstance(d, (Declare, Allocate))} \
        | {f.var for f in stmts(s.body) if isinstance(f, For)}
    copies = []
    for i in range(int(s.extent.value)):
        counter = i32(i) if _is_zero(s.min) else binary(BinaryOp.ADD, s.min, i32(i))
        names = {n: local_name(n, f"u{i}") for n in declared}
        copies.append(_instance(s.body, s.var, counter, names))
    return Block(tuple(copies))


def _is_zero(e) -> bool:
    return isinstance(e, Const) and e.value == 0


def _instance(body: Stmt, var: str, counter, names: dict) -> Stmt:
    """``body`` with the loop counter ``var`` replaced by ``counter`` and the locals it declares
    renamed by ``names``."""
    def expr(e):
        def fn(n):
            if isinstance(n, Ref):
                return counter if n.name == var else (
                    Ref(names[n.name], n.dtype) if n.name in names else None)
            if isinstance(n, BufferLoad) and n.buffer in names:
                return replace(n, buffer=names[n.buffer])
            return None
        return rebuild(e, fn)

    def stmt(s):   # every name a statement holds (a declared local, a loop counter, a buffer)
        if isinstance(s, Comment):
            return s
        renamed = {f.name: names[v] for f in fields(s)
                   if isinstance(v := getattr(s, f.name), str) and v in names}
        return replace(s, **renamed) if renamed else s
    return map_stmt(body, stmt, expr)


UNROLL = Pass("unroll", lambda prog: prog.map_kernels(unroll_kernel),
              "no UNROLLED loop of constant extent: each is its body once per iteration, the "
              "counter a constant, the body's locals renamed per copy")
