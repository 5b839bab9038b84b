"""Unsharp masking: sharpen = img + amount * (img - gaussian(img)), a three-stage pipeline.

Run it:  vortex run examples/unsharp.py [--image photo.png] [--schedule FILE]

The schedules (schedules/unsharp/<device>.toml) inline the vertical blur into the sharpening.
On GPUs (nvidia-h100, amd-mi300x) they fuse the horizontal blur too: it is computed per output
tile in shared memory (``compute_at`` + ``store_in("shared")``), so no intermediate image goes
through global memory. On PoCL, which runs a work-group barrier by splitting the kernel into
loops over the work-items, that was slower than the default schedule; there the horizontal
blur is a root stage of its own, tiled as the output (see benchmarks/schedules.py).
"""
import numpy as np

import vortex as vx
from blur import TAPS, load_image, save  # noqa: F401 - same photograph and PNG writer

AMOUNT = 1.5


def pipeline() -> vx.Pipeline:
    C, H, W = vx.dims("C H W")
    c, y, x = vx.vars("c y x")
    img = vx.Input("img", vx.float32, (C, H, W))
    amount = vx.Param("amount", vx.float32)
    src = vx.repeat_edge(img)

    blur_x = vx.Func("blur_x")
    blur_x[c, y, x] = sum(vx.float32(t) * src[c, y, x + d - 2] for d, t in enumerate(TAPS))
    blur_y = vx.Func("blur_y")
    blur_y[c, y, x] = sum(vx.float32(t) * blur_x[c, y + d - 2, x] for d, t in enumerate(TAPS))
    sharp = vx.Func("unsharp", shape=(C, H, W))
    sharp[c, y, x] = vx.clamp(img[c, y, x] + amount * (img[c, y, x] - blur_y[c, y, x]), 0.0, 1.0)
    return vx.Pipeline(sharp)


def inputs(image=None) -> dict:
    return {"img": load_image(image), "amount": AMOUNT}


def numpy_version(img, amount):
    p = np.pad(img, ((0, 0), (2, 2), (2, 2)), mode="edge")
    h = sum(np.float32(t) * p[:, :, d:d + img.shape[2]] for d, t in enumerate(TAPS))
    b = sum(np.float32(t) * h[:, d:d + img.shape[1], :] for d, t in enumerate(TAPS))
    return np.clip(img + np.float32(amount) * (img - b), 0, 1)
