"""Binding call arguments to a pipeline: Input arrays, Param scalars and the Dims they fix.

Used by ``pipe.reference`` and by every compiled kernel, so the checks are the same everywhere.
All failures raise :class:`vx.InputError` naming the argument and what to change.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import sympy as sp

from .. import errors
from .bounds import to_sympy
from .expr import Dim
from .symbolic import dim_symbol


@dataclass(frozen=True)
class Binding:
    """Concrete call: ``dims`` name→int, ``arrays`` Input name→array, ``params`` name→numpy scalar."""

    dims: dict
    arrays: dict
    params: dict

    def subs(self) -> dict:
        return {dim_symbol(k): v for k, v in self.dims.items()}

    def evaluate(self, e) -> int:
        """A sympy expression of Dims at these sizes, as a Python int (exact: integers and
        fractions, no floats; a direct tree walk, microseconds per launch size)."""
        return int(exact(sp.sympify(e), self.dims))


def exact(e, dims: dict):
    """Exact value of a sympy integer expression (+, *, integer powers, floor, ceiling, Mod,
    Min, Max over Dims) with Python ints and Fractions."""
    if e.is_Integer:
        return int(e)
    if e.is_Rational:
        return Fraction(int(e.p), int(e.q))
    if e.is_Symbol:
        return dims[e.name]
    args = [exact(a, dims) for a in e.args]
    rule = _EXACT.get(type(e).__name__)
    if rule is None:
        raise ValueError(f"cannot evaluate the size {e}")
    return rule(args)


_EXACT = {
    "Add": sum, "Mul": math.prod, "Pow": lambda a: a[0] ** a[1],
    "floor": lambda a: math.floor(a[0]), "ceiling": lambda a: math.ceil(a[0]),
    "Mod": lambda a: a[0] % a[1], "Min": min, "Max": max,
}


def _dtype_name(dtype) -> str:
    """numpy's name of an array's dtype, also for PyTorch (``torch.float32``) and CuPy."""
    return str(dtype).replace("torch.", "")


def _as_array(name: str, value, contiguous: bool):
    arr = value
    if not hasattr(arr, "shape") or not hasattr(arr, "dtype"):
        try:
            arr = np.asarray(value)
        except Exception:  # noqa: BLE001
            raise errors.InputError(f"input {name!r}: expected an array, got "
                                    f"{type(value).__name__}") from None
    if contiguous and isinstance(arr, np.ndarray) and not arr.flags.c_contiguous:
        raise errors.InputError(f"input {name!r} is not C-contiguous (strides {arr.strides}); "
                                f"pass np.ascontiguousarray({name})")
    return arr


def bind(pipe, kwargs: dict, contiguous: bool = False) -> Binding:
    """Check ``kwargs`` against the pipeline's Inputs, Params and Dims and return a Binding.

    Dims not fixed by any Input's shape may be passed by name as ints (``N=128``).
    Raises vx.InputError for a missing or unknown name, wrong dtype or rank, Dims that disagree
    between inputs, non-positive sizes, a Param outside its declared range, and (when
    ``contiguous``) non-C-contiguous arrays.
    """
    expected = set(pipe.inputs) | set(pipe.params)
    given = dict(kwargs)
    dims = {k: given.pop(k) for k in list(given) if k in pipe.dims and k not in expected}
    missing = sorted(expected - set(given))
    extra = sorted(set(given) - expected)
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {missing}")
        if extra:
            parts.append(f"unexpected {extra}")
        raise errors.InputError(f"pipeline {pipe.name!r}: {'; '.join(parts)}. It takes inputs "
                                f"{sorted(pipe.inputs)} and params {sorted(pipe.params)}")
    for k, v in dims.items():
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise errors.InputError(f"size {k}={v!r} must be a positive integer")
        dims[k] = int(v)
    arrays = {}
    for name, inp in pipe.inputs.items():
        arr = _as_array(name, given[name], contiguous)
        if _dtype_name(arr.dtype) != inp.dtype.name:
            raise errors.InputError(f"input {name!r} must have dtype {inp.dtype}, got {arr.dtype}; "
                                    f"convert it with {name}.astype(np.{inp.dtype})")
        if len(arr.shape) != inp.ndim:
            raise errors.InputError(f"input {name!r} must have {inp.ndim} dimension(s) "
                                    f"({', '.join(map(str, inp.shape))}), got shape {tuple(arr.shape)}")
        arrays[name] = arr
    _bind_dims(pipe, arrays, dims)
    for name, inp in pipe.inputs.items():
        if inp.range is None and not inp.monotone:
            continue
        values = _host(arrays[name])      # one host copy for both checks (offsets have both)
        if inp.range is not None:
            _check_values(name, inp, values, dims)
        if inp.monotone:
            _check_monotone(name, values)
    params = {name: _param(p, given[name]) for name, p in pipe.params.items()}
    return Binding(dims, arrays, params)


def _bind_dims(pipe, arrays: dict, dims: dict):
    where = {}
    for name, inp in pipe.inputs.items():  # plain Dims first: they fix the sizes
        for axis, (s, n) in enumerate(zip(inp.shape, arrays[name].shape)):
            if isinstance(s, Dim):
                if n < 1:
                    raise errors.InputError(f"input {name!r} has size {n} in dimension {axis}; "
                                            "sizes must be at least 1")
                if s.name in dims and dims[s.name] != n:
                    first = where.get(s.name, "the keyword argument")
                    raise errors.InputError(
                        f"inconsistent size {s.name}: {first} says {dims[s.name]} but "
                        f"{name}.shape[{axis}] is {n}; inputs sharing {s.name} must agree")
                dims[s.name] = int(n)
                where.setdefault(s.name, f"{name}.shape[{axis}]")
    unbound = sorted(set(pipe.dims) - set(dims))
    if unbound:
        raise errors.InputError(f"size(s) {unbound} are not fixed by any input's shape; pass them "
                                f"by name, e.g. {unbound[0]}=128")
    for name, d in pipe.dims.items():      # declared minimums (vx.Dim(name, min=))
        if dims[name] < d.min:
            raise errors.InputError(f"size {name}={dims[name]} is below its declared minimum: "
                                    f"vx.Dim({name!r}, min={d.min}); pass a larger input")
    for name, inp in pipe.inputs.items():  # then composite entries (2*N, H // 2) must agree
        for axis, (s, n) in enumerate(zip(inp.shape, arrays[name].shape)):
            want = int(exact(_shape_sympy(s), dims))
            if want != n:
                raise errors.InputError(f"input {name!r}: shape[{axis}] must be {s} = {want} "
                                        f"(from {', '.join(f'{k}={v}' for k, v in dims.items())}), "
                                        f"got {n}")


def _host(arr) -> np.ndarray:
    """A host copy of a device array (CuPy ``.get()``, PyTorch ``.cpu()``) to check its values."""
    if isinstance(arr, np.ndarray):
        return arr
    if hasattr(arr, "get"):
        return np.asarray(arr.get())
    if hasattr(arr, "cpu"):
        return arr.cpu().numpy()
    return np.asarray(arr)


def _check_values(name: str, inp, values: np.ndarray, dims: dict):
    """Every element of Input ``inp`` (``values``: its host copy) within its declared
    ``range=(lo, hi)`` at these sizes: bounds inference relied on it (an RDom bounded by offsets
    reads only where they point)."""
    lo, hi = (int(exact(_shape_sympy(b), dims)) for b in inp.range)
    bad = (values < lo) | (values > hi)
    if bad.any():
        at = tuple(int(i) for i in np.argwhere(bad)[0])
        where = at[0] if len(at) == 1 else at
        raise errors.InputError(
            f"input {name!r}: element {where} is {values[at]}, outside its declared range "
            f"[{inp.range[0]}, {inp.range[1]}] = [{lo}, {hi}] (vx.Input({name!r}, ..., "
            f"range=...)); pass values within it or declare a wider range")


def _check_monotone(name: str, values: np.ndarray):
    """Input ``name`` (``values``: its host copy) declared ``monotone=True`` never decreases
    (ragged_split's tiles rely on it)."""
    bad = np.flatnonzero(values[:-1] > values[1:])
    if bad.size:
        i = int(bad[0])
        raise errors.InputError(
            f"input {name!r}: element {i} is {values[i]} > element {i + 1} = {values[i + 1]}, "
            f"but it is declared monotone (vx.Input({name!r}, ..., monotone=True)): pass "
            "non-decreasing values (offsets: a cumulative sum of lengths >= 0)")


_SHAPES: dict = {}


def _shape_sympy(e):
    """sympy form of a shape entry, computed once per distinct entry."""
    if e.key not in _SHAPES:
        _SHAPES[e.key] = to_sympy(e)
    return _SHAPES[e.key]


def _param(p, value):
    if hasattr(value, "shape") and getattr(value, "shape", ()) != ():
        raise errors.InputError(f"param {p.name!r} is a scalar, got an array of shape {value.shape}")
    if isinstance(value, (bool, np.bool_)) != p.dtype.is_bool:
        raise errors.InputError(f"param {p.name!r} is {p.dtype}, got {value!r}")
    try:
        v = np.asarray(value).astype(p.dtype.np)
    except (TypeError, ValueError):
        raise errors.InputError(f"param {p.name!r} is {p.dtype}, got {value!r}") from None
    if p.dtype.is_int and (not float(np.asarray(value)).is_integer() or int(v) != value):
        raise errors.InputError(f"param {p.name!r} is {p.dtype}; {value!r} is not representable")
    if p.range is not None and not p.range[0] <= v <= p.range[1]:
        raise errors.InputError(f"param {p.name!r}={value} is outside its declared range "
                                f"{list(p.range)}")
    return v[()]
