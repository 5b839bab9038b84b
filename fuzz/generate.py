"""Random Vortex pipelines, written as the Python source a user would write.

One :class:`Algorithm` per (seed, index): 1-3 Dims (``W``; ``H W``; ``C H W``), 1-3 Inputs
(float32 / int32 / uint8; some resampled, shape ``(2 * H, W)``; sometimes a 256-entry lookup
table read at uint8 data), Params (a float gain; an int offset with ``range=``; rarely an RDom
extent), boundary conditions over Inputs and shaped Funcs (every kind of vx.repeat_edge,
constant_exterior, mirror_image, mirror_interior), then 1-5 Funcs of these kinds:

- ``expr``: a typed expression tree (:mod:`fuzz.exprs`) of loads (stencil offsets, strided,
  downsampled, data-dependent, see :mod:`fuzz.index`), casts, selects, math and inline
  reductions (sum / maximum / minimum / product / argmax / argmin over a whole axis or a small
  window, 1-D or 2-D, sometimes with ``RDom.where`` predicates over data or the pure Vars, and
  sometimes reusing an RDom of another Func, as Halide's nl_means does);
- ``update``: a shaped Func with update definitions (pointwise ``f[y, x] = f[y, x] * …``, a scan
  ``f[y, r] = f[y, r - 1] + f[y, r]``, a reduction update ``f[y, x] += g[y, r]``, an edge update
  ``f[y, 0] = …``);
- ``hist``: ``h[b] = 0; h[idx(rr)] += …`` over a 1-D/2-D RDom, index from uint8 data.

The last one or two Funcs are the outputs (a multi-output ``vx.Pipeline``), with a declared
shape (sometimes a reduced ``(H,)`` or upsampled ``(2 * H, W)`` one). The generator aims at valid
programs (see :mod:`fuzz.index` for the bounds discipline), but does not avoid what the
language allows: a ``vx.BoundsError``/``vx.TypeError`` it provokes is a counted refusal.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from . import exprs as X
from .funcs import Ctx, FuncGen
from .index import Axis, Node

RANKS = {1: ("W",), 2: ("H", "W"), 3: ("C", "H", "W")}
BOUNDARIES = ("repeat_edge", "constant_exterior", "mirror_image", "mirror_interior")
AWKWARD = (1, 1, 2, 3, 5, 7, 11, 13, 17, 23, 31, 37, 61, 67)
ROUND = (8, 16, 32, 48, 64)
C_NAMES = ("kernel", "local", "half", "threadIdx", "signed", "restrict", "char", "main", "uint")


@dataclass
class Algorithm:
    """A generated pipeline: ``source`` defines ``pipe``; ``inputs`` {name: (dtype, [(dim, n)],
    special)}; ``params`` {name: value}; ``funcs`` {Func name: set of names it reads};
    ``outputs`` Func names; ``sizes`` two {Dim: size} to run at; ``update_reads`` {Func name:
    what its update definitions read}; ``targets`` the targets to compile for when not the
    default ones (an ``mma`` case: its vendor's, :mod:`fuzz.mma`), ``mma`` that case's schedule
    choices."""

    source: str
    inputs: dict
    params: dict
    funcs: dict
    outputs: list
    sizes: list = field(default_factory=list)
    update_reads: dict = field(default_factory=dict)
    targets: tuple = ()
    mma: dict = field(default_factory=dict)


def generate(rng: random.Random) -> Algorithm:
    return PipelineGen(rng).build()


class PipelineGen(FuncGen):
    """Builds one Algorithm; the Func/expression machinery is :class:`fuzz.funcs.FuncGen`."""

    def __init__(self, rng: random.Random):
        super().__init__(rng)
        self.inputs, self.param_values = {}, {}
        self.special = rng.random() < 0.06       # NaN / inf among the float inputs

    def build(self) -> Algorithm:
        rng = self.rng
        dims = RANKS[rng.choices([1, 2, 3], [3, 6, 2])[0]]
        self.dims = dims
        self.line(f"{', '.join(dims)}{',' if len(dims) == 1 else ''} = vx.dims({' '.join(dims)!r})")
        names = [Axis(d).var for d in dims] + ["b"]
        self.line(f"{', '.join(names)} = vx.vars({' '.join(names)!r})")
        for i in range(rng.choice([1, 1, 2, 2, 3])):
            self.add_input(f"in{i}", dims)
        if rng.random() < 0.1 and any(n.dtype == X.U8 for n in self.nodes):
            self.add_input("lut", None)
        self.add_params()
        for node in [n for n in self.nodes if n.kind == "input"]:
            if rng.random() < 0.55 and node.axes[0].dim is not None:
                self.add_boundary(node)
        n_inter, n_out = rng.choice([0, 1, 1, 2, 2, 3, 4]), rng.choice([1, 1, 1, 2])
        outputs = []
        for i in range(n_inter + n_out):
            out = i >= n_inter
            name = f"out{i - n_inter}" if out else f"f{i}"
            if not out and rng.random() < 0.03:
                name = rng.choice(C_NAMES)
            node = self.add_func(name, out)
            if out:
                outputs.append(node)
            elif node.shaped and rng.random() < 0.35:
                self.add_boundary(node)
        self.line(f"pipe = vx.Pipeline({', '.join(o.var for o in outputs)})")
        funcs = {n.name: set(n.reads) for n in self.nodes if n.kind != "input"}
        return Algorithm("\n".join(self.lines) + "\n", self.inputs, self.param_values, funcs,
                         [o.name for o in outputs], self.sizes(dims), self.update_reads)

    # --- Inputs, Params, boundary conditions --------------------------------------------------
    def add_input(self, name: str, dims):
        rng = self.rng
        if dims is None:                                    # a lookup table read at uint8 data
            axes, dtype = (Axis(None, 256),), rng.choice([X.FLOAT, X.INT])
        else:
            dtype = rng.choice([X.FLOAT, X.FLOAT, X.INT, X.U8])
            scaled = rng.randrange(len(dims)) if rng.random() < 0.15 else -1
            axes = tuple(Axis(d, 2 if i == scaled else 1) for i, d in enumerate(dims))
        if rng.random() < 0.02:
            name = rng.choice(C_NAMES)
        special = self.special and dtype == X.FLOAT
        self.nodes.append(Node(name, dtype, axes, False, True, "input", not special))
        self.inputs[name] = (dtype, [(a.dim, a.n) for a in axes], special)
        shape = ", ".join(a.src() for a in axes) + ("," if len(axes) == 1 else "")
        self.line(f"{name} = vx.Input({name!r}, vx.{dtype}, ({shape}))")

    def add_params(self):
        rng = self.rng
        if rng.random() < 0.35:
            self.param_values["gain"] = rng.choice([0.5, -1.25, 2.0, 0.0, 3.0])
            self.line('gain = vx.Param("gain", vx.float32)')
            self.params.append(X.E("gain", X.FLOAT))
        if rng.random() < 0.3:
            self.param_values["k"] = rng.choice([0, 1, 2, 3])
            self.line('k = vx.Param("k", vx.int32, range=(0, 3))')
            self.params.append(X.E("k", X.INT))
            self.offsets.append("k")
        if rng.random() < 0.04:
            self.param_values["taps"] = rng.choice([1, 2, 3])
            self.line('taps = vx.Param("taps", vx.int32, range=(1, 4))')
            self.windows.append("taps")

    def add_boundary(self, node: Node):
        rng = self.rng
        kind = rng.choice(BOUNDARIES)
        arg = ""
        if kind == "constant_exterior":
            arg = ", " + X.const(rng, node.dtype).src
        py = f"{node.var}_{''.join(w[0] for w in kind.split('_'))}"
        existing = [n for n in self.nodes if n.var == py]
        if existing:
            return
        vx_name = f"{node.name}_{kind}"
        if any(n.name == vx_name for n in self.nodes):    # a second constant_exterior value
            vx_name += "2"
        self.line(f"{py} = vx.{kind}({node.var}{arg})")
        self.nodes.append(Node(vx_name, node.dtype, node.axes, True, False, "bc", node.finite,
                               {node.name}, py))

    def sizes(self, dims) -> list:
        """Two size sets: awkward (1, primes) and round (multiples of 8, for specialize)."""
        rng = self.rng
        out = []
        for pool in (AWKWARD, ROUND + AWKWARD[5:]):
            s = {d: rng.choice(pool) for d in dims}
            if "C" in s:
                s["C"] = rng.choice([1, 2, 3, 4])
            out.append(s)
        return out


__all__ = ["Algorithm", "Ctx", "generate"]
