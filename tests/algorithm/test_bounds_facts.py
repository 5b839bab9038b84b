"""Facts the bounds prover uses: a float clamped before a cast to int, ranged float and integer
Params (``range=`` or Halide's ``min=``/``max=``) — each lets through a correct program that
is refused without it, and the facts are checked at the call."""
import numpy as np
import pytest

import vortex as vx

H, W = vx.dims("H W")
y, x = vx.vars("y x")


def _lut_pipeline(index):
    img = vx.Input("img", vx.float32, (H, W))
    lut = vx.Input("lut", vx.float32, (256,))
    f = vx.Func("f", shape=(H, W))
    f[y, x] = lut[index(img[y, x])]
    return vx.Pipeline(f)


def test_a_float_clamped_then_cast_indexes_a_table(opencl_device):
    """A histogram bin / bilateral-grid index: cast(int32, min(max(v * 255, 0), 255))."""
    pipe = _lut_pipeline(lambda v: vx.cast(vx.int32, vx.min(vx.max(v * 255.0, 0.0), 255.0)))
    k = vx.compile(pipe, schedule=None, target="opencl")
    rng = np.random.default_rng(1)
    lut = rng.random(256, dtype=np.float32)
    for shape in ((1, 1), (7, 13), (37, 101)):
        img = (rng.random(shape, dtype=np.float32) * 1.4 - 0.2)   # outside [0, 1] too
        np.testing.assert_array_equal(k(img=img, lut=lut), pipe.reference(img=img, lut=lut))


def test_an_unclamped_float_cast_is_still_refused():
    with pytest.raises(vx.BoundsError, match=r"accesses lut\[vx\.cast\(vx\.int32, img\[y, x\] "
                                             r"\* 255\.0\)\] out of bounds"):
        _lut_pipeline(lambda v: vx.cast(vx.int32, v * 255.0))


@pytest.mark.parametrize("make", [lambda: vx.Param("g", vx.float32, min=0.0, max=255.0),
                                  lambda: vx.Param("g", vx.float32, range=(0, 255))])
def test_a_ranged_float_param_indexes_a_table(opencl_device, make):
    g = make()
    lut = vx.Input("lut", vx.float32, (256,))
    img = vx.Input("img", vx.float32, (H, W))
    f = vx.Func("f", shape=(H, W))
    f[y, x] = img[y, x] + lut[vx.cast(vx.int32, g)]
    pipe = vx.Pipeline(f)
    k = vx.compile(pipe, schedule=None, target="opencl")
    a, t = np.ones((3, 5), np.float32), np.arange(256, dtype=np.float32)
    np.testing.assert_array_equal(k(img=a, lut=t, g=17.5), pipe.reference(img=a, lut=t, g=17.5))
    with pytest.raises(vx.InputError, match=r"param 'g'=300.0 is outside its declared range "
                                            r"\[0.0, 255.0\]"):
        k(img=a, lut=t, g=300.0)


def test_an_integer_param_with_min_and_max_is_an_index(opencl_device):
    w = vx.Param("w", vx.int32, min=0, max=255)
    lut = vx.Input("lut", vx.float32, (256,))
    f = vx.Func("f", shape=(W,))
    f[x] = lut[w] * x
    pipe = vx.Pipeline(f)
    k = vx.compile(pipe, schedule=None, target="opencl")
    t = np.arange(256, dtype=np.float32)
    np.testing.assert_array_equal(k(lut=t, w=255, W=4), pipe.reference(lut=t, w=255, W=4))
    with pytest.raises(vx.BoundsError, match=r"accesses lut\[v\] out of bounds: index 0 \(v\) "
                                             r"ranges over \[-2147483648, 2147483647\]"):
        v = vx.Param("v", vx.int32)
        g = vx.Func("g", shape=(W,))
        g[x] = lut[v] * x
        vx.Pipeline(g)


def test_param_fact_errors():
    with pytest.raises(vx.TypeError, match=r"Param 'w': give range=\(lo, hi\) or min=/max=, "
                                           "not both"):
        vx.Param("w", vx.int32, range=(0, 3), min=1)
    with pytest.raises(vx.TypeError, match=r"Param 'b': range=\(lo, hi\) \(or min=/max=\) needs "
                                           "a number dtype and lo <= hi"):
        vx.Param("b", vx.bool_, min=0)
    with pytest.raises(vx.TypeError, match="needs a number dtype and lo <= hi"):
        vx.Param("w", vx.int32, min=5, max=1)
    assert vx.Param("w", vx.int32, min=1).range == (1, 2 ** 31 - 1)
