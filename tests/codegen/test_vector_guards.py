"""A lane-dependent guard that reads the lane loop's own coordinates (``x = lo + lane``, the
region test of a compute_at producer in an edge tile) is tested as ``all(cond)`` before the
vector body, its coordinates replaced by their definitions: the edge tiles of the PoCL blur
compute their window with 8-lane vectors (gathering the clamped reads) instead of lane by lane."""
from pathlib import Path

import numpy as np

import vortex as vx
from vortex.examples import load_example

ROOT = Path(__file__).resolve().parents[2]


def test_an_edge_tile_fills_its_window_with_vectors(opencl_device):
    pipe = load_example(ROOT / "examples" / "blur.py").pipeline()
    s = vx.Schedule.load(ROOT / "schedules" / "blur" / "pocl-cpu.toml", pipe)
    k = vx.compile(pipe, s, target="opencl", device=opencl_device)
    edge = k.source.split("  } else {\n    int xi")[1]
    assert "vx_all8(" in edge and "vx_vstore8_float_private(" in edge
    rng = np.random.default_rng(8)
    for shape in ((1, 3, 5), (2, 37, 131), (1, 70, 250)):
        img = rng.random(shape, dtype=np.float32)
        np.testing.assert_array_equal(k(img=img), pipe.reference(img=img), err_msg=str(shape))
