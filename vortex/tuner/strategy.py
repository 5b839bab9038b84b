"""Search strategies: Optuna samplers by name (:data:`SAMPLERS`), or any Optuna sampler object.

- ``"tpe"`` (default): Tree-structured Parzen Estimator, multivariate (models the tunables
  jointly), ``constant_liar`` so that workers sharing one study do not all try the same
  configuration; 8 random start-up trials.
- ``"random"``: uniform random configurations.
- ``"grid"``: every configuration once, in random order (stops by itself when exhausted).
- ``"qmc"``: scrambled Sobol quasi-random points.

Source: Bergstra et al., "Algorithms for Hyper-Parameter Optimization" (NeurIPS 2011, TPE);
Optuna's sampler documentation.
"""
from __future__ import annotations

import warnings

from .. import errors


def _tpe(space, seed):
    import optuna
    return optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True,
                                      n_startup_trials=8)


def _random(space, seed):
    import optuna
    return optuna.samplers.RandomSampler(seed=seed)


def _grid(space, seed):
    import optuna
    return optuna.samplers.GridSampler(space.grid(), seed=seed)


def _qmc(space, seed):
    import optuna
    return optuna.samplers.QMCSampler(seed=seed, warn_independent_sampling=False)


SAMPLERS = {"tpe": _tpe, "random": _random, "grid": _grid, "qmc": _qmc}


def make_sampler(sampler, space, seed=None):
    """An Optuna sampler for ``sampler`` (a name of :data:`SAMPLERS` or a sampler object).
    Raises vx.TuningError for an unknown name."""
    if not isinstance(sampler, str):
        return sampler
    if sampler not in SAMPLERS:
        raise errors.TuningError(f"unknown sampler {sampler!r} (known: {', '.join(SAMPLERS)}; "
                                 "or pass an optuna.samplers object)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # Optuna's ExperimentalWarning for these options
        return SAMPLERS[sampler](space, seed)
