"""Counter-based random numbers: ``vx.random_uint`` and ``vx.random_float`` are a hash of integer
coordinates and a seed, so a value depends only on *where* it is computed, never on the order or
the schedule, and the reference and every target give the same bits.

The hash is MurmurHash3_x86_32 (Austin Appleby, public domain; the SMHasher reference) of the
coordinates as little-endian uint32 words, with ``seed`` as its seed:
``random_uint(c0, …, cn-1, seed=s) == murmur3_x86_32(bytes of uint32 c0 … cn-1, s)``, e.g.
``random_uint(0x87654321, seed=0) == 0xF55B516B`` (a published test vector). Each word is one
``Intrinsic.MURMUR3_MIX`` step and the end one ``MURMUR3_FMIX``: the numpy versions below are
the reference's, and ``vortex/codegen/intrinsics.py`` prints the same steps as C helpers.
Coordinates are converted to uint32 as ``vx.cast`` does (int32 -1 is 0xFFFFFFFF, int64 keeps its
low 32 bits). The hash is for noise, dithering and sampling, not for cryptography.

Source: Halide ``random_float``/``random_uint`` (a hash of coordinates and seed, not a stateful
generator); MurmurHash3 (github.com/aappleby/smhasher, ``MurmurHash3.cpp``).
"""
from __future__ import annotations

import numpy as np

from .. import errors
from . import dtypes as T
from .construct import cast, lift
from .expr import Call, Const, Expr, Intrinsic

_C1, _C2, _N, _F1, _F2 = 0xCC9E2D51, 0x1B873593, 0xE6546B64, 0x85EBCA6B, 0xC2B2AE35


def _rotl(x, r: int):
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def murmur3_mix(h, k):
    """One 4-byte block of MurmurHash3_x86_32 (numpy, uint32 arrays or scalars)."""
    h, k = np.asarray(h, np.uint32), np.asarray(k, np.uint32)
    with np.errstate(over="ignore"):   # uint32 arithmetic wraps, as in C
        k = _rotl(k * np.uint32(_C1), 15) * np.uint32(_C2)
        return _rotl(h ^ k, 13) * np.uint32(5) + np.uint32(_N)


def murmur3_fmix(h):
    """MurmurHash3's 32-bit finalizer ``fmix32`` (numpy, uint32)."""
    h = np.asarray(h, np.uint32)
    with np.errstate(over="ignore"):
        h = (h ^ (h >> np.uint32(16))) * np.uint32(_F1)
        h = (h ^ (h >> np.uint32(13))) * np.uint32(_F2)
    return h ^ (h >> np.uint32(16))


def _word(v, what: str) -> Expr:
    e = lift(v)
    if not (e.dtype.is_int or e.dtype.is_bool):
        raise errors.TypeError(f"vx.random_* {what} {e} has type {e.dtype}; coordinates and seeds "
                               "are integers (Vars, RDoms, Params, ints)")
    return cast(T.uint32, e)


def random_uint(*coords, seed=0) -> Expr:
    """A uint32 hash of the integer ``coords`` and ``seed`` (module docstring): uniform over all
    2**32 values, the same for the same arguments wherever it is evaluated. ``seed``: a Python
    int in [0, 2**32) or an integer Expr (a ``vx.Param`` to vary it per call); use different
    seeds for independent streams. Raises vx.TypeError for no coordinates, a float coordinate,
    or a seed out of range. Example: ``noise[y, x] = vx.random_uint(y, x, seed=7)``."""
    if not coords:
        raise errors.TypeError("vx.random_uint/random_float need the coordinates to hash, "
                               "e.g. vx.random_float(y, x, seed=1)")
    if isinstance(seed, int) and not isinstance(seed, bool) and not 0 <= seed < 2 ** 32:
        raise errors.TypeError(f"vx.random_* seed {seed} is out of range: a seed is a uint32, "
                               "0 <= seed < 2**32")
    h = Const.make(seed, T.uint32) if isinstance(seed, int) else _word(seed, "seed")
    for c in coords:
        h = Call(Intrinsic.MURMUR3_MIX, (h, _word(c, "coordinate")), T.uint32)
    return Call(Intrinsic.MURMUR3_FMIX, (h ^ Const.make(4 * len(coords), T.uint32),), T.uint32)


def random_float(*coords, seed=0) -> Expr:
    """A float32 uniform in [0, 1): the top 24 bits of ``random_uint(*coords, seed=seed)`` times
    2**-24, so every value is exact in float32 and 1.0 never occurs. Arguments and errors as
    :func:`random_uint`."""
    return cast(T.float32, random_uint(*coords, seed=seed) >> 8) * Const.make(2.0 ** -24,
                                                                                T.float32)
