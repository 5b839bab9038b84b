"""The ``mma`` directive (tensor cores): the innermost (i, j, k) loops of a sum of products as one
warp-level matrix instruction (vortex/lower/mma.py, vortex/codegen/mma_print.py).

On PoCL each lane computes its accumulator fragment with plain loops over the same addresses,
so every schedule equals ``pipe.reference`` exactly (inputs are small multiples of 1/4: every
product and sum is exact in float32) at sizes that divide the tiles and at odd ones (guards
become zero-filled fragment elements and guarded stores). NVRTC (sm_80, sm_90) and hiprtc
(gfx90a) compile the same schedules to HMMA / IMMA / v_mfma with no local memory. One test per
error message."""
import re

import numpy as np
import pytest

import compilers
import vortex as vx

TYPES = {"float16": (vx.float16, vx.float32), "bfloat16": (vx.bfloat16, vx.float32),
         "int8": (vx.int8, vx.int32), "float32": (vx.float32, vx.float32)}
SIZES = ((1, 1, 1), (16, 8, 16), (3, 5, 7), (100, 70, 37), (64, 32, 48))


def matmul(kind: str, epilogue: bool = False, reduce=vx.sum, cast: bool = True):
    """C[i, j] = reduce_k acc(A[i, k]) · acc(B[k, j]), with ``epilogue``: · 2 + bias[j];
    ``kind`` "float32" (with ``cast=False``) and ``reduce`` other than sum are for the errors."""
    ab, acc = TYPES[kind]
    M, N, K = vx.dims("M N K")
    A, B = vx.Input("A", ab, (M, K)), vx.Input("B", ab, (K, N))
    i, j = vx.vars("i j")
    k = vx.RDom(K, name="k")
    C = vx.Func("C", shape=(M, N))
    a, b = (vx.cast(acc, A[i, k]), vx.cast(acc, B[k, j])) if cast else (A[i, k], B[k, j])
    total = reduce(a * b)
    if epilogue:
        bias = vx.Input("bias", acc, (N,))
        C[i, j] = total * vx.cast(acc, 2) + bias[j]
    else:
        C[i, j] = total
    return vx.Pipeline(C)


def schedule(pipe, shape, warps=(1, 1), sub=(1, 1), stage=False):
    """A block of warps[0] × warps[1] warps, each sub[0] × sub[1] instruction tiles (unrolled);
    with ``stage`` the block's A and B tiles of each k step in shared memory."""
    m, n, kk = shape
    s = vx.Schedule(pipe)
    wi, wj = m * sub[0], n * sub[1]
    s["C"].tile("i", "j", "io", "jo", "ii", "ji", wi * warps[0], wj * warps[1]) \
        .tile("ii", "ji", "iw", "jw", "iq", "jq", wi, wj) \
        .tile("iq", "jq", "iu", "ju", "it", "jt", m, n).split("k", "ko", "kt", kk) \
        .reorder("io", "jo", "iw", "jw", "ko", "iu", "ju", "it", "jt", "kt") \
        .mma("it", "jt", "kt").gpu_blocks("io", "jo").gpu_threads("iw", "jw") \
        .unroll("iu").unroll("ju")
    if stage:
        s["C"].stage("A", at="ko").stage("B", at="ko")
    return s


def operands(kind, m, n, kk, rng, epilogue=False):
    if kind == "int8":
        out = {"A": rng.integers(-128, 128, (m, kk)).astype(np.int8),
               "B": rng.integers(-128, 128, (kk, n)).astype(np.int8)}
    else:
        t = TYPES[kind][0].np
        out = {"A": (rng.integers(-8, 9, (m, kk)) / 4).astype(t),
               "B": (rng.integers(-8, 9, (kk, n)) / 4).astype(t)}
    if epilogue:
        out["bias"] = rng.integers(-4, 5, n).astype(np.int32 if kind == "int8" else np.float32)
    return out


CASES = [("float16", (16, 8, 16), (2, 2), (2, 1)),     # mma.sync m16n8k16
         ("float16", (16, 16, 16), (1, 2), (1, 1)),    # MFMA 16x16x16
         ("float16", (32, 32, 8), (1, 1), (1, 1)),     # MFMA 32x32x8
         ("bfloat16", (16, 8, 16), (1, 2), (1, 1)),    # mma.sync m16n8k16 bf16
         ("float32", (16, 16, 4), (1, 2), (1, 1)),     # MFMA 16x16x4 f32 (exact)
         ("int8", (16, 8, 32), (1, 2), (1, 2))]        # mma.sync m16n8k32 s8


