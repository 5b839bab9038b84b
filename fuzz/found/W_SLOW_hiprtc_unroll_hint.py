"""Fuzz case 20261201:123: hang (Timeout) in phase 'compile hip'.

no answer after 60 s in phase 'compile hip'

Expected: the reference's numbers on PoCL, CUDA/HIP sources that compile, or a clean vx.*Error.
Run: python <this file>; exits 0 once the case passes (run a crash case in a subprocess).
"""
import numpy as np

import vortex as vx

H, W = vx.dims('H W')
y, x, b = vx.vars('y x b')
in0 = vx.Input('in0', vx.float32, (H, W))
in1 = vx.Input('in1', vx.int32, (H, 2 * W))
half = vx.Input('half', vx.float32, (H, 2 * W))
gain = vx.Param("gain", vx.float32)
in0_mi = vx.mirror_image(in0)
in1_re = vx.repeat_edge(in1)
f0 = vx.Func('f0', shape=(16,))
f0[b] = vx.float32(0.0)
r0 = vx.RDom([(0, H), (0, W)], name='r0')
r0.where((in0[r0[0], r0[1]] == 2.0))
f0[vx.clamp(vx.cast(vx.int32, vx.clamp(in0[r0[0], r0[1]], -1000.0, 1000.0)), 0, 15)] += in0[r0[0], r0[1]]
f1 = vx.Func('f1')
f1[y, x] = ((in1_re[y, x] - vx.saturating_cast(vx.int32, in0_mi[vx.clamp(y + 3, 0, H - 1), x])) // (in1_re[H - 1 - y, x * 3 // 2] // in1_re[H - y, x // 2 - 1]))
f2 = vx.Func('f2')
f2[y, x] = (vx.min(vx.saturating_cast(vx.int32, half[H - 1 - y, vx.clamp(2 * x + 1 + -1, 0, (2 * W) - 1)]), vx.cast(vx.int32, vx.clamp(f0[15], -1000.0, 1000.0))) // vx.abs(y))
out0 = vx.Func('out0', shape=(H, W,))
out0[y, x] = (y ^ f2[H - 1 - y, W - 1 - x])
pipe = vx.Pipeline(out0)

s = vx.Schedule(pipe)
s["out0"].tile("y", "x", "y", "x", "yi1", "xi2", 8, 16)
s["f2"].compute_at("out0", "xi2")
s["f2"].tile("y", "x", "loop_n", "xo4", "idx", "xi6", 3, 4)
s["f2"].split("xo4", "xo4o7", "xo4i8", 32)
s["f2"].vectorize("loop_n", 8)
s["f0"].compute_root()
s["f0"].gpu_tile("b", "bo9", "bi10", 16)

INPUTS = {'in0': ('float32', [('H', 1), ('W', 1)], False), 'in1': ('int32', [('H', 1), ('W', 2)], False), 'half': ('float32', [('H', 1), ('W', 2)], False)}
PARAMS = {'gain': 3.0}
SIZES = [{'H': 1, 'W': 1}, {'H': 7, 'W': 64}]
TARGETS = ('opencl', 'cuda', 'hip')


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
