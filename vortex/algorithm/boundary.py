"""Boundary conditions (Halide's ``BoundaryConditions``): an Input, or a Func with a declared
shape, seen as a Func defined everywhere, so stencils may read past the edges without a
vx.BoundsError.

Each returns a new Func named ``<source>_<kind>`` whose domain is unbounded; bounds inference
then proves the wrapped source is only read inside its shape. The source's extents are what the
condition clamps or reflects against, so a Func must declare them (``vx.Func("f", shape=(H, W))``,
as Halide's ``BoundaryConditions`` take explicit bounds for a Func); vx.TypeError otherwise.

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


_MADE: "weakref.WeakKeyDictionary[Input | Func, dict]" = weakref.WeakKeyDictionary()


def _check_source(src, kind: str):
    """An Input, or a defined Func with a declared shape (vx.TypeError naming the fix)."""
    if isinstance(src, Func):
        if src.shape is None:
            raise errors.TypeError(
                f"vx.{kind} needs the extents of {src!r}, which has no declared shape: declare "
                f"them, vx.Func({src.name!r}, shape=(H, W)), so the boundary knows where the "
                "edge is")
        if not src.defined:
            raise errors.TypeError(f"vx.{kind}({src!r}): define {src.name!r} first "
                                   f"({src.name}[...] = ...), then wrap it")
    elif not isinstance(src, Input):
        raise errors.TypeError(f"vx.{kind} needs a vx.Input or a vx.Func with a declared shape, "
                               f"got {src!r}")


def _wrap(src: Input | Func, kind: str, body, key=()) -> Func:
    """The Func for (src, kind, key), made once: wrapping one source twice gives the same Func,
    so a pipeline never holds two Funcs with the name ``<source>_<kind>``."""
    made = _MADE.setdefault(src, {})
    if (kind, key) not in made:
        twins = sum(1 for k, _ in made if k == kind)  # another value of constant_exterior
        f = Func(f"{src.name}_{kind}" + (str(twins + 1) if twins else ""))
        xs = tuple(Var(f"{src.name}_d{i}") for i in range(len(src.shape)))
        f[xs] = body(xs)
        made[(kind, key)] = f
    return made[(kind, key)]


def repeat_edge(src: Input | Func) -> Func:
    """Reads outside the shape return the nearest edge value (clamp-to-edge)."""
    _check_source(src, "repeat_edge")
    return _wrap(src, "repeat_edge",
                 lambda xs: src[tuple(clamp(x, 0, n - 1) for x, n in zip(xs, src.shape))])


def constant_exterior(src: Input | Func, value) -> Func:
    """Reads outside the shape return ``value``: a Python number becomes a constant of the source's
    dtype (vx.TypeError if it does not fit, e.g. 0.5 for uint8); an Expr promotes as usual."""
    _check_source(src, "constant_exterior")
    v = Const.make(value, src.dtype) if is_weak(value) else lift(value)

    def body(xs):
        inside = None
        for x, n in zip(xs, src.shape):
            c = (x >= 0) & (x < n)
            inside = c if inside is None else inside & c
        safe = src[tuple(clamp(x, 0, n - 1) for x, n in zip(xs, src.shape))]
        return select(inside, safe, v)
    return _wrap(src, "constant_exterior", body, key=(repr(value),))


def mirror_image(src: Input | Func) -> Func:
    """Reflection that repeats the edge pixel: … 2 1 0 | 0 1 2 … n-1 | n-1 n-2 … (symmetric)."""
    _check_source(src, "mirror_image")
    def idx(x, n):
        m = x % (2 * n)
        return clamp(select(m < n, m, 2 * n - 1 - m), 0, n - 1)
    return _wrap(src, "mirror_image", lambda xs: src[tuple(idx(x, n) for x, n in zip(xs, src.shape))])


def mirror_interior(src: Input | Func) -> Func:
    """Reflection about the edge pixel: … 2 1 | 0 1 2 … n-1 | n-2 … (numpy 'reflect')."""
    _check_source(src, "mirror_interior")
    def idx(x, n):
        period = 2 * n - 2
        m = x % vx_max1(period)
        return clamp(select(m < n, m, period - m), 0, n - 1)
    return _wrap(src, "mirror_interior", lambda xs: src[tuple(idx(x, n) for x, n in zip(xs, src.shape))])


def vx_max1(e):
    from .ops import max as vmax
    return vmax(e, 1)
