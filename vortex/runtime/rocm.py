"""ctypes bindings to ROCm's ``libamdhip64``: hiprtc (run-time compilation), the HIP runtime
calls Vortex launches with, and comgr's list of the GPU architectures it can compile for.

No Python package is needed: ROCm ships the C libraries (Debian/Ubuntu: ``apt-get install
libamdhip64-dev libhiprtc-builtins5 rocm-device-libs libamd-comgr-dev``; AMD's ROCm installs them
in ``/opt/rocm/lib``). hiprtc's entry points are exported from libamdhip64 itself up to ROCm 5.x
and from ``libhiprtc.so`` from ROCm 6 on; both are searched. The C API is the one of
``hip/hiprtc.h`` and ``hip/hip_runtime_api.h`` (ROCm HIP documentation, "HIP RTC programming
guide"). Nothing here raises Vortex errors: failures are :class:`HipCallError`, which
``vortex.runtime.hip`` turns into ``vx.DeviceError``.

hiprtc and comgr run in a child process (this file run as a script, stdlib only), never in the
caller's: comgr's LLVM and PoCL's LLVM abort a process that loads both ("CommandLine Error:
Option '…' registered more than once"), in either order, and ROCm 5.2's hiprtc aborts the
process it runs in when asked for an architecture its comgr does not know (gfx940/942,
gfx1100; :attr:`Hip.toolchain` lists the known ones, checked before compiling). Measured with
Debian's ROCm 5.2 (hiprtc 9.0, comgr 2.4), which also crashes when given extra headers
(``numHeaders > 0``)."""
from __future__ import annotations

import base64
import ctypes
import ctypes.util
import functools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

__all__ = ["HipCallError", "Hip", "library", "find_library", "device_arch"]

_P, _VP, _CP, _SZ = ctypes.POINTER, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t
_I, _U, _F = ctypes.c_int, ctypes.c_uint, ctypes.c_float

_SIGNATURES = {  # name: (argtypes, restype); restype None means an int status code
    "hiprtcVersion": ((_P(_I), _P(_I)), None),
    "hiprtcGetErrorString": ((_I,), _CP),
    "hiprtcCreateProgram": ((_P(_VP), _CP, _CP, _I, _P(_CP), _P(_CP)), None),
    "hiprtcCompileProgram": ((_VP, _I, _P(_CP)), None),
    "hiprtcGetProgramLogSize": ((_VP, _P(_SZ)), None),
    "hiprtcGetProgramLog": ((_VP, _CP), None),
    "hiprtcGetCodeSize": ((_VP, _P(_SZ)), None),
    "hiprtcGetCode": ((_VP, _CP), None),
    "hiprtcDestroyProgram": ((_P(_VP),), None),
    "hipGetErrorString": ((_I,), _CP),
    "hipInit": ((_U,), None),
    "hipRuntimeGetVersion": ((_P(_I),), None),
    "hipGetDeviceCount": ((_P(_I),), None),
    "hipSetDevice": ((_I,), None),
    "hipDeviceGetName": ((_CP, _I, _I), None),
    "hipGetDeviceProperties": ((_VP, _I), None),
    "hipModuleLoadData": ((_P(_VP), _CP), None),
    "hipModuleUnload": ((_VP,), None),
    "hipModuleGetFunction": ((_P(_VP), _VP, _CP), None),
    "hipMalloc": ((_P(_VP), _SZ), None),
    "hipFree": ((_VP,), None),
    "hipMemcpyHtoD": ((_VP, _VP, _SZ), None),
    "hipMemcpyDtoH": ((_VP, _VP, _SZ), None),
    "hipModuleLaunchKernel": ((_VP, _U, _U, _U, _U, _U, _U, _U, _VP, _P(_VP), _P(_VP)), None),
    "hipDeviceSynchronize": ((), None),
    "hipEventCreate": ((_P(_VP),), None),
    "hipEventRecord": ((_VP, _VP), None),
    "hipEventSynchronize": ((_VP,), None),
    "hipEventElapsedTime": ((_P(_F), _VP, _VP), None),
    "hipEventDestroy": ((_VP,), None),
}
_GFX = re.compile(rb"gfx[0-9a-f]{3,4}(?::[a-z]+[+-])*")


class HipCallError(Exception):
    """A HIP or hiprtc call returned a non-zero status: ``function``, ``code``, ``name``."""

    def __init__(self, function: str, code: int, name: str):
        super().__init__(f"{function} failed: {name} ({code})")
        self.function, self.code, self.name = function, code, name


