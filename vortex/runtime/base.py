"""Runtimes: compile a :class:`~vortex.codegen.kernel_source.KernelSource` for one device, launch it
with a :class:`~vortex.algorithm.binding.Binding`, and time it with device events.

One runtime per :class:`~vortex.target.Target`, found in the :data:`RUNTIMES` registry. Each entry
is a zero-argument *factory* that imports its driver module only when first used, so
``import vortex`` never imports pyopencl, cuda-bindings or hip-python.

The launch model is the same for every target (docs/design.md): ``KernelSource.launches`` run in
order on one in-order stream/queue; launch *i* has ``grid`` blocks of ``block`` threads per axis
(x, y, z), i.e. an OpenCL global size of ``grid * block`` and a local size of ``block``.
Intermediate (``compute_root``) buffers are allocated for each call from ``BufferArg.shape``.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Callable

import numpy as np

from .. import errors
from ..target import Target

__all__ = ["Runtime", "Executable", "RUNTIMES", "register", "runtime", "load",
           "buffer_shape", "launch_sizes", "scalar_value", "source_excerpt", "out_arrays"]


class Executable(ABC):
    """A KernelSource compiled for one device, ready to launch.

    Attributes: ``kernel_source`` (the KernelSource), ``device`` (the runtime's device object).
    """

    kernel_source = None
    device = None

    @abstractmethod
    def run(self, binding, out=None) -> tuple:
        """Launch every kernel once and return the outputs, in ``kernel_source.outputs`` order.

        ``binding``: a Binding (``vortex.algorithm.binding.bind(pipe, kwargs, contiguous=True)``).
        ``out``: optional arrays to write into in place (returned as is): one array (a
        single-output pipeline), a dict output name → array, or a tuple/list in output order
        (see :func:`out_arrays`).
        numpy inputs give numpy outputs; device arrays stay on the device.
        Raises vx.InputError (an argument the kernels need is missing or mismatched) and
        vx.DeviceError (the launch does not fit the device).
        """

    @abstractmethod
    def time(self, binding, warmup: int = 3, repeat: int = 10) -> float:
        """Median over ``repeat`` runs (after ``warmup`` runs) of the device-timed sum of all
        launches of one run, in milliseconds. Uploads and read-backs are not timed."""

    def launch_config(self, binding) -> list[dict]:
        """Per launch, in order: ``entry``, ``grid`` (blocks per axis), ``block`` (threads per
        block per axis), ``global_size`` (grid * block), ``shared_bytes`` — all ints."""
        return [launch_sizes(launch, binding) for launch in self.kernel_source.launches]


class Runtime(ABC):
    """Compiles KernelSources of one ``target`` into Executables."""

    target: Target

    @abstractmethod
    def load(self, kernel_source, device=None, **options) -> Executable:
        """Compile ``kernel_source`` for ``device`` (runtime-specific selector; None: the default
        device) and return an Executable. Raises vx.CompileError, vx.DeviceError."""


def _opencl() -> Runtime:
    try:
        from .opencl import OpenCLRuntime
    except ImportError as e:
        raise errors.DeviceError(f"the OpenCL runtime needs pyopencl ({e}); install it with "
                                 'pip install "vortex[opencl]" or pip install "pyopencl[pocl]"'
                                 ) from None
    return OpenCLRuntime()


def _cuda() -> Runtime:
    from .cuda import CUDARuntime   # imports cuda-bindings only when NVRTC or the driver is used
    return CUDARuntime()


def _hip() -> Runtime:
    from .hip import HIPRuntime   # ctypes on ROCm's libamdhip64; no Python package
    return HIPRuntime()


RUNTIMES: dict[Target, Callable[[], Runtime]] = {Target.OPENCL: _opencl, Target.CUDA: _cuda,
                                                 Target.HIP: _hip}
_INSTANCES: dict[Target, Runtime] = {}


def register(target: Target, factory: Callable[[], Runtime]) -> None:
    """Register (or replace) the runtime factory of ``target``."""
    RUNTIMES[target] = factory
    _INSTANCES.pop(target, None)


def runtime(target) -> Runtime:
    """The Runtime of ``target`` (a Target or its name), created on first use.
    Raises vx.DeviceError when no runtime exists for it or its driver package is missing."""
    t = Target.parse(target)
    if t not in _INSTANCES:
        if t not in RUNTIMES:
            raise errors.DeviceError(f"no runtime for target {t.value!r} in this version; "
                                     f"runtimes: {sorted(k.value for k in RUNTIMES)}")
        _INSTANCES[t] = RUNTIMES[t]()
    return _INSTANCES[t]


def load(kernel_source, device=None, **options) -> Executable:
    """Compile ``kernel_source`` with the runtime of its target; see :meth:`Runtime.load`."""
    return runtime(kernel_source.target).load(kernel_source, device=device, **options)


# ---- helpers shared by every runtime ------------------------------------------------------

def buffer_shape(buf, binding) -> tuple:
    """Concrete shape of a BufferArg at this binding (ints, row-major)."""
    return tuple(binding.evaluate(s) for s in buf.shape)


def launch_sizes(launch, binding) -> dict:
    """Concrete sizes of one Launch; grid and block are padded with 1s to the same rank."""
    grid = [binding.evaluate(g) for g in launch.grid]
    block = [int(b) for b in launch.block]
    rank = max(len(grid), len(block))
    grid += [1] * (rank - len(grid))
    block += [1] * (rank - len(block))
    return {"entry": launch.entry, "grid": tuple(grid), "block": tuple(block),
            "global_size": tuple(g * b for g, b in zip(grid, block)),
            "shared_bytes": int(launch.shared_bytes)}


_INT32 = np.iinfo(np.int32)


def scalar_value(arg, binding):
    """The by-value argument ``arg`` (a ScalarArg): a Param from ``binding.params`` cast to its
    dtype, or a Dim from ``binding.dims`` as np.int32. Raises vx.InputError if it is neither."""
    if arg.name in binding.params:
        return np.asarray(binding.params[arg.name]).astype(arg.dtype.np)[()]
    if arg.name in binding.dims:
        v = binding.dims[arg.name]
        if not _INT32.min <= v <= _INT32.max:
            raise errors.InputError(f"size {arg.name}={v} does not fit the kernel's int32 index")
        return np.int32(v)
    raise errors.InputError(f"kernel argument {arg.name!r} is neither a Param nor a Dim of this "
                            f"call (params {sorted(binding.params)}, dims {sorted(binding.dims)})")


def source_excerpt(source: str, bad) -> str:
    """The numbered lines ``bad`` of ``source`` marked with '>', with two lines of context
    (the part of a compiler error a user reads first)."""
    lines = source.splitlines()
    bad = {n for n in bad if 1 <= n <= len(lines)}
    shown = sorted({i for n in bad for i in range(max(1, n - 2), min(len(lines), n + 2) + 1)})
    excerpt, prev = [], 0
    for i in shown:
        if prev and i != prev + 1:
            excerpt.append("   ...")
        excerpt.append(f"{'>' if i in bad else ' '}{i:5d} | {lines[i - 1]}")
        prev = i
    return "\n".join(excerpt)


def check_out(name: str, target, shape, dtype):
    """An ``out=`` numpy array must match the output exactly (vx.InputError otherwise)."""
    if target.shape != tuple(shape) or target.dtype != dtype or not target.flags.c_contiguous:
        raise errors.InputError(f"out[{name!r}] must be a C-contiguous array of shape "
                                f"{tuple(shape)} and dtype {dtype}")


def check_launch_args(kernel_source):
    """Every launch argument names a buffer or scalar of ``kernel_source`` (vx.CompileError
    otherwise: a code-generation bug, caught before any launch)."""
    names = {b.name for b in kernel_source.buffers} | {s.name for s in kernel_source.scalars}
    for launch in kernel_source.launches:
        unknown = [a for a in launch.args if a not in names]
        if unknown:
            raise errors.CompileError(f"launch {launch.entry!r}: arguments {unknown} name no "
                                      "buffer or scalar of the KernelSource")


def check_out_names(kernel_source, out: dict):
    """``out=`` may name only outputs of the pipeline (vx.InputError otherwise)."""
    unknown = sorted(set(out) - set(kernel_source.outputs))
    if unknown:
        raise errors.InputError(f"out= names {unknown}, which are not outputs of "
                                f"{kernel_source.pipeline!r}; its outputs are "
                                f"{list(kernel_source.outputs)}")


OUT_FORMS = ("one array (a single-output pipeline)", "a dict {output name: array}",
             "a tuple or list of arrays in output order")


def _is_array(value) -> bool:
    """numpy, pyopencl, CuPy, PyTorch, DLPack …: anything with a shape and a dtype."""
    return hasattr(value, "shape") and hasattr(value, "dtype")


def out_arrays(kernel_source, out, outputs=None) -> dict:
    """The ``out=`` argument of a run (``outputs=`` is its alias) as a dict output name → array,
    as numpy users pass it: None (allocate every output), one array for a single-output
    pipeline, a dict by output name, or a tuple/list with one array per output in the order of
    ``kernel_source.outputs`` (the order a call returns them in). Shapes and dtypes are checked
    later, per runtime (:func:`check_out`). Raises vx.InputError for any other form, a
    sequence of the wrong length, one array for several outputs, or an unknown output name."""
    out = outputs if out is None else out
    names, pipe = list(kernel_source.outputs), kernel_source.pipeline
    if out is None:
        return {}
    if isinstance(out, Mapping):
        check_out_names(kernel_source, out)
        return dict(out)
    if isinstance(out, (tuple, list)):
        if len(out) != len(names):
            raise errors.InputError(f"out= has {len(out)} arrays but {pipe!r} has "
                                    f"{len(names)} output(s) {names}; pass one array per "
                                    "output, in that order, or a dict {output name: array}")
        return dict(zip(names, out))
    if _is_array(out):
        if len(names) != 1:
            raise errors.InputError(f"out= is one array but {pipe!r} has {len(names)} outputs "
                                    f"{names}; pass a dict {{output name: array}} or a tuple "
                                    "of arrays in that order")
        return {names[0]: out}
    raise errors.InputError(f"out= must be {', '.join(OUT_FORMS[:-1])} or {OUT_FORMS[-1]}; "
                            f"got {type(out).__name__}")
