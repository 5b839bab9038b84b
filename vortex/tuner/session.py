"""A tuning session: one worker's loop over a study (Optuna ask → configure → run → record).

Small discrete spaces make samplers propose configurations again. A configuration the study has
already measured is answered from its record (no device time; the trial gets ``repeat_of``) and
does not count towards ``n_trials``; after :data:`REPEATS` repeats in a row the next trial is an
unmeasured configuration drawn at random (enqueued in the study), and the session stops when the
whole space has been measured.

Timings on a shared machine are noisy and the minimum of many noisy timings is optimistic (the
winner's curse), so :meth:`Session.confirm` re-times the :data:`TOP` fastest configurations and
the default schedule in :data:`ROUNDS` interleaved rounds (each configuration's best round) and
the best is chosen on those times (study attribute ``vortex.confirmed``: trial → ms).
``vx.tune`` wraps this; ``vortex-tune`` drives it directly.
"""
from __future__ import annotations

import datetime
import itertools
import random

from .. import errors
from ..schedule import Schedule
from ..target import Target
from . import study as S
from .device import DeviceInfo, device_info
from .runner import DeviceRunner, Outcome, Status, config_key
from .space import Context, Space
from .strategy import make_sampler
from .tune import Job, TuneResult, make_inputs

REPEATS = 4
TOP, ROUNDS = 3, 3


class TrialFailed(Exception):
    """A trial that ran and failed (wrong result, compile error, crash, timeout)."""


