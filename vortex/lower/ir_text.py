"""The loop IR as text, for ``VORTEX_DEBUG=ir`` and ``vortex run --dump-ir``: one statement a
line, nested by indentation, expressions in Python syntax (Halide's ``Stmt`` printing).

```
kernel blur_kernel  grid (ceil(W / 64), ceil(H / 4), C)  block (64, 4, 1)  shared 0 B
  params: img (buffer float32), blur (buffer float32, written), C, H, W
  let x = block.x * 64 + thread.x
  for k in [0, 5) serial:
    if x < W:
      blur[...] = ...
```
"""
from __future__ import annotations

from ..algorithm.printer import show
from .ir import (Allocate, AsyncCommit, AsyncCopy, AsyncWait, Barrier, Block, BufferLoad, Comment,
                 Declare, For, GpuIndex, If, Kernel, Ref, Stmt, Store, Assign, ThreadReduce)


def expr_text(e) -> str:
    """An IR expression in Python syntax; IR-only leaves print as ``buf[i]``, ``thread_x``."""
    return "None" if e is None else show(e, _leaf)


def _leaf(n) -> str | None:
    if isinstance(n, Ref):
        return n.name
    if isinstance(n, GpuIndex):
        return n.axis.name.lower()
    if isinstance(n, BufferLoad):
        return f"{n.buffer}[{expr_text(n.index)}]"
    return None


def stmt_lines(s: Stmt | None, depth: int = 0) -> list[str]:
    """The statement ``s`` as indented lines."""
    if s is None:
        return []
    pad = "  " * depth
    rule = _STMTS.get(type(s))
    if rule is None:
        return [f"{pad}<{type(s).__name__}>"]
    return rule(s, pad, depth)


def _for(s: For, pad, depth):
    lo = expr_text(s.min)
    hi = expr_text(s.extent) if lo == "0" else f"{lo} + {expr_text(s.extent)}"
    kind = s.kind.name.lower() + (f" {s.axis.name.lower()}" if s.axis is not None else "")
    head = f"{pad}for {s.var} in [{lo}, {hi}) {kind}:"
    return [head] + stmt_lines(s.body, depth + 1)


def _if(s: If, pad, depth):
    out = [f"{pad}if {expr_text(s.cond)}:"] + stmt_lines(s.then, depth + 1)
    if s.otherwise is not None:
        out += [f"{pad}else:"] + stmt_lines(s.otherwise, depth + 1)
    return out


def _copy(s: AsyncCopy, pad, depth):
    cond = f" if {expr_text(s.cond)} else 0" if s.cond is not None else ""
    span = "" if s.lanes == 1 else f" +{s.lanes}"
    kind = f"{s.dtype}" if s.lanes == 1 else f"{s.lanes} x {s.dtype}, {s.lanes * s.dtype.itemsize} B"
    return [f"{pad}{s.dst}[{expr_text(s.dst_index)}{span}] <- "
            f"{s.src}[{expr_text(s.src_index)}{span}]{cond}  "
            f"({'sync' if s.sync else 'async'} {kind})"]


def _barrier(s: Barrier, pad, depth):
    named = f" named {s.named}: {s.producers} producers of {s.total}" if s.named else ""
    return [f"{pad}barrier{named}"]


_STMTS = {
    Block: lambda s, pad, depth: [line for x in s.stmts for line in stmt_lines(x, depth)],
    For: _for,
    If: _if,
    Store: lambda s, pad, depth: [f"{pad}{s.buffer}[{expr_text(s.index)}] = "
                                  f"{expr_text(s.value)}"],
    Assign: lambda s, pad, depth: [f"{pad}{s.name} = {expr_text(s.value)}"],
    Declare: lambda s, pad, depth: [f"{pad}let {s.name}: {s.dtype}"
                                    + (f" = {expr_text(s.value)}" if s.value is not None else "")],
    Allocate: lambda s, pad, depth: [f"{pad}allocate {s.name}: {s.dtype}[{s.size}] in "
                                     f"{s.memory.name.lower()}"],
    Barrier: _barrier,
    AsyncCopy: _copy,
    AsyncCommit: lambda s, pad, depth: [f"{pad}async commit"],
    AsyncWait: lambda s, pad, depth: [f"{pad}async wait (at most {s.pending} pending)"],
    Comment: lambda s, pad, depth: [f"{pad}# {s.text}"],
    ThreadReduce: lambda s, pad, depth: [
        f"{pad}thread reduce {s.op.value} {expr_text(s.value)}"
        + (f" at {expr_text(s.at)}" if s.at is not None else "")
        + f" over {s.axis.name.lower()} of block {tuple(s.block)} (scratch {s.scratch})"],
}


def kernel_text(k: Kernel) -> str:
    """A kernel: its launch, parameters and body."""
    params = ", ".join(f"{p.name} ({'buffer ' if p.is_buffer else ''}{p.dtype}"
                       f"{', written' if p.writable else ''})" for p in k.params)
    head = (f"kernel {k.name}  grid {tuple(str(g) for g in k.grid)}  block {tuple(k.block)}  "
            f"shared {k.shared_bytes} B")
    return "\n".join([head, f"  params: {params or '(not yet)'}"] + stmt_lines(k.body, 1)) + "\n"
