"""Runtimes: compile generated kernels for a device, launch them, time them
(docs/design.md, "Compiling and running").

Importing this package imports no driver: ``vortex.runtime.opencl`` (pyopencl) is loaded when the
OpenCL runtime is first asked for.
"""
from .base import RUNTIMES, Executable, Runtime, load, register, runtime  # noqa: F401

__all__ = ["RUNTIMES", "Executable", "Runtime", "load", "register", "runtime"]
