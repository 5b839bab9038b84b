"""The GPU-specific directives: ``stage``, ``pipeline``, ``warp_specialize``, ``swizzle_blocks``.

They are separable from the loop directives: each names a loop of the Func and changes *how*
data reaches it, never *what* is computed, so results are identical with or without them.

- ``stage(X, at=ko, memory="shared", swizzle=None|"xor")``: the footprint of Input/Func ``X``
  that one iteration of loop ``ko`` reads is copied cooperatively by the block's threads into
  shared memory (or each thread's registers), between barriers. ``X`` is an Input or a Func
  computed at root, read by the Func directly or through Funcs inlined into it; reads of ``X``
  that the tile does not hold (outside ``ko``, or away from the others) read ``X`` itself. At a
  ``gpu_blocks`` loop the tile is copied once per block; a shared tile cannot be staged at a
  ``gpu_threads`` loop (each thread has its own iteration). An update stage stages the
  tiles its loops read, its producers' reads included (``s[f].update(0).stage(V, "ro")``;
  ``pipeline`` too, not ``warp_specialize`` or ``swizzle_blocks``). ``swizzle="xor"`` stores row r,
  column c at column ``c ^ (r % width)`` (the XOR-permuted layout of NVIDIA CUTLASS and
  Triton's ``swizzle``), so threads reading one column of different rows hit different banks.
- ``pipeline(ko, stages=n)``: an n-buffered software pipeline of the staged copies across
  iterations of the serial loop ``ko``: the copy for iteration ``ko + n - 1`` is issued before the compute of
  iteration ``ko`` (asynchronous ``cp.async`` on CUDA sm_80+).
- ``warp_specialize(producers=p)``: ``p`` warps issue the staged copies, the others compute.
  Enough producers: per stage (one iteration of the pipelined loop) a producer warp issues
  ``bytes per stage / (32 p w)`` copy instructions (``w`` bytes per copy: 16 when the tile's
  rows are proven aligned, else 4, which quadruples the count) while a consumer warp issues its
  multiply-adds and shared loads; each warp issues at most one instruction per cycle, so the
  producers are the bottleneck when their count per warp exceeds the consumers'. For a matmul
  with a TM × TN block tile and an mt × nt tile per thread (f32, L loads per k step) that is
  ``p < (TM + TN) / (8 w (mt nt + L))``; the k tile cancels out. Copies alone are a lower
  bound: each also costs its address arithmetic. ``kernel.analysis()`` prints both counts per
  stage (:mod:`vortex.analysis_producers`; docs/warp_specialization.md).
- ``swizzle_blocks(group=g)``: grouped block rasterization (Triton's ``GROUP_SIZE_M``): blocks
  run in groups of ``g`` rows of tiles, so consecutive blocks share operand tiles in L2.

Sources: NVIDIA CUTLASS "Efficient GEMM in CUDA" (staging, multistage pipelines, warp
specialization, swizzled shared memory); Triton matmul tutorial (grouped ordering); Bauer et
al., "CudaDMA" (SC'11) and "Singe" (PPoPP'14) for producer (DMA) warps.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from . import directives as D
from .args import ArgError, check_count, check_int, check_name
from .nest import Reject

SWIZZLES = (None, "xor")


def _kw_args(args, positional: int, keywords: dict) -> tuple:
    """Split ``[pos..., {kw: v}]`` (TOML form) into positional values and a keyword dict."""
    args = check_count(args, positional, positional + len(keywords))
    kw = {}
    if len(args) > positional and isinstance(args[-1], dict):
        kw = dict(args[-1])
        args = args[:-1]
    extra = args[positional:]
    for name, value in zip(keywords, extra):
        kw.setdefault(name, value)
    unknown = sorted(set(kw) - set(keywords))
    if unknown:
        raise ArgError(f"unknown option(s) {unknown}; options are {sorted(keywords)}")
    return tuple(args[:positional]), {k: kw.get(k, d) for k, d in keywords.items()}


def _py(value) -> str:
    return repr(value)


@dataclass(frozen=True)
class Stage(D.Directive):
    """Copy the footprint of ``source`` for one iteration of loop ``at`` into ``memory``."""

    source: str
    at: str
    memory: D.MemoryType = D.MemoryType.SHARED
    swizzle: str | None = None
    name: ClassVar[str] = "stage"

    def to_args(self) -> list:
        opts = {"memory": self.memory.value}
        if self.swizzle is not None:
            opts["swizzle"] = self.swizzle
        return [self.source, self.at, opts]

    @classmethod
    def from_args(cls, args):
        (source, at), kw = _kw_args(args, 2, {"memory": "shared", "swizzle": None})
        try:
            memory = D.MemoryType(kw["memory"])
        except (ValueError, TypeError):
            raise ArgError(f"memory must be 'shared' or 'register', got {kw['memory']!r}") from None
        if memory is D.MemoryType.GLOBAL:
            raise ArgError("stage copies into 'shared' or 'register' memory, not 'global'")
        if kw["swizzle"] not in SWIZZLES:
            raise ArgError(f"swizzle must be None or 'xor', got {kw['swizzle']!r}")
        return cls(check_name(source, "Input/Func name"), check_name(at, "loop var"), memory,
                   kw["swizzle"])

    def python_args(self) -> str:
        opts = f", memory={_py(self.memory.value)}"
        if self.swizzle is not None:
            opts += f", swizzle={_py(self.swizzle)}"
        return f"{_py(self.source)}, at={_py(self.at)}{opts}"


@dataclass(frozen=True)
class PipelineStages(D.Directive):
    """Multi-buffer the staged copies of loop ``loop`` ``stages`` deep."""

    loop: str
    stages: int = 2
    name: ClassVar[str] = "pipeline"

    def to_args(self) -> list:
        return [self.loop, {"stages": self.stages}]

    @classmethod
    def from_args(cls, args):
        (loop,), kw = _kw_args(args, 1, {"stages": 2})
        stages = check_int(kw["stages"], "stages", positive=True)
        if stages > 8:
            raise ArgError(f"stages must be 1 … 8, got {stages}")
        return cls(check_name(loop, "loop var"), stages)

    def python_args(self) -> str:
        return f"{_py(self.loop)}, stages={self.stages}"


@dataclass(frozen=True)
class WarpSpecialize(D.Directive):
    """``producers`` warps copy the staged tiles; the other threads compute. Enough producer
    warps issue no more copy instructions per stage than a consumer warp issues math and
    loads (module docstring; ``kernel.analysis()`` says when they do not)."""

    producers: int = 1
    name: ClassVar[str] = "warp_specialize"
    kinds: ClassVar[tuple] = ("pos",)

    def python_args(self) -> str:
        return f"producers={self.producers}"


@dataclass(frozen=True)
class SwizzleBlocks(D.Directive):
    """Rasterize blocks in groups of ``group`` tile rows for L2 reuse."""

    group: int = 8
    name: ClassVar[str] = "swizzle_blocks"
    kinds: ClassVar[tuple] = ("pos",)

    def python_args(self) -> str:
        return f"group={self.group}"


GPU_DIRECTIVES = (Stage, PipelineStages, WarpSpecialize, SwizzleBlocks)
D.DIRECTIVES.update({cls.name: cls for cls in GPU_DIRECTIVES})


def validate(d, st, info, states=None, entry=None):
    """Checks of one GPU directive against the Func's state (``replay.FuncState``) when it is
    applied; raises nest.Reject. Records it for :func:`finish`."""
    st.gpu_entries.append((entry, d))
    if isinstance(d, Stage):
        reads = _reads(info, st.func.name)      # an update stage's: its Func's
        if d.source not in reads:
            raise Reject(f"{st.name!r} does not read {d.source!r} (it reads "
                         f"{', '.join(sorted(reads)) or 'nothing'})")
        if d.source == st.func.name:
            raise Reject(f"{st.name!r} cannot stage itself (its update definitions read it): "
                         "stage copies one of the sources it reads")
        st.nest.index(d.at)
        st.staged[d.source] = d.at
    elif isinstance(d, PipelineStages):
        st.nest.index(d.loop)
        if d.loop not in st.staged.values():
            raise Reject(f"no stage(..., at={d.loop!r}) before it: pipeline multi-buffers the "
                         "staged copies of that loop")
    elif isinstance(d, WarpSpecialize):
        if not st.staged:
            raise Reject("warp specialization needs staged copies (stage(...)) to produce")
    elif isinstance(d, SwizzleBlocks) and len(st.nest.blocks) < 2:
        raise Reject("swizzle_blocks regroups two block axes; bind two loops with gpu_blocks "
                     "first")


def finish(st, states):
    """(entry, why) of each GPU directive of ``st`` that the complete schedule cannot apply:
    a loop that a later directive replaced, a staged Func that has no global buffer to copy from
    (computed inline or with compute_at), a shared tile at a loop of the block's threads, a
    pipeline over a GPU-bound loop."""
    bound = {v: "gpu_blocks" for v in st.nest.blocks} | \
        {v: "gpu_threads" for v in st.nest.threads}
    for entry, d in st.gpu_entries:
        loop = d.at if isinstance(d, Stage) else getattr(d, "loop", None)
        if loop is not None and loop not in st.loops:
            yield entry, (f"loop {loop!r} no longer exists once the schedule is complete (a later "
                          "split, tile, gpu_tile or fuse replaced it); name one of the loops "
                          f"[{', '.join(st.loops)}]")
            continue
        if isinstance(d, Stage) and d.source in states:
            src = states[d.source]
            if src.inlined:
                yield entry, (f"{d.source!r} is computed inline (the default for "
                              "intermediates), so it has no buffer to copy from; compute it at "
                              f"root (s[{d.source!r}].compute_root()) or stage what it reads")
            elif isinstance(src.compute, D.ComputeAt):
                yield entry, (f"{d.source!r} is computed with {src.compute}, so it has no "
                              "global buffer to copy from; compute it at root "
                              f"(s[{d.source!r}].compute_root()), or drop the stage (compute_at "
                              "already keeps it in fast memory)")
        if isinstance(d, Stage) and d.memory is D.MemoryType.SHARED and \
                bound.get(d.at) == "gpu_threads":
            yield entry, (f"loop {d.at!r} is bound to gpu_threads: each thread runs its own "
                          "iteration, so there is no tile to share; stage at a gpu_blocks or "
                          "serial loop, or with memory='register'")
        if isinstance(d, PipelineStages) and d.loop in bound:
            yield entry, (f"loop {d.loop!r} is bound to {bound[d.loop]}: its iterations run in "
                          "parallel, so there is no next iteration to prefetch; pipeline a "
                          "serial loop")


def _reads(info, name: str) -> set:
    """What Func ``name`` reads, directly or through the Funcs it reads (those inlined into it
    put their loads in its value; whether a read happens inside the staged loop is the
    lowering's check)."""
    from ..algorithm.graph import sources_of
    out, todo = set(), [name]
    while todo:
        for src in sources_of(info.funcs[todo.pop()]):
            if src.name not in out and src.name != name:
                out.add(src.name)
                todo += [src.name] if src.name in info.funcs else []
    return out | ({name} if name in {s.name for s in sources_of(info.funcs[name])} else set())
