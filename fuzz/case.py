"""One fuzz case, run inside a worker process: generate, check, classify; and its standalone
Python snippet.

Case (seed, index) is fully determined by ``random.Random(f"{seed}:{index}")``: the algorithm
(:mod:`fuzz.generate`; or, for a share of the cases drawn from ``random.Random(f"{seed}:{index}:
mma")``, a sum of products with an ``mma`` schedule, :mod:`fuzz.mma`, compiled for its vendor's
target only), then the schedule (:mod:`fuzz.schedules`, which asks the live
``vx.Schedule`` which directives it accepts), the two size sets and the input data (numpy's
``default_rng(size set number)`` inside the snippet). The snippet — algorithm source,
``schedule.to_python()``, input maker and a ``main()`` that checks — is exactly what runs here,
so a failure can be pasted and rerun: ``python case.py`` exits 0 once the case passes.

Phases, in order: pipeline (exec of the algorithm), schedule, reference, compile opencl,
compile cuda (sm_90), compile hip (gfx90a, for the cases asked), run opencl at each size set.
The first failure of the first four phases ends the case; CUDA/HIP compile failures are recorded
and the OpenCL run still happens. Outcome classes (the report counts each case once, by the most
severe): ``wrong``, ``non-vortex`` (any exception that is not a vx.VortexError),
``compile-fail`` (a vx.CompileError: the target compiler rejected generated source),
``refused`` (another vx.VortexError: a clean refusal), ``correct``. ``crash`` and ``hang``
are decided by the parent (:mod:`fuzz.run`) when the worker dies or times out.
"""
from __future__ import annotations

import random
import time
import traceback

import numpy as np

import vortex as vx

from . import mma
from .generate import generate
from .schedules import generate_schedule

ARCHS = {"cuda": "sm_90", "hip": "gfx90a"}

HARNESS = '''
INPUTS = {inputs!r}
PARAMS = {params!r}
SIZES = {sizes!r}
TARGETS = {targets!r}


def arguments(sizes, seed):
    """Keyword arguments of one call: the pipeline's Inputs (float32: multiples of 1/8, so sums
    and products are exact; int32: small, sometimes huge; uint8, int8: any; float16, bfloat16:
    multiples of 1/4), its Params, and the Dims no Input fixes."""
    rng = np.random.default_rng(seed)
    used = set(pipe.inputs) | set(pipe.params)
    args = {{k: v for k, v in PARAMS.items() if k in used}}
    bound = set()
    for name, (dtype, axes, special) in INPUTS.items():
        shape = tuple(n if d is None else n * sizes[d] for d, n in axes)
        if dtype == "float32":
            a = (rng.integers(-16, 17, shape) / 8).astype(np.float32)
            if special:
                a.flat[rng.integers(0, a.size, 3)] = [np.nan, np.inf, -np.inf]
        elif dtype in ("float16", "bfloat16"):      # an mma operand: multiples of 1/4
            a = (rng.integers(-8, 9, shape) / 4).astype(getattr(vx, dtype).np)
        elif dtype == "int8":
            a = rng.integers(-128, 128, shape).astype(np.int8)
        elif dtype == "int32":
            a = rng.integers(-20, 21, shape).astype(np.int32)
            if rng.random() < 0.25:
                a.flat[rng.integers(0, a.size, 2)] = [2**31 - 1, -2**31]
        else:
            a = rng.integers(0, 256, shape).astype(np.uint8)
        if name in used:
            args[name] = a
            bound |= {{d for d, n in axes if d and n == 1}}
    args.update({{d: v for d, v in sizes.items() if d in pipe.dims and d not in bound}})
    return args


def outputs(value):
    return value if isinstance(value, tuple) else (value,)


def mismatch(got, want):
    """None when equal (ints and bools exactly; floats within rtol 1e-5 plus 1e-5 of the largest
    finite magnitude, NaN where NaN), else a one-line description of the first difference."""
    got, want = np.asarray(got), np.asarray(want)
    if got.shape != want.shape or got.dtype != want.dtype:
        return f"shape/dtype {{got.shape}} {{got.dtype}}, expected {{want.shape}} {{want.dtype}}"
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
    return (f"{{len(bad)}} of {{want.size}} elements differ; first at {{at}}: expected "
            f"{{want[at]!r}}, got {{got[at]!r}}")


def main():
    kernel = vx.compile(pipe, schedule=s, target="opencl")
    for target in TARGETS[1:]:
        vx.compile(pipe, schedule=s, target=target, arch={archs!r}[target])
        print(target, "compiles")
    bad = 0
    for i, sizes in enumerate(SIZES):
        args = arguments(sizes, i)
        pairs = zip(outputs(kernel(**args)), outputs(pipe.reference(**args)))
        for j, (got, want) in enumerate(pairs):
            why = mismatch(got, want)
            print(f"sizes {{sizes}} output {{j}}:", why or "matches the reference")
            bad += why is not None
    return 1 if bad else 0


if __name__ == "__main__":
    import sys
    sys.exit(main())
'''


def run_standalone(ns: dict) -> int:
    """Run a saved case whose module globals ``ns`` hold its ``pipe``, ``s``, ``INPUTS``,
    ``PARAMS``, ``SIZES`` and ``TARGETS`` (the scripts of fuzz/found): the harness's functions
    are defined in ``ns`` and its ``main()`` runs; 0 when the case passes."""
    body = HARNESS[HARNESS.index("\n\ndef arguments"):HARNESS.index("\n\nif __name__")]
    exec(body.format(archs=ARCHS), ns)
    return ns["main"]()


