"""OpenCL vector printer: an index whose lane-invariant part is not affine (the folded row of a
sliding window, ``y & 7``; a clamp of outer counters) is still dense in the lane — one vector
store/load, not one scalar access per lane (``.s0`` … ``.s7``); the clamps of the boundary
condition are gone from interior tiles (partition.py), so no gather is left there. Results are
checked against the reference at awkward sizes, since the form decides which lanes the vector
access touches."""
from pathlib import Path

import numpy as np

import vortex as vx
from vortex.examples import load_example

ROOT = Path(__file__).resolve().parents[2]


def _shipped_blur(opencl_device):
    pipe = load_example(str(ROOT / "examples" / "blur.py")).pipeline()
    return pipe, vx.compile(pipe, schedule=str(ROOT / "schedules" / "blur" / "pocl-cpu.toml"),
                            target="opencl", device=opencl_device)


def test_window_rows_are_stored_and_read_as_vectors(opencl_device):
    pipe, kernel = _shipped_blur(opencl_device)
    src = kernel.source
    assert "& 7" in src or "& 15" in src                       # a folded sliding window
    scalar_lanes = [ln for ln in src.splitlines() if ".s7" in ln]
    # lane-by-lane accesses could only be clamped reads of the image (gathers at the edges)
    assert all("img[" in ln for ln in scalar_lanes)


def test_shipped_blur_matches_the_reference_at_awkward_sizes(opencl_device):
    pipe, kernel = _shipped_blur(opencl_device)
    rng = np.random.default_rng(5)
    for c, h, w in [(1, 1, 1), (3, 7, 13), (1, 33, 67), (2, 64, 130)]:
        img = rng.random((c, h, w), dtype=np.float32)
        np.testing.assert_array_equal(kernel(img=img), pipe.reference(img=img))
