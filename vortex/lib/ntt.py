"""The number-theoretic transform (NTT) over a prime field of :mod:`vortex.lib.fields`, as a
pipeline of radix-2 butterfly stages written in the algorithm language.

For ``x`` of length ``N = 2**n`` over GF(p) and ``ω = F.root_of_unity(N)``
(``generator ** ((p − 1) / N)``, the root ``sympy.discrete.transforms.ntt`` uses)::

    forward:  X[k] = Σ_j x[j] · ω**(j·k)            (= sympy.discrete.transforms.ntt(x, p))
    inverse:  x[j] = N⁻¹ · Σ_k X[k] · ω**(−j·k)      (= sympy.discrete.transforms.intt(X, p))

The algorithm is Stockham's self-sorting form of the decimation-in-time Cooley–Tukey FFT: the
input in natural order, ``n`` butterfly stages, the output in natural order, **no bit-reversal
pass**. Stage ``s`` (``h = 2**s``, ``R = 2**(n − 1 − s)``) sees the previous stage's ``N``
points as ``h`` rows of ``2R`` and writes its own as ``2h`` rows of ``R``: for row ``m < h`` and
column ``r < R``::

    u = prev[m, r],   t = ω**(m·R) · prev[m, r + R]
    out[m, r] = u + t,   out[h + m, r] = u − t

(stage 0 reads the input at ``r`` and ``r + N/2``). Each butterfly pair is one work item that
computes the product ``t`` once and writes both points; every load and store of a row is a run
of consecutive words and the twiddle ``ω**(m·R)`` is the same for the whole row. Why it sorts
itself: position ``m·2R + c·R + r`` of stage ``s``'s input holds the point whose index in the
textbook (in-place, bit-reversed-input) order has bit ``s`` = ``c``; writing the outputs to rows
``m`` and ``h + m`` moves that bit to the top, so after ``n`` stages every bit is back in place.
(Checked against sympy for lengths 2**1 … 2**12 in tests/lib/test_ntt.py.)

The Funcs, named ``<name>_…``:

- ``w<s>[m] = w[m · R]`` (shape ``(h,)``, ``s ≥ 1``): stage ``s``'s twiddles read from the table
  ``w[k] = ω**k``, ``k < N/2`` (an Input: :func:`twiddles` makes it);
- ``s<s>``, stage ``s``, shape ``(2h, R)``: ``s<s>[q, r] = F.add(u, ±t)`` with the row
  ``m = q & (h − 1)`` and the sign ``q >> s``; ``−t`` is the word ``p − t`` picked by a mask
  (:func:`negate_where`: no branch). A schedule that computes both points of a pair in one work
  item (:func:`schedule_stages`: the sign's loop unrolled innermost) has the product once: the
  C compilers merge the two copies of ``t`` (PoCL's LLVM: one Montgomery product per pair in
  the assembly);
- ``out`` (shape ``(N,)``): ``<name>_out[i] = s<n−1>[i, 0]``, or for the inverse
  ``<name>_scaled``, which reads it at ``(N − i) mod N`` and multiplies by ``N⁻¹``
  (``Σ_k X[k] ω**(−jk)`` is the forward transform read at ``(N − j) mod N``, with the same
  table); inlined unless scheduled.

Every stage is a pure Func, so every target parallelizes it without atomics or races. The
transform is linear and ``F.mul`` of a Montgomery-form twiddle with a word ``v`` is ``ω**k · v``
in whichever form ``v`` is, so :func:`ntt_pipeline` transforms plain values without converting
them to Montgomery form and back.

How to schedule it (:func:`schedule_stages`): every stage one global pass, a pair per work
item, or with ``radix=4`` two stages per pass (a stage inlined into the next: the radix is a
schedule choice). An earlier version fused the first stages of a tile in shared memory
(``compute_at`` + ``store_in("shared")``); it was never faster than global passes on PoCL,
and in this form a block's rows of one stage come from rows spread over the whole array of
the stage before, so that path is gone.

Sources: Cooley & Tukey, "An algorithm for the machine calculation of complex Fourier series",
Math. Comp. 19 (1965); the self-sorting form, T. G. Stockham, "High-speed convolution and
correlation", AFIPS 1966, as presented in C. Van Loan, *Computational Frameworks for the Fast
Fourier Transform* (SIAM 1992), §1.7; the iterative form, Cormen, Leiserson, Rivest, Stein,
*Introduction to Algorithms*, 3rd ed., §30.3; the root convention,
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
    """The Funcs of one transform built by :func:`define_ntt`: ``stages`` (``s0`` …
    ``s{n−1}``, in order), ``out`` (the result, shape ``(N,)``: ``<name>_out`` reading the last
    stage, or for the inverse ``<name>_scaled``) and ``twiddles`` (``w1`` … ``w{n−1}``: each
    stage's twiddles read from ``w``)."""

    log_n: int
    stages: tuple
    out: Func
    twiddles: tuple = ()

    @property
    def funcs(self) -> tuple:
        """Every Func of the transform, producers first (``out`` last)."""
        return (*self.twiddles, *self.stages, self.out)

    @classmethod
    def find(cls, pipe: Pipeline, name: str = "ntt") -> "NTT":
        """The transform named ``name`` (:func:`define_ntt`'s ``name``) among ``pipe``'s
        Funcs. Raises vx.ScheduleError when ``pipe`` has no ``<name>_s0``."""
        funcs = {f.name: f for f in pipe.funcs}
        if f"{name}_s0" not in funcs:
            raise errors.ScheduleError(f"NTT.find: pipeline {pipe.name!r} has no transform "
                                       f"named {name!r} (no Func '{name}_s0')")
        log = int(funcs[f"{name}_s0"].shape[1].value).bit_length()
        return cls(log, tuple(funcs[f"{name}_s{s}"] for s in range(log)),
                   funcs.get(f"{name}_scaled") or funcs[f"{name}_out"],
                   tuple(funcs[f"{name}_w{s}"] for s in range(1, log)))


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


def define_ntt(F: PrimeField, load, w, log_n: int, name: str, inverse: bool = False) -> NTT:
    """Define the Funcs of a length-``2**log_n`` NTT (module docstring) and return them.

    ``load(k)`` gives the input element at an index expression ``k`` in [0, 2**log_n) (e.g.
    ``lambda k: x[k]``, or a ``to_field`` of a padded Input), in natural order; ``w`` is the
    twiddle Input of shape ``(2**(log_n − 1),)`` holding :func:`twiddles`. The result ``out``
    (shape ``(2**log_n,)``, natural order) is the forward transform, or with ``inverse=True``
    the inverse (scaled by ``N⁻¹``). Funcs are named ``<name>_w<s>``, ``<name>_s<s>``, and
    ``<name>_out`` or ``<name>_scaled``. Raises vx.TypeError for a log_n out of range."""
    check_log_n(F, log_n)
    n = 1 << log_n
    i, q, r = Var(f"{name}_i"), Var(f"{name}_q"), Var(f"{name}_r")
    prev = lambda m, c: load(c)                  # stage s − 1 as rows (h, 2R); the input: 1 row
    stages, twiddles = [], []
    for s in range(log_n):
        h, R = 1 << s, 1 << (log_n - 1 - s)
        m, v = q & (h - 1), prev(q & (h - 1), r + R)
        if s:
            tw = Func(f"{name}_w{s}", shape=(h,))
            tw[i] = w[i << (log_n - 1 - s)]
            twiddles.append(tw)
            v = F.mul(tw[m], v)
        f = Func(f"{name}_s{s}", shape=(2 * h, R))
        f[q, r] = F.add(prev(m, r), negate_where(F, v, q >> s))
        stages.append(f)
        prev = (lambda g: lambda m, c: g[m, c])(f)
    last = stages[-1]
    if inverse:
        out = Func(f"{name}_scaled", shape=(n,))
        out[i] = F.mul(last[(n - i) & (n - 1), 0], F.constant(pow(n, -1, F.p)))
    else:
        out = Func(f"{name}_out", shape=(n,))
        out[i] = last[i, 0]
    return NTT(log_n, tuple(stages), out, tuple(twiddles))


def ntt_pipeline(F: PrimeField, log_n: int, inverse: bool = False, name: str = "ntt") -> Pipeline:
    """A pipeline computing one NTT of length ``N = 2**log_n`` (``sympy``'s ``ntt``, or
    ``intt`` with ``inverse=True``). Inputs: ``x`` (N,) ``F.dtype`` field values (integers in
    [0, p), not encoded) and ``w`` (N/2,) the :func:`twiddles` (for log_n ≥ 2: a length-2
    transform has no twiddle but 1, and its pipeline no ``w``); output ``y`` (N,), the field
    values of the transform. The stages transform the values as they are (the transform is
    linear, and a Montgomery product of an encoded twiddle with a plain value is the plain
    product: module docstring), so no conversion is computed. The transform's Funcs are named
    ``<name>_w<s>``, ``<name>_s<s>``, ``<name>_out`` / ``<name>_scaled``."""
    check_log_n(F, log_n)
    n = 1 << log_n
    x = Input("x", F.dtype, (n,))
    w = Input("w", F.dtype, (n // 2,))
    t = define_ntt(F, lambda k: x[k], w, log_n, name, inverse)
    i = Var("i")
    y = Func("y", shape=(n,))
    y[i] = t.out[i]
    return Pipeline(y, name=name)


def schedule_stages(s, t: NTT, threads: int, radix: int = 2) -> None:
    """Append to Schedule ``s`` the directives of one transform ``t`` (module docstring, "How
    to schedule it"): every stage a root kernel in which one work item computes both points
    of a butterfly pair (the sign's loop, extent 2, unrolled innermost: the product once), in
    blocks of ``threads`` work items. A stage of rows ``(2h, R)`` has ``q`` split into the
    sign and the row ``m``, then

    - ``R ≥ threads``: one block per ``threads`` pairs of a row (``r`` split; the blocks ``m``
      and ``ro`` fused into one grid dimension), the twiddle the same in the whole block;
    - ``RUN ≤ R < threads``: blocks of ``threads / R`` rows, threads in two dimensions (``r``
      fastest), so a block's loads and stores are runs of ``R`` consecutive words;
    - ``R < RUN`` (the last stages): a work item per row ``m`` computing its ``R`` pairs in a
      loop over ``r`` (both signs unrolled inside it; PoCL's LLVM vectorizes that loop of
      consecutive words), unrolled for ``R < LOOP_MIN``; the stage's twiddles a table of
      ``h`` consecutive words (``<name>_w<s>`` at root) for ``R > 1``. (A thread per pair
      read runs of ``R < 16`` words, and PoCL vectorized across the rows with gathers: 0.9 to
      1.2 ms for ``R = 8`` against 0.3 ms.)

    ``radix=4`` computes two stages per pass where the second has ``R ≥ RUN``: stage ``k``
    (``k`` even) is inlined into stage ``k + 1``, whose work item then unrolls both signs and
    computes four points from four loads (the two products of stage ``k`` and the two of
    stage ``k + 1``, each once after the C compiler merges the copies): half the passes
    over memory. Inlining multiplies the printed expression of a product by that of the
    next: fine for BabyBear (a 2**20 transform lowers in about 5 s, 0.5 MB of source), not
    for Goldilocks, whose product reads its operands about 28 times (a 2**6 transform did
    not finish lowering in 200 s): use radix 2 there.

    The new loops are named after the transform (``<name>_sg``, ``<name>_m``, ``<name>_ro``,
    …), so no name of the pipeline is taken. ``t.out``, the other twiddle Funcs and the
    inverse's scaling are left to the caller (inlined unless scheduled). Raises
    vx.ScheduleError for a ``threads`` that is not a power of two or a ``radix`` not 2 or 4."""
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1 \
            or threads & (threads - 1):
        raise errors.ScheduleError(f"schedule_stages({t.out.name}): threads = {threads!r} "
                                   "must be a power of two (blocks of whole rows)")
    if radix not in (2, 4) or isinstance(radix, bool):
        raise errors.ScheduleError(f"schedule_stages({t.out.name}): radix = {radix!r} must be "
                                   "2 (a stage per pass) or 4 (two stages per pass)")
    outputs = set(s.pipe.outputs)
    p = t.stages[0].name[:-len("s0")]              # new loop names: the transform's prefix
    e, e2, mm, m, ro, ri, mr, mo, mi = (p + v for v in ("sg", "sg2", "mm", "m", "ro", "ri", "mr",
                                                        "mo", "mi"))
    inlined = {k for k in range(t.log_n - 1)      # radix 4: stage k inlined into k + 1
               if radix == 4 and k % 2 == 0 and 1 << (t.log_n - 2 - k) >= RUN}
    for k, f in enumerate(t.stages):
        if k in inlined:
            continue
        stage = s[f.name] if f in outputs else s[f.name].compute_root()
        q, r = (v.name for v in f.pure_vars)
        h, R = 1 << k, 1 << (t.log_n - 1 - k)
        if k - 1 in inlined:                          # radix 4: the sign of stage k − 1 too
            stage.split(q, e2, mm, h).split(mm, e, m, h // 2)
            signs = (e2, e)
        else:
            stage.split(q, e, m, h)
            signs = (e,)
        if R >= threads:
            stage.split(r, ro, ri, threads).reorder(m, ro, ri, *signs) \
                .fuse(m, ro, mr).gpu_blocks(mr).gpu_threads(ri)
        elif R >= RUN:
            stage.split(m, mo, mi, threads // R).reorder(mo, mi, r, *signs) \
                .gpu_blocks(mo).gpu_threads(mi, r)
        else:
            stage.split(m, mo, mi, threads).reorder(mo, mi, *signs, r) \
                .gpu_blocks(mo).gpu_threads(mi)
            if 1 < R < LOOP_MIN:
                stage.unroll(r)
            if R > 1:
                tw = t.twiddles[k - 1]
                j = tw.pure_vars[0].name
                s[tw.name].compute_root().split(j, mo, mi, threads).gpu_blocks(mo) \
                    .gpu_threads(mi)
        for sign in signs:
            stage.unroll(sign)


RUN = 16          # pairs: the shortest row whose pairs get a thread each (shorter: one per row)
LOOP_MIN = 4      # pairs: the shortest row computed in a loop (shorter: unrolled; R = 2 as a
                  # loop took 2.9 ms against 0.4-0.8 ms unrolled, 2**20 BabyBear points)
