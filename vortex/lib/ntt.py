"""The number-theoretic transform (NTT) over a prime field of :mod:`vortex.lib.fields`, as a
pipeline of radix-2 butterfly stages written in the algorithm language.

For ``x`` of length ``N = 2**n`` over GF(p) and ``ω = F.root_of_unity(N)``
(``generator ** ((p − 1) / N)``, the root ``sympy.discrete.transforms.ntt`` uses)::

    forward:  X[k] = Σ_j x[j] · ω**(j·k)            (= sympy.discrete.transforms.ntt(x, p))
    inverse:  x[j] = N⁻¹ · Σ_k X[k] · ω**(−j·k)      (= sympy.discrete.transforms.intt(X, p))

The algorithm is decimation-in-time Cooley–Tukey (Cormen et al., *Introduction to Algorithms*,
§30.3) — a bit-reversal permutation, then ``n`` butterfly stages — in the constant-geometry
("transposing") order of Pease: every stage reads the pair of points at positions ``2j`` and
``2j + 1`` of the previous stage's array and writes its two results at positions ``j`` and
``j + N/2``. Each butterfly pair is **one** work item that computes the product ``t`` once and
writes both points, ``u + t`` and ``u − t``; each stage reads and writes whole cache lines.

Why this order works: let position ``p`` of stage ``s``'s input hold the point whose index in the
textbook (in-place) order is ``σ_s(p)``. Writing the outputs of the pair at ``(2j, 2j + 1)`` to
``(j, j + N/2)`` rotates the bits of the position: ``σ_{s+1} = σ_s ∘ rotl``, so
``σ_s = rotl**s`` (``σ_0`` the identity: the input is the bit-reversed array), the positions
``2j``, ``2j + 1`` differ in textbook bit ``s`` (the pair of stage ``s``), and after ``n``
stages ``σ_n = rotl**n`` is the identity: the output is in natural order. The twiddle of the
pair is ``ω_{2h}**(k mod h)`` (``h = 2**s``, ``k = rotl**s(2j)``), and ``k mod h`` is
``j >> (n − 1 − s)``, the top ``s`` bits of ``j``.

The Funcs, named ``<name>_…``:

- ``rev[i] = x[bitrev_n(i)]`` (shape ``(N,)``), the bit reversal written as an index expression
  (the sum of ``((i >> b) & 1) << (n−1−b)``), so bounds inference proves it in ``[0, N)``;
- ``w<s>[m] = w[m · N / (2h)]`` (shape ``(h,)``, ``s ≥ 1``): stage ``s``'s twiddles read from the
  table ``w[k] = ω**k``, ``k < N/2`` (an Input: :func:`twiddles` makes it);
- ``s<s>``, stage ``s``: one array of ``N`` points in the memory order above, declared in one of
  two shapes with the same layout (``R = 2**(n − 1 − s)``, the run of pairs sharing a twiddle):

  * *rows* (``R ≥ ROW_MIN``): shape ``(2h, R)``, ``s<s>[q, r]`` with ``m = q mod h`` the twiddle
    index and ``q >> s`` the sign: ``u = prev[m, 2r]``, ``t = w<s>[m] · prev[m, 2r + 1]``, the
    point ``u ± t``. Every index is affine in the fastest variable ``r`` and the twiddle is
    the same for the whole row, so a work-group's loads and stores are consecutive words
    (LLVM vectorizes them on PoCL; coalesced on GPUs);
  * *flat* (``R < ROW_MIN``, the last stages, whose rows are too short for a vector):
    shape ``(2, N/2)``, ``s<s>[e, j]`` reading the previous array at ``2j`` and ``2j + 1``, the
    twiddle ``w<s>[j >> (n − 1 − s)]``.

  The sign is one ``F.add(u, ±t)``, ``−t`` the word ``p − t`` picked by a mask
  (:func:`negate_where`: no branch). A schedule that computes both points of a pair in one
  work item (:func:`schedule_stages`: the sign's loop unrolled innermost) has the product once;
  the C compilers merge the two copies of ``t`` (PoCL's LLVM: one Montgomery product per pair,
  checked in its assembly);
- ``out``: a Func of shape ``(N,)`` reading the last stage in natural order (``<name>_out``,
  inlined unless scheduled), or for the inverse ``<name>_scaled``, which reads it at
  ``(N − i) mod N`` and multiplies by ``N⁻¹`` (``Σ_k X[k] ω**(−jk)`` is the forward transform
  read at ``(N − j) mod N``, with the same table).

Every stage is a pure Func, so every target parallelizes it without atomics or races. The
transform is linear and ``F.mul`` of a Montgomery-form twiddle with a word ``v`` is
``ω**k · v`` in whichever form ``v`` is, so :func:`ntt_pipeline` transforms plain values without
converting them to Montgomery form and back.

How to schedule it (:func:`schedule_stages`): the bit reversal a pass of its own that moves
square tiles (:func:`schedule_bit_reversal`), then every stage one global pass, a pair per work
item. An earlier version fused the first stages of a tile in shared memory (``compute_at`` +
``store_in("shared")``); in this order a stage reads the whole array (the positions ``2j``
rotate through every bit), so a tile of a stage does not come from one tile of the stage
before: that path is gone (on PoCL it was never faster than global passes).

Sources: Cooley & Tukey, "An algorithm for the machine calculation of complex Fourier series",
Math. Comp. 19 (1965); M. C. Pease, "An adaptation of the fast Fourier transform for parallel
processing", J. ACM 15 (1968) (the constant-geometry order); the iterative form, Cormen,
Leiserson, Rivest, Stein, *Introduction to Algorithms*, 3rd ed., §30.3; the root convention,
``sympy.discrete.transforms.ntt``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import errors
from ..algorithm import Func, Input, Pipeline, Var, cast
from ..algorithm.expr import Const
from .prime_field import PrimeField


@dataclass(frozen=True)
class NTT:
    """The Funcs of one transform built by :func:`define_ntt`: ``rev`` (the bit-reversed
    input), ``stages`` (``s0`` … ``s{n−1}``, in order), ``out`` (the result, shape ``(N,)``:
    ``<name>_out`` reading the last stage, or for the inverse ``<name>_scaled``) and
    ``twiddles`` (``w1`` … ``w{n−1}``: each stage's twiddles read from ``w``)."""

    log_n: int
    rev: Func
    stages: tuple
    out: Func
    twiddles: tuple = ()

    @property
    def funcs(self) -> tuple:
        """Every Func of the transform, producers first (``out`` last)."""
        return (*self.twiddles, self.rev, *self.stages, self.out)

    @classmethod
    def find(cls, pipe: Pipeline, name: str = "ntt") -> "NTT":
        """The transform named ``name`` (:func:`define_ntt`'s ``name``) among ``pipe``'s
        Funcs. Raises vx.ScheduleError when ``pipe`` has no ``<name>_rev``."""
        funcs = {f.name: f for f in pipe.funcs}
        if f"{name}_rev" not in funcs:
            raise errors.ScheduleError(f"NTT.find: pipeline {pipe.name!r} has no transform "
                                       f"named {name!r} (no Func '{name}_rev')")
        log = int(funcs[f"{name}_rev"].shape[0].value).bit_length() - 1
        return cls(log, funcs[f"{name}_rev"], tuple(funcs[f"{name}_s{s}"] for s in range(log)),
                   funcs.get(f"{name}_scaled") or funcs[f"{name}_out"],
                   tuple(funcs[f"{name}_w{s}"] for s in range(1, log)))


ROW_MIN = 16   # pairs: the shortest run sharing a twiddle that a stage gets rows for


def is_rows(log_n: int, s: int) -> bool:
    """Whether stage ``s`` of a length-``2**log_n`` transform has the rows shape ``(2h, R)``
    (``R = 2**(log_n − 1 − s) ≥ ROW_MIN``; module docstring), else the flat ``(2, N/2)``."""
    return 1 << (log_n - 1 - s) >= ROW_MIN


def check_log_n(F: PrimeField, log_n) -> int:
    """``log_n`` as an int in [1, two-adicity], or vx.TypeError naming the fix."""
    if isinstance(log_n, bool) or not isinstance(log_n, int) \
            or not 1 <= log_n <= F.two_adicity:
        raise errors.TypeError(f"NTT over {F.name}: log_n = {log_n!r}; the length is 2**log_n "
                               f"with log_n an int from 1 to {F.two_adicity} (the field's "
                               "two-adicity)")
    return log_n


def twiddles(F: PrimeField, log_n: int) -> np.ndarray:
    """The twiddle table ``w[k] = ω**k``, ``k < N/2``, ``ω = F.root_of_unity(2**log_n)``, as
    ``(2**(log_n − 1),)`` words of ``F.dtype`` (encoded elements: Montgomery form for
    BabyBear). Forward and inverse transforms use the same table."""
    check_log_n(F, log_n)
    n = 1 << log_n
    root, acc, out = F.root_of_unity(n), 1, []
    for _ in range(n // 2):
        out.append(F.encode(acc))
        acc = acc * root % F.p
    return np.array(out, dtype=np.uint64).astype(F.dtype.np)


def bit_reverse(i, log_n: int):
    """The index expression ``i`` with its low ``log_n`` bits reversed (``i`` in
    [0, 2**log_n))."""
    return sum(((i >> b) & 1) << (log_n - 1 - b) for b in range(log_n))


def negate_where(F: PrimeField, t, bit):
    """The word ``p − t`` where ``bit`` (an int32 index expression, 0 or 1) is 1, else ``t``,
    for an element ``t``: ``(t ^ m) + ((p + 1) & m)`` with the mask ``m = 0 − bit`` (all ones
    or zero), since ``~t + p + 1 ≡ p − t`` modulo the word size. So a butterfly is one
    addition ``a[lo] + (±t)`` and its canonical min (``a[lo] + (p − t) < 2p``, in ``F.add``'s
    range for both fields; ``p − 0 = p`` reduces to ``a[lo]``), and ``t`` is written once:
    with ``select(bit, a − t, a + t)`` the product ``t`` stood in both arms of a ``?:``, which
    PoCL's compiler kept as two products wherever the condition varies inside a work-group
    (stages below log2 of its size: 2.6 ms a stage of 2**20 BabyBear points, 1.1 ms above).
    No branch, whatever ``t`` holds."""
    m = Const.make(0, F.dtype) - cast(F.dtype, bit)
    return (t ^ m) + (Const.make(F.p + 1, F.dtype) & m)


def _flat(stage: Func):
    """The point at position ``f`` (an index expression) of a stage's array, whichever of its
    two shapes it has: ``stage[f >> log2(cols), f & (cols − 1)]`` (``cols = 2**k``). Both
    indices are shifts and masks of ``f``, which C compilers fold back into ``f``."""
    cols = int(stage.shape[1].value)
    return lambda f: stage[f >> (cols.bit_length() - 1), f & (cols - 1)]


def define_ntt(F: PrimeField, load, w, log_n: int, name: str, inverse: bool = False) -> NTT:
    """Define the Funcs of a length-``2**log_n`` NTT (module docstring) and return them.

    ``load(k)`` gives the input element at an index expression ``k`` in [0, 2**log_n) (e.g.
    ``lambda k: x[k]``, or a ``to_field`` of a padded Input); ``w`` is the twiddle Input of
    shape ``(2**(log_n − 1),)`` holding :func:`twiddles`. The result ``out`` (shape
    ``(2**log_n,)``) is the forward transform, or with ``inverse=True`` the inverse (scaled by
    ``N⁻¹``). Funcs are named ``<name>_rev``, ``<name>_w<s>``, ``<name>_s<s>``, and
    ``<name>_out`` or ``<name>_scaled``. Raises vx.TypeError for a log_n out of range."""
    check_log_n(F, log_n)
    n = 1 << log_n
    i, q, r = Var(f"{name}_i"), Var(f"{name}_q"), Var(f"{name}_r")
    e, j = Var(f"{name}_e"), Var(f"{name}_j")
    rev = Func(f"{name}_rev", shape=(n,))
    rev[i] = load(bit_reverse(i, log_n))
    row, flat = (lambda m, c: rev[c]), (lambda f: rev[f])   # the previous stage's points
    stages, twiddles = [], []
    for s in range(log_n):
        h, R = 1 << s, 1 << (log_n - 1 - s)
        if s:
            tw = Func(f"{name}_w{s}", shape=(h,))
            tw[i] = w[i << (log_n - 1 - s)]
            twiddles.append(tw)
        mul = (lambda k, v: F.mul(tw[k], v)) if s else (lambda k, v: v)
        if is_rows(log_n, s):
            f = Func(f"{name}_s{s}", shape=(2 * h, R))
            m = q & (h - 1)
            f[q, r] = F.add(row(m, 2 * r), negate_where(F, mul(m, row(m, 2 * r + 1)), q >> s))
            row = (lambda g: lambda m, c: g[m, c])(f)
        else:
            f = Func(f"{name}_s{s}", shape=(2, n // 2))
            t = mul(j >> (log_n - 1 - s), flat(2 * j + 1))
            f[e, j] = F.add(flat(2 * j), negate_where(F, t, e))
        flat = _flat(f)
        stages.append(f)
    if inverse:
        out = Func(f"{name}_scaled", shape=(n,))
        out[i] = F.mul(flat((n - i) & (n - 1)), F.constant(pow(n, -1, F.p)))
    else:
        out = Func(f"{name}_out", shape=(n,))
        out[i] = flat(i)
    return NTT(log_n, rev, tuple(stages), out, tuple(twiddles))


def ntt_pipeline(F: PrimeField, log_n: int, inverse: bool = False, name: str = "ntt") -> Pipeline:
    """A pipeline computing one NTT of length ``N = 2**log_n`` (``sympy``'s ``ntt``, or
    ``intt`` with ``inverse=True``). Inputs: ``x`` (N,) ``F.dtype`` field values (integers in
    [0, p), not encoded) and ``w`` (N/2,) the :func:`twiddles` (for log_n ≥ 2: a length-2
    transform has no twiddle but 1, and its pipeline no ``w``); output ``y`` (N,), the field
    values of the transform. The stages transform the values as they are (the transform is
    linear, and a Montgomery product of an encoded twiddle with a plain value is the plain
    product: module docstring), so no conversion is computed. The transform's Funcs are named
    ``<name>_rev``, ``<name>_w<s>``, ``<name>_s<s>``, ``<name>_out`` / ``<name>_scaled``."""
    check_log_n(F, log_n)
    n = 1 << log_n
    x = Input("x", F.dtype, (n,))
    w = Input("w", F.dtype, (n // 2,))
    t = define_ntt(F, lambda k: x[k], w, log_n, name, inverse)
    i = Var("i")
    y = Func("y", shape=(n,))
    y[i] = t.out[i]
    return Pipeline(y, name=name)


def schedule_stages(s, t: NTT, threads: int) -> None:
    """Append to Schedule ``s`` the directives of one transform ``t`` (module docstring, "How
    to schedule it"): the bit reversal a root kernel of its own, moved in tiles
    (:func:`schedule_bit_reversal`), and every stage a root kernel in which one work item
    computes both points of a butterfly pair (the sign's loop, extent 2, unrolled innermost:
    the product once) in blocks of ``threads`` work items:

    - a stage of rows ``(2h, R)``: ``q`` split into the sign ``e`` and the twiddle index ``m``;
      for ``R ≥ threads`` one block per ``threads`` pairs of a row (``r`` split, the blocks
      ``m`` and ``ro`` fused into one grid dimension), else blocks of ``threads / R`` rows
      with threads in two dimensions (``r`` fastest), so a work-group's ``r`` are consecutive;
    - a flat stage ``(2, N/2)``: blocks of ``threads`` pairs ``j``.

    The new loops are named after the transform (``<name>_sg``, ``<name>_m``, ``<name>_ro``,
    … and ``<name>_rev_c``, … for the bit reversal), so no name of the pipeline is taken.

    ``t.out``, the twiddle tables and the inverse's scaling are left to the caller (inlined
    unless scheduled). On PoCL (2**20 BabyBear points) a stage of rows takes 0.26–0.37 ms,
    a flat stage 0.3–0.7 ms (its twiddle a gather), the bit reversal 1.5–3.2 ms: docs/fields.md.
    Raises vx.ScheduleError for a ``threads`` that is not a power of two."""
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1 \
            or threads & (threads - 1):
        raise errors.ScheduleError(f"schedule_stages({t.out.name}): threads = {threads!r} "
                                   "must be a power of two (blocks of whole rows)")
    outputs = set(s.pipe.outputs)
    p = t.rev.name[:-len("rev")]                # new loop names: the transform's prefix
    e, m, ro, ri, mr, mo, mi = (p + v for v in ("sg", "m", "ro", "ri", "mr", "mo", "mi"))
    for k, f in enumerate(t.stages):
        stage = s[f.name] if f in outputs else s[f.name].compute_root()
        q, r = (v.name for v in f.pure_vars)
        h, R = 1 << k, 1 << (t.log_n - 1 - k)
        if not is_rows(t.log_n, k):                 # (e, j)
            stage.split(r, ro, ri, threads).reorder(ro, ri, q).unroll(q) \
                .gpu_blocks(ro).gpu_threads(ri)
        elif R >= threads:
            stage.split(q, e, m, h).split(r, ro, ri, threads).reorder(m, ro, ri, e).unroll(e) \
                .fuse(m, ro, mr).gpu_blocks(mr).gpu_threads(ri)
        else:
            stage.split(q, e, m, h).split(m, mo, mi, threads // R).reorder(mo, mi, r, e) \
                .unroll(e).gpu_blocks(mo).gpu_threads(mi, r)
    schedule_bit_reversal(s, t, threads)


REV_TILE_LOG = 4           # the bit reversal's tiles: 2**4 x 2**4 points


def schedule_bit_reversal(s, t: NTT, threads: int) -> None:
    """Append to Schedule ``s`` the bit reversal of ``t`` as a root kernel that moves
    ``2**k × 2**k`` tiles (``k = REV_TILE_LOG``), one per block of ``2**(2k)`` threads: with
    ``i = (r · 2**(n−2k) + m) · 2**k + c`` (block ``m``, thread ``(c, r)``, ``c`` fastest),
    ``bitrev(i) = (rev(c) · 2**(n−2k) + rev(m)) · 2**k + rev(r)``, so a block writes ``2**k``
    runs of ``2**k`` consecutive points (over ``c``) and reads ``2**k`` runs of ``2**k``
    consecutive points (over ``r``): each cache line it touches is used whole, where a plain
    1-D order reads one word per line at a stride of ``N / 2**k`` words. On PoCL (2**20
    BabyBear points) this took the pass from 10.3 ms to 3.0 ms; computed per tile inside the
    fused kernel, the same gather made that kernel 58 ms. Lengths below ``2**(2k)``: blocks
    of ``threads`` points in order (all in cache anyway)."""
    i, k, n = t.rev.pure_vars[0].name, REV_TILE_LOG, t.log_n
    io, ii, c, r, m = (t.rev.name + v for v in ("_io", "_ii", "_c", "_r", "_m"))
    rev = s[t.rev.name].compute_root()
    if n < 2 * k:
        rev.split(i, io, ii, threads).gpu_blocks(io).gpu_threads(ii)
        return
    rev.split(i, io, c, 1 << k).split(io, r, m, 1 << (n - 2 * k)) \
        .reorder(m, r, c).gpu_blocks(m).gpu_threads(r, c)
