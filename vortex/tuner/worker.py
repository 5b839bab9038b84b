"""The trial worker: a separate Python process that compiles, verifies and times schedules.

Started by :class:`vortex.tuner.runner.DeviceRunner` (``python -c "…worker.main()"``). It reads
requests from stdin and writes replies to its original stdout (anything printed, by Python or by
a driver, goes to stderr instead), each message a length-prefixed pickle:

- ``{"setup": {...}}`` once: pipeline, inputs, expected outputs, target, device, timing;
- ``{"directives": {...}, "params": {...}}`` per trial → ``{"status", "ms", "reason"}``.

A crash (a faulting kernel, a compiler that aborts) or a hang kills only this process; the
parent records the trial as failed and starts a new worker. The worker ignores SIGINT (Ctrl-C
stops the parent after the current trial) and exits when its stdin closes.

Test-only fault hook: ``VORTEX_TUNER_FAULT="hang:TI=8;crash:TI=16,U=2;wrong:TI=4"`` makes a
trial whose params match every ``name=value`` hang, crash (SIGSEGV) or return a wrong result,
right after its kernel ran.
"""
from __future__ import annotations

import os
import pickle
import signal
import struct
import sys
import time

import numpy as np

FAULT_ENV = "VORTEX_TUNER_FAULT"
_HEADER = struct.Struct("<Q")


def send(fh, message) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:                      # a raw pipe may take part of a large message per call
        view = view[fh.write(view):]
    fh.flush()


def _read_exactly(fh, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = fh.read(left)
        if not chunk:
            raise EOFError("the other end closed the pipe")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def recv(fh):
    (n,) = _HEADER.unpack(_read_exactly(fh, _HEADER.size))
    return pickle.loads(_read_exactly(fh, n))


# ---- fault injection (tests) ---------------------------------------------------------------

def _hang(outs):
    while True:
        time.sleep(3600)


def _crash(outs):
    import ctypes
    ctypes.string_at(0)         # a real segmentation fault: reads address 0
    os.abort()


FAULTS = {"hang": _hang, "crash": _crash, "wrong": lambda outs: tuple(o + 1 for o in outs)}


def _faults(spec: str) -> list:
    """``"hang:TI=8;crash:TI=16,U=2"`` → [("hang", {"TI": "8"}), ("crash", {...})]."""
    out = []
    for item in filter(None, (s.strip() for s in spec.split(";"))):
        kind, _, conds = item.partition(":")
        pairs = dict(c.split("=", 1) for c in conds.split(",") if "=" in c)
        out.append((kind.strip(), {k.strip(): v.strip() for k, v in pairs.items()}))
    return out


def inject_fault(params: dict, outs: tuple) -> tuple:
    for kind, conds in _faults(os.environ.get(FAULT_ENV, "")):
        if kind in FAULTS and all(str(params.get(k)) == v for k, v in conds.items()):
            outs = FAULTS[kind](outs)
    return outs


# ---- one trial -------------------------------------------------------------------------------

def _mismatch(outs, expected, tol: float):
    """A message when an output differs from the reference beyond ``tol``, else None."""
    for i, (o, r) in enumerate(zip(outs, expected)):
        o, r = np.asarray(o), np.asarray(r)
        if o.shape != r.shape:
            return f"output {i} has shape {o.shape}, the reference {r.shape}"
        if r.dtype.kind in "fc":
            scale = max(1.0, float(np.max(np.abs(r)))) if r.size else 1.0
            ok = np.allclose(o, r, rtol=tol, atol=tol * scale, equal_nan=True)
        else:
            ok = np.array_equal(o, r)
        if not ok:
            err = np.max(np.abs(o.astype(np.float64) - r.astype(np.float64)))
            return f"wrong result: output {i} differs from pipe.reference (max |error| = {err:.3g})"
    return None


def run_trial(setup: dict, directives: dict, params: dict) -> dict:
    import vortex as vx
    from vortex.schedule import Schedule
    pipe, inputs = setup["pipe"], setup["inputs"]
    try:
        kernel = vx.compile(pipe, schedule=Schedule(pipe, directives), target=setup["target"],
                            device=setup["device"], arch=setup.get("arch"))
    except vx.CompileError as e:
        return {"status": "compile_error", "ms": None, "reason": str(e)[:2000]}
    except vx.VortexError as e:
        return {"status": "error", "ms": None, "reason": f"{type(e).__name__}: {e}"[:2000]}
    out = kernel(**inputs)
    outs = inject_fault(params, out if isinstance(out, tuple) else (out,))
    wrong = _mismatch(outs, setup["expected"], setup["tol"])
    if wrong:
        return {"status": "wrong", "ms": None, "reason": wrong}
    ms = kernel.time(warmup=setup["warmup"], repeat=setup["repeat"], **inputs)
    return {"status": "ok", "ms": float(ms), "reason": ""}


def main() -> int:
    import faulthandler
    faulthandler.enable()           # a crash leaves a Python traceback in the trial's reason
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())     # stray prints must not corrupt replies
    requests = sys.stdin.buffer
    try:
        setup = recv(requests)["setup"]
        import vortex  # noqa: F401 - import (and driver start-up) before saying ready
        send(replies, {"ready": os.getpid()})
        while True:
            request = recv(requests)
            try:
                reply = run_trial(setup, request["directives"], request["params"])
            except Exception as e:  # noqa: BLE001 - any failure is this trial's, not the study's
                reply = {"status": "error", "ms": None, "reason": f"{type(e).__name__}: {e}"[:2000]}
            send(replies, reply)
    except EOFError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
