"""The device a study tunes for: identity (study keys, schedule file names) and launch limits.

One entry per target in :data:`DEVICES`, each a function ``selector -> DeviceInfo`` that imports
its driver only when called. ``key`` goes into the study fingerprint (a study never mixes
devices or driver versions); ``slug`` (the device's family, :mod:`vortex.devices`) names the
folder ``schedules/<pipeline>/<slug>/`` of its tuned schedule files; ``selector`` is
what a trial worker process passes to ``vx.compile(device=…)``; ``limits`` feed the pruning of
configurations before any compiler runs.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from .. import devices, errors
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
    from ..runtime.opencl_device import (describe, device_family, device_key, device_limits,
                                         select_device)
    d = select_device(device)
    return DeviceInfo(Target.OPENCL, d.name.strip(), device_key(d), device_family(d), describe(d),
                      device_limits(d))


def _cuda(device) -> DeviceInfo:
    from ..runtime.cuda_device import driver_version, select_device
    d = select_device(device)
    slug = devices.family(d.name, Target.CUDA) or d.arch
    return DeviceInfo(Target.CUDA, d.name, f"{d.name}|{d.arch}|{driver_version()}", slug,
                      d.ordinal, d.limits, d.arch)


DEVICES = {Target.OPENCL: _opencl, Target.CUDA: _cuda}


def device_info(target, device=None, arch=None) -> DeviceInfo:
    """The DeviceInfo of ``device`` (a runtime selector; None: the default) for ``target``;
    ``arch`` (e.g. "sm_90a" on an H100) replaces the device's own arch for code generation and
    is part of the device key. Raises vx.TuningError for a target the tuner cannot run on,
    vx.CompileError for an unknown arch, vx.DeviceError from the driver."""
    from ..api import check_arch
    t = Target.parse(target)
    if t not in DEVICES:
        raise errors.TuningError(f"tuning on target {t.value!r} is not supported yet (targets: "
                                 f"{', '.join(k.value for k in DEVICES)})")
    arch = check_arch(t, arch)
    info = DEVICES[t](device)
    return replace(info, arch=arch, key=f"{info.key}|{arch}") if arch else info
