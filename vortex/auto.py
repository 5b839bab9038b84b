"""``schedule="auto"``: the schedule for a pipeline, a device and (optionally) a shape.

In order:

1. the tuning database (``$VORTEX_TUNING_DB``, else ``./vortex-tuning.db``): the best trial for
   exactly this algorithm, shape and device (needs ``shape=``);
2. the schedule files of the device: ``<dir>/<pipeline>/<stem>.toml`` (the device's file, written
   by hand) and ``<dir>/<pipeline>/<stem>/*.toml`` (one file per tuned shape, written by
   ``vortex-tune``), for each stem of :func:`vortex.devices.stems` (device slug, then family)
   and each ``<dir>`` of :func:`schedule_dirs`. A file's ``[measured] shape`` is the shape it
   was measured on. Among them, the first that holds:

   a. a file measured at exactly this shape;
   b. a file measured at a shape of the same *divisibility class* (every Dim divisible by the
      same power of two, counted up to :data:`DIVISIBILITY`: tiles divide both or neither),
      the nearest in log-size;
   c. the device's file;
   d. the file measured at the nearest shape;
3. the default schedule (always valid).

The origin says which: ``"tuned:<url>"``, ``"file:<path> (<why>)"`` or ``"default"``.
"""
from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from . import devices, errors
from .target import Target

DIVISIBILITY = 128


def schedule_dirs() -> list[Path]:
    """Where schedule files are searched: ``$VORTEX_SCHEDULES`` (os.pathsep-separated), then
    ``./schedules``, then the source checkout's ``schedules/``."""
    env = [Path(p) for p in os.environ.get("VORTEX_SCHEDULES", "").split(os.pathsep) if p]
    return env + [Path.cwd() / "schedules", Path(__file__).resolve().parent.parent / "schedules"]


def shape_text(shape: dict) -> str:
    """``{"N": 32, "M": 64}`` → ``"M=64,N=32"`` (the ``--shape`` syntax, names sorted; also
    the stem of a tuned schedule file)."""
    return ",".join(f"{k}={int(shape[k])}" for k in sorted(shape))


def divisibility(shape: dict) -> dict:
    """Each Dim's largest power-of-two divisor, capped at :data:`DIVISIBILITY`."""
    return {k: min(int(v) & -int(v), DIVISIBILITY) if int(v) else DIVISIBILITY
            for k, v in shape.items()}


def distance(a: dict, b: dict) -> float:
    """Sum over Dims of |log2 a - log2 b| (sizes below 1 count as 1)."""
    return sum(abs(math.log2(max(int(a[k]), 1)) - math.log2(max(int(b.get(k, 1)), 1)))
               for k in a)


@dataclass(frozen=True)
class Candidate:
    path: Path
    shape: dict | None     # [measured] shape, if the file records one
    tuned: bool            # a per-shape file (<stem>/<shape>.toml), not the device's file
    rank: int              # order of discovery: more specific stem, earlier directory first


def candidates(pipe, stems) -> list[Candidate]:
    """The schedule files for ``pipe`` under each stem, device file before per-shape files."""
    from .schedule import Schedule
    out, seen = [], set()
    for stem in stems:
        for d in schedule_dirs():
            base = d / pipe.name
            paths = [(base / f"{stem}.toml", False)]
            paths += [(p, True) for p in sorted((base / stem).glob("*.toml"))]
            for path, tuned in paths:
                if not path.is_file() or path.resolve() in seen:
                    continue
                seen.add(path.resolve())
                measured = Schedule.load(path, pipe).meta.get("measured", {})
                shape = measured.get("shape") if isinstance(measured, dict) else None
                out.append(Candidate(path, dict(shape) if shape else None, tuned, len(out)))
    return out


