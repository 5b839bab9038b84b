"""The operators of the expression IR (:mod:`vortex.algorithm.expr`): binary and unary
operators with their Python symbol, numpy ufunc, C precedence and category; the intrinsic
functions; the inline reductions."""
from __future__ import annotations

from enum import Enum

import numpy as np


class BinaryOp(Enum):
    """Binary operators: (python symbol, numpy ufunc, precedence, category)."""

    ADD = ("+", np.add, 11, "arith")
    SUB = ("-", np.subtract, 11, "arith")
    MUL = ("*", np.multiply, 12, "arith")
    DIV = ("/", np.true_divide, 12, "arith")
    FLOORDIV = ("//", np.floor_divide, 12, "arith")
    MOD = ("%", np.remainder, 12, "arith")
    POW = ("**", np.power, 14, "arith")
    SHL = ("<<", np.left_shift, 10, "bitwise")
    SHR = (">>", np.right_shift, 10, "bitwise")
    AND = ("&", np.bitwise_and, 9, "bitwise")
    XOR = ("^", np.bitwise_xor, 8, "bitwise")
    OR = ("|", np.bitwise_or, 7, "bitwise")
    EQ = ("==", np.equal, 6, "compare")
    NE = ("!=", np.not_equal, 6, "compare")
    LT = ("<", np.less, 6, "compare")
    LE = ("<=", np.less_equal, 6, "compare")
    GT = (">", np.greater, 6, "compare")
    GE = (">=", np.greater_equal, 6, "compare")
    MIN = ("min", np.fmin, 99, "minmax")     # NaN-ignoring: C fmin/fmax, IEEE 754 minNum
    MAX = ("max", np.fmax, 99, "minmax")

    @property
    def symbol(self) -> str:
        return self.value[0]

    @property
    def ufunc(self):
        return self.value[1]

    @property
    def precedence(self) -> int:
        return self.value[2]

    @property
    def category(self) -> str:
        return self.value[3]


class UnaryOp(Enum):
    NEG = "-"
    INVERT = "~"     # bitwise not on ints, logical not on bool
    ABS = "abs"


class Intrinsic(Enum):
    """Intrinsic functions, by name (the reference evaluator and the dialect tables map each to
    an implementation). FAST_* are the targets' fast approximations (float32 only); MURMUR3_*
    are the steps of the counter-based hash behind vx.random_uint (uint32 only); MUL_HI is the
    high half of an unsigned product (uint32/uint64, vortex/algorithm/integer.py); ROUND_TF32
    a float32 rounded to TensorFloat-32 (vortex/algorithm/tf32.py)."""

    EXP = "exp"
    LOG = "log"
    SQRT = "sqrt"
    RSQRT = "rsqrt"
    SIN = "sin"
    COS = "cos"
    TAN = "tan"
    TANH = "tanh"
    ERF = "erf"
    FLOOR = "floor"
    CEIL = "ceil"
    ROUND = "round"
    FAST_EXP = "fast_exp"
    FAST_LOG = "fast_log"
    MURMUR3_MIX = "murmur3_mix"
    MURMUR3_FMIX = "murmur3_fmix"
    MUL_HI = "mul_hi"
    ROUND_TF32 = "round_tf32"


class ReduceOp(Enum):
    """Inline reductions: identity-free semantics are documented in :mod:`vortex.algorithm.ops`."""

    SUM = "sum"
    PRODUCT = "product"
    MAXIMUM = "maximum"
    MINIMUM = "minimum"
    ARGMAX = "argmax"
    ARGMIN = "argmin"
