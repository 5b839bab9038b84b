"""Schedule directives: one frozen dataclass per Halide scheduling call, referring to Funcs and
loop variables by name.

A directive is plain data. ``to_args()`` gives its positional arguments as TOML values (tuple
fields flattened, enums as their string), ``from_args(list)`` checks and rebuilds it, and
``DIRECTIVES`` maps the method/TOML name to the class. What a loop directive *does* to a Func's
loop nest (and when it cannot be applied) is defined once in :mod:`vortex.schedule.nest`; the
other directives are checked in :mod:`vortex.schedule.replay`.

Loop variables are listed **outermost first** everywhere (numpy order). Where Halide lists
innermost first (``reorder``) Vortex deviates, on purpose, so that ``reorder(ko, yi, xi, ki)``
reads like the loop nest it produces.

Source: Halide's ``Func``/``Stage`` scheduling API (split, tile, reorder, fuse, gpu_*, vectorize,
unroll, compute_at, store_at, compute_root, store_in, bound, specialize); TVM's trace of frozen records.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from enum import Enum
from typing import ClassVar

from .args import ArgError, check_count, check_int, check_name, check_stage, py_args


class MemoryType(Enum):
    """Where a Func's buffer lives: ``store_in("shared")`` / ``"register"`` / ``"global"``."""

    GLOBAL = "global"
    SHARED = "shared"
    REGISTER = "register"


class Directive:
    """Base of all directives: ``name`` (method / TOML key), ``to_args``, ``from_args``."""

    name: ClassVar[str]
    kinds: ClassVar[tuple] = ()   # fixed-arity directives: "name" | "int" | "pos" per field

    def to_args(self) -> list:
        out = []
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, tuple):
                out.extend(v)
            elif isinstance(v, MemoryType):
                out.append(v.value)
            elif v is not None:
                out.append(v)
        return out

    @classmethod
    def from_args(cls, args) -> "Directive":
        args = check_count(args, len(cls.kinds))
        checks = {"name": lambda v, w: check_name(v), "stage": lambda v, w: check_stage(v),
                  "int": check_int,
                  "pos": lambda v, w: check_int(v, w, positive=True)}
        return cls(*(checks[k](a, f.name) for k, a, f in zip(cls.kinds, args, fields(cls))))

    def python_args(self) -> str:
        """The arguments as Python source (for ``Schedule.to_python``)."""
        return py_args(self.to_args())

    def __str__(self) -> str:
        return f"{self.name}({', '.join(map(str, self.to_args()))})"


def _directive(name: str):
    def wrap(cls):
        cls = dataclass(frozen=True)(cls)
        cls.name = name
        return cls
    return wrap


@_directive("split")
class Split(Directive):
    """Split loop ``var`` into ``outer`` × ``inner`` (inner has extent ``factor``).
    Before: ``for x`` — after: ``for xo: for xi in [0, factor): x = xo*factor + xi``.
    ``outer`` may reuse ``var``'s name, as in Halide (``split(x, x, xi, 8)``: ``for x: for xi``);
    from then on ``x`` names the new outer loop in every later directive (``gpu_blocks(x)``,
    ``compute_at(f, x)``). ``inner`` must be a new name."""

    var: str
    outer: str
    inner: str
    factor: int
    kinds = ("name", "name", "name", "pos")


@_directive("ragged_split")
class RaggedSplit(Directive):
    """Split pure loop ``var`` (extent E) of a root Func along the segments of a packed
    ("CSR"/jagged) axis: ``offsets`` is a 1-D integer Input declared ``range=`` within [0, E]
    and ``monotone=True``; its n values cut [0, E) into n + 1 segments (the rows before
    ``offsets[0]`` and after ``offsets[n - 1]`` are segments too). ``outer`` counts the W =
    floor(E / factor) + n + 1 slots of a *tile table*; each slot is one tile of at most
    ``factor`` rows inside one segment, or empty. Before: ``for t in [0, E)`` — after: ``for
    to in [0, W): for ti in [0, factor): if (ti < len[to]) t = start[to] + ti``. Every row is
    visited once and no tile straddles two segments, so a block bound to ``outer`` works for
    one sequence (and ``factor`` - 1 < len holds on every tile but a segment's last: the
    ``partition`` pass gives those an unguarded version). A small *inspector* kernel launched
    before the Func's builds the table from the offsets (segment k owns the slots from
    floor(c_k / factor) + k, c_k its first row; :mod:`vortex.lower.ragged`). ``outer`` must be
    bound to gpu_blocks. Refused (vx.ScheduleError) on a var made by split/fuse, a reduction
    var, an update stage and a Func computed at another's loops.

    Sources: the inspector–executor model (Saltz, Mirchandaney, Crowley, "Run-time
    parallelization and scheduling of loops", IEEE TC 1991); CUTLASS grouped GEMM's problem
    visitor and FlashAttention varlen's ``cu_seqlens`` tile mapping."""

    var: str
    offsets: str
    outer: str
    inner: str
    factor: int
    kinds = ("name",) * 4 + ("pos",)


