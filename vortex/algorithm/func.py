"""Inputs and Funcs: the named, typed arrays of an algorithm.

A :class:`Func` is Halide's Func in numpy index order: ``f[y, x] = expr`` gives its *pure
definition* (left-hand side: distinct Vars), and every later assignment ``f[...] = expr`` or
``f[...] += expr`` is an *update definition* applied in order, each over every point of its RDom
(last RDom dimension innermost) and, in parallel, over the pure Vars of its left-hand side.
Outputs declare their domain: ``vx.Func("blur", shape=(H, W))``; an intermediate's domain is
inferred from what its consumers read (Halide's bounds inference).

Source: Halide tutorials 1, 5 and 9 (Func, pure and update definitions).
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import errors
from . import dtypes as T
from .construct import lift, to_type
from .expr import Cast, Const, Expr, Load, Param, RVar, Var, check_name
from .inline_reduce import free_rvars, refuse_pending, resolve
from .walk import find


def _shape(shape, owner: str) -> tuple:
    if shape is None:
        return None
    dims = tuple(Const.make(d, T.int32) if isinstance(d, int) and not isinstance(d, bool)
                 else lift(d) for d in (shape if isinstance(shape, (tuple, list)) else (shape,)))
    for d in dims:
        bad = find(d, lambda e: isinstance(e, (Var, RVar, Load, Param)))
        if not d.dtype.is_int or bad:
            raise errors.TypeError(f"{owner}: shape entries must be integers or expressions of "
                                   f"vx.dims (e.g. H // 2); got {d}")
    return dims


def _index(owner: str, ndim: int | None, key) -> tuple:
    args = key if isinstance(key, tuple) else (key,)
    args = tuple(lift(a) for a in args)
    if ndim is not None and len(args) != ndim:
        raise errors.TypeError(f"{owner} has {ndim} dimension(s) but is indexed with "
                               f"{len(args)}: [{', '.join(map(str, args))}]")
    for a in args:
        if not a.dtype.is_int:
            raise errors.TypeError(f"index {a} of {owner} has type {a.dtype}; indices must be "
                                   "integers (use vx.cast(vx.int32, …) or // for floats)")
    return tuple(_int32_index(a) for a in args)


def _int32_index(a: Expr) -> Expr:
    """An index as int32, the type of Vars and loop counters, so that substituting a call's
    indices for the callee's Vars keeps every expression well typed (``src[0]`` inlines
    ``x % (2 * N)`` as int32, not int64; a uint8 index is not computed modulo 256). A constant
    becomes an int32 constant, another integer type is cast (Halide's check_call_arg_types)."""
    if a.dtype == T.int32:
        return a
    lo, hi = T.int32.value_range()
    if isinstance(a, Const) and lo <= a.value <= hi:
        return Const.make(a.value, T.int32)
    return Cast(T.int32, a)


@dataclass(frozen=True, eq=False)
class Input:
    """A typed input array with a symbolic shape, e.g. ``vx.Input("img", vx.float32, (H, W))``.

    ``shape`` entries are Dims, integers or expressions of Dims; the Dims are bound from the
    arrays passed at the call (vx.InputError when they disagree). Indexing gives a Load.
    """

    name: str
    dtype: T.DType
    shape: tuple

    def __post_init__(self):
        check_name(self.name, "Input")
        object.__setattr__(self, "dtype", T.as_dtype(self.dtype))
        object.__setattr__(self, "shape", _shape(self.shape, f"Input {self.name!r}"))

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __getitem__(self, key) -> Load:
        return Load(self.name, _index(f"Input {self.name!r}", self.ndim, key), self.dtype, self)

    def __repr__(self) -> str:
        return f"Input({self.name!r}, {self.dtype}, ({', '.join(map(str, self.shape))}))"


@dataclass(frozen=True)
class Definition:
    """One definition of a Func: ``lhs`` index expressions and ``value``; ``update`` is False for
    the pure definition (then ``lhs`` are distinct Vars)."""

    lhs: tuple
    value: Expr
    update: bool


class Func:
    """A function over an integer domain, defined by one pure definition and optional updates.

    Args: ``name`` (identifier, unique in the pipeline); ``shape``: the declared domain (required
    for outputs and for Funcs with update definitions), a tuple of Dims/ints/Dim expressions.
    Raises vx.TypeError when used before its pure definition, when a pure left-hand side is not
    distinct Vars, or when an update's value type differs from the pure definition's.
    """

    def __init__(self, name: str, shape=None):
        self.name = check_name(name, "Func")
        self.shape = _shape(shape, f"Func {name!r}")
        self.definitions: list[Definition] = []

    @property
    def defined(self) -> bool:
        return bool(self.definitions)

    @property
    def ndim(self) -> int | None:
        if self.definitions:
            return len(self.definitions[0].lhs)
        return None if self.shape is None else len(self.shape)

    @property
    def dtype(self) -> T.DType:
        if not self.definitions:
            raise errors.TypeError(f"Func {self.name!r} has no definition yet")
        return self.definitions[0].value.dtype

    @property
    def pure_vars(self) -> tuple:
        return self.definitions[0].lhs

    @property
    def updates(self) -> list[Definition]:
        return self.definitions[1:]

    def __getitem__(self, key) -> Load:
        if not self.definitions:
            raise errors.TypeError(
                f"Func {self.name!r} is used before it has a pure definition; define it first "
                f"({self.name}[x, ...] = ...). A Func cannot call itself in its pure definition: "
                "recurrences are update definitions over an RDom")
        return Load(self.name, _index(f"Func {self.name!r}", self.ndim, key), self.dtype, self)

    def __setitem__(self, key, value):
        args = _index(f"Func {self.name!r}", self.ndim, key)
        if not self.definitions:
            self._define_pure(args, lift(value))
        else:
            self._define_update(args, value)

    def _define_pure(self, args, value):
        names = [a.name if isinstance(a, Var) else None for a in args]
        if None in names or len(set(names)) != len(names):
            raise errors.TypeError(
                f"pure definition of {self.name!r}: the left-hand side "
                f"[{', '.join(map(str, args))}] must be distinct Vars (e.g. {self.name}[y, x] = …); "
                "constant or computed indices belong to update definitions after a pure one")
        refuse_pending(value, f"the pure definition of {self.name!r}")
        free = {v.name for v in find(value, lambda e: isinstance(e, Var))}
        missing = sorted(free - set(names))
        if missing:
            raise errors.TypeError(f"pure definition of {self.name!r} uses Var(s) {missing} "
                                   f"that are not on its left-hand side [{', '.join(names)}]")
        self.definitions.append(Definition(args, value, update=False))

    def _define_update(self, args, value):
        t = self.dtype
        args, v = resolve(self.name, args, lift(value))
        if v.dtype != t:
            if isinstance(value, Expr) or hasattr(value, "_as_expr"):
                raise errors.TypeError(
                    f"update of {self.name!r} has type {v.dtype} but {self.name!r} is {t}; "
                    f"wrap the value in vx.cast(vx.{t}, …)")
            v = to_type(value, t)
        pure = [p.name for p in self.pure_vars]
        for pos, a in enumerate(args):
            if isinstance(a, Var) and a.name in pure and pure[pos] != a.name:
                raise errors.TypeError(
                    f"update of {self.name!r}: pure Var {a.name!r} is at position {pos} but must "
                    f"stay at position {pure.index(a.name)}, as in the pure definition "
                    f"[{', '.join(pure)}]")
        lhs_vars = {a.name for a in args if isinstance(a, Var)}
        free = {x.name for x in find(v, lambda e: isinstance(e, Var))}
        for a in args:
            free |= {x.name for x in find(a, lambda e: isinstance(e, Var))}
        if free - lhs_vars:
            raise errors.TypeError(f"update of {self.name!r} uses Var(s) {sorted(free - lhs_vars)} "
                                   "that are not plain left-hand-side indices; use an RDom to "
                                   "iterate over them")
        self.definitions.append(Definition(args, v, update=True))

    def __repr__(self) -> str:
        shape = "" if self.shape is None else f", shape=({', '.join(map(str, self.shape))})"
        return f"Func({self.name!r}{shape})"


def rvars_in(e: Expr) -> list:
    """RVars that appear free in ``e``: outside any inline reduction over their RDom (an update's
    RVars stay free inside ``vx.sum(…, over=k)``), in pre-order."""
    return free_rvars(e)
