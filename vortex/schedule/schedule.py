"""``vx.Schedule``: how a Pipeline is computed, as an ordered list of directives per Func.

```python
s = vx.Schedule(pipe)
s[C].tile(i, j, yo, xo, yi, xi, 64, 64).gpu_blocks(yo, xo).gpu_threads(yi, xi)
s[blur_x].compute_at(blur, xo).store_in("shared")
s.save("schedules/matmul/nvidia-h100.toml")
s2 = vx.Schedule.load("schedules/matmul/nvidia-h100.toml", pipe)
```
Every Stage method appends exactly one directive (:mod:`vortex.schedule.directives`) and checks
it at once; ``validate()`` replays them all from scratch (:mod:`vortex.schedule.replay`). The
schedule is data: two schedules are equal when their pipeline name, directives and metadata are.

Source: Halide's Func scheduling API; TVM's traces (round trip to data and to Python).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

from .. import errors
from ..algorithm.func import Func
from ..algorithm.pipeline import Pipeline
from ..algorithm.rdom import RDom
from . import directives as D
from . import gpu_directives as G
from . import tunable as T
from .args import ArgError, format_call
from .replay import FuncState, PipelineInfo, replay
from .rfactor import rfactored, rfactors
from .stages import parse, update_stage


def _plain(value):
    """A Var, RVar, 1-D RDom, Dim, Func or MemoryType as the plain name a directive holds
    (a vx.Tunable stays as it is)."""
    if isinstance(value, T.Tunable):
        return value
    if isinstance(value, D.MemoryType):
        return value.value
    if isinstance(value, RDom) and value.ndim != 1:
        raise errors.ScheduleError(f"RDom {value.name!r} is {value.ndim}-dimensional; schedule "
                                   f"its vars {value.name}[0] … {value.name}[{value.ndim - 1}] "
                                   "one by one")
    name = getattr(value, "name", None)
    return name if isinstance(name, str) else value


@dataclass
class Schedule:
    """The schedule of ``pipe``: ``directives`` maps a Func name to its list of directives (in
    application order); ``meta`` holds a file's metadata (``target``, ``device``, ``measured``).
    A schedule with vx.Tunable arguments is a search space (:mod:`vortex.schedule.tunable`):
    ``tunables()``, ``sample(params)``.

    ``s[func]`` (a Func or its name) gives the :class:`Stage` to schedule it. Raises
    vx.ScheduleError for an unknown Func and for any directive that cannot be applied.
    """

    pipe: Pipeline = field(compare=False, repr=False)
    directives: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    pipeline: str = field(init=False, default="")

    def __post_init__(self):
        if not isinstance(self.pipe, Pipeline):
            raise errors.ScheduleError(f"vx.Schedule needs a vx.Pipeline, got {self.pipe!r}")
        self.pipeline = self.pipe.name
        self._cache = None

    @property
    def _info(self) -> PipelineInfo:
        """What replay knows of :meth:`computed_pipeline`, rebuilt when its rfactors change."""
        key = tuple((stage, d) for stage, d in rfactors(self.directives))
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, PipelineInfo(self.computed_pipeline()))
        return self._cache[1]

    def computed_pipeline(self) -> Pipeline:
        """The pipeline this schedule computes: ``pipe`` itself, or with its ``rfactor``
        directives applied (new intermediate Funcs ``f_intm``: :mod:`vortex.schedule.rfactor`),
        the one lowering works on. Raises vx.ScheduleError for an rfactor that cannot apply."""
        return rfactored(self.pipe, self.directives)

    def __getitem__(self, func) -> "Stage":
        return Stage(self, self.func_name(func))

    def func_name(self, func) -> str:
        """The stage name of ``func`` (a Func, its name, or an update stage's name
        ``"f.update(n)"``: :mod:`vortex.schedule.stages`) after checking the pipeline has it."""
        return self._info.stage(func.name if isinstance(func, Func) else func)

    def stage_directives(self, name) -> tuple:
        """The directives of one Func, in order (empty tuple when it has none)."""
        return tuple(self.directives.get(self.func_name(name), ()))

    def add(self, func, directive: D.Directive) -> "Schedule":
        """Append one directive object to ``func``'s list and check it (the Stage methods call
        this). On vx.ScheduleError the schedule is left unchanged."""
        name = self.func_name(func)
        if T.directive_class(directive) not in D.DIRECTIVES.values():
            raise errors.ScheduleError(f"not a schedule directive: {directive!r}")
        ds = self.directives.setdefault(name, [])
        ds.append(directive)
        try:
            if isinstance(directive, D.RFactor):
                self._cache = None
            replay(self._info, self._replayable(), strict=False)
        except errors.ScheduleError:
            ds.pop()
            if not ds:
                del self.directives[name]
            raise
        return self

    def copy(self) -> "Schedule":
        """An independent copy (same pipeline; directives are immutable, lists and meta copied)."""
        return Schedule(self.pipe, {k: list(v) for k, v in self.directives.items()},
                        copy.deepcopy(self.meta))

    def validate(self) -> dict[str, FuncState]:
        """Replay every directive from scratch with all checks, including those a later directive
        could have satisfied (store_in("shared") needs compute_at; an inlined Func has no loops;
        block loops enclose thread loops). Returns {Func name: FuncState} (its loops in ``.nest``).
        A search space cannot be lowered: vx.ScheduleError naming its tunables."""
        tunables = self.tunables()
        if tunables:
            raise errors.ScheduleError(
                f"the schedule of {self.pipeline!r} holds tunables ({', '.join(tunables)}): it is "
                "a search space; lower space.sample({...}) or search it with vx.tune")
        return replay(self._info, self.directives, strict=True)

    def check(self):
        """Validate a concrete schedule; replay a search space with each tunable at its first
        choice, without the checks that need every directive's final values (file loading)."""
        if self.tunables():
            replay(self._info, self._replayable(), strict=False)
        else:
            self.validate()

    def loop_vars(self, func) -> list[str]:
        """The loop vars of ``func`` after all its directives, outermost first (in a search
        space: with each tunable at its first choice)."""
        nests = replay(self._info, self._replayable(), strict=False)
        return list(nests[self.func_name(func)].loops)

    def tunables(self) -> dict:
        """{name: vx.Tunable} used by the directives, in order of first use (empty: concrete)."""
        return T.collect(self.directives)

    def sample(self, params: dict) -> "Schedule":
        """The concrete schedule with each tunable set to ``params[name]``, validated (a When
        directive kept only where its condition is True). Raises vx.ScheduleError for missing,
        unknown or out-of-choice params, or a sample that cannot be applied."""
        tunables = self.tunables()
        T.check_params(tunables, params)
        try:
            directives = T.concrete(self.directives, params)
        except ArgError as why:
            raise errors.ScheduleError(f"sample({params}): {why}") from None
        s = Schedule(self.pipe, directives, copy.deepcopy(self.meta))
        s.validate()
        return s

    def _replayable(self) -> dict:
        tunables = self.tunables()
        if not tunables:
            return self.directives
        return T.concrete(self.directives, T.first_choices(tunables))

    def ordered(self) -> list[tuple[str, list]]:
        """(Func name, directives) for the Funcs with directives, consumers first: the order in
        which files and ``to_python`` list them, so compute_at targets are scheduled first (a
        Func computed at an update stage's loop after the update stages)."""
        stages = [n for n in (*self._info.order, *self._info.updates) if self.directives.get(n)]
        first = {stage for stage, _ in rfactors(self.directives)}   # they make the f_intm Funcs
        late = {n for n in stages if any(isinstance(d, D.ComputeAt) and parse(d.func).update
                                         is not None for d in self.directives[n])}
        return [(n, self.directives[n]) for n in
                sorted(stages, key=lambda n: (n not in first, n in late))]

    @classmethod
    def default(cls, pipe: Pipeline) -> "Schedule":
        """A schedule valid for every pipeline (see :mod:`vortex.schedule.default`)."""
        from .default import default_schedule
        return default_schedule(cls(pipe))

    @classmethod
    def load(cls, path: str | Path, pipe: Pipeline) -> "Schedule":
        """Read a ``.toml`` schedule file and validate it against ``pipe``; vx.ScheduleError
        names the file and the entry (``x.toml: [[blur]] entry 3: …``)."""
        from .files import load
        return load(cls(pipe), path)

    @classmethod
    def from_toml(cls, text: str, pipe: Pipeline, where: str = "<toml>") -> "Schedule":
        """Like :meth:`load`, from TOML text (``where`` names it in error messages)."""
        from .files import loads
        return loads(cls(pipe), text, where)

    def save(self, path: str | Path) -> Path:
        """Write ``to_toml()`` to ``path`` (parent directories created); returns the Path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_toml(), encoding="utf-8")
        return path

    def to_toml(self) -> str:
        from .files import to_toml
        return to_toml(self)

    def to_python(self) -> str:
        """Python that rebuilds this schedule with ``vx`` and ``pipe`` in scope."""
        from .files import to_python
        return to_python(self)


class Stage:
    """Handle on one Func of a Schedule; each method appends one directive and returns the
    handle. Vars may be given as vx.Var, RVar, 1-D RDom or str; Funcs as vx.Func or str.
    Directive semantics (before → after loop nests) are in :mod:`vortex.schedule.directives`."""

    def __init__(self, schedule: Schedule, name: str, condition=None):
        self.schedule, self.name, self.condition = schedule, name, condition

    def _add(self, cls, *args) -> "Stage":
        args = [_plain(a) for a in args]
        try:
            directive = T.make(cls, args)
        except ArgError as why:
            raise errors.ScheduleError(f"{format_call(cls.name, args)} on Func {self.name!r}: "
                                       f"{why}") from None
        if self.condition is not None:
            directive = T.When(directive, self.condition)
        self.schedule.add(self.name, directive)
        return self

    def directive(self, name: str, *args) -> "Stage":
        """Append directive ``name`` with its file-form arguments (``directive("pipeline", "ko",
        {"stages": 3})``): what ``to_python`` writes for a tunable directive that has its own
        Python form. Raises vx.ScheduleError for an unknown name."""
        if name not in D.DIRECTIVES:
            raise errors.ScheduleError(f"unknown directive {name!r} on Func {self.name!r} "
                                       f"(known: {', '.join(D.DIRECTIVES)})")
        return self._add(D.DIRECTIVES[name], *args)

    def when(self, condition: T.Tunable) -> "Stage":
        """A handle whose directives apply only in samples where the bool vx.Tunable
        ``condition`` is True: ``space[blur_x].when(ROOT).compute_root().gpu_tile(...)``."""
        T.When(D.ComputeRoot(), condition)  # checks the condition now
        return Stage(self.schedule, self.name, condition)

    def update(self, n: int = 0) -> "Stage":
        """The handle of update definition ``n`` (from 0) of this Func (Halide's
        ``f.update(n)``): its loops are the update's pure Vars then its RVars, scheduled with
        the loop directives, :meth:`atomic`, :meth:`stage` and :meth:`pipeline`. Raises
        vx.ScheduleError when the Func has no update ``n``."""
        if self.name != parse(self.name).func or not isinstance(n, int) or isinstance(n, bool):
            raise errors.ScheduleError(f"{self.name!r}.update({n!r}): update(n) takes an int "
                                       "and applies to a Func's handle, s[f].update(0)")
        return Stage(self.schedule, self.schedule.func_name(update_stage(self.name, n)),
                     self.condition)

    def rfactor(self, rvar, var) -> "Stage":
        """Split this associative update into ``f_intm`` with RVar ``rvar`` made the pure Var
        ``var`` and a merge over ``rvar`` (:mod:`vortex.schedule.rfactor`); it must be the
        stage's first directive. Schedule the intermediate as ``s["f_intm"]``."""
        return self._add(D.RFactor, rvar, var)

    def atomic(self) -> "Stage":
        """Commit this update stage's points with atomic operations, so loops whose iterations
        may write the same point can be parallel (see :mod:`vortex.schedule.races`)."""
        return self._add(D.Atomic)

    def split(self, var, outer, inner, factor: int) -> "Stage":
        return self._add(D.Split, var, outer, inner, factor)

    def ragged_split(self, var, offsets, outer, inner, factor: int) -> "Stage":
        """Split ``var`` into tiles of at most ``factor`` rows that never straddle two segments
        of the packed axis cut by Input ``offsets`` (declared ``range=`` and ``monotone=True``);
        ``outer`` counts the tile table (bind it to gpu_blocks). See
        :class:`vortex.schedule.directives.RaggedSplit`."""
        return self._add(D.RaggedSplit, var, offsets, outer, inner, factor)

    def tile(self, y, x, yo, xo, yi, xi, fy: int, fx: int) -> "Stage":
        return self._add(D.Tile, y, x, yo, xo, yi, xi, fy, fx)

    def reorder(self, *vars) -> "Stage":
        """Loops listed outermost first (numpy order; Halide lists innermost first)."""
        return self._add(D.Reorder, *vars)

    def fuse(self, outer, inner, fused) -> "Stage":
        return self._add(D.Fuse, outer, inner, fused)

    def gpu_blocks(self, *vars) -> "Stage":
        return self._add(D.GpuBlocks, *vars)

    def gpu_threads(self, *vars) -> "Stage":
        return self._add(D.GpuThreads, *vars)

    def mma(self, i, j, k, input_precision: str = "ieee") -> "Stage":
        """The innermost loops ``i``, ``j``, ``k`` as one warp-level matrix instruction (tensor
        cores; :class:`vortex.schedule.directives.Mma`); ``input_precision="tf32"`` opts
        float32 inputs into tf32."""
        return self._add(D.Mma, i, j, k, *([{"input_precision": input_precision}]
                                           if input_precision != "ieee" else []))

    def gpu_tile(self, *args) -> "Stage":
        """``gpu_tile(x, bx, tx, 64)`` or ``gpu_tile(y, x, by, bx, ty, tx, 16, 16)`` (k ≤ 3)."""
        return self._add(D.GpuTile, *args)

    def vectorize(self, var, factor: int | None = None) -> "Stage":
        return self._add(D.Vectorize, var, *(() if factor is None else (factor,)))

    def unroll(self, var, factor: int | None = None) -> "Stage":
        return self._add(D.Unroll, var, *(() if factor is None else (factor,)))

    def compute_at(self, func, var) -> "Stage":
        return self._add(D.ComputeAt, func, var)

    def store_at(self, func, var) -> "Stage":
        """Storage at loop ``var`` of ``func``, outside this Func's compute_at loop: a sliding
        window over the serial loops between (Halide's ``store_at``)."""
        return self._add(D.StoreAt, func, var)

    def compute_root(self) -> "Stage":
        return self._add(D.ComputeRoot)

    def compute_inline(self) -> "Stage":
        return self._add(D.ComputeInline)

    def store_in(self, memory) -> "Stage":
        """``"global"``, ``"shared"`` or ``"register"`` (or a vx.MemoryType)."""
        return self._add(D.StoreIn, memory)

    def bound(self, var, min: int, extent: int) -> "Stage":  # noqa: A002 - Halide's name
        return self._add(D.Bound, var, min, extent)

    def specialize(self, condition: tuple) -> "Stage":
        """``specialize(vx.divisible(M, 64))``."""
        if not isinstance(condition, (tuple, list)):
            raise errors.ScheduleError(f"specialize({condition!r}) on Func {self.name!r}: the "
                                       "condition is a tuple such as vx.divisible(M, 64)")
        return self._add(D.Specialize, *condition)

    def stage(self, source, at, memory="shared", swizzle=None) -> "Stage":
        """Stage ``source``'s footprint for one iteration of loop ``at`` (see gpu_directives)."""
        return self._add(G.Stage, source, at, {"memory": memory, "swizzle": swizzle})

    def pipeline(self, loop, stages: int = 2) -> "Stage":
        """Multi-buffer the staged copies of ``loop`` ``stages`` deep."""
        return self._add(G.PipelineStages, loop, {"stages": stages})

    def warp_specialize(self, producers: int = 1) -> "Stage":
        """``producers`` warps copy the staged tiles while the others compute."""
        return self._add(G.WarpSpecialize, producers)

    def swizzle_blocks(self, group: int = 8) -> "Stage":
        """Grouped block rasterization for L2 reuse."""
        return self._add(G.SwizzleBlocks, group)

    def __repr__(self) -> str:
        return f"Stage({self.name!r}, {list(map(str, self.schedule.stage_directives(self.name)))})"
