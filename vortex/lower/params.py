"""A kernel's arguments, read off its body: global buffers first (in pipeline order), then the
Dims and Params it uses, sorted by name."""
from __future__ import annotations

from dataclasses import replace

from ..algorithm import dtypes as T
from ..algorithm.expr import Dim, Param
from ..algorithm.walk import find
from .ir import AsyncCopy, Kernel, KernelParam, Store
from .walk import stmt_exprs, stmts


def kernel_params(k: Kernel, pipe, buffers) -> Kernel:
    exprs = list(stmt_exprs(k.body))
    loaded = set()
    from .ir import BufferLoad
    for e in exprs:
        loaded |= {b.buffer for b in find(e, lambda x: isinstance(x, BufferLoad))}
    stored = {s.buffer for s in stmts(k.body) if isinstance(s, Store)}
    loaded |= {s.src for s in stmts(k.body) if isinstance(s, AsyncCopy)}  # staged copies
    params = []
    for b in buffers:
        if b.name in loaded or b.name in stored:
            params.append(KernelParam(b.name, b.dtype, True, writable=b.name in stored))
    dims, prms = {}, {}
    for e in exprs:
        for leaf in find(e, lambda x: isinstance(x, (Dim, Param))):
            (dims if isinstance(leaf, Dim) else prms)[leaf.name] = leaf
    params += [KernelParam(n, T.int32, False) for n in sorted(dims)]
    params += [KernelParam(n, prms[n].dtype, False) for n in sorted(prms)]
    return replace(k, params=tuple(params))
