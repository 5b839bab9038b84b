"""Printing an :class:`~vortex.lower.ir.AtomicStore`: ``buffer[i] = buffer[i] op value`` as one
atomic read-modify-write, in the dialect's spelling (:class:`~vortex.codegen.dialect.Atomics`).

The operand is evaluated once; then the target's atomic function where it has one for the
operation and type (integer add/min/max/and/or/xor everywhere, float add on CUDA/HIP), else a
compare-and-swap loop on the element's 32-bit word: read the word, compute ``old op value`` with
the same expression the non-atomic update prints, swap it in if the word is unchanged, retry
otherwise (the standard lock-free loop; CUDA C++ Programming Guide, "Atomic Functions"). The
loop compares words, not floats, so a NaN or -0.0 in the buffer cannot make it spin.
"""
from __future__ import annotations

from ..algorithm.construct import binary
from ..lower.ir import AtomicStore, Ref, local_name


def atomic_lines(printer, s: AtomicStore, ind: str) -> list[str]:
    """C lines for ``s`` at indentation ``ind``, printed by ``printer`` (a CPrinter)."""
    a = printer.d.atomics
    t = s.value.dtype
    ct = printer.ctype(t)
    ptr = f"&{printer.ident(s.buffer)}[{printer.expr(s.index)}]"
    value = Ref(local_name(s.buffer, "atomic", "v"), t)
    v = printer.ident(value.name)
    head = [f"{ind}{{", f"{ind}  {ct} {v} = {printer.expr(s.value)};"]
    fn = a.native.get((s.op.name, t.name))
    if fn is not None:
        return head + [f"{ind}  {fn}({ptr}, {v});", f"{ind}}}"]
    seen, old = (printer.ident(local_name(s.buffer, "atomic", n)) for n in ("seen", "old"))
    word = a.word.format(p=ptr)
    cur = Ref(local_name(s.buffer, "atomic", "cur"), t)
    to_bits = (lambda x: a.to_bits.format(v=x)) if t.is_float else \
        (lambda x: f"({a.word_type})({x})")
    from_bits = a.from_bits.format(v=seen) if t.is_float else f"({ct})({seen})"
    new = printer.expr(binary(s.op, cur, value))
    return head + [
        f"{ind}  {a.word_type} {old} = *{word}, {seen};",
        f"{ind}  do {{",
        f"{ind}    {seen} = {old};",
        f"{ind}    {ct} {printer.ident(cur.name)} = {from_bits};",
        f"{ind}    {old} = {a.cas.format(p=word, cmp=seen, val=to_bits(new))};",
        f"{ind}  }} while ({old} != {seen});",
        f"{ind}}}"]
