"""Sum-of-products pipelines and their ``mma`` (tensor-core) schedules (docs/tensor_cores.md).

A share ``SHARE`` of the cases (drawn from ``random.Random(f"{seed}:{index}:mma")``, so the
other cases of a seed are the ones they were before this module) is one of these instead of a
:mod:`fuzz.generate` pipeline:

``C[i, j] = epilogue(vx.sum(a(A) * b(B)))`` over ``k = vx.RDom(K)``, A and B of an instruction's
input type — float16 / bfloat16 / int8 cast to the accumulator (float32 / int32), or float32
uncast (NVIDIA's m16n8k8 under ``input_precision="tf32"``; AMD's exact 16x16x4 / 32x32x2) —
each stored either way round (``(M, K)`` or ``(K, M)``: a k-major operand), the factors in
either order; 0-3 ``where`` conjuncts on k, each reading (i, k), (k, j) or k only, affine or
over the data (so each zeroes one operand's fragment elements); rarely one reading i and j,
which ``mma`` refuses by design (a clean vx.ScheduleError, counted as refused); an epilogue
(``* 2 + bias[j]``, a max with 0, ``- i``); sometimes a consumer ``out`` reading C, with C
computed at root or at the consumer's block loop (``mma`` on a compute_at producer).

The schedule: C's (i, j) tiled to the instruction's m × n (1-2 warps along each, 1-2 unrolled
sub-tiles per warp), k split by the instruction's k, ``mma`` then ``gpu_blocks`` /
``gpu_threads``; sometimes A and B staged in shared memory at the k loop (XOR swizzle,
multi-buffered), the k loop unrolled by 2. At a site: the consumer in blocks whose x extent is a
multiple of the lanes, C split by m and n over its box, its warps on y (and z).

The case runs on PoCL (plain loops: the reference exactly, inputs being multiples of 1/4 or 1/8)
and compiles for the vendor its shape names only (``Algorithm.targets``): an NVIDIA shape for
CUDA sm_90, an AMD one for HIP gfx90a.
"""
from __future__ import annotations

from .generate import AWKWARD, ROUND, Algorithm
from .schedules import Trials

SHARE = 0.06
# vendor: (input dtype, (m, n, k), accumulator, input_precision)
SHAPES = {"nvidia": [("float16", (16, 8, 16), "float32", None),
                     ("bfloat16", (16, 8, 16), "float32", None),
                     ("int8", (16, 8, 32), "int32", None),
                     ("float32", (16, 8, 8), "float32", "tf32")],
          "amd": [("float16", (16, 16, 16), "float32", None),
                  ("float16", (32, 32, 8), "float32", None),
                  ("bfloat16", (16, 16, 16), "float32", None),
                  ("int8", (16, 16, 16), "int32", None),
                  ("int8", (32, 32, 8), "int32", None),
                  ("float32", (16, 16, 4), "float32", None),
                  ("float32", (32, 32, 2), "float32", None)]}
TARGETS = {"nvidia": ("opencl", "cuda"), "amd": ("opencl", "hip")}
LANES = {"nvidia": 32, "amd": 64}
# where conjuncts by the coordinates they read ({a}/{b}: a load of A / B at (i, k) / (k, j))
PREDICATES = {"ik": ["k <= i", "k < i + 3", "2 * k >= i", "k + i != 7", "{a} > 0"],
              "kj": ["k >= j", "k != j + 1", "(k + j) % 3 != 0", "{b} >= 0"],
              "k": ["k % 2 == 0", "k < K - 2", "k != 4"],
              "ij": ["k <= i + j", "i != j"]}          # refused by mma: reads both i and j
EPILOGUES = ["{t}", "{t}", "{t} * vx.cast({acc}, 2) + bias[j]", "vx.max({t}, vx.cast({acc}, 0))",
             "{t} - vx.cast({acc}, i)"]
CONSUMERS = ["C[i, j] + vx.cast({acc}, j)", "vx.abs(C[i, j])", "C[i, j] * vx.cast({acc}, 3)"]


def generate(rng) -> Algorithm:
    """One sum-of-products pipeline; its schedule's choices ride along in ``alg.mma``."""
    vendor = rng.choice(sorted(SHAPES))
    dtype, shape, acc, precision = rng.choice(SHAPES[vendor])
    a_src = rng.choice(["A[i, k]", "A[k, i]"])
    b_src = rng.choice(["B[k, j]", "B[j, k]"])
    a_shape = "(M, K)" if a_src == "A[i, k]" else "(K, M)"
    b_shape = "(K, N)" if b_src == "B[k, j]" else "(N, K)"
    lines = ['M, N, K = vx.dims("M N K")', 'i, j = vx.vars("i j")',
             f'A = vx.Input("A", vx.{dtype}, {a_shape})',
             f'B = vx.Input("B", vx.{dtype}, {b_shape})']
    inputs = {"A": (dtype, [(d, 1) for d in a_shape[1:-1].split(", ")], False),
              "B": (dtype, [(d, 1) for d in b_shape[1:-1].split(", ")], False)}
    lines.append('k = vx.RDom(K, name="k")')
    conj = []
    for _ in range(rng.choice([0, 1, 1, 2, 3])):
        side = rng.choices(list(PREDICATES), [4, 4, 3, 0.25])[0]
        a, b = ((a_src, b_src) if dtype == "float32" else      # compared in the accumulator's
                (f"vx.cast(vx.{acc}, {a_src})", f"vx.cast(vx.{acc}, {b_src})"))   # type: PoCL
        conj.append(rng.choice(PREDICATES[side]).format(a=a, b=b))   # has no float16 compare
    if conj:
        if rng.random() < 0.5:
            lines.append(f"k.where({' & '.join(f'({c})' for c in conj)})")
        else:
            lines += [f"k.where({c})" for c in conj]
    fa, fb = ((a_src, b_src) if dtype == "float32" else
              (f"vx.cast(vx.{acc}, {a_src})", f"vx.cast(vx.{acc}, {b_src})"))
    if rng.random() < 0.3:
        fa, fb = fb, fa
    epi = rng.choice(EPILOGUES)
    if "bias" in epi:
        lines.append(f'bias = vx.Input("bias", vx.{acc}, (N,))')
        inputs["bias"] = (acc, [("N", 1)], False)
    mode = rng.choice(["root", "root", "consumer", "at", "at"])
    lines.append('C = vx.Func("C", shape=(M, N))' if mode == "root" else 'C = vx.Func("C")')
    value = epi.format(t=f"vx.sum({fa} * {fb})", acc=f"vx.{acc}")
    lines.append(f"C[i, j] = {value}")
    funcs = {"C": {"A", "B"} | ({"bias"} if "bias" in epi else set())}
    outputs = ["C"]
    if mode != "root":
        lines.append('out = vx.Func("out", shape=(M, N))')
        lines.append(f"out[i, j] = {rng.choice(CONSUMERS).format(acc=f'vx.{acc}')}")
        funcs["out"], outputs = {"C"}, ["out"]
    lines.append(f"pipe = vx.Pipeline({outputs[0]})")
    sizes = [{d: rng.choice(pool) for d in "MNK"} for pool in (AWKWARD, ROUND + AWKWARD[5:])]
    return Algorithm("\n".join(lines) + "\n", inputs, {}, funcs, outputs, sizes, {},
                     targets=TARGETS[vendor], mma={"vendor": vendor, "shape": shape,
                                                   "precision": precision, "mode": mode})


