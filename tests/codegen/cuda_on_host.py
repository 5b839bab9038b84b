"""Run a generated CUDA source on the CPU: the numbers of CUDA printing checked without a GPU.

The source is compiled as C++ by the host compiler (``g++``) after a small shim: the CUDA
qualifiers expand to nothing, ``blockIdx``/``threadIdx`` are globals set before each call, the
vector types (``float4``, ``int2``, …) are structs of their components with ``make_*``, and the
math names come from ``<cmath>``. Every (block, thread) runs one after the other, so only
kernels without barriers or shared memory qualify (:func:`run` refuses others). Alignment is
checked too: each vector access (``reinterpret_cast`` to a vector type) must be naturally
aligned in the host buffers, which are allocated 256-byte aligned as ``cuMemAlloc`` does.

The shim covers what the CUDA printer emits for such kernels; a missing name is a compile error
of the host compiler, never a silent difference.
"""
from __future__ import annotations

import ctypes
import hashlib
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from vortex.algorithm.binding import Binding

SHIM = r"""
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <algorithm>
using std::min; using std::max;
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__
#define __launch_bounds__(n)
struct vx_dim3 { int x, y, z; };
static vx_dim3 blockIdx, threadIdx;
static inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
typedef unsigned int uint;
struct float2 { float x, y; };   struct float4 { float x, y, z, w; };
struct int2 { int x, y; };       struct int4 { int x, y, z, w; };
struct uint2 { uint x, y; };     struct uint4 { uint x, y, z, w; };
static inline float2 make_float2(float a, float b) { return {a, b}; }
static inline float4 make_float4(float a, float b, float c, float d) { return {a, b, c, d}; }
static inline int2 make_int2(int a, int b) { return {a, b}; }
static inline int4 make_int4(int a, int b, int c, int d) { return {a, b, c, d}; }
static inline uint2 make_uint2(uint a, uint b) { return {a, b}; }
static inline uint4 make_uint4(uint a, uint b, uint c, uint d) { return {a, b, c, d}; }
static int vx_misaligned = 0;
template <class V, class P> static inline V* vx_vector(P* p) {
  if (reinterpret_cast<std::uintptr_t>(p) % sizeof(V)) vx_misaligned++;
  return (V*)p; }
extern "C" void vx_set_index(int bx, int by, int bz, int tx, int ty, int tz) {
  blockIdx = {bx, by, bz}; threadIdx = {tx, ty, tz}; }
extern "C" int vx_misaligned_accesses(void) { return vx_misaligned; }
"""
_CTYPES = {"float32": ctypes.c_float, "float64": ctypes.c_double, "int32": ctypes.c_int,
           "uint32": ctypes.c_uint, "int64": ctypes.c_longlong}
_CACHE = Path(tempfile.gettempdir()) / "vortex_cuda_on_host"


def host_source(code: str) -> str:
    """The CUDA source ``code`` as host C++ (the shim above; vector casts checked)."""
    body = "\n".join(line for line in code.splitlines() if not line.startswith("#include"))
    body = re.sub(r"reinterpret_cast<(const )?(\w+)\*>\(", r"vx_vector<\1\2>(", body)
    return "#include <cstring>\n" + SHIM + body


def _library(code: str):
    compiler = shutil.which("g++")
    if compiler is None:
        pytest.skip("no host C++ compiler (g++) to run CUDA sources on the CPU")
    text = host_source(code)
    _CACHE.mkdir(exist_ok=True)
    lib = _CACHE / f"{hashlib.sha256(text.encode()).hexdigest()[:20]}.so"
    if not lib.exists():
        src = lib.with_suffix(".cpp")
        src.write_text(text)
        subprocess.run([compiler, "-O1", "-w", "-std=c++17", "-shared", "-fPIC",
                        "-ffp-contract=off", str(src), "-o", str(lib)], check=True)
    return ctypes.CDLL(str(lib))


def _aligned_copy(a: np.ndarray) -> np.ndarray:
    """``a`` in a new buffer whose first element is 256-byte aligned (as cuMemAlloc's)."""
    raw = np.zeros(a.nbytes + 256, np.uint8)
    start = (-raw.ctypes.data) % 256
    out = raw[start:start + a.nbytes].view(a.dtype).reshape(a.shape)
    out[...] = a
    return out


def run(source, dims: dict, arrays: dict) -> dict:
    """Outputs (name → array) of KernelSource ``source`` (CUDA) run on the CPU with the sizes
    ``dims`` (Dim name → int) and the input ``arrays``. Asserts that no vector access was
    misaligned."""
    assert "__syncthreads" not in source.code and "__shared__" not in source.code, \
        "only kernels without barriers or shared memory run on the host"
    lib = _library(source.code)
    bind = Binding(dims, {}, {})
    buffers = {}
    for b in source.buffers:
        shape = tuple(bind.evaluate(e) for e in b.shape)
        init = arrays.get(b.name, np.zeros(shape, b.dtype.np))
        buffers[b.name] = _aligned_copy(np.asarray(init, b.dtype.np).reshape(shape))
    for launch in source.launches:
        fn = getattr(lib, launch.entry)
        args = []
        for name in launch.args:
            if name in buffers:
                args.append(ctypes.c_void_p(buffers[name].ctypes.data))
            else:
                scalar = next(s for s in source.scalars if s.name == name)
                args.append(_CTYPES[scalar.dtype.name](dims[name]))
        grid = [bind.evaluate(g) for g in launch.grid]
        for bz, by, bx in np.ndindex(grid[2], grid[1], grid[0]):
            for tz, ty, tx in np.ndindex(launch.block[2], launch.block[1], launch.block[0]):
                lib.vx_set_index(bx, by, bz, tx, ty, tz)
                fn(*args)
    assert lib.vx_misaligned_accesses() == 0, "a vector access was not naturally aligned"
    return {name: buffers[name] for name in source.outputs}
