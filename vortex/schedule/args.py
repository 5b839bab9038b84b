"""Checking directive arguments: names, ints and counts (``ArgError`` carries no context; the
caller adds the Func, file and entry)."""
from __future__ import annotations

import keyword
import numbers

import numpy as np

from .. import errors


class ArgError(errors.ScheduleError):
    """Bad arguments of one directive; the caller adds the Func / file / entry context."""


def is_name(value) -> bool:
    """A valid Vortex name: a Python identifier, not a Python keyword, no leading '_' (the same
    rule as algorithm names). C, OpenCL, CUDA and HIP words are fine: the printer renames them
    (vortex.codegen.names)."""
    return (isinstance(value, str) and value.isidentifier() and not keyword.iskeyword(value)
            and not value.startswith("_"))


def check_name(value, what: str = "name") -> str:
    if not is_name(value):
        raise ArgError(f"{value!r} is not a valid {what} (letters, digits and '_', not leading; "
                       "not a Python keyword)")
    return value


def check_stage(value) -> str:
    """A stage name: a Func's name or ``"f.update(n)"`` (:mod:`vortex.schedule.stages`)."""
    from .stages import parse
    if isinstance(value, str) and parse(value).update is not None:
        return check_name(parse(value).func) and value
    return check_name(value, "name (a Func's, or \"f.update(n)\" for an update stage)")


def check_int(value, what: str, positive: bool = False) -> int:
    """An int (numpy integers accepted and converted; bools and floats rejected)."""
    if not isinstance(value, numbers.Integral) or isinstance(value, (bool, np.bool_)) \
            or (positive and value < 1):
        raise ArgError(f"{what} must be {'a positive' if positive else 'an'} int, got {value!r}")
    return int(value)


def check_count(args: list, lo: int, hi: int | None = None) -> list:
    hi = lo if hi is None else hi
    if not isinstance(args, (list, tuple)):
        raise ArgError(f"arguments must be a list, got {args!r}")
    if not lo <= len(args) <= hi:
        want = str(lo) if lo == hi else f"{lo} to {hi}"
        raise ArgError(f"takes {want} arguments, got {len(args)}")
    return list(args)


def py_args(args) -> str:
    return ", ".join(f'"{a}"' if isinstance(a, str) else repr(a) for a in args)


def format_call(name: str, args) -> str:
    """``split(x, xo, xi, 8)``: a directive as it reads in messages (odd strings quoted)."""
    shown = [a if is_name(a) else repr(a) for a in args] if isinstance(args, (list, tuple)) \
        else [repr(args)]
    return f"{name}({', '.join(map(str, shown))})"