class _Builder(Trials):
    """A vx.Schedule built directive by directive: ``need`` applies a directive the mma schedule
    requires; ``attempt`` (:class:`fuzz.schedules.Trials`) an optional one."""

    def need(self, name, method, *args, **kw):
        getattr(self.s[name], method)(*args, **kw)


def schedule(rng, pipe, alg) -> tuple:
    """(schedule, directives refused): the mma schedule of :func:`generate`'s pipeline."""
    info = alg.mma
    (m, n, kk), mode = info["shape"], info["mode"]
    opt = {"input_precision": info["precision"]} if info["precision"] else {}
    b = _Builder(pipe)
    if mode == "at":
        _at_site(rng, b, m, n, kk, opt, LANES[info["vendor"]])
        return b.s, b.refused
    if mode == "consumer":
        b.need("C", "compute_root")
        b.attempt("out", "gpu_tile", "i", "j", "io", "jo", "ii", "ji", *rng.choice(
            [(4, 32), (8, 8), (1, 64), (3, 5)]))
    warps = (rng.choice([1, 1, 2]), rng.choice([1, 1, 2]))
    # a 32 x 32 tile is 16 accumulators a lane: PoCL's JIT of its emulation takes 5-9 s, more
    # with sub-tiles or an unrolled k loop (the CI budget), so it gets neither
    big = m == 32
    sub = (1, 1) if big else (rng.choice([1, 1, 2]), rng.choice([1, 1, 2]))
    wi, wj = m * sub[0], n * sub[1]
    b.need("C", "tile", "i", "j", "io", "jo", "ii", "ji", wi * warps[0], wj * warps[1])
    b.need("C", "tile", "ii", "ji", "iw", "jw", "iq", "jq", wi, wj)
    b.need("C", "tile", "iq", "jq", "iu", "ju", "it", "jt", m, n)
    b.need("C", "split", "k", "ko", "kt", kk)
    b.need("C", "reorder", "io", "jo", "iw", "jw", "ko", "iu", "ju", "it", "jt", "kt")
    b.need("C", "mma", "it", "jt", "kt", **opt)
    b.need("C", "gpu_blocks", "io", "jo")
    b.need("C", "gpu_threads", "iw", "jw")
    for v in ("iu", "ju"):
        if rng.random() < 0.8:
            b.attempt("C", "unroll", v)
    staged = [x for x in ("A", "B") if rng.random() < 0.3]
    for x in staged:
        b.attempt("C", "stage", x, "ko", "shared", "xor" if rng.random() < 0.3 else None)
    if staged and rng.random() < 0.3:
        b.attempt("C", "pipeline", "ko", rng.choice([2, 3]))
    elif not big and rng.random() < 0.15:
        b.attempt("C", "unroll", "ko", 2)
    return b.s, b.refused


def _at_site(rng, b, m, n, kk, opt, lanes):
    """C computed at the consumer's block loop: out in (rows × tx) blocks, tx a multiple of the
    lanes; C's box split by m and n, its warps on the block's y (and z)."""
    tx = rng.choice([lanes, lanes, 2 * lanes])
    rows = rng.choice([r for r in (1, 2, 4, 8, 16) if r * tx <= 1024])
    b.need("out", "tile", "i", "j", "io", "jo", "ii", "ji", rows, tx)
    b.need("out", "gpu_blocks", "io", "jo")
    b.need("out", "gpu_threads", "ii", "ji")
    b.need("C", "compute_at", "out", "jo")
    if rng.random() < 0.3:
        b.attempt("C", "store_in", "shared")
    b.need("C", "split", "i", "iw", "it", m)
    b.need("C", "split", "j", "jw", "jt", n)
    b.need("C", "split", "k", "ko", "kt", kk)
    b.need("C", "reorder", "iw", "jw", "ko", "it", "jt", "kt")
    b.need("C", "mma", "it", "jt", "kt", **opt)
    warps = rng.choice([(), ("jw",), ("jw",), ("jw", "iw")])
    if warps:
        b.attempt("C", "gpu_threads", *warps)
