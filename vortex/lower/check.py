"""IR invariants, checked after every lowering pass when ``VORTEX_DEBUG`` has ``check`` (see
:mod:`vortex.lower.passes`): every local is declared
before use in an enclosing scope, every buffer is a parameter or an allocation, and no barrier
sits under a condition (a divergent barrier deadlocks a GPU block); no local is declared again
while its name is in scope (C would reject or shadow it)."""
from __future__ import annotations

from ..algorithm.walk import find
from .ir import (Allocate, Assign, Barrier, Block, BufferLoad, Declare, For, GpuIndex, If, Kernel,
                 MmaTile, Ref, Stmt, Store)
from .walk import stmt_exprs


class InvariantError(AssertionError):
    """The lowering produced malformed IR (a Vortex bug, not a user error)."""


def check_kernel(k: Kernel, known=(), after: str | None = None):
    """Raise InvariantError if ``k`` is malformed. ``known``: buffer names the kernel may use
    before its parameters are read off its body; ``after``: the pass that made ``k`` (named in
    the error)."""
    names = {p.name for p in k.params} | set(known)
    where = f"{k.name} (after pass {after!r})" if after else k.name
    _check(k.body, set(names), set(names), conditional=False, kernel=where)


def _uses(s: Stmt):
    for e in stmt_exprs(s) if not isinstance(s, (Block, For, If, MmaTile)) else _own_exprs(s):
        yield from find(e, lambda x: isinstance(x, (Ref, BufferLoad)))


def _own_exprs(s):
    if isinstance(s, For):
        return [s.min, s.extent]
    if isinstance(s, If):
        return [s.cond]
    if isinstance(s, MmaTile):
        return [s.offset]
    return []


def _check(s: Stmt, scope: set, buffers: set, conditional: bool, kernel: str):
    for u in _uses(s):
        name = u.name if isinstance(u, Ref) else u.buffer
        if name not in (scope if isinstance(u, Ref) else buffers | scope):
            raise InvariantError(f"{kernel}: {name!r} used outside its scope in {s}")
    if isinstance(s, Store) and s.buffer not in buffers | scope:
        raise InvariantError(f"{kernel}: store to unknown buffer {s.buffer!r}")
    if isinstance(s, Assign) and s.name not in scope:
        raise InvariantError(f"{kernel}: assignment to undeclared {s.name!r}")
    if isinstance(s, (Declare, Allocate, For)):
        name = s.var if isinstance(s, For) else s.name
        if name in scope:
            raise InvariantError(f"{kernel}: {name!r} declared again while in scope in {s}")
    if isinstance(s, Barrier) and conditional:
        raise InvariantError(f"{kernel}: barrier under a condition")
    if isinstance(s, Block):
        inner = set(scope)
        for x in s.stmts:
            _check(x, inner, buffers, conditional, kernel)
            if isinstance(x, (Declare, Allocate)):
                inner.add(x.name)
    elif isinstance(s, For):
        _check(s.body, scope | {s.var}, buffers, conditional, kernel)
    elif isinstance(s, If):  # a condition on sizes/params only is uniform across the block
        divergent = conditional or bool(find(s.cond, lambda x: isinstance(
            x, (Ref, BufferLoad, GpuIndex))))
        _check(s.then, set(scope), buffers, divergent, kernel)
        if s.otherwise is not None:
            _check(s.otherwise, set(scope), buffers, divergent, kernel)
    elif isinstance(s, MmaTile):   # its parts are scopes of their own, in the enclosing one
        if s.acc not in scope:
            raise InvariantError(f"{kernel}: mma accumulator {s.acc!r} is not allocated")
        for part in (s.a, s.b, s.emulation, s.a_load, s.b_load):
            if part is not None:
                _check(part, set(scope), buffers, conditional, kernel)
    elif isinstance(s, (Declare, Allocate)):
        scope.add(s.name)
