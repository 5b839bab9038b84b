"""The loop nest the lowering builds from each Func's loop directives.

One class for everyone: :class:`~vortex.schedule.nest.LoopNest` (with :class:`Loop`,
:class:`SplitRecord`, :class:`FuseRecord`) is where each loop directive is defined, validated
and applied — here with sympy extents, so a split whose factor does not provably divide its
extent is recorded inexact and guarded. ``FuncPlan.nest()`` builds it:
``LoopNest(func_name, [Loop(name, extent, reduction)], assume={Dim symbol: multiple})`` then
``nest.apply(d)`` per directive.
"""
from ..schedule.nest import FuseRecord, Loop, LoopNest, SplitRecord

__all__ = ["Loop", "LoopNest", "SplitRecord", "FuseRecord"]
