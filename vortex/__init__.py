"""Vortex: GPU kernels the Halide way — algorithm once, schedule per GPU, CUDA/HIP/OpenCL out.

``import vortex as vx``; the public surface is described in docs/design.md.
"""
from .algorithm import *  # noqa: F401,F403
from .algorithm.integer import borrow, carry, mul_hi, mul_wide  # noqa: F401 - integer intrinsics
from .algorithm.tf32 import round_tf32  # noqa: F401 - TensorFloat-32 rounding (mma tf32)
from .errors import (BoundsError, CompileError, DeviceError, InputError, ScheduleError,  # noqa: A004
                     SecretError, TuningError, TypeError, VortexError)

__version__ = "0.1.0"
from .api import Kernel, compile, export, source  # noqa: E402,A004
from .schedule import MemoryType, Schedule, Tunable, divisible  # noqa: E402
from . import archs, auto, devices  # noqa: E402,F401 - arch tables, schedule="auto", device names
from .target import Target  # noqa: E402
from .tuner import TuneResult, tune  # noqa: E402
