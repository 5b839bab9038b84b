"""Dialect tables: everything that differs between OpenCL C 1.2, CUDA C++ and HIP C++ as data.

One :class:`~vortex.codegen.c_printer.CPrinter` prints all three from these tables (the
tinygrad ``CStyleLanguage`` pattern); nothing here is logic.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from .. import archs
from ..lower.ir import GpuAxis
from ..target import Target

_CL_TYPES = {
    "bool": "bool", "int8": "char", "int16": "short", "int32": "int", "int64": "long",
    "uint8": "uchar", "uint16": "ushort", "uint32": "uint", "uint64": "ulong",
    "float16": "half", "float32": "float", "float64": "double",
}
_CUDA_TYPES = {
    "bool": "bool", "int8": "signed char", "int16": "short", "int32": "int",
    "int64": "long long", "uint8": "unsigned char", "uint16": "unsigned short",
    "uint32": "unsigned int", "uint64": "unsigned long long", "float16": "__half",
    "bfloat16": "__nv_bfloat16", "float32": "float", "float64": "double",
}
_MATH_F32_SUFFIXED = {"exp": "expf", "log": "logf", "sqrt": "sqrtf", "rsqrt": "rsqrtf",
                      "sin": "sinf", "cos": "cosf", "tan": "tanf", "tanh": "tanhf",
                      "erf": "erff", "floor": "floorf", "ceil": "ceilf", "round": "rintf",
                      "fmin": "fminf", "fmax": "fmaxf", "fabs": "fabsf", "pow": "powf",
                      "fast_exp": "__expf", "fast_log": "__logf"}   # vx.fast_*: float32 only
_MATH_F64 = {"round": "rint"}
_MATH_CL = {"round": "rint"}
_MATH_CL_F32 = {**_MATH_CL, "fast_exp": "native_exp", "fast_log": "native_log"}
# (name, integer type) -> function; OpenCL's are the generic names (mul_hi of uint/ulong).
# Source: CUDA Math API, integer intrinsics; HIP's device functions of the same names.
_MATH_INT_CUDA = {("mul_hi", "uint32"): "__umulhi", ("mul_hi", "uint64"): "__umul64hi"}
# OpenCL: unsigned min/max/mul_hi written out as helper functions (codegen/int_helpers.py).
_CL_INT_HELPERS = {(op, t): f"vx_{op}_{_CL_TYPES[t]}" for op in ("min", "max", "mul_hi")
                   for t in ("uint32", "uint64")}


def _index(block: str, thread: str, axes: str) -> dict:
    """GpuAxis → index expression: the ``block`` or ``thread`` pattern, ``{}`` the axis name."""
    return {a: (block if a.is_block else thread).format(axes[a.dim]) for a in GpuAxis}


@dataclass(frozen=True)
class VectorCopy:
    """How a dialect spells a 16-byte copy without ``cp.async``: ``load`` of the element
    pointer ``{p}``, ``store`` of value ``{v}`` at ``{p}``, ``zero`` (``{n}`` lanes of C type
    ``{t}``). CUDA/HIP move the bytes as one ``uint4`` (the addresses are 16-byte aligned:
    vortex/lower/vector_copy.py); OpenCL's ``vloadN``/``vstoreN`` need only element alignment."""

    load: str
    store: str
    zero: str


@dataclass(frozen=True)
class Atomics:
    """How a dialect spells atomic read-modify-writes of 32-bit values (vortex/codegen/
    atomics.py prints them): ``native`` maps (BinaryOp name, dtype name) to the function called
    as ``fn(&buffer[i], value)``; every other operation is a compare-and-swap loop on the
    value's unsigned 32-bit word: ``word`` casts the element pointer ``{p}``, ``cas`` swaps
    ``{val}`` in where ``*{p}`` equals ``{cmp}`` (returning the old word), ``to_bits`` /
    ``from_bits`` reinterpret a float32 ``{v}``. Sources: CUDA C++ Programming Guide, "Atomic
    Functions"; OpenCL C 1.2 §6.12.11."""

    native: dict
    word_type: str
    word: str
    cas: str
    to_bits: str
    from_bits: str


def _natives(ops: dict, float_add: str) -> dict:
    out = {(op, t): fn for op, fn in ops.items() for t in ("int32", "uint32")}
    return {**out, ("ADD", "float32"): float_add} if float_add else out


_CUDA_ATOMICS = Atomics(
    native=_natives({"ADD": "atomicAdd", "MIN": "atomicMin", "MAX": "atomicMax",
                     "AND": "atomicAnd", "OR": "atomicOr", "XOR": "atomicXor"}, "atomicAdd"),
    word_type="unsigned int", word="(unsigned int*)({p})", cas="atomicCAS({p}, {cmp}, {val})",
    to_bits="__float_as_uint({v})", from_bits="__uint_as_float({v})")
