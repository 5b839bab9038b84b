"""The call graph of an algorithm: what each Func reads, in producer-before-consumer order.

Checks done here (all raise vx.TypeError naming the Func): duplicate names, outputs without a
declared shape, recursive Funcs (a cycle through update definitions or where() predicates, or a
pure definition reading itself through one), RDoms used outside a reduction in a pure definition,
RDom bounds that depend on data other than loads from Inputs with a declared value range
(:func:`_check_bound_load`), on a Var that is not in scope where the domain is iterated
(:func:`_check_bound_vars`) or on a Param without a declared range, more than one
RDom in one update, a where() condition using a Var that the definition iterating its RDom does
not have, an inline reduction left ambiguous (several RDoms, no ``over=``). An update may read its
own Func at another point of a pure dimension (``P[i, j] = min(P[i, j], P[i, k] + P[k, j])``):
that pure loop is *ordered* and runs in order (docs/semantics.md).
"""
from __future__ import annotations

from .. import errors
from .expr import Dim, Expr, Load, Param, Reduce, RVar, Var
from .func import Func, Input, rvars_in
from .inline_reduce import refuse_pending
from .printer import show
from .walk import children, find


def exprs_of(f: Func) -> list[Expr]:
    """Every expression a Func's definitions hold (indices, values, RDom bounds and predicates)."""
    out = []
    for d in f.definitions:
        out.extend(d.lhs)
        out.append(d.value)
    for rd in rdoms_of(f).values():
        out.extend(x for b in rd.bounds for x in b)
        out.extend(rd.predicates)
    return out


def rdoms_of(f: Func) -> dict:
    found = {}
    for d in f.definitions:
        for e in (*d.lhs, d.value):
            for v in find(e, lambda x: isinstance(x, (RVar, Reduce))):
                found[v.rdom.name] = v.rdom
    return found


def sources_of(f: Func) -> list:
    loads = []
    for e in exprs_of(f):
        loads.extend(find(e, lambda x: isinstance(x, Load)))
    return [ld.source for ld in loads]


def _register(by_name: dict, obj, what: str):
    prev = by_name.get(obj.name)
    if prev is not None and prev is not obj:
        raise errors.TypeError(f"two different objects are named {obj.name!r} ({prev!r} and "
                               f"{obj!r}); names must be unique within a pipeline")
    by_name[obj.name] = obj


def collect(outputs) -> tuple[list[Func], dict, dict, dict]:
    """(funcs in producer-first order, inputs, params, dims), each dict keyed by name."""
    names, inputs, params, dims = {}, {}, {}, {}
    order, state = [], {}

    def visit(f: Func, path: list):
        if state.get(f.name) == "done":
            return
        if state.get(f.name) == "active":
            cycle = " -> ".join([p.name for p in path[path.index(f):]] + [f.name])
            raise errors.TypeError(f"recursive Funcs: {cycle}; a Func may refer to itself only "
                                   "in its own update definitions")
        state[f.name] = "active"
        for src in sources_of(f):
            if isinstance(src, Input):
                _register(names, src, "Input")
                inputs[src.name] = src
                for s in (*src.shape, *(src.range or ())):
                    _collect_leaves(s, params, dims)
            elif src is not f:
                visit(src, path + [f])
        for e in (*exprs_of(f), *(f.shape or ())):
            _collect_leaves(e, params, dims)
        state[f.name] = "done"
        _register(names, f, "Func")
        order.append(f)

    for out in outputs:
        if not isinstance(out, Func):
            raise errors.TypeError(f"Pipeline outputs must be vx.Func, got {out!r}")
        if not out.defined:
            raise errors.TypeError(f"output Func {out.name!r} has no definition; write "
                                   f"{out.name}[y, x] = ... before building the Pipeline")
        if out.shape is None:
            raise errors.TypeError(f"output Func {out.name!r} needs a declared domain: "
                                   f"vx.Func({out.name!r}, shape=(H, W))")
        visit(out, [])
    for f in order:
        check_definitions(f)
    return order, inputs, params, dims


