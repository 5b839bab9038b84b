"""``vx.tune``: search a schedule space with Optuna, measuring each configuration on the device.

```python
space = vx.Schedule(pipe)                                  # with vx.Tunable values inside
result = vx.tune(pipe, space, target="opencl", shape={"M": 1024, "N": 1024, "K": 1024},
                 n_trials=200, timeout_s=8 * 3600, storage="sqlite:///vortex-tuning.db")
result.best_schedule, result.best_ms, result.trials       # Schedule, float ms, pandas.DataFrame
result.write_schedule()                                    # schedules/<pipeline>/<device>/<shape>.toml
```
Each trial: the sampler proposes params → :meth:`Space.configure` (pruned, with the reason, if
the sample breaks a schedule rule, a divisibility rule or a device limit) → the runner compiles,
verifies once against ``pipe.reference`` and times it (warm-up + median). A configuration the
study has already measured is answered from its record and does not count (see
:mod:`vortex.tuner.session`). ``n_trials`` is the number of measured configurations the study
should hold: a resumed study continues up to it, workers sharing a study stop when it is reached.

Source: Optuna (Akiba et al., KDD 2019); Kernel Tuner (van Werkhoven, 2019); the Halide and TVM
autotuners (schedule templates with knobs, measured on the device).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import errors
from ..algorithm.binding import Binding, bind
from ..algorithm.bounds import to_sympy
from ..schedule import Schedule
from ..auto import shape_text
from ..target import Target
from . import study as S
from .device import DeviceInfo


@dataclass(frozen=True)
class Job:
    """What is tuned: ``pipe`` with these ``inputs`` (arrays and Params) at ``shape``, for
    ``target`` on ``device``."""

    pipe: object
    inputs: dict
    shape: dict
    target: Target
    device: DeviceInfo


def _random_array(dtype, shape, rng):
    np_type = np.dtype(dtype.np)
    if np_type.kind == "f":
        return rng.random(shape, dtype=np.float64).astype(np_type)
    if np_type.kind == "b":
        return rng.random(shape) < 0.5
    hi = min(int(np.iinfo(np_type).max), 100)
    return rng.integers(0, hi, size=shape, endpoint=True).astype(np_type)


def make_inputs(pipe, shape: dict | None, inputs: dict | None, seed: int = 0) -> tuple:
    """(inputs, shape): the given Input arrays, else random arrays of the Inputs' dtypes at
    ``shape``; Params from ``inputs`` or 1 (the low end of a range). vx.TuningError when the
    shape is missing or does not name every Dim."""
    inputs = dict(inputs or {})
    if all(n in inputs for n in pipe.inputs):
        found = dict(bind(pipe, inputs).dims)
        if shape is not None and {k: int(v) for k, v in shape.items()} != found:
            raise errors.TuningError(f"shape={shape} does not match the inputs' sizes {found}")
        return inputs, found
    if shape is None:
        raise errors.TuningError(f"vx.tune needs shape= (sizes of {', '.join(pipe.dims)}) or "
                                 f"inputs= with every Input ({', '.join(pipe.inputs)})")
    shape = {k: int(v) for k, v in shape.items()}
    if set(shape) != set(pipe.dims):
        raise errors.TuningError(f"shape= must give exactly the Dims {sorted(pipe.dims)}, "
                                 f"got {sorted(shape)}")
    rng, sizes = np.random.default_rng(seed), Binding(shape, {}, {})
    for name, inp in pipe.inputs.items():
        dims = tuple(sizes.evaluate(to_sympy(e)) for e in inp.shape)
        inputs.setdefault(name, _random_array(inp.dtype, dims, rng))
    for name, p in pipe.params.items():
        inputs.setdefault(name, np.asarray(p.range[0] if p.range else 1).astype(p.dtype.np)[()])
    return inputs, shape


@dataclass
class TuneResult:
    """The best concrete ``best_schedule`` (its ``meta["measured"]`` holds ms, shape, device,
    date, vortex version, study), ``best_ms`` (median device ms), ``trials`` (one row per trial,
    see study.trials_frame), ``default_ms`` (the default schedule, None if not measured)."""

    best_schedule: Schedule
    best_ms: float
    trials: object
    study_name: str
    storage: str
    device: DeviceInfo
    default_ms: float | None = None
    shape: dict = field(default_factory=dict)

    def write_schedule(self, directory=None) -> Path:
        """Save to ``<directory>/<pipeline>/<device family>/<shape>.toml`` (``<shape>`` as
        ``M=1024,N=1024,K=1024``; ``directory`` default: the first entry of $VORTEX_SCHEDULES,
        else ./schedules) and return the path. One file per shape: a tune at one shape never
        replaces another shape's schedule; ``schedule="auto"`` picks by shape (vortex.auto)."""
        env = [p for p in os.environ.get("VORTEX_SCHEDULES", "").split(os.pathsep) if p]
        base = Path(directory or (env[0] if env else "schedules"))
        return self.best_schedule.save(base / self.best_schedule.pipeline / self.device.slug /
                                       f"{shape_text(self.shape)}.toml")


def tune(pipe, space, target="opencl", shape=None, inputs=None, n_trials=100, timeout_s=None,
         storage=S.DEFAULT_STORAGE, study_name=None, sampler="tpe", device=None,
         runner=None, arch=None, seed=None) -> TuneResult:
    """Search ``space`` (a vx.Schedule with vx.Tunables, or a tuner.Space) for ``pipe`` on
    ``target``/``device``; see the module docstring. ``shape``: Dim sizes (random inputs of the
    Inputs' dtypes), or ``inputs``: the arrays/Params to tune with. ``n_trials``: finished trials
    the study should hold; ``timeout_s``: wall-time budget (seconds); ``storage``: Optuna
    storage URL; ``sampler``: "tpe" | "random" | "grid" | "qmc" or an Optuna sampler; ``runner``:
    DeviceRunner (default) or ReplayRunner; ``arch``: CUDA/HIP code generation arch other than
    the device's own (e.g. "sm_90a"); ``seed``: the sampler's seed (a rerun proposes the same
    configurations). Returns a TuneResult. Raises vx.TuningError (bad space,
    sampler or shape; no valid configuration), vx.CompileError (unknown arch), vx.DeviceError
    (no device)."""
    from .session import Session
    session = Session(pipe, space, target, shape, inputs, storage, study_name, sampler, device,
                      runner, seed, arch=arch)
    session.run(n_trials, timeout_s)
    return session.result()
