"""C identifiers for the names in the IR: user names and generated names can never break the
generated code, nor each other.

The IR holds two kinds of names. **User names** (Funcs, Inputs, Vars, RDoms, Dims, Params,
schedule loop vars) are identifiers without '.', checked at construction. **Generated names**
are made by the lowering with :func:`vortex.lower.ir.local_name`, ``base.tag…`` (``y.c``,
``blur_x.sh``, ``r.acc0``); the '.' keeps them apart from every user name inside the IR.

A :class:`Namer` spells them as C identifiers, one-to-one within one scope (all kernels of a
source; the export launcher is another), by these rules:

1. The spelling of a name is the name itself, with '.' written '_' (``y.c`` → ``y_c``) and
   any non-ASCII letter as ``uXXXX``.
2. A spelling that is a reserved word (:func:`is_reserved`: a keyword, type, qualifier,
   builtin variable or library/builtin function of C, C++, OpenCL C, CUDA or HIP, a word a
   dialect table prints, or anything in Vortex's own ``vx_`` helper namespace) gets a trailing
   '_' (``int`` → ``int_``, ``min`` → ``min_``), or a leading 'v' for the ``vx_`` namespace.
3. User names are spelled before generated ones, plain names first, so a user name keeps its
   spelling whenever it can; a spelling already taken gets the first free ``_1``, ``_2``, …
   (a user Var ``y_c`` stays ``y_c``; the generated ``y.c`` becomes ``y_c_1``).

Ordinary names (``blur_x``, ``img``, ``x``) are printed unchanged. Kernel entries are spelled
in a namespace of their own (:func:`entry_names`): inside a kernel a parameter or local may
shadow a file-scope function name, which C and C++ allow, and the export launcher, the one
scope holding both, reserves the entries before naming its parameters.

Source: Halide's ``CodeGen_C::print_name`` (every name made C-safe on the way out) and TVM's
``CodeGenC`` name supply (C keywords reserved, fresh names get a numeric suffix).
"""
from __future__ import annotations

import re
from dataclasses import fields
from functools import cache
from itertools import count

from ..algorithm.expr import Intrinsic
from ..algorithm.walk import find
from ..lower.ir import SEP, Comment
from ..lower.walk import stmt_exprs, stmts
from . import dialect

HELPER_PREFIX = "vx_"   # Vortex's own helper functions (vx_fdiv_int, …)

