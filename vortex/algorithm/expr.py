"""Expression IR of the algorithm language: frozen dataclasses, built by Python operators.

Every node has a ``dtype``. Binary nodes always hold operands of one type (promotion inserts
explicit :class:`Cast` nodes or typed constants when the node is built), so later passes and
printers never re-derive promotion. ``==`` and ``<`` build comparison nodes, as in Halide, so
nodes are compared structurally with :func:`same` and hashed by structure; truth-testing an
expression raises :class:`vx.TypeError` (use ``vx.select`` or ``&``/``|``).
"""
from __future__ import annotations

import math

import keyword
from dataclasses import dataclass, field, fields
from functools import cached_property

import numpy as np

from .. import errors
from . import dtypes as T
from .operators import BinaryOp, Intrinsic, ReduceOp, UnaryOp  # noqa: F401 (re-exported)


def _key_of(v):
    if isinstance(v, Expr):
        return v.key
    if isinstance(v, tuple):
        return tuple(_key_of(x) for x in v)
    return v


class Expr:
    """Base of all expression nodes (see module docstring)."""

    dtype: T.DType

    # numpy: operators of numpy scalars build nodes, np.sqrt(e) & co. are vx.TypeErrors
    # (see numpy_interop.py).
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from .numpy_interop import array_ufunc
        return array_ufunc(self, ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        from .numpy_interop import array_function
        return array_function(self, func)

    def __array__(self, dtype=None, copy=None):
        from .numpy_interop import to_array
        return to_array(self)

    @cached_property
    def key(self) -> tuple:
        """Structural identity: node class plus the keys of all compared fields."""
        return (type(self).__name__,) + tuple(
            _key_of(getattr(self, f.name)) for f in fields(self) if f.compare)

    def __hash__(self) -> int:
        return hash(self.key)

    def __bool__(self):
        raise errors.TypeError(
            f"the truth value of the expression {self} is symbolic; use vx.select(cond, a, b) "
            "instead of 'if', and & | ~ instead of 'and' 'or' 'not'")

    def __repr__(self) -> str:
        from .printer import show
        return show(self)

    __str__ = __repr__

    def _bin(self, op, other, reflected=False):
        from .construct import binary
        return binary(op, other, self) if reflected else binary(op, self, other)

    def __add__(self, o): return self._bin(BinaryOp.ADD, o)
    def __radd__(self, o): return self._bin(BinaryOp.ADD, o, True)
    def __sub__(self, o): return self._bin(BinaryOp.SUB, o)
    def __rsub__(self, o): return self._bin(BinaryOp.SUB, o, True)
    def __mul__(self, o): return self._bin(BinaryOp.MUL, o)
    def __rmul__(self, o): return self._bin(BinaryOp.MUL, o, True)
    def __truediv__(self, o): return self._bin(BinaryOp.DIV, o)
    def __rtruediv__(self, o): return self._bin(BinaryOp.DIV, o, True)
    def __floordiv__(self, o): return self._bin(BinaryOp.FLOORDIV, o)
    def __rfloordiv__(self, o): return self._bin(BinaryOp.FLOORDIV, o, True)
    def __mod__(self, o): return self._bin(BinaryOp.MOD, o)
    def __rmod__(self, o): return self._bin(BinaryOp.MOD, o, True)
    def __pow__(self, o): return self._bin(BinaryOp.POW, o)
    def __rpow__(self, o): return self._bin(BinaryOp.POW, o, True)
    def __lshift__(self, o): return self._bin(BinaryOp.SHL, o)
    def __rlshift__(self, o): return self._bin(BinaryOp.SHL, o, True)
    def __rshift__(self, o): return self._bin(BinaryOp.SHR, o)
    def __rrshift__(self, o): return self._bin(BinaryOp.SHR, o, True)
    def __and__(self, o): return self._bin(BinaryOp.AND, o)
    def __rand__(self, o): return self._bin(BinaryOp.AND, o, True)
    def __or__(self, o): return self._bin(BinaryOp.OR, o)
    def __ror__(self, o): return self._bin(BinaryOp.OR, o, True)
    def __xor__(self, o): return self._bin(BinaryOp.XOR, o)
    def __rxor__(self, o): return self._bin(BinaryOp.XOR, o, True)
    def __eq__(self, o): return self._bin(BinaryOp.EQ, o)  # type: ignore[override]
    def __ne__(self, o): return self._bin(BinaryOp.NE, o)  # type: ignore[override]
    def __lt__(self, o): return self._bin(BinaryOp.LT, o)
    def __le__(self, o): return self._bin(BinaryOp.LE, o)
    def __gt__(self, o): return self._bin(BinaryOp.GT, o)
    def __ge__(self, o): return self._bin(BinaryOp.GE, o)

    def __neg__(self):
        from .construct import unary
        return unary(UnaryOp.NEG, self)

    def __invert__(self):
        from .construct import unary
        return unary(UnaryOp.INVERT, self)

    def __abs__(self):
        from .construct import unary
        return unary(UnaryOp.ABS, self)

    def __pos__(self):
        return self


def same(a: Expr, b: Expr) -> bool:
    """Structural equality of two expressions (``==`` builds a comparison instead)."""
    return a.key == b.key


def check_name(name: str, what: str) -> str:
    """Names become C identifiers in generated code, so they must be Python identifiers."""
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name) \
            or name.startswith("_"):
        raise errors.TypeError(f"{what} name {name!r} is not a valid identifier; use letters, "
                               "digits and '_' (not leading), e.g. 'blur_x'")
    return name


