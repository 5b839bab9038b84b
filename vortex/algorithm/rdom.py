"""Reduction domains (Halide's ``RDom``): the iteration space of reductions and update definitions.

``vx.RDom(K, name="k")`` iterates k over 0 … K-1. ``vx.RDom((H, W), name="rr")`` is two-dimensional;
``rr[0]`` ranges over H and ``rr[1]`` over W, and the **last dimension is innermost** (numpy/C order,
the one deviation from Halide, whose first RDom dimension is innermost). A dimension may also be
given as ``(min, extent)``: ``vx.RDom([(1, N - 1)], name="r")``, and a one-dimensional domain in
Halide's own spelling, ``vx.RDom(1, N - 1, name="r")`` (min, extent). Halide's multi-dimensional
``RDom(min0, extent0, min1, extent1)`` is refused (vx.TypeError with the Vortex form): its first
dimension is innermost, Vortex's last. ``rr.where(cond)`` restricts the domain to the points where
``cond`` holds (Halide's ``RDom::where``; predicates accumulate, in place).

Bounds are expressions of Dims, constants and integer ``vx.Param``s read at run time (Halide's
nl_means sizes its patch this way): ``vx.RDom(w, name="r")`` with
``w = vx.Param("w", vx.int32, range=(1, 8))``. Such a Param needs its ``range``, which bounds
inference uses to size what the domain reads; without one, building the Pipeline raises
vx.TypeError.

Bounds may also use the variables in scope where the domain is iterated: the pure Vars of the
Func reducing over it (a triangle ``vx.RDom(i + 1, name="k")`` in ``C[i, j] = vx.sum(L[i, k] *
B[k, j])``, a per-row prefix ``vx.RDom(i, name="k")``, a band ``vx.RDom(vx.max(i - 2, 0),
vx.min(i + 3, N) - vx.max(i - 2, 0), name="k")``), the pure Vars of an update iterating it
(``f[i] = f[i] + g[r]``, unless the update reads ``f`` at another point along that Var), and
for an inline reduction the RVars of the update or reductions around it (a triangular solve's
``vx.RDom(r, name="k")`` inside the update over ``r``). Each point then iterates its own range
— the kernel's loop runs from that point's min for that point's extent (no box, no mask), and
bounds inference takes the union over the Var's range. Bounds may load from an Input that
declares the range of its values (a packed batch's ``vx.Input("offsets", vx.int32, (B + 1,),
range=(0, T))``: ``vx.RDom(offsets[b], offsets[b + 1] - offsets[b], name="r")`` runs sequence
``b``'s rows, checked within ``[0, T)`` from the range; docs/semantics.md). A bound using anything
else (a Var of another Func, the domain's own RVars, other loaded data) is a vx.TypeError at
``vx.Pipeline``.
Schedules keep such an RDom's loops inside the loops of the Vars it depends on
(vx.ScheduleError otherwise, naming the directive and the loop); they may split it (guarded by
the point's extent) and unroll or vectorize pure loops inside it, but not bind it to GPU blocks
or threads, fuse it, stage the Func's reads, or rfactor it (vortex/lower/varying.py).

Source: Halide tutorial lesson 9 (update definitions and RDoms), ``Halide::RDom``.
"""
from __future__ import annotations

from typing import Callable

from .. import errors
from .construct import binary, lift
from .dtypes import int32
from .expr import BinaryOp, Const, Expr, Load, RVar, Var, check_name
from .printer import show
from .walk import find, rebuild


def _index_value(v):
    """Python ints in RDom bounds are int32, like the RVars they bound."""
    return Const.make(v, int32) if isinstance(v, int) and not isinstance(v, bool) else lift(v)


