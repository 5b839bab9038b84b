"""The domains of generated Funcs and the indices a consumer may read them at.

A Func's domain is a tuple of :class:`Axis`: ``n * Dim`` (n = 2 for resampled Inputs and
upsampled outputs, read as ``2 * y + 1`` / ``y // 2``) or a constant extent (histogram bins,
a lookup table). Each axis has one pure Var: ``y`` for ``H``, ``x`` for ``W``, ``c`` for ``C``,
``b`` for a constant extent.

What may be read where (so that most programs pass bounds inference and test the lowering):

- a producer that is *anywhere* (a boundary condition, or a Func built only from such) may be read
  at any bounded index: stencil offsets ``x - 2``, strided ``2 * x + 1``, downsampled ``x // 2``,
  a Param offset, an RDom window ``x + r``, data-dependent ``img[y, u8[y, x]]``;
- any other producer (an Input, a Func with a declared shape, a Func reading those) only inside
  its domain: the consumer's own Var mapped between scales, ``vx.clamp(…, 0, n - 1)``, the
  mirror ``W - 1 - x``, a constant, an RDom over that axis, a clamped data-dependent index.
"""
from __future__ import annotations

from dataclasses import dataclass, field

DIM_VARS = {"C": "c", "H": "y", "W": "x"}
BIN_VAR = "b"


@dataclass(frozen=True)
class Axis:
    dim: str | None   # a Dim name, or None: a constant extent
    n: int = 1        # the extent: n * Dim, or n when dim is None

    def src(self) -> str:
        if self.dim is None:
            return str(self.n)
        return self.dim if self.n == 1 else f"{self.n} * {self.dim}"

    @property
    def var(self) -> str:
        return BIN_VAR if self.dim is None else DIM_VARS[self.dim]

    def same(self, other: "Axis") -> bool:
        """Indexes the same kind of range (one Dim, or one constant extent)."""
        return self.dim == other.dim and (self.dim is not None or self.n == other.n)


@dataclass
class Node:
    """An Input, a boundary condition or a Func of the generated pipeline."""

    name: str
    dtype: str
    axes: tuple
    anywhere: bool
    shaped: bool
    kind: str                       # "input" | "bc" | "func"
    finite: bool = True             # no inf/NaN in its values (False: special float inputs)
    reads: set = field(default_factory=set)
    py: str = ""                    # its Python variable in the source ("" = its name)
    exact: bool = True              # its floats are the same bits everywhere (see exprs.E)

    @property
    def var(self) -> str:
        return self.py or self.name


@dataclass(frozen=True)
class RVar:
    """An RDom variable in scope: ``src`` (``r``, ``rr[1]``); ``axis``: the range it covers when
    it iterates a whole axis, None for a small window used as an offset (``x + r``) on the axes
    of Dim ``dim`` (any Dim when None)."""

    src: str
    axis: Axis | None
    dim: str | None = None


def map_scale(rng, var: str, have: int, want: int) -> str:
    """The in-domain index of an axis of scale ``want`` from a Var over scale ``have``."""
    if have == want:
        return var
    if have == 1:                                    # a 2× finer producer: 2 * y (+ 1)
        return f"2 * {var} + {rng.choice([0, 1])}"
    return f"{var} // 2"                             # a 2× coarser producer


def in_domain(rng, axis: Axis, ctx_axis: Axis | None) -> str:
    """An index always inside ``axis`` from a consumer whose axis of that Dim is ``ctx_axis``."""
    last = f"{axis.src()} - 1" if axis.dim is None or axis.n == 1 else f"({axis.src()}) - 1"
    if ctx_axis is None:
        return rng.choice(["0", last])
    base = map_scale(rng, ctx_axis.var, ctx_axis.n, axis.n)
    roll = rng.random()
    if roll < 0.6:
        return base
    if roll < 0.8:
        return f"vx.clamp({base} + {rng.choice([-2, -1, 1, 3])}, 0, {last})"
    if ctx_axis.n == axis.n and axis.dim is not None:
        return f"{last} - {ctx_axis.var}"
    return base


def anywhere(rng, axis: Axis, ctx_axis: Axis | None, params: list) -> str:
    """A bounded index, possibly outside ``axis``, for a producer defined everywhere."""
    if ctx_axis is None:
        return str(rng.choice([-1, 0, 2, 5]))
    v = ctx_axis.var
    forms = [f"{v} + {rng.choice([1, 2])}", f"{v} - {rng.choice([1, 2])}", f"2 * {v} + 1",
             f"2 * {v}", f"{v} // 2", f"{v} // 2 - 1", f"{v} * 3 // 2", v,
             f"{ctx_axis.src()} - {v}" if ctx_axis.dim else v]
    forms += [f"{v} + {p}" for p in params]
    return rng.choice(forms)
