"""``ragged_split``: GPU blocks over the (segment, tile) pairs of a packed axis (issue 16 item 3).

A packed tensor of T rows is cut by a monotone ``offsets`` Input into segments (the rows before
its first value and after its last are segments too); ``ragged_split(t, offsets, to, ti, f)``
runs ``to`` over a tile table built by an inspector kernel, each tile at most ``f`` rows of one
segment. Checked here:

- per-row kernels on PoCL against numpy, for offsets with empty segments, segments of one row,
  gaps before the first and after the last offset, a prime factor and factor 1, the inner loop
  on threads or serial, and a per-token reduction over the token's own sequence;
- the lowered IR: the inspector kernel first, the Func's kernel reading the table; run on the
  host, the inspector's table puts every row in exactly one tile inside one segment, and the
  kernel stores each output element once; the interior version (``f - 1 < len``) has no guard;
- ``monotone=True`` checked at every call, and each error message of the directive;
- TOML / ``to_python`` round trip; CUDA (NVRTC sm_90) and HIP (hiprtc gfx90a) compiles.
"""
import itertools
import re
from collections import Counter

import numpy as np
import pytest
import sympy

import vortex as vx
from vortex.algorithm.binding import exact
from vortex.lower import driver
from vortex.lower.ir import Assign, Block, Declare, For, GpuAxis, If, Store
from vortex.lower.ir_text import kernel_text

from tests.algorithm.test_ragged import _evaluate

COLS = 2
OFFSETS = ([0, 3, 3, 4, 11, 13], [2, 5, 9], [0, 0], [7], list(range(12)), [3, 3, 3], [0])
EXTRA = 2          # rows after the last offset (a segment of its own)


def _raises(err, *parts):
    return pytest.raises(err, match=".*".join(map(re.escape, parts)))


def scaled(monotone=True, rng=True):
    """out[t, d] = 2 tokens[t, d] + (t - offsets[seg[t]]): each row's position in its sequence."""
    T, B1 = vx.dims("T B1")
    tokens = vx.Input("tokens", vx.float32, (T, COLS))
    kw = {"range": (0, T)} if rng else {}
    offsets = vx.Input("offsets", vx.int32, (B1,), monotone=monotone, **kw)
    seg = vx.Input("seg", vx.int32, (T,), range=(0, B1 - 1))
    t, d = vx.vars("t d")
    out = vx.Func("out", shape=(T, COLS))
    out[t, d] = tokens[t, d] * 2 + vx.cast(vx.float32, t - offsets[seg[t]])
    return vx.Pipeline(out)


def centered():
    """out[t, d] = x[t, d] - max of x[r, d] over the rows r of t's own sequence (offsets (B1,),
    offsets[B1 - 1] = T): a reduction over a domain bounded by data, per token."""
    T, B1 = vx.dims("T B1")
    x = vx.Input("x", vx.float32, (T, COLS))
    offsets = vx.Input("offsets", vx.int32, (B1,), range=(0, T), monotone=True)
    seg = vx.Input("seg", vx.int32, (T,), range=(0, B1 - 2))
    t, d = vx.vars("t d")
    lo = offsets[seg[t]]
    r = vx.RDom(lo, offsets[seg[t] + 1] - lo, name="r")
    out = vx.Func("out", shape=(T, COLS))
    out[t, d] = x[t, d] - vx.maximum(x[r, d])
    return vx.Pipeline(out)


def ragged(pipe, factor, threads=True):
    s = vx.Schedule(pipe)
    s["out"].ragged_split("t", "offsets", "to", "ti", factor).gpu_blocks("to")
    if threads:
        s["out"].gpu_threads("ti")
    return s


def _scaled_args(off):
    off = np.array(off, np.int32)
    n = int(off[-1]) + EXTRA
    seg = np.clip(np.searchsorted(off, np.arange(n), side="right") - 1, 0, len(off) - 1)
    x = np.random.default_rng(len(off)).standard_normal((n, COLS)).astype(np.float32)
    return {"tokens": x, "offsets": off, "seg": seg.astype(np.int32)}


def _scaled_numpy(a):
    rows = np.arange(len(a["tokens"]))
    return a["tokens"] * 2 + (rows - a["offsets"][a["seg"]])[:, None]


@pytest.mark.parametrize("factor, threads", [(5, True), (5, False), (1, True), (3, False)])
def test_rows_match_numpy(opencl_device, factor, threads):
    pipe = scaled()
    k = vx.compile(pipe, schedule=ragged(pipe, factor, threads), target="opencl",
                   device=opencl_device)
    for off in OFFSETS:
        a = _scaled_args(off)
        np.testing.assert_allclose(k(**a), _scaled_numpy(a), err_msg=f"offsets {off}")


