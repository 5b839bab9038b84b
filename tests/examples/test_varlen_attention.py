"""examples/varlen_attention.py: attention over a packed batch of variable-length sequences
(issue 16 acceptance 3) against per-sequence numpy attention, on PoCL with the shipped PoCL
schedule and in ``pipe.reference``, causal and not: lengths [47, 128, 2048, 15], a batch with
an empty sequence [1, 0, 3], grouped-query heads; the key loop's bound is loaded from the data
(no box, no mask); the range checks on offsets and seg. The GPU files compile for sm_90 / sm_80
/ gfx90a in tests/examples/test_schedules.py."""
from pathlib import Path

import numpy as np
import pytest

import vortex as vx
from vortex.examples import load_example

ROOT = Path(__file__).resolve().parents[2]
varlen = load_example(ROOT / "examples" / "varlen_attention.py")
POCL_FILE = ROOT / "schedules" / "varlen_attention" / "pocl-cpu.toml"
ACCEPTANCE = [47, 128, 2048, 15]
_KERNELS: dict = {}


def kernel(opencl_device, causal):
    if causal not in _KERNELS:
        _KERNELS[causal] = vx.compile(varlen.pipeline(16, causal), schedule=str(POCL_FILE),
                                      target="opencl", device=opencl_device)
    return _KERNELS[causal]


def check(out, args, causal):
    want = varlen.numpy_version(**args, causal=causal)
    assert out.shape == want.shape and out.dtype == np.float32
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("causal", [True, False], ids=["causal", "full"])
@pytest.mark.parametrize("lengths", [ACCEPTANCE, [1, 0, 3], [0], [5, 1, 0, 17, 2]],
                         ids=["acceptance", "1-0-3", "empty", "awkward"])
def test_matches_numpy_on_pocl(opencl_device, lengths, causal):
    args = varlen.packed(lengths, seed=len(lengths))
    check(kernel(opencl_device, causal)(**args), args, causal)


@pytest.mark.parametrize("lengths, causal", [([1, 0, 3], True), ([1, 0, 3], False),
                                             ([47, 128, 15], False), (ACCEPTANCE, True)])
def test_reference_matches_numpy(lengths, causal):
    args = varlen.packed(lengths, seed=1)
    check(varlen.pipeline(16, causal).reference(**args), args, causal)


def test_grouped_query_heads_on_pocl_and_reference(opencl_device):
    """H = 4 query heads over HK = 2 key/value heads: heads 0-1 read K/V head 0, 2-3 head 1."""
    args = varlen.packed([9, 0, 4, 1], H=4, HK=2, seed=3)
    check(kernel(opencl_device, True)(**args), args, True)
    check(varlen.pipeline(16, True).reference(**args), args, True)


def test_a_token_attends_only_to_its_own_sequence():
    """Changing the second sequence's V leaves the first and third sequences' outputs as they
    were (bit for bit): no key loop crosses a sequence boundary."""
    args = varlen.packed([3, 4, 2], seed=5)
    pipe = varlen.pipeline(16, causal=False)
    before = pipe.reference(**args)
    args["V"][3:7] += 1
    after = pipe.reference(**args)
    np.testing.assert_array_equal(after[:3], before[:3])
    np.testing.assert_array_equal(after[7:], before[7:])
    assert not np.array_equal(after[3:7], before[3:7])


def test_the_key_loops_are_bounded_by_the_loaded_offsets(opencl_device):
    """Every kernel's key loop runs from the token's own sequence start: its bound reads
    offsets[seg[t]] (no loop over the longest sequence, no mask)."""
    code = kernel(opencl_device, True).kernel_source.code
    for name in ("r1", "r2", "r3"):
        assert f"for (int {name} = 0; {name} < " in code
    # offsets[seg[t]], each index clamped into its buffer (lower/varying.py in_bounds)
    assert code.count("offsets[min(max(seg[min(max(") >= 6
    assert "where" not in code and "select" not in code


def test_offsets_and_seg_out_of_their_range_are_refused():
    args = varlen.packed([2, 3])
    pipe = varlen.pipeline(16, True)
    bad = dict(args, offsets=np.array([0, 2, 6], np.int32))        # past T = 5
    with pytest.raises(vx.InputError, match="offsets"):
        pipe.reference(**bad)
    bad = dict(args, seg=np.array([0, 0, 1, 1, 2], np.int32))      # only sequences 0 and 1
    with pytest.raises(vx.InputError, match="seg"):
        pipe.reference(**bad)
