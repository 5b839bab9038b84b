"""Traversal of loop-IR statements: every statement, every expression, and rebuilding."""
from __future__ import annotations

from dataclasses import fields, replace
from typing import Callable, Iterator

from ..algorithm.expr import Expr
from .ir import Stmt


def stmts(s: Stmt) -> Iterator[Stmt]:
    """``s`` and every statement nested in it, pre-order."""
    yield s
    for f in fields(s):
        v = getattr(s, f.name)
        if isinstance(v, Stmt):
            yield from stmts(v)
        elif isinstance(v, tuple):
            for x in v:
                if isinstance(x, Stmt):
                    yield from stmts(x)


def stmt_exprs(s: Stmt) -> Iterator[Expr]:
    """Every expression held directly by any statement in ``s``."""
    for st in stmts(s):
        for f in fields(st):
            v = getattr(st, f.name)
            if isinstance(v, Expr):
                yield v


def map_stmt(s: Stmt, fs: Callable[[Stmt], Stmt], fe: Callable[[Expr], Expr]) -> Stmt:
    """Rebuild bottom-up: sub-statements first, expressions through ``fe``, then ``fs``."""
    changes = {}
    for f in fields(s):
        v = getattr(s, f.name)
        if isinstance(v, Stmt):
            changes[f.name] = map_stmt(v, fs, fe)
        elif isinstance(v, Expr):
            changes[f.name] = fe(v)
        elif isinstance(v, tuple) and v and isinstance(v[0], Stmt):
            changes[f.name] = tuple(map_stmt(x, fs, fe) for x in v)
    return fs(replace(s, **changes) if changes else s)
