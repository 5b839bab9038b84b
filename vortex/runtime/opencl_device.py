"""OpenCL devices: listing, selection, identity (cache keys, schedule-file names), launch limits,
one context and one profiling queue per device.

Selection order: the ``device=`` argument, else the ``VORTEX_OPENCL_DEVICE`` environment variable,
else the first usable GPU, else the first usable PoCL CPU device (the newest PoCL first), else the
first usable device.
A selector is a ``pyopencl.Device``, an int index into :func:`all_devices`, or a string matched
case-insensitively as a substring of ``"<platform name>: <device name>"``. "Usable" means a
one-line kernel builds: some driver builds cannot compile for the host (e.g. an old PoCL whose
LLVM does not know the CPU and fails with "unknown target CPU 'generic'"); an explicit selector
is taken as is. :func:`runs_wide_vectors` is the stronger check ``install.sh`` makes in a
subprocess: pip's PoCL 3.0 (LLVM 14) on an AVX-512 CPU LLVM 14 does not know (AMD Zen 4)
compiles kernels without AVX-512 but links its AVX-512 kernel library, so a built-in called on
a 16-wide vector crashes the process (clang warns "AVX vector argument … without 'avx512f'
enabled changes the ABI"); Debian's PoCL then serves, and is preferred as the newer one.
"""
from __future__ import annotations

import os
import re

import numpy as np
import pyopencl as cl

from .. import devices, errors
from .limits import Limits

ENV_VAR = "VORTEX_OPENCL_DEVICE"
INSTALL_HINT = ('install an OpenCL driver: pip install "pyopencl[pocl]" (PoCL, CPU), or on '
                "Debian/Ubuntu apt-get install pocl-opencl-icd, or your GPU vendor's OpenCL ICD")
_POCL = "portable computing language"
_PROBE = "__kernel void vortex_probe(__global int *a) { a[get_global_id(0)] = 1; }"
# 16-wide vectors through library built-ins (min, exp, all): what Vortex's vector code calls.
_WIDE_PROBE = """__kernel void vortex_wide_probe(__global int *a, __global float *f) {
  int16 v = vload16(0, a); float16 x = vload16(0, f);
  v = min(v, (int16)(7)); x = exp(x);
  if (all(v <= (int16)(7))) { vstore16(v, 0, a); vstore16(x, 0, f); }
}"""

# PoCL 3.1 (Debian's) compiles a kernel with barriers inside loops by its "CBS" work-group method,
# which fails an assertion (ParallelRegion::Verify: "Incoming edges to non-entry block!", the
# process aborts) on valid kernels Vortex prints: a staged, pipelined loop inside both branches
# of a uniform `specialize` test (fuzz case ci:91). Its loop-based method, PoCL 3.0's default,
# compiles them. Asked for unless the user chose a method; read when PoCL compiles a kernel.
os.environ.setdefault("POCL_WORK_GROUP_METHOD", "loopvec")

_queues: dict = {}    # device_key -> (Context, CommandQueue)
_usable: dict = {}    # device_key -> bool


def all_devices() -> list:
    """Every device of every OpenCL platform, in platform order (empty if there is no driver)."""
    try:
        platforms = cl.get_platforms()
    except cl.Error:
        return []
    devices = []
    for p in platforms:
        try:
            devices.extend(p.get_devices())
        except cl.Error:  # a platform without devices raises DEVICE_NOT_FOUND
            continue
    return devices


def describe(device) -> str:
    """``"<platform name>: <device name>"``, the string selectors are matched against."""
    return f"{device.platform.name.strip()}: {device.name.strip()}"


def list_devices() -> list[tuple[str, str, str, str]]:
    """(platform, device name, type such as "GPU"/"CPU", OpenCL version) of every device."""
    return [(d.platform.name.strip(), d.name.strip(), _kind(d), d.version.strip())
            for d in all_devices()]


def _kind(device) -> str:
    for kind in ("GPU", "CPU", "ACCELERATOR"):
        if device.type & getattr(cl.device_type, kind):
            return kind
    return cl.device_type.to_string(device.type)


def device_key(device) -> str:
    """Stable identity ``"platform|device|driver_version|opencl_version"`` for compile caches,
    tuning databases and schedule lookup."""
    return "|".join(s.strip() for s in (device.platform.name, device.name,
                                        device.driver_version, device.version))


def is_pocl_cpu(device) -> bool:
    return _POCL in device.platform.name.lower() and bool(device.type & cl.device_type.CPU)


def device_slug(device) -> str:
    """Filesystem-safe lowercase name for ``schedules/<pipeline>/<slug>.toml``: ``"pocl-cpu"`` for
    every PoCL CPU device (one committed file serves any CPU machine), else the device name
    slugified by :func:`vortex.devices.slug` (``"NVIDIA GeForce RTX 4090"`` →
    ``"nvidia-geforce-rtx-4090"``)."""
    if is_pocl_cpu(device):
        return "pocl-cpu"
    return devices.slug(device.name) or "opencl-device"


