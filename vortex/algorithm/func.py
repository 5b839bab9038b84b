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
from .expr import Cast, Const, Expr, Load, Param, RVar, TupleValue, Var, check_name, element_name
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
    ``secret=True`` puts its values under the constant-time check (docs/constant_time.md).

    ``range=(lo, hi)`` (integer Inputs): every element lies in ``[lo, hi]`` (inclusive; ints or
    expressions of Dims, e.g. ``(0, T)`` for the offsets of a packed tensor of length ``T``).
    Bounds inference uses it for the values loaded (an RDom ``vx.RDom(offsets[b], offsets[b + 1]
    - offsets[b])`` then provably reads ``[0, T)``), and every call checks it before any launch
    (vx.InputError naming the input and its first element outside). Raises vx.TypeError for a
    range on a float or bool Input or one that is not two integer expressions of Dims.

    ``monotone=True`` (1-D integer Inputs): the values never decrease, ``x[i] <= x[i + 1]`` (the
    offsets of a packed batch). The ``ragged_split`` schedule directive relies on it, and every
    call checks it before any launch (vx.InputError naming the input, the first ``i`` with
    ``x[i] > x[i + 1]`` and both values). Raises vx.TypeError on an Input of another dtype or
    rank.
    """

    name: str
    dtype: T.DType
    shape: tuple
    secret: bool = False
    range: tuple | None = None
    monotone: bool = False

    def __post_init__(self):
        check_name(self.name, "Input")
        object.__setattr__(self, "dtype", T.as_dtype(self.dtype))
        object.__setattr__(self, "shape", _shape(self.shape, f"Input {self.name!r}"))
        if self.range is not None:
            object.__setattr__(self, "range", _value_range(self))
        if self.monotone and (not self.dtype.is_int or len(self.shape) != 1):
            raise errors.TypeError(f"Input {self.name!r}: monotone=True needs a 1-D integer "
                                   f"Input (offsets), got {self.dtype} of shape "
                                   f"({', '.join(map(str, self.shape))})")

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __getitem__(self, key) -> Load:
        return Load(self.name, _index(f"Input {self.name!r}", self.ndim, key), self.dtype, self)

    def __repr__(self) -> str:
        secret = ", secret=True" if self.secret else ""
        rng = f", range=({self.range[0]}, {self.range[1]})" if self.range else ""
        rng += ", monotone=True" if self.monotone else ""
        return (f"Input({self.name!r}, {self.dtype}, ({', '.join(map(str, self.shape))}){secret}"
                f"{rng})")


def _value_range(inp: Input) -> tuple:
    """An Input's declared ``range=(lo, hi)`` as two int32 Exprs of Dims and constants."""
    rng = inp.range
    if not inp.dtype.is_int or not isinstance(rng, (tuple, list)) or len(rng) != 2:
        raise errors.TypeError(f"Input {inp.name!r}: range=(lo, hi) needs an integer dtype and "
                               f"two bounds (ints or expressions of vx.dims), got {rng!r} for "
                               f"{inp.dtype}")
    return _shape(tuple(rng), f"Input {inp.name!r} range")


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
        """The value type (vx.TypeError for a Tuple-valued Func: see :attr:`dtypes`)."""
        if self.is_tuple:
            raise errors.TypeError(f"Func {self.name!r} is Tuple-valued, of types "
                                   f"({', '.join(map(str, self.dtypes))}); read one element: "
                                   f"{self.name}[...][0]")
        if not self.definitions:
            raise errors.TypeError(f"Func {self.name!r} has no definition yet")
        return self.definitions[0].value.dtype

    @property
    def root_by_default(self) -> bool:
        """Computed at root unless scheduled otherwise (Halide's default for Funcs with update
        definitions; also for Tuple-valued Funcs, which are never inlined)."""
        return bool(self.updates) or self.is_tuple

    @property
    def is_tuple(self) -> bool:
        """Whether the Func is Tuple-valued (``f[x] = (a, b)``)."""
        return bool(self.definitions) and isinstance(self.definitions[0].value, TupleValue)

    @property
    def dtypes(self) -> tuple:
        """The type of each element (one for a plain Func)."""
        v = self.definitions[0].value
        return tuple(e.dtype for e in v.values) if self.is_tuple else (v.dtype,)

    @property
    def buffers(self) -> tuple:
        """(buffer name, dtype) per element: ``f`` itself, or ``f.0``, ``f.1``, … for a
        Tuple-valued Func."""
        if not self.is_tuple:
            return ((self.name, self.dtype),)
        return tuple((element_name(self.name, i), t) for i, t in enumerate(self.dtypes))

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
        args = _index(f"Func {self.name!r}", self.ndim, key)
        if self.is_tuple:
            return TupleCall(self, args)
        return Load(self.name, args, self.dtype, self)

    def __setitem__(self, key, value):
        args = _index(f"Func {self.name!r}", self.ndim, key)
        if isinstance(value, TupleCall):
            value = tuple(value)
        if isinstance(value, (tuple, list)):
            return self._define_tuple(args, value)
        if self.is_tuple:
            raise errors.TypeError(f"{self.name!r} is Tuple-valued ({len(self.dtypes)} "
                                   f"elements): assign a tuple of {len(self.dtypes)} values")
        if not self.definitions:
            self._define_pure(args, lift(value))
        else:
            self._define_update(args, value)

    def _define_tuple(self, args, values):
        """``f[...] = (a, b, …)``: a Tuple-valued pure definition, or an update of one (each
        element cast to its type as a plain update's value is); all elements of an update are
        computed from the values before it, then stored (Halide's Tuple semantics)."""
        if len(values) < 2:
            raise errors.TypeError(f"a Tuple value of {self.name!r} needs at least two elements, "
                                   f"got {len(values)}; assign a plain value instead")
        if not self.definitions:
            return self._define_pure(args, TupleValue(tuple(lift(v) for v in values)))
        if not self.is_tuple or len(values) != len(self.dtypes):
            want = f"{len(self.dtypes)} elements" if self.is_tuple else "one value"
            raise errors.TypeError(f"update of {self.name!r} assigns a Tuple of {len(values)} "
                                   f"elements, but {self.name!r} has {want}")
        typed = []
        for i, (v, t) in enumerate(zip(values, self.dtypes)):
            e = lift(v)
            if e.dtype != t:
                if isinstance(v, Expr) or hasattr(v, "_as_expr"):
                    raise errors.TypeError(
                        f"element {i} of an update of {self.name!r} has type {e.dtype} but "
                        f"element {i} of {self.name!r} is {t}; wrap it in vx.cast(vx.{t}, …)")
                e = to_type(v, t)
            typed.append(e)
        self._define_update(args, TupleValue(tuple(typed)))

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
        args, v = resolve(self.name, args, value if isinstance(value, TupleValue) else
                          lift(value))
        t = None if isinstance(v, TupleValue) else self.dtype
        if t is not None and v.dtype != t:
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


