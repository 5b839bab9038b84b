"""Inline reductions for :mod:`fuzz.funcs`: ``vx.sum/maximum/minimum/product/argmax/argmin``
over an RDom that covers a whole axis of a producer (a row sum, a column argmax, a reduction over
a dropped Dim) or a small window of a boundary condition (a 1-D or 2-D stencil as a reduction),
sometimes restricted by ``RDom.where`` (data, parity, a triangle ``r <= x`` or a band
``2 * r < x + 3`` over the Func's own pure Var, ``r[0] <= r[1] + 1`` in a 2-D window: the affine
ones tighten the loop), sometimes a triangle written in the bounds (``vx.RDom(0, vx.min(x + 1,
W))``: a loop bounded by the Func's own Var) and sometimes over an RDom another Func already
used."""
from __future__ import annotations

from dataclasses import replace

from . import exprs as X
from .index import RVar

WINDOWS = ((-1, 3), (-2, 5), (0, 2), (0, 1), (-1, 2))
OPS = {X.FLOAT: ["sum", "sum", "maximum", "minimum"],
       X.INT: ["sum", "maximum", "minimum", "argmax", "argmin"],
       X.U8: ["sum", "maximum", "minimum"]}


class Reductions:
    def reduction(self, ctx, t: str, depth: int, force_axis=None) -> X.E:
        rng = self.rng
        inner = replace(ctx, reductions=ctx.reductions - 1)
        win_nodes = [n for n in self.nodes if n.anywhere
                     and any(a.dim and ctx.axis_for(a) for a in n.axes)]
        window = force_axis is None and win_nodes and rng.random() < 0.45
        n_before = len(self.rdoms)
        if window:
            node = rng.choice(win_nodes)
            dims = [a.dim for a in node.axes if a.dim and ctx.axis_for(a)]
            if len(dims) >= 2 and rng.random() < 0.35:
                dims = rng.sample(dims, 2)
                r = self.rdom(f"[{', '.join(str(rng.choice(WINDOWS)) for _ in dims)}]")
                rvars = tuple(RVar(f"{r}[{i}]", None, d) for i, d in enumerate(dims))
            else:
                spec = self.windows[0] if self.windows and rng.random() < 0.5 else \
                    f"[{rng.choice(WINDOWS)}]"
                r = self.rdom(spec)
                rvars = (RVar(r, None, rng.choice(dims)),)
        else:
            nodes = [n for n in self.nodes
                     if force_axis is None or any(a.same(force_axis) for a in n.axes)]
            node = rng.choice(nodes)
            axes = [a for a in node.axes if force_axis is None or a.same(force_axis)]
            a = rng.choice(axes)
            ca = ctx.axis_for(a)
            if ca is not None and rng.random() < 0.15:   # a triangle: bounded by the own Var
                r = self.rdom(f"0, vx.min({ca.var} + 1, {a.src()})")
            else:
                r = self.rdom(a.src())
            rvars = (RVar(r, a),)
        fresh = len(self.rdoms) > n_before
        rctx = replace(inner, rvars=rvars)   # an inner reduction sees only its own RDom
        ops = OPS[t] + (["product"] if window and t != X.U8 else [])
        op = rng.choice(ops)
        body_t = rng.choice(X.TYPES) if op in ("argmax", "argmin") else t
        body = X.cast(rng, self.load(rctx, node, force_all=True), body_t)
        roll = rng.random()
        if roll < 0.45 and depth > 1:
            body = X.binary(rng, body, self.value(rctx, body_t, depth - 1))
        elif roll < 0.6:
            body = X.unary(rng, body)
        restricted = fresh and rng.random() < 0.3
        if restricted:
            self.where(r, self.predicate(ctx, rctx, node, rvars))
        if op in ("argmax", "argmin") and not body.finite:   # NaN: "unspecified" (semantics.md)
            body = X.E(f"vx.select({body.src} == {body.src}, {body.src}, 0.0)", body_t, body.exact)
        out_t = X.INT if op in ("argmax", "argmin") else body_t
        finite = body.finite and not (restricted and op in ("maximum", "minimum"))
        return X.E(f"vx.{op}({body.src})", out_t, body.exact and op != "product", finite)

    def predicate(self, ctx, rctx, node, rvars) -> X.E:
        """A ``where`` condition over the RDom: data, parity, a triangle or band with a pure Var,
        an order of two window RVars (the choice from one draw, as before these were added)."""
        rng = self.rng
        rv = rvars[0]
        roll = rng.random()
        ca = ctx.axis_for(rv.axis) if rv.axis is not None else None
        if roll < 0.25 and ca is not None and ca.n == rv.axis.n:   # affine: tightens the loop
            return X.E(f"({rv.src} <= {ca.var})" if roll < 0.15 else
                       f"(2 * {rv.src} < {ca.var} + 3)", X.BOOL)
        if roll < 0.4:
            return X.E(f"(({rv.src} % 2) == 0)", X.BOOL) if len(rvars) == 1 else \
                X.E(f"({rvars[0].src} != {rvars[1].src})" if roll < 0.32 else
                    f"({rvars[0].src} <= {rvars[1].src} + 1)", X.BOOL)
        data = self.load(rctx, node, force_all=True)
        if roll < 0.7:
            other = X.const(rng, data.dtype)
        else:
            other = self.load(replace(rctx, rvars=()), node)
        return X.compare(rng, data, other)
