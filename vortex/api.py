"""``vx.compile``: algorithm + schedule → generated source → a callable, timeable kernel.

``schedule=`` is a Schedule, a path to a schedule file, or ``"auto"``: with ``shape=`` (every
Dim's size), the best tuned schedule for exactly this algorithm, shape and device in the tuning
database (``$VORTEX_TUNING_DB``, an Optuna storage URL, else ``./vortex-tuning.db`` if it
exists; see vortex.tuner); else the file ``schedules/<pipeline>/<device>.toml`` for the device
the kernel will run on (searched in ``$VORTEX_SCHEDULES`` (os.pathsep-separated),
``./schedules`` and the source checkout's ``schedules/``), else the default schedule.
``kernel.schedule_origin`` says which was used ("tuned:<url>", "file:<path>", "default").
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

from . import errors
from .algorithm.binding import bind
from .codegen import generate
from .lower import lower
from .schedule import Schedule
from .target import Target


def schedule_dirs() -> list[Path]:
    env = [Path(p) for p in os.environ.get("VORTEX_SCHEDULES", "").split(os.pathsep) if p]
    return env + [Path.cwd() / "schedules", Path(__file__).resolve().parent.parent / "schedules"]


def _device_slug(target: Target, device):
    if target is Target.OPENCL:
        from .runtime.opencl_device import device_slug, select_device
        return device_slug(select_device(device))
    return None


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
    except (ImportError, errors.TuningError):
        return None
    except Exception as e:  # noqa: BLE001 - an unreachable database must not stop a compile
        warnings.warn(f"tuning database not read ({type(e).__name__}: {e}); using schedule "
                      "files", stacklevel=3)
        return None
    return (found, f"tuned:{url}") if found else None


def _device_arch(target: Target, device):
    """The CUDA device's arch (e.g. "sm_90") when one is present: it selects cp.async."""
    if target is not Target.CUDA:
        return None
    try:
        from .runtime.cuda_device import has_cuda_device, select_device
        return select_device(device).arch if has_cuda_device() else None
    except Exception:  # noqa: BLE001 - no driver: compile without device-specific features
        return None


def resolve_schedule(pipe, schedule, target: Target, device=None,
                     shape=None) -> tuple[Schedule, str]:
    """(Schedule, origin) for the ``schedule=`` argument of :func:`compile`; ``shape`` (Dim name
    → size) enables the tuning-database lookup of ``"auto"``."""
    if isinstance(schedule, Schedule):
        return schedule, "given"
    if schedule is None:
        return Schedule.default(pipe), "default"
    if isinstance(schedule, (str, Path)) and str(schedule) != "auto":
        return Schedule.load(schedule, pipe), f"file:{schedule}"
    if schedule != "auto":
        raise errors.ScheduleError(f"schedule= must be a vx.Schedule, a file path or 'auto', "
                                   f"got {schedule!r}")
    tuned = _tuned(pipe, shape, target, device)
    if tuned:
        return tuned
    slug = _device_slug(target, device)
    if slug is not None:
        for d in schedule_dirs():
            path = d / pipe.name / f"{slug}.toml"
            if path.is_file():
                return Schedule.load(path, pipe), f"file:{path}"
    return Schedule.default(pipe), "default"


