"""What code generation hands to a runtime: source text plus everything needed to launch it.

Sizes that depend on the call (grids, intermediate buffer extents) are sympy expressions of the
pipeline's Dims; a runtime evaluates them with ``Binding.evaluate`` for each call.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..algorithm.dtypes import DType
from ..lower.buffers import BufferArg, BufferRole  # noqa: F401 - re-exported
from ..target import Target


@dataclass(frozen=True)
class ScalarArg:
    """A by-value argument: a Param, or a Dim (int32)."""

    name: str
    dtype: DType


@dataclass(frozen=True)
class Launch:
    """One kernel launch. ``grid``: number of blocks (work-groups) per axis (x, y, z), sympy;
    ``block``: threads per block per axis (ints); ``args``: argument names in signature order;
    ``shared_bytes``: static shared (local) memory of the kernel."""

    entry: str
    grid: tuple
    block: tuple
    args: tuple
    shared_bytes: int = 0


@dataclass(frozen=True)
class KernelSource:
    """Generated code for one pipeline: ``code`` holds every kernel; ``launches`` run in order."""

    target: Target
    pipeline: str
    code: str
    launches: tuple
    buffers: tuple
    scalars: tuple
    outputs: tuple   # output Func names, in call order

    def buffer(self, name: str) -> BufferArg:
        return next(b for b in self.buffers if b.name == name)
