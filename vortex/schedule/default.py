"""The default schedule: valid for every pipeline, simple, and pure data.

Outputs and Funcs with update definitions are computed at root (an intermediate with updates
gets an explicit ``compute_root()``); so is an intermediate that, inlined, would be evaluated more
than :data:`INLINE_LIMIT` times per point of a root consumer (its loads counted through the Funcs
inlined into it: a pyramid or a deep stencil chain grows as taps ** depth, and inlining it would
print code of that size). Every other Func is inlined (the default, no directive).
Each root Func is mapped onto the GPU by its pure vars:

- 1 pure dim ``x``: ``gpu_tile(x, x_o, x_i, 64)``;
- 2 pure dims ``y, x``: ``gpu_tile(y, x, y_o, x_o, y_i, x_i, 16, 16)``;
- more: the outer dims are fused pairwise into one var ``F`` (``fuse(a, b, a_b)`` …), then
  ``tile(y, x, y_o, x_o, y_i, x_i, 16, 16)``, ``gpu_blocks(F, y_o, x_o)``,
  ``gpu_threads(y_i, x_i)`` (so at most 3 block dims).

Reduction loops stay serial and innermost, inside each thread. Names that would collide with a
loop var or a pipeline name get a numeric suffix (``x_o2``).
"""
from __future__ import annotations

from ..algorithm.expr import Load
from ..algorithm.walk import find
from .args import is_name


def _fresh(base: str, taken: set) -> str:
    name, n = base, 1
    while name in taken or not is_name(name):
        n += 1
        name = f"{base}{n}"
    taken.add(name)
    return name


INLINE_LIMIT = 32


def _roots(pipe, outputs) -> set:
    """Names of the Funcs the default computes at root (see the module docstring)."""
    roots, cost = set(outputs) | {f.name for f in pipe.funcs if f.updates}, {}
    for f in pipe.funcs:                          # producers first
        loads = find(f.definitions[0].value, lambda e: isinstance(e, Load))
        cost[f.name] = sum(cost.get(ld.name, 1) if ld.name not in roots else 1 for ld in loads)
        if cost[f.name] > INLINE_LIMIT:
            roots.add(f.name)
    return roots


def default_schedule(s):
    """Fill the empty Schedule ``s`` with the default schedule of its pipeline; returns ``s``."""
    info = s._info
    roots = _roots(s.pipe, info.outputs)
    for f in s.pipe.funcs:
        if f.name not in roots:
            continue
        stage = s[f.name]
        if f.name not in info.outputs:
            stage.compute_root()
        taken = info.reserved | set(s.loop_vars(f.name))
        pure = [v.name for v in f.pure_vars]
        names = {v: (_fresh(f"{v}_o", taken), _fresh(f"{v}_i", taken)) for v in pure[-2:]}
        if len(pure) == 1:
            (x,) = pure
            stage.gpu_tile(x, names[x][0], names[x][1], 64)
        elif len(pure) == 2:
            y, x = pure
            stage.gpu_tile(y, x, names[y][0], names[x][0], names[y][1], names[x][1], 16, 16)
        elif len(pure) > 2:
            outer = pure[0]
            for v in pure[1:-2]:
                fused = _fresh(f"{outer}_{v}", taken)
                stage.fuse(outer, v, fused)
                outer = fused
            y, x = pure[-2:]
            (yo, yi), (xo, xi) = names[y], names[x]
            stage.tile(y, x, yo, xo, yi, xi, 16, 16).gpu_blocks(outer, yo, xo).gpu_threads(yi, xi)
    return s
