"""The numpy reference evaluator: the executable specification every backend is tested against.

Each Func is computed over its inferred region in producer-first order, vectorized over the
pure Vars (each Var is an ``arange`` broadcast along its own axis). Inline reductions add trailing
axes for their RDom and are evaluated in chunks (≤ ``CHUNK_ELEMENTS`` values at once). Update
definitions run in RDom order (last RDom dimension innermost), vectorized over the pure Vars and
RVars proven independent (:mod:`vortex.algorithm.reference_updates`).

Semantics pinned here (and documented in docs/semantics.md): integer ``//`` and ``%`` floor as in
Python, division or modulo by zero gives 0, shift counts are taken modulo the bit width, integer
overflow wraps, float→int casts truncate toward zero, an integer ``**`` with a negative exponent
gives ``trunc(1 / a ** -b)``.
"""
from __future__ import annotations

import math

import numpy as np

from .. import errors
from .expr import (BinaryOp, BinOp, Call, Cast, Const, Dim, Expr, Intrinsic, Load, Param, Reduce,
                   RVar, Select, UnaryOp, UnOp, Var)
from .func import Func, Input
from .integer import mul_hi_value
from .rng import murmur3_fmix, murmur3_mix
from .tf32 import round_tf32_value

CHUNK_ELEMENTS = 1 << 24

_erf = np.frompyfunc(math.erf, 1, 1)

INTRINSICS = {
    Intrinsic.EXP: np.exp, Intrinsic.LOG: np.log, Intrinsic.SQRT: np.sqrt,
    Intrinsic.RSQRT: lambda x: np.reciprocal(np.sqrt(x)), Intrinsic.SIN: np.sin,
    Intrinsic.COS: np.cos, Intrinsic.TAN: np.tan, Intrinsic.TANH: np.tanh,
    Intrinsic.ERF: lambda x: np.asarray(_erf(x)).astype(np.asarray(x).dtype),
    Intrinsic.FLOOR: np.floor, Intrinsic.CEIL: np.ceil, Intrinsic.ROUND: np.rint,
    Intrinsic.FAST_EXP: np.exp, Intrinsic.FAST_LOG: np.log,   # the exact functions (ops.py)
    Intrinsic.MURMUR3_MIX: murmur3_mix, Intrinsic.MURMUR3_FMIX: murmur3_fmix,
    Intrinsic.MUL_HI: mul_hi_value, Intrinsic.ROUND_TF32: round_tf32_value,
}
UNARY = {UnaryOp.NEG: np.negative, UnaryOp.INVERT: np.invert, UnaryOp.ABS: np.abs}


def _int_power(a, b):
    """Integer ``a ** b`` (wraps on overflow). numpy refuses negative exponents; here they give
    ``trunc(1 / a ** -b)``: 1 for a == 1, ±1 for a == -1, otherwise 0 (0 ** -n too, as x // 0)."""
    a, b = np.asarray(a), np.asarray(b)
    positive = np.power(a, np.where(b < 0, 0, b).astype(b.dtype))
    unit = np.where(a == 1, 1, np.where(a == -1, 1 - 2 * (b & 1), 0))
    return np.where(b < 0, unit, positive)


def binop_value(e: BinOp, a, b):
    """The value of node ``e`` for operand values ``a``, ``b`` (arrays or numpy scalars)."""
    if e.op in (BinaryOp.SHL, BinaryOp.SHR):
        b = np.bitwise_and(b, e.a.dtype.bits - 1)
    if e.op is BinaryOp.POW and e.dtype.is_int:
        return _int_power(a, b).astype(e.dtype.np, copy=False)
    return np.asarray(e.op.ufunc(a, b)).astype(e.dtype.np, copy=False)


class Scope:
    """Values of Vars/RVars as arrays broadcast over ``shape`` (one axis per variable).

    ``clip``: None, or the points that count — a bool array broadcast over ``shape``, or True
    (unknown). Loads then clamp their indices into the source: the box of an RDom whose bounds
    use a Var holds points outside some point's own range (masked off), where an index may leave
    the source that bounds inference proved in bounds for the points that count."""

    def __init__(self, shape: tuple, values: dict, clip=None):
        self.shape, self.values, self.clip = tuple(shape), values, clip

    def extend(self, names: list[str], ranges: list[tuple[int, int]]) -> "Scope":
        k = len(names)
        values = {n: (v.reshape(v.shape + (1,) * k) if np.ndim(v) else v)
                  for n, v in self.values.items()}
        nd = len(self.shape) + k
        for i, (name, (lo, n)) in enumerate(zip(names, ranges)):
            axis_shape = [1] * nd
            axis_shape[len(self.shape) + i] = n
            values[name] = np.arange(lo, lo + n, dtype=np.int32).reshape(axis_shape)
        clip = self.clip
        if np.ndim(clip):
            clip = clip.reshape(clip.shape + (1,) * k)
        return Scope(self.shape + tuple(n for _, n in ranges), values, clip)

    def bind(self, names: list[str], point: tuple) -> "Scope":
        return Scope(self.shape, {**self.values, **{n: np.int32(p) for n, p in zip(names, point)}},
                     self.clip)

    def clipped(self, inside=True) -> "Scope":
        """This scope with loads clamped, ``inside`` (bool array, or True: unknown) the points
        that count, within those of an enclosing clipped scope."""
        if self.clip is True or inside is True:
            clip = True
        else:
            clip = inside if self.clip is None else np.logical_and(self.clip, inside)
        return Scope(self.shape, self.values, clip)


