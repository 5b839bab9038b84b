"""The lane algebra of vortex.codegen.lanes: alignment proofs and lane-uniform guards, checked
against enumeration (a proof that holds must hold for every value tried)."""
import itertools

import pytest

import vortex as vx
from vortex.algorithm.expr import Dim
from vortex.codegen.lanes import (LANE, affine, at_lane0, dim_multiples, lane_step, multiple_of,
                                  uniform_guard)
from vortex.lower.ir import Ref

K, L, R = (Ref(n, vx.int32) for n in ("k", "l", "r"))
W = Dim("W")
FORMS = {"l": LANE}


def test_dense_uniform_and_gather_steps():
    assert lane_step(affine(K * 4 + L, FORMS)) == "dense"
    assert lane_step(affine(K * 4 + W, FORMS)) == "uniform"
    assert lane_step(affine(L * 2 + K, FORMS)) == "gather"
    assert lane_step(affine(vx.min(K + L, W), FORMS)) == "gather"   # a clamp of the lane


@pytest.mark.parametrize("index, facts, proven", [
    (K * 4 + L, {}, True),                         # 4k
    (K * 4 + L + 1, {}, False),                    # an offset x + 1
    (K * 4 + L + 4, {}, True),
    (K * W + L, {}, False),                        # a row of W: not unless W is
    (K * W + L, {"W": 4}, True),
    (K * W + L, {"W": 8}, True),
    (K * W + L, {"W": 2}, False),
    (K * (W + 4) + R * 8 + L, {"W": 4}, True),
    (K * (W + 1) + L, {"W": 4}, False),
])
def test_multiple_of_lane_count(index, facts, proven):
    base = at_lane0(affine(index, FORMS))
    assert multiple_of(base, 4, facts) is proven
    if proven:   # and true for every value
        for k, r, w in itertools.product(range(-5, 6), range(-3, 4), range(1, 33)):
            if all(w % m == 0 for m in facts.values()):
                env = {"ref.k": k, "ref.r": r, "dim.W": w}
                assert int(base.subs({s: env[s.name] for s in base.free_symbols})) % 4 == 0


def test_dim_multiples_read_specialize_conditions():
    H = Dim("H")
    cond = ((W % 64) == 0) & ((H % 8) == 0) & (K < W)
    assert dim_multiples(cond) == {"W": 64, "H": 8}
    assert dim_multiples(K < W) == {}


# conditions of (k, lane, W): the edge tests an aligned tile makes, and ones that differ by lane
GUARDS = {
    "x < W": (lambda k, l, w: k * 4 + l < w, True),
    "x <= W - 1": (lambda k, l, w: k * 4 + l <= w - 1, True),
    "x >= W": (lambda k, l, w: k * 4 + l >= w, True),
    "x > W - 1": (lambda k, l, w: k * 4 + l > w - 1, True),
    "W - 1 - x >= 0": (lambda k, l, w: w - 1 - (k * 4 + l) >= 0, True),
    "x + 1 < W": (lambda k, l, w: k * 4 + l + 1 < w, False),
    "x <= W": (lambda k, l, w: k * 4 + l <= w, False),
    "2x < W": (lambda k, l, w: (k * 4 + l) * 2 < w, False),
    "x != W": (lambda k, l, w: k * 4 + l != w, False),
}


@pytest.mark.parametrize("name", sorted(GUARDS))
@pytest.mark.parametrize("facts", [{"W": 4}, {}], ids=["W%4", "any W"])
def test_uniform_guard_is_sound(name, facts):
    build, uniform_under_facts = GUARDS[name]
    verdict = uniform_guard(build(K, L, W), "l", FORMS, 4, facts)
    assert verdict is (uniform_under_facts and bool(facts))
    for k, w in itertools.product(range(-4, 12), range(1, 40)):
        if verdict and w % 4 == 0:
            assert len({build(k, lane, w) for lane in range(4)}) == 1, (k, w)
