"""Generic traversal of expression trees: children, search and rebuilding (pure functions)."""
from __future__ import annotations

from dataclasses import fields, replace
from typing import Callable

from .expr import Expr, Reduce


_COMPARED = {}   # node type -> names of its compared fields (dataclasses.fields is slow)


def compared_fields(t: type) -> tuple:
    """The names of the fields of node type ``t`` that take part in its identity."""
    names = _COMPARED.get(t)
    if names is None:
        names = _COMPARED[t] = tuple(f.name for f in fields(t) if f.compare)
    return names


def children(e: Expr) -> list[Expr]:
    """Direct sub-expressions of ``e`` (tuple fields flattened), in field order."""
    out = []
    for name in compared_fields(type(e)):
        v = getattr(e, name)
        if isinstance(v, Expr):
            out.append(v)
        elif isinstance(v, tuple):
            out.extend(x for x in v if isinstance(x, Expr))
    return out


def find(e: Expr, pred: Callable[[Expr], bool], skip_reductions: bool = False) -> list[Expr]:
    """All nodes of ``e`` (pre-order) satisfying ``pred``; optionally not looking inside Reduce."""
    out, stack = [], [e]
    while stack:
        n = stack.pop()
        if pred(n):
            out.append(n)
        if skip_reductions and isinstance(n, Reduce):
            continue
        stack.extend(reversed(children(n)))
    return out


def map_children(e: Expr, fn: Callable[[Expr], Expr]) -> Expr:
    """``e`` with ``fn`` applied to each direct child expression; ``e`` itself (no copy) when
    every child comes back unchanged."""
    changes = {}
    for name in compared_fields(type(e)):
        v = getattr(e, name)
        if isinstance(v, Expr):
            nv = fn(v)
            if nv is not v:
                changes[name] = nv
        elif isinstance(v, tuple) and any(isinstance(x, Expr) for x in v):
            nt = tuple(fn(x) if isinstance(x, Expr) else x for x in v)
            if any(a is not b for a, b in zip(nt, v)):
                changes[name] = nt
    return replace(e, **changes) if changes else e


def rebuild(e: Expr, fn: Callable[[Expr], Expr | None]) -> Expr:
    """Bottom-up rewrite: children first, then ``fn(node)``; ``fn`` returns a replacement or None.

    Nodes whose children did not change are kept (no copies), so rewriting is cheap.
    """
    node = map_children(e, lambda c: rebuild(c, fn))
    out = fn(node)
    return node if out is None else out


def substitute(e: Expr, mapping: dict[str, Expr], kinds: tuple) -> Expr:
    """Replace nodes of the given kinds (e.g. (Var,)) by name with ``mapping[name]``."""
    return rebuild(e, lambda n: mapping.get(n.name) if isinstance(n, kinds) else None)