@_directive("tile")
class Tile(Directive):
    """``split(y, yo, yi, fy)``, ``split(x, xo, xi, fx)``, then ``reorder(yo, xo, yi, xi)``.
    Before: ``for y: for x`` — after: ``for yo: for xo: for yi: for xi``. The outer vars may
    reuse the split vars' names as in :class:`Split` (Halide's ``tile(x, y, xi, yi, …)``):
    ``tile(y, x, y, x, yi, xi, 8, 8)`` gives ``for y: for x: for yi: for xi``."""

    y: str
    x: str
    yo: str
    xo: str
    yi: str
    xi: str
    fy: int
    fx: int
    kinds = ("name",) * 6 + ("pos", "pos")


class _VarList(Directive):
    """A directive whose arguments are 1 to ``most`` loop names (field ``vars``)."""

    most: ClassVar[int] = 64

    @classmethod
    def from_args(cls, args):
        args = check_count(args, 1, cls.most)
        return cls(tuple(check_name(a) for a in args))


@_directive("reorder")
class Reorder(_VarList):
    """Put the listed loops in the listed order, **outermost first** (Halide: innermost first);
    the positions they occupy are refilled in that order, unlisted loops stay where they are.
    Before: ``for y: for x: for k`` — ``reorder(k, y)`` — after: ``for k: for x: for y``."""

    vars: tuple


@_directive("fuse")
class Fuse(Directive):
    """Merge adjacent loops ``outer`` (directly outside) and ``inner`` into ``fused``, which takes
    ``outer``'s place. Before: ``for y: for x`` — after: ``for yx: y = yx / X; x = yx % X``.
    ``fused`` may reuse the name of ``outer`` or ``inner``, as in Halide (``fuse(y, x, x)``, in
    Halide's inner-first order ``fuse(x, y, x)``)."""

    outer: str
    inner: str
    fused: str
    kinds = ("name", "name", "name")


class _Bind(_VarList):
    """Binding of 1 to 3 loops to a GPU grid axis; the LAST var listed maps to ``.x``, then
    ``.y``, ``.z``. Several binding calls on one Func accumulate in call order (at most three vars
    in all) and the combined list follows the same rule."""

    vars: tuple
    most = 3


@_directive("gpu_blocks")
class GpuBlocks(_Bind):
    __doc__ = "Run the listed loops as the grid of blocks (blockIdx). " + _Bind.__doc__
    vars: tuple


@_directive("gpu_threads")
class GpuThreads(_Bind):
    __doc__ = "Run the listed loops as the threads of a block (threadIdx). " + _Bind.__doc__
    vars: tuple


@_directive("gpu_tile")
class GpuTile(Directive):
    """For k = 1..3 loops: split each ``vars[i]`` into ``blocks[i]`` × ``threads[i]`` by
    ``factors[i]``, reorder all blocks outside all threads, bind them with gpu_blocks/gpu_threads.
    Arguments flattened: vars, blocks, threads, factors (``gpu_tile(x, bx, tx, 64)``). A block
    var may reuse its var's name as in :class:`Split` (``gpu_tile(y, x, y, x, ty, tx, 16, 16)``).
    Before: ``for y: for x`` — after: ``blockIdx.y, blockIdx.x, threadIdx.y, threadIdx.x``."""

    vars: tuple
    blocks: tuple
    threads: tuple
    factors: tuple

    @classmethod
    def from_args(cls, args):
        args = check_count(args, 4, 12)
        k = len(args) // 4
        if len(args) != 4 * k:
            raise ArgError(f"takes 4, 8 or 12 arguments (k vars, k block vars, k thread vars, "
                           f"k factors), got {len(args)}")
        names = tuple(check_name(a) for a in args[:3 * k])
        factors = tuple(check_int(a, "factor", positive=True) for a in args[3 * k:])
        return cls(names[:k], names[k:2 * k], names[2 * k:], factors)


