"""What the benchmarks in this folder share: timing (ms), output checks and the header lines.

The scripts are run as ``python benchmarks/X.py``; each puts its own folder on ``sys.path``
and imports this module as ``common``.
"""
import datetime
import os
import statistics
import time

import numpy as np

from vortex.info import package_version as version  # installed version, or "not installed"


# ---- timing ---------------------------------------------------------------------------------
def wall_ms(fn) -> float:
    """Wall-clock milliseconds of one call of ``fn()``."""
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e3


def median_ms(fn, repeat: int, warmup: int = 3) -> float:
    """Median wall-clock milliseconds of ``fn()`` over ``repeat`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    return statistics.median([wall_ms(fn) for _ in range(repeat)])


def event_ms(event) -> float:
    """Device milliseconds of a finished OpenCL event (profiling start to end)."""
    return (event.profile.end - event.profile.start) * 1e-6


# ---- checks ---------------------------------------------------------------------------------
def check(name: str, out, ref, *, rtol: float = 0.0, atol: float = 0.0, relative: bool = False,
          versus: str | None = "numpy", width: int = 16, digits: int = 2) -> float:
    """Compare ``out`` with ``ref`` (``np.allclose(out, ref, rtol, atol)``), print the line
    ``check NAME max |error| [vs VERSUS] = E  ok|FAIL`` and raise AssertionError on FAIL.

    relative: report max |error| / |ref| ("max rel. error") instead of max |error|.
    versus: what ``ref`` is, named in the line (None: not named; "the reference" in errors).
    width: the column NAME is padded to; digits: of E. Returns E."""
    out = np.asarray(out).reshape(np.shape(ref))
    diff = np.abs(out - ref)
    err = float(np.max(diff / np.abs(ref) if relative else diff))
    ok = bool(np.allclose(out, ref, rtol=rtol, atol=atol))
    measure = "max rel. error" if relative else "max |error|"
    vs = f" vs {versus}" if versus else ""
    print(f"  check {name:<{width}} {measure}{vs} = {err:.{digits}e}  {'ok' if ok else 'FAIL'}")
    if not ok:
        raise AssertionError(f"{name}: output differs from {versus or 'the reference'} "
                             f"({measure} {err:.{digits}e})")
    return err


def reason(e: Exception, limit: int) -> str:
    """The note of a row that could not run: the exception's type and first line (cut)."""
    first = (str(e).strip().splitlines() or [""])[0][:limit]
    return f"{type(e).__name__}: {first}"


# ---- header ---------------------------------------------------------------------------------
def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo ("?" where it has none)."""
    with open("/proc/cpuinfo") as f:
        return next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")),
                    "?")


def machine(device) -> list[str]:
    """The date, cpu and opencl header lines; ``device``: the pyopencl Device benchmarked."""
    from vortex.runtime.opencl_device import describe
    return [
        f"date      {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"cpu       {cpu_model()} ({os.cpu_count()} logical cores)",
        f"opencl    {describe(device)} (driver {device.driver_version.strip()})",
        blas_line(),
    ]


def blas_line() -> str:
    """numpy's BLAS as threadpoolctl reports it (library, version, the kernel it chose for
    this CPU — ``architecture`` — and its threads) and whether OPENBLAS_CORETYPE /
    OPENBLAS_L2_SIZE override that choice (they slow OpenBLAS ~2× on this machine: unset
    them for the command that runs a benchmark)."""
    forced = [v for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if v in os.environ]
    env = f"; set: {', '.join(forced)}" if forced else ""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return f"blas      unknown (pip install threadpoolctl){env}"
    libs = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    if not libs:
        return f"blas      none reported by threadpoolctl{env}"
    return "blas      " + "; ".join(
        f"{i.get('internal_api')} {i.get('version')}, kernel {i.get('architecture')}, "
        f"{i.get('num_threads')} threads" for i in libs) + env


def versions(packages, **others: str) -> str:
    """The versions header line: each installed package's version, then ``others`` as given."""
    return "versions  " + ", ".join([f"{p} {version(p)}" for p in packages]
                                    + [f"{p} {v}" for p, v in others.items()])


def load_avg(when: str) -> str:
    """The load-average line, ``when`` = "start" or "end" (of the run)."""
    return "load avg  {:.2f} {:.2f} {:.2f} (1, 5, 15 min) at the {}".format(*os.getloadavg(),
                                                                          when)
