"""The 256-bin luminance histogram of a photograph: hist[v] = number of pixels of luminance v.

Run it:   vortex run examples/histogram.py [--image photo.png] [--schedule FILE] [--out hist.png]

The input is the photo's luminance as a (H, W) uint8 image, computed in numpy by
:func:`inputs` (ITU-R BT.601 weights, rounded half up in exact integer arithmetic:
``(299 R + 587 G + 114 B + 500) // 1000``). The output is (256,) int32.

The algorithm is Halide's histogram (tutorial lesson 9): a pure definition that clears the
bins, then one update over every pixel, ``hist[lum[r]] += 1``. Written so, it is a scatter:
two pixels of the same luminance write the same bin, so the pixel loops may run in parallel
only in one of two ways, both schedule decisions (the algorithm is the same):

- ``s["hist"].update(0).rfactor("r_0", "y")``: per-row partial histograms ``hist_intm[y, b]``
  (the row ``y`` is a pure Var there, so rows run in parallel without atomics), then a merge
  ``hist[b] += hist_intm[r_0, b]`` over the rows (Suriana, Adams, Kamil, "Parallel associative
  reductions in Halide", CGO 2017);
- ``atomic()`` on the update stage: every pixel commits with an atomic add, so its loops may
  be bound to blocks and threads.

The schedule is not here: ``schedules/histogram/<device>.toml``. The PoCL file builds per-row
partial histograms, a row per work-group (atomic adds were 2.8× slower on PoCL:
benchmarks/histogram.py), and merges them with the rows outermost and 16 adjacent bins as one
vector (16 work-groups). The GPU files combine both: per-row partial histograms built by a
block of 256 threads with atomic adds (contention only among the threads of one block, on its
own row of ``hist_intm``), merged with atomic adds by blocks of 32 rows.
"""
import numpy as np

import vortex as vx

BINS = 256
WEIGHTS = (299, 587, 114)   # BT.601 luminance in thousandths: 0.299 R + 0.587 G + 0.114 B


def pipeline() -> vx.Pipeline:
    H, W = vx.dims("H W")
    b = vx.Var("b")
    lum = vx.Input("lum", vx.uint8, (H, W))       # luminance, 0..255

    hist = vx.Func("hist", shape=(BINS,))
    hist[b] = vx.cast(vx.int32, 0)
    r = vx.RDom((H, W), name="r")                  # r_0: rows, r_1: columns
    hist[vx.cast(vx.int32, lum[r[0], r[1]])] += 1
    return vx.Pipeline(hist, name="histogram")


def luminance(rgb: np.ndarray) -> np.ndarray:
    """(H, W) uint8 luminance of an (H, W, 3) uint8 RGB image (or (H, W) grey, returned as is):
    round(0.299 R + 0.587 G + 0.114 B), halves rounded up, in exact integer arithmetic."""
    rgb = np.asarray(rgb)
    if rgb.ndim == 2:
        return np.ascontiguousarray(rgb, dtype=np.uint8)
    wsum = rgb[..., :3].astype(np.int32) @ np.array(WEIGHTS, np.int32)
    return ((wsum + 500) // 1000).astype(np.uint8)


def load_image(path=None) -> np.ndarray:
    """(H, W) uint8 luminance of the file at ``path``, else of scikit-image's astronaut
    (512×512)."""
    if path is None:
        from skimage import data
        rgb = data.astronaut()
    else:
        from skimage import io, util
        rgb = util.img_as_ubyte(io.imread(path))
    return luminance(rgb)


def inputs(image=None) -> dict:
    return {"lum": load_image(image)}


def numpy_version(lum):
    """The same histogram in numpy: ``np.bincount`` (the peer vortex run compares against)."""
    return np.bincount(lum.ravel(), minlength=BINS).astype(np.int32)


def save(output, path):
    """A 640×320 bar chart of the histogram, as a PNG at ``path``."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 3.2), dpi=100)
    ax.bar(np.arange(BINS), output, width=1.0, color="0.3")
    ax.set(xlim=(-0.5, BINS - 0.5), xlabel="luminance", ylabel="pixels")
    fig.tight_layout()
    fig.savefig(str(path))
    plt.close(fig)