class _Inner(Directive):
    """With ``factor``: first split ``var`` into the outer loop (keeping the name ``var``) and a
    fresh inner loop of extent ``factor`` named ``var + suffix``; the inner loop is then the one
    transformed. Without: ``var`` itself is transformed (its extent should be a constant)."""

    var: str
    factor: int | None = None
    suffix: ClassVar[str] = ""

    @classmethod
    def from_args(cls, args):
        args = check_count(args, 1, 2)
        factor = check_int(args[1], "factor", positive=True) if len(args) == 2 else None
        return cls(check_name(args[0]), factor)

    @property
    def target(self) -> str:
        """The loop that is vectorized/unrolled (``var`` or ``var + suffix``)."""
        return self.var if self.factor is None else self.var + self.suffix


@_directive("vectorize")
class Vectorize(_Inner):
    __doc__ = "Vectorize a loop (SIMD lanes / vector loads). " + _Inner.__doc__
    var: str
    factor: int | None = None
    suffix: ClassVar[str] = "_vi"


@_directive("unroll")
class Unroll(_Inner):
    __doc__ = "Fully unroll a loop. " + _Inner.__doc__
    var: str
    factor: int | None = None
    suffix: ClassVar[str] = "_ui"


@_directive("compute_at")
class ComputeAt(Directive):
    """Compute this Func inside loop ``var`` of its (transitive) consumer ``func``: the region
    one iteration of ``var`` needs. Before: ``for y, x: p[y, x] = …`` then ``for yo, xo, yi, xi:
    c[…] = p[…]`` — after: ``for yo, xo: {for the tile's y, x: p = …}; for yi, xi: c = p``.
    ``func`` may name an update stage, ``"f.update(n)"``: ``var`` is then one of that stage's
    loops (Halide's ``p.compute_at(f, r)``, ``r`` an RVar of f's update)."""

    func: str
    var: str
    kinds = ("stage", "name")


@_directive("store_at")
class StoreAt(Directive):
    """Allocate this Func's storage at loop ``var`` of ``func``, outside its ``compute_at`` loop
    (Halide's ``store_at``): the loops between must be serial, and each iteration of the
    compute_at loop computes only the part of the footprint the previous iterations did not (a
    sliding window; storage folded to a power of two ≥ the window along the sliding dimension).
    Before (``compute_at(g, yi)``): ``for yo: for yi: {p over rows yi-2..yi+2}; g = p`` — after
    (``store_at(g, yo)``): ``for yo: {alloc p[8]}; for yi: {p over rows yi+2 (all 5 at yi = 0)};
    g = p``. See :mod:`vortex.lower.sliding`."""

    func: str
    var: str
    kinds = ("name", "name")


@_directive("compute_root")
class ComputeRoot(Directive):
    """Compute this Func entirely, in its own kernel(s), before its consumers. Before (inline):
    ``c[y, x] = f(p-expr)`` — after: ``for y, x: p[y, x] = …`` then ``for y, x: c = f(p[y, x])``."""


@_directive("compute_inline")
class ComputeInline(Directive):
    """Substitute this Func's definition into its consumers (the default for intermediates);
    the inverse of compute_root. Not for outputs or Funcs with update definitions."""


@_directive("atomic")
class Atomic(Directive):
    """On an update stage (``s[f].update(n).atomic()``): commit each point with an atomic
    read-modify-write, so RVar loops whose iterations may write the same point (a histogram's
    ``hist[img[r]] += 1``) can run in parallel. Needs ``f[L] = f[L] op e`` on int32, uint32 or
    float32 (:mod:`vortex.schedule.races`). Source: Halide's ``Stage::atomic()``."""


@_directive("rfactor")
class RFactor(Directive):
    """On an update stage, as its first directive (``s[f].update(n).rfactor(rv, u)``): split
    the associative update into an intermediate Func ``f_intm`` with RVar ``rv`` made the pure
    Var ``u`` (partial results, parallel without atomics) and a merge over ``rv``
    (:mod:`vortex.schedule.rfactor`). Source: Halide's ``Stage::rfactor``."""

    rvar: str
    var: str
    kinds = ("name", "name")


@_directive("store_in")
class StoreIn(Directive):
    """Where this Func's buffer lives: ``"global"``, ``"shared"`` (needs compute_at: one
    buffer per block, filled cooperatively) or ``"register"`` (per thread)."""

    memory: MemoryType

    @classmethod
    def from_args(cls, args):
        (value,) = check_count(args, 1)
        try:
            return cls(MemoryType(value))
        except (ValueError, TypeError):
            raise ArgError(f"memory must be one of {[m.value for m in MemoryType]}, "
                           f"got {value!r}") from None


