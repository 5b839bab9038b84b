"""Bounds inference accepts in-bounds accesses whose inferred range nests Min/Max and floors
(a clamp of a strided read, repeat_edge under a stencil, two-level x // 2 pyramids, a floor of a
Max): the prover tries every Min/Max and floor atom, outermost first, instead of giving up on
the first whose coefficient is not constant."""
import numpy as np
import pytest

import vortex as vx


def _stencil_of_repeat_edge(H, y):
    img = vx.Input("img", vx.float32, (H,))
    f0 = vx.Func("f0")
    f0[y] = vx.repeat_edge(img)[y - 2]
    out = vx.Func("out", shape=(H,))
    out[y] = f0[2 * y]
    return out


def _clamped(H, y):
    img = vx.Input("img", vx.float32, (H,))
    f0 = vx.Func("f0")
    f0[y] = img[vx.clamp(y, 0, H - 1)]
    out = vx.Func("out", shape=(H,))
    out[y] = f0[2 * y - 2]
    return out


def _floor_of_floor(H, y):
    a = vx.Input("img", vx.float32, (H,))
    f0 = vx.Func("f0")
    f0[y] = a[y // 2]
    out = vx.Func("out", shape=(H,))
    out[y] = f0[y // 2]
    return out


def _floor_of_max(H, y):
    a = vx.Input("img", vx.float32, (H,))
    f0 = vx.Func("f0")
    f0[y] = a[y // 2]
    out = vx.Func("out", shape=(H,))
    out[y] = f0[vx.max(y - 2, 0)]
    return out


@pytest.mark.parametrize("build", [_stencil_of_repeat_edge, _clamped, _floor_of_floor,
                                   _floor_of_max])
def test_nested_min_max_and_floors_are_proven_in_bounds(build, opencl_device):
    H, y = vx.Dim("H"), vx.Var("y")
    pipe = vx.Pipeline(build(H, y))
    k = vx.compile(pipe, schedule=None, target="opencl")
    for n in (1, 2, 7, 13):
        v = np.arange(n, dtype=np.float32) ** 2
        np.testing.assert_array_equal(k(img=v), pipe.reference(img=v))


def test_an_out_of_bounds_strided_read_is_still_refused():
    H, y = vx.Dim("H"), vx.Var("y")
    a = vx.Input("img", vx.float32, (H,))
    f0 = vx.Func("f0")
    f0[y] = a[y // 2 + 1]
    out = vx.Func("out", shape=(H,))
    out[y] = f0[vx.max(y - 2, 0)]
    with pytest.raises(vx.BoundsError, match=r"accesses img\[y // 2 \+ 1\] out of bounds"):
        vx.Pipeline(out)