_C = """auto break case char const continue default do double else enum extern float for goto if
inline int long register restrict return short signed sizeof static struct switch typedef union
unsigned void volatile while"""
_CXX = """alignas alignof and and_eq asm bitand bitor bool catch char8_t char16_t char32_t class
compl concept const_cast consteval constexpr constinit co_await co_return co_yield decltype
delete dynamic_cast explicit export false final friend mutable namespace new noexcept not not_eq
nullptr operator or or_eq override private protected public reinterpret_cast requires
static_assert static_cast template this thread_local throw true try typeid typename using virtual
wchar_t xor xor_eq"""
_OPENCL = """global local constant private kernel read_only write_only read_write uniform pipe
complex imaginary quad sampler_t event_t image1d_t image2d_t image3d_t image1d_array_t
image2d_array_t image1d_buffer_t size_t ptrdiff_t intptr_t uintptr_t uchar ushort uint ulong half
get_work_dim get_global_size get_global_id get_local_size get_local_id get_num_groups
get_group_id get_global_offset barrier mem_fence read_mem_fence write_mem_fence
async_work_group_copy async_work_group_strided_copy wait_group_events prefetch
CLK_LOCAL_MEM_FENCE CLK_GLOBAL_MEM_FENCE any all bitselect select shuffle shuffle2 printf
vec_step isequal isnotequal isgreater isgreaterequal isless islessequal islessgreater isfinite
isinf isnan isnormal isordered isunordered signbit abs_diff add_sat hadd rhadd clamp clz ctz
mad_hi mad_sat mul_hi rotate sub_sat upsample popcount mad24 mul24 degrees mix radians step
smoothstep sign cross dot distance length normalize fast_distance fast_length fast_normalize
atom_add atom_sub atom_xchg atom_inc atom_dec atom_cmpxchg atom_min atom_max atom_and atom_or
atom_xor atomic_add atomic_sub atomic_xchg atomic_inc atomic_dec atomic_cmpxchg atomic_min
atomic_max atomic_and atomic_or atomic_xor"""
_CUDA_HIP = """threadIdx blockIdx blockDim gridDim warpSize dim3 half2 bfloat16 nv_bfloat16
hip_bfloat16 uint3 int3 float3 cudaStream_t cudaError_t cudaSuccess cudaMalloc cudaMallocAsync
cudaFree cudaFreeAsync cudaGetLastError cudaMemcpy hipStream_t hipError_t hipSuccess hipMalloc
hipFree hipGetLastError hipMemcpy min max abs llabs labs saturate umin umax llmin llmax ullmin
ullmax atomicAdd atomicSub atomicExch atomicMin atomicMax atomicInc atomicDec atomicCAS
atomicAnd atomicOr atomicXor clock clock64 assert malloc free memcpy memset
nullptr_t NULL INFINITY NAN HUGE_VAL HUGE_VALF MAXFLOAT FLT_MAX FLT_MIN FLT_EPSILON DBL_MAX
DBL_MIN DBL_EPSILON INT_MAX INT_MIN UINT_MAX LONG_MAX LONG_MIN CHAR_BIT"""
# The C99 math library (plus OpenCL's and CUDA's additions); each also with the f and l
# suffixes, and OpenCL's half_ and native_ variants where they exist.
_MATH = """acos acosh acospi asin asinh asinpi atan atan2 atanh atanpi atan2pi cbrt ceil copysign
cos cosh cospi erfc erf erfinv erfcinv erfcx exp exp2 exp10 expm1 fabs fdim floor fma fmax fmin
fmod fract frexp hypot ilogb ldexp lgamma log log2 log10 log1p logb lrint llrint lround llround
mad maxmag minmag modf nan nearbyint nextafter norm pow pown powr rcbrt remainder remquo rhypot
rint rnorm rootn round rsqrt scalbn scalbln sin sincos sincospi sinh sinpi sqrt tan tanh tanpi
tgamma trunc divide recip"""
_NATIVE = "cos divide exp exp2 exp10 log log2 log10 powr recip rsqrt sin sqrt tan"
_CONSTANTS = "E LOG2E LOG10E LN2 LN10 PI PI_2 PI_4 1_PI 2_PI 2_SQRTPI SQRT2 SQRT1_2"
_SCALARS = "char uchar short ushort int uint long ulong float double half bool longlong ulonglong"


def _vector_words() -> set:
    """Vector types (float4, uchar16, …) and their OpenCL/CUDA functions: convert_T[N][_sat]
    [_rte|_rtz|_rtp|_rtn], as_T[N], make_T[N], vloadN/vstoreN and the half variants."""
    widths = ("", "1", "2", "3", "4", "8", "16")
    words = set()
    for t in _SCALARS.split():
        for n in widths:
            words |= {t + n, f"as_{t}{n}", f"make_{t}{n}"}
            words |= {f"convert_{t}{n}{sat}{rnd}" for sat in ("", "_sat")
                      for rnd in ("", "_rte", "_rtz", "_rtp", "_rtn")}
    for n in widths:
        words |= {f"vload{n}", f"vstore{n}", f"vload_half{n}", f"vloada_half{n}"}
        words |= {f"{op}_half{n}{rnd}" for op in ("vstore", "vstorea")
                  for rnd in ("", "_rte", "_rtz", "_rtp", "_rtn")}
    return words


def _table_words() -> set:
    """Every identifier a dialect table can print (types, math functions, indices, …), and the
    generic names of the math intrinsics (printed where a table has no entry)."""
    words = {i.value for i in Intrinsic}
    for d in (v for v in vars(dialect).values() if isinstance(v, dialect.Dialect)):
        for f in fields(d):
            value = getattr(d, f.name)
            texts = [*value.keys(), *value.values()] if f.name.startswith("math_") else \
                list(value.values()) if isinstance(value, dict) else [value]
            for text in (t for t in texts if isinstance(t, str)):
                text = re.sub(r'#.*|"[^"]*"|\{\w*\}', " ", text)   # directives, strings, {n}
                words |= set(re.findall(r"(?<![.\w])[A-Za-z_]\w*", text))   # not .x
    return words


