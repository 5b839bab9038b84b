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

A search space adds ``"$NAME"`` arguments, a ``[tunables]`` table and ``when = "$NAME"`` keys
(see :mod:`vortex.schedule.tunable`).
"""
from __future__ import annotations

import json
import sys

import tomli_w

from .. import errors
from ..target import Target
from . import tunable as T
from .args import format_call
from .directives import DIRECTIVES
from .stages import parse

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

FORMAT = 1
META = {"target": str, "device": str, "measured": dict}   # optional top-level metadata
TUNABLES = "tunables"
RESERVED = ("format", "pipeline", *META, TUNABLES)


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
    when = f'when = "{d.condition}"\n' if isinstance(d, T.When) else ""
    key = name if name.isidentifier() else json.dumps(name)    # "f.update(0)" is quoted
    return f"\n[[{key}]]\n{d.name} = [{args}]\n{when}"


def _literal(a) -> str:
    """A checked directive argument as a TOML literal: a name/word, an int, an inline table
    of options (``{ stages = 3 }``), a tunable (``"$TILE"``) or a tunable's choice."""
    if isinstance(a, dict):
        return "{ " + ", ".join(f"{k} = {_literal(v)}" for k, v in a.items()) + " }"
    if isinstance(a, (list, tuple)):
        return "[" + ", ".join(map(_literal, a)) + "]"
    if isinstance(a, bool):
        return "true" if a else "false"
    if isinstance(a, T.Tunable):
        return f'"{a}"'
    return json.dumps(a) if isinstance(a, str) else str(a)


def _tunables_table(s) -> str:
    """``[tunables]`` with one inline table per tunable (``TILE = { pow2 = [8, 128] }``)."""
    lines = [f"{name} = {_literal(t.to_table())}" for name, t in s.tunables().items()]
    return f"\n[{TUNABLES}]\n" + "\n".join(lines) + "\n" if lines else ""


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
    return tomli_w.dumps(doc) + _tunables_table(s) + "".join(entries)


def _read(path) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except OSError as e:
        raise errors.ScheduleError(f"{path}: cannot read schedule file: {e.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise errors.ScheduleError(f"{path}: not valid TOML: {e}") from None


def _tunables(table, fail) -> dict:
    if not isinstance(table, dict):
        raise fail(f"[{TUNABLES}] must be a table of NAME = {{ choices = [...] }}, got {table!r}")
    try:
        return {name: T.Tunable.from_table(name, t) for name, t in table.items()}
    except errors.ScheduleError as why:
        raise fail(f"[{TUNABLES}]: {why}") from None


def _placeholders(value, tunables: dict, fail):
    """``"$NAME"`` → the Tunable declared in ``[tunables]`` (lists and tables walked)."""
    def one(v):
        if not (isinstance(v, str) and v.startswith("$")):
            return v
        if v[1:] not in tunables:
            raise fail(f"{v!r} is not declared in [{TUNABLES}] (declared: "
                       f"{', '.join(tunables) or 'none'})")
        return tunables[v[1:]]
    return T.map_args(value, one) if isinstance(value, (list, dict)) else one(value)


def _entries(key: str, value, fail, tunables: dict) -> list:
    """The directives of one ``[[Func]]`` array of tables."""
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise fail(f"{key!r} must be an array of tables ([[{key}]]), got {value!r}")
    out = []
    for n, table in enumerate(value, 1):
        where = f"[[{key}]] entry {n}"
        table = dict(table)
        when = table.pop("when", None)
        if len(table) != 1:
            raise fail(f"{where}: holds {len(table)} directive keys ({', '.join(table)}); each "
                       f"[[{key}]] table holds exactly one directive")
        ((name, args),) = table.items()
        cls = DIRECTIVES.get(name)
        if cls is None:
            raise fail(f"{where}: unknown directive {name!r} (known: {', '.join(DIRECTIVES)})")

        def located(msg, where=where):
            return fail(f"{where}: {msg}")
        args = _placeholders(args, tunables, located)
        try:
            d = T.make(cls, args)
            out.append(d if when is None else T.When(d, _placeholders(when, tunables, located)))
        except errors.ScheduleError as why:
            raise located(f"{format_call(name, args)}: {why}") from None
    return out


def load(s, path):
    """Fill the empty schedule ``s`` from the file at ``path`` and validate it; returns ``s``."""
    return _fill(s, _read(path), path)


def loads(s, text: str, where: str):
    """Like :func:`load`, from TOML text; ``where`` starts every error message."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise errors.ScheduleError(f"{where}: not valid TOML: {e}") from None
    return _fill(s, doc, where)


def _fill(s, doc: dict, path):
    def fail(msg):
        return errors.ScheduleError(f"{path}: {msg}")

    fmt = doc.pop("format", None)
    if fmt is None:
        raise fail(f"missing 'format = {FORMAT}' at the top of the file")
    if fmt != FORMAT or isinstance(fmt, bool):
        raise fail(f"format = {fmt!r} is not supported (this Vortex reads format = {FORMAT})")
    name = doc.pop("pipeline", None)
    if name != s.pipeline:
        raise fail(f"the file is for pipeline {name!r}, not {s.pipeline!r}")
    directives = {}
    tunables = _tunables(doc.pop(TUNABLES, {}), fail)
    for key, value in doc.items():
        if key in META:
            _check_meta(key, value, fail)
            s.meta[key] = value
        else:
            directives[key] = _entries(key, value, fail, tunables)
    s.directives = {k: v for k, v in directives.items() if v}
    try:
        for key in directives:      # after the rfactors, which may make Funcs (f_intm)
            if parse(key).func not in s._info.funcs:
                raise fail(f"unknown Func {key!r} (Funcs of {s.pipeline!r}: "
                           f"{', '.join(s._info.funcs)}; other keys: {', '.join(RESERVED)})")
            s._info.stage(key)
        unused = [n for n in tunables if n not in s.tunables()]
        if unused:
            raise fail(f"[{TUNABLES}] declares {', '.join(unused)} but no directive uses it")
        s.check()
    except errors.ScheduleError as e:
        if not hasattr(e, "entry"):
            raise fail(str(e).removeprefix(f"{path}: ")) from None
        raise fail(f"[[{e.func}]] entry {e.entry}: {e}") from None
    return s


def to_python(s) -> str:
    """Copy-pasteable Python rebuilding ``s`` (``vx`` and ``pipe`` in scope)."""
    lines = [f"{name} = {t!r}" for name, t in s.tunables().items()]
    lines.append("s = vx.Schedule(pipe)")
    if s.meta:
        lines.append(f"s.meta = {s.meta!r}")
    for name, ds in s.ordered():
        st = parse(name)
        handle = f's["{st.func}"]' + ("" if st.update is None else f".update({st.update})")
        lines.extend(f'{handle}{T.python_call(d)}' for d in ds)
    return "\n".join(lines) + "\n"