class Evaluator:
    """Evaluates a Pipeline for one Binding; ``run()`` returns the outputs as numpy arrays."""

    def __init__(self, pipe, binding):
        self.pipe, self.b = pipe, binding
        self.buffers: dict[str, tuple[np.ndarray, tuple]] = {}

    def run(self) -> tuple:
        with np.errstate(all="ignore"):
            for f in self.pipe.funcs:
                self.compute(f)
        from .reference_tuple import tuple_outputs
        return tuple(a for o in self.pipe.outputs for a in tuple_outputs(self, o))

    # --- Funcs -------------------------------------------------------------------------------
    def compute(self, f: Func):
        box = [(self.b.evaluate(lo), self.b.evaluate(hi)) for lo, hi in self.pipe.regions[f.name]]
        origin = tuple(lo for lo, _ in box)
        shape = tuple(max(0, hi - lo + 1) for lo, hi in box)
        scope = Scope((), {}).extend([v.name for v in f.pure_vars], [(lo, n) for lo, n in zip(origin, shape)])
        if f.is_tuple:
            from .reference_tuple import compute_tuple
            return compute_tuple(self, f, scope, shape, origin)
        value = self.eval(f.definitions[0].value, scope)
        arr = np.array(np.broadcast_to(value, shape), dtype=f.dtype.np)
        self.buffers[f.name] = (arr, origin)
        for d in f.updates:
            self.update(f, d, arr, origin)

    def update(self, f: Func, d, arr: np.ndarray, origin: tuple):
        from .reference_updates import run_update
        run_update(self, f, d, arr, origin)

    # --- helpers -----------------------------------------------------------------------------
    def index(self, args, origin, scope) -> tuple:
        return tuple(np.asarray(self.eval(a, scope)).astype(np.intp) - o
                     for a, o in zip(args, origin))

    def rdom_bounds(self, rdom, scope) -> list[tuple[int, int]]:
        """(min, extent) per dimension; a dimension whose bounds use a Var (arrays over
        ``scope``) gets the box of its points' non-empty ranges, which :meth:`mask` cuts back
        to each point's own (``rdom.bound_predicates()``)."""
        out = []
        for lo, ext in rdom.bounds:
            lo_v, ext_v = self.eval(lo, scope), self.eval(ext, scope)
            if not (np.ndim(lo_v) or np.ndim(ext_v)):
                out.append((int(lo_v), max(0, int(ext_v))))
                continue
            lo_a, ext_a = (np.asarray(a, dtype=np.int64) for a in np.broadcast_arrays(lo_v, ext_v))
            live = ext_a > 0
            if not live.any():
                out.append((0, 0))
                continue
            first = int(lo_a[live].min())
            out.append((first, int((lo_a + ext_a)[live].max()) - first))
        return out

    def mask(self, rdom, scope, own_ranges: bool = True):
        """The points of ``rdom`` that count: its where() predicates and, with ``own_ranges``,
        each point's own range of a Var-bounded dimension (None: every point)."""
        m = None
        for p in (*rdom.predicates, *(rdom.bound_predicates() if own_ranges else ())):
            v = self.eval(p, scope)
            m = v if m is None else np.logical_and(m, v)
        return m

    def _chunks(self, scope: Scope, names: list[str], bounds: list[tuple[int, int]]):
        outer = math.prod(scope.shape) * math.prod(n for _, n in bounds[1:])
        step = max(1, CHUNK_ELEMENTS // max(1, outer))
        lo0, n0 = bounds[0]
        for start in range(0, n0, step):
            yield scope.extend(names, [(lo0 + start, min(step, n0 - start))] + bounds[1:])

    # --- expressions -------------------------------------------------------------------------
    def eval(self, e: Expr, scope: Scope):
        t = type(e)
        if t is Const:
            return np.array(e.value, dtype=e.dtype.np)[()]
        if t in (Var, RVar):
            return scope.values[e.name]
        if t is Dim:
            return np.int32(self.b.dims[e.name])
        if t is Param:
            return self.b.params[e.name]
        if t is BinOp:
            return self._binop(e, scope)
        if t is UnOp:
            return UNARY[e.op](self.eval(e.a, scope))
        if t is Select:
            return np.where(self.eval(e.cond, scope), self.eval(e.true_value, scope),
                            self.eval(e.false_value, scope)).astype(e.dtype.np, copy=False)
        if t is Cast:
            return np.asarray(self.eval(e.value, scope)).astype(e.dtype.np)
        if t is Call:
            return INTRINSICS[e.fn](*(self.eval(a, scope) for a in e.args))
        if t is Load:
            return self._load(e, scope)
        if t is Reduce:
            return self._reduce(e, scope)
        raise errors.TypeError(f"the reference evaluator cannot evaluate {type(e).__name__}")

    def _binop(self, e: BinOp, scope: Scope):
        return binop_value(e, self.eval(e.a, scope), self.eval(e.b, scope))

    def _load(self, e: Load, scope: Scope):
        src = e.source
        if isinstance(src, Input):
            arr, origin = np.asarray(self.b.arrays[e.name]), (0,) * src.ndim
        else:
            arr, origin = self.buffers[e.name]
        idx = self.index(e.args, origin, scope)
        if scope is not None and scope.clip is not None:
            idx = tuple(np.clip(i, 0, n - 1) for i, n in zip(idx, arr.shape))
        return arr[idx]

    def _reduce(self, e: Reduce, scope: Scope):
        from .reduce import ReduceRun
        return ReduceRun(self, e, scope).run()
