"""Boundary conditions on Funcs with a declared shape (not only Inputs): each of repeat_edge,
constant_exterior, mirror_image and mirror_interior wraps a computed Func that a 3x3 stencil
reads past its edges; PoCL against the reference and both against numpy's ``np.pad``, at sizes
1, 7 and 13; plus the errors for Funcs whose extents are unknown."""
import numpy as np
import pytest

import vortex as vx

BOUNDARIES = {  # name → (vx boundary condition, np.pad keyword arguments)
    "repeat_edge": (vx.repeat_edge, {"mode": "edge"}),
    "constant_exterior": (lambda f: vx.constant_exterior(f, -2.5),
                          {"mode": "constant", "constant_values": -2.5}),
    "mirror_image": (vx.mirror_image, {"mode": "symmetric"}),
    "mirror_interior": (vx.mirror_interior, {"mode": "reflect"}),
}
OFFSETS = [(-2, 0), (0, 3), (1, -1), (-1, -2), (0, 0)]     # reads up to 3 pixels outside
SHAPES = [(1, 1), (7, 13), (13, 7), (1, 7), (13, 1)]


def stencil(boundary, with_update: bool):
    """``f`` (declared shape (H, W)) = 2 * img + 1, or its running sum along x (an update
    definition); out = a weighted sum of f's boundary-conditioned neighbours."""
    h, w = vx.dims("H W")
    y, x = vx.vars("y x")
    img = vx.Input("img", vx.float32, (h, w))
    f = vx.Func("f", shape=(h, w))
    f[y, x] = img[y, x] * 2 + 1
    if with_update:
        r = vx.RDom(1, w - 1, name="r")        # Halide's (min, extent) form
        f[y, r] = f[y, r - 1] + f[y, r]
    src = boundary(f)
    out = vx.Func("out", shape=(h, w))
    out[y, x] = sum((k + 1) * src[y + dy, x + dx] for k, (dy, dx) in enumerate(OFFSETS))
    return vx.Pipeline(out)


def numpy_stencil(img, pad, with_update):
    f = img * np.float32(2) + np.float32(1)
    if with_update:
        f = np.cumsum(f, axis=1, dtype=np.float32)
    padded = np.pad(f, 3, **pad)
    h, w = img.shape
    return sum((k + 1) * padded[3 + dy: 3 + dy + h, 3 + dx: 3 + dx + w]
               for k, (dy, dx) in enumerate(OFFSETS))


@pytest.mark.parametrize("with_update", [False, True], ids=["pure", "update"])
@pytest.mark.parametrize("name", sorted(BOUNDARIES))
def test_boundary_on_a_shaped_func_matches_the_reference_on_pocl(name, with_update,
                                                                 opencl_device):
    bc, pad = BOUNDARIES[name]
    pipe = stencil(bc, with_update)
    kernel = vx.compile(pipe, schedule=vx.Schedule.default(pipe), target="opencl",
                        device=opencl_device)
    for shape in SHAPES:
        img = np.random.default_rng(sum(shape)).standard_normal(shape).astype(np.float32)
        ref = pipe.reference(img=img)
        np.testing.assert_allclose(kernel(img=img), ref, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(ref, numpy_stencil(img, pad, with_update), rtol=1e-5,
                                   atol=1e-5)


def test_wrapping_a_func_twice_gives_one_func():
    f = vx.Func("f", shape=(4,))
    f[vx.Var("x")] = vx.Var("x") * 2
    assert vx.repeat_edge(f) is vx.repeat_edge(f)
    assert vx.repeat_edge(f).name == "f_repeat_edge"


@pytest.mark.parametrize("name", sorted(BOUNDARIES))
def test_a_func_without_a_declared_shape_is_refused(name):
    g = vx.Func("g")
    g[vx.Var("x")] = vx.Var("x") + 1
    with pytest.raises(vx.TypeError, match=rf"vx.{name} needs the extents of Func\('g'\), which "
                                           rf"has no declared shape: declare them, "
                                           rf"vx.Func\('g', shape=\(H, W\)\)"):
        BOUNDARIES[name][0](g)


def test_an_undefined_func_or_a_non_source_is_refused():
    g = vx.Func("g", shape=(5,))
    with pytest.raises(vx.TypeError, match=r"vx.repeat_edge\(Func\('g', shape=\(5\)\)\): define "
                                           r"'g' first \(g\[...\] = ...\), then wrap it"):
        vx.repeat_edge(g)
    with pytest.raises(vx.TypeError, match=r"vx.mirror_image needs a vx.Input or a vx.Func with "
                                           r"a declared shape, got array"):
        vx.mirror_image(np.zeros(3))