@pytest.mark.parametrize("epilogue", [False, True], ids=["plain", "epilogue"])
@pytest.mark.parametrize("kind, shape, warps, sub", CASES, ids=lambda c: str(c))
def test_pocl_equals_the_reference_exactly(opencl_device, kind, shape, warps, sub, epilogue):
    pipe = matmul(kind, epilogue)
    kernel = vx.compile(pipe, schedule(pipe, shape, warps, sub), target="opencl",
                        device=opencl_device)
    lanes = 32 if shape[1] == 8 else 64
    (launch,) = kernel.launch_config(**operands(kind, 1, 1, 1, np.random.default_rng(0),
                                                epilogue))
    assert launch["block"] == (lanes, warps[1], warps[0])
    rng = np.random.default_rng(len(shape) + sum(shape))
    for m, n, kk in SIZES:
        args = operands(kind, m, n, kk, rng, epilogue)
        np.testing.assert_array_equal(kernel(**args), pipe.reference(**args),
                                      err_msg=f"{m}x{n}x{kk}")


def test_staged_tiles_on_pocl_and_cuda(opencl_device):
    """The fragments read the block's staged shared tiles: exact on PoCL (float16 tiles as
    half bits in local memory), shared memory on sm_90."""
    pipe = matmul("float16")
    s = schedule(pipe, (16, 8, 16), (2, 2), (2, 1), stage=True)
    kernel = vx.compile(pipe, s, target="opencl", device=opencl_device)
    rng = np.random.default_rng(5)
    for m, n, kk in SIZES:
        args = operands("float16", m, n, kk, rng)
        np.testing.assert_array_equal(kernel(**args), pipe.reference(**args),
                                      err_msg=f"{m}x{n}x{kk}")
    compilers.need_nvrtc()
    cuda = vx.compile(pipe, s, target="cuda", arch="sm_90")
    assert cuda.resources["C_kernel"]["shared_bytes"] > 0


@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
@pytest.mark.parametrize("kind, opcode", [("float16", "HMMA"), ("int8", "IMMA")])
def test_cuda_issues_tensor_core_instructions(kind, opcode, arch):
    compilers.need_isa("cuda")
    from vortex.isa import sass
    shape = (16, 8, 16) if kind == "float16" else (16, 8, 32)
    pipe = matmul(kind, epilogue=True)
    kernel = vx.compile(pipe, schedule(pipe, shape, (2, 2), (2, 1)), target="cuda", arch=arch)
    text = sass.disassemble(kernel.binary, arch)
    assert len(re.findall(rf"\b{opcode}\b", text)) >= 2          # the 2 unrolled sub-tiles
    assert not re.search(r"\b(LDL|STL)\b", text)
    assert kernel.resources["C_kernel"]["spill_stores"] == 0
    from vortex.isa.model import OpClass
    (report,) = kernel.analysis().isa          # the instruction report counts them, in the loop
    assert report.inner.mix.ops(OpClass.TENSOR) == len(re.findall(rf"\b{opcode}\b", text))


@pytest.mark.parametrize("kind, shape, opcode", [
    ("float16", (16, 16, 16), "v_mfma_f32_16x16x16f16"),
    ("bfloat16", (16, 16, 16), "v_mfma_f32_16x16x16bf16_1k"),
    ("float32", (16, 16, 4), "v_mfma_f32_16x16x4f32")])
def test_hip_issues_mfma(kind, shape, opcode):
    """bfloat16 elements are floats holding bfloat16 values on HIP (codegen/bf16.py): their
    bits feed the bf16_1k MFMA; float32 needs no opt-in on AMD (its MFMA is exact)."""
    compilers.need_isa("hip")
    from vortex.isa import amdgcn
    pipe = matmul(kind, epilogue=True)
    kernel = vx.compile(pipe, schedule(pipe, shape, (1, 2)), target="hip", arch="gfx90a")
    text = amdgcn.disassemble(kernel.binary, "gfx90a")
    assert len(re.findall(rf"\b{opcode}\b", text)) >= 1
    assert kernel.resources["C_kernel"]["scratch_bytes"] == 0


