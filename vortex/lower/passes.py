"""Lowering as an ordered list of named passes, each a function from :class:`Program` to
:class:`Program` (the shape of Halide's ``Lower.cpp``: ``s = pass(s)``, with the IR logged after
each). :data:`PASSES` is the list; a new transformation is one more entry.

Debugging: ``VORTEX_DEBUG`` is a comma-separated list of

- ``ir``: write the IR after every pass that has kernels — to ``$VORTEX_DUMP_IR/<pipeline>/
  NN-<pass>.txt`` when that variable names a folder (``vortex run --dump-ir DIR`` sets it), else
  to standard error;
- ``check`` (or ``1``): run the IR invariant checker (:mod:`vortex.lower.check`) after every
  pass that has kernels. The test suite turns it on for every lowering.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from .check import check_kernel
from .ir_text import kernel_text

DEBUG_ENV, DUMP_ENV = "VORTEX_DEBUG", "VORTEX_DUMP_IR"


@dataclass(frozen=True)
class Program:
    """What lowering works on: the pipeline and schedule, then (after ``schedule``) the plan of
    every Func, then (after ``realize``) the kernels in launch order and the global buffers."""

    pipe: object
    schedule: object
    plans: dict | None = None
    kernels: tuple = ()
    buffers: tuple = ()
    context: object = field(default=None, compare=False)

    def map_kernels(self, fn) -> "Program":
        return replace(self, kernels=tuple(fn(k) for k in self.kernels))

    def known_names(self) -> set:
        """Names a kernel may use before it has parameters: buffers, Dims and Params."""
        return ({b.name for b in self.buffers} | set(self.pipe.dims) | set(self.pipe.params)
                | set(self.pipe.inputs) | set(self.plans or ()))


@dataclass(frozen=True)
class Pass:
    """``name`` (in dumps), ``run`` (Program → Program), ``guarantee`` (what holds after it)."""

    name: str
    run: Callable[[Program], Program]
    guarantee: str


def debug_flags() -> set:
    flags = {f.strip().lower() for f in os.environ.get(DEBUG_ENV, "").split(",") if f.strip()}
    return flags | ({"check"} if "1" in flags else set())


def _dump(prog: Program, number: int, p: Pass) -> None:
    text = f"# after pass {number:02d} {p.name}: {p.guarantee}\n" + \
        "\n".join(kernel_text(k) for k in prog.kernels)
    folder = os.environ.get(DUMP_ENV, "").strip()
    if not folder:
        print(text, file=sys.stderr)
        return
    path = Path(folder) / prog.pipe.name / f"{number:02d}-{p.name.replace(' ', '-')}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def run_passes(prog: Program, passes) -> Program:
    """Run ``passes`` in order; dump and check after each as :func:`debug_flags` asks."""
    flags = debug_flags()
    dump = "ir" in flags or bool(os.environ.get(DUMP_ENV, "").strip())
    for number, p in enumerate(passes, 1):
        prog = p.run(prog)
        if not prog.kernels:
            continue
        if dump:
            _dump(prog, number, p)
        if "check" in flags:
            known = prog.known_names()
            for k in prog.kernels:
                check_kernel(k, known, after=p.name)
    return prog
