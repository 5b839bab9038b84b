"""Pyramid interpolation: fill the transparent parts of an RGBA image from its opaque parts,
at every scale, after Halide's apps/interpolate (Burt and Adelson's pyramids, with the alpha
channel as the weight: "pull-push" scattered-data interpolation, Gortler et al., "The
Lumigraph", SIGGRAPH 1996).

Run it:  vortex run examples/interpolate.py [--image photo.png] [--schedule FILE]

The algorithm (LEVELS pyramid levels):

- ``down[0]`` premultiplies the colour by alpha; each ``down[l]`` below is a 2× downsample of
  the one above (separable [1 2 1] / 4), alpha included;
- ``interp[LEVELS - 1] = down[LEVELS - 1]``; each finer ``interp[l]`` keeps ``down[l]`` where
  it is opaque and fills the rest, ``1 - alpha`` of it, from the 2× upsample of ``interp[l+1]``;
- the output divides the premultiplied colour by the interpolated alpha.

Image sizes are symbolic Dims; the regions of the ten levels are found by bounds inference.
The schedule (schedules/interpolate/<device>.toml) computes every level at root, as Halide's
app does.
"""
import numpy as np

import vortex as vx
from blur import save  # noqa: F401 - same PNG writer

LEVELS = 10


def downsample(f: vx.Func, name: str) -> vx.Func:
    """2× downsample of ``f[c, y, x]`` by the separable filter [1 2 1] / 4."""
    c, y, x = vx.vars("c y x")
    dx, out = vx.Func(f"{name}_dx"), vx.Func(name)
    dx[c, y, x] = (f[c, y, 2 * x - 1] + 2.0 * f[c, y, 2 * x] + f[c, y, 2 * x + 1]) * 0.25
    out[c, y, x] = (dx[c, 2 * y - 1, x] + 2.0 * dx[c, 2 * y, x] + dx[c, 2 * y + 1, x]) * 0.25
    return out


def upsample(f: vx.Func, name: str) -> vx.Func:
    """2× upsample of ``f[c, y, x]``: the mean of the two nearest coarse points per axis."""
    c, y, x = vx.vars("c y x")
    ux, out = vx.Func(f"{name}_ux"), vx.Func(name)
    ux[c, y, x] = (f[c, y, x // 2] + f[c, y, (x + 1) // 2]) / 2.0
    out[c, y, x] = (ux[c, y // 2, x] + ux[c, (y + 1) // 2, x]) / 2.0
    return out


def pipeline(levels: int = LEVELS) -> vx.Pipeline:
    H, W = vx.dims("H W")
    c, y, x = vx.vars("c y x")
    img = vx.Input("img", vx.float32, (4, H, W))     # planar RGBA, values in [0, 1]
    src = vx.repeat_edge(img)

    down = [vx.Func("down0")]
    down[0][c, y, x] = vx.select(c < 3, src[c, y, x] * src[3, y, x], src[3, y, x])
    for lv in range(1, levels):
        down.append(downsample(down[lv - 1], f"down{lv}"))

    interp = down[levels - 1]
    for lv in reversed(range(levels - 1)):
        up = upsample(interp, f"up{lv}")
        f = vx.Func(f"interp{lv}")
        f[c, y, x] = down[lv][c, y, x] + (1.0 - down[lv][3, y, x]) * up[c, y, x]
        interp = f

    out = vx.Func("interpolate", shape=(3, H, W))
    out[c, y, x] = interp[c, y, x] / interp[3, y, x]
    return vx.Pipeline(out)


def inputs(image=None) -> dict:
    """An RGBA image: the photograph (scikit-image's astronaut, or ``image``) as colour, and an
    alpha that keeps about 1 pixel in 5, at random (a fixed seed), opaque."""
    from blur import load_image
    rgb = load_image(image)
    rng = np.random.default_rng(0)
    alpha = (rng.random(rgb.shape[1:]) < 0.2).astype(np.float32)
    return {"img": np.ascontiguousarray(np.concatenate([rgb, alpha[None]]), dtype=np.float32)}
