"""Inline reductions in the reference evaluator: chunked over the RDom's first dimension.

Per op: the identity (value of an empty reduction), the reduction of one chunk over the RDom
axes (masked by ``where`` predicates), and how two partial results combine. Accumulation is in
the reduction's type; float sums and products run in the RDom's order, as a kernel's loop does.
"""
from __future__ import annotations

import math

import numpy as np

from .expr import Reduce, ReduceOp


def _lowest(dt: np.dtype):
    return -np.inf if dt.kind == "f" else (False if dt.kind == "b" else np.iinfo(dt).min)


def _highest(dt: np.dtype):
    return np.inf if dt.kind == "f" else (True if dt.kind == "b" else np.iinfo(dt).max)


def running(op, vals, k: int, acc, dt):
    """``acc`` (None: nothing yet) combined with ``vals`` over their last ``k`` axes one value at
    a time, in the RDom's loop order (first variable outermost), as a kernel's loop runs: for
    float sums and products, where numpy's pairwise ``np.sum`` rounds and overflows differently
    (``-3e38 - 3e38 + inf`` is NaN in order, +inf pairwise)."""
    vals = np.asarray(vals, dtype=dt)
    flat = vals.reshape(*vals.shape[:vals.ndim - k], -1)
    if acc is not None:
        head = np.broadcast_to(np.asarray(acc, dtype=dt), flat.shape[:-1])[..., None]
        flat = np.concatenate([head, flat], axis=-1)
    if flat.shape[-1] == 0:
        return acc
    return {ReduceOp.SUM: np.cumsum, ReduceOp.PRODUCT: np.cumprod}[op](flat, axis=-1,
                                                                      dtype=dt)[..., -1]


_MONOIDS = {
    # op: (identity(dt), reduce(values, axes, dt), combine(acc, part))
    ReduceOp.SUM: (lambda dt: 0, lambda v, ax, dt: np.sum(v, axis=ax, dtype=dt), np.add),
    ReduceOp.PRODUCT: (lambda dt: 1, lambda v, ax, dt: np.prod(v, axis=ax, dtype=dt), np.multiply),
    # NaN-ignoring, as the targets' fmaxf/fminf (IEEE 754 maxNum/minNum): NaN points are skipped
    ReduceOp.MAXIMUM: (_lowest, lambda v, ax, dt: np.fmax.reduce(v, axis=ax,
                                                                 initial=_lowest(dt)), np.fmax),
    ReduceOp.MINIMUM: (_highest, lambda v, ax, dt: np.fmin.reduce(v, axis=ax,
                                                                  initial=_highest(dt)), np.fmin),
}


class ReduceRun:
    """One evaluation of a :class:`Reduce` node over a Scope."""

    def __init__(self, ev, e: Reduce, scope):
        self.ev, self.e = ev, e
        self.rdom = e.rdom
        self.varying = self.rdom.bound_predicates()
        self.scope = scope
        self.names = [v.name for v in self.rdom.vars]
        self.bounds = ev.rdom_bounds(self.rdom, scope)

    def chunks(self):
        """(sub-scope, values, mask, flat offset of the chunk) with RDom axes last."""
        per_row = math.prod(n for _, n in self.bounds[1:])
        lo0 = self.bounds[0][0]
        for sub in self.ev._chunks(self.scope, self.names, self.bounds):
            inside = None
            if self.varying:   # the box: loads clamped, only each point's own range counts
                inside = np.logical_and.reduce([np.broadcast_to(self.ev.eval(p, sub), sub.shape)
                                                for p in self.varying])
                sub = sub.clipped(inside)
            vals = np.broadcast_to(self.ev.eval(self.e.body, sub), sub.shape)
            mask = self.ev.mask(self.rdom, sub, own_ranges=False)   # own ranges: ``inside``
            if inside is not None:
                mask = inside if mask is None else np.logical_and(mask, inside)
            first = int(np.ravel(sub.values[self.names[0]])[0]) - lo0
            yield sub, vals, mask, first * per_row

    def positions(self, sub):
        """argmax/argmin positions of the points of chunk ``sub`` when the bounds use a Var:
        the coordinate (1-D), else the row-major offset within each point's own domain."""
        if self.rdom.ndim == 1:
            return sub.values[self.names[0]]
        pos = np.int64(0)
        for v, (lo, ext) in zip(self.names, self.rdom.bounds):
            ext_v, lo_v = np.maximum(self.ev.eval(ext, sub), 0), self.ev.eval(lo, sub)
            pos = pos * ext_v + (sub.values[v] - lo_v)
        return pos

    def run(self):
        if self.e.op in (ReduceOp.ARGMAX, ReduceOp.ARGMIN):
            return self._arg()
        body_dt = self.e.body.dtype.np
        identity, red, combine = _MONOIDS[self.e.op]
        k = self.rdom.ndim
        acc = None
        for sub, vals, mask, _ in self.chunks():
            if mask is not None:
                vals = np.where(mask, vals, np.asarray(identity(body_dt), dtype=body_dt))
            if body_dt.kind == "f" and self.e.op in (ReduceOp.SUM, ReduceOp.PRODUCT):
                acc = running(self.e.op, vals, k, acc, body_dt)
                continue
            part = red(vals, tuple(range(-k, 0)), body_dt)
            acc = part if acc is None else combine(acc, part)
        if acc is None:
            return np.full(self.scope.shape, identity(body_dt), dtype=body_dt)
        return np.asarray(acc).astype(body_dt, copy=False)

    def _arg(self):
        body_dt = self.e.body.dtype.np
        is_max = self.e.op is ReduceOp.ARGMAX
        sentinel = _lowest(body_dt) if is_max else _highest(body_dt)
        better = np.greater if is_max else np.less
        nd = len(self.scope.shape)
        best_v = np.full(self.scope.shape, sentinel, dtype=body_dt)
        best_i = np.zeros(self.scope.shape, dtype=np.int64)
        found = np.zeros(self.scope.shape, dtype=bool)
        for sub, vals, mask, offset in self.chunks():
            flat = vals.reshape(vals.shape[:nd] + (-1,))
            if flat.shape[-1] == 0:   # an empty dimension: no point of the domain
                continue
            m = np.ones(flat.shape, bool) if mask is None else \
                np.broadcast_to(mask, vals.shape).reshape(flat.shape)
            masked = np.where(m, flat, sentinel)
            ext = (np.max if is_max else np.min)(masked, axis=-1)
            hit = (flat == ext[..., None]) & m
            pos = np.argmax(hit, axis=-1)
            if self.varying:   # each point's own position, not the box's
                where = np.broadcast_to(self.positions(sub), vals.shape).reshape(flat.shape)
                pos = np.take_along_axis(where, pos[..., None], -1)[..., 0] - offset
            any_hit = hit.any(axis=-1)
            take = any_hit & (~found | better(ext, best_v))
            best_v = np.where(take, ext, best_v)
            best_i = np.where(take, pos + offset, best_i)
            found |= any_hit
        if self.varying:   # an empty domain gives its first point: the min (1-D), else 0
            first = self.ev.eval(self.rdom.bounds[0][0], self.scope) if self.rdom.ndim == 1 else 0
            return np.where(found, best_i, first).astype(np.int32)
        if self.rdom.ndim == 1:
            best_i = best_i + self.bounds[0][0]
        return best_i.astype(np.int32)