@cache
def reserved_words() -> frozenset:
    """The words no user or generated name may be spelled as (see the module docstring)."""
    math = _MATH.split()
    words = set(" ".join((_C, _CXX, _OPENCL, _CUDA_HIP)).split())
    words |= {m + s for m in math for s in ("", "f", "l")}
    words |= {f"{p}_{m}" for m in _NATIVE.split() for p in ("half", "native")}
    words |= {f"M_{c}{s}" for c in _CONSTANTS.split() for s in ("", "_F")}
    return frozenset(words | _vector_words() | _table_words())


def is_reserved(text: str) -> bool:
    """Whether ``text`` cannot be a Vortex-chosen C identifier: a reserved word, Vortex's helper
    namespace, or an identifier C and C++ reserve for the implementation (leading '_')."""
    return text in reserved_words() or text.startswith((HELPER_PREFIX, "_"))


def _escape(text: str) -> str:
    """A non-reserved spelling of ``text``: ``int`` → ``int_``, ``vx_f`` → ``vvx_f``."""
    if text.startswith((HELPER_PREFIX, "_")):
        return "v" + text
    return text + "_" if text in reserved_words() else text


def spelling(name: str) -> str:
    """The preferred C spelling of an IR name (rules 1 and 2 of the module docstring)."""
    parts = ["".join(c if c.isascii() else f"u{ord(c):04x}" for c in p)
             for p in name.split(SEP) if p]
    text = "_".join(parts) or "v"
    return _escape("v" + text if text[0].isdigit() else text)


class Namer:
    """IR name → C identifier, one-to-one within one scope. ``taken``: identifiers the scope
    already uses (e.g. kernel entries in the export launcher)."""

    def __init__(self, taken=()):
        self._c: dict[str, str] = {}
        self._taken = set(taken)

    def declare(self, names) -> "Namer":
        """Spell the user names ``names`` now (rule 3: before any generated name, plain names
        first); returns self."""
        for name in sorted(sorted(set(names)), key=lambda n: spelling(n) != n):
            self.c_name(name)
        return self

    def c_name(self, name: str) -> str:
        """The identifier of IR name ``name`` (chosen on first use)."""
        if name not in self._c:
            self._c[name] = self.fresh(spelling(name))
        return self._c[name]

    def fresh(self, hint: str) -> str:
        """A new identifier for something without an IR name: ``hint`` itself if free, else
        ``hint_1``, ``hint_2``, …"""
        text, stem = _escape(hint), hint.rstrip("_")
        for n in count(1):
            if text not in self._taken:
                break
            text = _escape(f"{stem}_{n}")
        self._taken.add(text)
        return text


def entry_names(kernel_names) -> list[str]:
    """C entry names of kernels in launch order: the spelled IR names, made distinct."""
    namer = Namer()
    return [namer.fresh(spelling(n)) for n in kernel_names]


def user_names(kernels, buffers=()) -> set:
    """Every user name (no '.') that ``kernels`` print: buffers, parameters, loop variables,
    locals, plus the names of ``buffers``."""
    out = {b.name for b in buffers}
    for k in kernels:
        out |= {p.name for p in k.params}
        for s in stmts(k.body):
            if not isinstance(s, Comment):
                out |= {v for f in fields(s) if isinstance(v := getattr(s, f.name), str)}
        for e in stmt_exprs(k.body):
            out |= {_name_of(n) for n in find(e, lambda n: isinstance(_name_of(n), str))}
    return {n for n in out if SEP not in n}


def _name_of(e):
    """The name an expression node prints (Ref, Dim, Param, Var; a BufferLoad's buffer)."""
    return getattr(e, "name", None) or getattr(e, "buffer", None)
