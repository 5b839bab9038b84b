"""Random valid schedules of a generated pipeline, built through the public ``vx.Schedule`` API.

Funcs are scheduled consumers first (so ``compute_at`` sees its consumer's final loops). Each
intermediate gets a compute level (inline by default, ``compute_root``, ``compute_at(consumer,
loop)`` of any consumer's current loop — sometimes with ``store_at`` a loop enclosing it, a
sliding window —, sometimes ``store_in`` shared / register / global, an
explicit ``compute_inline``); then every Func that has loops (compute_at Funcs included: their own
loops over the footprint) gets a few random directives from
the whole vocabulary: split (Halide's name reuse too), tile, reorder, fuse, gpu_blocks,
gpu_threads, gpu_tile, vectorize and unroll (with and without a factor), bound, specialize
(``vx.divisible``), stage (shared / register, XOR swizzle), pipeline, warp_specialize and
swizzle_blocks. Arguments are drawn from the Func's current loop vars (``s.loop_vars``), factors
are awkward (3, 5) as often as powers of two, and new loop names are sometimes ones known to have
clashed with generated names (``y_c``, ``loop_n``, C keywords).

A directive is kept only when appending it and then ``validate()`` raise no vx.ScheduleError; a
refused one is dropped and another is drawn (the count of refusals is part of the case's report).
So the schedule handed to ``vx.compile`` is one Vortex itself calls valid.

Update stages of root Funcs (``s[f].update(n)``) get ``rfactor`` (then loop directives on the
intermediate ``f_intm``), ``atomic()`` and loop directives over their pure Vars and RVars; the
race check keeps only the parallel loops it proves safe.
"""
from __future__ import annotations

import re

import vortex as vx

FACTORS = (2, 3, 4, 5, 8, 16, 32)
TRICKY = ("y_c", "loop_n", "int", "x_c", "tmp", "acc", "idx", "blockIdx", "i0")
WEIGHTS = {"split": 5, "tile": 3, "reorder": 3, "fuse": 2, "gpu_blocks": 4, "gpu_threads": 4,
           "gpu_tile": 5, "vectorize": 3, "unroll": 3, "bound": 1, "specialize": 2, "stage": 3,
           "pipeline": 1, "warp_specialize": 1, "swizzle_blocks": 1}

AT_RARE = ("gpu_blocks", "gpu_tile", "swizzle_blocks")
UPDATE_WEIGHTS = {"split": 4, "reorder": 2, "fuse": 1, "gpu_blocks": 4, "gpu_threads": 4,
                  "unroll": 2, "vectorize": 1}


class Trials:
    """A vx.Schedule ``s`` built directive by directive: :meth:`attempt` keeps a directive only
    when it and ``validate()`` raise no vx.ScheduleError, and counts the others in ``refused``."""

    def __init__(self, pipe):
        self.s, self.refused = vx.Schedule(pipe), 0

    def attempt(self, name: str, method: str, *args, **kw) -> bool:
        trial = self.s.copy()
        try:
            getattr(trial[name], method)(*args, **kw)
            trial.validate()
        except vx.ScheduleError:
            self.refused += 1
            return False
        self.s = trial
        return True


