"""Storing a definition's value: one Store for a plain Func, one per element for a Tuple-valued
Func (``f[x] = (a, b)``: element buffers ``f.0``, ``f.1``, … of one shape, so one flat index).
Every element is computed before the first is stored, so an update reading the Func's other
elements sees the values from before its point (Halide's Tuple semantics)."""
from __future__ import annotations

from ..algorithm.expr import TupleValue
from .ir import Declare, Ref, Store, block, local_name


def value_stores(lowerer, func, value, index):
    """The statements computing ``value`` (an Expr or a TupleValue, lowered by ``lowerer``) and
    storing it at flat ``index`` of ``func``'s buffer(s)."""
    if not isinstance(value, TupleValue):
        pre, v = lowerer.lower(value)
        return block(pre, Store(func.buffers[0][0], index, v))
    pres, temps = [], []
    for (name, t), e in zip(func.buffers, value.values):
        pre, v = lowerer.lower(e)
        tmp = Ref(local_name(name, "value"), t)
        pres.append(block(pre, Declare(tmp.name, t, v)))
        temps.append(tmp)
    return block(*pres, *(Store(name, index, tmp) for (name, _), tmp in zip(func.buffers, temps)))