class Kernel:
    """A compiled pipeline. Call it with the pipeline's Inputs and Params by name.

    Attributes: ``source`` (generated code, str), ``kernel_source`` (KernelSource),
    ``schedule`` and ``schedule_origin`` ("given", "default", "file:<path>" or
    "tuned:<storage URL>"), ``target``, ``lowered`` (the loop IR), and for CUDA/HIP ``binary``
    and ``resources``.
    Raises vx.InputError for bad arguments (names, dtype, rank, sizes, non-contiguous arrays)
    before any launch.
    """

    def __init__(self, pipe, schedule, origin, kernel_source, executable, lowered=None):
        self.pipe, self.schedule, self.schedule_origin = pipe, schedule, origin
        self.lowered = lowered
        self.requirements = lowered.requirements if lowered is not None else ()
        self.kernel_source, self._exe = kernel_source, executable
        self.target = kernel_source.target

    @property
    def source(self) -> str:
        return self.kernel_source.code

    @property
    def binary(self):
        """The compiled code object (CUBIN for CUDA, code object for HIP; OpenCL: None)."""
        return getattr(self._exe, "binary", None)

    @property
    def resources(self) -> dict:
        """Per kernel entry: registers, shared bytes, spills… as the compiler reports them
        (CUDA/HIP); empty for OpenCL."""
        return getattr(self._exe, "resources", {})

    def analysis(self):
        """Static facts per kernel: shared bytes, bank conflicts of shared accesses, coalescing
        of staged copies, registers/spills (CUDA/HIP) and an occupancy estimate; see
        vortex.analysis. ``str()`` of the result is a table."""
        from .analysis import analyze
        return analyze(self.lowered, self.resources, getattr(self._exe, "arch", None))

    def _bind(self, kwargs):
        binding = bind(self.pipe, kwargs, contiguous=True)
        for expr, message in self.requirements:  # e.g. a schedule's bound() vs these sizes
            if binding.evaluate(expr) < 0:
                raise errors.InputError(f"{message} (sizes {binding.dims}); use a schedule "
                                        "without this bound for such inputs")
        return binding

    def __call__(self, out=None, **kwargs):
        """Run once. numpy in → numpy out (one array, or a tuple for several outputs).

        ``kwargs``: every Input (array) and Param (scalar) by name. ``out``: arrays to write
        the outputs into, returned as the same objects (as numpy's ``out=``): one array for a
        single-output pipeline (``kernel(img=a, out=np.empty_like(a))``), a dict by output
        name, or a tuple/list in output order; each must have the output's exact shape and
        dtype and be C-contiguous. numpy arrays are filled from the device; device arrays
        (pyopencl, CuPy, PyTorch) are written in place. Outputs not in ``out`` are allocated.
        Raises vx.InputError for another form of ``out``, an unknown output name, or a wrong
        shape, dtype or layout."""
        outs = self._exe.run(self._bind(kwargs), out=out)
        return outs[0] if len(outs) == 1 else outs

    def time(self, warmup: int = 3, repeat: int = 10, **kwargs) -> float:
        """Median device time of one run in milliseconds (all launches, no transfers)."""
        return self._exe.time(self._bind(kwargs), warmup=warmup, repeat=repeat)

    def launch_config(self, **kwargs) -> list[dict]:
        """Grid/block/shared memory of each launch for these arguments."""
        return self._exe.launch_config(self._bind(kwargs))

    def __repr__(self) -> str:
        return (f"Kernel({self.pipe.name!r}, target={self.target.value!r}, "
                f"schedule={self.schedule_origin!r})")


def compile(pipe, schedule="auto", target="opencl", device=None, shape=None,  # noqa: A001
            **options) -> Kernel:
    """Lower ``pipe`` with ``schedule``, print it for ``target`` and compile it for ``device``.
    ``shape`` ({"M": 1024, …}, every Dim): the sizes the kernel will mostly run at, so that
    ``schedule="auto"`` can pick the schedule tuned for them (the kernel still runs any size).

    ``options`` go to the runtime: ``arch="sm_90"``/``"gfx90a"`` compiles CUDA/HIP without a
    device; ``build_options=(...)`` adds compiler flags.

    Raises vx.ScheduleError (the schedule cannot be applied, or exceeds the architecture's
    threads or shared memory), vx.CompileError (the target compiler rejected the source),
    vx.DeviceError (no device/driver for the target).
    """
    t = Target.parse(target)
    sched, origin = resolve_schedule(pipe, schedule, t, device, shape)
    lowered = lower(pipe, sched)
    ks = generate(lowered, t, arch=options.get("arch") or _device_arch(t, device))
    from .runtime.base import load
    return Kernel(pipe, sched, origin, ks, load(ks, device=device, **options), lowered)


def _generate_offline(pipe, schedule, target, arch):
    """(Schedule, KernelSource) without a device: ``"auto"`` means the default schedule, since
    there is no device to look a schedule file up for."""
    t = Target.parse(target)
    sched, _ = resolve_schedule(pipe, None if schedule == "auto" else schedule, t)
    return sched, generate(lower(pipe, sched), t, arch=arch)


def export(pipe, schedule="auto", target="cuda", out_dir=".", name=None, arch=None) -> list:
    """Write the generated kernels with a host launcher into ``out_dir`` (see
    vortex.codegen.export): ``.cu``/``.hip`` + ``.h`` for CUDA/HIP, ``.cl`` + ``.json`` for
    OpenCL. ``arch`` ("sm_80"…) selects arch-specific code such as cp.async. Needs no device or
    compiler. Returns the written paths."""
    from .codegen.export import export_source
    sched, ks = _generate_offline(pipe, schedule, target, arch)
    return export_source(ks, sched.to_toml(), out_dir, name)


def source(pipe, schedule="auto", target="opencl", arch=None) -> str:
    """The generated source only (no compiler, no device needed)."""
    return _generate_offline(pipe, schedule, target, arch)[1].code
