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
    ``shared_bytes``: shared (local) memory of the kernel per block; ``dynamic_shared``: it is
    one dynamic array whose size the launch passes (vortex.codegen.shared_memory);
    ``shared``: its buffers (SharedBuffer: bytes, offset, the directive that made each)."""

    entry: str
    grid: tuple
    block: tuple
    args: tuple
    shared_bytes: int = 0
    dynamic_shared: bool = False
    shared: tuple = ()

    @property
    def dynamic_shared_bytes(self) -> int:
        """The dynamic shared memory a launch passes (``sharedMemBytes``), bytes; 0 if static."""
        return self.shared_bytes if self.dynamic_shared else 0


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
