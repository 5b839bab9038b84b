"""The pipeline's global buffers, as lowering decides them: Inputs, outputs and root
intermediates, each with its role, shape and origin (code generation and the runtimes read them
from the lowered program)."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ..algorithm.dtypes import DType


class BufferRole(Enum):
    INPUT = "input"
    OUTPUT = "output"
    INTERMEDIATE = "intermediate"   # a compute_root Func: allocated by the runtime per call


@dataclass(frozen=True)
class BufferArg:
    """A global-memory array argument. ``shape``: sympy extents (row-major, last contiguous);
    ``origin``: sympy coordinate of element [0, …, 0] (non-zero for inferred regions)."""

    name: str
    dtype: DType
    role: BufferRole
    shape: tuple
    origin: tuple