def test_a_reduction_over_the_own_sequence(opencl_device):
    pipe = centered()
    k = vx.compile(pipe, schedule=ragged(pipe, 7), target="opencl", device=opencl_device)
    rng = np.random.default_rng(3)
    for lengths in ([3, 0, 1, 7, 2], [1], [0, 0, 5], list(rng.integers(0, 20, 9))):
        off = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
        n = int(off[-1])
        x = rng.standard_normal((n, COLS)).astype(np.float32)
        seg = np.repeat(np.arange(len(lengths)), lengths).astype(np.int32)
        want = np.concatenate([x[a:b] - x[a:b].max(0) for a, b in zip(off[:-1], off[1:])
                               if b > a])
        np.testing.assert_allclose(k(x=x, offsets=off, seg=seg), want, err_msg=str(lengths))


# --- the lowered IR, run on the host ------------------------------------------------------------
def _run(s, env, arrays, stores):
    """Run statement ``s`` (ints only; a float value is not evaluated): a table store writes
    ``arrays``, any other store is counted in ``stores`` by (buffer, index)."""
    if isinstance(s, Block):
        for x in s.stmts:
            _run(x, env, arrays, stores)
    elif isinstance(s, (Declare, Assign)):
        if s.value is not None and s.value.dtype == vx.int32:
            env[s.name] = _evaluate(s.value, env, arrays)
    elif isinstance(s, For):
        for v in range(_evaluate(s.min, env, arrays), _evaluate(s.extent, env, arrays)):
            env[s.var] = v          # one scope: the binary search's assignments persist
            _run(s.body, env, arrays, stores)
    elif isinstance(s, If):
        branch = s.then if _evaluate(s.cond, env, arrays) else s.otherwise
        if branch is not None:
            _run(branch, env, arrays, stores)
    elif isinstance(s, Store):
        at = _evaluate(s.index, env, arrays)
        if s.buffer in arrays:
            arrays[s.buffer][at] = _evaluate(s.value, env, arrays)
        else:
            stores[s.buffer, at] += 1


_AXES = [GpuAxis.BLOCK_X, GpuAxis.BLOCK_Y, GpuAxis.BLOCK_Z,
         GpuAxis.THREAD_X, GpuAxis.THREAD_Y, GpuAxis.THREAD_Z]


def _launch(k, env, arrays) -> Counter:
    stores = Counter()
    grid = [int(exact(sympy.sympify(g), env)) for g in k.grid]
    for point in itertools.product(*map(range, (*grid, *k.block))):
        _run(k.body, {**env, **dict(zip(_AXES, point))}, arrays, stores)
    return stores


@pytest.mark.parametrize("factor", [1, 3, 5])
def test_the_table_covers_each_row_once_inside_one_segment(factor):
    """The inspector kernel (launched first) writes the table; every row is in exactly one
    tile, each tile inside one segment; the Func's kernel stores each element once."""
    pipe = scaled()
    low = driver.lower(pipe, ragged(pipe, factor))
    inspector, main = low.kernels
    assert inspector.name == "out_tiles" and main.name == "out_kernel"
    (table,) = [b for b in low.buffers if b.role.value == "intermediate"]
    assert table.name == "out.tiles" and table.dtype == vx.int32
    assert "out.tiles[to * 2]" in kernel_text(main)
    for off in OFFSETS:
        a = _scaled_args(off)
        env = {"T": len(a["tokens"]), "B1": len(off)}
        slots = int(exact(table.shape[0], env)) // 2
        assert slots == env["T"] // factor + len(off) + 1
        arrays = {"offsets": a["offsets"], "out.tiles": np.full(2 * slots, -1)}
        _launch(inspector, env, arrays)
        start, length = arrays["out.tiles"].reshape(slots, 2).T
        assert (length >= 0).all() and (length <= factor).all(), (off, start, length)
        rows = np.concatenate([np.arange(s, s + n) for s, n in zip(start, length)])
        assert sorted(rows) == list(range(env["T"])), (off, start, length)
        cuts = np.concatenate([[0], off, [env["T"]]])
        for s, n in zip(start, length):
            if n:
                k = np.searchsorted(cuts, s, side="right") - 1
                assert s + n <= cuts[k + 1], (off, s, n)
        stores = _launch(main, env, {**arrays, "offsets": a["offsets"], "seg": a["seg"]})
        assert stores == Counter({("out", i): 1 for i in range(env["T"] * COLS)}), off


