"""The example-file convention used by ``vortex run`` (and the tuner later).

An example is a Python file that defines, at module level:

``pipeline() -> vx.Pipeline``
    the algorithm (no schedule);
``inputs(image=None) -> dict``
    keyword arguments for a call: Input arrays and Param values. ``image`` is the ``--image``
    path given on the command line (examples that take no image ignore it);

and optionally:

``numpy_version(**inputs)``
    the same computation written directly in numpy: the peer that ``vortex run`` times;
``save(output, path)``
    writes the result (e.g. as a PNG); ``vortex run`` calls it with ``--out``;
``space(pipe) -> vx.Schedule``
    the search space ``vortex-tune`` explores: a schedule of ``pipe`` whose numbers and choices
    are ``vx.Tunable`` values (see vortex.schedule.tunable and docs/tuning.md).

The schedule is not in the file: ``vortex run`` uses ``--schedule FILE`` or, by default,
``schedules/<pipeline>/<device>.toml`` (see ``vx.compile(schedule="auto")``), which
``vortex-tune`` writes with the best schedule it measured.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from . import errors

REQUIRED = ("pipeline", "inputs")


def load_example(path: str | Path) -> ModuleType:
    """Import the example file at ``path``; raise vx.InputError if it lacks the convention."""
    path = Path(path)
    if not path.is_file():
        raise errors.InputError(f"example file {str(path)!r} does not exist")
    folder = str(path.resolve().parent)
    if folder not in sys.path:  # examples may import their siblings (unsharp uses blur's loader)
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(f"vortex_example_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    missing = [name for name in REQUIRED if not callable(getattr(module, name, None))]
    if missing:
        raise errors.InputError(f"{path} does not follow the example convention: it must define "
                                f"{', '.join(f'{m}()' for m in missing)} (see vortex.examples)")
    return module
