"""The ``e >= 0`` prover (vortex.algorithm.symbolic, with its affine first step in
vortex.algorithm.affine): sound on random size expressions, able to prove what pyramids need,
and floor division kept in one canonical form."""
import random

import sympy as sp

from vortex.algorithm import affine
from vortex.algorithm.symbolic import dim_symbol, floordiv, prove_nonneg, smax, smin

W, H = dim_symbol("W"), dim_symbol("H")
W34 = dim_symbol("W", 34)


def _value(e, w, h):
    return affine._exact(e, {W: w, H: h, W34: w})


def _random_expr(rng: random.Random, depth: int):
    if depth == 0:
        return rng.choice([W, H, sp.Integer(rng.randint(-5, 5))])
    a, b = _random_expr(rng, depth - 1), _random_expr(rng, depth - 1)
    pick = rng.randrange(6)
    if pick == 0:
        return a + b
    if pick == 1:
        return a - b
    if pick == 2:
        return rng.randint(-3, 3) * a
    if pick == 3:
        return floordiv(a, rng.randint(1, 4))
    if pick == 4:
        return sp.Min(a, b)
    return sp.Max(a, b)


def test_the_prover_is_sound_on_random_expressions():
    """Whatever it proves holds at every sampled size (W, H in 1..40)."""
    rng = random.Random(7)
    proven = 0
    for _ in range(150):
        e = _random_expr(rng, rng.randint(1, 4))
        if prove_nonneg(e):
            proven += 1
            for w in range(1, 41):
                for h in (1, 2, 3, 7, 40):
                    assert _value(e, w, h) >= 0, (e, w, h)
    assert proven > 30      # the test exercises proofs, not only refusals


def test_affine_bounds_prove_pyramid_facts():
    up = floordiv(W - 1, 2)                       # (W - 1) // 2
    assert prove_nonneg(floordiv(W + 1, 2) - up)
    assert prove_nonneg(2 * floordiv(W, 2) + 1 - W)
    assert prove_nonneg(W - 1 - sp.Min(W - 1, 2 * floordiv(W, 4) + 3)) is True
    assert prove_nonneg(sp.Min(W, H) - 1)
    assert prove_nonneg(sp.Max(W, H) - W)
    assert not prove_nonneg(floordiv(W, 2) - floordiv(W + 1, 2))   # W odd: -1
    assert affine.refuted(floordiv(W, 2) - floordiv(W + 1, 2))


def test_the_prover_uses_a_dims_minimum():
    assert not prove_nonneg(W - 34)
    assert prove_nonneg(W34 - 34)
    assert prove_nonneg(W34 - 1 - floordiv(W34, 2) - 16)   # x + 16 < W for x < W // 2
    assert not prove_nonneg(W34 - 35)


def test_nested_floors_become_one_floor():
    e = W
    for _ in range(8):                          # a pyramid's upper end, 8 levels down
        e = floordiv(e + 1, 2)
    assert len(e.atoms(sp.floor)) == 1
    nested = W
    for _ in range(8):
        nested = sp.floor((nested + 1) / sp.Integer(2))
    for w in range(1, 600, 7):
        assert _value(e, w, 1) == _value(nested, w, 1)


def test_deep_min_max_stay_decidable():
    """A union of 12 shifted floors: the affine step orders them without a search."""
    lo = hi = floordiv(W, 2)
    for k in range(12):
        lo, hi = smin(lo, floordiv(W - k, 2)), smax(hi, floordiv(W + k, 2))
    assert sp.expand(lo - floordiv(W - 11, 2)) == 0
    assert sp.expand(hi - floordiv(W + 11, 2)) == 0