_CL_ATOMICS = Atomics(   # OpenCL 1.2 has no float atomics: float add is a CAS loop
    native=_natives({"ADD": "atomic_add", "MIN": "atomic_min", "MAX": "atomic_max",
                     "AND": "atomic_and", "OR": "atomic_or", "XOR": "atomic_xor"}, ""),
    word_type="uint", word="(volatile __global uint*)({p})",
    cas="atomic_cmpxchg({p}, {cmp}, {val})",
    to_bits="as_uint({v})", from_bits="as_float({v})")

# Bit reinterpretation of floats as the unsigned integer of their width (a branch-free select on
# a secret condition blends the bits: codegen/blend.py). Sources: OpenCL C 1.2 §6.2.4.2 (as_type),
# CUDA Math API "Type Casting Intrinsics", cuda_fp16.h / cuda_bf16.h.
_CL_FLOAT_BITS = {"float16": ("as_ushort({v})", "as_half({v})"),
                  "float32": ("as_uint({v})", "as_float({v})"),
                  "float64": ("as_ulong({v})", "as_double({v})")}
_CUDA_FLOAT_BITS = {"float16": ("__half_as_ushort({v})", "__ushort_as_half({v})"),
                    "bfloat16": ("__bfloat16_as_ushort({v})", "__ushort_as_bfloat16({v})"),
                    "float32": ("__float_as_uint({v})", "__uint_as_float({v})"),
                    "float64": ("__double_as_longlong({v})", "__longlong_as_double({v})")}

_CUDA_VECTOR = VectorCopy("(*(const uint4*)({p}))", "*(uint4*)({p}) = {v};",
                          "make_uint4(0u, 0u, 0u, 0u)")


@dataclass(frozen=True)
class Dialect:
    """The strings a target needs. ``math_f32``/``math_f64`` map generic math names (exp, fmin,
    …) to the target's function for that precision; missing keys print the generic name."""

    target: Target
    prelude: str
    kernel_prefix: str
    buffer_qual: str
    restrict: str
    shared_qual: str
    barrier: str
    index: dict
    types: dict
    storage_types: dict
    helper_qual: str
    unroll: str                     # before a loop the IR keeps VECTORIZED (a hint; may be "")
    inf: dict
    math_f32: dict = field(default_factory=dict)
    math_f64: dict = field(default_factory=dict)
    math_int: dict = field(default_factory=dict)    # (name, dtype name) -> integer intrinsic
    int_helpers: dict = field(default_factory=dict)  # (name, dtype name) -> helper (int_helpers.py)
    long_suffix: tuple = ("LL", "ULL")  # 64-bit literals (signed, unsigned): the type's own
    half_via_float: bool = False    # __half math goes through float (CUDA/HIP)
    async_copy: bool = False        # cp.async staged copies (CUDA sm_80+)
    async_commit: str = ""
    async_wait: str = ""            # format with {n}: groups allowed in flight
    named_barrier: str = ""         # format with {op} (sync/arrive), {id}, {n} threads
    launch_bounds: str = ""         # format with {n}: the block's thread count (register cap)
    dynamic_shared: str = ""        # format with {align}, {name}: the one dynamic shared array
    vector_copy: VectorCopy = _CUDA_VECTOR   # a 16-byte copy without cp.async
    warp: int = 0                   # lanes a shuffle spans (0: none; lower/thread_reduce.py)
    shuffle_xor: str = ""           # format with {v}, {mask}, {width}: a butterfly shuffle
    atomics: Atomics = _CUDA_ATOMICS         # atomic read-modify-writes (update stages)
    float_bits: dict = field(default_factory=dict)   # float name -> (to bits, from bits), {v}
    bf16_as_bits: bool = False      # bfloat16 held as ushort bits, computed in float (bf16.py)

    def ctype(self, dtype, storage: bool = False) -> str:
        table = self.storage_types if storage else self.types
        name = table.get(dtype.name) or self.types.get(dtype.name)
        if name is None:
            from .. import errors
            raise errors.CompileError(f"{dtype} is not available on target {self.target.value}")
        return name


# Float semantics (docs/semantics.md): a * b + c is two rounded operations, as in the reference,
# unless the build asks for fast math: -cl-fast-relaxed-math defines __FAST_RELAXED_MATH__
# (OpenCL C 1.2 §6.10) and lets the compiler contract. Source: OpenCL C 1.2 §6.10 (FP_CONTRACT).
_CL_PRELUDE = "#ifndef __FAST_RELAXED_MATH__\n#pragma OPENCL FP_CONTRACT OFF\n#endif\n"