def _search_dirs() -> list[Path]:
    roots = [os.environ.get("ROCM_PATH", ""), os.environ.get("HIP_PATH", ""), "/opt/rocm"]
    return [Path(r) / "lib" for r in roots if r] + [
        Path("/usr/lib/x86_64-linux-gnu"), Path("/usr/lib64"), Path("/usr/lib")]


def _find(stem: str, versions: tuple) -> str | None:
    for d in _search_dirs():
        for v in versions:
            path = d / f"{stem}.so{v}"
            if path.exists():
                return str(path)
    name = ctypes.util.find_library(stem.removeprefix("lib"))
    return name


def find_library() -> str | None:
    """Path (or soname) of libamdhip64, searched in ``$ROCM_PATH/lib``, ``$HIP_PATH/lib``,
    ``/opt/rocm/lib``, the system library directories, then the linker's cache; None if absent."""
    return _find("libamdhip64", ("", ".7", ".6", ".5"))


class Hip:
    """The loaded libraries. ``call(name, *args)`` runs a HIP/hiprtc function and raises
    HipCallError on a non-zero status; the other methods are the few sequences Vortex needs.
    hiprtc's functions are bound only with ``rtc=True`` (in the child process)."""

    def __init__(self, path: str, rtc: bool = False):
        self.path = path
        self.lib = ctypes.CDLL(path)
        rtc_lib = self.lib
        if rtc and not hasattr(rtc_lib, "hiprtcCreateProgram"):   # ROCm >= 6: libhiprtc.so
            rtc_path = _find("libhiprtc", ("", ".7", ".6"))
            if rtc_path is None:
                raise OSError(f"{path} has no hiprtc and libhiprtc.so was not found")
            rtc_lib = ctypes.CDLL(rtc_path)
        self._fns = {}
        for name, (argtypes, restype) in _SIGNATURES.items():
            if name.startswith("hiprtc") and not rtc:
                continue
            owner = rtc_lib if name.startswith("hiprtc") else self.lib
            fn = getattr(owner, name, None)
            if name == "hipGetDeviceProperties":   # ROCm 6 versions the struct
                fn = getattr(owner, "hipGetDevicePropertiesR0600", None) or fn
            if fn is not None:
                fn.argtypes, fn.restype = argtypes, restype or _I
                self._fns[name] = fn
        self._initialized: tuple | None = None

    def call(self, name: str, *args):
        fn = self._fns[name]
        status = fn(*args)
        if status != 0:
            table = "hiprtcGetErrorString" if name.startswith("hiprtc") else "hipGetErrorString"
            text = self._fns[table](status)
            raise HipCallError(name, status, text.decode() if text else "unknown error")
        return status

    # ---- versions ------------------------------------------------------------------------------
    @functools.cached_property
    def toolchain(self) -> dict:
        """``{"hiprtc": version, "comgr": version, "archs": [gfx archs comgr can compile
        for]}``, asked once in a child process; comgr's fields are empty when it cannot be
        loaded (then no arch is checked)."""
        return _in_child({"op": "about", "library": self.path})

    def hiprtc_version(self) -> str:
        return self.toolchain.get("hiprtc", "unknown")

    def runtime_version(self) -> str:
        v = _I()
        self.call("hipRuntimeGetVersion", ctypes.byref(v))
        return f"{v.value // 10_000_000}.{v.value // 100_000 % 100}.{v.value % 100_000}"

    # ---- hiprtc --------------------------------------------------------------------------------
    def compile(self, source: str, name: str, options) -> tuple[bytes | None, str]:
        """Compile HIP C++ ``source`` in a child process: (code object bytes, log), or
        (None, log) when the compiler rejected it or died."""
        reply = _in_child({"op": "compile", "library": self.path, "source": source,
                           "name": name, "options": list(options)})
        code = reply.get("code")
        return (base64.b64decode(code) if code else None), reply["log"]

    def _compile_here(self, source: str, name: str, options) -> tuple[bytes | None, str]:
        prog = _VP()
        self.call("hiprtcCreateProgram", ctypes.byref(prog), source.encode(), name.encode(), 0,
                  None, None)
        try:
            opts = [o.encode() for o in options]
            status = self._fns["hiprtcCompileProgram"](prog, len(opts), (_CP * len(opts))(*opts))
            size = _SZ()
            self.call("hiprtcGetProgramLogSize", prog, ctypes.byref(size))
            log = ctypes.create_string_buffer(size.value + 1)
            self.call("hiprtcGetProgramLog", prog, log)
            text = log.value.decode(errors="replace")
            if status != 0:
                return None, text or self._fns["hiprtcGetErrorString"](status).decode()
            self.call("hiprtcGetCodeSize", prog, ctypes.byref(size))
            code = ctypes.create_string_buffer(size.value)
            self.call("hiprtcGetCode", prog, code)
            return code.raw, text
        finally:
            self._fns["hiprtcDestroyProgram"](ctypes.byref(prog))

    # ---- devices -------------------------------------------------------------------------------
    def devices(self) -> tuple[list, str]:
        """([(index, name, gcn arch name), …], reason when the list is empty)."""
        if self._initialized is None:
            count = _I(0)
            try:
                self.call("hipGetDeviceCount", ctypes.byref(count))
                if count.value:
                    self.call("hipInit", 0)
                found = [(i, *self._describe(i)) for i in range(count.value)]
                self._initialized = (found, "" if found else "hipGetDeviceCount found 0 devices")
            except HipCallError as e:
                self._initialized = ([], str(e))
        return self._initialized

    def _describe(self, index: int) -> tuple[str, str]:
        name = ctypes.create_string_buffer(256)
        self.call("hipDeviceGetName", name, 256, index)
        props = ctypes.create_string_buffer(16384)   # larger than any hipDeviceProp_t
        self.call("hipGetDeviceProperties", props, index)
        return name.value.decode(errors="replace"), device_arch(props.raw)


