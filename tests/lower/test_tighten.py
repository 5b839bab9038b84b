"""The ``tighten loops`` pass (issue 12 item 6d, Halide's trimming of RDom bounds by affine
``where`` predicates): a triangular, banded or ``k < j < i`` domain runs its points only.

- numbers on PoCL against ``pipe.reference`` at sizes 1, 2, 7, 13, 20, for inline reductions of a
  pure definition (serial and on GPU threads) and for update definitions;
- the lowered loop nest has no test left for an affine predicate, and its loops, run with
  concrete sizes by a small interpreter of the IR, take exactly as many innermost iterations as
  there are points satisfying the predicate (N(N+1)/2, not N²; without the pass, the box);
- it compiles for CUDA sm_90 and HIP gfx90a.
"""
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

import vortex as vx
from vortex.algorithm.expr import BinaryOp, BinOp, Cast, Const, Dim, Param, Select, UnOp
from vortex.algorithm.walk import find
from vortex.lower import driver
from vortex.lower.ir import Block, Declare, For, If, Ref
from vortex.lower.ir_text import kernel_text
from vortex.lower.tighten import TIGHTEN
from vortex.lower.walk import stmts

SIZES = (1, 2, 7, 13, 20)
P_VALUE = 3


@dataclass(frozen=True)
class Case:
    """``where`` predicates over ``r`` (an ndim RDom of [0, N) each) and the same as numpy over
    the counters' grids; ``affine``: every predicate tightens (no test left in the loops)."""

    name: str
    ndim: int
    preds: Callable            # (r, N, P, A, x) -> list of conditions
    mask: Callable             # (grids tuple, n, p, x) -> bool array
    affine: bool = True
    param: bool = False
    pure_var: bool = False     # reads the pure Var x (inline form only)


CASES = [
    Case("le", 2, lambda r, n, p, a, x: [r[1] <= r[0]], lambda g, n, p, x: g[1] <= g[0]),
    Case("lt", 2, lambda r, n, p, a, x: [r[1] < r[0]], lambda g, n, p, x: g[1] < g[0]),
    Case("antidiagonal_dim", 2, lambda r, n, p, a, x: [r[0] + r[1] < n],
         lambda g, n, p, x: g[0] + g[1] < n),
    Case("coefficients", 2, lambda r, n, p, a, x: [2 * r[1] >= r[0], 3 * r[1] <= 2 * r[0] + 4],
         lambda g, n, p, x: (2 * g[1] >= g[0]) & (3 * g[1] <= 2 * g[0] + 4)),
    Case("band_param", 2, lambda r, n, p, a, x: [r[0] - r[1] <= p, r[1] - r[0] < p],
         lambda g, n, p, x: (g[0] - g[1] <= p) & (g[1] - g[0] < p), param=True),
    Case("dim_times_param", 2, lambda r, n, p, a, x: [r[0] + 2 * r[1] < n * p - 5],
         lambda g, n, p, x: g[0] + 2 * g[1] < n * p - 5, param=True),
    Case("k_lt_j_lt_i", 3, lambda r, n, p, a, x: [r[2] < r[1], r[1] < r[0]],
         lambda g, n, p, x: (g[2] < g[1]) & (g[1] < g[0])),
    Case("data", 2, lambda r, n, p, a, x: [r[1] <= r[0], a[r[0], r[1]] > 0],
         lambda g, n, p, x: g[1] <= g[0], affine=False),
    Case("pure_var", 2, lambda r, n, p, a, x: [r[1] <= x, r[0] < r[1] + 2],
         lambda g, n, p, x: (g[1] <= x) & (g[0] < g[1] + 2), pure_var=True),
]
CASE = {c.name: c for c in CASES}


def pipeline(case: Case, form: str):
    """``update``: g[r_0] += A[r] over the domain (g[x] = 0 first); ``inline``: f[x] = sum of
    A[r] + x over the domain."""
    n, x = vx.Dim("N"), vx.Var("x")
    p = vx.Param("P", vx.int32, range=(0, 64))
    a = vx.Input("A", vx.int32, (n,) * case.ndim)
    r = vx.RDom([(0, n)] * case.ndim, name="r")
    for c in case.preds(r, n, p, a, x):
        r.where(c)
    point = a[tuple(r[i] for i in range(case.ndim))]
    if form == "update":
        g = vx.Func("g", shape=(n,))
        g[x] = 0
        g[r[0]] += point
        return vx.Pipeline(g)
    f = vx.Func("f", shape=(n,))
    f[x] = vx.sum(point + x)
    return vx.Pipeline(f)


