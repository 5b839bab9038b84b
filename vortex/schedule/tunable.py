"""Tunables: named placeholders for directive arguments; a schedule holding them is a search space.

```python
TI = vx.Tunable.pow2("TI", 1, 32)                  # 1, 2, 4, 8, 16, 32
U = vx.Tunable.range("U", 1, 8)                    # 1, 2, …, 8 (inclusive, as suggest_int)
MEM = vx.Tunable("MEM", ["shared", "register"])    # any choices: ints, floats, bools, words
ROOT = vx.Tunable("ROOT", [True, False])
space = vx.Schedule(pipe)
space[C].tile(i, j, io, jo, ii, ji, TI, 32).gpu_blocks(io, jo).gpu_threads(ii, ji).unroll(k, U)
space[blur_x].when(ROOT).compute_root()            # kept only in samples where ROOT is True
space.tunables()                                   # {"TI": Tunable(...), "U": ..., "ROOT": ...}
s = space.sample({"TI": 8, "U": 4, "ROOT": False}) # a concrete, validated vx.Schedule
```
A Tunable goes wherever a directive takes a value (a number, a name, a word, an option such as
``stages=``): the directive's own ``from_args`` is called with every choice of every Tunable (the
others at their first choice), so no directive needs code of its own to be tunable; the
directive is then held as a :class:`Template` (its class and its arguments, Tunables in place).
Building a space replays it with each Tunable at its first choice (names and structure are
checked at once); the checks that need all values (divisibility, shared memory with compute_at,
device limits) run on each sample (``sample`` validates strictly; the tuner prunes what fails).

In files a Tunable is ``"$NAME"`` plus a ``[tunables]`` table, and a conditional directive has a
``when`` key (so no directive may be called ``when``):
```toml
[tunables]
TI = { pow2 = [1, 32] }
U = { range = [1, 8] }
ROOT = { choices = [true, false] }
[[C]]
tile = ["i", "j", "io", "jo", "ii", "ji", "$TI", 32]
[[blur_x]]
compute_root = []
when = "$ROOT"
```
Source: TVM/Ansor knobs (``cfg.define_split``), Kernel Tuner's ``tune_params``, Optuna's
distributions.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass, field

from .. import errors
from . import args as A
from . import directives as D

# Names a Tunable cannot take: they are the variables of ``Schedule.to_python``'s output.
_TAKEN = frozenset({"s", "vx", "pipe"})


def _scalar(value):
    """A choice as a plain TOML scalar (numpy numbers converted); ArgError for anything else."""
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    raise A.ArgError(f"a choice must be an int, float, bool or string, got {value!r}")


@dataclass(frozen=True)
class Tunable:
    """A named placeholder with a finite tuple of ``choices`` (``vx.Tunable("TILE", [16, 32])``).

    Equal when name and choices are. ``form`` remembers how it was written (``("pow2", 8, 128)``)
    so files and ``to_python`` show it the same way. Raises vx.ScheduleError for a bad name,
    no choices, repeated choices, or a choice that is not an int, float, bool or string.
    """

    name: str
    choices: tuple
    form: tuple = field(default=(), compare=False, repr=False)

    def __post_init__(self):
        if not A.is_name(self.name) or self.name in _TAKEN:
            raise errors.ScheduleError(f"vx.Tunable name {self.name!r} must be an identifier "
                                       f"(no keyword, no leading '_', not {sorted(_TAKEN)})")
        try:
            choices = tuple(_scalar(c) for c in self.choices)
        except (A.ArgError, TypeError) as why:
            raise errors.ScheduleError(f"vx.Tunable {self.name!r}: {why}") from None
        if not choices or len({(type(c), c) for c in choices}) != len(choices):
            raise errors.ScheduleError(f"vx.Tunable {self.name!r} needs distinct choices, got "
                                       f"{list(choices)}")
        object.__setattr__(self, "choices", choices)

    @classmethod
    def range(cls, name: str, lo: int, hi: int, step: int = 1) -> "Tunable":
        """Integers ``lo, lo + step, …`` up to ``hi`` inclusive."""
        for v in (lo, hi, step):
            A.check_int(v, f"vx.Tunable.range({name!r}) bound")
        if step < 1 or hi < lo:
            raise errors.ScheduleError(f"vx.Tunable.range({name!r}, {lo}, {hi}, {step}): needs "
                                       "lo <= hi and step >= 1")
        form = ("range", lo, hi) + ((step,) if step != 1 else ())
        return cls(name, tuple(range(lo, hi + 1, step)), form)

    @classmethod
    def pow2(cls, name: str, lo: int, hi: int) -> "Tunable":
        """Powers of two from ``lo`` to ``hi`` inclusive (both powers of two, ``lo <= hi``)."""
        def is_pow2(v):
            return isinstance(v, int) and not isinstance(v, bool) and v > 0 and v & (v - 1) == 0
        if not (is_pow2(lo) and is_pow2(hi) and lo <= hi):
            raise errors.ScheduleError(f"vx.Tunable.pow2({name!r}, {lo!r}, {hi!r}): lo and hi "
                                       "must be powers of two with lo <= hi")
        return cls(name, tuple(1 << e for e in range(lo.bit_length() - 1, hi.bit_length())),
                   ("pow2", lo, hi))

    def __str__(self) -> str:
        return f"${self.name}"

    def __repr__(self) -> str:
        """Python source that rebuilds it (``vx.Tunable.pow2("TILE", 8, 128)``)."""
        if self.form:
            kind, *rest = self.form
            return f'vx.Tunable.{kind}("{self.name}", {", ".join(map(repr, rest))})'
        return f'vx.Tunable("{self.name}", {list(self.choices)!r})'

    def to_table(self) -> dict:
        """The ``[tunables]`` entry: ``{"pow2": [8, 128]}``, ``{"choices": [...]}``."""
        if self.form:
            return {self.form[0]: list(self.form[1:])}
        return {"choices": list(self.choices)}

    @classmethod
    def from_table(cls, name: str, table) -> "Tunable":
        """Inverse of :meth:`to_table`; vx.ScheduleError names what is wrong."""
        if not isinstance(table, dict) or len(table) != 1 or next(iter(table)) not in FORMS:
            raise errors.ScheduleError(f"tunable {name!r} must be one of "
                                       f"{', '.join(f'{{ {k} = [...] }}' for k in FORMS)}, "
                                       f"got {table!r}")
        ((kind, values),) = table.items()
        if not isinstance(values, list):
            raise errors.ScheduleError(f"tunable {name!r}: {kind} takes a list, got {values!r}")
        try:
            return FORMS[kind](name, values)
        except TypeError as why:
            raise errors.ScheduleError(f"tunable {name!r}: {kind} = {values!r}: {why}") from None


FORMS = {
    "choices": lambda name, values: Tunable(name, values),
    "range": lambda name, values: Tunable.range(name, *values),
    "pow2": lambda name, values: Tunable.pow2(name, *values),
}


def map_args(value, fn):
    """``fn`` applied to every leaf of an argument (lists and option tables walked)."""
    if isinstance(value, dict):
        return {k: map_args(v, fn) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [map_args(v, fn) for v in value]
    return fn(value)


def _found(args) -> list:
    out = []
    map_args(args, lambda v: out.append(v) if isinstance(v, Tunable) else None)
    return out


def _fill(args, params: dict) -> list:
    return map_args(list(args), lambda v: params[v.name] if isinstance(v, Tunable) else v)


@dataclass(frozen=True)
class Template:
    """A directive whose arguments hold Tunables: ``cls`` (the directive class) and ``args``
    (its TOML-form arguments). Reads like the directive; ``resolve(params)`` builds it."""

    cls: type
    args: tuple

    @property
    def name(self) -> str:
        return self.cls.name

    def to_args(self) -> list:
        return list(self.args)

    def resolve(self, params: dict):
        return self.cls.from_args(_fill(self.args, params))

    def __str__(self) -> str:
        return f"{self.name}({', '.join(map(str, self.args))})"


def make(cls, args: list):
    """``cls.from_args(args)``, or a :class:`Template` when ``args`` hold Tunables; then
    ``from_args`` is tried with every choice of every Tunable (the others at their first
    choice). Options left at None are dropped (TOML has no null; None is the default).
    Raises args.ArgError naming the tunable and the choice that does not fit."""
    tunables = {t.name: t for t in _found(args)}
    if not tunables:
        return cls.from_args(args)
    args = [{k: v for k, v in a.items() if v is not None} if isinstance(a, dict) else a
            for a in args]
    base = first_choices(tunables)
    for t in tunables.values():
        for choice in t.choices:
            try:
                cls.from_args(_fill(args, {**base, t.name: choice}))
            except A.ArgError as why:
                raise A.ArgError(f"tunable {t.name!r} = {choice!r}: {why}") from None
    return Template(cls, tuple(args))


@dataclass(frozen=True)
class When:
    """``directive``, applied only in the samples where the bool Tunable ``condition`` is True
    (``space[f].when(ROOT).compute_root()``). Reads like the directive it wraps."""

    directive: object
    condition: Tunable

    def __post_init__(self):
        if not isinstance(self.condition, Tunable) or \
                not all(isinstance(c, bool) for c in self.condition.choices):
            raise errors.ScheduleError(f"when({self.condition!r}): the condition must be a "
                                       "vx.Tunable with bool choices, e.g. "
                                       'vx.Tunable("ROOT", [True, False])')

    @property
    def name(self) -> str:
        return self.directive.name

    def to_args(self) -> list:
        return self.directive.to_args()

    def __str__(self) -> str:
        return f"{self.directive} when {self.condition}"


def directive_class(d) -> type:
    """The directive class of a directive, Template or When."""
    d = d.directive if isinstance(d, When) else d
    return d.cls if isinstance(d, Template) else type(d)


def python_call(d) -> str:
    """``.tile("i", "j", …, TI, 32)``: how ``to_python`` writes ``d`` on a Stage. A Template of
    a directive with its own Python form uses the generic ``.directive("pipeline", …)``."""
    when = f".when({d.condition.name})" if isinstance(d, When) else ""
    d = d.directive if isinstance(d, When) else d
    if not isinstance(d, Template):
        return f"{when}.{d.name}({d.python_args()})"
    args = ", ".join(_py(a) for a in d.args)
    if d.cls.python_args is D.Directive.python_args:
        return f"{when}.{d.name}({args})"
    return f'{when}.directive("{d.name}", {args})'


def _py(value) -> str:
    if isinstance(value, Tunable):
        return value.name
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_py(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(map(_py, value)) + "]"
    return f'"{value}"' if isinstance(value, str) else repr(value)


def tunables_of(directive) -> list:
    """The Tunables a directive uses (its condition first), in argument order."""
    cond = [directive.condition] if isinstance(directive, When) else []
    return cond + _found(directive.to_args())


def collect(directives: dict) -> dict:
    """{name: Tunable} over ``{Func: [directive, …]}`` in order of first use. vx.ScheduleError
    when one name is given two different choice lists."""
    found = {}
    for func, ds in directives.items():
        for d in ds:
            for t in tunables_of(d):
                if found.setdefault(t.name, t) != t:
                    raise errors.ScheduleError(
                        f"{d} on Func {func!r}: tunable {t.name!r} is declared twice with "
                        f"different choices ({list(found[t.name].choices)} and "
                        f"{list(t.choices)}); use one vx.Tunable per name")
    return found


def first_choices(tunables: dict) -> dict:
    return {name: t.choices[0] for name, t in tunables.items()}


def check_params(tunables: dict, params: dict):
    """vx.ScheduleError unless ``params`` gives each Tunable one of its choices, and no more."""
    missing = [n for n in tunables if n not in params]
    extra = [n for n in params if n not in tunables]
    if missing or extra:
        raise errors.ScheduleError(f"sample() needs exactly the tunables {list(tunables)}; "
                                   f"missing {missing}, unknown {extra}")
    for name, t in tunables.items():
        v = params[name]
        if not any(_same(v, c) for c in t.choices):
            raise errors.ScheduleError(f"sample(): {name}={v!r} is not one of its choices "
                                       f"{list(t.choices)}")


def _same(value, choice) -> bool:
    """Equal, with bools and numbers kept apart (True is not the choice 1)."""
    return value == choice and isinstance(value, bool) == isinstance(choice, bool)


def _resolve(directive, params):
    """The concrete directive for ``params`` (None: a When whose condition is False)."""
    if isinstance(directive, When):
        return _resolve(directive.directive, params) if params[directive.condition.name] else None
    return directive.resolve(params) if isinstance(directive, Template) else directive


def concrete(directives: dict, params: dict) -> dict:
    """``{Func: [directive, …]}`` with every Tunable replaced by its value in ``params``."""
    out = {}
    for func, ds in directives.items():
        kept = [r for r in (_resolve(d, params) for d in ds) if r is not None]
        if kept:
            out[func] = kept
    return out
