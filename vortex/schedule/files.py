"""Schedule files (TOML, via tomllib / tomli-w) and the Python form of a schedule.

```toml
format = 1
pipeline = "matmul"
target = "cuda"                      # optional: opencl | cuda | hip
device = "NVIDIA H100 80GB HBM3"     # optional
[measured]                           # optional, free-form (written by the tuner)
ms = 0.201
[[C]]                                # one table per directive, in order; exactly one key each
tile = ["i", "j", "yo", "xo", "yi", "xi", 128, 128]
[[C]]
gpu_blocks = ["yo", "xo"]
```
A file is data only: it is parsed by tomllib (never evaluated), every name must be a valid
identifier, every directive must be one of ``DIRECTIVES`` with well-typed arguments, and the
whole schedule is validated against the pipeline. Any problem is a vx.ScheduleError that starts
with the file path and the entry (``x.toml: [[blur]] entry 3: unknown directive 'spilt' …``).
"""
from __future__ import annotations

import sys

import tomli_w

from .. import errors
from ..target import Target
from .args import ArgError, format_call
from .directives import DIRECTIVES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

FORMAT = 1
META = {"target": str, "device": str, "measured": dict}   # optional top-level metadata
RESERVED = ("format", "pipeline", *META)


def _check_meta(key: str, value, fail):
    if not isinstance(value, META[key]):
        raise fail(f"{key!r} must be a {'table' if META[key] is dict else 'string'}, got {value!r}")
    if key == "target" and value not in [t.value for t in Target]:
        raise fail(f"unknown target {value!r} (known: {', '.join(t.value for t in Target)})")


def _entry(name: str, d) -> str:
    # Directive arguments are identifiers, fixed words and ints (checked by from_args), so they
    # print as TOML literals directly; one line per directive keeps files diffable (tomli-w
    # would put every array element on its own line).
    args = ", ".join(_literal(a) for a in d.to_args())
    return f"\n[[{name}]]\n{d.name} = [{args}]\n"


def _literal(a) -> str:
    """A checked directive argument as a TOML literal: a name/word, an int, or an inline table
    of options (``{ stages = 3 }``)."""
    if isinstance(a, dict):
        return "{ " + ", ".join(f"{k} = {_literal(v)}" for k, v in a.items()) + " }"
    return f'"{a}"' if isinstance(a, str) else str(a)


def to_toml(s) -> str:
    """The schedule as TOML text (Funcs with directives listed consumers first); metadata is
    written by tomli-w, each directive as one ``[[Func]]`` table on one line."""
    doc = {"format": FORMAT, "pipeline": s.pipeline}
    for key, value in s.meta.items():
        if key not in META:
            raise errors.ScheduleError(f"schedule metadata key {key!r} cannot be saved (known: "
                                       f"{', '.join(META)})")
        _check_meta(key, value, errors.ScheduleError)
        doc[key] = value
    entries = []
    for name, ds in s.ordered():
        if name in RESERVED:
            raise errors.ScheduleError(f"Func {name!r} has the name of a schedule file key "
                                       f"({', '.join(RESERVED)}); rename the Func to save it")
        entries.extend(_entry(name, d) for d in ds)
    return tomli_w.dumps(doc) + "".join(entries)


def _read(path) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except OSError as e:
        raise errors.ScheduleError(f"{path}: cannot read schedule file: {e.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise errors.ScheduleError(f"{path}: not valid TOML: {e}") from None


def _entries(key: str, value, fail) -> list:
    """The directives of one ``[[Func]]`` array of tables."""
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise fail(f"{key!r} must be an array of tables ([[{key}]]), got {value!r}")
    out = []
    for n, table in enumerate(value, 1):
        where = f"[[{key}]] entry {n}"
        if len(table) != 1:
            raise fail(f"{where}: holds {len(table)} directive keys ({', '.join(table)}); each "
                       f"[[{key}]] table holds exactly one directive")
        ((name, args),) = table.items()
        cls = DIRECTIVES.get(name)
        if cls is None:
            raise fail(f"{where}: unknown directive {name!r} (known: {', '.join(DIRECTIVES)})")
        try:
            out.append(cls.from_args(args))
        except ArgError as why:
            raise fail(f"{where}: {format_call(name, args)}: {why}") from None
    return out


def load(s, path):
    """Fill the empty schedule ``s`` from the file at ``path`` and validate it; returns ``s``."""
    def fail(msg):
        return errors.ScheduleError(f"{path}: {msg}")

    doc = _read(path)
    fmt = doc.pop("format", None)
    if fmt is None:
        raise fail(f"missing 'format = {FORMAT}' at the top of the file")
    if fmt != FORMAT or isinstance(fmt, bool):
        raise fail(f"format = {fmt!r} is not supported (this Vortex reads format = {FORMAT})")
    name = doc.pop("pipeline", None)
    if name != s.pipeline:
        raise fail(f"the file is for pipeline {name!r}, not {s.pipeline!r}")
    directives = {}
    for key, value in doc.items():
        if key in META:
            _check_meta(key, value, fail)
            s.meta[key] = value
        elif key not in s._info.funcs:
            raise fail(f"unknown Func {key!r} (Funcs of {s.pipeline!r}: "
                       f"{', '.join(s._info.funcs)}; other keys: {', '.join(RESERVED)})")
        else:
            directives[key] = _entries(key, value, fail)
    s.directives = {k: v for k, v in directives.items() if v}
    try:
        s.validate()
    except errors.ScheduleError as e:
        raise fail(f"[[{e.func}]] entry {e.entry}: {e}") from None
    return s


def to_python(s) -> str:
    """Copy-pasteable Python rebuilding ``s`` (``vx`` and ``pipe`` in scope)."""
    lines = ["s = vx.Schedule(pipe)"]
    if s.meta:
        lines.append(f"s.meta = {s.meta!r}")
    for name, ds in s.ordered():
        lines.extend(f's["{name}"].{d.name}({d.python_args()})' for d in ds)
    return "\n".join(lines) + "\n"
