"""Tuple-valued Funcs in the reference evaluator: one array per element (buffers ``f.0``,
``f.1``, …), and updates that compute every element from the values before the point and then
store them all (Halide's Tuple semantics).

An update runs its loops in the order :mod:`vortex.algorithm.reference_updates` defines (RDom
points outermost, ordered pure Vars in order inside them); the loops proven independent there
(:func:`~vortex.algorithm.reference_updates.split_loops`) run as arrays, the others point by point.
"""
from __future__ import annotations

import itertools

import numpy as np

from .reference_updates import _self_loads, _update_rdom, split_loops


def compute_tuple(ev, f, scope, shape: tuple, origin: tuple):
    """Evaluate the pure definition of Tuple-valued ``f`` over ``scope`` into one buffer per
    element, registered in ``ev.buffers``; then apply its updates."""
    arrays = []
    for (name, t), v in zip(f.buffers, f.definitions[0].value.values):
        arr = np.array(np.broadcast_to(ev.eval(v, scope), shape), dtype=t.np)
        ev.buffers[name] = (arr, origin)
        arrays.append(arr)
    for d in f.updates:
        run_tuple_update(ev, f, d, arrays, origin)


def run_tuple_update(ev, f, d, arrays: list, origin: tuple):
    """Apply update ``d`` of Tuple-valued ``f`` to its element ``arrays`` in place."""
    from .reference import Scope
    from .reference_updates import update_loops
    rdom = _update_rdom(d)
    loops, ev = update_loops(ev, d, rdom, origin, arrays[0].shape)
    vec, seq = split_loops(d.lhs, loops, _self_loads(f, d, rdom))
    base = Scope((), {}).extend([v.name for v, _ in vec], [b for _, b in vec])
    names = [v.name for v, _ in seq]
    for point in itertools.product(*(range(lo, lo + n) for _, (lo, n) in seq)):
        s = base.bind(names, point)
        mask = None if rdom is None else ev.mask(rdom, s)
        values = [ev.eval(v, s) for v in d.value.values]       # all before any store
        idx = ev.index(d.lhs, origin, s)
        full = np.broadcast(*idx, *(np.asarray(v) for v in values),
                            *(() if mask is None else (np.asarray(mask),))).shape
        idx = tuple(np.broadcast_to(i, full) for i in idx)
        for arr, v in zip(arrays, values):
            v = np.broadcast_to(np.asarray(v).astype(arr.dtype, copy=False), full)
            arr[idx] = v if mask is None else np.where(mask, v, arr[idx])


def tuple_outputs(ev, f) -> tuple:
    """The element arrays of output ``f`` (one, ``f``'s own, for a plain Func)."""
    return tuple(ev.buffers[name][0] for name, _ in f.buffers)