def gpu_schedule(pipe):
    xo, xi = vx.vars("xo xi")
    s = vx.Schedule(pipe)
    s["f"].split("x", xo, xi, 4).gpu_blocks(xo).gpu_threads(xi)
    return s


def update_gpu_schedule(pipe):
    """g's update with r_0 (its own point: race-free) on blocks and threads."""
    ro, ri = vx.vars("ro ri")
    s = vx.Schedule(pipe)
    s["g"].update(0).split("r_0", ro, ri, 4).gpu_blocks(ro).gpu_threads(ri)
    return s


def arguments(case: Case, n: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    args = {"A": rng.integers(-50, 50, (n,) * case.ndim).astype(np.int32)}
    return args | ({"P": P_VALUE} if case.param else {})


@pytest.mark.parametrize("form,schedule", [("update", None), ("update", update_gpu_schedule),
                                           ("inline", None), ("inline", gpu_schedule)],
                         ids=["update", "update-gpu", "inline", "inline-gpu"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_tightened_loops_agree_with_the_reference(opencl_device, case, form, schedule):
    if form == "update" and case.pure_var:
        pytest.skip("an update has no pure Var in its RDom predicate here")
    pipe = pipeline(case, form)
    s = schedule(pipe) if schedule else vx.Schedule(pipe)
    kernel = vx.compile(pipe, schedule=s, target="opencl", device=opencl_device)
    for n in SIZES:
        args = arguments(case, n, n)
        np.testing.assert_array_equal(kernel(**args), pipe.reference(**args),
                                      err_msg=f"{case.name} {form} N={n}")


# --- the loop nest ------------------------------------------------------------------------------
_OPS = {BinaryOp.ADD: lambda a, b: a + b, BinaryOp.SUB: lambda a, b: a - b,
        BinaryOp.MUL: lambda a, b: a * b, BinaryOp.FLOORDIV: lambda a, b: a // b,
        BinaryOp.MOD: lambda a, b: a % b, BinaryOp.MIN: min, BinaryOp.MAX: max,
        BinaryOp.LT: lambda a, b: a < b, BinaryOp.LE: lambda a, b: a <= b,
        BinaryOp.GT: lambda a, b: a > b, BinaryOp.GE: lambda a, b: a >= b,
        BinaryOp.EQ: lambda a, b: a == b, BinaryOp.NE: lambda a, b: a != b,
        BinaryOp.AND: lambda a, b: a and b, BinaryOp.OR: lambda a, b: a or b}


def evaluate(e, env: dict):
    """An integer or boolean IR expression with ``env`` giving locals, Dims and Params."""
    if isinstance(e, Const):
        return e.value
    if isinstance(e, (Ref, Dim, Param)):
        return env[e.name]
    if isinstance(e, BinOp):
        return _OPS[e.op](evaluate(e.a, env), evaluate(e.b, env))
    if isinstance(e, Select):
        return evaluate(e.true_value if evaluate(e.cond, env) else e.false_value, env)
    if isinstance(e, Cast):
        return evaluate(e.value, env)
    if isinstance(e, UnOp) and e.op.name == "NEG":
        return -evaluate(e.a, env)
    raise LookupError(f"cannot evaluate {e}")


def innermost_iterations(s, env: dict) -> int:
    """How many iterations the innermost loops of ``s`` run (all of them together), running the
    enclosing loops, Ifs and int locals with ``env``'s values."""
    if isinstance(s, Block):
        total = 0
        for x in s.stmts:
            total += innermost_iterations(x, env)
            if isinstance(x, Declare) and x.value is not None:
                try:
                    env[x.name] = evaluate(x.value, env)
                except (LookupError, KeyError):
                    pass      # a value (a load): no loop bound reads it
        return total
    if isinstance(s, For):
        lo, extent = evaluate(s.min, env), evaluate(s.extent, env)
        if not any(isinstance(x, For) for x in stmts(s.body)):
            return max(extent, 0)
        return sum(innermost_iterations(s.body, env | {s.var: v}) for v in range(lo, lo + extent))
    if isinstance(s, If):
        if not any(isinstance(x, For) for x in stmts(s.then)):
            return 0
        branch = s.then if evaluate(s.cond, env) else s.otherwise
        return 0 if branch is None else innermost_iterations(branch, env)
    return 0


def _kernel(pipe, form, passes=None):
    name = "g_update0_kernel" if form == "update" else "f_kernel"
    return next(k for k in driver.lower(pipe, vx.Schedule(pipe), passes).kernels
                if k.name == name)


def points(case: Case, n: int, form: str) -> int:
    grids = np.meshgrid(*[np.arange(n)] * case.ndim, indexing="ij")
    if form == "update":
        return int(case.mask(grids, n, P_VALUE, None).sum())
    return sum(int(np.broadcast_to(case.mask(grids, n, P_VALUE, x), grids[0].shape).sum())
               for x in range(n))


@pytest.mark.parametrize("form", ["update", "inline"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_the_nest_runs_only_the_points_of_the_domain(case, form):
    """Innermost iterations of the tightened nest == points satisfying the affine predicates;
    without the pass, more (the box, less what ``partition loops`` and ``hoist`` skip)."""
    if form == "update" and case.pure_var:
        pytest.skip("an update has no pure Var in its RDom predicate here")
    pipe = pipeline(case, form)
    k = _kernel(pipe, form)
    without = _kernel(pipe, form, [p for p in driver.PASSES if p is not TIGHTEN])
    text = kernel_text(k)
    if case.affine:
        assert not any(isinstance(x, If) for x in stmts(k.body) if not isinstance(x, Block)
                       and _reads_counter(x)), text
    for n in SIZES:
        env = {"N": n, "P": P_VALUE}
        tightened, want = innermost_iterations(k.body, dict(env)), points(case, n, form)
        assert tightened == want, (n, text)
    assert innermost_iterations(without.body, dict(env)) > tightened   # (N = 20)


def _reads_counter(x) -> bool:
    """An If whose condition reads an RDom counter (a predicate left as a test)."""
    return isinstance(x, If) and bool(find(x.cond, lambda e: isinstance(e, Ref)
                                           and e.name.startswith("r_")))


def test_a_triangle_prints_as_a_tightened_loop():
    """``r_1 <= r_0`` over [0, N)²: the inner loop runs [0, min(N, r_0 + 1)), no test."""
    pipe = pipeline(CASE["le"], "update")
    text = kernel_text(_kernel(pipe, "update"))
    assert "for r_1 in [0, vx.max(vx.min(N, r_0 + 1), 0)) serial" in text, text
    assert "if " not in text, text


def test_the_data_dependent_part_stays_a_test():
    """``r_1 <= r_0 && A[r_0, r_1] > 0``: the affine conjunct bounds the loop, the load stays."""
    text = kernel_text(_kernel(pipeline(CASE["data"], "update"), "update"))
    assert "vx.min(N, r_0 + 1)" in text and "if A[" in text and "<=" not in text, text


def test_short_constant_loops_keep_their_extent():
    """A loop of at most 16 constant iterations is left for the device compiler to unroll (as in
    ``partition loops``): an RDom of constant extent 8 keeps its test."""
    x = vx.Var("x")
    a = vx.Input("A", vx.int32, (8, 8))
    r = vx.RDom([(0, 8), (0, 8)], name="r")
    r.where(r[1] <= r[0])
    g = vx.Func("g", shape=(8,))
    g[x] = 0
    g[r[0]] += a[r[0], r[1]]
    text = kernel_text(_kernel(vx.Pipeline(g), "update"))
    assert "for r_1 in [0, 8) serial" in text and "if r_1 <= r_0" in text, text


@pytest.mark.parametrize("case", [CASE[n] for n in ("le", "k_lt_j_lt_i", "data")],
                         ids=lambda c: c.name)
def test_tightened_loops_compile_offline(offline, case):
    _, build = offline
    for form in ("update", "inline"):
        assert build(pipeline(case, form)).binary
    pipe = pipeline(case, "inline")
    assert build(pipe, gpu_schedule(pipe)).binary
    pipe = pipeline(case, "update")
    assert build(pipe, update_gpu_schedule(pipe)).binary

