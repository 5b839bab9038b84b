"""Shared by the HIP runtime tests: a hand-written HIP kernel wrapped in a KernelSource, and two
tiled schedules (a shared-memory blur and a tiled matmul), and a private compile cache."""
import pytest

import pipelines as P
import vortex as vx
from vortex.algorithm.symbolic import dim_symbol
from vortex.codegen.kernel_source import BufferArg, BufferRole, KernelSource, Launch, ScalarArg
from vortex.runtime import hiprtc
from vortex.target import Target


@pytest.fixture(autouse=True, scope="module")
def private_cache(tmp_path_factory):
    """Every compile of this module caches under a fresh directory, not ~/.cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VORTEX_CACHE_DIR", str(tmp_path_factory.mktemp("hip-cache")))
        hiprtc.CODE_OBJECT_CACHE.clear()
        yield
    hiprtc.CODE_OBJECT_CACHE.clear()


def blur_shared():
    pipe = P.pipe("blur")
    s = vx.Schedule(pipe)
    s["blur"].gpu_tile("y", "x", "yo", "xo", "yi", "xi", 8, 32)
    s["blur_x"].compute_at("blur", "xo").store_in("shared")
    return pipe, s


def matmul_tiled():
    pipe = P.pipe("matmul")
    s = vx.Schedule(pipe)
    s["C"].gpu_tile("i", "j", "io", "jo", "ii", "ji", 16, 16).split("k", "ko", "ki", 4) \
        .unroll("ki")
    return pipe, s


N = dim_symbol("n")


def hand_source(code, entry="k", block=64):
    """``code`` (kernel ``entry`` writing ``a[0:n]``) as a KernelSource: one 1-D launch."""
    buf = BufferArg("a", vx.float32, BufferRole.OUTPUT, (N,), (0,))
    launch = Launch(entry, ((N + block - 1) // block,), (block,), ("a", "n"))
    return KernelSource(Target.HIP, "handmade", code, (launch,), (buf,),
                        (ScalarArg("n", vx.int32),), ("a",))


HEAD = "#include <hip/hip_runtime.h>\n#include <hip/hip_fp16.h>\n"
GOOD = HEAD + ('extern "C" __global__ void k(float* a, int n) {\n'
               '  int i = blockIdx.x * blockDim.x + threadIdx.x;\n'
               '  if (i < n) a[i] = __half2float(__float2half(1.5f));\n}\n')
