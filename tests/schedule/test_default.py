"""``Schedule.default``: valid for every pipeline, pure data, round-trips like any schedule."""
import pytest

import pipelines as P
import vortex as vx
from vortex.schedule import ComputeRoot, GpuTile, Schedule

PIPELINES = {
    "blur": P.blur, "matmul": P.matmul, "box": P.box, "1d": P.scale1d,
    "3d": lambda: P.nd(3), "4d": lambda: P.nd(4), "5d": lambda: P.nd(5),
    "histogram": P.histogram, "histogram_consumer": P.histogram_consumer,
    "branches": P.branches,
}


@pytest.mark.parametrize("build", PIPELINES.values(), ids=PIPELINES.keys())
def test_default_is_valid_and_round_trips(build, tmp_path):
    s = Schedule.default(build())
    nests = s.validate()
    for out in s.pipe.outputs:
        assert nests[out.name].blocks and nests[out.name].threads
        assert len(nests[out.name].blocks) <= 3 and len(nests[out.name].threads) <= 3
    assert P.replay_python(s) == s
    s.save(tmp_path / "d.toml")
    assert Schedule.load(tmp_path / "d.toml", s.pipe) == s


def test_default_2d_gpu_tiles_16x16():
    s = Schedule.default(P.blur())
    assert s.stage_directives("blur") == (
        GpuTile(("y", "x"), ("y_o", "x_o"), ("y_i", "x_i"), (16, 16)),)
    assert "blur_x" not in s.directives          # intermediates are inlined by default


def test_default_keeps_reduction_innermost():
    s = Schedule.default(P.matmul())
    assert s.loop_vars("C") == ["i_o", "j_o", "i_i", "j_i", "k"]


def test_default_1d():
    s = Schedule.default(P.scale1d())
    assert s.stage_directives("scaled") == (GpuTile(("x",), ("x_o",), ("x_i",), (64,)),)


def test_default_3d_binds_outer_dim_to_blocks():
    nest = Schedule.default(P.nd(3)).validate()["out3d"]
    assert nest.loops == ["z", "y_o", "x_o", "y_i", "x_i"]
    assert nest.blocks == ["z", "y_o", "x_o"] and nest.threads == ["y_i", "x_i"]


def test_default_5d_fuses_outer_dims():
    nest = Schedule.default(P.nd(5)).validate()["out5d"]
    assert nest.loops == ["a_b_z", "y_o", "x_o", "y_i", "x_i"]
    assert nest.blocks == ["a_b_z", "y_o", "x_o"]


def test_default_computes_funcs_with_updates_at_root():
    s = Schedule.default(P.histogram_consumer())
    assert s.stage_directives("hist")[0] == ComputeRoot()
    assert s.loop_vars("hist") == ["b_o", "b_i"]


def test_default_names_are_fresh():
    # "x_o" is taken by a Dim of the pipeline, so the default picks "x_o2".
    x_o, N = vx.dims("x_o N")
    x = vx.Var("x")
    v = vx.Input("v", vx.float32, (N,))
    out = vx.Func("out", shape=(N,))
    out[x] = v[x] * x_o
    s = Schedule.default(vx.Pipeline(out))
    assert s.loop_vars("out") == ["x_o2", "x_i"]
    s.validate()


def test_default_computes_a_deep_stencil_chain_at_root_every_few_stages(opencl_device):
    """Inlining a 3-tap chain reads its first stage 3**n times per point: the default computes
    a Func at root once inlining it would cost more than INLINE_LIMIT loads per point, so the
    generated code stays small (a 20-stage chain: 3**20 loads per point inlined) and right."""
    import numpy as np
    from pipelines import stencil_chain_output
    from vortex.schedule.default import INLINE_LIMIT
    pipe = vx.Pipeline(stencil_chain_output(20))
    s = Schedule.default(pipe)
    roots = [f.name for f in pipe.funcs if ComputeRoot() in s.stage_directives(f.name)]
    assert 4 <= len(roots) <= 8          # every 3 stages (3**3 = 27 <= 32 < 81 = 3**4)
    assert INLINE_LIMIT == 32
    src = vx.source(pipe, s, target="opencl")
    assert len(src) < 200_000
    k = vx.compile(pipe, s, target="opencl", device=opencl_device)
    args = {n: np.random.default_rng(0).random((41,) * i.ndim, dtype=np.float32)
            for n, i in pipe.inputs.items()}
    np.testing.assert_allclose(k(**args), pipe.reference(**args), rtol=1e-5)
