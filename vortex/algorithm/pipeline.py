"""Pipeline: the checked algorithm, one or more output Funcs and everything they read.

Building a Pipeline runs every algorithm check once, symbolically, for all sizes: structure
(undefined/recursive Funcs, RDoms outside reductions), types (already enforced as expressions
are built) and bounds inference of every access (vx.BoundsError). ``reference(**inputs)`` then
evaluates it with numpy for concrete inputs.
"""
from __future__ import annotations

from .. import errors
from .binding import bind
from .func import Func
from .graph import collect
from .infer import infer_regions
from .reference import Evaluator
from .secret import check as check_secrets


class Pipeline:
    """An algorithm ready to schedule: ``vx.Pipeline(out_a, out_b, name=None)``.

    Attributes: ``name`` (default: the first output's name), ``outputs`` (Funcs, in call order),
    ``funcs`` (every Func, producers first), ``inputs``/``params``/``dims`` (dicts by name),
    ``regions`` (Func name → inclusive sympy (lo, hi) per dimension, symbolic in the Dims).

    Raises vx.TypeError (ill-formed algorithm), vx.SecretError (a secret-derived value that
    would leak through timing: vortex/algorithm/secret.py) or vx.BoundsError (an access not
    provably in bounds) — at construction, never at a call.
    """

    def __init__(self, *outputs: Func, name: str | None = None):
        if not outputs:
            raise errors.TypeError("vx.Pipeline needs at least one output Func")
        if len({o.name for o in outputs}) != len(outputs):
            raise errors.TypeError("the same Func is listed twice as a Pipeline output")
        self.outputs = tuple(outputs)
        self.name = name or outputs[0].name
        self.funcs, self.inputs, self.params, self.dims = collect(self.outputs)
        check_secrets(self.funcs)
        self.regions = infer_regions(self.funcs)
        self._by_name = {f.name: f for f in self.funcs}

    def func(self, name: str) -> Func:
        """The Func called ``name`` (KeyError if the pipeline has none)."""
        return self._by_name[name]

    def reference(self, **kwargs):
        """Evaluate with numpy. Keyword arguments: every Input (a numpy array of its dtype and
        rank), every Param (a scalar), and sizes not fixed by any input (``N=128``).

        Returns the output array, or a tuple of arrays for several outputs (a Tuple-valued
        output gives one array per element, in order), each of its dtype and declared shape. Raises vx.InputError for bad arguments, vx.TypeError
        for bfloat16 values when ml_dtypes (numpy's bfloat16) is not installed.
        """
        for t in (*(i.dtype for i in self.inputs.values()),
                  *(t for f in self.funcs for t in f.dtypes)):
            t.np  # noqa: B018 - vx.TypeError for bfloat16 without ml_dtypes
        binding = bind(self, kwargs)
        outs = Evaluator(self, binding).run()
        return outs[0] if len(outs) == 1 else outs

    def __repr__(self) -> str:
        return (f"Pipeline({self.name!r}, outputs={[o.name for o in self.outputs]}, "
                f"funcs={[f.name for f in self.funcs]})")
