"""Every schedule directive, three ways (STYLE §6): it runs correctly on PoCL for awkward
shapes, it shapes the lowered loop nest as it says, and it round-trips through TOML and
``to_python()`` to the identical generated source.

Cases are in ``cases.py`` (pipelines in ``tests/pipelines.py``); shapes are 1×1, 7×13 (primes,
not multiples of any tile), 37×1023 and 256×256 (multiples: the specialized fast path).
"""
import numpy as np
import pytest

import pipelines as P
import vortex as vx

from .cases import BY_ID, CASES, lower_one_version

IDS = [c.id for c in CASES]


def schedule_of(case) -> vx.Schedule:
    return case.build(P.pipe(case.pipeline))


@pytest.mark.parametrize("shape", P.SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("case_id", IDS)
def test_runs_like_the_reference(case_id, shape, compiled):
    case = BY_ID[case_id]
    kernel = compiled(case.pipeline, case.id, schedule_of(case))
    args, ref = P.reference(case.pipeline, shape)
    P.assert_matches(kernel(**args), ref)


@pytest.mark.parametrize("case_id", IDS)
def test_lowered_loop_nest(case_id):
    case = BY_ID[case_id]
    case.check(lower_one_version(P.pipe(case.pipeline), schedule_of(case)))


@pytest.mark.parametrize("case_id", IDS)
def test_round_trip_gives_identical_source(case_id, tmp_path):
    case = BY_ID[case_id]
    pipe, s = P.pipe(case.pipeline), schedule_of(case)
    source = vx.source(pipe, s, target="opencl")
    loaded = vx.Schedule.load(s.save(tmp_path / f"{case.id}.toml"), pipe)
    for again in (loaded, P.replay_python(s)):
        assert again.directives == s.directives
        assert vx.source(pipe, again, target="opencl") == source


def test_every_directive_has_a_case():
    used = {type(d).__name__ for c in CASES for ds in schedule_of(c).directives.values()
            for d in ds}
    assert used == {cls.__name__ for cls in vx.schedule.DIRECTIVES.values()}
    with_factor = {(type(d).__name__, d.factor is None) for c in CASES
                   for ds in schedule_of(c).directives.values() for d in ds
                   if isinstance(d, (vx.schedule.Vectorize, vx.schedule.Unroll))}
    assert with_factor == {("Vectorize", True), ("Vectorize", False), ("Unroll", True),
                           ("Unroll", False)}


def test_lowering_is_deterministic():
    """Two lowerings print the same source (fresh local names are counted per kernel)."""
    case = BY_ID["softmax_fused"]
    pipe, s = P.pipe(case.pipeline), schedule_of(case)
    assert vx.source(pipe, s) == vx.source(pipe, s)


def test_compute_inline_is_the_default():
    pipe = P.pipe("blur")
    plain = BY_ID["gpu_tile"].build(pipe)
    assert vx.source(pipe, BY_ID["compute_inline"].build(pipe)) == vx.source(pipe, plain)


@pytest.mark.parametrize("shape", [(3, 48), (9, 16), (1, 16), (8, 32)],
                         ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("case_id", ["specialize", "specialize_shared"])
def test_specialized_fast_path_with_edge_rows(case_id, shape, compiled):
    """W is a multiple of 16 (the fast version runs) while H is not always one of 8."""
    case = BY_ID[case_id]
    kernel = compiled(case.pipeline, case.id, schedule_of(case))
    args, ref = P.reference(case.pipeline, shape)
    P.assert_matches(kernel(**args), ref)


# --- matmul sizes beyond the shared shapes ------------------------------------------------------
MATMUL_SIZES = [(100, 70, 37), (1, 1, 1), (5, 9, 1), (33, 17, 1), (64, 64, 64)]


@pytest.mark.parametrize("size", MATMUL_SIZES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("case_id", ["matmul_tiled", "unroll_factor", "specialize_k",
                                     "matmul_default", "bound_output"])
def test_matmul_sizes(case_id, size, compiled):
    m, n, k = size
    case = BY_ID[case_id]
    kernel = compiled("matmul", case_id, schedule_of(case))
    rng = np.random.default_rng(1)
    a, b = rng.random((m, k), dtype=np.float32), rng.random((k, n), dtype=np.float32)
    out = kernel(A=a, B=b)
    np.testing.assert_allclose(out, a.astype(np.float64) @ b, rtol=1e-5)
    np.testing.assert_allclose(out, P.pipe("matmul").reference(A=a, B=b), rtol=1e-5)


@pytest.mark.parametrize("target", ["opencl", "cuda", "hip"])
def test_unrolled_loops_are_expanded_in_the_source_without_a_pragma(target):
    """unroll(ki) is done by the unroll pass: no loop over ki and no ``#pragma unroll`` (which
    crashed/hung PoCL) is printed; the four copies read k_u0 … k_u3."""
    src = vx.source(P.pipe("matmul"), schedule_of(BY_ID["unroll"]), target=target)
    assert "ki" not in src and "#pragma unroll" not in src
    assert all(f"int k_u{i} = " in src for i in range(4))


@pytest.mark.parametrize("target", ["cuda", "hip"])
def test_cuda_and_hip_keep_the_pragma_on_the_vectorized_loops_the_ir_keeps(target):
    src = vx.source(P.pipe("blur"), schedule_of(BY_ID["vectorize"]), target=target)
    assert src.split("#pragma unroll\n", 1)[1].lstrip().startswith("for (int xv = 0; xv < 4;")
