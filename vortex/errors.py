"""The one error family of Vortex.

Every user-facing failure is a :class:`VortexError`; the subclass says which layer
found it, and the message names what to change (the Func, the access, the directive,
the input). The built-in base (``TypeError``, ``IndexError``, ``ValueError`` …) is kept as
a second base so that code catching the built-in exception still works.
"""
from __future__ import annotations

import builtins

__all__ = [
    "VortexError", "TypeError", "BoundsError", "ScheduleError", "CompileError",
    "InputError", "DeviceError", "TuningError", "SecretError",
]


class VortexError(Exception):
    """Base class of every error Vortex raises on purpose."""


class TypeError(VortexError, builtins.TypeError):  # noqa: A001 - vx.TypeError by contract
    """The algorithm is ill-typed or ill-formed: bad promotion, bitwise op on floats,
    an undefined or recursive Func, an RDom used outside a reduction, wrong arity."""


class BoundsError(VortexError, builtins.IndexError):
    """An access could not be proven in bounds by symbolic bounds inference
    (this includes mismatched shapes such as ``A[i, k] * B[k, j]`` with B of shape (N, K))."""


class ScheduleError(VortexError, builtins.ValueError):
    """A schedule directive (or schedule file entry) cannot be applied."""


class CompileError(VortexError, builtins.RuntimeError):
    """The target compiler rejected generated source; carries the log and the source lines."""


class InputError(VortexError, builtins.ValueError):
    """Arguments at the call do not match the pipeline's Inputs/Params (names, dtype, rank, shape)."""


class DeviceError(VortexError, builtins.RuntimeError):
    """No usable device or driver for the requested target."""


class TuningError(VortexError, builtins.RuntimeError):
    """The autotuner cannot proceed (empty space, no valid trial, bad storage)."""


class SecretError(VortexError, builtins.ValueError):
    """A value derived from a secret Input or Param (``secret=True``) would make the kernel's
    timing depend on it: it decides a branch or a loop bound, is a load or store index, or feeds
    a variable-time operation (docs/constant_time.md). Raised when the Pipeline is built."""
