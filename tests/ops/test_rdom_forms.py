"""vx.RDom in Halide's one-dimensional ``RDom(min, extent)`` spelling (the same domain as
``[(min, extent)]``, on PoCL and in the reference), and the errors for a missing name and for
Halide's multi-dimensional positional form (whose dimension order differs from Vortex's)."""
import numpy as np
import pytest

import vortex as vx


def test_halide_min_extent_form_is_the_same_domain():
    n = vx.Dim("N")
    a, b = vx.RDom(2, n - 3, name="r"), vx.RDom([(2, n - 3)], name="r")
    assert a.ndim == 1 and repr(a) == repr(b) == "RDom([(2, N - 3)], name='r')"
    assert repr(vx.RDom(0, 10, name="t")) == "RDom([(0, 10)], name='t')"
    assert repr(vx.RDom(7, "s")) == "RDom([(0, 7)], name='s')"      # positional name still works


def window_sums():
    """out[x] = sum of a[x + r] for r in RDom(-1, 3) (Halide form): a 3-tap box via an inline
    reduction; prefix[x] a running sum through an update over RDom(1, N - 1)."""
    n, x = vx.Dim("N"), vx.Var("x")
    a = vx.Input("a", vx.int32, (n,))
    src = vx.repeat_edge(a)
    r = vx.RDom(-1, 3, name="r")
    box = vx.Func("box", shape=(n,))
    box[x] = vx.sum(src[x + r])
    prefix = vx.Func("prefix", shape=(n,))
    prefix[x] = a[x]
    s = vx.RDom(1, n - 1, name="s")
    prefix[s] = prefix[s - 1] + a[s]
    return vx.Pipeline(box, prefix)


def test_halide_form_on_pocl_matches_reference_and_numpy(opencl_device):
    pipe = window_sums()
    kernel = vx.compile(pipe, schedule=vx.Schedule.default(pipe), target="opencl",
                        device=opencl_device)
    for n in (1, 7, 13, 101):
        a = np.random.default_rng(n).integers(-50, 50, n).astype(np.int32)
        p = np.pad(a, 1, mode="edge")
        expect = (p[:-2] + p[1:-1] + p[2:], np.cumsum(a).astype(np.int32))
        for got, ref, exp in zip(kernel(a=a), pipe.reference(a=a), expect):
            np.testing.assert_array_equal(ref, exp)
            np.testing.assert_array_equal(got, ref)


def test_missing_name():
    with pytest.raises(vx.TypeError, match=r"^vx.RDom\(0, 10\) needs a name: "
                                           r"vx.RDom\(0, 10, name='r'\)$"):
        vx.RDom(0, 10)
    with pytest.raises(vx.TypeError, match=r"^vx.RDom\(N\) needs a name: vx.RDom\(N, name='r'\)$"):
        vx.RDom(vx.Dim("N"))


def test_halide_multi_dimensional_form_is_refused_with_the_vortex_form():
    h, w = vx.dims("H W")
    with pytest.raises(vx.TypeError) as e:
        vx.RDom(0, w, 0, h, name="rr")
    assert str(e.value) == (
        "vx.RDom(0, W, 0, H) is Halide's multi-dimensional (min, extent, ...) form, which "
        "Vortex does not take: write vx.RDom([(0, H), (0, W)], name='rr') — a list of "
        "(min, extent) pairs whose LAST one is innermost, so Halide's r.x (innermost) becomes "
        "rr[1]")
    with pytest.raises(vx.TypeError, match=r"^vx.RDom\(0, 10, 5\): give one extent, Halide's "
                                           r"\(min, extent\) of one dimension, or a list of "
                                           r"\(min, extent\) pairs"):
        vx.RDom(0, 10, 5, name="r")