def device_family(device) -> str:
    """The stem the tuner writes schedule files under: ``"pocl-cpu"``, else the family of the
    name (:func:`vortex.devices.family`: ``"NVIDIA H100 PCIe"`` → ``"nvidia-h100"``)."""
    if is_pocl_cpu(device):
        return "pocl-cpu"
    return devices.family(device.name) or "opencl-device"


def device_limits(device) -> Limits:
    """The launch limits of ``device`` (checked by ``vortex.runtime.limits.check_launches``
    before any build): threads per block ``CL_DEVICE_MAX_WORK_GROUP_SIZE``, per axis
    ``CL_DEVICE_MAX_WORK_ITEM_SIZES``, local (shared) bytes per block ``CL_DEVICE_LOCAL_MEM_SIZE``;
    the grid only by the kernels' int32 indices (2**31 - 1 blocks per axis)."""
    return Limits(describe(device), int(device.max_work_group_size),
                  tuple(int(s) for s in device.max_work_item_sizes), int(device.local_mem_size),
                  (2 ** 31 - 1,) * 3)


def context_queue(device):
    """The (Context, CommandQueue with profiling) Vortex uses for ``device``, made once."""
    key = device_key(device)
    if key not in _queues:
        ctx = cl.Context([device])
        queue = cl.CommandQueue(ctx, device,
                                properties=cl.command_queue_properties.PROFILING_ENABLE)
        _queues[key] = (ctx, queue)
    return _queues[key]


def select_device(device=None):
    """The pyopencl.Device for a selector (see the module docstring).
    Raises vx.DeviceError when there is no device, or none matches (listing the devices)."""
    if isinstance(device, cl.Device):
        return device
    devices = all_devices()
    if not devices:
        raise errors.DeviceError(f"no OpenCL device found; {INSTALL_HINT}")
    where = "device="
    if device is None and os.environ.get(ENV_VAR, "").strip():
        device, where = os.environ[ENV_VAR].strip(), f"${ENV_VAR}"
    if device is None:
        return _default(devices)
    return _match(device, devices, where)


def _match(selector, devices, where):
    if isinstance(selector, str) and selector.isdigit():
        selector = int(selector)
    if isinstance(selector, int) and not isinstance(selector, bool):
        if 0 <= selector < len(devices):
            return devices[selector]
    elif isinstance(selector, str):
        s = selector.lower()
        exact = [d for d in devices if s in (describe(d).lower(), d.name.strip().lower())]
        partial = [d for d in devices if s in describe(d).lower()]
        if exact or partial:
            return (exact or partial)[0]
    else:
        raise errors.DeviceError(f"{where} must be a pyopencl.Device, an index or a name, "
                                 f"got {type(selector).__name__}")
    listing = "\n".join(f"  {i}: {describe(d)} ({_kind(d)})"
                        for i, d in enumerate(devices))
    raise errors.DeviceError(f"no OpenCL device matches {where}{selector!r}; available devices "
                             f"(select by index or by a part of the name):\n{listing}")


def pocl_version(device) -> tuple:
    """(major, minor) of a PoCL platform (``"OpenCL 3.0 PoCL 3.1+debian …"``), () otherwise."""
    m = re.search(r"PoCL (\d+)\.(\d+)", device.platform.version)
    return (int(m[1]), int(m[2])) if m else ()


def _default(devices):
    def rank(d):
        kind = 0 if d.type & cl.device_type.GPU else 1 if is_pocl_cpu(d) else 2
        return kind, tuple(-v for v in pocl_version(d))
    ordered = sorted(devices, key=rank)  # stable: platform order within a rank
    return next((d for d in ordered if usable(d)), ordered[0])


def usable(device) -> bool:
    """Whether ``device`` builds a one-line kernel (probed once per process)."""
    key = device_key(device)
    if key not in _usable:
        try:
            ctx, _ = context_queue(device)
            cl.Program(ctx, _PROBE).build(devices=[device])
            _usable[key] = True
        except cl.Error:
            _usable[key] = False
    return _usable[key]


def runs_wide_vectors(device) -> bool:
    """Whether ``device`` runs built-ins on 16-wide vectors correctly. A PoCL whose compiler and
    kernel library disagree on AVX-512 crashes the calling process here (module docstring):
    call it in a subprocess."""
    ctx, queue = context_queue(device)
    a = np.arange(-8, 8, dtype=np.int32)
    f = np.linspace(-1, 1, 16, dtype=np.float32)
    mf = cl.mem_flags
    ba = cl.Buffer(ctx, mf.READ_WRITE | mf.COPY_HOST_PTR, hostbuf=a)
    bf = cl.Buffer(ctx, mf.READ_WRITE | mf.COPY_HOST_PTR, hostbuf=f)
    prog = cl.Program(ctx, _WIDE_PROBE).build(devices=[device])
    prog.vortex_wide_probe(queue, (1,), (1,), ba, bf)
    out_a, out_f = np.empty_like(a), np.empty_like(f)
    cl.enqueue_copy(queue, out_a, ba)
    cl.enqueue_copy(queue, out_f, bf)
    queue.finish()
    return bool(np.array_equal(out_a, np.minimum(a, 7)) and
                np.allclose(out_f, np.exp(f), rtol=1e-5))