@_directive("mma")
class Mma(Directive):
    """Compute the three innermost loops ``i``, ``j`` (pure) and ``k`` (the reduction), a tile
    ``C[i, j] += A[i, k] * B[k, j]`` whose extents are the shape of a warp-level matrix
    instruction (NVIDIA ``mma.sync`` m16n8k16 …, AMD MFMA 16x16x16 …: :mod:`vortex.mma`), with
    that instruction: the lanes of one warp (wavefront) hold the tile in registers and compute
    it together. The directive adds the loop ``mma_lane`` over the lanes, bound to thread axis
    x (so ``mma`` comes before ``gpu_threads``, whose loops then count warps on y and z). On
    OpenCL each lane computes the accumulator elements its fragment holds with plain loops,
    reading the same addresses. ``input_precision="tf32"`` (Triton's ``tl.dot`` option of the
    same name) lets float32 inputs use the tf32 instruction (m16n8k8 on sm_80+): each input
    rounded to 10 mantissa bits, so it changes results and is opt-in; the default "ieee" keeps
    float32 exact (no instruction: the schedule is rejected). TVM's ``tensorize``, Triton's
    ``tl.dot``; docs/tensor_cores.md."""

    i: str
    j: str
    k: str
    input_precision: str = "ieee"

    def to_args(self) -> list:
        out = [self.i, self.j, self.k]
        return out + [{"input_precision": self.input_precision}] \
            if self.input_precision != "ieee" else out

    @classmethod
    def from_args(cls, args) -> "Mma":
        args = list(args)
        opts = args.pop() if args and isinstance(args[-1], dict) else {}
        i, j, k = (check_name(a) for a in check_count(args, 3))
        unknown = sorted(set(opts) - {"input_precision"})
        if unknown:
            raise ArgError(f"unknown option(s) {unknown}; the option is input_precision")
        precision = opts.get("input_precision", "ieee")
        if precision not in PRECISIONS:
            raise ArgError(f"input_precision must be one of {sorted(PRECISIONS)}, got "
                           f"{precision!r}")
        return cls(i, j, k, precision)

    def python_args(self) -> str:
        extra = f", input_precision={self.input_precision!r}" \
            if self.input_precision != "ieee" else ""
        return py_args([self.i, self.j, self.k]) + extra


# mma input precisions: "ieee" (exact instructions only) and the names an instruction's
# ``opt_in`` may carry (vortex.mma: used only under that input_precision).
PRECISIONS = ("ieee", "tf32")


@_directive("bound")
class Bound(Directive):
    """Assert that pure var ``var`` ranges over ``[min, min + extent)`` (constant loop bounds)."""

    var: str
    min: int
    extent: int
    kinds = ("name", "int", "pos")


def divisible(dim, n: int) -> tuple:
    """``s[C].specialize(vx.divisible(M, 64))``: the condition "Dim M is a multiple of n"."""
    return ("divisible", getattr(dim, "name", dim), n)


# Specialization conditions: kind -> argument kinds after the kind.
CONDITIONS = {"divisible": ("dim", "pos")}


@_directive("specialize")
class Specialize(Directive):
    """Generate an unguarded version of the kernel for inputs meeting ``condition`` (e.g.
    ``("divisible", "M", 64)``) next to the general, guarded one."""

    condition: tuple

    @classmethod
    def from_args(cls, args):
        args = check_count(args, 1, 8)
        kind = args[0]
        if not isinstance(kind, str) or kind not in CONDITIONS:
            raise ArgError(f"unknown condition {kind!r} (known: {', '.join(CONDITIONS)})")
        rest = check_count(args[1:], len(CONDITIONS[kind]))
        checks = {"dim": lambda v: check_name(v, "Dim name"),
                  "pos": lambda v: check_int(v, "condition value", positive=True)}
        return cls((kind, *(checks[k](v) for k, v in zip(CONDITIONS[kind], rest))))

    def python_args(self) -> str:
        kind, *rest = self.condition
        return f"vx.{kind}({py_args(rest)})"


DIRECTIVES: dict[str, type[Directive]] = {cls.name: cls for cls in (
    Split, Tile, Reorder, Fuse, GpuBlocks, GpuThreads, GpuTile, Vectorize, Unroll, ComputeAt,
    StoreAt, ComputeRoot, ComputeInline, StoreIn, Bound, Specialize, Atomic, RFactor, Mma,
    RaggedSplit)}
