"""``vortex info``: what this machine can compile and run (the first thing to run when
something is missing)."""
from __future__ import annotations

import importlib

from .versions import package_version  # noqa: F401 - also public here


def report() -> str:
    import vortex
    lines = [f"vortex {vortex.__version__}", "", "OpenCL (target 'opencl'):",
             f"  pyopencl {package_version('pyopencl')}"]
    try:
        from .runtime.opencl_device import all_devices, describe, usable
        devices = all_devices()
        if not devices:
            lines.append("  no OpenCL device: pip install \"pyopencl[pocl]\" (CPU) or a GPU driver")
        for d in devices:
            state = "usable" if usable(d) else "NOT usable (cannot build kernels)"
            lines.append(f"  - {describe(d)} [{d.version}] {state}")
    except Exception as e:  # noqa: BLE001 - report, don't crash
        lines.append(f"  unavailable: {e}")
    for title, module in (("CUDA (target 'cuda')", "cuda"), ("HIP (target 'hip')", "hip")):
        lines += ["", f"{title}:"]
        try:
            mod = importlib.import_module(f"vortex.runtime.{module}")
            lines += list(mod.info())
        except Exception as e:  # noqa: BLE001 - report, don't crash
            lines.append(f"  unavailable: {e}")
    return "\n".join(lines)
