"""The constant-time check: no value derived from a secret may change what the kernel does.

``vx.Input(..., secret=True)`` and ``vx.Param(..., secret=True)`` are secrets. Building a
Pipeline follows every value derived from them (taint analysis): through arithmetic, casts,
selects, inline reductions and loads of other Funcs, whose values carry the secrets their
definitions (pure and updates, to a fixed point for those that read themselves) depend on. A
secret-derived value that would make the kernel's timing depend on it is a vx.SecretError naming
the Func, the definition, the expression and the secrets:

============================  ===========================================================
``Leak.BRANCH``               a ``where()`` predicate (it decides which points run), an
                              argmax/argmin over secret values (lowered to an ``if``)
``Leak.LOAD_INDEX``           an index of a read of an Input or a Func (a boundary
                              condition's clamp included: it is a read of a Func)
``Leak.STORE_INDEX``          an index on the left-hand side of an update
``Leak.LOOP_BOUND``           an RDom's min or extent (a secret Param with a range)
``Leak.DIVISION``             an integer ``/``, ``//`` or ``%`` whose divisor is not a constant
============================  ===========================================================

Arithmetic on secrets is accepted, and so is ``vx.select`` on a secret condition: the check marks
such selects ``branch_free`` (in the Funcs' definitions, in place: the values are the same), and
the printers write them as a mask blend of both values, never ``?:`` (codegen/blend.py). What
this guarantees and what it does not (the compilers below Vortex, memory timing, floats) is in
docs/constant_time.md.

Sources: T. Pornin, "Why Constant-Time Crypto?" and "Constant-Time Mul" (BearSSL,
bearssl.org/constanttime.html): no secret-dependent branches, memory addresses or divisions;
J. B. Almeida, M. Barbosa, G. Barthe, F. Dupressoir, M. Emmi, "Verifying Constant-Time
Implementations" (ct-verif, USENIX Security 2016): the leakage model of branch conditions and
memory addresses, checked as taint of program values.
"""
from __future__ import annotations

from dataclasses import replace
from enum import Enum

from .. import errors
from .expr import BinaryOp, BinOp, Const, Expr, Load, Param, Reduce, ReduceOp, Select
from .func import Func, Input
from .graph import exprs_of, rdoms_of
from .printer import show
from .walk import find, rebuild


class Leak(Enum):
    """How a secret-derived value would show in the kernel's timing: (why, what to do)."""

    BRANCH = (
        "it decides a branch, so which code runs (and how long) depends on the secret",
        ("compute both cases and pick with vx.select(cond, a, b), which Vortex prints "
         "branch-free (e.g. f[...] = vx.select(cond, new, f[...]) instead of where(cond))"))
    LOAD_INDEX = (
        "a load address that depends on a secret leaks it through caches and memory transactions",
        ("read every candidate and pick with vx.select (a constant-time table lookup: "
         "vx.sum(vx.select(r == idx, table[r], 0)) over an RDom r of the table)"))
    STORE_INDEX = (
        "a store address that depends on a secret leaks it through caches and memory transactions",
        ("update every candidate and blend: f[r] = vx.select(r == idx, new, f[r]) "
         "over an RDom r of f's domain"))
    LOOP_BOUND = (
        "a loop bound decides how many iterations run",
        "iterate over the public maximum and mask the extra points with vx.select")
    DIVISION = (
        ("integer division and modulo by a non-constant take a time that depends on "
         "their operands (a CPU's divide instruction, a GPU's division routine)"),
        "divide by a constant, or by a power of two with shifts and masks (x >> k, x & (2**k - 1))")

    @property
    def why(self) -> str:
        return self.value[0]

    @property
    def fix(self) -> str:
        return self.value[1]


_DIVISIONS = {BinaryOp.DIV: "division", BinaryOp.FLOORDIV: "division", BinaryOp.MOD: "modulo"}
_BRANCHING_REDUCTIONS = (ReduceOp.ARGMAX, ReduceOp.ARGMIN)


