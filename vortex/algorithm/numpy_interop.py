"""What numpy does with a Vortex expression: operators build expressions, everything else is a
clear vx.TypeError naming the vx function to use.

numpy hands an expression to :meth:`Expr.__array_ufunc__` for every ufunc (``np.sqrt(e)``) and
for the operators of numpy scalars and arrays (``np.float32(2) * e`` is ``np.multiply``), to
``__array_function__`` for its other functions (``np.sum(e)``, ``np.where(c, e, 0)``) and to
``__array__`` when it wants values (``np.array([e, e])``). An expression is symbolic, so:

- an operator ufunc called plainly (``np.multiply(np.float32(2), e)``, no ``out=``/``where=``)
  builds the same node as the Python operator (numpy scalars are typed operands, NEP 50);
- any other ufunc, ufunc method (``np.add.reduce``), numpy function or conversion to an array
  raises :class:`vx.TypeError`; the message names the vx equivalent when there is one
  (``np.sqrt`` → ``vx.sqrt``, ``np.sum`` → ``vx.sum``, ``np.where`` → ``vx.select``), so nothing
  silently becomes an object array.

Source: NEP 13 (``__array_ufunc__``) and NEP 18 (``__array_function__``).
"""
from __future__ import annotations

import numpy as np

from .. import errors
from .expr import BinaryOp, Intrinsic, UnaryOp

_BINARY = {op.ufunc: op for op in BinaryOp}
_UNARY = {np.negative: UnaryOp.NEG, np.invert: UnaryOp.INVERT, np.absolute: UnaryOp.ABS}

# numpy name -> the vx spelling of the same operation.
_HINTS = {
    **{fn.value: f"vx.{fn.value}" for fn in Intrinsic
       if isinstance(getattr(np, fn.value, None), np.ufunc)},
    "rint": "vx.round", "around": "vx.round", "round": "vx.round", "fabs": "vx.abs",
    "minimum": "vx.min", "maximum": "vx.max", "float_power": "vx.pow", "clip": "vx.clamp",
    "where": "vx.select", "sum": "vx.sum", "prod": "vx.product", "max": "vx.maximum",
    "amax": "vx.maximum", "min": "vx.minimum", "amin": "vx.minimum", "argmax": "vx.argmax",
    "argmin": "vx.argmin", "logical_and": "the & operator", "logical_or": "the | operator",
    "logical_not": "the ~ operator", "logical_xor": "the ^ operator",
    "astype": "vx.cast", "interp": "vx.lerp", "choose": "vx.mux",
}


def _refuse(name: str, subject) -> errors.TypeError:
    hint = _HINTS.get(name)
    use = (f"use {hint}(…) instead" if hint and hint.startswith("vx.") else
           f"use {hint} instead" if hint else
           "use the vx functions (vx.exp, vx.select, vx.cast, …; docs/semantics.md) on "
           "expressions, or evaluate the pipeline with pipe.reference(...) to get arrays")
    return errors.TypeError(f"np.{name} cannot be applied to the Vortex expression {subject}: "
                            f"Vortex expressions are symbolic, numpy needs values; {use}")


def array_ufunc(subject, ufunc, method: str, inputs: tuple, kwargs: dict):
    """``Expr.__array_ufunc__`` (``subject`` is the expression numpy handed the call to):
    operator ufuncs build nodes; the rest raise vx.TypeError."""
    from .construct import binary, unary
    plain = method == "__call__" and not kwargs
    # numpy hands its scalars over as 0-d arrays: back to (typed) numpy scalars
    inputs = tuple(v[()] if isinstance(v, np.ndarray) and v.ndim == 0 else v for v in inputs)
    if plain and ufunc in _BINARY and len(inputs) == 2:
        return binary(_BINARY[ufunc], *inputs)
    if plain and ufunc in _UNARY and len(inputs) == 1:
        return unary(_UNARY[ufunc], inputs[0])
    if plain and ufunc is np.positive and len(inputs) == 1:
        return inputs[0]
    name = ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"
    if method == "__call__" and kwargs:
        raise errors.TypeError(
            f"np.{name} with {', '.join(sorted(kwargs))}= cannot write a Vortex expression "
            f"{subject} into an array: expressions are symbolic; use the operator "
            "itself (a + b) to build an expression")
    raise _refuse(name, subject)


def array_function(subject, func):
    """``Expr.__array_function__``: numpy functions never take expressions (vx.TypeError)."""
    raise _refuse(func.__name__, subject)


def to_array(subject):
    """``Expr.__array__``: an expression has no array value (vx.TypeError)."""
    raise errors.TypeError(
        f"the Vortex expression {subject} has no array value (np.array / np.asarray of an "
        "expression): it is symbolic; build expressions with operators and vx functions, and "
        "get arrays from pipe.reference(...) or a compiled kernel")
