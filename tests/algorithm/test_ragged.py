"""Ragged (packed, CSR / "jagged") tensors: RDoms bounded by data (issue 16, acceptance 1).

A batch of sequences of lengths ``[3, 0, 1, 7, 2]`` is one packed tensor ``tokens`` of ``T =
sum(lengths)`` rows and an ``offsets`` vector of ``B + 1`` entries (sequence ``b`` is rows
``offsets[b] … offsets[b + 1] - 1``), declared ``vx.Input("offsets", vx.int32, (B + 1,),
range=(0, T))``. A reduction per sequence runs ``vx.RDom(offsets[b], offsets[b + 1] -
offsets[b])``: its loop reads the offsets (no padded box, no mask), bounds inference proves
``tokens[r, d]`` within ``[0, T)`` from the declared range, and every call checks the range.

- per-sequence sums and a ragged softmax (per-sequence max, sum of exponentials, normalized
  tokens written back in the packed layout through a segment-id Input) on PoCL and from
  ``pipe.reference`` against numpy, for lengths with 0 and 1 and a random batch;
- the lowered loop's bound reads ``offsets`` and the nest runs ``sum(lengths)`` iterations per
  column, not ``B * max(lengths)``;
- the errors: data outside the declared range (vx.InputError before any launch), a bound
  loading from an Input without a range (vx.TypeError saying to declare one);
- CUDA sm_90 and HIP gfx90a compile.

The triangular solve and the lower-triangular matmul (loops bounded by an outer Var) are the
same acceptance item: tests/algorithm/test_rdom_outer_bounds.py (``trisolve``, ``trimatmul``),
also compiled here for sm_90 and gfx90a.
"""
import itertools
import re

import numpy as np
import sympy
import pytest

import vortex as vx
from vortex.algorithm.binding import exact
from vortex.lower import driver
from vortex.lower.ir import Block, BufferLoad, Declare, For, GpuAxis, GpuIndex, If
from vortex.lower.ir_text import kernel_text
from vortex.lower.walk import stmts

from tests.algorithm.test_rdom_outer_bounds import trimatmul, trisolve
from tests.lower import test_tighten

LENGTHS = ([3, 0, 1, 7, 2], [1], [0, 0, 5], [2, 13, 0, 1, 4, 1, 9, 0])
COLS = 3


def _raises(err, *parts):
    return pytest.raises(err, match=".*".join(map(re.escape, parts)))


# --- the algorithms -----------------------------------------------------------------------------
def _packed():
    b_, t_, d_ = vx.dims("B T D")
    offsets = vx.Input("offsets", vx.int32, (b_ + 1,), range=(0, t_))
    tokens = vx.Input("tokens", vx.float32, (t_, d_))
    b, d = vx.vars("b d")
    r = vx.RDom(offsets[b], offsets[b + 1] - offsets[b], name="r")
    return (b_, t_, d_), offsets, tokens, (b, d), r


def seq_sum():
    """seq_sum[b, d] = sum of tokens[t, d] over the rows t of sequence b."""
    (b_, _, d_), _, tokens, (b, d), r = _packed()
    f = vx.Func("seq_sum", shape=(b_, d_))
    f[b, d] = vx.sum(tokens[r, d])
    return vx.Pipeline(f)


def seq_count():
    """How many rows each sequence's domain runs (an int32 sum of ones)."""
    (b_, _, d_), _, tokens, (b, d), r = _packed()
    f = vx.Func("seq_count", shape=(b_, d_))
    f[b, d] = vx.sum(vx.cast(vx.int32, tokens[r, d] * 0) + 1)
    return vx.Pipeline(f)


def ragged_softmax():
    """Softmax over each sequence's rows, per column: m = max, s = sum of exp(x - m), each a
    Func reducing over the data-bounded RDom; y[t, d] = exp(x[t, d] - m[seg[t], d]) / s[...],
    packed like x (``seg``: the sequence of each row, declared within [0, B - 1])."""
    (b_, t_, d_), _, x, (b, d), r = _packed()
    seg = vx.Input("seg", vx.int32, (t_,), range=(0, b_ - 1))
    t = vx.Var("t")
    m = vx.Func("seq_max")
    m[b, d] = vx.maximum(x[r, d])
    r2 = vx.RDom(r.bounds[0][0], r.bounds[0][1], name="r2")
    s = vx.Func("seq_den")
    s[b, d] = vx.sum(vx.exp(x[r2, d] - m[b, d]))
    y = vx.Func("softmax", shape=(t_, d_))
    y[t, d] = vx.exp(x[t, d] - m[seg[t], d]) / s[seg[t], d]
    return vx.Pipeline(y)