class RDom:
    """A (possibly multi-dimensional) reduction domain; a handle found by ``name``.

    ``RDom(extents, name=)`` (see the module docstring) or ``RDom(min, extent, name=)`` (Halide's
    1-D form). Attributes: ``name``; ``bounds``: tuple of (min, extent) Exprs (int32);
    ``predicates``: tuple of bool Exprs. Raises vx.TypeError for a missing name, Halide's
    multi-dimensional positional form, non-integer bounds or a non-bool predicate.
    """

    def __init__(self, extents, *halide, name: str | None = None):
        if halide and isinstance(halide[-1], str) and name is None:  # RDom(K, "k")
            *halide, name = halide
        if len(halide) > 1:
            raise errors.TypeError(_halide_form_hint(name, (extents, *halide)))
        if name is None:
            form = ", ".join(map(_show, (extents, *halide)))
            raise errors.TypeError(f"vx.RDom({form}) needs a name: vx.RDom({form}, name='r')")
        self.name = check_name(name, "RDom")
        if halide:  # Halide's RDom(min, extent)
            extents = [(extents, halide[0])]
        dims = extents if isinstance(extents, (tuple, list)) else (extents,)
        if not dims:
            raise errors.TypeError(f"RDom {name!r} needs at least one dimension")
        bounds = []
        for d in dims:
            lo, ext = d if isinstance(d, (tuple, list)) else (0, d)
            lo, ext = _index_value(lo), _index_value(ext)
            for what, e in (("min", lo), ("extent", ext)):
                if not e.dtype.is_int:
                    raise errors.TypeError(f"RDom {name!r}: {what} {e} must be an integer, "
                                           f"not {e.dtype}")
            bounds.append((lo, ext))
        self.bounds = tuple(bounds)
        self.predicates: tuple = ()
        self.vars = tuple(RVar(self.name, i, self) for i in range(len(self.bounds)))

    @property
    def ndim(self) -> int:
        return len(self.bounds)

    def var_name(self, index: int) -> str:
        return self.name if self.ndim == 1 else f"{self.name}_{index}"

    def __getitem__(self, index: int) -> RVar:
        if not isinstance(index, int) or not 0 <= index < self.ndim:
            raise errors.TypeError(f"RDom {self.name!r} has {self.ndim} dimension(s); "
                                   f"index it with 0 … {self.ndim - 1}, not {index!r}")
        return self.vars[index]

    def where(self, cond) -> "RDom":
        """Restrict the domain to points where ``cond`` (bool Expr) holds; returns self."""
        c = lift(cond)
        if not c.dtype.is_bool:
            raise errors.TypeError(f"RDom {self.name!r}.where(...) needs a bool condition, got "
                                   f"{c} of type {c.dtype}; compare it, e.g. (... ) > 0")
        self.predicates = self.predicates + (c,)
        return self

    def copy(self, name: str, rewrite: Callable[[Expr], Expr] = lambda e: e) -> "RDom":
        """This domain under another ``name`` with RVars of its own: each bound and predicate is
        ``rewrite(e)`` of the original, after this domain's RVars in it became the copy's. The
        name is not checked: the lowering gives the reductions of inlined Funcs domains of their
        own (made names, ``r.f``), so that no RVar substituted into them can be captured."""
        out = object.__new__(RDom)
        out.name = name
        out.vars = tuple(RVar(name, i, out) for i in range(self.ndim))
        own = out.rebind(self.name)
        out.bounds = tuple((rewrite(lo), rewrite(ext)) for lo, ext in self.bounds)
        out.predicates = tuple(rewrite(own(p)) for p in self.predicates)
        return out

    def rebind(self, old: str) -> Callable[[Expr], Expr]:
        """A function replacing the RVars of the domain named ``old`` by this domain's."""
        return lambda e: rebuild(e, lambda n: self.vars[n.index] if isinstance(n, RVar)
                                 and n.rdom_name == old else None)

    def _bound_nodes(self, kinds, key) -> list:
        """The nodes of ``kinds`` the bounds use, each once (by ``key``), in order."""
        found = {}
        for lo, ext in self.bounds:
            for e in (lo, ext):
                for n in find(e, lambda x: isinstance(x, kinds)):
                    found.setdefault(key(n), n)
        return list(found.values())

    def bound_vars(self) -> list:
        """The Vars and RVars the bounds use (each once, in order): the domain of each point of
        the Func reducing over it is its own (a triangle, a band)."""
        return self._bound_nodes((Var, RVar), lambda v: v.name)

    def varying(self, index: int) -> bool:
        """Whether dimension ``index``'s bounds use a Var or an RVar (see :meth:`bound_vars`) or
        load data (an Input with a declared value range: per-sequence offsets)."""
        return any(find(e, lambda x: isinstance(x, (Var, RVar, Load))) for e in self.bounds[index])

    def bound_loads(self) -> list:
        """The loads the bounds use (each once, in order: ``offsets[b]``, ``offsets[b + 1]``)."""
        return self._bound_nodes(Load, lambda ld: ld.key)

    def bound_predicates(self) -> tuple:
        """``min <= r < min + extent`` (bool Exprs) for each dimension whose bounds use a Var:
        the reference evaluator iterates such a dimension over the box of all its points' ranges
        and keeps the points of each one's own range with these."""
        out = []
        for i, (lo, ext) in enumerate(self.bounds):
            if self.varying(i):
                r = self.vars[i]
                out.append(binary(BinaryOp.AND, binary(BinaryOp.LE, lo, r),
                                  binary(BinaryOp.LT, r, binary(BinaryOp.ADD, lo, ext))))
        return tuple(out)

    def _as_expr(self) -> Expr:
        if self.ndim != 1:
            raise errors.TypeError(f"RDom {self.name!r} is {self.ndim}-dimensional; use "
                                   f"{self.name}[0] … {self.name}[{self.ndim - 1}]")
        return self.vars[0]

    def __repr__(self) -> str:
        dims = ", ".join(f"({lo}, {ext})" for lo, ext in self.bounds)
        return f"RDom([{dims}], name={self.name!r})"


