"""Intrinsics with no C library function on some target: printed as helper functions, emitted
once per source before the kernels (as the integer floor-division helpers are).

The MurmurHash3 steps behind ``vx.random_uint`` (numpy twins in ``vortex/algorithm/rng.py``,
whose tests check both against the published MurmurHash3_x86_32 vectors). ``{q}`` is the
dialect's helper qualifier, ``{u}`` its uint32 type, ``{name}`` the helper's name. Unsigned
arithmetic wraps in C as in numpy, so the targets and the reference agree bit for bit.

Source: MurmurHash3 (github.com/aappleby/smhasher, ``MurmurHash3.cpp``, public domain).
"""
from __future__ import annotations

from ..algorithm.expr import Intrinsic

HELPERS = {
    Intrinsic.MURMUR3_MIX:
        "{q} {u} {name}({u} h, {u} k) {{ k *= 0xcc9e2d51u; k = (k << 15) | (k >> 17); "
        "k *= 0x1b873593u; h ^= k; h = (h << 13) | (h >> 19); return h * 5u + 0xe6546b64u; }}\n",
    Intrinsic.MURMUR3_FMIX:
        "{q} {u} {name}({u} h) {{ h ^= h >> 16; h *= 0x85ebca6bu; h ^= h >> 13; "
        "h *= 0xc2b2ae35u; return h ^ (h >> 16); }}\n",
    # vortex/algorithm/tf32.py; {bits}/{value}: the dialect's float32 reinterpretations of x, b
    Intrinsic.ROUND_TF32:
        "{q} float {name}(float x) {{ unsigned int b = {bits}; "
        "if ((b & 0x7f800000u) != 0x7f800000u) b = (b + 0x1000u) & 0xffffe000u; "
        "return {value}; }}\n",
}


def helper_name(fn: Intrinsic) -> str:
    return f"vx_{fn.value}"