node = dataclass(frozen=True, eq=False)


@node
class Const(Expr):
    """A typed constant."""

    value: int | float | bool
    dtype: T.DType

    @staticmethod
    def make(value, dtype: T.DType) -> "Const":
        dtype = T.as_dtype(dtype)
        if isinstance(value, Expr):
            raise errors.TypeError(f"{dtype}({value}) needs a Python number; use vx.cast")
        if dtype.is_bool:
            return Const(bool(value), dtype)
        if dtype.is_float:
            return Const(float(value), dtype)
        if isinstance(value, (float, np.floating)) and not float(value).is_integer():
            raise errors.TypeError(f"{value!r} is not an integer; cannot make a {dtype} constant "
                                   "(use vx.cast to convert a float expression)")
        iv = int(value)
        lo, hi = dtype.value_range()
        if not lo <= iv <= hi:
            raise errors.TypeError(f"Python integer {iv} is out of range for {dtype} "
                                   f"[{lo}, {hi}]; use a wider type via vx.cast")
        return Const(iv, dtype)


@node
class Var(Expr):
    """A pure variable of a Func's domain (int32), as Halide's ``Var``. Found by name."""

    name: str

    def __post_init__(self):
        check_name(self.name, "Var")

    @property
    def dtype(self) -> T.DType:
        return T.int32


@node
class Dim(Expr):
    """A symbolic size (int32, ≥ 1) bound from the inputs' shapes at call time:
    ``vx.Dim("W")``, or ``vx.Dim("W", min=34)``.

    ``min=`` (an int ≥ 1, default 1) is a fact bounds inference and the prover use (Halide
    states such facts with ``set_estimate``/``bound``): a program whose accesses are in bounds
    only for ``W >= 34`` (an output of ``W // 2`` points reading ``img[x + 17]``) is accepted
    with it. Every call
    checks it (vx.InputError when a size is smaller). ``min`` is not compared: two Dims are the
    same size when their names are equal; a pipeline that gives one name two minimums is a
    vx.TypeError. Raises vx.TypeError for a ``min`` that is not an integer ≥ 1.
    """

    name: str
    min: int = field(default=1, compare=False)

    def __post_init__(self):
        check_name(self.name, "Dim")
        if isinstance(self.min, bool) or not isinstance(self.min, (int, np.integer)) \
                or self.min < 1:
            raise errors.TypeError(f"Dim {self.name!r}: min={self.min!r} must be an integer "
                                   ">= 1 (sizes are at least 1)")
        object.__setattr__(self, "min", int(self.min))

    @property
    def dtype(self) -> T.DType:
        return T.int32