OPENCL = Dialect(
    target=Target.OPENCL,
    prelude=_CL_PRELUDE,
    kernel_prefix="__kernel void",
    buffer_qual="__global ",
    restrict="restrict",
    shared_qual="__local",
    barrier="barrier(CLK_LOCAL_MEM_FENCE);",
    index=_index("(int)get_group_id({})", "(int)get_local_id({})", "012"),
    types={**_CL_TYPES, "bfloat16": "float"},      # no bfloat16 in OpenCL C: codegen/bf16.py
    storage_types={"bool": "uchar", "bfloat16": "ushort"},
    bf16_as_bits=True,
    helper_qual="inline",
    unroll="",   # unrolling is done in the IR (lower/unroll.py); PoCL crashed or hung on the pragma
    inf={"float16": "((half)INFINITY)", "float32": "INFINITY", "float64": "((double)INFINITY)"},
    math_f32=_MATH_CL_F32, math_f64=_MATH_CL,
    int_helpers=_CL_INT_HELPERS,   # PoCL's built-in min/mul_hi: ~2x slower (int_helpers.py)
    long_suffix=("L", "UL"),   # long/ulong literals: LL/ULL made min(long, …) ambiguous (PoCL)
    vector_copy=VectorCopy("vload{n}(0, {p})", "vstore{n}({v}, 0, {p});", "(({t}{n})(0))"),
    atomics=_CL_ATOMICS,
    float_bits=_CL_FLOAT_BITS,
)

_CUDA_INDEX = _index("(int)blockIdx.{}", "(int)threadIdx.{}", "xyz")
_CUDA_INF = {"float16": "__float2half(__int_as_float(0x7f800000))",
             "float32": "__int_as_float(0x7f800000)",
             "float64": "__longlong_as_double(0x7ff0000000000000LL)"}

CUDA = Dialect(
    target=Target.CUDA,
    prelude="#include <cuda_fp16.h>\n#include <cuda_bf16.h>\n",
    kernel_prefix='extern "C" __global__ void',
    buffer_qual="",
    restrict="__restrict__",
    shared_qual="__shared__",
    barrier="__syncthreads();",
    index=_CUDA_INDEX,
    types=_CUDA_TYPES,
    storage_types={},
    helper_qual="static __host__ __device__ __forceinline__",
    unroll="#pragma unroll",
    inf=_CUDA_INF,
    math_f32=_MATH_F32_SUFFIXED, math_f64=_MATH_F64, math_int=_MATH_INT_CUDA,
    half_via_float=True,
    named_barrier='asm volatile("bar.{op} {id}, {n};" ::: "memory");',
    launch_bounds="__launch_bounds__({n}) ",
    dynamic_shared="extern __shared__ __align__({align}) unsigned char {name}[];",
    warp=32,
    shuffle_xor="__shfl_xor_sync(0xffffffffu, {v}, {mask}, {width})",
    float_bits=_CUDA_FLOAT_BITS,
)

# HIP C++ is CUDA C++ with its own headers. bfloat16 as its bits, computed in float
# (codegen/bf16.py): hiprtc 5.2 cannot compile hip/hip_bfloat16.h (libstdc++ redefinitions).
HIP = replace(
    CUDA,
    target=Target.HIP,
    prelude="#include <hip/hip_runtime.h>\n#include <hip/hip_fp16.h>\n",
    types={**_CUDA_TYPES, "bfloat16": "float"},
    storage_types={"bfloat16": "unsigned short"},
    bf16_as_bits=True,
    named_barrier="",  # no named barriers: block barriers (same ordering)
    shuffle_xor="__shfl_xor({v}, {mask}, {width})",   # warp: the arch's (dialect_for)
    float_bits={k: v for k, v in _CUDA_FLOAT_BITS.items() if k != "bfloat16"},  # a float here
)

DIALECTS = {Target.OPENCL: OPENCL, Target.CUDA: CUDA, Target.HIP: HIP}

# CUDA on sm_80 and newer: staged copies go through cp.async (cuda_pipeline.h primitives).
CUDA_ASYNC = replace(
    CUDA,
    prelude=CUDA.prelude + "#include <cuda_pipeline.h>\n",
    async_copy=True,
    async_commit="__pipeline_commit();",
    async_wait="__pipeline_wait_prior({n});",
)


def dialect_for(target: Target, arch: str | None = None) -> Dialect:
    """The dialect of ``target``; CUDA with an ``arch`` that has them (sm_80 and newer, see
    vortex.archs) gets asynchronous copies; HIP with an ``arch`` shuffles across its wavefront
    (32 lanes without one: correct on wave32 and wave64)."""
    if target is Target.CUDA and arch and archs.facts(target, arch).async_copy:
        return CUDA_ASYNC
    if target is Target.HIP and arch:      # wave64 on CDNA/GCN, wave32 on RDNA
        return replace(HIP, warp=archs.facts(target, arch).resources.warp)
    return DIALECTS[target]
