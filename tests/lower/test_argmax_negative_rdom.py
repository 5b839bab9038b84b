"""argmin/argmax over an RDom whose minimum is negative keep the point -1: the accumulator's
"no point yet" mark is -2**31, never a position (it was -1; fuzz reproducer T)."""
import numpy as np
import pytest

import vortex as vx


@pytest.mark.parametrize("op", [vx.argmin, vx.argmax])
def test_argmin_argmax_over_a_window_starting_at_minus_one(opencl_device, op):
    N = vx.Dim("N")
    x = vx.Var("x")
    a = vx.Input("a", vx.int32, (N,))
    r = vx.RDom([(-1, 3)], name="r")
    f = vx.Func("f", shape=(N,))
    f[x] = op(vx.repeat_edge(a)[x + r])
    pipe = vx.Pipeline(f)
    k = vx.compile(pipe, schedule=vx.Schedule(pipe), target="opencl")
    rng = np.random.default_rng(0)
    for v in (np.array([1, 5, 9, 4], np.int32), np.array([3, 3, 3], np.int32),
              np.array([7], np.int32), rng.integers(0, 3, 13).astype(np.int32)):
        np.testing.assert_array_equal(k(a=v), pipe.reference(a=v))
    assert k(a=np.array([3, 3, 3], np.int32)).tolist() == [-1, -1, -1]
