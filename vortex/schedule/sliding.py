"""Checks of ``store_at`` that need a Func's complete directive list (Halide's ``store_at`` with
``compute_at``; the sliding window itself is :mod:`vortex.lower.sliding`).

``s[f].store_at(g, yo).compute_at(g, yi)`` allocates ``f`` at loop ``yo`` of ``g`` and computes
it at ``yi``: ``yo`` must enclose ``yi`` in the kernel's nesting (the GPU-bound loops outermost,
then the serial loops in schedule order), and every loop after ``yo`` down to ``yi`` must be
serial (or unrolled): a window slides only along loops whose iterations run in order, one after
another, on one thread — a GPU-bound or vectorized loop runs its iterations at once (Halide
slides over serial loops only).
"""
from __future__ import annotations

from ..loop_kinds import ForKind
from . import directives as D
from .nest import listing

SLIDING_KINDS = (ForKind.SERIAL, ForKind.UNROLLED)


def kernel_order(loops) -> list:
    """Loop names in the order their code nests in a kernel: the GPU-bound loops, then the
    serial ones (schedule order within each)."""
    return ([lp.name for lp in loops if lp.axis is not None]
            + [lp.name for lp in loops if lp.axis is None])


def between(loops, store: str, compute: str) -> list | None:
    """The loops after ``store`` down to ``compute`` (included) in kernel order; None when
    ``store`` does not enclose ``compute``."""
    order = kernel_order(loops)
    i, j = order.index(store), order.index(compute)
    return None if i > j else [lp for n in order[i + 1:j + 1] for lp in loops if lp.name == n]


def finish(st, states: dict):
    """(entry, why) for each store_at that cannot be realised (see the module docstring)."""
    d = st.store_at
    if d is None:
        return
    at = st.compute
    if not isinstance(at, D.ComputeAt):
        yield st.store_at_entry, (f"{st.name!r} has no compute_at: store_at({d.func}, {d.var}) "
                                  f"places its storage outside the loop it is computed at; add "
                                  f"compute_at({d.func}, <a serial loop inside {d.var!r}>)")
        return
    if at.func != d.func:
        yield st.store_at_entry, (f"{st.name!r} is computed at a loop of {at.func!r}, not of "
                                  f"{d.func!r}; store it at a loop of {at.func!r}")
        return
    loops = states[d.func].nest.loops
    inside = between(loops, d.var, at.var)
    if inside is None:
        yield st.store_at_entry, (
            f"{d.var!r} does not enclose the compute_at loop {at.var!r} of {d.func!r} (its "
            f"loops as they nest in the kernel: [{listing(kernel_order(loops))}]); store it at "
            f"{at.var!r} or a loop outside it")
        return
    parallel = [lp for lp in inside if lp.axis is not None or lp.kind not in SLIDING_KINDS]
    if parallel:
        lp, last = parallel[0], parallel[-1]
        how = f"bound to {lp.axis.name.lower()}" if lp.axis is not None else lp.kind.value
        yield st.store_at_entry, (
            f"loop {lp.name!r} of {d.func!r} between {d.var!r} and the compute_at loop "
            f"{at.var!r} is {how}: its iterations run at once, so no window can slide over it; "
            f"store {st.name!r} at {last.name!r} or a serial loop inside it")
