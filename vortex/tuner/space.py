"""The search space: a schedule with vx.Tunable values, plus the constraints that prune a
configuration before anything is compiled.

``Space(schedule, constraints=("divisible", "device_limits"))``. A configuration (``params``:
tunable name → value) is first sampled into a concrete schedule (``schedule.sample``; a sample
the schedule rules reject is pruned with their message), then each named constraint of
:data:`CONSTRAINTS` may prune it with a reason:

- ``"divisible"``: every split factor (split, tile, gpu_tile, vectorize/unroll with a factor)
  divides the extent of the loop it splits, where that extent is fixed by the shape: the
  declared domain of an output (or of a Func with updates) and reduction domains. No tail
  iterations, no threads idle on a partial tile. (An intermediate's inferred region includes
  its consumers' halo, e.g. H + 4, so its tiles are not held to this rule.)
- ``"device_limits"``: the lowered kernels' launches fit the device: threads per block (total and
  per axis) and shared/local memory bytes per block (``KernelSource.launches``: ``block``,
  ``shared_bytes``; limits from the device, e.g. OpenCL ``max_work_group_size`` and
  ``local_mem_size``) and the grid for this shape.

Source: Kernel Tuner's ``restrictions`` and device-derived limits; TVM's ``define_split``
(factors that divide the extent).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .. import errors
from ..algorithm.binding import Binding
from ..algorithm.bounds import to_sympy
from ..schedule import Schedule
from ..schedule import directives as D
from ..schedule.nest import SplitRecord
from ..schedule.stages import parse, stage_nest
from ..target import Target


@dataclass(frozen=True)
class Context:
    """What the constraints know: the pipeline, the concrete ``shape`` (Dim name → int), the
    ``target`` and the device ``limits`` (None: not checked) and ``arch``."""

    pipe: object
    shape: dict
    target: Target
    limits: object = None
    arch: str | None = None

    def evaluate(self, expr) -> int | None:
        """A size (sympy or Expr of Dims) at this shape; None when it cannot be evaluated."""
        try:
            e = expr if not hasattr(expr, "dtype") else to_sympy(expr)
            return Binding(dict(self.shape), {}, {}).evaluate(e)
        except (ValueError, KeyError, TypeError):
            return None


# ---- divisibility --------------------------------------------------------------------------

def check_divisible(schedule: Schedule, ctx: Context):
    """The first split whose factor does not divide its loop's extent at this shape: each Func's
    directives applied to its loop nest (:class:`vortex.schedule.nest.LoopNest`, the schedule's
    one definition of each directive) over int extents, None where not fixed by the shape."""
    for name, ds in schedule.directives.items():
        if any(isinstance(d, D.ComputeAt) for d in ds):
            continue    # extents are per consumer tile: not known here
        st = parse(name)
        nest = stage_nest(schedule.pipe.func(st.func), st.update, ctx.evaluate)
        for d in ds:
            done = len(nest.records)
            nest.apply(d)
            for rec in nest.records[done:]:
                if isinstance(rec, SplitRecord) and rec.old_extent is not None and not rec.exact:
                    return (f"{d} on Func {name!r}: factor {rec.factor} does not divide the "
                            f"extent {rec.old_extent} of {rec.old!r} (shape {ctx.shape})")
    return None


# ---- device limits -------------------------------------------------------------------------

def check_device_limits(schedule: Schedule, ctx: Context):
    """Lower and print the kernels; the launch that exceeds the device's limits, if any."""
    if ctx.limits is None:
        return None
    from ..codegen import generate
    from ..lower import lower
    from ..runtime.limits import check_launches
    try:
        ks = generate(lower(schedule.pipe, schedule), ctx.target, ctx.arch)
        check_launches(ks, ctx.limits, Binding(dict(ctx.shape), {}, {}))
    except errors.VortexError as why:
        return f"{type(why).__name__}: {why}"
    return None


CONSTRAINTS = {"divisible": check_divisible, "device_limits": check_device_limits}


class Space:
    """A search space: ``schedule`` holds vx.Tunables; ``constraints`` names checks of
    :data:`CONSTRAINTS`, run in order on each sample. Raises vx.TuningError for an unknown
    constraint name or a schedule that is not a vx.Schedule."""

    def __init__(self, schedule: Schedule, constraints=tuple(CONSTRAINTS)):
        if not isinstance(schedule, Schedule):
            raise errors.TuningError(f"the search space must be a vx.Schedule with vx.Tunable "
                                     f"values, got {type(schedule).__name__}")
        unknown = [c for c in constraints if c not in CONSTRAINTS]
        if unknown:
            raise errors.TuningError(f"unknown constraint(s) {unknown} (known: "
                                     f"{', '.join(CONSTRAINTS)})")
        self.schedule, self.constraints = schedule, tuple(constraints)
        self.tunables = schedule.tunables()

    @property
    def size(self) -> int:
        """Number of configurations (product of the choice counts)."""
        return math.prod(len(t.choices) for t in self.tunables.values())

    def grid(self) -> dict:
        """{name: [choices]} for Optuna's GridSampler."""
        return {name: list(t.choices) for name, t in self.tunables.items()}

    def suggest(self, trial) -> dict:
        """Ask an Optuna trial for one value per tunable (integer ranges as ordered ints,
        everything else as categorical choices)."""
        return {name: SUGGEST.get(t.form[:1], _categorical)(trial, t)
                for name, t in self.tunables.items()}

    def configure(self, params: dict, ctx: Context) -> tuple:
        """(concrete Schedule, None), or (None, reason) when ``params`` is pruned."""
        try:
            schedule = self.schedule.sample(params)
        except errors.ScheduleError as why:
            return None, f"invalid schedule: {why}"
        for name in self.constraints:
            why = CONSTRAINTS[name](schedule, ctx)
            if why:
                return None, f"{name}: {why}"
        return schedule, None

    def to_toml(self) -> str:
        """The space as a schedule file (no metadata): part of the study fingerprint."""
        s = self.schedule.copy()
        s.meta = {}
        return s.to_toml()


def _categorical(trial, t):
    return trial.suggest_categorical(t.name, list(t.choices))


def _int_range(trial, t):
    lo, hi, *step = t.form[1:]
    return trial.suggest_int(t.name, lo, hi, step=step[0] if step else 1)


SUGGEST = {("range",): _int_range}
