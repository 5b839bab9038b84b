"""Update definitions: one kernel each, run after the Func's pure kernel, in definition order.

An update is sequential in its RDom (last dimension innermost) and, here, also over its pure
Vars: the kernel runs as a single GPU thread, which is correct for any update, including
data-dependent scatters such as histograms. (Parallel and atomic updates are a later schedule.)
"""
from __future__ import annotations

import sympy as sp

from ..algorithm import dtypes as T
from ..algorithm.bounds import to_sympy
from ..algorithm.construct import binary
from ..algorithm.expr import BinaryOp, Var
from ..algorithm.func import rvars_in
from .exprs import ExprLowerer, inline
from .ir import If, Kernel, Ref, Store, block, serial_nest
from .sym import from_sympy

I32 = T.int32


def lower_update(ctx, plan, d, n: int) -> Kernel:
    f = plan.func
    coords, loops = {}, []
    for pos, a in enumerate(d.lhs):
        if isinstance(a, Var):
            lo, ext = plan.box[pos]
            coords[a.name] = binary(BinaryOp.ADD, from_sympy(lo), Ref(a.name, I32))
            loops.append((a.name, from_sympy(ext)))
    rv = [v for e in (*d.lhs, d.value) for v in rvars_in(e)]
    rdom = rv[0].rdom if rv else None
    if rdom is not None:
        for v, (lo, ext) in zip(rdom.vars, rdom.bounds):
            coords[v.name] = binary(BinaryOp.ADD, lo, Ref(v.name, I32))
            loops.append((v.name, from_sympy(to_sympy(ext))))
    lowerer = ExprLowerer(coords, ctx.layouts, ctx.names)
    value = inline(d.value, ctx.inlined)
    pre, val = lowerer.lower(value)
    lhs = [lowerer.lower(inline(a, ctx.inlined)) for a in d.lhs]   # (pre, index) each
    layout = ctx.layouts[f.name]
    stmt = block(pre, *(p for p, _ in lhs), Store(layout.buffer, layout.flat([i for _, i in lhs]),
                                                   val))
    for p in (rdom.predicates if rdom is not None else ()):
        pre_p, cond = lowerer.lower(inline(p, ctx.inlined))
        stmt = block(pre_p, If(cond, stmt))
    one = sp.Integer(1)
    return Kernel(f"{f.name}_update{n}_kernel", (), serial_nest(loops, stmt), (one, one, one),
                  (1, 1, 1), 0)
