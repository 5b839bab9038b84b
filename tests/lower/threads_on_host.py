"""Run a generated CUDA source on the CPU with one host thread per GPU thread: kernels with
barriers, shared memory and warp shuffles checked without a GPU (tests/codegen/cuda_on_host.py
runs the threads one after the other, which only barrier-free kernels allow).

The source is compiled as C++20 by ``g++`` after a shim: ``__shared__`` arrays are ``static``
(one copy, shared by the threads of the block running; blocks run one after the other),
``blockIdx``/``threadIdx`` are ``thread_local``, ``__syncthreads()`` is a ``std::barrier`` over
the block's threads, and ``__shfl_xor_sync(mask, v, m, w)`` exchanges values through a slot per
thread between two barriers (valid because the expansion of a cross-thread reduction runs every
shuffle in every thread of the block: vortex/lower/thread_reduce.py). A segment of ``w`` lanes
is ``w`` consecutive flat thread ids (x fastest), as in a warp.
"""
from __future__ import annotations

import ctypes
import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from vortex.algorithm.binding import Binding

SHIM = r"""
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>
#include <algorithm>
using std::min; using std::max;
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__
#define __launch_bounds__(n)
#define __shared__ static
struct vx_dim3 { int x, y, z; };
static thread_local vx_dim3 blockIdx, threadIdx;
static vx_dim3 vx_block;
static std::barrier<>* vx_bar;
static std::uint64_t vx_slot[1024];
static inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
static inline double __longlong_as_double(long long i) {
  double f; std::memcpy(&f, &i, 8); return f; }
typedef unsigned int uint;
static inline void __syncthreads() { vx_bar->arrive_and_wait(); }
template <class T> static inline T __shfl_xor_sync(unsigned, T v, int m, int w) {
  int t = threadIdx.x + vx_block.x * (threadIdx.y + vx_block.y * threadIdx.z);
  std::uint64_t bits = 0; std::memcpy(&bits, &v, sizeof(T));
  vx_slot[t] = bits;
  vx_bar->arrive_and_wait();
  int base = t & ~(w - 1);
  bits = vx_slot[base + ((t - base) ^ m)];
  vx_bar->arrive_and_wait();
  T out; std::memcpy(&out, &bits, sizeof(T)); return out;
}
template <class> struct vx_runner;
template <class... A> struct vx_runner<void(A...)> {
  template <std::size_t... I>
  static void call(void (*fn)(A...), void** argv, std::index_sequence<I...>) {
    fn(*static_cast<A*>(argv[I])...); }
  static void run(void (*fn)(A...), const int* d, void** argv) {
    vx_block = {d[3], d[4], d[5]};
    int n = d[3] * d[4] * d[5];
    for (int bz = 0; bz < d[2]; ++bz) for (int by = 0; by < d[1]; ++by)
    for (int bx = 0; bx < d[0]; ++bx) {
      std::barrier<> bar(n); vx_bar = &bar;
      std::vector<std::thread> ts;
      for (int t = 0; t < n; ++t)
        ts.emplace_back([=] {
          blockIdx = {bx, by, bz};
          threadIdx = {t % d[3], (t / d[3]) % d[4], t / (d[3] * d[4])};
          call(fn, argv, std::index_sequence_for<A...>{}); });
      for (auto& th : ts) th.join();
    }
  }
};
"""
_CACHE = Path(tempfile.gettempdir()) / "vortex_threads_on_host"
_CTYPES = {"float32": ctypes.c_float, "float64": ctypes.c_double, "int32": ctypes.c_int,
           "uint32": ctypes.c_uint, "int64": ctypes.c_longlong}


def _library(code: str, entries):
    compiler = shutil.which("g++")
    if compiler is None:
        pytest.skip("no host C++ compiler (g++) to run CUDA sources on the CPU")
    body = "\n".join(line for line in code.splitlines() if not line.startswith("#include"))
    runners = "".join(f'extern "C" void vx_run_{e}(const int* d, void** argv) '
                      f"{{ vx_runner<decltype({e})>::run({e}, d, argv); }}\n" for e in entries)
    text = SHIM + body + runners
    _CACHE.mkdir(exist_ok=True)
    lib = _CACHE / f"{hashlib.sha256(text.encode()).hexdigest()[:20]}.so"
    if not lib.exists():
        src = lib.with_suffix(".cpp")
        src.write_text(text)
        subprocess.run([compiler, "-O1", "-w", "-std=c++20", "-shared", "-fPIC", "-pthread",
                        "-ffp-contract=off", str(src), "-o", str(lib)], check=True)
    return ctypes.CDLL(str(lib))


def run(source, dims: dict, arrays: dict, params: dict | None = None) -> dict:
    """Outputs (name → array) of KernelSource ``source`` (CUDA) run on the CPU with the sizes
    ``dims`` (Dim name → int), Params ``params`` and the input ``arrays``."""
    params = params or {}
    lib = _library(source.code, [launch.entry for launch in source.launches])
    bind = Binding(dims, {}, {})
    buffers = {}
    for b in source.buffers:
        shape = tuple(bind.evaluate(e) for e in b.shape)
        init = arrays.get(b.name, np.zeros(shape, b.dtype.np))
        buffers[b.name] = np.ascontiguousarray(np.asarray(init, b.dtype.np).reshape(shape))
    for launch in source.launches:
        keep = []
        for name in launch.args:
            if name in buffers:
                keep.append(ctypes.c_void_p(buffers[name].ctypes.data))
            else:
                scalar = next(s for s in source.scalars if s.name == name)
                keep.append(_CTYPES[scalar.dtype.name]({**dims, **params}[name]))
        argv = (ctypes.c_void_p * max(len(keep), 1))(*[ctypes.addressof(k) for k in keep])
        grid = [bind.evaluate(g) for g in launch.grid]
        d = (ctypes.c_int * 6)(*grid, *launch.block)
        getattr(lib, f"vx_run_{launch.entry}")(d, argv)
    return {name: buffers[name] for name in source.outputs}
