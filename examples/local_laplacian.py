"""Local Laplacian filter: edge-aware detail enhancement and tone mapping, after Halide's
apps/local_laplacian (Paris, Hasinoff and Kautz, "Local Laplacian Filters", SIGGRAPH 2011;
Aubry et al., "Fast Local Laplacian Filters", ACM TOG 2014).

Run it:  vortex run examples/local_laplacian.py [--image photo.png] [--schedule FILE]

The algorithm, level by level (J = LEVELS pyramid levels, K = LEVELS intensity samples):

- ``gray`` is the luminance of the RGB image; ``remap`` is a look-up table of the detail curve
  ``alpha * t * exp(-t² / 2)``;
- ``g_pyr[0][k, y, x]`` remaps gray around the K intensity samples ``k / (K - 1)``; each level
  below is a 2× downsample (separable [1 3 3 1] / 8), and so is the plain pyramid of gray;
- ``l_pyr[j] = g_pyr[j] - upsample(g_pyr[j + 1])``: the Laplacian pyramid of every remapping;
- ``out_l[j]`` picks, at each pixel, the two remappings around the pixel's own gray level at
  that scale and interpolates them; ``out_g`` collapses that Laplacian pyramid back (upsample
  and add, coarsest first);
- the colour is the input's, scaled by the ratio of new to old luminance.

Every image size is a symbolic Dim: the pyramid levels' regions are inferred by bounds
inference. The schedule (schedules/local_laplacian/<device>.toml) computes every pyramid level
at root, as Halide's app does; inlined, the 8-level pyramid would recompute each level's
producers 16 times per point, level after level.
"""
import vortex as vx
from blur import load_image, save  # noqa: F401 - same photograph and PNG writer

LEVELS = 8
ALPHA = 1.0    # detail: > 0 enhances, < 0 smooths
BETA = 1.0     # tone: < 1 compresses the large-scale range
LUT = 256      # remap table entries per unit of intensity


def downsample(f: vx.Func, name: str, extra: tuple = ()) -> vx.Func:
    """2× downsample of ``f[*extra, y, x]`` by the separable filter [1 3 3 1] / 8."""
    y, x = vx.vars("y x")
    dx, out = vx.Func(f"{name}_dx"), vx.Func(name)
    dx[(*extra, y, x)] = (f[(*extra, y, 2 * x - 1)] + 3.0 * (f[(*extra, y, 2 * x)] + f[(
        *extra, y, 2 * x + 1)]) + f[(*extra, y, 2 * x + 2)]) / 8.0
    out[(*extra, y, x)] = (dx[(*extra, 2 * y - 1, x)] + 3.0 * (dx[(*extra, 2 * y, x)] + dx[(
        *extra, 2 * y + 1, x)]) + dx[(*extra, 2 * y + 2, x)]) / 8.0
    return out


def upsample(f: vx.Func, name: str, extra: tuple = ()) -> vx.Func:
    """2× upsample of ``f[*extra, y, x]``: each output point mixes its two nearest coarse
    points with weights 3/4 and 1/4 (linear interpolation at half-pixel offsets)."""
    y, x = vx.vars("y x")
    ux, out = vx.Func(f"{name}_ux"), vx.Func(name)
    ux[(*extra, y, x)] = vx.lerp(f[(*extra, y, (x + 1) // 2)], f[(*extra, y, (x - 1) // 2)],
                                 vx.cast(vx.float32, (x % 2) * 2 + 1) / 4.0)
    out[(*extra, y, x)] = vx.lerp(ux[(*extra, (y + 1) // 2, x)], ux[(*extra, (y - 1) // 2, x)],
                                  vx.cast(vx.float32, (y % 2) * 2 + 1) / 4.0)
    return out


def pipeline(levels: int = LEVELS) -> vx.Pipeline:
    H, W = vx.dims("H W")
    c, k, y, x, i = vx.vars("c k y x i")
    img = vx.Input("img", vx.float32, (3, H, W))     # planar RGB, values in [0, 1]
    alpha = vx.Param("alpha", vx.float32)
    beta = vx.Param("beta", vx.float32)
    src = vx.repeat_edge(img)
    top = levels - 1

    gray = vx.Func("gray")
    gray[y, x] = 0.299 * src[0, y, x] + 0.587 * src[1, y, x] + 0.114 * src[2, y, x]

    remap = vx.Func("remap", shape=(2 * top * LUT + 1,))     # t = i / LUT - top, in [-top, top]
    t = vx.cast(vx.float32, i - top * LUT) / float(LUT)
    remap[i] = alpha * t * vx.exp(-t * t / 2.0)

    # the remapped images around each intensity sample k / top, and their Gaussian pyramids
    g_pyr = [vx.Func("g_pyr0")]
    level = vx.cast(vx.float32, k) / float(top)
    idx = vx.clamp(vx.cast(vx.int32, gray[y, x] * float(top * LUT)), 0, top * LUT)
    g_pyr[0][k, y, x] = beta * (gray[y, x] - level) + level + remap[idx - k * LUT + top * LUT]
    for j in range(1, levels):
        g_pyr.append(downsample(g_pyr[j - 1], f"g_pyr{j}", (k,)))

    # their Laplacian pyramids
    l_pyr = [None] * levels
    l_pyr[top] = g_pyr[top]
    for j in range(top):
        up = upsample(g_pyr[j + 1], f"g_up{j}", (k,))
        l_pyr[j] = vx.Func(f"l_pyr{j}")
        l_pyr[j][k, y, x] = g_pyr[j][k, y, x] - up[k, y, x]

    # the Gaussian pyramid of the input's gray
    in_g = [gray]
    for j in range(1, levels):
        in_g.append(downsample(in_g[j - 1], f"in_g{j}"))

    # per pixel, interpolate the two remappings around its own gray level
    out_l = []
    for j in range(levels):
        f = vx.Func(f"out_l{j}")
        lv = in_g[j][y, x] * float(top)
        li = vx.clamp(vx.cast(vx.int32, lv), 0, top - 1)
        lf = lv - vx.cast(vx.float32, li)
        f[y, x] = (1.0 - lf) * l_pyr[j][li, y, x] + lf * l_pyr[j][li + 1, y, x]
        out_l.append(f)

    # collapse the Laplacian pyramid
    out_g = out_l[top]
    for j in reversed(range(top)):
        up = upsample(out_g, f"out_up{j}")
        f = vx.Func(f"out_g{j}")
        f[y, x] = out_l[j][y, x] + up[y, x]
        out_g = f

    out = vx.Func("local_laplacian", shape=(3, H, W))
    eps = 0.01
    out[c, y, x] = vx.clamp(out_g[y, x] * (src[c, y, x] + eps) / (gray[y, x] + eps), 0.0, 1.0)
    return vx.Pipeline(out)


def inputs(image=None) -> dict:
    return {"img": load_image(image), "alpha": ALPHA, "beta": BETA}
