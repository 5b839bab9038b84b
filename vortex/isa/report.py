"""``ISAReport``: the instruction report of one compiled pipeline, and its table."""
from __future__ import annotations

from .model import LOCAL, KernelISA, Mix, OpClass

# rows of the table: (label, classes counted, show widths)
_ROWS = (
    ("fma", (OpClass.FMA,), False),
    ("fmul", (OpClass.MUL,), False),
    ("fadd", (OpClass.ADD,), False),
    ("tensor", (OpClass.TENSOR,), False),
    ("shared load", (OpClass.SHARED_LOAD,), True),
    ("ldmatrix", (OpClass.LDMATRIX,), True),
    ("shared store", (OpClass.SHARED_STORE,), True),
    ("async copy", (OpClass.ASYNC_COPY,), True),
    ("global load", (OpClass.GLOBAL_LOAD,), True),
    ("global store", (OpClass.GLOBAL_STORE,), True),
    ("local (spill)", LOCAL, True),
    ("barrier", (OpClass.BARRIER,), False),
)
_RATIOS = (
    ("FMA / shared load", "fma_per_shared_load"),
    ("multiply-adds / shared load", "multiply_adds_per_shared_load"),
    ("bytes / shared load", "bytes_per_shared_load"),
    ("bytes / async copy", "bytes_per_async_copy"),
    ("bytes / global load", "bytes_per_global_load"),
)


class ISAReport(list):
    """A list of :class:`~vortex.isa.model.KernelISA`, one per kernel entry, with ``isa``
    ("SASS", "AMDGCN"), ``arch`` and ``missing``: None, or the line saying which tool is
    missing or why there is no machine code (then the list is empty). ``str()`` is a table:
    per kernel, the whole kernel's counts beside its hot innermost loop's."""

    def __init__(self, kernels=(), isa: str = "", arch: str | None = None,
                 missing: str | None = None):
        super().__init__(kernels)
        self.isa, self.arch, self.missing = isa, arch, missing

    def kernel(self, name: str) -> KernelISA:
        """The report of the kernel entry ``name``; KeyError listing the entries otherwise."""
        for k in self:
            if k.name == name:
                return k
        raise KeyError(f"no kernel {name!r} in this report; kernels: {[k.name for k in self]}")

    def __str__(self) -> str:
        if self.missing:
            return f"instruction mix: {self.missing}"
        out = []
        for k in self:
            inner = k.inner
            where = (f"inner loop {inner.start:#x}-{inner.end:#x}, {inner.mix.total} instr"
                     if inner else "no loop")
            out.append(f"instruction mix of {k.name} ({self.isa}, {self.arch}): "
                       f"{k.mix.total} instructions, {len(k.loops)} innermost loops")
            out.append(f"  {'':28}{'kernel':>22}  {where}")
            mixes = (k.mix, inner.mix if inner else None)
            out += [f"  {label:28}" + "".join(_cell(m, classes, widths) for m in mixes)
                    for label, classes, widths in _ROWS]
            ratios = [m.ratios() if m else {} for m in mixes]
            out += [f"  {label:28}" + "".join(_num(r.get(key)) for r in ratios)
                    for label, key in _RATIOS]
        return "\n".join(out)


def _cell(mix: Mix | None, classes: tuple, widths: bool) -> str:
    if mix is None:
        return f"{'-':>22}  "
    n = mix.count(*classes)
    if not widths or not n:
        return f"{n:>22}  "
    by = {}
    for c in classes:
        for w, k in mix.widths(c).items():
            by[w] = by.get(w, 0) + k
    detail = " ".join(f"{w}B:{k}" for w, k in sorted(by.items()))
    return f"{f'{n} ({detail})':>22}  "


def _num(x: float | None) -> str:
    return f"{'-':>22}  " if x is None else f"{x:>22.2f}  "