def _collect_leaves(e: Expr, params: dict, dims: dict):
    for leaf in find(e, lambda x: isinstance(x, (Param, Dim))):
        prev = dims.get(leaf.name) if isinstance(leaf, Dim) else None
        if prev is not None and prev.min != leaf.min:
            raise errors.TypeError(f"Dim {leaf.name!r} is declared with min={prev.min} and with "
                                   f"min={leaf.min}; create it once (vx.Dim({leaf.name!r}, "
                                   f"min=...)) and use that object everywhere")
        (params if isinstance(leaf, Param) else dims)[leaf.name] = leaf


def _check_predicates(f: Func):
    """The where() conditions of the RDoms each definition of ``f`` iterates use only that
    definition's pure Vars (they are evaluated at its points), and a pure definition's do not
    read ``f`` (a recursive definition)."""
    for n, d in enumerate(f.definitions):
        what = "the pure definition" if n == 0 else f"update {n}"
        own = [a.name for a in d.lhs if isinstance(a, Var)]
        for rd in {v.rdom.name: v.rdom for e in (*d.lhs, d.value)
                   for v in find(e, lambda x: isinstance(x, (RVar, Reduce)))}.values():
            for p in rd.predicates:
                stray = sorted({v.name for v in find(p, lambda x: isinstance(x, Var))} - set(own))
                if stray:
                    raise errors.TypeError(
                        f"RDom {rd.name!r}.where({show(p)}) uses Var(s) {stray}, but {what} of "
                        f"{f.name!r}, which iterates {rd.name!r}, has the pure Vars {own}; a "
                        "where() condition may use only those (write it with them)")
                if n == 0 and find(p, lambda x: isinstance(x, Load) and x.source is f):
                    raise errors.TypeError(
                        f"Func {f.name!r} reads itself in a where() predicate of RDom "
                        f"{rd.name!r}, which its pure definition reduces over: a Func cannot "
                        "call itself in its pure definition; compute the condition in another "
                        "Func, or write the recurrence as an update definition")


def _scopes(f: Func):
    """(RDom, what iterates it, the variables in scope there) for every RDom of ``f``'s
    definitions: an update's own RDom sees the update's pure Vars; an inline reduction sees
    those of its definition plus the RVars of the update and of the reductions around it."""
    for n, d in enumerate(f.definitions):
        what = "the pure definition" if n == 0 else f"update {n}"
        pure = {a.name: a for a in d.lhs if isinstance(a, Var)}
        own = {v.name: v for e in (*d.lhs, d.value) for v in rvars_in(e)} if n else {}
        if own:
            yield next(iter(own.values())).rdom, what, pure
        stack = [(d.value, {**pure, **own})] + [(a, {**pure, **own}) for a in d.lhs]
        while stack:
            e, scope = stack.pop()
            if isinstance(e, Reduce):
                yield e.rdom, what, scope
                scope = {**scope, **{v.name: v for v in e.rdom.vars}}
            stack.extend((c, scope) for c in children(e))


def _check_bound_vars(f: Func):
    """RDom bounds may use Dims, ranged Params, constants and the variables in scope where the
    domain is iterated (:func:`_scopes`): the pure Vars of the definition, the RVars around an
    inline reduction; loads from Inputs with a declared value range (:func:`_check_bound_load`),
    not other data. An update's own RDom may depend on a pure Var only
    where the update does not read ``f`` at another point along it (that loop then runs
    outside the RDom's: no per-point bounds)."""
    for rd, what, scope in _scopes(f):
        used = [v for b in rd.bounds for e in b
                for v in find(e, lambda x: isinstance(x, (Var, RVar, Load)))]
        for v in used:
            if isinstance(v, Load):
                _check_bound_load(f, rd, v)
                continue
            if v.name not in scope or (isinstance(v, RVar) and v.rdom_name == rd.name):
                raise errors.TypeError(
                    f"RDom {rd.name!r} of {f.name!r} has bounds depending on {v}, which is "
                    f"not a variable of {what} there ({sorted(scope) or 'none'}); RDom bounds "
                    "may use only Dims, Params, constants and the pure Vars of the Func "
                    "reducing over it (restrict the domain with .where(...))")
        _check_update_order(f, rd, [v for v in used if not isinstance(v, Load)])


