"""Serial loops inside an OpenCL vector body (:mod:`~vortex.codegen.opencl_vector`): an inline
reduction's RDom loop inside a vectorized loop stays one loop over N-vectors.

A local assigned after its declaration (an accumulator) is an N-vector when any lane-dependent
value reaches it (:func:`varying`), by data or by a lane-dependent ``if`` around its
assignment; a serial loop whose bounds are the same in every lane runs once for all lanes; a
lane-dependent ``if`` in it that only assigns accumulators (an argmax's "better" test) becomes
a mask and lane selects. What cannot be printed so raises NotVectorizable and the lane loop
stays scalar. Source: Halide ``VectorizeLoops.cpp`` (a serial loop inside a vectorized one
stays a loop over vector values; predicated assignments become selects).
"""
from __future__ import annotations

from ..algorithm.walk import find
from ..lower.ir import Assign, Block, BufferLoad, Declare, For, ForKind, If, Ref, local_name
from .lanes import NotVectorizable

MASKS = {8: "char", 16: "short", 32: "int", 64: "long"}   # element bits → signed mask type


class SerialLoops:
    """Methods of the vector body (``_VectorBody``) for accumulators, serial loops and
    predicated assignments; it provides ``p`` (the printer), ``n``, ``vec``, ``defs``,
    ``declared``, ``assigned``, ``_depth``, ``expr``, ``_stmt``, ``_vtype``, ``_broadcast``."""

    def _accumulator(self, s: Declare, ind):
        """A local assigned after its declaration (the accumulator of an inline reduction) or
        declared without a value: an N-vector when any lane-dependent value reaches it
        (:func:`varying`), so each lane keeps its own; never an index form (no ``_l0`` copy:
        it changes after the declaration)."""
        self.declared.add(s.name)
        is_vec = s.name in self.vec
        if s.dtype.is_int and is_vec:
            self.defs[s.name] = None             # varies with the lane in no affine way
        ctype = self._vtype(s.dtype) if is_vec else self.p.ctype(s.dtype)
        if s.value is None:
            return [f"{ind}{ctype} {self.p.ident(s.name)};"]
        text, v_vec = self.expr(s.value)
        text = self._broadcast(text, s.dtype) if is_vec and not v_vec else text
        return [f"{ind}{ctype} {self.p.ident(s.name)} = {text};"]

    def _serial(self, s: For, ind):
        """A serial loop inside the lane loop (an inline reduction's RDom loop): its bounds
        must be the same in every lane; it runs once for all N lanes, its body vectorized.
        Valid because the lanes of a vectorized loop are independent (the schedule's
        ``vectorize`` guarantees it, as for ``gpu_threads``): running lane 0's whole loop, then
        lane 1's, … computes what running the N lanes' iterations side by side does. Source:
        Halide ``VectorizeLoops.cpp`` (a serial loop inside a vectorized one stays a loop over
        vector values)."""
        if s.kind is not ForKind.SERIAL:
            raise NotVectorizable(f"a {s.kind.name} loop inside the lane loop")
        (lo, lo_vec), (ext, ext_vec) = self.expr(s.min), self.expr(s.extent)
        if lo_vec or ext_vec:
            raise NotVectorizable("a serial loop whose bounds vary with the lane")
        end = ext if lo == "0" else f"{lo} + {ext}"
        var = self.p.ident(s.var)
        self._depth += 1
        body = self._stmt(s.body, ind + "  ")
        self._depth -= 1
        return [f"{ind}for (int {var} = {lo}; {var} < {end}; ++{var}) {{", *body, f"{ind}}}"]

    def _blend(self, s: If, cond: str, ind):
        """A lane-dependent ``if`` inside a serial loop whose branch only assigns vector locals
        (an argmax's "better" test): the test once into a mask, then each assignment a lane
        select, in order. Anything else under such a test: NotVectorizable."""
        body = s.then.stmts if isinstance(s.then, Block) else (s.then,)
        if not all(isinstance(a, Assign) and a.name in self.vec for a in body):
            raise NotVectorizable("a lane-dependent guard inside a serial loop")
        self._masks = getattr(self, "_masks", 0) + 1
        mask = self.p.ident(local_name("mask", str(self._masks)))
        out = [f"{ind}int{self.n} {mask} = {cond};"]
        for a in body:
            value, v_vec = self.expr(a.value)
            value = value if v_vec else self._broadcast(value, a.value.dtype)
            bits = 32 if a.value.dtype.is_bool else a.value.dtype.bits
            test = mask if bits == 32 else f"convert_{MASKS[bits]}{self.n}({mask})"
            name = self.p.ident(a.name)
            out.append(f"{ind}{name} = ({test} ? {value} : {name});")
        return out


def varying(body, lane: str, vector_locals: set) -> set:
    """Names of the locals of ``body`` whose value may differ between lanes: declared or
    assigned from an expression that reads the lane, another such local or a vector local, or
    assigned under an ``if`` whose test does (control dependence: an argmax's position). A
    fixed point, since an accumulator is assigned after it is declared."""
    out = {lane}

    def reads_varying(e):
        return bool(find(e, lambda x: (isinstance(x, Ref) and x.name in out)
                         or (isinstance(x, BufferLoad) and x.buffer in vector_locals)))

    def visit(s, under: bool) -> bool:
        if isinstance(s, (Declare, Assign)):
            value = getattr(s, "value", None)
            if s.name not in out and (under or (value is not None and reads_varying(value))):
                out.add(s.name)
                return True
            return False
        if isinstance(s, If):
            under = under or reads_varying(s.cond)
            return any([visit(s.then, under),
                        s.otherwise is not None and visit(s.otherwise, under)])
        if isinstance(s, Block):   # a list, not a generator: visit every statement
            return any([visit(x, under) for x in s.stmts])
        if isinstance(s, For):
            return visit(s.body, under)
        return False
    while visit(body, False):
        pass
    return out - {lane}