def device_arch(props: bytes) -> str:
    """``gcnArchName`` ("gfx90a:sramecc+:xnack-") from raw ``hipDeviceProp_t`` bytes; the field
    is found by its content because its offset changes between ROCm releases."""
    m = _GFX.search(props)
    return m.group(0).decode() if m else "unknown"


@functools.lru_cache(maxsize=None)
def library() -> Hip | None:
    """The process-wide :class:`Hip`, or None when libamdhip64 is not installed."""
    path = find_library()
    if path is None:
        return None
    try:
        return Hip(path)
    except OSError:
        return None


def _comgr_archs() -> tuple[str, list]:
    path = _find("libamd_comgr", (".3", ".2", ""))
    try:
        comgr = ctypes.CDLL(path) if path else None
    except OSError:
        comgr = None
    if comgr is None or not hasattr(comgr, "amd_comgr_get_isa_count"):
        return "", []
    count, major, minor = _SZ(), _SZ(), _SZ()
    comgr.amd_comgr_get_version(ctypes.byref(major), ctypes.byref(minor))
    comgr.amd_comgr_get_isa_name.argtypes = (_SZ, _P(_CP))
    comgr.amd_comgr_get_isa_count(ctypes.byref(count))
    names = []
    for i in range(count.value):
        isa = _CP()
        if comgr.amd_comgr_get_isa_name(i, ctypes.byref(isa)) == 0 and isa.value:
            names.append(isa.value.decode().rsplit("--", 1)[-1].split(":")[0])
    return f"{major.value}.{minor.value}", list(dict.fromkeys(names))


def _in_child(request: dict, timeout: float = 600) -> dict:
    """Run ``request`` through :func:`_serve` in ``python -I <this file>``; a child that dies
    or hangs gives ``{"log": why}``."""
    try:
        proc = subprocess.run([sys.executable, "-I", __file__], input=json.dumps(request),
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"log": f"hiprtc did not finish within {timeout:.0f} s"}
    if proc.returncode != 0:
        how = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit {proc.returncode}"
        return {"log": f"the hiprtc process died ({how}):\n{proc.stderr.strip()[-3000:]}"}
    return json.loads(proc.stdout)


def _serve(request: dict) -> dict:
    hip = Hip(request["library"], rtc=True)
    if request["op"] == "about":
        major, minor = _I(), _I()
        hip.call("hiprtcVersion", ctypes.byref(major), ctypes.byref(minor))
        comgr, archs = _comgr_archs()
        return {"hiprtc": f"{major.value}.{minor.value}", "comgr": comgr, "archs": archs}
    code, log = hip._compile_here(request["source"], request["name"], request["options"])
    return {"code": base64.b64encode(code).decode() if code else None, "log": log}


if __name__ == "__main__":   # the child process of _in_child
    sys.stdout.write(json.dumps(_serve(json.load(sys.stdin))))
