"""Funcs and their values for :mod:`fuzz.generate`: pure definitions, update definitions,
histograms, inline reductions (with ``where``), loads. All output is Python source lines."""
from __future__ import annotations

from dataclasses import dataclass, replace

from . import exprs as X
from . import index as I
from .index import Axis, Node, RVar
from .reductions import Reductions


@dataclass(frozen=True)
class Ctx:
    """Where an expression is generated: the Func's axes (its pure Vars), the RDom variables in
    scope, how many more inline reductions may nest."""

    axes: tuple
    rvars: tuple = ()
    reductions: int = 2

    def axis_for(self, a: Axis):
        return next((c for c in self.axes if c.same(a)), None)


class FuncGen(Reductions):
    """Appends Funcs to ``lines`` (Python source) and ``nodes`` (what later Funcs may read);
    ``reads`` collects the names the Func being generated reads."""

    def __init__(self, rng):
        self.rng = rng
        self.lines, self.nodes, self.params = [], [], []
        self.offsets, self.windows, self.rdoms = [], [], []
        self.reads = set()
        self.update_reads = {}    # Func name -> what its update definitions read

    def line(self, text: str):
        self.lines.append(text)

    def rdom(self, spec: str) -> str:
        """A new RDom (or, sometimes, one made before with the same spec and no predicate)."""
        reuse = [n for s, n, w in self.rdoms if s == spec and not w]
        if reuse and self.rng.random() < 0.2:
            return self.rng.choice(reuse)
        name = f"r{len(self.rdoms)}"
        self.rdoms.append([spec, name, False])
        self.line(f"{name} = vx.RDom({spec}, name={name!r})")
        return name

    def where(self, name: str, cond: X.E):
        self.line(f"{name}.where({cond.src})")
        for entry in self.rdoms:
            entry[2] = entry[2] or entry[1] == name

    # --- Funcs -------------------------------------------------------------------------------
    def add_func(self, name: str, output: bool) -> Node:
        rng = self.rng
        kind = rng.choices(["expr", "update", "hist"], [7, 2, 1])[0]
        full = tuple(Axis(d) for d in self.dims)
        axes = full
        if len(full) > 1 and rng.random() < 0.15:
            drop = rng.randrange(len(full))
            axes = full[:drop] + full[drop + 1:]
        elif output and kind == "expr" and rng.random() < 0.1:
            up = rng.randrange(len(full))
            axes = tuple(Axis(a.dim, 2 if i == up else 1) for i, a in enumerate(full))
        dtype = rng.choice(X.TYPES)
        self.reads, self.exact = set(), True
        if kind == "hist":
            axes = (Axis(None, rng.choice([4, 16, 256])),)
        shaped = output or kind != "expr" or rng.random() < 0.1
        shape = f", shape=({', '.join(a.src() for a in axes)},)" if shaped else ""
        self.line(f"{name} = vx.Func({name!r}{shape})")
        lhs = f"{name}[{', '.join(a.var for a in axes)}]"
        ctx = Ctx(axes)
        if kind == "hist":
            self.line(f"{lhs} = {X.typed(X.const(rng, dtype)).src}")
            self.histogram(name, axes[0].n, dtype)
            self.update_reads[name] = set(self.reads)
        else:
            dropped = [a for a in full if a not in axes and a.dim not in {b.dim for b in axes}]
            value = self.value(ctx, dtype, rng.choice([1, 2, 2, 3]),
                               force=dropped[0] if dropped else None)
            unread = [n for n in self.nodes if n.kind == "func" and not n.shaped
                      and not any(n.name in m.reads for m in self.nodes)]
            if output and unread:                    # every intermediate reaches an output
                value = X.binary(rng, value, X.cast(rng, self.load(ctx, unread[-1]), dtype))
            self.line(f"{lhs} = {X.typed(value).src}")
            self.exact = value.exact
        if kind == "update":
            pure, self.reads = self.reads, set()
            for _ in range(rng.choice([1, 1, 2])):
                self.update(name, axes, dtype)
            self.update_reads[name] = set(self.reads)
            self.reads |= pure
        anywhere = not shaped and all(n.anywhere for n in self.nodes if n.name in self.reads)
        node = Node(name, dtype, axes, anywhere, shaped, "func", True, set(self.reads),
                    exact=self.exact)
        self.nodes.append(node)
        return node

    def update(self, name: str, axes: tuple, t: str):
        """One update definition of ``name`` (pointwise, scan, reduction, edge, or ordered: reading
        ``name`` at an earlier point of a pure axis, so that axis runs in order inside the RDom
        loop, as in floyd-warshall and jacobi)."""
        rng = self.rng
        kind = rng.choice(["pointwise", "scan", "reduce", "edge", "ordered"])
        dim_axes = [i for i, a in enumerate(axes) if a.dim is not None]
        if kind == "ordered" and dim_axes:
            i = rng.choice(dim_axes)
            a = axes[i]
            r = self.rdom(str(rng.choice([1, 2, 3])))
            back = f"vx.clamp({a.var} - 1 - {r}, 0, {a.src()} - 1)"
            at = lambda s: ", ".join(s if j == i else b.var for j, b in enumerate(axes))
            rhs = X.binary(rng, X.E(f"{name}[{at(a.var)}]", t), X.E(f"{name}[{at(back)}]", t))
            self.line(f"{name}[{at(a.var)}] = {rhs.src}")
            self.exact &= rhs.exact
            return
        if kind in ("scan", "edge") and dim_axes:
            i = rng.choice(dim_axes)
            a = axes[i]
            if kind == "scan":
                r = self.rdom(f"[(1, {a.src()} - 1)]")
                at = lambda s: ", ".join(s if j == i else b.var for j, b in enumerate(axes))
                prev, cur = X.E(f"{name}[{at(f'{r} - 1')}]", t), X.E(f"{name}[{at(r)}]", t)
                rhs = X.binary(rng, prev, cur)
                if rng.random() < 0.5:
                    ctx = Ctx(axes[:i] + axes[i + 1:], (RVar(r, a),), 1)
                    rhs = X.binary(rng, rhs, self.value(ctx, t, 1))
                self.line(f"{name}[{at(r)}] = {rhs.src}")
                self.exact &= rhs.exact
                return
            at = ", ".join("0" if j == i else b.var for j, b in enumerate(axes))
            ctx = Ctx(axes[:i] + axes[i + 1:], (), 1)
            rhs = X.binary(rng, X.E(f"{name}[{at}]", t), self.value(ctx, t, 1))
            self.line(f"{name}[{at}] = {rhs.src}")
            self.exact &= rhs.exact
            return
        lhs = f"{name}[{', '.join(a.var for a in axes)}]"
        ctx = Ctx(axes, (), 1)
        if kind == "reduce":
            src = rng.choice(self.nodes)
            a = rng.choice(src.axes)
            r = self.rdom(a.src())
            rv = RVar(r, a)
            body = X.cast(rng, self.load(replace(ctx, rvars=(rv,)), src, force=rv), t)
            self.line(f"{lhs} += {body.src}")
            self.exact &= body.exact
            return
        rhs = X.binary(rng, X.E(lhs, t), self.value(ctx, t, 1))
        self.line(f"{lhs} = {rhs.src}")
        self.exact &= rhs.exact

    def histogram(self, name: str, bins: int, t: str):
        """``h[idx(rr)] += 1`` over a whole 1-D/2-D/3-D input or shaped Func."""
        rng = self.rng
        srcs = [n for n in self.nodes if n.kind != "bc" and all(a.dim for a in n.axes)]
        unread = [n for n in srcs if n.kind == "func"
                  and not any(n.name in m.reads for m in self.nodes)]
        src = rng.choice(unread[-1:] * 3 + srcs)
        dims = [a for a in src.axes if a.dim]
        pairs = ", ".join(f"(0, {a.src()})" for a in dims)
        spec = dims[0].src() if len(dims) == 1 else f"[{pairs}]"
        r = self.rdom(spec)
        rvs = tuple(RVar(r if len(dims) == 1 else f"{r}[{i}]", a) for i, a in enumerate(dims))
        ctx = Ctx((), rvs, 1)
        load = self.load(ctx, src, force_all=True)
        idx = self.bin_index(load, bins)
        if rng.random() < 0.3:
            data = self.load(ctx, src, force_all=True)
            self.where(r, X.compare(rng, data, X.const(rng, src.dtype)))
        value = "1"
        if rng.random() >= 0.6:
            value = X.cast(rng, self.load(ctx, src, force_all=True), t).src
        self.line(f"{name}[{idx}] += {value}")

    def bin_index(self, e: X.E, bins: int) -> str:
        """An integer index in [0, bins) made from data ``e``."""
        if e.dtype == X.U8:
            return e.src if bins == 256 else self.rng.choice([f"{e.src} % {bins}",
                                                             f"{e.src} // {256 // bins}"])
        e = X.cast(self.rng, e, X.INT)
        return f"vx.clamp({e.src}, 0, {bins - 1})"

    # --- values ------------------------------------------------------------------------------
    def value(self, ctx: Ctx, t: str, depth: int, force: Axis | None = None) -> X.E:
        rng = self.rng
        if force is not None:
            return self.reduction(ctx, t, depth, force)
        roll = rng.random()
        if depth <= 0 or roll < 0.25:
            return self.leaf(ctx, t)
        if roll < 0.42 and ctx.reductions > 0:
            return self.reduction(ctx, t, depth)
        if roll < 0.72:
            return X.binary(rng, self.value(ctx, t, depth - 1), self.value(ctx, t, depth - 1))
        if roll < 0.82:
            return X.unary(rng, self.value(ctx, t, depth - 1))
        if roll < 0.93:
            return X.select(rng, self.cond(ctx, depth - 1), self.value(ctx, t, depth - 1),
                            self.value(ctx, t, depth - 1))
        return X.cast(rng, self.value(ctx, rng.choice(X.TYPES), depth - 1), t)

    def cond(self, ctx: Ctx, depth: int) -> X.E:
        rng = self.rng
        if ctx.axes and rng.random() < 0.2:
            a = rng.choice(ctx.axes)
            return X.E(f"({a.var} {rng.choice(['<', '>=', '!='])} {rng.choice([1, 3])})", X.BOOL)
        t = rng.choice(X.TYPES)
        c = X.compare(rng, self.value(ctx, t, depth), self.value(ctx, t, depth - 1))
        if rng.random() < 0.2:
            c = X.logic(rng, c, self.cond(ctx, 0))
        return c

    def leaf(self, ctx: Ctx, t: str) -> X.E:
        rng = self.rng
        roll = rng.random()
        params = [p for p in self.params if p.dtype == t]
        if roll < 0.08:
            return X.const(rng, t)
        if roll < 0.14 and params:
            return rng.choice(params)
        if roll < 0.19 and ctx.axes:
            return X.cast(rng, X.E(rng.choice(ctx.axes).var, X.INT), t)
        if roll < 0.2 and ctx.axes and t == X.FLOAT:
            return X.E(f"vx.random_float({', '.join(a.var for a in ctx.axes)}, seed=7)", t)
        if roll < 0.21 and ctx.axes:
            a = rng.choice(ctx.axes)
            vals = ", ".join(self.leaf(ctx, t).src for _ in range(3))
            return X.E(f"vx.mux({a.var} % 4, [{vals}])", t, False)
        fresh = [n for n in self.nodes if not any(n.name in m.reads for m in self.nodes)]
        pool = self.nodes + fresh * 2 + [n for n in self.nodes if n.dtype == t]
        return X.cast(rng, self.load(ctx, rng.choice(pool)), t)

    def load(self, ctx: Ctx, node: Node, force: RVar | None = None, force_all=False) -> X.E:
        """``node[...]`` read from ``ctx``: each index in bounds by construction (see index.py);
        ``force`` (or every RVar, ``force_all``) must index its axis."""
        rng = self.rng
        self.reads.add(node.name)
        idx = []
        for a in node.axes:
            ca = ctx.axis_for(a)
            rvs = [r for r in ctx.rvars if r.axis is not None and r.axis.same(a)
                   and (r.axis.n <= a.n or node.anywhere)]
            wins = [r for r in ctx.rvars if r.axis is None and ca is not None and node.anywhere
                    and r.dim in (None, a.dim)]
            forced = [r for r in rvs if r is force or force_all]
            if forced:
                idx.append(I.map_scale(rng, forced[0].src, forced[0].axis.n, a.n))
            elif rvs and rng.random() < 0.5:
                idx.append(I.map_scale(rng, rvs[0].src, rvs[0].axis.n, a.n))
            elif a.dim is None:
                idx.append(self.const_index(ctx, a.n))
            elif wins and (force_all or force in wins or rng.random() < 0.5):
                w = force if force in wins else rng.choice(wins)
                idx.append(f"{I.map_scale(rng, ca.var, ca.n, a.n)} + {w.src}")
            elif node.anywhere and rng.random() < 0.6:
                idx.append(I.anywhere(rng, a, ca, self.offsets))
            elif rng.random() < 0.05 and ctx.reductions > 0 and self.u8_nodes():
                e = self.load(replace(ctx, reductions=0), rng.choice(self.u8_nodes()))
                e = X.cast(rng, e, X.INT)
                hi = a.src() if a.n == 1 else f"({a.src()})"
                idx.append(e.src if node.anywhere else f"vx.clamp({e.src}, 0, {hi} - 1)")
            else:
                idx.append(I.in_domain(rng, a, ca))
        return X.E(f"{node.var}[{', '.join(idx)}]", node.dtype, node.exact, node.finite)

    def u8_nodes(self) -> list:
        return [m for m in self.nodes if m.dtype == X.U8]

    def const_index(self, ctx: Ctx, n: int) -> str:
        u8 = self.u8_nodes()
        if u8 and self.rng.random() < 0.7 and ctx.reductions > 0:
            e = self.load(replace(ctx, reductions=0), self.rng.choice(u8))
            return self.bin_index(e, n)
        return str(self.rng.choice([0, n - 1]))
