"""``vx.compile``: algorithm + schedule → generated source → a callable, timeable kernel.

``schedule=`` is a Schedule, a path to a schedule file, None (the default schedule) or
``"auto"``: the tuning database, then the device's schedule files, by shape (``shape=``), then
the default schedule; see :mod:`vortex.auto` for the order and :mod:`vortex.devices` for how a
device names its files. ``kernel.origin`` says which was used ("given", "default",
"tuned:<url>", "file:<path> (<why>)").
"""
from __future__ import annotations

from pathlib import Path

from . import archs, auto, errors
from .algorithm.binding import bind
from .codegen import generate
from .lower import lower
from .schedule import Schedule
from .target import Target

schedule_dirs = auto.schedule_dirs


def _device_arch(target: Target, device):
    """The CUDA device's arch (e.g. "sm_90") when one is present: it selects cp.async."""
    if target is not Target.CUDA:
        return None
    try:
        from .runtime.cuda_device import has_cuda_device, select_device
        return select_device(device).arch if has_cuda_device() else None
    except Exception:  # noqa: BLE001 - no driver: compile without device-specific features
        return None


def check_arch(target: Target, arch):
    """``arch`` normalised ("SM_90A" → "sm_90a") when this machine's compiler takes it (see
    vortex.archs); None stays None. vx.CompileError for an arch on OpenCL or an unknown arch."""
    if arch is None:
        return None
    if target not in archs.SUPPORTED:
        raise errors.CompileError(f"arch={arch!r} means nothing for target {target.value!r}: "
                                  "OpenCL kernels are compiled for the device by its driver")
    return archs.arch(target, arch).name


def resolve_schedule(pipe, schedule, target: Target, device=None, shape=None,
                     arch=None) -> tuple[Schedule, str]:
    """(Schedule, origin) for the ``schedule=`` argument of :func:`compile`; ``shape`` (Dim name
    → size) and ``arch`` steer ``"auto"`` (see vortex.auto)."""
    if isinstance(schedule, Schedule):
        return schedule, "given"
    if schedule is None:
        return Schedule.default(pipe), "default"
    if isinstance(schedule, (str, Path)) and str(schedule) != "auto":
        return Schedule.load(schedule, pipe), f"file:{schedule}"
    if schedule != "auto":
        raise errors.ScheduleError(f"schedule= must be a vx.Schedule, a file path, None or "
                                   f"'auto', got {schedule!r}")
    return auto.resolve(pipe, target, device, shape, arch)


class Kernel:
    """A compiled pipeline. Call it with the pipeline's Inputs and Params by name.

    Attributes: ``source`` (generated code, str), ``kernel_source`` (KernelSource),
    ``schedule`` and ``origin`` (alias ``schedule_origin``: "given", "default",
    "file:<path> (<why>)" or "tuned:<storage URL>", see vortex.auto), ``target``, ``lowered`` (the loop IR), and for CUDA/HIP ``binary``
    and ``resources``.
    Raises vx.InputError for bad arguments (names, dtype, rank, sizes, non-contiguous arrays)
    before any launch.
    """

    def __init__(self, pipe, schedule, origin, kernel_source, executable, lowered=None):
        self.pipe, self.schedule, self.origin = pipe, schedule, origin
        self.lowered = lowered
        self.requirements = lowered.requirements if lowered is not None else ()
        self.kernel_source, self._exe = kernel_source, executable
        self.target = kernel_source.target

    @property
    def arch(self) -> str | None:
        """The arch the CUDA/HIP code was compiled for ("sm_90", "gfx90a"); None for OpenCL."""
        return getattr(self._exe, "arch", None)

    @property
    def schedule_origin(self) -> str:
        """Same as ``origin``."""
        return self.origin

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

    def analysis(self, shape: dict | None = None):
        """Static facts per kernel: shared bytes, bank conflicts of shared accesses, coalescing
        of staged copies, registers/spills (CUDA/HIP), an occupancy estimate and the compulsory
        global-memory bytes each launch reads and writes (``.traffic``: sympy in the Dims, ints
        at ``shape``, e.g. ``{"R": 4096, "C": 1024}``; vx.InputError for a missing or unknown
        Dim); see vortex.analysis. ``str()`` of the result is a table. ``.isa`` of the result is
        the instruction mix of the machine code (CUDA/HIP; vortex.isa)."""
        from .analysis import analyze
        arch = getattr(self._exe, "arch", None)
        return analyze(self.lowered, self.resources,
                       archs.facts(self.target, arch) if arch else None,
                       code=(self.target, arch, self.binary), shape=shape)

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
                f"schedule={self.origin!r})")


