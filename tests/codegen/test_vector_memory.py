"""``vectorize`` on CUDA and HIP: float4/float2 loads and stores where alignment is proven
(vortex.codegen.vector_memory), scalar lanes where it is not.

The numbers are checked by running the CUDA sources on the CPU (cuda_on_host: every vector
access must also be naturally aligned there) against ``pipe.reference`` at awkward sizes; the
sources compile with NVRTC and hiprtc; the machine code holds 128-bit global accesses
(``LDG.E.128``/``STG.E.128``, ``global_load_dwordx4``) when the disassembler is here."""
from pathlib import Path

import numpy as np
import pytest

import compilers
import pipelines as P
import vortex as vx
from vortex.codegen import DIALECTS, CPrinter, generate
from vortex.examples import load_example
from vortex.isa import amdgcn, sass
from vortex.isa.model import OpClass
from vortex.lower import lower
from vortex.target import Target

from codegen.cuda_on_host import run

ROOT = Path(__file__).resolve().parents[2]
SHAPES = [(1, 1), (7, 13), (3, 64), (8, 4), (5, 100), (37, 1023), (2, 6)]


def shifted(offset: int) -> vx.Pipeline:
    """out[y, x] = img[y, x + offset] * 2, img of (H, W + 4): a row stride W + 4."""
    H, W = vx.dims("H W")
    y, x = vx.vars("y x")
    img = vx.Input("img", vx.float32, (H, W + 4))
    out = vx.Func("shifted", shape=(H, W))
    out[y, x] = img[y, x + offset] * 2
    return vx.Pipeline(out)


def lanes(pipe, lanes=4, facts=(("W", 4),)):
    """Rows of 8 × 16·lanes points per block, ``lanes`` consecutive x per thread, vectorized;
    ``specialize`` on each (Dim, multiple) of ``facts``."""
    s = vx.Schedule(pipe)
    st = s[pipe.outputs[0].name].tile("y", "x", "yo", "xo", "yi", "xi", 8, 16 * lanes)
    st.split("xi", "xt", "xv", lanes).reorder("yo", "xo", "yi", "xt", "xv")
    st.gpu_blocks("yo", "xo").gpu_threads("yi", "xt").vectorize("xv")
    for dim, n in facts:
        st.specialize(vx.divisible(dim, n))
    return s


def source(pipe, s, target="cuda"):
    return generate(lower(pipe, s), target)


def scalar_source(pipe, s, target="cuda") -> str:
    """What the shared CPrinter prints (the lane loops as scalar loops)."""
    low = lower(pipe, s)
    return "".join(CPrinter(DIALECTS[Target.parse(target)]).kernel(k) for k in low.kernels)


def check_numbers(pipe, s, out, shapes=SHAPES, extra_w=0):
    ks = source(pipe, s)
    rng = np.random.default_rng(11)
    for h, w in shapes:
        img = rng.random((h, w + extra_w), dtype=np.float32)
        got = run(ks, {"H": h, "W": w}, {"img": img})[out]
        np.testing.assert_array_equal(got, pipe.reference(img=img, W=w), err_msg=f"{h}x{w}")


@pytest.mark.parametrize("n, vtype", [(4, "float4"), (2, "float2")])
def test_aligned_lanes_load_and_store_vectors(n, vtype):
    pipe = P.pipe("scale")
    s = lanes(pipe, n)
    code = source(pipe, s).code
    divisible, general = code.split("} else {", 1)
    assert f"{vtype} xv_v_0 = (*reinterpret_cast<const {vtype}*>(img + " in divisible
    assert f"*reinterpret_cast<{vtype}*>(scale + " in divisible
    assert f"make_{vtype}(" + ", ".join(f"xv_s_0_{i}" for i in range(n)) + ")" in divisible
    assert [f"xv_v_0.{c}" in divisible for c in "xyzw"] == [True] * n + [False] * (4 - n)
    # the edge test x < W is the same in every lane when W % n == 0: tested once, at lane 0
    assert divisible.count(" < W)") == 1
    assert vtype not in general and "for (int xv = 0; xv < " in general
    check_numbers(pipe, s, "scale")


def test_unspecialized_lanes_stay_scalar():
    """Without W % 4 == 0 no row start is provably aligned: the source is CPrinter's."""
    pipe = P.pipe("scale")
    s = lanes(pipe, 4, facts=())
    for target in ("cuda", "hip"):
        ks = source(pipe, s, target)
        assert "float4" not in ks.code
        assert ks.code.endswith(scalar_source(pipe, s, target))
    check_numbers(pipe, s, "scale")


def test_an_offset_access_stays_scalar():
    """img[y, x + 1] starts one element past an aligned row: scalar loads (the aligned store
    still vector); img[y, x + 4] is aligned again."""
    for offset, vector_load in ((1, False), (4, True)):
        pipe = shifted(offset)
        s = lanes(pipe)
        divisible = source(pipe, s).code.split("} else {", 1)[0]
        assert ("reinterpret_cast<const float4*>(img" in divisible) is vector_load
        assert "reinterpret_cast<float4*>(shifted + " in divisible
        assert (f"img[((y_l_1 * (W + 4)) + (x_l_1 + {offset}))]" in divisible) is not vector_load
        check_numbers(pipe, s, "shifted", extra_w=4)