def _batch(lengths, seed=0) -> dict:
    off = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    n = max(int(off[-1]), 1)     # a batch of empty sequences still has one (unused) row
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, COLS)).astype(np.float32)
    seg = np.repeat(np.arange(len(lengths)), lengths).astype(np.int32)
    return {"offsets": off, "tokens": x, "seg": np.pad(seg, (0, n - len(seg))),
            "B": len(lengths)}


def _sum_numpy(a):
    off, x = a["offsets"], a["tokens"]
    return np.stack([x[off[i]:off[i + 1]].sum(0) for i in range(len(off) - 1)])


def _softmax_numpy(a):
    off, x = a["offsets"], a["tokens"].astype(np.float64)
    y = np.zeros_like(x)
    for i in range(len(off) - 1):
        part = x[off[i]:off[i + 1]]
        if len(part):
            e = np.exp(part - part.max(0))
            y[off[i]:off[i + 1]] = e / e.sum(0)
    return y


def _args(pipe, a):
    return {k: v for k, v in a.items() if k in pipe.inputs or k in pipe.dims}


def gpu_rows(pipe):
    """Sequences on blocks, columns on threads (4 a block, guarded); the RDom loop serial
    inside, split by 4 (guarded by each sequence's length)."""
    s = vx.Schedule(pipe)
    for f in pipe.funcs:
        if f.name in ("seq_sum", "seq_count", "seq_max", "seq_den"):
            if f not in pipe.outputs:
                s[f.name].compute_root()
            s[f.name].split("d", "do", "di", 4).gpu_blocks("b", "do").gpu_threads("di") \
                .split("r2" if f.name == "seq_den" else "r", "ro", "ri", 4)
    return s


SCHEDULES = {"empty": vx.Schedule, "default": vx.Schedule.default, "gpu_rows": gpu_rows}
CASES = {"seq_sum": (seq_sum, _sum_numpy), "softmax": (ragged_softmax, _softmax_numpy),
         "count": (seq_count, lambda a: np.repeat(np.diff(a["offsets"])[:, None], COLS, 1))}


@pytest.mark.parametrize("schedule", list(SCHEDULES))
@pytest.mark.parametrize("name", list(CASES))
def test_kernels_and_reference_match_numpy(opencl_device, name, schedule):
    build, oracle = CASES[name]
    pipe = build()
    kernel = vx.compile(pipe, schedule=SCHEDULES[schedule](pipe), target="opencl",
                        device=opencl_device)
    rng = np.random.default_rng(7)
    batches = [*LENGTHS, list(rng.integers(0, 40, 17))]
    for lengths in batches:
        a = _args(pipe, _batch(lengths, len(lengths)))
        want = oracle(a)
        np.testing.assert_allclose(pipe.reference(**a), want, rtol=1e-5, atol=1e-5,
                                   err_msg=f"reference {name} {lengths}")
        np.testing.assert_allclose(kernel(**a), want, rtol=1e-5, atol=1e-5,
                                   err_msg=f"{schedule} {name} {lengths}")


def test_an_update_over_the_sequence(opencl_device):
    """f[b, d] = 0; f[b, d] += 2 tokens[r, d]: the update's own RDom bounded by the offsets,
    on the CPU loop and with sequences on GPU blocks."""
    (b_, _, d_), _, tokens, (b, d), r = _packed()
    f = vx.Func("f", shape=(b_, d_))
    f[b, d] = vx.cast(vx.float32, 0)
    f[b, d] = f[b, d] + tokens[r, d] * 2
    pipe = vx.Pipeline(f)
    gpu = vx.Schedule(pipe)
    gpu["f"].update(0).gpu_blocks("b").split("d", "do", "di", 4).gpu_threads("di")
    for s in (vx.Schedule(pipe), gpu):
        kernel = vx.compile(pipe, schedule=s, target="opencl", device=opencl_device)
        for lengths in LENGTHS:
            a = _args(pipe, _batch(lengths))
            np.testing.assert_allclose(pipe.reference(**a), 2 * _sum_numpy(a), rtol=1e-5,
                                       atol=1e-5)
            np.testing.assert_allclose(kernel(**a), 2 * _sum_numpy(a), rtol=1e-5, atol=1e-5)