def compile(pipe, schedule="auto", target="opencl", device=None, shape=None,  # noqa: A001
            arch=None, **options) -> Kernel:
    """Lower ``pipe`` with ``schedule``, print it for ``target`` and compile it for ``device``.

    ``shape`` ({"M": 1024, …}, every Dim): the sizes the kernel will mostly run at, so that
    ``schedule="auto"`` picks the schedule measured nearest to them (the kernel still runs any
    size). ``arch`` ("sm_90", "sm_90a", "gfx90a"; any of ``vx.archs.supported(target)``)
    compiles CUDA/HIP without a device; ``device``: a device selector, or for CUDA/HIP without a
    GPU the device's name ("NVIDIA H100 80GB HBM3"), which picks its schedule files.
    ``options`` go to the runtime: ``build_options=(...)`` adds compiler flags;
    ``fast_math=False`` (the default) keeps float results bit-for-bit equal to
    ``pipe.reference`` for ``+ - * /`` (no target contracts ``a * b + c`` into an fma: OpenCL
    ``FP_CONTRACT OFF``, NVRTC ``--fmad=false``, hiprtc ``-ffp-contract=off``), and
    ``fast_math=True`` is the opt-in to the compiler's fast math (``-cl-fast-relaxed-math``,
    ``--use_fast_math``, ``-ffast-math``: fmas, approximate division and square root), whose
    results are only close to the reference (docs/semantics.md, "Float results on the targets").

    Raises vx.ScheduleError (the schedule cannot be applied, or exceeds the architecture's
    threads or shared memory), vx.CompileError (an unknown arch; the target compiler rejected
    the source), vx.DeviceError (no device/driver for the target).
    """
    t = Target.parse(target)
    arch = check_arch(t, arch)
    sched, origin = resolve_schedule(pipe, schedule, t, device, shape, arch)
    lowered = lower(pipe, sched)
    ks = generate(lowered, t, arch=arch or _device_arch(t, device))
    from .runtime.base import load
    if arch is not None:
        options["arch"] = arch
    return Kernel(pipe, sched, origin, ks, load(ks, device=device, **options), lowered)


def export_arch(target, arch=None) -> tuple[str | None, str]:
    """(arch, note) an export is generated for: ``arch`` checked, else the target's
    ``vortex.archs.DEFAULT_EXPORT_ARCH`` with a note saying so (CUDA: sm_75, no cp.async)."""
    t = Target.parse(target)
    if arch is not None:
        return check_arch(t, arch), ""
    chosen = archs.DEFAULT_EXPORT_ARCH.get(t)
    if chosen is None:
        return None, ""
    return chosen, (f"none given: code for every {t.value.upper()} GPU Vortex supports; pass "
                    "--arch (arch= in Python) sm_80 or newer for asynchronous cp.async copies")


def _generate_offline(pipe, schedule, target, arch):
    """(Schedule, origin, KernelSource) without a device. ``"auto"`` looks up the schedule files
    of ``arch``'s representative device (vortex.devices); OpenCL, with no device, takes the
    default schedule."""
    t = Target.parse(target)
    if schedule == "auto" and (t is Target.OPENCL or arch is None):
        schedule = None
    sched, origin = resolve_schedule(pipe, schedule, t, arch=arch)
    return sched, origin, generate(lower(pipe, sched), t, arch=arch)


def export(pipe, schedule="auto", target="cuda", out_dir=".", name=None, arch=None) -> list:
    """Write the generated kernels with a host launcher into ``out_dir`` (see
    vortex.codegen.export): ``.cu``/``.hip`` + ``.h`` for CUDA/HIP, ``.cl`` + ``.json`` for
    OpenCL. ``arch`` ("sm_80"…) selects arch-specific code such as cp.async; without it, CUDA
    exports are for ``vortex.archs.DEFAULT_EXPORT_ARCH`` and the header says so. Needs no device
    or compiler. Returns the written paths. Raises vx.CompileError for an unknown arch."""
    from .codegen.export import export_source
    arch, note = export_arch(target, arch)
    sched, origin, ks = _generate_offline(pipe, schedule, target, arch)
    return export_source(ks, sched.to_toml(), out_dir, name, arch=arch, arch_note=note,
                         origin=origin)


def source(pipe, schedule="auto", target="opencl", arch=None) -> str:
    """The generated source only (no compiler, no device needed); ``"auto"`` as in
    :func:`export`. Raises vx.CompileError for an unknown arch."""
    t = Target.parse(target)
    return _generate_offline(pipe, schedule, t, check_arch(t, arch))[2].code
