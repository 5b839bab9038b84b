"""The number-theoretic transform (NTT) over a prime field of :mod:`vortex.lib.fields`, as a
pipeline of radix-2 butterfly stages written in the algorithm language.

For ``x`` of length ``N = 2**n`` over GF(p) and ``ω = F.root_of_unity(N)``
(``generator ** ((p − 1) / N)``, the root ``sympy.discrete.transforms.ntt`` uses)::

    forward:  X[k] = Σ_j x[j] · ω**(j·k)            (= sympy.discrete.transforms.ntt(x, p))
    inverse:  x[j] = N⁻¹ · Σ_k X[k] · ω**(−j·k)      (= sympy.discrete.transforms.intt(X, p))

The algorithm is iterative decimation-in-time Cooley–Tukey (Cormen et al., *Introduction to
Algorithms*, §30.3): a bit-reversal permutation, then ``n`` butterfly stages. Each is a Func of
shape ``(N,)`` over one Var ``i``, named ``<name>_rev``, ``<name>_s0`` … ``<name>_s{n−1}``:

- ``rev[i] = x[bitrev_n(i)]``, the bit reversal written as an index expression (the sum of
  ``((i >> b) & 1) << (n−1−b)``), so bounds inference proves it in ``[0, N)``;
- stage ``s`` (half-width ``h = 2**s``) pairs ``lo`` (``i`` with bit ``s`` cleared) and
  ``hi = lo + h`` (``lo = ((i >> (s+1)) << (s+1)) + (i & (h−1))``): with the product
  ``t = ω_{2h}**(i mod h) · a[hi]`` it is ``a[lo] + t`` where bit ``s`` of ``i`` is 0 and
  ``a[lo] − t`` where it is 1, computed as one ``F.add(a[lo], ±t)`` with ``−t`` the word
  ``p − t`` picked by a mask of the bit (:func:`negate_where`: no branch, ``t`` written
  once). The products are a Func of their own per stage ``s ≥ 1``, ``<name>_t<s>`` of shape
  ``(N/2,)``, one per butterfly pair ``j``, so the schedule decides where each is computed:
  at root (``N/2`` multiplications and a pass over memory), or inlined (the default for an
  intermediate: each point computes its pair's product, ``N`` multiplications). The twiddle
  ``ω_{2h}**j`` is ``w[j · N / (2h)]`` of the table ``w[k] = ω**k``, ``k < N/2`` (an Input:
  :func:`twiddles` makes it), as in sympy's loop, read through a Func per stage,
  ``<name>_w<s>[j] = w[j · N / (2h)]`` of shape ``(h,)``: inlined it is that read; at root
  (:func:`schedule_twiddles`) a small table of consecutive words.

Each stage is a pure Func, so every target parallelizes it without atomics or races.

The inverse uses the same table: ``Σ_k X[k] ω**(−jk)`` is the forward transform read at
``(N − j) mod N``; the output Func reads the last stage there and multiplies by ``N⁻¹``
(:func:`define_ntt` with ``inverse=True``).

How to schedule it (:func:`schedule_stages`): stage ``s`` reads only inside aligned blocks of
``2**(s+1)`` points, so the first ``log2(tile)`` stages of a tile of ``tile`` points need no
other tile: on a GPU they are computed per block in shared memory (``compute_at`` the tile's
block loop + ``store_in("shared")``), and the remaining stages run as global passes, one kernel
each. The bit reversal reads across the whole input, so it is a pass of its own that moves
square tiles (:func:`schedule_bit_reversal`): read per tile inside the fused kernel, its gather
touched one word per cache line. On PoCL (no barriers: docs in schedules/README.md) every stage
is a root kernel with vectorized work-items.

Sources: Cooley & Tukey, "An algorithm for the machine calculation of complex Fourier series",
Math. Comp. 19 (1965); the iterative form, Cormen, Leiserson, Rivest, Stein, *Introduction to
Algorithms*, 3rd ed., §30.3; the root convention, ``sympy.discrete.transforms.ntt``.
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
    input), ``stages`` (``s0`` … ``s{n−1}``, in order), ``products`` (``t1`` … ``t{n−1}``: the
    twiddle products of stages 1 …, one per butterfly pair), ``out`` (the result: the last
    stage, or for the inverse the Func that reads it reversed and scales by ``N⁻¹``) and
    ``twiddles`` (``w1`` … ``w{n−1}``: each stage's twiddles read from ``w``)."""

    log_n: int
    rev: Func
    stages: tuple
    products: tuple
    out: Func
    twiddles: tuple = ()

    @property
    def funcs(self) -> tuple:
        """Every Func of the transform, producers first (``out`` last)."""
        extra = () if self.out is self.stages[-1] else (self.out,)
        return (*self.twiddles, self.rev, *self.stages, *self.products, *extra)

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
                   tuple(funcs[f"{name}_t{s}"] for s in range(1, log)),
                   funcs.get(f"{name}_scaled", funcs[f"{name}_s{log - 1}"]),
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


