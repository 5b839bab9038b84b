"""Studies in an Optuna storage: names, fingerprints, records, the lookup of ``schedule="auto"``.

A study name is ``<pipeline>.<target>.<device slug>.<sha256[:16]>`` of a canonical text of the
algorithm (:func:`algorithm_text`: every Input, Param and Func definition, types included), the
space (its schedule file), the shape (Dim name → int), the target and the device key (name, driver
and version): rerunning the same job resumes its study, another device or shape never mixes in.
The same facts are stored as study user attributes ``vortex.*`` so that ``schedule="auto"``
finds the best trial of any space for this algorithm, shape and device.

Every finished trial holds user attributes ``status`` (see runner.Status), ``reason``, ``ms``,
``schedule`` (the concrete schedule as TOML) and ``worker`` (host:pid). Storage is any Optuna RDB
URL: SQLite (one machine) or PostgreSQL/MySQL (many workers; Optuna is the coordinator), with
heartbeats so that trials of a killed worker are marked failed (``fail_stale_trials``).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import time
import warnings
from pathlib import Path

from .. import errors

DEFAULT_STORAGE = "sqlite:///vortex-tuning.db"
DB_ENV = "VORTEX_TUNING_DB"
HEARTBEAT_S, GRACE_S = 20, 60
CREATE_ATTEMPTS = 5   # workers starting together on a new database race to create its tables


def algorithm_text(pipe) -> str:
    """Canonical text of the algorithm: Inputs, Params and each Func's definitions (reprs of the
    expression trees, so types and constants are part of it), outputs last."""
    lines = [repr(pipe.inputs[n]) for n in sorted(pipe.inputs)]
    lines += [f"Param({p.name!r}, {p.dtype}, {p.range})" for p in pipe.params.values()]
    for f in pipe.funcs:
        lines.append(repr(f))
        lines += [f"  {'update' if d.update else 'pure'} {list(map(repr, d.lhs))} = {d.value!r}"
                  for d in f.definitions]
    lines.append(f"outputs {[f.name for f in pipe.outputs]} name {pipe.name}")
    return "\n".join(lines)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def shape_text(shape: dict) -> str:
    return json.dumps({k: int(shape[k]) for k in sorted(shape)})


def job_attrs(job, space_toml: str) -> dict:
    """The ``vortex.*`` study attributes of a job (also what its name is hashed from)."""
    return {"vortex.algorithm": sha(algorithm_text(job.pipe)), "vortex.pipeline": job.pipe.name,
            "vortex.shape": shape_text(job.shape),
            "vortex.dtypes": json.dumps({n: str(i.dtype) for n, i in job.pipe.inputs.items()}),
            "vortex.target": job.target.value, "vortex.device_key": job.device.key,
            "vortex.device": job.device.name, "vortex.space": space_toml}


def study_name(job, space_toml: str) -> str:
    digest = sha(json.dumps(job_attrs(job, space_toml), sort_keys=True))[:16]
    return f"{job.pipe.name}.{job.target.value}.{job.device.slug}.{digest}"


def storage_url(text: str) -> str:
    """``text`` as a storage URL: a URL (``dialect[+driver]://…``) as it is, else a path of a
    SQLite file (``tuning.db`` → ``sqlite:///tuning.db``). vx.TuningError when it is neither."""
    text = str(text).strip()
    if "://" in text:
        if not re.fullmatch(r"[a-z][a-z0-9]*(\+[a-z0-9_]+)?://.*", text):
            raise errors.TuningError(f"storage {text!r} is not a database URL "
                                     "(sqlite:///FILE, postgresql+psycopg2://USER@HOST/DB) "
                                     "nor a SQLite file path")
        return text
    if not text:
        raise errors.TuningError("storage is empty: give sqlite:///FILE, a file path or a "
                                 "postgresql+psycopg2:// URL")
    return f"sqlite:///{text}"


def storage(url: str | None):
    """An Optuna RDBStorage for ``url`` (see :func:`storage_url`) with heartbeats (SQLite:
    waits for locks up to 60 s); ``None``: in memory (nothing kept; replay experiments).
    vx.TuningError, in one line, when the storage cannot be opened. Workers that start together
    on a new database race to create its tables (the losers' IntegrityError or "table …
    already exists"): retried."""
    import optuna
    if url is None:
        return optuna.storages.InMemoryStorage()
    url = storage_url(url)
    kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    for attempt in range(CREATE_ATTEMPTS):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return optuna.storages.RDBStorage(url, engine_kwargs=kwargs,
                                                  heartbeat_interval=HEARTBEAT_S,
                                                  grace_period=GRACE_S)
        except Exception as e:  # noqa: BLE001 - SQLAlchemy/driver errors: one clear line
            text = f"{type(e).__name__} {e}"
            racing = "IntegrityError" in text or "already exists" in text
            if racing and attempt + 1 < CREATE_ATTEMPTS:
                time.sleep(0.2 * (attempt + 1))   # another worker is creating the same tables
                continue
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            raise errors.TuningError(f"cannot open tuning storage {url!r}: "
                                     f"{type(e).__name__}: {first}") from None


def open_study(url: str, name: str, sampler, attrs: dict, create: bool = True):
    """Create or resume study ``name`` (``create=False``: only an existing one); vx.TuningError
    if it exists for another job (a study name given by hand that points at another device,
    shape or algorithm) or does not exist and ``create`` is False."""
    import optuna
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if create:
        study = optuna.create_study(storage=storage(url), study_name=name, sampler=sampler,
                                    direction="minimize", load_if_exists=True)
    else:
        try:
            study = optuna.load_study(study_name=name, storage=storage(url), sampler=sampler)
        except KeyError:
            raise errors.TuningError(f"no study {name!r} in {url} (not tuned yet for this "
                                     "pipeline, space, shape and device)") from None
    have = study.user_attrs
    clash = [k for k in attrs if k in have and have[k] != attrs[k] and k != "vortex.space"]
    if clash:
        raise errors.TuningError(f"study {name!r} in {url} was made for another job "
                                 f"({', '.join(f'{k}: {have[k]!r}' for k in clash)}); use "
                                 "another study_name")
    for k, v in attrs.items():
        if k not in have:
            study.set_user_attr(k, v)
    return study


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def finished(study) -> list:
    """The measured trials: finished with a ``status`` (interrupted ones have none) and not a
    repeat of an earlier configuration (``repeat_of``)."""
    return [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()
            and "status" in t.user_attrs and "repeat_of" not in t.user_attrs]


def best_trial(study):
    """(FrozenTrial, ms) of the fastest valid trial, on re-timed (``vortex.confirmed``) times
    where there are; None when no trial is valid."""
    confirmed = study.user_attrs.get("vortex.confirmed", {})
    ok = [(t, confirmed.get(str(t.number), t.user_attrs["ms"])) for t in finished(study)
          if t.user_attrs["status"] == "ok"]
    return min(ok, key=lambda pair: pair[1]) if ok else None


def best_text(study) -> str | None:
    """The best trial's schedule file text, its ``[measured] ms`` set to the re-timed ms."""
    best = best_trial(study)
    if best is None:
        return None
    trial, ms = best
    recorded = f"\nms = {round(trial.user_attrs['ms'], 6)}\n"
    return trial.user_attrs["schedule"].replace(recorded, f"\nms = {round(ms, 6)}\n", 1)


def best_schedule(study, pipe, where: str = ""):
    """The best trial's Schedule (``meta["measured"]["ms"]``: its re-timed ms), or None."""
    from ..schedule import Schedule
    best = best_trial(study)
    if best is None:
        return None
    trial, ms = best
    s = Schedule.from_toml(trial.user_attrs["schedule"], pipe,
                           f"{where}study {study.study_name} trial {trial.number}")
    s.meta["measured"]["ms"] = round(ms, 6)
    return s


def trials_frame(study):
    """pandas.DataFrame, one row per trial: trial, state, status, ms, params…, reason,
    repeat_of (the trial it repeats, else -1), worker, seconds, confirmed (re-timed ms or
    NaN)."""
    import pandas as pd
    confirmed = study.user_attrs.get("vortex.confirmed", {})
    rows = []
    for t in study.get_trials(deepcopy=False):
        seconds = t.duration.total_seconds() if t.duration else None
        rows.append({"trial": t.number, "state": t.state.name.lower(),
                     "status": t.user_attrs.get("status", ""), "ms": t.user_attrs.get("ms"),
                     **t.params, "reason": t.user_attrs.get("reason", ""),
                     "repeat_of": t.user_attrs.get("repeat_of", -1),
                     "worker": t.user_attrs.get("worker", ""), "seconds": seconds,
                     "confirmed": confirmed.get(str(t.number), float("nan"))})
    return pd.DataFrame(rows)


def tuning_db() -> str | None:
    """The storage ``schedule="auto"`` reads: ``$VORTEX_TUNING_DB``, else ``vortex-tuning.db``
    in the current directory if that file exists."""
    url = os.environ.get(DB_ENV, "").strip()
    if url:
        return storage_url(url)
    return DEFAULT_STORAGE if Path("vortex-tuning.db").is_file() else None


def lookup(url: str, pipe, shape: dict, target, device_key: str):
    """The best tuned Schedule for exactly this algorithm, shape, target and device in the
    storage at ``url`` (over all its studies), with ``meta["measured"]``; None when none."""
    import optuna
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).is_file():
        return None
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    want = {"vortex.algorithm": sha(algorithm_text(pipe)), "vortex.shape": shape_text(shape),
            "vortex.target": target.value, "vortex.device_key": device_key}
    db = storage(url)
    found = []
    for summary in optuna.get_all_study_summaries(db, include_best_trial=False):
        if all(summary.user_attrs.get(k) == v for k, v in want.items()):
            study = optuna.load_study(study_name=summary.study_name, storage=db)
            best = best_trial(study)
            if best is not None:
                found.append((best[1], study))
    if not found:
        return None
    return best_schedule(min(found, key=lambda pair: pair[0])[1], pipe, f"{url} ")
