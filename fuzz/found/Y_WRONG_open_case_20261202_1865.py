"""OPEN (fuzz case 1865 of seed 20261202, found at the end of a session, not yet fixed): output 1: 1 of 2852 int32 elements differ by one (517088 vs 517089); not diagnosed.

Exits 0 once fixed.
"""
import numpy as np

import vortex as vx

C, H, W = vx.dims('C H W')
c, y, x, b = vx.vars('c y x b')
in0 = vx.Input('in0', vx.float32, (C, H, W))
in1 = vx.Input('in1', vx.float32, (C, H, W))
k = vx.Param("k", vx.int32, range=(0, 3))
f0 = vx.Func('f0')
f0[c, y, x] = vx.select((vx.cast(vx.int32, vx.select((c != 3), vx.cast(vx.uint8, vx.clamp(in1[C - 1 - c, y, x], 0.0, 255.0)), vx.cast(vx.uint8, vx.clamp(in0[vx.clamp(c + 1, 0, C - 1), y, x], 0.0, 255.0)))) == vx.mux(c % 4, [vx.saturating_cast(vx.int32, in0[c, vx.clamp(y + -2, 0, H - 1), x]), vx.saturating_cast(vx.int32, in1[C - 1 - c, vx.clamp(y + 3, 0, H - 1), W - 1 - x]), vx.cast(vx.int32, vx.clamp(in1[c, vx.clamp(y + -1, 0, H - 1), W - 1 - x], -1000.0, 1000.0))])), vx.min(vx.cast(vx.uint8, vx.clamp(in1[c, vx.clamp(y + 1, 0, H - 1), vx.clamp(x + -1, 0, W - 1)], 0.0, 255.0)), vx.abs(vx.cast(vx.uint8, vx.clamp(in0[vx.clamp(c + 1, 0, C - 1), y, x], 0.0, 255.0)))), vx.cast(vx.uint8, vx.cast(vx.int32, vx.cast(vx.uint8, x))))
f1 = vx.Func('f1', shape=(C, H, W,))
f1[c, y, x] = (vx.cast(vx.uint8, vx.clamp(in1[C - 1 - c, vx.clamp(y + 1, 0, H - 1), x], 0.0, 255.0)) ^ (vx.saturating_cast(vx.uint8, in0[c, vx.clamp(y + 3, 0, H - 1), vx.clamp(x + -2, 0, W - 1)]) * f0[c, H - 1 - y, vx.clamp(x + -2, 0, W - 1)]))
out0 = vx.Func('out0', shape=(C, H, W,))
out0[c, y, x] = f1[vx.clamp(c + -1, 0, C - 1), y, x]
out1 = vx.Func('out1', shape=(C, H, W,))
r0 = vx.RDom(W, name='r0')
r0.where((out0[vx.clamp(c + 3, 0, C - 1), y, r0] >= out0[c, vx.clamp(y + -2, 0, H - 1), W - 1 - x]))
out1[c, y, x] = vx.saturating_cast(vx.int32, (vx.cast(vx.float32, out0[vx.clamp(c + -1, 0, C - 1), vx.clamp(y + -2, 0, H - 1), x]) * vx.sum(vx.exp(vx.clamp(vx.cast(vx.float32, out0[c, y, r0]), -8.0, 8.0)))))
pipe = vx.Pipeline(out0, out1)

s = vx.Schedule(pipe)
s["out1"].gpu_tile("x", "xo1", "xi2", 16)
s["out1"].gpu_blocks("c")
s["out0"].gpu_tile("x", "xo3", "xi4", 8)
s["f1"].compute_root()
s["f1"].gpu_tile("x", "xo5", "xi6", 16)

INPUTS = {'in0': ('float32', [('C', 1), ('H', 1), ('W', 1)], False), 'in1': ('float32', [('C', 1), ('H', 1), ('W', 1)], False)}
PARAMS = {'k': 0}
SIZES = [{'C': 4, 'H': 61, 'W': 31}, {'C': 4, 'H': 23, 'W': 31}]
TARGETS = ('opencl',)


def arguments(sizes, seed):
    """Keyword arguments of one call: the pipeline's Inputs (float32: multiples of 1/8, so sums
    and products are exact; int32: small, sometimes huge; uint8: any), its Params, and the Dims
    no Input fixes."""
    rng = np.random.default_rng(seed)
    used = set(pipe.inputs) | set(pipe.params)
    args = {k: v for k, v in PARAMS.items() if k in used}
    bound = set()
    for name, (dtype, axes, special) in INPUTS.items():
        shape = tuple(n if d is None else n * sizes[d] for d, n in axes)
        if dtype == "float32":
            a = (rng.integers(-16, 17, shape) / 8).astype(np.float32)
            if special:
                a.flat[rng.integers(0, a.size, 3)] = [np.nan, np.inf, -np.inf]
        elif dtype == "int32":
            a = rng.integers(-20, 21, shape).astype(np.int32)
            if rng.random() < 0.25:
                a.flat[rng.integers(0, a.size, 2)] = [2**31 - 1, -2**31]
        else:
            a = rng.integers(0, 256, shape).astype(np.uint8)
        if name in used:
            args[name] = a
            bound |= {d for d, n in axes if d and n == 1}
    args.update({d: v for d, v in sizes.items() if d in pipe.dims and d not in bound})
    return args


def outputs(value):
    return value if isinstance(value, tuple) else (value,)


def mismatch(got, want):
    """None when equal (ints and bools exactly; floats within rtol 1e-5 plus 1e-5 of the largest
    finite magnitude, NaN where NaN), else a one-line description of the first difference."""
    got, want = np.asarray(got), np.asarray(want)
    if got.shape != want.shape or got.dtype != want.dtype:
        return f"shape/dtype {got.shape} {got.dtype}, expected {want.shape} {want.dtype}"
    if want.dtype.kind == "f":
        finite = want[np.isfinite(want)]
        scale = max(1.0, float(np.max(np.abs(finite), initial=0.0)))
        ok = np.isclose(got, want, rtol=1e-5, atol=1e-5 * scale, equal_nan=True)
    else:
        ok = got == want
    if ok.all():
        return None
    bad = np.argwhere(~ok)
    at = tuple(int(i) for i in bad[0])
    return (f"{len(bad)} of {want.size} elements differ; first at {at}: expected "
            f"{want[at]!r}, got {got[at]!r}")


def main():
    kernel = vx.compile(pipe, schedule=s, target="opencl")
    for target in TARGETS[1:]:
        vx.compile(pipe, schedule=s, target=target, arch={'cuda': 'sm_90', 'hip': 'gfx90a'}[target])
        print(target, "compiles")
    bad = 0
    for i, sizes in enumerate(SIZES):
        args = arguments(sizes, i)
        pairs = zip(outputs(kernel(**args)), outputs(pipe.reference(**args)))
        for j, (got, want) in enumerate(pairs):
            why = mismatch(got, want)
            print(f"sizes {sizes} output {j}:", why or "matches the reference")
            bad += why is not None
    return 1 if bad else 0


if __name__ == "__main__":
    import sys
    sys.exit(main())
