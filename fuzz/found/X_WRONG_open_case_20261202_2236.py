"""OPEN (fuzz case 2236 of seed 20261202, found at the end of a session, not yet fixed): one Func over a 3-D gpu_tile (16, 5, 2): 2 of 629 int32 elements differ (expected 0, got -1); the same with the partition, cse and prove-guards passes each removed, so not those passes; not diagnosed.

Exits 0 once fixed.
"""
import numpy as np

import vortex as vx

C, H, W = vx.dims('C H W')
c, y, x, b = vx.vars('c y x b')
in0 = vx.Input('in0', vx.float32, (C, 2 * H, W))
gain = vx.Param("gain", vx.float32)
k = vx.Param("k", vx.int32, range=(0, 3))
in0_ce = vx.constant_exterior(in0, -0.75)
out0 = vx.Func('out0', shape=(C, H, W,))
out0[c, y, x] = vx.select((vx.saturating_cast(vx.uint8, x) >= vx.max(vx.saturating_cast(vx.uint8, in0_ce[c + 2, 2 * y + 0, vx.clamp(x + 1, 0, W - 1)]), vx.saturating_cast(vx.uint8, in0_ce[c, y, x]))), vx.min(vx.select(((vx.mux(x % 4, [vx.saturating_cast(vx.int32, in0_ce[c + k, y + 1, W - 1 - x]), vx.saturating_cast(vx.int32, in0_ce[c - 1, H - y, x // 2 - 1]), k]) <= vx.saturating_cast(vx.int32, in0_ce[c, y * 3 // 2, x - 1])) ^ (vx.saturating_cast(vx.int32, in0_ce[c, 2 * y, 2 * x]) != vx.saturating_cast(vx.int32, in0[C - 1 - c, 2 * y + 1, vx.clamp(x + -2, 0, W - 1)]))), c, 3), (vx.saturating_cast(vx.int32, in0_ce[c, y // 2 - 1, W - x]) % vx.saturating_cast(vx.int32, in0[c, 2 * y + 1, x]))), (vx.saturating_cast(vx.int32, in0_ce[c, y + 2, vx.clamp(x + 1, 0, W - 1)]) % vx.saturating_cast(vx.int32, in0_ce[C - 1 - c, 2 * y + 1, x * 3 // 2])))
pipe = vx.Pipeline(out0)

s = vx.Schedule(pipe)
s["out0"].gpu_tile("c", "y", "x", "co1", "yo2", "xo3", "ci4", "yi5", "xi6", 16, 5, 2)

INPUTS = {'in0': ('float32', [('C', 1), ('H', 2), ('W', 1)], True)}
PARAMS = {'gain': 0.5, 'k': 3}
SIZES = [{'C': 1, 'H': 17, 'W': 37}, {'C': 4, 'H': 11, 'W': 16}]
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
