"""Targets: the three source dialects Vortex prints and the runtimes that compile them."""
from __future__ import annotations

from enum import Enum

from . import errors


class Target(Enum):
    """``"opencl"`` (OpenCL C 1.2), ``"cuda"`` (CUDA C++ via NVRTC), ``"hip"`` (HIP C++ via hiprtc)."""

    OPENCL = "opencl"
    CUDA = "cuda"
    HIP = "hip"

    @staticmethod
    def parse(value) -> "Target":
        if isinstance(value, Target):
            return value
        try:
            return Target(str(value).lower())
        except ValueError:
            raise errors.CompileError(f"unknown target {value!r}; use one of "
                                      f"{[t.value for t in Target]}") from None
