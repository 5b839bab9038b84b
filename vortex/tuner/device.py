"""The device a study tunes for: identity (study keys, schedule file names) and launch limits.

One entry per target in :data:`DEVICES`, each a function ``selector -> DeviceInfo`` that imports
its driver only when called. ``key`` goes into the study fingerprint (a study never mixes
devices or driver versions); ``slug`` names ``schedules/<pipeline>/<slug>.toml``; ``selector`` is
what a trial worker process passes to ``vx.compile(device=…)``; ``limits`` feed the pruning of
configurations before any compiler runs.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .. import errors
from ..target import Target


@dataclass(frozen=True)
class DeviceInfo:
    """``name`` (as the driver reports it), ``key`` (stable identity incl. driver version),
    ``slug`` (file name), ``selector`` (picklable ``device=`` for a worker process), ``limits``
    (a vortex.runtime.limits.Limits, or None when unknown), ``arch`` (code generation option)."""

    target: Target
    name: str
    key: str
    slug: str
    selector: object
    limits: object = None
    arch: str | None = None


def _opencl(device) -> DeviceInfo:
    from ..runtime.limits import Limits
    from ..runtime.opencl_device import describe, device_key, device_slug, select_device
    d = select_device(device)
    limits = Limits(d.name.strip(), int(d.max_work_group_size),
                    tuple(int(s) for s in d.max_work_item_sizes), int(d.local_mem_size),
                    (2 ** 31 - 1,) * 3)
    return DeviceInfo(Target.OPENCL, d.name.strip(), device_key(d), device_slug(d), describe(d),
                      limits)


def _cuda(device) -> DeviceInfo:
    from ..runtime.cuda_device import driver_version, select_device
    d = select_device(device)
    slug = re.sub(r"[^a-z0-9]+", "-", d.name.lower()).strip("-") or d.arch
    return DeviceInfo(Target.CUDA, d.name, f"{d.name}|{d.arch}|{driver_version()}", slug,
                      d.ordinal, d.limits, d.arch)


DEVICES = {Target.OPENCL: _opencl, Target.CUDA: _cuda}


def device_info(target, device=None) -> DeviceInfo:
    """The DeviceInfo of ``device`` (a runtime selector; None: the default) for ``target``.
    Raises vx.TuningError for a target the tuner cannot run on, vx.DeviceError from the driver."""
    t = Target.parse(target)
    if t not in DEVICES:
        raise errors.TuningError(f"tuning on target {t.value!r} is not supported yet (targets: "
                                 f"{', '.join(k.value for k in DEVICES)})")
    return DEVICES[t](device)
