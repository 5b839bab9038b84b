"""Every reference evaluation in these tests also checks that each load it performs is inside the
array it reads: numpy would silently wrap a negative index, so this turns any unsound bounds
inference (an access accepted by vx.Pipeline but out of range for some size) into a failure —
for an RDom whose bounds use a Var, at the points of each one's own range (reference.Scope.clip)."""
import numpy as np
import pytest

from vortex.algorithm import reference
from vortex.algorithm.func import Input


@pytest.fixture(autouse=True)
def checked_loads(monkeypatch):
    real = reference.Evaluator._load

    def load(self, e, scope):
        if isinstance(e.source, Input):
            arr, origin = np.asarray(self.b.arrays[e.name]), (0,) * e.source.ndim
        else:
            arr, origin = self.buffers[e.name]
        clip = None if scope is None else scope.clip
        if clip is True:     # an update over a Var-bounded RDom's box: which points count is
            return real(self, e, scope)    # not known here (the kernels check those reads)
        for axis, (i, n) in enumerate(zip(self.index(e.args, origin, scope), arr.shape)):
            i = np.asarray(i)
            if clip is not None:   # a Var-bounded RDom's box: only each point's own range
                i = np.broadcast_to(i, np.broadcast_shapes(i.shape, np.shape(clip)))[
                    np.broadcast_to(clip, np.broadcast_shapes(i.shape, np.shape(clip)))]
            assert i.size == 0 or (i.min() >= 0 and i.max() < n), (
                f"{e} reads {e.name} out of range in dimension {axis}: "
                f"[{i.min() + origin[axis]}, {i.max() + origin[axis]}] vs origin {origin[axis]}, "
                f"extent {n}")
        return real(self, e, scope)
    monkeypatch.setattr(reference.Evaluator, "_load", load)
