"""vx.min/max/clamp and the maximum/minimum reductions ignore NaN (np.fmin/np.fmax, C's
fminf/fmaxf) in the reference and on the targets alike: they agree bit for bit on inputs with
NaN and inf (they disagreed when the reference propagated NaN)."""
import numpy as np

import vortex as vx


def test_nan_is_ignored_by_min_max_clamp_and_reductions(opencl_device):
    N = vx.Dim("N")
    x = vx.Var("x")
    a = vx.Input("a", vx.float32, (N,))
    f = vx.Func("f", shape=(N,))
    f[x] = vx.min(a[x], 1.0) + vx.max(a[x], -2.0)
    g = vx.Func("g", shape=(N,))
    g[x] = vx.clamp(a[x], -1.0, 1.0)
    r = vx.RDom(N, name="r")
    h = vx.Func("h", shape=(2,))
    h[x] = vx.select(x == 0, vx.maximum(a[r]), vx.minimum(a[r]))
    pipe = vx.Pipeline(f, g, h)
    k = vx.compile(pipe, schedule=vx.Schedule(pipe), target="opencl")
    for v in ([0.5, np.nan, 3.0], [np.nan], [np.inf, np.nan, -np.inf, 2.0]):
        v = np.array(v, np.float32)
        got, want = k(a=v), pipe.reference(a=v)
        for o, r_ in zip(got, want):
            np.testing.assert_array_equal(o, r_)
    ref = pipe.reference(a=np.array([0.5, np.nan, 3.0], np.float32))
    np.testing.assert_array_equal(ref[1], np.array([0.5, -1.0, 1.0], np.float32))
    np.testing.assert_array_equal(ref[2], np.array([3.0, 0.5], np.float32))