class Taint:
    """The secrets (labels such as ``"Input 'key'"``) each value depends on; ``funcs`` holds
    each Func's, filled producer first by :meth:`settle`."""

    def __init__(self, secret_params: set):
        self.secret_params = secret_params
        self.funcs: dict[str, frozenset] = {}

    def of(self, e: Expr) -> frozenset:
        """The secrets ``e`` depends on (empty: a public value)."""
        out = set()
        for n in find(e, lambda x: isinstance(x, (Load, Param))):
            if isinstance(n, Param):
                if n.name in self.secret_params:
                    out.add(f"Param {n.name!r}")
            elif isinstance(n.source, Input):
                if n.source.secret:
                    out.add(f"Input {n.name!r}")
            else:
                out |= self.funcs.get(n.source.name, frozenset())
        return frozenset(out)

    def via(self, e: Expr) -> list[str]:
        """The Funcs read in ``e`` whose values carry a secret, in order."""
        names = [n.source.name for n in find(e, lambda x: isinstance(x, Load))
                 if isinstance(n.source, Func) and self.funcs.get(n.source.name)]
        return list(dict.fromkeys(names))

    def settle(self, f: Func):
        """``f``'s secrets: those of all its definitions' values, to a fixed point (an update
        may read ``f`` itself)."""
        self.funcs[f.name] = frozenset()
        while True:
            found = frozenset().union(*(self.of(e) for e in exprs_of(f)))
            if found == self.funcs[f.name]:
                return
            self.funcs[f.name] = found


def check(funcs: list[Func]):
    """Raise vx.SecretError for the first secret-derived value of ``funcs`` (producers first, as
    vx.Pipeline collects them) that would leak through timing; mark every ``vx.select`` on a
    secret condition ``branch_free``. A pipeline without secrets is left untouched."""
    params = {p.name for f in funcs for e in exprs_of(f)
              for p in find(e, lambda x: isinstance(x, Param) and x.secret)}
    inputs = [ld for f in funcs for e in exprs_of(f)
              for ld in find(e, lambda x: isinstance(x, Load) and isinstance(x.source, Input)
                             and x.source.secret)]
    if not params and not inputs:
        return
    taint = Taint(params)
    for f in funcs:
        taint.settle(f)
        _check_rdoms(f, taint)
        for n, d in enumerate(f.definitions):
            where = "the pure definition" if n == 0 else f"update {n}"
            if d.update:
                for a in d.lhs:
                    _refuse(taint, f, where, Leak.STORE_INDEX, a,
                            f"the index {show(a)} it stores to")
            for e in (*d.lhs, d.value):
                for node in find(e, lambda x: True):
                    _check_node(taint, f, where, node)
        _mark_selects(f, taint)


def _check_rdoms(f: Func, taint: Taint):
    for rd in rdoms_of(f).values():
        where = f"RDom {rd.name!r}"
        for lo, ext in rd.bounds:
            for b in (lo, ext):
                _refuse(taint, f, where, Leak.LOOP_BOUND, b, f"the loop bound {show(b)}")
        for p in rd.predicates:
            _refuse(taint, f, where, Leak.BRANCH, p, f"the where() predicate {show(p)}")


def _check_node(taint: Taint, f: Func, where: str, e: Expr):
    if isinstance(e, Load):
        for a in e.args:
            _refuse(taint, f, where, Leak.LOAD_INDEX, a, f"the index {show(a)} of {show(e)}")
    elif isinstance(e, BinOp) and e.op in _DIVISIONS and e.a.dtype.is_int \
            and not isinstance(e.b, Const):
        _refuse(taint, f, where, Leak.DIVISION, e, f"the integer {_DIVISIONS[e.op]} {show(e)}")
    elif isinstance(e, Reduce) and e.op in _BRANCHING_REDUCTIONS:
        _refuse(taint, f, where, Leak.BRANCH, e.body,
                f"vx.{e.op.value}({show(e.body)}), which keeps the better point with an if,")


def _refuse(taint: Taint, f: Func, where: str, leak: Leak, e: Expr, what: str):
    """vx.SecretError when ``e`` depends on a secret; ``what`` names the place of ``e``."""
    secrets = taint.of(e)
    if not secrets:
        return
    via = taint.via(e)
    through = f" (through Func {', '.join(map(repr, via))})" if via else ""
    raise errors.SecretError(
        f"Func {f.name!r}, {where}: {what} depends on the secret {', '.join(sorted(secrets))}"
        f"{through}; {leak.why}. Instead, {leak.fix}; or do not mark it secret "
        "(docs/constant_time.md)")


def _mark_selects(f: Func, taint: Taint):
    """Mark the selects of ``f``'s values whose condition is secret ``branch_free`` (the
    checks above have refused secrets in indices and predicates, so values are the only place
    left for them)."""
    def mark(n: Expr):
        if isinstance(n, Select) and not n.branch_free and taint.of(n.cond):
            return replace(n, branch_free=True)
        return None
    for i, d in enumerate(f.definitions):
        value = rebuild(d.value, mark)
        if value is not d.value:
            f.definitions[i] = replace(d, value=value)
