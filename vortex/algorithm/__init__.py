"""The algorithm language: what is computed, independent of how (schedules live elsewhere)."""
from .boundary import constant_exterior, mirror_image, mirror_interior, repeat_edge
from .dtypes import (DType, bfloat16, bool_, float16, float32, float64, int8, int16, int32,
                     int64, uint8, uint16, uint32, uint64)
from .expr import Dim, Expr, Param, RVar, Var
from .func import Func, Input
from .lerp import lerp
from .ops import (abs, absd, argmax, argmin, cast, ceil, clamp, cos, erf, exp, fast_exp, fast_log,
                  floor, log, max, maximum, min, minimum, mux, pow, product, round, rsqrt, select,
                  sin, sqrt, sum, tan, tanh)
from .pipeline import Pipeline
from .rdom import RDom
from .rng import random_float, random_uint
from .saturate import saturating_cast


def vars(names: str) -> tuple:  # noqa: A001 - vx.vars by contract
    """``x, y = vx.vars("x y")``: Vars from a space-separated string."""
    return tuple(Var(n) for n in names.split())


def dims(names: str) -> tuple:
    """``W, H = vx.dims("W H")``: symbolic sizes (Dims) from a space-separated string."""
    return tuple(Dim(n) for n in names.split())


__all__ = [
    "constant_exterior", "mirror_image", "mirror_interior", "repeat_edge",
    "DType", "bfloat16", "bool_", "float16", "float32", "float64", "int8", "int16", "int32",
    "int64", "uint8", "uint16", "uint32", "uint64",
    "Dim", "Expr", "Param", "RVar", "Var", "Func", "Input", "Pipeline", "RDom",
    "abs", "argmax", "argmin", "cast", "ceil", "clamp", "cos", "erf", "exp", "floor", "log", "max",
    "maximum", "min", "minimum", "pow", "product", "round", "rsqrt", "select", "sin", "sqrt", "sum",
    "tan", "tanh", "vars", "dims",
    "absd", "fast_exp", "fast_log", "lerp", "mux", "random_float", "random_uint",
    "saturating_cast",
]