# --- errors ------------------------------------------------------------------------------------
ERRORS = (vx.ScheduleError, vx.CompileError)


def _compile(pipe, build, target="opencl"):
    """Schedule ``C`` with ``build`` and compile it for ``target``."""
    s = vx.Schedule(pipe)
    build(s["C"])
    vx.compile(pipe, s, target=target, **({"arch": "sm_90"} if target == "cuda" else {}))


def _tiled(c, m=16, n=8, kk=16):
    return c.tile("i", "j", "io", "jo", "it", "jt", m, n).split("k", "ko", "kt", kk) \
        .reorder("io", "jo", "ko", "it", "jt", "kt")


def test_error_loops_not_innermost():
    with pytest.raises(ERRORS, match=r"must be the three innermost loops, in that order"):
        _compile(matmul("float16"), lambda c: _tiled(c).reorder("kt", "jt").mma("it", "jt", "kt"))


def test_error_threads_bound_before_mma():
    with pytest.raises(ERRORS, match=r"thread axis x is the warp's lanes: call mma before "
                                     r"gpu_threads"):
        _compile(matmul("float16"), lambda c: _tiled(c).gpu_threads("jo").mma("it", "jt", "kt"))


def test_error_no_instruction_has_the_shape():
    with pytest.raises(ERRORS, match=r"no matrix instruction has the shape m x n x k = 8x8x8 "
                                     r"\(shapes: .*16x8x16"):
        _compile(matmul("float16"), lambda c: _tiled(c, 8, 8, 8).mma("it", "jt", "kt"))


def test_error_symbolic_extents():
    with pytest.raises(ERRORS, match=r"must be constants .*split them by those factors first"):
        _compile(matmul("float16"), lambda c: c.mma("i", "j", "k"))


def test_error_types_of_no_instruction():
    with pytest.raises(ERRORS, match=r"no 16x8x16 instruction multiplies float32 by float32 "
                                     r"into float32"):
        _compile(matmul("float32", cast=False), lambda c: _tiled(c).mma("it", "jt", "kt"))


def test_error_float32_without_tf32_opt_in():
    with pytest.raises(ERRORS, match=r"no 16x8x8 instruction multiplies float32 by float32 into "
                                     r"float32 exactly .*rounds the inputs: ask for it with "
                                     r"mma\(\.\.\., input_precision='tf32'\)"):
        _compile(matmul("float32", cast=False), lambda c: _tiled(c, 16, 8, 8).mma("it", "jt", "kt"))


def test_error_mma_on_an_update():
    """C[i, j] += A[i, r] * B[r, j] as an update: refused with the pure form to write instead
    (it used to reach the race check and blame the lane loop)."""
    M, N, K = vx.dims("M N K")
    A, B = vx.Input("A", vx.float16, (M, K)), vx.Input("B", vx.float16, (K, N))
    i, j = vx.vars("i j")
    r = vx.RDom(K, name="r")
    C = vx.Func("C", shape=(M, N))
    C[i, j] = vx.float32(0)
    C[i, j] = C[i, j] + vx.cast(vx.float32, A[i, r]) * vx.cast(vx.float32, B[r, j])
    s = vx.Schedule(vx.Pipeline(C))
    update = s["C"].update(0).tile("i", "j", "io", "jo", "it", "jt", 16, 8) \
        .split("r", "ro", "rt", 16).reorder("io", "jo", "ro", "it", "jt", "rt")
    with pytest.raises(vx.ScheduleError, match=r"mma computes a pure definition whose value is a "
                       r"sum of products .*not update 0 of 'C': compute the product in a pure "
                       r"Func with mma and read it in the update"):
        update.mma("it", "jt", "rt")


def test_error_unknown_input_precision():
    with pytest.raises(ERRORS, match=r"input_precision must be one of \['ieee', 'tf32'\], got "
                                     r"'bf16x3'"):
        _compile(matmul("float32", cast=False),
                 lambda c: _tiled(c, 16, 8, 8).mma("it", "jt", "kt", input_precision="bf16x3"))


