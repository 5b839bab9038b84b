"""TF32 rounding: a float32 rounded to the 10 mantissa bits of NVIDIA's TensorFloat-32, as
``cvt.rna.tf32.f32`` does (round to nearest, ties away from zero; infinities and NaNs kept).

``vx.round_tf32(x)`` (float32 → float32, the low 13 bits zero) is what the ``mma`` directive
applies to float32 operands under ``input_precision="tf32"``, on every target: the tensor cores
then read the value exactly, and OpenCL's emulation and the reference see the same products.
The helper printed for the kernels (vortex/codegen/intrinsics.py) and :func:`round_tf32_value`
(numpy, for the reference) compute the same bits: ``(bits + 0x1000) & ~0x1fff`` unless the
exponent is all ones. Source: PTX ISA, ``cvt`` (``.rna`` rounding, ``.tf32`` destination);
NVIDIA A100 whitepaper (TF32: 8-bit exponent, 10-bit mantissa)."""
from __future__ import annotations

import numpy as np

from .. import errors
from . import dtypes as T
from .construct import lift
from .expr import Call, Expr
from .operators import Intrinsic

HALF = 0x1000          # half a unit of the last kept mantissa bit (bit 13 of 23)
KEEP = 0xFFFFE000      # sign, exponent and the 10 high mantissa bits
EXPONENT = 0x7F800000


def round_tf32(x) -> Expr:
    """``x`` (float32) rounded to tf32 precision, still a float32 (see the module docstring).
    Raises vx.TypeError for any other type (cast to float32 first)."""
    x = lift(x)
    if x.dtype is not T.float32:
        raise errors.TypeError(f"vx.round_tf32 takes float32, got {x.dtype.name}; "
                               "cast it with vx.cast(vx.float32, ...)")
    return Call(Intrinsic.ROUND_TF32, (x,), T.float32)


def round_tf32_value(x):
    """The numpy twin: float32 array → float32 array rounded to tf32."""
    bits = np.asarray(x, dtype=np.float32).view(np.uint32)
    rounded = ((bits.astype(np.uint64) + HALF) & KEEP).astype(np.uint32)
    return np.where((bits & EXPONENT) == EXPONENT, bits, rounded).view(np.float32)
