"""The fuzzer's ``mma`` cases (fuzz/mma.py): sums of products with where predicates and mma
schedules, run on PoCL against the reference and compiled for their vendor's target.

Checked here in-process, on the first cases of seed "ci" of each kind (the fixed-seed test,
test_fuzz.py, runs all 14 of its 200): an NVIDIA shape (CUDA compiled), an AMD shape (HIP
compiled), one computed at its consumer's block, all correct; a conjunct reading i and j is a
clean vx.ScheduleError (refused), not a failure; the other cases of a seed are the ones they were
before mma cases existed (their own random stream)."""
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # fuzz/ is at the repo root

from fuzz import case, mma  # noqa: E402
from fuzz.generate import generate  # noqa: E402


def first(pred, seed="ci", n=400) -> int:
    for index in range(n):
        rng, alg, _ = case.pick(seed, index)
        if alg.mma and pred(alg):
            return index
    raise AssertionError("no such mma case")


def run(index, seed="ci") -> dict:
    sent = []
    case.run_case(seed, index, False, lambda kind, payload: sent.append((kind, payload)))
    return dict(sent)


def test_mma_cases_match_the_reference_and_compile(opencl_device):
    kinds = {"nvidia root": lambda a: a.mma["vendor"] == "nvidia" and "where" in a.source
             and a.mma["mode"] == "root",
             "amd": lambda a: a.mma["vendor"] == "amd" and "where" in a.source,
             "at a site": lambda a: a.mma["mode"] == "at"}
    for kind, pred in kinds.items():
        index = first(lambda a: pred(a) and "i + j" not in a.source and "i != j" not in a.source)
        got = run(index)
        assert got["done"]["failures"] == [], (kind, index, got["done"]["failures"])
        assert "mma" in got["done"]["directives"], (kind, index)
        assert ".mma(" in got["snippet"] and set(got["done"]["seconds"]) >= {
            "run opencl", "compile " + {"nvidia": "cuda", "amd": "hip"}[
                case.pick("ci", index)[1].mma["vendor"]]}


def test_a_predicate_reading_i_and_j_is_a_clean_refusal():
    index = first(lambda a: "i + j" in a.source or "i != j" in a.source)
    (f,) = run(index)["done"]["failures"]
    assert (f["class"], f["kind"], f["phase"]) == ("refused", "ScheduleError", "compile opencl")
    assert "reads both 'i' and 'j', so it does not zero one operand's elements" in f["message"]


def test_other_cases_are_unchanged():
    others = [i for i in range(60) if not case.pick("ci", i)[1].mma]
    assert 40 < len(others) < 60
    for i in others[:5]:
        assert case.pick("ci", i)[1].source == generate(random.Random(f"ci:{i}")).source


def test_mma_operands_are_exact_multiples():
    rng = random.Random(3)
    alg = mma.generate(rng)
    ns = {}
    exec("import numpy as np\nimport vortex as vx\n" + alg.source, ns)
    src = case.snippet(alg, "s = None\n", alg.targets)
    exec(src[src.index("\nINPUTS ="):src.index("\n\nif __name__")], ns)
    args = ns["arguments"]({"M": 5, "N": 3, "K": 7}, 0)
    for name, (dtype, axes, _) in alg.inputs.items():
        assert args[name].dtype == np.dtype(getattr(ns["vx"], dtype).np)
    if alg.inputs["A"][0] in ("float16", "bfloat16"):
        a = args["A"].astype(np.float32)
        assert np.array_equal(a * 4, np.round(a * 4)) and np.abs(a).max() <= 2
