"""The autotuner: Optuna search over schedule spaces, measured on the device, persisted per
pipeline, shape and device (docs/design.md, "Tuning").

Three swappable parts: the **space** (:class:`Space`: a schedule with vx.Tunables plus
constraints that prune before compiling), the **strategy** (an Optuna sampler, ``SAMPLERS``) and
the **runner** (:class:`DeviceRunner` in an isolated worker process, or :class:`ReplayRunner`
over recorded timings). ``vx.tune`` ties them to a study in an Optuna storage; ``vortex-tune`` is
the command line (see docs/tuning.md). Importing this package does not import Optuna.
"""
from .device import DEVICES, DeviceInfo, device_info
from .runner import DeviceRunner, Outcome, ReplayRunner, Status, config_key
from .space import CONSTRAINTS, Context, Space
from .strategy import SAMPLERS, make_sampler
from .study import DEFAULT_STORAGE, lookup, tuning_db
from .session import Session
from .tune import Job, TuneResult, make_inputs, tune

__all__ = ["tune", "TuneResult", "Session", "Job", "Space", "Context", "CONSTRAINTS",
           "DeviceRunner", "ReplayRunner", "Outcome", "Status", "config_key", "SAMPLERS",
           "make_sampler", "DeviceInfo", "DEVICES", "device_info", "DEFAULT_STORAGE", "lookup",
           "tuning_db", "make_inputs"]