def test_edge_lanes_stay_scalar():
    """A specialization that does not make the edge test lane-uniform (W % 2 with 4 lanes):
    the lanes of an edge tile may differ, so the loop stays scalar."""
    pipe = P.pipe("scale")
    s = lanes(pipe, 4, facts=(("W", 2),))
    assert "float4" not in source(pipe, s).code
    check_numbers(pipe, s, "scale")


def blur_specialized():
    pipe = load_example(ROOT / "examples" / "blur.py").pipeline()
    s = vx.Schedule.load(ROOT / "schedules" / "blur" / "nvidia-h100.toml", pipe)
    s["blur"].specialize(vx.divisible("W", 4))
    return pipe, s


def test_blur_rows_store_float4_and_match_the_reference():
    """The shipped H100 blur under W % 4 == 0: each of a thread's 8 output rows is one float4
    store (the window is read from registers; the clamped image reads stay scalar)."""
    pipe, s = blur_specialized()
    ks = source(pipe, s)
    divisible = ks.code.split("} else {", 1)[0]
    assert divisible.count("= make_float4(") == 8 and "const float4" not in divisible
    rng = np.random.default_rng(5)
    for shape in ((1, 1, 1), (1, 3, 5), (2, 37, 132), (3, 40, 17), (1, 9, 256), (1, 33, 8)):
        img = rng.random(shape, dtype=np.float32)
        got = run(ks, dict(zip("CHW", shape)), {"img": img})["blur"]
        np.testing.assert_array_equal(got, pipe.reference(img=img), err_msg=str(shape))


def test_vector_accesses_compile_offline(offline):
    _, build = offline
    for pipe, s in ((P.pipe("scale"), lanes(P.pipe("scale"), 4)),
                    (P.pipe("scale"), lanes(P.pipe("scale"), 2)), blur_specialized()):
        kernel = build(pipe, s)
        assert "make_float" in kernel.source


@pytest.mark.parametrize("target, arch, tool, wide", [
    ("cuda", "sm_90", sass, ("LDG.E.128", "STG.E.128")),
    ("hip", "gfx90a", amdgcn, ("global_load_dwordx4", "global_store_dwordx4"))])
def test_machine_code_moves_16_bytes(target, arch, tool, wide):
    compilers.need_isa(target)
    pipe = P.pipe("scale")
    vec = vx.compile(pipe, schedule=lanes(pipe), target=target, arch=arch)
    mix = vec.analysis().isa.kernel("scale_kernel").mix
    assert mix.widths(OpClass.GLOBAL_LOAD).get(16) == 1      # one float4 per thread
    assert mix.widths(OpClass.GLOBAL_STORE).get(16) == 1
    text = tool.disassemble(vec.binary, arch)
    assert all(w in text for w in wide)
    plain = vx.compile(pipe, schedule=lanes(pipe, facts=()), target=target, arch=arch)
    mix = plain.analysis().isa.kernel("scale_kernel").mix
    assert 16 not in mix.widths(OpClass.GLOBAL_LOAD) and 16 not in mix.widths(
        OpClass.GLOBAL_STORE)


def test_blur_sm90_stores_are_128_bit():
    compilers.need_isa("cuda")
    pipe, s = blur_specialized()
    kern = vx.compile(pipe, schedule=s, target="cuda", arch="sm_90")
    stores = kern.analysis().isa.kernel("blur_kernel").mix.widths(OpClass.GLOBAL_STORE)
    assert stores.get(16) == 8          # the divisible version: 8 rows of 4 floats per thread


def staged_matmul():
    """C tiles of 8 × 32, 4 columns per thread vectorized, A and B staged in shared memory
    (16-byte copies: the tiles are declared 16-byte aligned), specialized to whole tiles."""
    pipe = P.pipe("matmul")
    s = vx.Schedule(pipe)
    s["C"].tile("i", "j", "yo", "xo", "yi", "xi", 8, 32).split("xi", "xt", "xii", 4) \
        .gpu_blocks("yo", "xo").gpu_threads("yi", "xt").split("k", "ko", "ki", 8) \
        .reorder("ko", "ki", "xii").vectorize("xii").stage("A", at="ko").stage("B", at="ko") \
        .specialize(vx.divisible("N", 32)).specialize(vx.divisible("M", 8)) \
        .specialize(vx.divisible("K", 8))
    return pipe, s


def test_an_aligned_shared_tile_is_read_as_float4(offline):
    target, build = offline
    pipe, s = staged_matmul()
    kernel = build(pipe, s)
    assert "__shared__ float B_sh[256] __attribute__((aligned(16)));" in kernel.source
    assert "= (*reinterpret_cast<const float4*>(B_sh + " in kernel.source
    assert "reinterpret_cast<const float4*>(A_sh" not in kernel.source   # A[i, k]: one per lane
    assert "*reinterpret_cast<float4*>(C + " in kernel.source