# --- the loops ----------------------------------------------------------------------------------
def _evaluate(e, env: dict, arrays: dict):
    """test_tighten.evaluate, also reading buffers (the offsets a loop bound loads)."""
    if isinstance(e, BufferLoad):
        return int(arrays[e.buffer][_evaluate(e.index, env, arrays)])
    if isinstance(e, GpuIndex):
        return env[e.axis]
    try:
        return test_tighten.evaluate(e, env)
    except LookupError:
        parts = {f: getattr(e, f) for f in e.__dataclass_fields__}
        subs = {k: test_tighten.Const.make(_evaluate(v, env, arrays), vx.int32)
                for k, v in parts.items() if hasattr(v, "dtype") and not isinstance(v, str)}
        return test_tighten.evaluate(type(e)(**{**parts, **subs}), env)


def test_the_loop_bound_reads_the_offsets():
    k = driver.lower(seq_sum(), vx.Schedule(seq_sum())).kernels[0]
    text = kernel_text(k)
    # the bound's indices are clamped into the buffer (in_bounds: a guarded tail may pass T)
    clamped = "offsets[vx.min(vx.max({}, 0), cse.0)]"
    assert f"for r in [0, {clamped.format('b + 1')} - {clamped.format('b')}) serial" in text, text
    assert f"{clamped.format('b')} + r" in text, text
    assert not any(isinstance(s, If) for s in stmts(k.body) if not isinstance(s, Block)), text


def gpu_cols(pipe):
    """Sequences and 4 columns a block, the columns on threads; the RDom loop whole inside."""
    s = vx.Schedule(pipe)
    s["seq_sum"].split("d", "do", "di", 4).gpu_blocks("b", "do").gpu_threads("di")
    return s


@pytest.mark.parametrize("schedule", [vx.Schedule, gpu_cols], ids=["serial", "gpu"])
def test_the_nest_runs_the_real_work(schedule):
    """Innermost iterations, over every block and thread, == sum(lengths) * D (the real work),
    not B * max(lengths) * D (the padded box)."""
    pipe = seq_sum()
    k = driver.lower(pipe, schedule(pipe)).kernels[0]
    for lengths in LENGTHS:
        a = _batch(lengths)
        env = {"B": len(lengths), "T": len(a["tokens"]), "D": COLS}
        grid = [int(exact(sympy.sympify(g), env)) for g in k.grid]
        got = sum(_iterations(k.body, {**env, **dict(zip(_AXES, point))}, a)
                  for point in itertools.product(*map(range, (*grid, *k.block))))
        assert got == sum(lengths) * COLS, (lengths, got, kernel_text(k))
    assert sum(LENGTHS[0]) < len(LENGTHS[0]) * max(LENGTHS[0])


_AXES = [GpuAxis.BLOCK_X, GpuAxis.BLOCK_Y, GpuAxis.BLOCK_Z,
         GpuAxis.THREAD_X, GpuAxis.THREAD_Y, GpuAxis.THREAD_Z]


def _iterations(s, env, arrays) -> int:
    """test_tighten.innermost_iterations over GPU loops too (run as serial loops), reading
    the buffers that loop bounds load."""
    if isinstance(s, Block):
        total = 0
        for x in s.stmts:
            total += _iterations(x, env, arrays)
            if isinstance(x, Declare) and x.value is not None:
                try:
                    env[x.name] = _evaluate(x.value, env, arrays)
                except (LookupError, KeyError, TypeError):
                    pass
        return total
    if isinstance(s, For):
        lo, extent = _evaluate(s.min, env, arrays), _evaluate(s.extent, env, arrays)
        if not any(isinstance(x, For) for x in stmts(s.body)):
            return max(extent, 0)
        return sum(_iterations(s.body, env | {s.var: v}, arrays) for v in range(lo, lo + extent))
    if isinstance(s, If):
        if not any(isinstance(x, For) for x in stmts(s.then)):
            return 0
        branch = s.then if _evaluate(s.cond, env, arrays) else s.otherwise
        return 0 if branch is None else _iterations(branch, env, arrays)
    return 0