def snippet(alg, schedule_py: str, targets) -> str:
    """The standalone Python of a case (the report prepends a docstring)."""
    harness = HARNESS.format(inputs=alg.inputs, params=alg.params, sizes=alg.sizes,
                             targets=tuple(targets), archs=ARCHS)
    return ("import numpy as np\n\nimport vortex as vx\n\n" + alg.source + "\n"
            + schedule_py + harness)


def frames(e: BaseException, n: int = 4) -> list:
    """The last ``n`` traceback frames as 'file:line in func: code'."""
    out = []
    for fr in traceback.extract_tb(e.__traceback__)[-n:]:
        path = fr.filename.split("/main/")[-1]
        out.append(f"{path}:{fr.lineno} in {fr.name}: {(fr.line or '').strip()}")
    return out


def failure(phase: str, e: BaseException) -> dict:
    msg = str(e).strip() or repr(e)
    if isinstance(e, vx.CompileError):
        cls = "compile-fail"
        errs = [ln.strip() for ln in msg.splitlines() if "error" in ln.lower()]
        msg = "\n".join((errs or msg.splitlines())[:3])
    elif isinstance(e, vx.VortexError):
        cls = "refused"
    else:
        cls = "non-vortex"
    return {"class": cls, "kind": type(e).__name__, "phase": phase,
            "message": msg.splitlines()[0][:300] if cls != "compile-fail" else msg[:600],
            "frames": frames(e) if cls == "non-vortex" else []}


def pick(seed, index: int) -> tuple:
    """(rng, algorithm, schedule maker) of case (seed, index): a share ``mma.SHARE`` of the
    cases, drawn from their own stream, are sum-of-products pipelines with mma schedules
    (:mod:`fuzz.mma`); the others are what they were before mma cases existed."""
    own = random.Random(f"{seed}:{index}:mma")
    if own.random() < mma.SHARE:
        return own, mma.generate(own), mma.schedule
    rng = random.Random(f"{seed}:{index}")
    return rng, generate(rng), generate_schedule


def run_case(seed, index: int, hip: bool, send) -> None:
    """Run case (seed, index); ``send(kind, payload)`` reports phases ("phase"), the snippet
    ("snippet"), and the end ("done", {"failures": [...], "refused_directives": n})."""
    rng, alg, make_schedule = pick(seed, index)
    failures, seconds = [], {}
    ns = {"vx": vx, "np": np, "__name__": "fuzz_case"}

    def step(phase, fn):
        send("phase", phase)
        t0 = time.perf_counter()
        try:
            return True, fn()
        except Exception as e:  # noqa: BLE001 - classifying every exception is the point
            failures.append(failure(phase, e))
            return False, None
        finally:
            key = phase.split(" sizes")[0]
            seconds[key] = seconds.get(key, 0.0) + time.perf_counter() - t0

    refused = 0
    targets = list(alg.targets) or ["opencl", "cuda"] + (["hip"] if hip else [])
    ok, _ = step("pipeline", lambda: exec(alg.source, ns))
    if ok:
        ok, built = step("schedule", lambda: make_schedule(rng, ns["pipe"], alg))
    src = snippet(alg, built[0].to_python() if ok else "s = None\n", targets)
    send("snippet", src)
    if ok:       # run what the snippet runs: the schedule rebuilt from its to_python()
        ok, _ = step("schedule", lambda: exec(built[0].to_python(), ns))
    if ok:
        refused = built[1]
        if ns["s"] != built[0]:
            failures.append({"class": "non-vortex", "kind": "ScheduleRoundTrip", "phase":
                             "schedule", "message": "to_python() does not rebuild the schedule",
                             "frames": []})
        exec(compile(src[src.index("\nINPUTS ="):], "<harness>", "exec"), ns)
        pipe, s = ns["pipe"], ns["s"]
        args = [ns["arguments"](sizes, i) for i, sizes in enumerate(alg.sizes)]
        ok, refs = step("reference", lambda: [ns["outputs"](pipe.reference(**a)) for a in args])
    if ok:
        ok, kernel = step("compile opencl", lambda: vx.compile(pipe, schedule=s, target="opencl"))
    if ok:
        for t in targets[1:]:
            step(f"compile {t}", lambda: vx.compile(pipe, schedule=s, target=t, arch=ARCHS[t]))
        for i, (a, want) in enumerate(zip(args, refs)):
            ok, got = step(f"run opencl sizes {alg.sizes[i]}", lambda: ns["outputs"](kernel(**a)))
            if not ok:
                break
            for j, (g, w) in enumerate(zip(got, want)):
                why = ns["mismatch"](g, w)
                if why:
                    failures.append({"class": "wrong", "kind": "WRONG", "phase": f"run opencl "
                                     f"sizes {alg.sizes[i]}", "message": f"output {j}: {why}",
                                     "frames": []})
    ran = [d.name for _, ds in ns["s"].ordered() for d in ds] if "run opencl" in seconds else []
    send("done", {"failures": failures, "refused_directives": refused, "seconds": seconds,
                  "directives": ran})