def _pick(found: list[Candidate], shape: dict | None):
    """(Candidate, why) by the rules of the module docstring, or None."""
    measured = [c for c in found if c.shape is not None]
    if shape is not None:
        want = {k: int(v) for k, v in shape.items()}
        exact = [c for c in measured if c.shape == want]
        if exact:
            return exact[0], f"measured at {shape_text(want)}: this shape"
        same = [c for c in measured if set(c.shape) == set(want)
                and divisibility(c.shape) == divisibility(want)]
        if same:
            c = min(same, key=lambda c: (distance(want, c.shape), c.rank))
            return c, f"measured at {shape_text(c.shape)}: same divisibility as {shape_text(want)}"
    plain = [c for c in found if not c.tuned]
    if plain:
        return plain[0], "the device's file"
    if measured:
        if shape is None:
            return measured[0], f"measured at {shape_text(measured[0].shape)}; no shape= given"
        c = min(measured, key=lambda c: (distance(want, c.shape), c.rank))
        return c, f"measured at {shape_text(c.shape)}: the nearest to {shape_text(want)}"
    return None


def device_stems(target: Target, device=None, arch=None) -> tuple[str, ...]:
    """The schedule file stems of the device a kernel is compiled for (see vortex.devices):
    OpenCL asks the device; CUDA/HIP use ``device`` when it is a name, else the GPU present, and
    the representative device of ``arch`` (else of the GPU's arch)."""
    return STEMS[target](device, arch)


def _opencl_stems(device, arch):
    from .runtime.opencl_device import device_family, device_slug, select_device
    d = select_device(device)
    return tuple(dict.fromkeys((device_slug(d), device_family(d))))


def _named(target: Target, present):
    def stems(device, arch):
        if isinstance(device, str) and not device.strip().isdigit():
            return devices.stems(target, device, arch)
        try:
            name, own_arch = present(device)
        except Exception:  # noqa: BLE001 - no driver or GPU: the arch alone
            name, own_arch = None, None
        return devices.stems(target, name, arch or own_arch)
    return stems


def _cuda_name(device):
    """(name, arch) of the CUDA device ``device`` selects, or (None, None) without one."""
    from .runtime.cuda_device import has_cuda_device, select_device
    if not has_cuda_device():
        return None, None
    d = select_device(device)
    return d.name, d.arch


def _hip_name(device):
    """(name, arch) of HIP device ``device`` (an index), or (None, None) without one."""
    from .runtime import rocm
    lib = rocm.library()
    found, _ = lib.devices() if lib is not None else ([], None)
    if not found:
        return None, None
    _, name, arch = found[int(device or 0)]
    return name, arch.split(":")[0]


STEMS = {Target.OPENCL: _opencl_stems, Target.CUDA: _named(Target.CUDA, _cuda_name),
         Target.HIP: _named(Target.HIP, _hip_name)}


def _tuned(pipe, shape, target: Target, device):
    """(Schedule, "tuned:<url>") from the tuning database for this exact shape and device, or
    None (no shape given, no database, no match, or the tuner's extras are not installed)."""
    if shape is None:
        return None
    try:
        from .tuner.device import device_info
        from .tuner.study import lookup, tuning_db
        url = tuning_db()
        found = url and lookup(url, pipe, shape, target, device_info(target, device).key)
    except (ImportError, errors.VortexError):
        return None
    except Exception as e:  # noqa: BLE001 - an unreachable database must not stop a compile
        warnings.warn(f"tuning database not read ({type(e).__name__}: {e}); using schedule "
                      "files", stacklevel=4)
        return None
    return (found, f"tuned:{url}") if found else None


def resolve(pipe, target: Target, device=None, shape=None, arch=None):
    """(Schedule, origin) for ``schedule="auto"`` (see the module docstring)."""
    from .schedule import Schedule
    tuned = _tuned(pipe, shape, target, device)
    if tuned:
        return tuned
    picked = _pick(candidates(pipe, device_stems(target, device, arch)), shape)
    if picked:
        c, why = picked
        return Schedule.load(c.path, pipe), f"file:{c.path} ({why})"
    return Schedule.default(pipe), "default"