# --- what is checked ----------------------------------------------------------------------------
@pytest.mark.parametrize("bad, where", [(-1, "element 2 is -1"), (14, "element 2 is 14")])
def test_offsets_outside_the_declared_range(opencl_device, bad, where):
    """Offsets outside [0, T] would make the loop read outside tokens: vx.InputError naming the
    input and its first bad element, from the reference and before a kernel launches."""
    pipe = seq_sum()
    a = _args(pipe, _batch([3, 0, 1, 7, 2]))
    a["offsets"][2] = bad
    kernel = vx.compile(pipe, schedule=vx.Schedule(pipe), target="opencl", device=opencl_device)
    for run in (pipe.reference, kernel):
        with _raises(vx.InputError, "input 'offsets'", where,
                     "outside its declared range [0, T] = [0, 13]", "declare a wider range"):
            run(**a)


def test_a_gather_index_outside_its_range():
    pipe = ragged_softmax()
    a = _args(pipe, _batch([2, 1]))
    a["seg"][1] = 2
    with _raises(vx.InputError, "input 'seg': element 1 is 2", "[0, B - 1] = [0, 1]"):
        pipe.reference(**a)


def test_a_bound_loading_from_an_input_without_a_range():
    n, t_ = vx.dims("N T")
    offsets = vx.Input("offsets", vx.int32, (n + 1,))
    x = vx.Input("x", vx.float32, (t_,))
    b = vx.Var("b")
    r = vx.RDom(offsets[b], offsets[b + 1] - offsets[b], name="r")
    f = vx.Func("f", shape=(n,))
    f[b] = vx.sum(x[r])
    with _raises(vx.TypeError, "RDom 'r' of 'f' has bounds depending on the load offsets[b] "
                 "from the Input 'offsets', which declares no value range",
                 "declare one: vx.Input('offsets', int32, (...), range=(lo, hi))"):
        vx.Pipeline(f)


def test_a_bound_loading_from_a_func():
    n = vx.Dim("N")
    x = vx.Input("x", vx.float32, (n,))
    i = vx.Var("i")
    g = vx.Func("g")
    g[i] = i % 3
    r = vx.RDom(g[i], name="r")
    f = vx.Func("f", shape=(n,))
    f[i] = vx.sum(x[r])
    with _raises(vx.TypeError, "bounds depending on the load g[i] from the Func 'g'",
                 "compute the bound into an Input"):
        vx.Pipeline(f)


@pytest.mark.parametrize("rng", [(0, 1.5), (0,), "0 T"])
def test_a_range_that_is_not_two_integer_bounds(rng):
    with _raises(vx.TypeError, "Input 'o'"):
        vx.Input("o", vx.int32, (3,), range=rng)


def test_a_range_on_a_float_input():
    with _raises(vx.TypeError, "Input 'o': range=(lo, hi) needs an integer dtype", "float32"):
        vx.Input("o", vx.float32, (3,), range=(0, 1))


def test_bounds_inference_uses_the_declared_range():
    """One row past each sequence, or offsets up to T + 1, may read tokens[T]: vx.BoundsError;
    the exact domain offsets[b] … offsets[b + 1] - 1 is proven within [0, T - 1]."""
    b_, t_ = vx.dims("B T")
    x = vx.Input("x", vx.float32, (t_,))
    b = vx.Var("b")
    for rng, extra, ok in (((0, t_), 0, True), ((0, t_), 1, False), ((0, t_ + 1), 0, False)):
        offsets = vx.Input("offsets", vx.int32, (b_ + 1,), range=rng)
        r = vx.RDom(offsets[b], offsets[b + 1] - offsets[b] + extra, name="r")
        f = vx.Func("f", shape=(b_,))
        f[b] = vx.sum(x[r])
        if ok:
            assert vx.Pipeline(f).regions["f"]
            continue
        with _raises(vx.BoundsError, "'f' accesses x[r] out of bounds", "[0, T]"):
            vx.Pipeline(f)