class Session:
    """One worker's view of a study: ``run`` trials, then ``result()``. Arguments as vx.tune's;
    ``seed`` seeds the sampler; ``create=False`` only opens an existing study."""

    def __init__(self, pipe, space, target="opencl", shape=None, inputs=None,
                 storage=S.DEFAULT_STORAGE, study_name=None, sampler="tpe", device=None,
                 runner=None, seed=None, create=True, arch=None):
        self.space = space if isinstance(space, Space) else Space(space)
        target = Target.parse(target)
        info = device if isinstance(device, DeviceInfo) else device_info(target, device, arch)
        inputs, shape = make_inputs(pipe, shape, inputs)
        self.job = Job(pipe, inputs, shape, target, info)
        self.ctx = Context(pipe, shape, target, info.limits, info.arch)
        self.storage = storage
        attrs = S.job_attrs(self.job, self.space.to_toml())
        self.study_name = study_name or S.study_name(self.job, self.space.to_toml())
        self.study = S.open_study(storage, self.study_name,
                                  make_sampler(sampler, self.space, seed), attrs, create)
        self.runner = runner if runner is not None else DeviceRunner()
        self._own = self._repeats = 0

    def done(self) -> int:
        """Configurations measured in the study (by any worker)."""
        return len(S.finished(self.study))

    def run(self, n_trials: int, timeout_s=None, max_trials=None, on_trial=None,
            should_stop=lambda: False, confirm: bool = True) -> None:
        """Run trials until the study holds ``n_trials`` measured configurations, this session
        measured ``max_trials``, ``timeout_s`` passed (checked between trials), the space is
        exhausted or ``should_stop()``; then :meth:`confirm` the best (unless ``confirm`` is
        False: a worker among several, whose parent confirms at the end)."""
        self._own = self._repeats = 0
        if self._left(n_trials, max_trials) <= 0:
            return

        def after(study, trial):
            if on_trial:
                on_trial(trial)
            if should_stop() or self._left(n_trials, max_trials) <= 0 or \
                    self.done() >= self.space.size:
                study.stop()
            elif self._repeats >= REPEATS:
                self._explore()

        self.runner.start(self.job)
        try:
            self._baseline()
            self.study.optimize(self._objective, timeout=timeout_s, callbacks=[after],
                                catch=(TrialFailed,), gc_after_trial=False)
            if confirm:
                self._confirm()
        finally:
            self.runner.close()

    def confirm(self) -> None:
        """Re-time the fastest configurations and the default (see the module docstring)."""
        self.runner.start(self.job)
        try:
            self._confirm()
        finally:
            self.runner.close()

    def _confirm(self) -> None:
        if not getattr(self.runner, "confirms", False):
            return
        ok = sorted((t for t in S.finished(self.study) if t.user_attrs["status"] == "ok"),
                    key=lambda t: t.user_attrs["ms"])[:TOP]
        if not ok:
            return
        pipe = self.job.pipe
        candidates = {str(t.number): Schedule.from_toml(t.user_attrs["schedule"], pipe)
                      for t in ok}
        candidates["default"] = Schedule.default(pipe)
        best = {}
        for _ in range(ROUNDS):
            for key, schedule in candidates.items():
                outcome = self.runner.run(schedule, {})
                if outcome.ok:
                    best[key] = min(best.get(key, outcome.ms), outcome.ms)
        if "default" in best:
            self.study.set_user_attr("vortex.default_ms", best.pop("default"))
        self.study.set_user_attr("vortex.confirmed",
                                 {**self.study.user_attrs.get("vortex.confirmed", {}), **best})

    def _left(self, n_trials, max_trials) -> int:
        left = n_trials - self.done()
        return left if max_trials is None else min(left, max_trials - self._own)

    def _baseline(self) -> None:
        if "vortex.default_ms" in self.study.user_attrs:
            return
        outcome = self.runner.baseline(self.job)
        if outcome is not None and outcome.ok:
            self.study.set_user_attr("vortex.default_ms", outcome.ms)

    def _objective(self, trial):
        import optuna
        params = self.space.suggest(trial)
        first = self._first_with(params)
        if first is not None:
            self._repeats += 1
            a = first.user_attrs
            outcome, schedule = Outcome(Status(a["status"]), a.get("ms"), a.get("reason", "")), None
            trial.set_user_attr("repeat_of", first.number)
        else:
            self._repeats, self._own = 0, self._own + 1
            schedule, reason = self.space.configure(params, self.ctx)
            outcome = (Outcome(Status.PRUNED, None, reason) if schedule is None
                       else self.runner.run(schedule, params))
        self._record(trial, outcome, schedule)
        if outcome.status is Status.PRUNED:
            raise optuna.TrialPruned(outcome.reason)
        if not outcome.ok:
            raise TrialFailed(f"{outcome.status.value}: {outcome.reason}")
        return outcome.ms

    def _first_with(self, params: dict):
        return next((t for t in S.finished(self.study) if t.params == params), None)

    def _explore(self) -> None:
        """Enqueue a random configuration the study has not measured."""
        seen = {config_key(t.params) for t in S.finished(self.study)}
        names, choices = list(self.space.tunables), [t.choices for t in
                                                     self.space.tunables.values()]
        rng = random.Random(len(seen))
        if self.space.size <= 100_000:
            fresh = [c for c in itertools.product(*choices)
                     if config_key(dict(zip(names, c))) not in seen]
        else:
            fresh = [tuple(rng.choice(c) for c in choices) for _ in range(1000)]
        if fresh:
            self.study.enqueue_trial(dict(zip(names, rng.choice(fresh))))
        self._repeats = 0

    def _record(self, trial, outcome: Outcome, schedule) -> None:
        attrs = {"status": outcome.status.value, "reason": outcome.reason[:4000],
                 "ms": outcome.ms, "worker": S.worker_id()}
        if schedule is not None and outcome.ok:
            attrs["schedule"] = self._measured(schedule, outcome.ms, trial.number).to_toml()
        for k, v in attrs.items():
            trial.set_user_attr(k, v)

    def _measured(self, schedule: Schedule, ms: float, number: int) -> Schedule:
        import vortex
        s = schedule.copy()
        s.meta.update(target=self.job.target.value, device=self.job.device.name, measured={
            "ms": round(ms, 6), "shape": dict(self.job.shape), "device": self.job.device.name,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "vortex": vortex.__version__, "study": self.study_name, "trial": number})
        return s

    def result(self) -> TuneResult:
        """The best trial so far; vx.TuningError (with the failure counts) when none is valid."""
        trials = S.trials_frame(self.study)
        complete = [t for t in S.finished(self.study) if t.user_attrs["status"] == "ok"]
        if not complete:
            counts = trials["status"].value_counts().to_dict() if len(trials) else {}
            first = next((r for r in trials.get("reason", []) if r), "")
            raise errors.TuningError(f"no valid configuration in study {self.study_name!r} "
                                     f"(trials by status: {counts}); first reason: {first}")
        _, best_ms = S.best_trial(self.study)
        return TuneResult(S.best_schedule(self.study, self.job.pipe), best_ms, trials,
                          self.study_name,
                          self.storage, self.job.device,
                          self.study.user_attrs.get("vortex.default_ms"), dict(self.job.shape))