def test_interior_tiles_run_unguarded():
    """A serial inner loop: ``if (factor - 1 < len)`` runs it with no per-row test; only a
    segment's last tile (the else branch) tests ``ti < len``."""
    pipe = scaled()
    k = vx.compile(pipe, schedule=ragged(pipe, 5, threads=False), target="opencl")
    main = k.source[k.source.index("void out_kernel"):]
    steady, edge = main.split("} else {")
    assert "if ((4 < to_len))" in steady and "ti < to_len" not in steady, main
    assert "if ((ti < to_len))" in edge, main
    assert k.source.index("void out_tiles") < k.source.index("void out_kernel")


def test_the_grid_is_the_tile_table():
    pipe = scaled()
    k = vx.compile(pipe, schedule=ragged(pipe, 4), target="opencl")
    launches = k.launch_config(**_scaled_args([0, 3, 3, 4, 11, 13]))   # T = 15, 6 offsets
    assert [c["grid"][0] for c in launches] == [1, 15 // 4 + 6 + 1]


# --- monotone= ----------------------------------------------------------------------------------
def test_monotone_is_checked_at_every_call(opencl_device):
    pipe = scaled()
    a = _scaled_args([0, 3, 3, 4, 11, 13])
    a["offsets"][3] = 2
    with _raises(vx.InputError, "input 'offsets': element 2 is 3 > element 3 = 2",
                 "monotone=True"):
        pipe.reference(**a)
    k = vx.compile(pipe, schedule=ragged(pipe, 5), target="opencl", device=opencl_device)
    with _raises(vx.InputError, "element 2 is 3 > element 3 = 2"):
        k(**a)


@pytest.mark.parametrize("dtype, shape", [(vx.float32, (4,)), (vx.int32, (4, 2))])
def test_monotone_needs_a_1d_integer_input(dtype, shape):
    with _raises(vx.TypeError, "Input 'o': monotone=True needs a 1-D integer Input"):
        vx.Input("o", dtype, shape, monotone=True)


# --- the directive's errors ---------------------------------------------------------------------
@pytest.mark.parametrize("monotone, rng", [(False, True), (True, False)])
def test_offsets_must_declare_range_and_monotone(monotone, rng):
    pipe = scaled(monotone, rng)
    with _raises(vx.ScheduleError, "ragged_split(t, offsets, to, ti, 4) on Func 'out'",
                 "vx.Input('offsets', ..., range=(0, E), monotone=True)"):
        vx.Schedule(pipe)["out"].ragged_split("t", "offsets", "to", "ti", 4)


def test_offsets_must_be_an_input_of_the_pipeline():
    with _raises(vx.ScheduleError, "'seq' is not an Input the pipeline reads", "tokens"):
        vx.Schedule(scaled())["out"].ragged_split("t", "seq", "to", "ti", 4)


def test_offsets_must_be_integers():
    T = vx.Dim("T")
    w = vx.Input("w", vx.float32, (T,))
    t = vx.Var("t")
    out = vx.Func("out", shape=(T,))
    out[t] = w[t]
    with _raises(vx.ScheduleError, "the offsets 'w' must be a 1-D integer Input"):
        vx.Schedule(vx.Pipeline(out))["out"].ragged_split("t", "w", "to", "ti", 4)


def test_the_range_must_lie_within_the_rows():
    T, B1 = vx.dims("T B1")
    tokens = vx.Input("tokens", vx.float32, (T,))
    offsets = vx.Input("offsets", vx.int32, (B1,), range=(0, T + 1), monotone=True)
    t = vx.Var("t")
    out = vx.Func("out", shape=(T,))
    out[t] = tokens[t] + vx.cast(vx.float32, offsets[0])
    s = vx.Schedule(vx.Pipeline(out))
    s["out"].ragged_split("t", "offsets", "to", "ti", 4).gpu_blocks("to")
    with _raises(vx.ScheduleError, "the range [0, T + 1] declared for 'offsets' is not within "
                 "[0, T]", "declare range=(0, T)"):
        driver.lower(s.pipe, s)


@pytest.mark.parametrize("prefix, why", [
    (lambda st: st.split("t", "t", "tq", 2), "var 't' was made by split/fuse"),
    (lambda st: st.ragged_split("t", "offsets", "t", "ti", 2), "one ragged_split per Func"),
    (lambda st: st.gpu_blocks("t"), "var 't' is bound to gpu_blocks"),
])
def test_the_var_must_be_an_original_unbound_var(prefix, why):
    st = vx.Schedule(scaled())["out"]
    prefix(st)
    with _raises(vx.ScheduleError, why):
        st.ragged_split("t", "offsets", "to", "tj", 4)


def test_the_inner_var_needs_a_fresh_name():
    with _raises(vx.ScheduleError, "the inner var cannot take the name 't'"):
        vx.Schedule(scaled())["out"].ragged_split("t", "offsets", "to", "t", 4)


def test_not_a_reduction_var():
    s = vx.Schedule(centered())
    with _raises(vx.ScheduleError, "var 'r' iterates a reduction domain"):
        s["out"].ragged_split("r", "offsets", "ro", "ri", 4)


def test_not_an_update_stage():
    T, B1 = vx.dims("T B1")
    offsets = vx.Input("offsets", vx.int32, (B1,), range=(0, T), monotone=True)
    tokens = vx.Input("tokens", vx.float32, (T,))
    t = vx.Var("t")
    f = vx.Func("f", shape=(T,))
    f[t] = tokens[t]
    f[t] += vx.cast(vx.float32, offsets[0])
    with _raises(vx.ScheduleError, "ragged_split applies to a Func's pure definition, not "
                 "update 0 of 'f'"):
        vx.Schedule(vx.Pipeline(f))["f"].update(0).ragged_split("t", "offsets", "to", "ti", 4)


def test_not_a_func_computed_at_another():
    T, B1 = vx.dims("T B1")
    offsets = vx.Input("offsets", vx.int32, (B1,), range=(0, T), monotone=True)
    tokens = vx.Input("tokens", vx.float32, (T,))
    t = vx.Var("t")
    g = vx.Func("g")
    g[t] = tokens[t] + vx.cast(vx.float32, offsets[0])
    out = vx.Func("out", shape=(T,))
    out[t] = g[t] * 2
    s = vx.Schedule(vx.Pipeline(out))
    s["out"].split("t", "to", "ti", 8).gpu_blocks("to").gpu_threads("ti")
    s["g"].compute_at("out", "to").ragged_split("t", "offsets", "go", "gi", 4)
    with _raises(vx.ScheduleError, "ragged_split needs the Func computed at root"):
        s.validate()


def test_the_tile_loop_must_be_on_gpu_blocks():
    pipe = scaled()
    s = vx.Schedule(pipe)
    s["out"].ragged_split("t", "offsets", "to", "ti", 4)
    with _raises(vx.ScheduleError, "the tile loop 'to' must be bound to gpu_blocks",
                 "add gpu_blocks(to)"):
        driver.lower(pipe, s)


def test_rows_must_start_at_zero():
    """An intermediate computed at root over [3, T + 2] (read at t + 3)."""
    T, B1 = vx.dims("T B1")
    offsets = vx.Input("offsets", vx.int32, (B1,), range=(0, T), monotone=True)
    tokens = vx.Input("tokens", vx.float32, (T + 3,))
    t = vx.Var("t")
    g = vx.Func("g")
    g[t] = tokens[t] + vx.cast(vx.float32, offsets[0])
    out = vx.Func("out", shape=(T,))
    out[t] = g[t + 3]
    s = vx.Schedule(vx.Pipeline(out))
    s["g"].compute_root().ragged_split("t", "offsets", "go", "gi", 4).gpu_blocks("go")
    with _raises(vx.ScheduleError, "the rows of 't' start at 3, not 0"):
        driver.lower(s.pipe, s)


# --- files and other targets ----------------------------------------------------------------------
def test_round_trips_through_toml_and_python(tmp_path):
    s = ragged(scaled(), 64)
    assert 'ragged_split = ["t", "offsets", "to", "ti", 64]' in s.to_toml()
    assert vx.Schedule.load(s.save(tmp_path / "r.toml"), s.pipe) == s
    assert 's["out"].ragged_split("t", "offsets", "to", "ti", 64)' in s.to_python()


def test_compiles_for_cuda_and_hip(offline):
    _, build = offline
    for pipe in (scaled(), centered()):
        k = build(pipe, ragged(pipe, 64))
        assert "out_tiles" in k.source and k.binary


def test_export_allocates_the_table_and_launches_the_inspector_first(tmp_path):
    pipe = scaled()
    paths = vx.export(pipe, ragged(pipe, 64), target="cuda", out_dir=tmp_path)
    src = next(p for p in paths if str(p).endswith(".cu")).read_text()
    launcher = src[src.index("_launch("):]
    alloc, first, second = (launcher.index(s) for s in ("cudaMallocAsync((void**)&out_tiles",
                                                         "out_tiles<<<", "out_kernel<<<"))
    assert alloc < first < second and "cudaFreeAsync(out_tiles" in launcher, launcher