@node
class Param(Expr):
    """A run-time scalar argument (Halide's ``Param``): ``vx.Param("gain", vx.float32)``.

    ``range=(lo, hi)`` (inclusive), or ``min=``/``max=`` (either or both, Halide's
    ``Param::set_range``), are facts bounds inference uses: an integer Param may then size an
    RDom or index an array, and a float one bounds a cast to int. They are checked at every call
    (vx.InputError when violated). Raises vx.TypeError for a range on a bool Param, lo > hi, or
    both ``range=`` and ``min=``/``max=``. ``secret=True`` puts the Param under the
    constant-time check (vortex/algorithm/secret.py, docs/constant_time.md).
    """

    name: str
    dtype: T.DType
    range: tuple | None = None
    min: object = None
    max: object = None
    secret: bool = field(default=False, compare=False)

    def __post_init__(self):
        check_name(self.name, "Param")
        object.__setattr__(self, "dtype", T.as_dtype(self.dtype))
        if self.min is not None or self.max is not None:
            if self.range is not None:
                raise errors.TypeError(f"Param {self.name!r}: give range=(lo, hi) or min=/max=, "
                                       "not both")
            lo, hi = self.dtype.value_range() or (-math.inf, math.inf)
            object.__setattr__(self, "range", (lo if self.min is None else self.min,
                                               hi if self.max is None else self.max))
            object.__setattr__(self, "min", None)
            object.__setattr__(self, "max", None)
        if self.range is not None:
            number = int if self.dtype.is_int else float
            if self.dtype.is_bool or len(self.range) != 2 or self.range[0] > self.range[1]:
                raise errors.TypeError(f"Param {self.name!r}: range=(lo, hi) (or min=/max=) "
                                       "needs a number dtype and lo <= hi")
            object.__setattr__(self, "range", tuple(number(v) for v in self.range))


@node
class RVar(Expr):
    """One dimension of an RDom (int32); ``rdom`` is the owning handle (not compared)."""

    rdom_name: str
    index: int
    rdom: object = field(compare=False, repr=False)

    @property
    def dtype(self) -> T.DType:
        return T.int32

    @property
    def name(self) -> str:
        return self.rdom.var_name(self.index)


@node
class BinOp(Expr):
    op: BinaryOp
    a: Expr
    b: Expr
    dtype: T.DType


@node
class UnOp(Expr):
    op: UnaryOp
    a: Expr
    dtype: T.DType


@node
class Select(Expr):
    """``cond ? true_value : false_value``. ``branch_free`` (set by the constant-time check on
    a secret condition, vortex/algorithm/secret.py) asks the printers for a mask blend of both
    values instead of a conditional expression."""

    cond: Expr
    true_value: Expr
    false_value: Expr
    dtype: T.DType
    branch_free: bool = False


@node
class Cast(Expr):
    dtype: T.DType
    value: Expr


@node
class Call(Expr):
    """A math intrinsic applied to ``args`` (all of the node's dtype)."""

    fn: Intrinsic
    args: tuple
    dtype: T.DType


@node
class Load(Expr):
    """``source[args]``: a read of an Input or a Func, found by ``name``."""

    name: str
    args: tuple
    dtype: T.DType
    source: object = field(compare=False, repr=False)


@node
class TupleValue(Expr):
    """The value of a definition of a Tuple-valued Func (``f[x] = (a, b)``, Halide's
    ``Tuple``): ``values``, one per element. It is never an operand: it has no single type
    (``dtype`` raises vx.TypeError); elements are read as ``f[x][i]``, a :class:`Load` of the
    element buffer ``"f.i"``."""

    values: tuple

    @property
    def dtype(self) -> T.DType:
        raise errors.TypeError(f"the Tuple {self} has no single type; use one of its elements "
                               "(f[x][0], f[x][1], …)")


def element_name(func: str, i: int) -> str:
    """The name of element ``i`` of Tuple-valued Func ``func``: its buffer and its Loads."""
    return f"{func}.{i}"


@node
class Reduce(Expr):
    """An inline reduction of ``body`` over every point of the RDom ``rdom_name`` (in its order)."""

    op: ReduceOp
    body: Expr
    rdom_name: str
    dtype: T.DType
    rdom: object = field(compare=False, repr=False)