def tf32_schedule(pipe):
    s = vx.Schedule(pipe)
    s["C"].tile("i", "j", "io", "jo", "ii", "ji", 32, 16) \
        .tile("ii", "ji", "iw", "jw", "iq", "jq", 16, 8).tile("iq", "jq", "iu", "ju", "it", "jt", 16, 8) \
        .split("k", "ko", "kt", 8).reorder("io", "jo", "iw", "jw", "ko", "iu", "ju", "it", "jt", "kt") \
        .mma("it", "jt", "kt", input_precision="tf32").gpu_blocks("io", "jo") \
        .gpu_threads("iw", "jw")
    return s


def test_tf32_opt_in_on_pocl_rounds_the_inputs_as_the_tensor_cores(opencl_device):
    """Under input_precision="tf32" each float32 input is rounded to tf32 (vx.round_tf32, what
    the instruction reads) on every target: with inputs that tf32 holds exactly (multiples of
    1/4) the result is the reference's; with random inputs it is the float64 product of the
    rounded inputs (to float32 accumulation error), and differs from the exact reference."""
    from vortex.algorithm.tf32 import round_tf32_value
    pipe = matmul("float32", cast=False)
    kernel = vx.compile(pipe, tf32_schedule(pipe), target="opencl", device=opencl_device)
    rng = np.random.default_rng(7)
    for m, n, kk in SIZES:
        args = {"A": (rng.integers(-8, 9, (m, kk)) / 4).astype(np.float32),
                "B": (rng.integers(-8, 9, (kk, n)) / 4).astype(np.float32)}
        np.testing.assert_array_equal(kernel(**args), pipe.reference(**args))
    A = rng.standard_normal((100, 37)).astype(np.float32)
    B = rng.standard_normal((37, 70)).astype(np.float32)
    rounded = round_tf32_value(A).astype(np.float64) @ round_tf32_value(B).astype(np.float64)
    got = kernel(A=A, B=B)
    np.testing.assert_allclose(got, rounded, rtol=0, atol=1e-4)
    assert np.abs(got - pipe.reference(A=A, B=B)).max() > 1e-3      # tf32 is not float32


@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
def test_tf32_opt_in_compiles_to_the_tf32_hmma(arch):
    compilers.need_isa("cuda")
    from vortex.isa import sass
    pipe = matmul("float32", cast=False)
    kernel = vx.compile(pipe, tf32_schedule(pipe), target="cuda", arch=arch)
    text = sass.disassemble(kernel.binary, arch)
    assert len(re.findall(r"\bHMMA\.1688\.F32\.TF32\b", text)) >= 2
    assert not re.search(r"\b(LDL|STL)\b", text)


def test_the_tf32_option_round_trips_through_a_schedule_file(tmp_path):
    pipe = matmul("float32", cast=False)
    s = tf32_schedule(pipe)
    s.save(tmp_path / "s.toml")
    text = (tmp_path / "s.toml").read_text()
    assert 'mma = ["it", "jt", "kt", { input_precision = "tf32" }]' in text
    loaded = vx.Schedule.load(tmp_path / "s.toml", pipe)
    assert '.mma("it", "jt", "kt", input_precision=\'tf32\')' in loaded.to_python()


def test_error_not_a_sum_of_products():
    with pytest.raises(ERRORS, match=r"must be a sum of products"):
        _compile(matmul("float16", reduce=vx.maximum), lambda c: _tiled(c).mma("it", "jt", "kt"))


def test_error_instruction_of_another_target():
    """A 16x16x16 tile is an AMD MFMA: CUDA names the shapes it has."""
    compilers.need_nvrtc()
    with pytest.raises(ERRORS, match=r"mfma_f32_16x16x16f16 does not exist on cuda: .*16x8x16"):
        _compile(matmul("float16"), lambda c: _tiled(c, 16, 16, 16).mma("it", "jt", "kt"),
                 target="cuda")


def test_error_instruction_loop_not_serial():
    with pytest.raises(ERRORS, match=r"'kt' is unrolled; the instruction replaces the loop: "
                                     r"leave it serial"):
        _compile(matmul("float16"), lambda c: _tiled(c).unroll("kt").mma("it", "jt", "kt"))


def test_error_two_mma():
    with pytest.raises(ERRORS, match=r"one mma per Func"):
        _compile(matmul("float16"),
                 lambda c: _tiled(c).mma("it", "jt", "kt").mma("it", "jt", "kt"))