def _show(v) -> str:
    if isinstance(v, (tuple, list)):
        inner = ", ".join(map(_show, v)) + ("," if len(v) == 1 and isinstance(v, tuple) else "")
        return f"({inner})" if isinstance(v, tuple) else f"[{inner}]"
    return show(v) if isinstance(v, Expr) else repr(v)


def _halide_form_hint(name, args) -> str:
    label, given = repr(name) if name else "'r'", ", ".join(map(_show, args))
    if len(args) % 2:
        return (f"vx.RDom({given}): give one extent, Halide's (min, extent) of one dimension, or "
                f"a list of (min, extent) pairs, e.g. vx.RDom([(0, H), (0, W)], name={label})")
    pairs = [f"({_show(args[i])}, {_show(args[i + 1])})" for i in range(0, len(args), 2)]
    return (f"vx.RDom({given}) is Halide's multi-dimensional (min, extent, ...) form, which "
            f"Vortex does not take: write vx.RDom([{', '.join(reversed(pairs))}], name={label}) "
            "— a list of (min, extent) pairs whose LAST one is innermost, so Halide's r.x "
            f"(innermost) becomes {name or 'r'}[{len(pairs) - 1}]")


def _delegate(opname):
    def method(self, *args):
        return getattr(self._as_expr(), opname)(*args)
    method.__name__ = opname
    return method


# A 1-D RDom can be used directly as its single RVar: A[i, k] with k = vx.RDom(K, name="k").
for _op in ("add radd sub rsub mul rmul truediv rtruediv floordiv rfloordiv mod rmod pow rpow "
            "lshift rlshift rshift rrshift and rand or ror xor rxor lt le gt ge neg invert abs").split():
    setattr(RDom, f"__{_op}__", _delegate(f"__{_op}__"))

# numpy sees a 1-D RDom as the expression it stands for (numpy_interop.py).
for _hook in ("__array_ufunc__", "__array_function__", "__array__"):
    setattr(RDom, _hook, getattr(Expr, _hook))
