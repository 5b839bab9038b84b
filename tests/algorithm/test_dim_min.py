"""vx.Dim(name, min=): a size minimum that bounds inference uses and every call checks (issue 10
item 8). The program: an output of ``W // 2`` points, each the mean of two samples 16 and 17
past it (a filter after a 16-sample preamble): in bounds only when ``W >= 34``, which only a
minimum says. (An output of ``(W - 32) // 2`` points reading ``2 * x + 32`` is in bounds for
every ``W``: it is empty below 34.)"""
import numpy as np
import pytest

import vortex as vx


def crop_half(W) -> vx.Pipeline:
    x = vx.Var("x")
    img = vx.Input("img", vx.float32, (W,))
    out = vx.Func("out", shape=(W // 2,))
    out[x] = (img[x + 16] + img[x + 17]) / 2
    return vx.Pipeline(out)


def test_refused_without_a_minimum():
    with pytest.raises(vx.BoundsError, match=r"accesses img\[x \+ 16\] out of bounds: index 0 "
                                             r"\(x \+ 16\) ranges over \[16, W // 2 \+ 15\]"):
        crop_half(vx.Dim("W"))


def test_accepted_and_correct_with_a_minimum(opencl_device):
    pipe = crop_half(vx.Dim("W", min=34))
    kernel = vx.compile(pipe, target="opencl", device=opencl_device)
    for n in (34, 35, 37, 100):
        img = np.random.default_rng(n).random(n).astype(np.float32)
        want = (img[16:16 + n // 2] + img[17:17 + n // 2]) / 2
        np.testing.assert_array_equal(pipe.reference(img=img), want.astype(np.float32))
        np.testing.assert_array_equal(kernel(img=img), pipe.reference(img=img))


def test_a_call_below_the_minimum_is_an_input_error():
    pipe = crop_half(vx.Dim("W", min=34))
    with pytest.raises(vx.InputError, match=r"size W=33 is below its declared minimum: "
                                            r"vx.Dim\('W', min=34\); pass a larger input"):
        pipe.reference(img=np.zeros(33, np.float32))


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "32"])
def test_a_bad_minimum_is_a_type_error(bad):
    with pytest.raises(vx.TypeError, match=r"Dim 'W': min=.* must be an integer >= 1"):
        vx.Dim("W", min=bad)


def test_one_name_with_two_minimums_is_a_type_error():
    x = vx.Var("x")
    a = vx.Input("a", vx.float32, (vx.Dim("N", min=4),))
    out = vx.Func("out", shape=(vx.Dim("N"),))
    out[x] = a[x]
    with pytest.raises(vx.TypeError, match=r"Dim 'N' is declared with min=1 and with min=4|"
                                           r"Dim 'N' is declared with min=4 and with min=1"):
        vx.Pipeline(out)


def test_the_minimum_is_not_part_of_a_dims_identity():
    assert vx.Dim("W", min=8).key == vx.Dim("W").key
