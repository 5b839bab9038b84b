"""A 5×5 Gaussian blur of a colour photograph, written once as a separable algorithm.

Run it:   vortex run examples/blur.py [--image photo.png] [--schedule FILE] [--show-source]
Tune it:  vortex-tune examples/blur.py [--shape C=3,H=512,W=512] --trials 60

The schedule is not here: it lives in schedules/blur/<device>.toml, one file per GPU; space()
below is the search space vortex-tune explores to write that file.
"""
import numpy as np

import vortex as vx

TAPS = (1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16)  # binomial approximation of a Gaussian, σ≈1


def pipeline() -> vx.Pipeline:
    C, H, W = vx.dims("C H W")
    c, y, x = vx.vars("c y x")
    img = vx.Input("img", vx.float32, (C, H, W))        # planar float image, values in [0, 1]
    src = vx.repeat_edge(img)

    blur_x = vx.Func("blur_x")                            # horizontal pass
    blur_x[c, y, x] = sum(vx.float32(t) * src[c, y, x + d - 2] for d, t in enumerate(TAPS))
    blur = vx.Func("blur", shape=(C, H, W))               # vertical pass
    blur[c, y, x] = sum(vx.float32(t) * blur_x[c, y + d - 2, x] for d, t in enumerate(TAPS))
    return vx.Pipeline(blur)


def space(pipe) -> vx.Schedule:
    """How to schedule it, as a search space: the output in TY × TX thread blocks (one block row
    of threads per image plane), and the horizontal pass either inlined into the vertical one
    (recomputed 5 times per output, no intermediate buffer) or computed at root in its own
    kernel with the same tiling (ROOT)."""
    TY = vx.Tunable.pow2("TY", 1, 16)
    TX = vx.Tunable.pow2("TX", 8, 256)
    ROOT = vx.Tunable("ROOT", [True, False])
    s = vx.Schedule(pipe)
    s["blur"].gpu_tile("y", "x", "yo", "xo", "yi", "xi", TY, TX).gpu_blocks("c")
    s["blur_x"].when(ROOT).compute_root()
    s["blur_x"].when(ROOT).gpu_tile("y", "x", "yo", "xo", "yi", "xi", TY, TX).gpu_blocks("c")
    return s


def load_image(path=None) -> np.ndarray:
    """(C, H, W) float32 in [0, 1]: the file at ``path``, else scikit-image's astronaut."""
    if path is None:
        from skimage import data
        rgb = data.astronaut()
    else:
        from skimage import io
        rgb = io.imread(path)
    rgb = np.atleast_3d(rgb)[..., :3]
    return np.ascontiguousarray(np.moveaxis(rgb, -1, 0), dtype=np.float32) / 255.0


def inputs(image=None) -> dict:
    return {"img": load_image(image)}


def numpy_version(img):
    """The same blur written directly in numpy (the peer vortex run compares against)."""
    p = np.pad(img, ((0, 0), (2, 2), (2, 2)), mode="edge")
    h = sum(np.float32(t) * p[:, :, d:d + img.shape[2]] for d, t in enumerate(TAPS))
    return sum(np.float32(t) * h[:, d:d + img.shape[1], :] for d, t in enumerate(TAPS))


def save(output, path):
    from skimage import io
    pixels = np.clip(np.moveaxis(output, 0, -1) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    io.imsave(str(path), pixels[..., 0] if pixels.shape[-1] == 1 else pixels, check_contrast=False)