class ScheduleGen(Trials):
    def __init__(self, rng, pipe, alg):
        super().__init__(pipe)
        self.rng, self.pipe, self.alg = rng, pipe, alg
        self.names = 0
        self.staged = {}
        self.inner, self.outer = set(), set()    # loop names made by splits: constant / tile
        order = [f.name for f in reversed(pipe.funcs)]
        consumers = {n: {c for c in order if n in alg.funcs.get(c, ())} for n in order}
        self.consumers = {}
        for n in order:
            direct = consumers.get(n, set())
            self.consumers[n] = set(direct).union(*(self.consumers.get(c, set()) for c in direct))
        self.order = order

    def build(self) -> vx.Schedule:
        rng = self.rng
        for name in self.order:
            func = next(f for f in self.pipe.funcs if f.name == name)
            output = name in self.alg.outputs
            if not output:
                self.compute_level(name)
            n = rng.choice([0, 1, 2, 3, 4, 5, 6]) if output else rng.choice([0, 1, 2, 3])
            at = self.at_site(name)
            if at and rng.random() < 0.3:
                continue      # a compute_at Func's default fill (no loop directives)
            if not at and rng.random() < 0.5:
                self.gpu_tile(name, func)
            for _ in range(n):
                kind = rng.choices(list(WEIGHTS), list(WEIGHTS.values()))[0]
                if at and kind in AT_RARE and rng.random() < 0.9:
                    continue  # a compute_at Func has no blocks: mostly skip what binds them
                getattr(self, "d_" + kind)(name, func)
            self.update_stages(name, func)
        return self.s

    def update_stages(self, name: str, func):
        """Schedule some update stages of a root Func: rfactor (then its intermediate), atomic,
        and loop directives over the update's pure Vars and RVars — the race check refuses the
        parallel loops that could collide, so what stays is what Vortex calls race-free."""
        if self.compute_of(name) != "compute_root":
            return
        rng = self.rng
        for i in range(len(func.updates)):
            if rng.random() < 0.4:
                continue
            stage = f"{name}.update({i})"
            if not self.loops(stage):
                continue          # f[0] = ...: one point, no loops
            if rng.random() < 0.25:
                self.rfactor(stage, name)
            if rng.random() < 0.4:
                self.attempt(stage, "atomic")
            for _ in range(rng.choice([1, 2, 3, 4])):
                kind = rng.choices(list(UPDATE_WEIGHTS), list(UPDATE_WEIGHTS.values()))[0]
                getattr(self, "d_" + kind)(stage, func)

    def rfactor(self, stage: str, name: str):
        pure = {v.name for v in self.s.computed_pipeline().func(name).pure_vars}
        rvars = [v for v in self.loops(stage) if v not in pure]
        u = self.fresh("u")
        if not rvars or not self.attempt(stage, "rfactor", self.rng.choice(rvars), u):
            return
        intm = f"{name}_intm"
        func = self.s.computed_pipeline().func(intm)
        if self.rng.random() < 0.6:
            self.gpu_tile(intm, func)
        for _ in range(self.rng.choice([0, 1, 2, 3]) if self.loops(f"{intm}.update(0)") else 0):
            kind = self.rng.choices(list(UPDATE_WEIGHTS), list(UPDATE_WEIGHTS.values()))[0]
            getattr(self, "d_" + kind)(f"{intm}.update(0)", func)

    def compute_of(self, name: str) -> str:
        """compute_root / compute_at / compute_inline: the last directive, else the default."""
        ds = [d.name for d in self.s.stage_directives(name) if d.name.startswith("compute")]
        if ds:
            return ds[-1]
        func = next(f for f in self.pipe.funcs if f.name == name)
        root = name in self.alg.outputs or bool(func.updates)
        return "compute_root" if root else "compute_inline"

    def at_site(self, name: str) -> bool:
        return self.compute_of(name) == "compute_at"

    def sites(self, name: str) -> list:
        """The Funcs with loops that read ``name``, directly or through inlined Funcs."""
        found, seen = set(), set()
        stack = [c for c in self.order if name in self.alg.funcs.get(c, ())]
        while stack:
            c = stack.pop()
            if c in seen:
                continue
            seen.add(c)
            if self.compute_of(c) == "compute_inline":
                stack += [d for d in self.order if c in self.alg.funcs.get(d, ())]
            else:
                found.add(c)
                if name in self.alg.update_reads.get(c, ()):
                    found.add(c + " (update)")     # read outside the pure loops as well
        return sorted(found)

    def fresh(self, base: str) -> str:
        self.names += 1
        if self.rng.random() < 0.04:
            return self.rng.choice(TRICKY)
        return f"{base}{self.names}"

    def loops(self, name) -> list:
        return self.s.loop_vars(name)

    # --- compute levels ------------------------------------------------------------------------
    def compute_level(self, name: str):
        rng = self.rng
        roll = rng.random()
        if roll < 0.3:
            return
        if roll < 0.55:
            self.attempt(name, "compute_root")
        elif roll < 0.95:
            cons = sorted(self.consumers.get(name, ()))
            if not cons:
                return
            # Vortex computes a Func at one site, in a Func computed at root (else a clean
            # refusal today): mostly pick the one Func that reads it, through inlined ones
            sites = self.sites(name)
            if len(sites) != 1 and rng.random() < 0.85:
                self.attempt(name, "compute_root")
                return
            c = sites[0] if len(sites) == 1 and rng.random() < 0.85 else rng.choice(cons)
            if self.compute_of(c) == "compute_at" and rng.random() < 0.85:
                self.attempt(name, "compute_root")
                return
            loops = self.loops(c)
            pure = [v for v in loops if not re.match(r"r\d", v)]   # not an RDom's loops
            loops = pure if pure and rng.random() < 0.7 else loops
            tiles = [v for v in loops if v in self.outer]
            at = rng.choice(tiles if tiles and rng.random() < 0.6 else loops or [None])
            if at is None or not self.attempt(name, "compute_at", c, at):
                return
            outer = loops[:loops.index(at)] if at in loops else []
            if outer and rng.random() < 0.4:      # a sliding window (store_at above compute_at)
                if self.attempt(name, "store_at", c, rng.choice(outer)):
                    return                        # private to a thread: no store_in
        else:
            self.attempt(name, "compute_inline")
            return
        if rng.random() < 0.45:
            self.attempt(name, "store_in", rng.choice(["shared", "register", "global"]))

    # --- loop directives -----------------------------------------------------------------------
    def gpu_tile(self, name, func):
        pure = [v.name for v in func.pure_vars if v.name in self.loops(name)]
        if not pure:
            return
        k = self.rng.choice([1, 1, 2, 2, 3])
        vs = pure[-k:]
        factors = [self.rng.choice((1, 2, 4, 8, 16, 32, 3, 5)) for _ in vs]
        while len(vs) > 1 and factors[0] * factors[-1] > 256:
            factors[0] = 1
        outer, inner = [self.fresh(v + "o") for v in vs], [self.fresh(v + "i") for v in vs]
        if self.attempt(name, "gpu_tile", *vs, *outer, *inner, *factors):
            self.outer.update(outer)
            self.inner.update(inner)

    def d_split(self, name, func):
        v = self.rng.choice(self.loops(name))
        outer = v if self.rng.random() < 0.3 else self.fresh(v + "o")
        inner = self.fresh(v + "i")
        if self.attempt(name, "split", v, outer, inner, self.rng.choice(FACTORS)):
            self.outer.add(outer)
            self.inner.add(inner)

    def d_tile(self, name, func):
        loops = self.loops(name)
        if len(loops) < 2:
            return
        i = self.rng.randrange(len(loops) - 1)
        y, x = loops[i], loops[i + 1]
        yo, xo = (y, x) if self.rng.random() < 0.3 else (self.fresh(y + "o"), self.fresh(x + "o"))
        yi, xi = self.fresh(y + "i"), self.fresh(x + "i")
        if self.attempt(name, "tile", y, x, yo, xo, yi, xi, self.rng.choice(FACTORS),
                        self.rng.choice(FACTORS)):
            self.outer.update((yo, xo))
            self.inner.update((yi, xi))

    def d_reorder(self, name, func):
        loops = self.loops(name)
        if len(loops) >= 2:
            vs = self.rng.sample(loops, self.rng.randint(2, len(loops)))
            self.attempt(name, "reorder", *vs)

    def d_fuse(self, name, func):
        loops = self.loops(name)
        if len(loops) >= 2:
            i = self.rng.randrange(len(loops) - 1)
            fused = self.rng.choice([loops[i], loops[i + 1], self.fresh("f")])
            self.attempt(name, "fuse", loops[i], loops[i + 1], fused)

    def d_gpu_blocks(self, name, func):
        loops = self.loops(name)
        k = min(len(loops), self.rng.choice([1, 1, 2]))
        if self.attempt(name, "gpu_blocks", *loops[:k] if self.rng.random() < 0.7
                        else self.rng.sample(loops, k)) and k == 2 and self.rng.random() < 0.3:
            self.d_swizzle_blocks(name, func)

    def d_gpu_threads(self, name, func):
        loops = self.loops(name)
        inner = [v for v in loops if v in self.inner]
        if inner and self.rng.random() < 0.8:
            loops = inner                     # a thread loop needs a constant extent
        k = min(len(loops), self.rng.choice([1, 1, 2]))
        self.attempt(name, "gpu_threads", *loops[-k:] if self.rng.random() < 0.7
                     else self.rng.sample(loops, k))

    def d_gpu_tile(self, name, func):
        self.gpu_tile(name, func)

    def _inner(self, name, method, factors):
        loops = self.loops(name)
        inner = [v for v in loops if v in self.inner]
        if inner and self.rng.random() < 0.35:
            args = (self.rng.choice(inner),)   # without a factor: a loop of constant extent
        else:
            args = (self.rng.choice(loops), self.rng.choice(factors))
        self.attempt(name, method, *args)

    def d_vectorize(self, name, func):
        self._inner(name, "vectorize", (2, 3, 4, 8))

    def d_unroll(self, name, func):
        self._inner(name, "unroll", (2, 3, 4))

    def d_bound(self, name, func):
        shape = func.shape or ()
        pure = list(func.pure_vars)
        if not pure:
            return
        i = self.rng.randrange(len(pure))
        extent = getattr(shape[i], "value", None) if i < len(shape) else None
        if extent is None and self.rng.random() < 0.7:
            return                       # a Dim's extent varies between calls: rarely bound it
        if extent is None or self.rng.random() < 0.15:
            extent = self.rng.choice([1, 4, 16, 64])
        self.attempt(name, "bound", pure[i].name, 0, extent)

    def d_specialize(self, name, func):
        dims = sorted(self.pipe.dims)
        if dims:
            n = self.rng.choice((2, 4, 8, 16, 32))
            self.attempt(name, "specialize", vx.divisible(self.rng.choice(dims), n))

    def d_stage(self, name, func):
        sources = sorted(self.alg.funcs.get(name, ()))
        loops = self.loops(name)
        if not sources or not loops:
            return
        at = self.rng.choice(loops)
        memory = self.rng.choice(["shared", "shared", "register"])
        swizzle = "xor" if self.rng.random() < 0.2 else None
        if self.attempt(name, "stage", self.rng.choice(sources), at, memory, swizzle):
            self.staged.setdefault(name, []).append(at)
            if self.rng.random() < 0.4:          # what a staged copy is for
                self.d_pipeline(name, func)
            if self.rng.random() < 0.2:
                self.d_warp_specialize(name, func)

    def d_pipeline(self, name, func):
        if self.staged.get(name):
            self.attempt(name, "pipeline", self.rng.choice(self.staged[name]),
                         self.rng.choice([2, 3, 4]))

    def d_warp_specialize(self, name, func):
        self.attempt(name, "warp_specialize", self.rng.choice([1, 2]))

    def d_swizzle_blocks(self, name, func):
        self.attempt(name, "swizzle_blocks", self.rng.choice([2, 3, 8]))


def generate_schedule(rng, pipe, alg) -> tuple:
    """(schedule, number of directives refused while building it)."""
    gen = ScheduleGen(rng, pipe, alg)
    return gen.build(), gen.refused