def test_the_rdom_loop_cannot_be_bound_to_threads():
    pipe = seq_sum()
    s = vx.Schedule(pipe)
    s["seq_sum"].gpu_blocks("b").split("r", "ro", "ri", 4).gpu_threads("ri")
    with _raises(vx.ScheduleError, "gpu_threads(ri) on Func 'seq_sum'",
                 "RDom loop r has bounds depending on b",
                 "cannot be bound to GPU blocks or threads"):
        driver.lower(pipe, s)


def test_a_bound_read_in_a_guarded_tail_stays_in_the_buffer(opencl_device):
    """t split by 16 with a tail and d vectorized inside the key loop: the tail's guard sits
    inside the RDom loop, whose bound is computed at t >= T too; its loads are clamped into the
    buffers (the unclamped seg[t] read past the end and crashed PoCL intermittently)."""
    T, B1 = vx.dims("T B1")
    x = vx.Input("x", vx.float32, (T, 16))
    offsets = vx.Input("offsets", vx.int32, (B1,), range=(0, T))
    seg = vx.Input("seg", vx.int32, (T,), range=(0, B1 - 2))
    t, d = vx.vars("t d")
    lo = offsets[seg[t]]
    r = vx.RDom(lo, t + 1 - lo, name="r")          # the prefix of t's own sequence
    f = vx.Func("f", shape=(T, 16))
    f[t, d] = np.float32(0)
    f[t, d] = f[t, d] + x[r, d]
    pipe = vx.Pipeline(f)
    s = vx.Schedule(pipe)
    s["f"].split("t", "to", "ti", 16).gpu_blocks("to").gpu_threads("ti")
    s["f"].update(0).split("t", "to", "ti", 16).split("d", "do", "di", 8) \
        .reorder("to", "ti", "do", "r", "di").gpu_blocks("to").gpu_threads("ti").vectorize("di")
    kernel = vx.compile(pipe, schedule=s, target="opencl", device=opencl_device)
    headers = [line for line in kernel.source.splitlines() if "for (int r = 0" in line]
    assert headers and all("seg[min(max(" in h and "offsets[min(max(" in h for h in headers)
    lengths = [47, 128, 15]
    a = {"x": np.random.default_rng(0).standard_normal((190, 16)).astype(np.float32),
         "offsets": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32),
         "seg": np.repeat(np.arange(3), lengths).astype(np.int32)}
    want = np.concatenate([np.cumsum(a["x"][o:o + n], axis=0)
                           for o, n in zip(a["offsets"], lengths)])
    np.testing.assert_allclose(kernel(**a), want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(pipe.reference(**a), want, rtol=1e-5, atol=1e-5)


def test_rfactor_of_a_domain_bounded_by_data():
    """A domain whose bounds load data but use no Var is the same at every point, yet differs
    per call: rfactor refuses it, naming the loads."""
    b_, t_ = vx.dims("B T")
    offsets = vx.Input("offsets", vx.int32, (b_ + 1,), range=(0, t_))
    x = vx.Input("x", vx.float32, (t_,))
    (u,) = vx.vars("u")
    r = vx.RDom(offsets[0], offsets[b_] - offsets[0], name="r")
    g = vx.Func("g", shape=(1,))
    g[u] = vx.cast(vx.float32, 0)
    g[u] = g[u] + x[r]
    s = vx.Schedule(vx.Pipeline(g))
    with _raises(vx.ScheduleError, "RDom 'r' has bounds depending on offsets[0], offsets[B]",
                 "rfactor cannot split it"):
        s["g"].update(0).rfactor("r", "v")


# --- offline compiles ---------------------------------------------------------------------------
def test_compiles_for_cuda_and_hip(offline):
    """The ragged kernels (sequences on blocks) and the outer-Var ones of the same acceptance
    item (lower-triangular matmul, triangular solve) compile for sm_90 / gfx90a."""
    _, build = offline
    for make in (seq_sum, ragged_softmax):
        pipe = make()
        assert build(pipe).binary
        assert build(pipe, gpu_rows(pipe)).binary
    for make in (trimatmul, trisolve):
        assert build(make()).binary