class TupleCall:
    """``f[x]`` of a Tuple-valued Func: index it for an element, ``f[x][0]`` (a Load of the
    element buffer ``f.0``); it unpacks as a tuple (``a, b = f[x]``) and may be assigned whole
    (``g[x] = f[x]`` for a Tuple-valued ``g``). Using it as a single value is a vx.TypeError."""

    def __init__(self, func: Func, args: tuple):
        self.func, self.args = func, args

    def __getitem__(self, i: int) -> Load:
        n = len(self.func.dtypes)
        if not isinstance(i, int) or isinstance(i, bool) or not -n <= i < n:
            raise errors.TypeError(f"{self.func.name!r} has {n} Tuple elements; index "
                                   f"{self.func.name}[...] with 0 … {n - 1}, not {i!r}")
        i %= n
        return Load(element_name(self.func.name, i), self.args, self.func.dtypes[i], self.func)

    def __len__(self) -> int:
        return len(self.func.dtypes)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def _as_expr(self):
        raise errors.TypeError(f"{self.func.name}[{', '.join(map(str, self.args))}] is a Tuple "
                               f"of {len(self)} elements; use one: "
                               f"{self.func.name}[{', '.join(map(str, self.args))}][0]")


def rvars_in(e: Expr) -> list:
    """RVars that appear free in ``e``: outside any inline reduction over their RDom (an update's
    RVars stay free inside ``vx.sum(…, over=k)``), in pre-order."""
    return free_rvars(e)


def _not_a_value(opname):
    def method(self, *args):
        return self._as_expr()      # raises: a Tuple is not one value
    method.__name__ = opname
    return method


for _op in ("add radd sub rsub mul rmul truediv rtruediv floordiv rfloordiv mod rmod pow rpow "
            "lt le gt ge neg abs and rand or ror xor rxor").split():
    setattr(TupleCall, f"__{_op}__", _not_a_value(f"__{_op}__"))
