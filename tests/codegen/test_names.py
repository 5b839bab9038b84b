"""Names that are C, C++, OpenCL, CUDA or HIP words, or that look like the lowering's own names,
work on every target: the printer spells every IR name through vortex.codegen.names.

Each pipeline runs on PoCL against ``pipe.reference`` at awkward sizes and compiles offline
with NVRTC (sm_90) and hiprtc (gfx90a); the export launcher compiles with nvcc and hipcc.
"""
import re

import numpy as np
import pytest

import pipelines as P
import vortex as vx
from vortex.codegen.names import Namer, entry_names, is_reserved, reserved_words, spelling

# Func names that are words of the targets: types, qualifiers, builtins, the math functions the
# printer calls, Vortex's helper namespace; and a non-ASCII identifier.
FUNC_NAMES = ["int", "half", "kernel", "sqrt", "sqrtf", "float", "double", "signed", "restrict",
              "threadIdx", "local", "fminf", "vx_fdiv_int", "größe"]
SIZES = [(1, 1), (7, 13), (37, 1023)]


def words_pipeline(func: str, source: str = "img") -> vx.Pipeline:
    """f (named ``func``) reads Input ``source`` with the math the printer calls (sqrt, float
    min, integer floor division); out[y, x] = 2 f[y, x] + f[y, x - 1] (clamped)."""
    W, H = vx.dims("W H")
    x, y = vx.vars("x y")
    img = vx.Input(source, vx.float32, (H, W))
    f = vx.Func(func)
    f[y, x] = vx.sqrt(img[y, x]) + vx.min(img[y, x], 0.5) + vx.cast(vx.float32, (x - 3) // 4)
    out = vx.Func("out", shape=(H, W))
    out[y, x] = f[y, x] * 2 + f[y, vx.max(x - 1, 0)]
    return vx.Pipeline(out)


def tiled(pipe, func: str) -> vx.Schedule:
    """``func`` computed at root; both Funcs in 4x8 GPU tiles (block and thread indices)."""
    yo, xo, yi, xi = vx.vars("yo xo yi xi")
    s = vx.Schedule(pipe)
    s[func].compute_root().gpu_tile("y", "x", yo, xo, yi, xi, 4, 8)
    s["out"].gpu_tile("y", "x", yo, xo, yi, xi, 4, 8)
    return s


def check_pocl(kernel, pipe, make, sizes=SIZES):
    for shape in sizes:
        args = make(*shape)
        P.assert_matches(kernel(**args), (pipe.reference(**args),))


def image(source="img"):
    rng = np.random.default_rng(0)
    return lambda h, w: {source: rng.random((h, w), dtype=np.float32)}


@pytest.mark.parametrize("func", FUNC_NAMES)
def test_func_named_after_a_target_word_runs_on_pocl(func, opencl_device):
    pipe = words_pipeline(func)
    kernel = vx.compile(pipe, schedule=tiled(pipe, func), target="opencl", device=opencl_device)
    check_pocl(kernel, pipe, image())
    (entry,) = entry_names([f"{func}_kernel"])
    assert f"void {entry}(" in kernel.source and f" {spelling(func)}[(" in kernel.source


@pytest.mark.parametrize("func", FUNC_NAMES)
def test_func_named_after_a_target_word_compiles_offline(func, offline):
    _, build = offline
    pipe = words_pipeline(func)
    assert build(pipe, tiled(pipe, func)).binary   # NVRTC/hiprtc produced a code object


@pytest.mark.parametrize("source", ["fmin", "fminf", "max"])
def test_input_named_after_a_function_the_kernel_calls(source, opencl_device, offline):
    pipe = words_pipeline("f", source=source)
    kernel = vx.compile(pipe, schedule=tiled(pipe, "f"), target="opencl", device=opencl_device)
    check_pocl(kernel, pipe, image(source))
    offline[1](pipe, tiled(pipe, "f"))


LOOP_VARS_TOML = """
format = 1
pipeline = "out"
[[f]]
compute_root = []
[[f]]
gpu_tile = ["y", "x", "vx_fdiv_int", "sqrtf", "int", "fminf", 4, 8]
[[out]]
gpu_tile = ["y", "x", "min", "max", "get_local_id", "threadIdx", 4, 8]
"""


def test_loop_vars_named_after_target_words_from_a_toml_schedule(opencl_device, offline):
    pipe = words_pipeline("f")
    s = vx.Schedule.from_toml(LOOP_VARS_TOML, pipe)
    kernel = vx.compile(pipe, schedule=s, target="opencl", device=opencl_device)
    check_pocl(kernel, pipe, image())
    assert re.search(r"int min_ = \(int\)get_group_id", kernel.source)
    assert P.replay_python(s).to_python() == s.to_python()   # loop var 'int' round-trips
    offline[1](pipe, s)


def y_c_schedule(pipe) -> vx.Schedule:
    """blur_x at root with a loop var ``y_c``: the lowering's name for blur_x's y coordinate
    (y - 1, its region starts at -1) was ``y_c`` too, and PoCL corrupted its heap."""
    s = vx.Schedule(pipe)
    s["blur_x"].compute_root().split("x", "y_c", "xi", 4)
    return s


def test_loop_var_spelled_like_a_generated_name(opencl_device, offline):
    pipe = P.pipe("blur")
    kernel = vx.compile(pipe, schedule=y_c_schedule(pipe), target="opencl", device=opencl_device)
    for shape in P.SHAPES:
        args, ref = P.reference("blur", shape)
        P.assert_matches(kernel(**args), ref)
    assert "int y_c = 0; y_c <" in kernel.source and "int y_c_1 = ((-1) + y);" in kernel.source
    offline[1](pipe, y_c_schedule(pipe))


def loop_n_pipeline() -> vx.Pipeline:
    """A Dim ``loop_n`` and a Var ``n``: lowering named loop-counter symbols ``loop_<var>``, so
    the size was read back as the counter ``n`` (no iteration ran: wrong results)."""
    size = vx.Dim("loop_n")
    n = vx.Var("n")
    v = vx.Input("v", vx.float32, (size,))
    out = vx.Func("out", shape=(size,))
    out[n] = v[n] * 2 + 1
    return vx.Pipeline(out)


def test_dim_spelled_like_a_loop_counter_symbol(opencl_device, offline):
    pipe = loop_n_pipeline()
    no, ni = vx.vars("no ni")
    s = vx.Schedule(pipe)
    s["out"].split("n", no, ni, 8).gpu_blocks(no).gpu_threads(ni)
    kernel = vx.compile(pipe, schedule=s, target="opencl", device=opencl_device)
    for size in (1, 7, 13, 1031):
        v = np.arange(size, dtype=np.float32)
        P.assert_matches(kernel(v=v), (pipe.reference(v=v),))
    offline[1](pipe, s)


def lane_pipeline() -> vx.Pipeline:
    """out[lane, x] = v[lane] + img[lane, x]: a Var ``lane`` outside a vectorized loop (the
    OpenCL vector printer named its own lane symbol ``lane``, and so took v[lane] for a dense
    vector load of v[lane .. lane + 3])."""
    H, W = vx.dims("H W")
    lane, x = vx.vars("lane x")
    v = vx.Input("v", vx.float32, (H,))
    img = vx.Input("img", vx.float32, (H, W))
    out = vx.Func("out", shape=(H, W))
    out[lane, x] = v[lane] + img[lane, x]
    return vx.Pipeline(out)


def test_var_named_lane_outside_a_vectorized_loop(opencl_device, offline):
    pipe = lane_pipeline()
    xo, xi = vx.vars("xo xi")
    s = vx.Schedule(pipe)
    s["out"].split("x", xo, xi, 4).vectorize(xi).gpu_blocks(xo, "lane")
    offline[1](pipe, s)
    kernel = vx.compile(pipe, schedule=s, target="opencl", device=opencl_device)
    assert "vload4" in kernel.source
    rng = np.random.default_rng(1)
    for h, w in ((1, 4), (5, 8), (7, 13)):
        args = {"v": rng.random(h, dtype=np.float32), "img": rng.random((h, w), dtype=np.float32)}
        P.assert_matches(kernel(**args), (pipe.reference(**args),))


def entries_pipeline() -> vx.Pipeline:
    """Funcs whose kernel names collide: ``h_kernel`` (and h's own kernel ``h_kernel``),
    ``h_update0`` (and h's update kernel ``h_update0_kernel``); a Param ``stream`` and a Dim
    ``nullptr`` where the export launcher has its own names; a Var ``int``."""
    size = vx.Dim("nullptr")
    i = vx.Var("int")
    fmin = vx.Input("fmin", vx.float32, (size,))
    stream = vx.Param("stream", vx.float32)
    a = vx.Func("h_kernel")
    a[i] = vx.min(fmin[i], 0.5) * stream
    b = vx.Func("h_update0")
    b[i] = vx.sqrt(fmin[i])
    h = vx.Func("h", shape=(size,))
    h[i] = a[i] + b[i]
    r = vx.RDom(size, name="r")
    h[r] = h[r] + a[r]
    return vx.Pipeline(h)


def entries_schedule(pipe) -> vx.Schedule:
    """h_kernel and h_update0 at root; every pure stage in 32-thread blocks."""
    s = vx.Schedule(pipe)
    s["h_kernel"].compute_root()
    s["h_update0"].compute_root()
    for f in ("h_kernel", "h_update0", "h"):
        s[f].split("int", "io", "ii", 32).gpu_blocks("io").gpu_threads("ii")
    return s


def fmin_vector(n: int) -> dict:
    return {"fmin": np.random.default_rng(n).random(n, dtype=np.float32), "stream": 1.5}


def test_kernel_entries_are_distinct_from_each_other(opencl_device, offline):
    pipe = entries_pipeline()
    kernel = vx.compile(pipe, schedule=entries_schedule(pipe), target="opencl",
                        device=opencl_device)
    assert [launch["entry"] for launch in kernel.launch_config(**fmin_vector(7))] == [
        "h_kernel_kernel", "h_update0_kernel", "h_kernel", "h_update0_kernel_1"]
    for n in (1, 7, 1031):
        P.assert_matches(kernel(**fmin_vector(n)), (pipe.reference(**fmin_vector(n)),))
    offline[1](pipe, entries_schedule(pipe))


@pytest.mark.parametrize("target, arch, tool, args", [
    ("cuda", "sm_90", "nvcc", ["-arch=sm_90", "-c"]),
    ("hip", "gfx90a", "hipcc", ["--offload-arch=gfx90a", "-x", "hip", "-c"])])
def test_export_launcher_names_are_valid_c(tmp_path, target, arch, tool, args):
    """The launcher holds the entries, the pipeline's names and its stream in one scope: the
    buffer h_kernel and the Param stream are renamed there, and the header says so."""
    from export.test_export import compile_with
    pipe = entries_pipeline()
    src, header = vx.export(pipe, schedule=entries_schedule(pipe), target=target,
                            out_dir=tmp_path, arch=arch)
    text = header.read_text()
    assert "// C names of renamed pipeline names: fmin -> fmin_, nullptr -> nullptr_\n" in text
    assert f"float* h, int nullptr_, float stream, {target}Stream_t stream_1);" in text
    launcher = src.read_text().split("_launch(")[-1]
    assert "float* h_kernel_1 = nullptr;" in launcher and "h_kernel<<<" in launcher
    compile_with(tool, [*args, src.name, "-o", "k.o"], tmp_path)
    assert (tmp_path / "k.o").stat().st_size > 0


# --- the spelling rules (vortex.codegen.names) ---------------------------------------------------
@pytest.mark.parametrize("name, c", [
    ("blur_x", "blur_x"), ("img", "img"), ("x", "x"), ("y_c", "y_c"), ("loop_n", "loop_n"),
    ("C_kernel", "C_kernel"), ("int", "int_"), ("min", "min_"), ("get_local_id", "get_local_id_"),
    ("threadIdx", "threadIdx_"), ("float4", "float4_"), ("convert_int4_sat", "convert_int4_sat_"),
    ("INFINITY", "INFINITY_"), ("M_PI", "M_PI_"), ("vx_fdiv_int", "vvx_fdiv_int"),
    ("y.c", "y_c"), ("blur_x.t.it", "blur_x_t_it"), ("r.0", "r_0"), ("größe", "gru00f6u00dfe")])
def test_spelling(name, c):
    assert spelling(name) == c


def test_user_names_keep_their_spelling_and_generated_names_give_way():
    names = Namer().declare(["y", "y_c", "int", "int_"])
    spelled = [names.c_name(n) for n in ("y", "y_c", "int", "int_", "y.c", "y.c.1", "y.c")]
    assert spelled == ["y", "y_c", "int_1", "int_", "y_c_1", "y_c_1_1", "y_c_1"]


def test_every_spelling_is_a_distinct_unreserved_c_identifier():
    words = sorted(w for w in reserved_words() if not w.startswith("_"))   # user names can't
    users = words + [w + "_" for w in words] + [w + "_1" for w in words] + ["vx_a", "vvx_a"]
    made = [f"{w}.c" for w in words] + [f"{w}.1" for w in words] + [f"{w}_c.1" for w in words]
    names = Namer().declare(users)
    spelled = [names.c_name(n) for n in users + made]
    assert len(set(spelled)) == len(users + made)
    assert not [s for s in spelled if is_reserved(s) or not re.fullmatch(r"[A-Za-z]\w*", s)]


def test_reserved_words_cover_what_the_dialects_print():
    assert {"get_group_id", "get_local_id", "barrier", "blockIdx", "threadIdx", "__syncthreads",
            "fminf", "fmin", "sqrtf", "rsqrt", "rint", "vload4", "vstore_half", "half", "uchar",
            "INFINITY", "__int_as_float", "dim3", "nullptr", "size_t"} <= reserved_words()


def test_entry_names_are_distinct():
    assert entry_names(["h_update0_kernel", "h_kernel", "h_update0_kernel", "int_kernel"]) == [
        "h_update0_kernel", "h_kernel", "h_update0_kernel_1", "int_kernel"]


def test_names_with_a_leading_underscore_are_refused_at_construction():
    with pytest.raises(vx.TypeError, match=re.escape(
            "Func name '__global' is not a valid identifier; use letters, digits and '_' (not "
            "leading), e.g. 'blur_x'")):
        vx.Func("__global")
