"""examples/half_gemm.py in bfloat16 (``pipeline(vx.bfloat16)``): the PoCL file equals
``pipe.reference`` (ml_dtypes.bfloat16 inputs) at sizes that divide the tiles and at odd ones;
the H100 file reaches HMMA.BF16 with LDSM on sm_90 and the MI300X file the bf16_1k MFMA on
gfx90a (bfloat16 held as its bits on HIP: vortex/codegen/bf16.py). float16 runs in
test_schedules.py."""
import re
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

import compilers
import vortex as vx
from vortex.examples import load_example

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = load_example(str(ROOT / "examples" / "half_gemm.py"))
FILES = ROOT / "schedules" / "half_gemm"


def test_pocl_matches_the_reference_and_numpy(opencl_device):
    pipe = EXAMPLE.pipeline(vx.bfloat16)
    kernel = vx.compile(pipe, schedule=str(FILES / "pocl-cpu.toml"), target="opencl",
                        device=opencl_device)
    rng = np.random.default_rng(3)
    for m, n, k in ((1, 1, 1), (100, 70, 37), (64, 64, 32)):
        a = rng.standard_normal((m, k)).astype(ml_dtypes.bfloat16)
        b = rng.standard_normal((k, n)).astype(ml_dtypes.bfloat16)
        out, ref = kernel(A=a, B=b), pipe.reference(A=a, B=b)
        np.testing.assert_array_equal(out, ref, err_msg=f"{m}x{n}x{k}")
        exact = a.astype(np.float64) @ b.astype(np.float64)      # products exact in float32
        np.testing.assert_allclose(out, exact, rtol=1e-5, atol=1e-5 * k)


@pytest.mark.parametrize("name, target, arch, opcode", [
    ("nvidia-h100", "cuda", "sm_90", r"HMMA\.16816\.F32\.BF16"),
    ("amd-mi300x", "hip", "gfx90a", r"v_mfma_f32_16x16x16bf16_1k")])
def test_gpu_files_reach_the_bfloat16_tensor_cores(name, target, arch, opcode):
    compilers.need_isa(target)
    pipe = EXAMPLE.pipeline(vx.bfloat16)
    kernel = vx.compile(pipe, schedule=str(FILES / f"{name}.toml"), target=target, arch=arch)
    if target == "cuda":
        from vortex.isa import sass
        text = sass.disassemble(kernel.binary, arch)
        assert re.search(r"\bLDSM\b", text)
        assert not re.search(r"\b(LDL|STL)\b", text)
    else:
        from vortex.isa import amdgcn
        text = amdgcn.disassemble(kernel.binary, arch)
        assert kernel.resources["C_kernel"]["scratch_bytes"] == 0
    assert len(re.findall(opcode, text)) == 64     # 128×128 block tile, k step 32
