"""Boundary conditions (Halide's ``BoundaryConditions``): an Input seen as a Func defined
everywhere, so stencils may read past the edges without a vx.BoundsError.

Each returns a new Func named ``<input>_<kind>`` whose domain is unbounded; bounds inference
then proves the wrapped Input is only read inside its shape.

Source: Halide ``BoundaryConditions.h`` (repeat_edge, constant_exterior, mirror_image,
mirror_interior).
"""
from __future__ import annotations

import weakref

from .. import errors
from .construct import is_weak, lift
from .expr import Const, Var
from .func import Func, Input
from .ops import clamp, select


_MADE: "weakref.WeakKeyDictionary[Input, dict]" = weakref.WeakKeyDictionary()


def _wrap(src: Input, kind: str, body, key=()) -> Func:
    """The Func for (src, kind, key), made once: wrapping one input twice gives the same Func,
    so a pipeline never holds two Funcs with the name ``<input>_<kind>``."""
    if not isinstance(src, Input):
        raise errors.TypeError(f"vx.{kind} needs a vx.Input, got {src!r}; boundary conditions "
                               "wrap inputs, whose extents are known")
    made = _MADE.setdefault(src, {})
    if (kind, key) not in made:
        twins = sum(1 for k, _ in made if k == kind)  # another value of constant_exterior
        f = Func(f"{src.name}_{kind}" + (str(twins + 1) if twins else ""))
        xs = tuple(Var(f"{src.name}_d{i}") for i in range(src.ndim))
        f[xs] = body(xs)
        made[(kind, key)] = f
    return made[(kind, key)]


def repeat_edge(src: Input) -> Func:
    """Reads outside the shape return the nearest edge value (clamp-to-edge)."""
    return _wrap(src, "repeat_edge",
                 lambda xs: src[tuple(clamp(x, 0, n - 1) for x, n in zip(xs, src.shape))])


def constant_exterior(src: Input, value) -> Func:
    """Reads outside the shape return ``value``: a Python number becomes a constant of the input's
    dtype (vx.TypeError if it does not fit, e.g. 0.5 for uint8); an Expr promotes as usual."""
    v = Const.make(value, src.dtype) if is_weak(value) else lift(value)

    def body(xs):
        inside = None
        for x, n in zip(xs, src.shape):
            c = (x >= 0) & (x < n)
            inside = c if inside is None else inside & c
        safe = src[tuple(clamp(x, 0, n - 1) for x, n in zip(xs, src.shape))]
        return select(inside, safe, v)
    return _wrap(src, "constant_exterior", body, key=(repr(value),))


def mirror_image(src: Input) -> Func:
    """Reflection that repeats the edge pixel: … 2 1 0 | 0 1 2 … n-1 | n-1 n-2 … (symmetric)."""
    def idx(x, n):
        m = x % (2 * n)
        return clamp(select(m < n, m, 2 * n - 1 - m), 0, n - 1)
    return _wrap(src, "mirror_image", lambda xs: src[tuple(idx(x, n) for x, n in zip(xs, src.shape))])


def mirror_interior(src: Input) -> Func:
    """Reflection about the edge pixel: … 2 1 | 0 1 2 … n-1 | n-2 … (numpy 'reflect')."""
    def idx(x, n):
        period = 2 * n - 2
        m = x % vx_max1(period)
        return clamp(select(m < n, m, period - m), 0, n - 1)
    return _wrap(src, "mirror_interior", lambda xs: src[tuple(idx(x, n) for x, n in zip(xs, src.shape))])


def vx_max1(e):
    from .ops import max as vmax
    return vmax(e, 1)