def define_ntt(F: PrimeField, load, w, log_n: int, name: str, inverse: bool = False) -> NTT:
    """Define the Funcs of a length-``2**log_n`` NTT (module docstring) and return them.

    ``load(k)`` gives the input element at an index expression ``k`` in [0, 2**log_n) (e.g.
    ``lambda k: x[k]``, or a ``to_field`` of a padded Input); ``w`` is the twiddle Input of
    shape ``(2**(log_n − 1),)`` holding :func:`twiddles`. The result ``out`` (shape
    ``(2**log_n,)``, elements) is the forward transform, or with ``inverse=True`` the inverse
    (scaled by ``N⁻¹``). Funcs are named ``<name>_rev``, ``<name>_s<k>`` and, for the inverse,
    ``<name>_scaled`` (the scaled output). Raises vx.TypeError for a log_n out of range."""
    check_log_n(F, log_n)
    n = 1 << log_n
    i = Var(f"{name}_i")
    rev = Func(f"{name}_rev", shape=(n,))
    rev[i] = load(bit_reverse(i, log_n))
    j = Var(f"{name}_j")
    stages, products, twiddles, a = [], [], [], rev
    for s in range(log_n):
        h = 1 << s
        lo = ((i >> (s + 1)) << (s + 1)) + (i & (h - 1))
        if s == 0:
            t = a[lo + h]
        else:
            tw = Func(f"{name}_w{s}", shape=(h,))             # this stage's h twiddles
            tw[j] = w[j << (log_n - 1 - s)]
            prod = Func(f"{name}_t{s}", shape=(n // 2,))      # one product per pair j
            pair_lo = ((j >> s) << (s + 1)) + (j & (h - 1))
            prod[j] = F.mul(tw[j & (h - 1)], a[pair_lo + h])
            products.append(prod)
            twiddles.append(tw)
            t = prod[((i >> (s + 1)) << s) + (i & (h - 1))]
        f = Func(f"{name}_s{s}", shape=(n,))
        f[i] = F.add(a[lo], negate_where(F, t, (i >> s) & 1))
        stages.append(f)
        a = f
    out = a
    if inverse:
        out = Func(f"{name}_scaled", shape=(n,))
        out[i] = F.mul(a[(n - i) % n], F.constant(pow(n, -1, F.p)))
    return NTT(log_n, rev, tuple(stages), tuple(products), out, tuple(twiddles))


def ntt_pipeline(F: PrimeField, log_n: int, inverse: bool = False, name: str = "ntt") -> Pipeline:
    """A pipeline computing one NTT of length ``N = 2**log_n`` (``sympy``'s ``ntt``, or
    ``intt`` with ``inverse=True``). Inputs: ``x`` (N,) ``F.dtype`` field values (integers in
    [0, p), not encoded) and ``w`` (N/2,) the :func:`twiddles` (for log_n ≥ 2: a length-2
    transform has no twiddle but 1, and its pipeline no ``w``); output ``y`` (N,), the field
    values of the transform. The transform's Funcs are named ``<name>_rev``,
    ``<name>_s<k>`` (and ``<name>_scaled`` for the inverse)."""
    check_log_n(F, log_n)
    n = 1 << log_n
    x = Input("x", F.dtype, (n,))
    w = Input("w", F.dtype, (n // 2,))
    t = define_ntt(F, lambda k: F.to_field(x[k]), w, log_n, name, inverse)
    i = Var("i")
    y = Func("y", shape=(n,))
    y[i] = F.from_field(t.out[i])
    return Pipeline(y, name=name)


def schedule_stages(s, t: NTT, fused: int, threads: int, memory: str = "shared",
                    root_products: bool | None = None) -> None:
    """Append to Schedule ``s`` the directives of one transform ``t`` (module docstring, "How
    to schedule it"): the bit reversal a root kernel of its own, moved in tiles
    (:func:`schedule_bit_reversal`); stages ``s0`` … ``s{fused−1}`` computed per tile of
    ``2**fused`` points, the last of them a root kernel with one GPU block per tile and
    ``threads`` threads (each ``2**fused / threads`` points, strided: coalesced), the others
    ``compute_at`` its block loop in ``memory`` (``"shared"``: a cooperative fill and a barrier
    per stage); the remaining stages root kernels of ``threads``-thread blocks, one point per
    thread, their products inlined (each point computes its pair's product: ``N``
    multiplications a stage, no extra pass) or with ``root_products`` root kernels (``N/2``
    multiplications and a pass over ``N/2`` words; ``None``, the default: root for the stages
    of half-width ``2**k`` below ``RUN`` and ``threads``, whose loads stay gathers (on PoCL,
    2**20 BabyBear points: stage 1 2.05 ms inlined, 1.73 ms with its product kernel), inlined
    above); global stages of half-width from ``RUN`` to below ``threads`` get threads in two
    dimensions (:func:`_blocks`); the fused stages' products are per tile in
    ``memory``, one per pair. (``compute_at`` the stage's thread loop, a product in registers
    per point without the repeated expression, is refused: bounds inference gives the pair
    index ``((i >> (s+1)) << s) + (i & (h−1))`` of one point ``i`` an interval of width ``h``,
    as ``&`` is bounded by its mask, not evaluated at a point.) ``fused = 0`` makes every
    stage global. ``t.out``, when it is not the last stage, is left to the caller (inlined
    unless scheduled). Raises vx.ScheduleError (from the directives) for a ``threads`` that
    does not divide the tile."""
    if not 0 <= fused <= t.log_n:
        raise errors.ScheduleError(f"schedule_stages({t.out.name}): fused = {fused!r} must be "
                                   f"from 0 to log_n = {t.log_n}")
    i = t.rev.pure_vars[0].name
    j = t.products[0].pure_vars[0].name if t.products else None
    outputs = set(s.pipe.outputs)
    for k, f in enumerate(t.stages):
        if f not in outputs:
            s[f.name].compute_root()
        if k + 1 == fused:
            tile = 1 << fused
            stage = s[f.name].split(i, "io", "ii", tile)
            if threads < tile:
                stage.split("ii", "ij", "it", threads).gpu_blocks("io").gpu_threads("it")
            else:
                stage.gpu_blocks("io").gpu_threads("ii")
        elif k >= fused:
            _blocks(s[f.name], i, k, threads)
    for k, prod in enumerate(t.products, start=1):     # the products of stage k
        root = (1 << k) < min(threads, RUN) if root_products is None else root_products
        if k >= fused and root:
            _blocks(s[prod.name].compute_root(), j, k, threads)
    schedule_bit_reversal(s, t, threads)
    schedule_twiddles(s, t, threads)
    if fused:
        last = t.stages[fused - 1].name
        for f in (*t.stages[:fused - 1], *t.products[:fused - 1]):
            s[f.name].compute_at(last, "io").store_in(memory)


RUN = 8    # points: the shortest run of consecutive words worth a thread dimension of its own


def _blocks(stage, var: str, k: int, threads: int) -> None:
    """Blocks of ``threads`` points of stage ``k``'s ``var``; where ``2**k`` (the half-width)
    is from ``RUN`` to below ``threads``, threads of two dimensions, ``2**k`` fastest: then
    the low ``k`` bits of a point are its fastest thread index, and its loads read consecutive
    words. In one dimension PoCL gathered them lane by lane (the index's bit ``k`` varies
    inside a work-group): stages 3–7 of 2**20 BabyBear points took 2.2–3.5 ms, in two
    dimensions 0.73–1.1 ms, as the stages above."""
    h = 1 << k
    if RUN <= h < threads:
        stage.split(var, "io", "ii", threads).split("ii", "iy", "ix", h).gpu_blocks("io") \
            .gpu_threads("iy", "ix")
    else:
        stage.split(var, "io", "ii", threads).gpu_blocks("io").gpu_threads("ii")


TWIDDLE_ROOT_STRIDE = 16   # words between a stage's twiddles in w from which it gets a table
REV_TILE_LOG = 4           # the bit reversal's tiles: 2**4 x 2**4 points


def schedule_twiddles(s, t: NTT, threads: int) -> None:
    """Append to Schedule ``s`` a root kernel per stage ``k`` whose twiddles lie at least
    ``TWIDDLE_ROOT_STRIDE`` words apart in ``w`` (``w_k[j] = w[j · 2**(n−1−k)]``, ``2**k``
    words): the stage then reads consecutive words of a small table instead of one word per
    cache line at a power-of-two stride (which also maps every read to the same cache set).
    The other stages read ``w`` directly (``w_k`` inlined). On PoCL (2**20 BabyBear points,
    8 fused stages, a machine under other load) the fused kernel went from 34.5 ms to 27.3 ms
    with these tables."""
    for k, tw in enumerate(t.twiddles, start=1):
        if 1 << (t.log_n - 1 - k) >= TWIDDLE_ROOT_STRIDE:
            j = tw.pure_vars[0].name
            s[tw.name].compute_root().split(j, "io", "ii", min(threads, 1 << k)) \
                .gpu_blocks("io").gpu_threads("ii")


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
    rev = s[t.rev.name].compute_root()
    if n < 2 * k:
        rev.split(i, "io", "ii", threads).gpu_blocks("io").gpu_threads("ii")
        return
    rev.split(i, "io", "c", 1 << k).split("io", "r", "m", 1 << (n - 2 * k)) \
        .reorder("m", "r", "c").gpu_blocks("m").gpu_threads("r", "c")
