"""Fuzz case 20261206:882: wrong (WRONG) in phase 'run opencl sizes {'H': 11, 'W': 16}'.

output 0: 11 of 176 elements differ; first at (5, 1): expected np.int32(-143165577), got np.int32(-143165576)

Expected: the reference's numbers on PoCL, CUDA/HIP sources that compile, or a clean vx.*Error.
Run: python <this file>; exits 0 once the case passes (run a crash case in a subprocess).
"""
import numpy as np

import vortex as vx

H, W = vx.dims('H W')
y, x, b = vx.vars('y x b')
in0 = vx.Input('in0', vx.int32, (H, 2 * W))
in0_ce = vx.constant_exterior(in0, -3)
f0 = vx.Func('f0')
f0[y, x] = vx.saturating_cast(vx.uint8, x)
out0 = vx.Func('out0', shape=(H, W,))
r0 = vx.RDom(2 * W, name='r0')
out0[y, x] = (vx.abs(vx.minimum(in0[H - 1 - y, r0])) // vx.cast(vx.int32, f0[vx.clamp(y + -1, 0, H - 1), W - x]))
pipe = vx.Pipeline(out0)

s = vx.Schedule(pipe)
s["out0"].gpu_tile("y", "x", "yo1", "xo2", "yi3", "xi4", 3, 32)
s["f0"].compute_root()
s["f0"].store_in("global")
s["f0"].gpu_tile("x", "xo5", "xi6", 16)

INPUTS = {'in0': ('int32', [('H', 1), ('W', 2)], False)}
PARAMS = {}
SIZES = [{'H': 5, 'W': 23}, {'H': 11, 'W': 16}]
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