def _check_bound_load(f: Func, rd, ld: Load):
    """A bound may load from an Input with a declared value range (its values then bound the
    reads: ``vx.Input("offsets", vx.int32, (B + 1,), range=(0, T))``), not from a Func or an
    Input without one."""
    src = ld.source
    if not isinstance(src, Input) or src.range is None:
        what = (f"the Input {src.name!r}, which declares no value range" if isinstance(src, Input)
                else f"the Func {src.name!r}")
        fix = (f"declare one: vx.Input({src.name!r}, {src.dtype}, (...), range=(lo, hi)), e.g. "
               "range=(0, T) for the offsets of a packed tensor of length T"
               if isinstance(src, Input) else "compute the bound into an Input")
        raise errors.TypeError(
            f"RDom {rd.name!r} of {f.name!r} has bounds depending on the load {ld} from {what}; "
            f"RDom bounds may load only from Inputs with a declared value range ({fix}), or "
            "restrict the domain with .where(...)")


def _check_update_order(f: Func, rd, used: list):
    for n, d in enumerate(f.updates, 1):
        if rd.name not in {v.rdom_name for e in (*d.lhs, d.value) for v in rvars_in(e)}:
            continue
        reads = [ld for e in (*d.lhs, d.value, *rd.predicates)
                 for ld in find(e, lambda x: isinstance(x, Load) and x.source is f)]
        for pos, a in enumerate(d.lhs):
            across = [ld for ld in reads if isinstance(a, Var) and not (
                isinstance(ld.args[pos], Var) and ld.args[pos].name == a.name)]
            if across and any(v.name == a.name for v in used):
                raise errors.TypeError(
                    f"RDom {rd.name!r} of update {n} of {f.name!r} has bounds depending on "
                    f"{a}, but the update reads {f.name} at another point along {a} "
                    f"({across[0]}), so its RDom loop runs outside {a}'s: bounds cannot "
                    f"depend on {a} there; restrict the domain with .where(...) instead")


def check_definitions(f: Func):
    pure = f.definitions[0]
    stray = rvars_in(pure.value)
    if stray:
        raise errors.TypeError(
            f"RDom {stray[0].rdom_name!r} is used outside a reduction in the pure definition of "
            f"{f.name!r}: wrap it in vx.sum/vx.maximum/… or move it to an update definition "
            f"({f.name}[...] = {f.name}[...] + ...)")
    _check_predicates(f)
    _check_bound_vars(f)
    for rd in rdoms_of(f).values():
        unranged = [p for b in rd.bounds for e in b
                    for p in find(e, lambda x: isinstance(x, Param) and x.range is None)]
        if unranged:
            p = unranged[0]
            raise errors.TypeError(
                f"RDom {rd.name!r} of {f.name!r} has a bound depending on Param {p.name!r}, "
                "which has no declared range; bounds inference needs one to size the buffers "
                f"it reads: vx.Param({p.name!r}, vx.{p.dtype}, range=(lo, hi))")
    if f.updates and f.shape is None:
        raise errors.TypeError(f"Func {f.name!r} has update definitions, so it needs a declared "
                               f"domain: vx.Func({f.name!r}, shape=(...))")
    for n, d in enumerate(f.updates, 1):
        rdoms = {v.rdom_name for e in (*d.lhs, d.value) for v in rvars_in(e)}
        if len(rdoms) > 1:
            raise errors.TypeError(f"update {n} of {f.name!r} iterates over several RDoms "
                                   f"{sorted(rdoms)}; use one multi-dimensional RDom")
    for e in exprs_of(f):
        refuse_pending(e, f"Func {f.name!r} (an index or a where() predicate)")
