"""The constant-time check (vortex/algorithm/secret.py, docs/constant_time.md): one test per
refusal, each matching its vx.SecretError message; accepted pipelines (arithmetic on secrets,
vx.select on a secret condition) run on PoCL equal to pipe.reference at awkward sizes, their
printed source has no ?: or if on the secret condition, and they compile for sm_90 and gfx90a."""
import re

import numpy as np
import pytest

import compilers
import vortex as vx

SIZES = (1, 2, 7, 37, 100, 257)


def raises(*fragments):
    """pytest.raises(vx.SecretError) whose message contains every fragment (literally)."""
    return pytest.raises(vx.SecretError,
                         match="(?s)" + "".join(f"(?=.*{re.escape(f)})" for f in fragments))


@pytest.fixture
def n_x_key():
    N = vx.Dim("N")
    return N, vx.Var("x"), vx.Input("key", vx.int32, (N,), secret=True)


# --- refusals ---------------------------------------------------------------------------------

def test_where_on_a_secret_is_a_branch(n_x_key):
    N, x, key = n_x_key
    positive = vx.Func("positive", shape=(1,))
    positive[x] = 0
    r = vx.RDom(N, name="r")
    r.where(key[r] > 0)
    positive[0] += key[r]
    with raises("Func 'positive', RDom 'r'", "where() predicate key[r] > 0",
                "secret Input 'key'", "decides a branch", "vx.select"):
        vx.Pipeline(positive)


def test_argmax_over_secrets_is_a_branch(n_x_key):
    N, x, key = n_x_key
    best = vx.Func("best", shape=(1,))
    best[x] = vx.argmax(key[vx.RDom(N, name="r")])
    with raises("Func 'best', the pure definition", "vx.argmax(key[r])", "secret Input 'key'",
                "decides a branch"):
        vx.Pipeline(best)


def test_load_indexed_by_a_secret(n_x_key):
    N, x, key = n_x_key
    lut = vx.Input("lut", vx.int32, (256,))
    out = vx.Func("out", shape=(N,))
    out[x] = lut[key[x] & 255]
    with raises("Func 'out', the pure definition", "the index key[x] & 255 of lut[key[x] & 255]",
                "secret Input 'key'", "load address", "vx.sum(vx.select(r == idx, table[r], 0))"):
        vx.Pipeline(out)


def test_boundary_condition_read_at_a_secret(n_x_key):
    """A boundary condition is a Func: reading it at a secret point is a secret load index."""
    N, x, key = n_x_key
    img = vx.Input("img", vx.float32, (N,))
    out = vx.Func("out", shape=(N,))
    out[x] = vx.repeat_edge(img)[key[x]]
    with raises("the index key[x] of img_repeat_edge[key[x]]", "secret Input 'key'"):
        vx.Pipeline(out)


def test_store_indexed_by_a_secret(n_x_key):
    N, x, key = n_x_key
    hist = vx.Func("hist", shape=(16,))
    hist[x] = 0
    hist[key[vx.RDom(N, name="r")] & 15] += 1
    with raises("Func 'hist', update 1", "the index key[r] & 15 it stores to",
                "secret Input 'key'", "store address"):
        vx.Pipeline(hist)


def test_loop_bound_from_a_secret_param(n_x_key):
    N, x, key = n_x_key
    rounds = vx.Param("rounds", vx.int32, range=(1, 16), secret=True)
    out = vx.Func("out", shape=(N,))
    out[x] = vx.sum(key[x] + vx.RDom(rounds, name="r"))
    with raises("Func 'out', RDom 'r'", "the loop bound rounds", "secret Param 'rounds'",
                "how many iterations run"):
        vx.Pipeline(out)


def test_division_by_a_secret(n_x_key):
    N, x, key = n_x_key
    a = vx.Input("a", vx.int32, (N,))
    out = vx.Func("out", shape=(N,))
    out[x] = a[x] // key[x]
    with raises("Func 'out', the pure definition", "the integer division a[x] // key[x]",
                "secret Input 'key'", "non-constant", "divide by a constant"):
        vx.Pipeline(out)


def test_modulo_by_a_secret(n_x_key):
    N, x, key = n_x_key
    out = vx.Func("out", shape=(N,))
    out[x] = 1000 % key[x]
    with raises("the integer modulo 1000 % key[x]", "secret Input 'key'", "non-constant"):
        vx.Pipeline(out)


def test_secret_dividend_by_a_public_variable_divisor(n_x_key):
    N, x, key = n_x_key
    d = vx.Param("d", vx.int32)
    out = vx.Func("out", shape=(N,))
    out[x] = key[x] // d
    with raises("the integer division key[x] // d", "secret Input 'key'"):
        vx.Pipeline(out)


def test_secret_through_an_intermediate_func(n_x_key):
    N, x, key = n_x_key
    lut = vx.Input("lut", vx.uint8, (256,))
    mid = vx.Func("mid")
    mid[x] = key[x] * 3 + 1
    out = vx.Func("out", shape=(N,))
    out[x] = lut[mid[x] & 255]
    with raises("Func 'out'", "lut[mid[x] & 255]", "secret Input 'key' (through Func 'mid')"):
        vx.Pipeline(out)


def test_secret_through_an_update_that_reads_itself(n_x_key):
    """A running sum carries the secret from its update (a fixed point over the Func's own
    reads), and a consumer indexing with it is refused."""
    N, x, key = n_x_key
    scan = vx.Func("scan", shape=(N,))
    scan[x] = 0
    r = vx.RDom([(1, N - 1)], name="r")
    scan[r] = scan[r - 1] + key[r]
    table = vx.Input("table", vx.int32, (64,))
    out = vx.Func("out", shape=(N,))
    out[x] = table[scan[x] & 63]
    with raises("Func 'out'", "scan[x] & 63", "of table[", "(through Func 'scan')"):
        vx.Pipeline(out)


# --- acceptances ------------------------------------------------------------------------------

def ct_pipeline(dtype=vx.int32, secret=True):
    """out[x] = select(key[x] > 100, a[x] * 3, a[x] - (key[x] & 7)): a branch-free select on
    a secret condition between values of ``dtype``, and arithmetic on the secret."""
    N, x = vx.Dim("N"), vx.Var("x")
    key = vx.Input("key", vx.uint32, (N,), secret=secret)
    a = vx.Input("a", dtype, (N,))
    out = vx.Func("out", shape=(N,))
    out[x] = vx.select(key[x] > 100, a[x] * 3, a[x] - vx.cast(dtype, key[x] & 7))
    return vx.Pipeline(out)


def ct_inputs(n: int, dtype, seed: int = 0):
    rng = np.random.default_rng(seed)
    a = rng.integers(-100, 100, n).astype(dtype.np) if not dtype.is_bool else None
    return {"key": rng.integers(0, 256, n, dtype=np.uint32), "a": a}


def check_pocl(kernel, pipe, dtype):
    for n in SIZES:
        args = ct_inputs(n, dtype, seed=n)
        np.testing.assert_array_equal(kernel(**args), pipe.reference(**args), err_msg=str(n))


@pytest.mark.parametrize("dtype", [vx.int32, vx.uint8, vx.int64, vx.float32, vx.float64,
                                   vx.bfloat16], ids=str)
def test_branch_free_select_on_pocl_equals_reference(dtype, opencl_device):
    pipe = ct_pipeline(dtype)
    kernel = vx.compile(pipe, schedule=vx.Schedule.default(pipe), target="opencl",
                        device=opencl_device)
    assert "?" not in kernel.source
    check_pocl(kernel, pipe, dtype)


def test_vectorized_branch_free_select_uses_opencl_select(opencl_device):
    pipe = ct_pipeline(vx.float32)
    s = vx.Schedule(pipe)
    x, xo, xi, xv = vx.vars("x xo xi xv")
    s["out"].split(x, xo, xi, 32).split(xi, xi, xv, 4).gpu_blocks(xo).gpu_threads(xi) \
        .vectorize(xv)
    kernel = vx.compile(pipe, schedule=s, target="opencl", device=opencl_device)
    assert "select(" in kernel.source and "?" not in kernel.source
    check_pocl(kernel, pipe, vx.float32)


def test_vectorized_select_on_a_secret_scalar_is_blended_per_lane(opencl_device):
    """One secret condition for all lanes has no vector mask: the loop is printed per lane,
    each lane a blend (no scalar ?: choosing between vectors)."""
    N, x = vx.Dim("N"), vx.Var("x")
    flip = vx.Param("flip", vx.bool_, secret=True)
    a = vx.Input("a", vx.float32, (N,))
    out = vx.Func("out", shape=(N,))
    out[x] = vx.select(flip, a[x] * 2, a[x] + 1)
    pipe = vx.Pipeline(out)
    s = vx.Schedule(pipe)
    xo, xi, xv = vx.vars("xo xi xv")
    s["out"].split(x, xo, xi, 32).split(xi, xi, xv, 4).gpu_blocks(xo).gpu_threads(xi) \
        .vectorize(xv)
    kernel = vx.compile(pipe, schedule=s, target="opencl", device=opencl_device)
    assert "?" not in kernel.source and "as_float(" in kernel.source
    rng = np.random.default_rng(4)
    for n in SIZES:
        arr = rng.random(n, dtype=np.float32)
        for f in (True, False):
            np.testing.assert_array_equal(kernel(a=arr, flip=f), pipe.reference(a=arr, flip=f))


def test_bool_select_on_a_secret_param(opencl_device):
    N, x = vx.Dim("N"), vx.Var("x")
    flip = vx.Param("flip", vx.bool_, secret=True)
    a = vx.Input("a", vx.int32, (N,))
    out = vx.Func("out", shape=(N,))
    out[x] = vx.select(flip, a[x] > 0, a[x] < 3)
    pipe = vx.Pipeline(out)
    kernel = vx.compile(pipe, schedule=vx.Schedule.default(pipe), target="opencl",
                        device=opencl_device)
    assert "?" not in kernel.source
    rng = np.random.default_rng(3)
    for n in SIZES:
        arr = rng.integers(-5, 6, n).astype(np.int32)
        for f in (True, False):
            np.testing.assert_array_equal(kernel(a=arr, flip=f), pipe.reference(a=arr, flip=f))


def test_constant_time_table_lookup(opencl_device):
    """The refused lut[key[x]] written the constant-time way: every entry read, the wanted one
    kept by a branch-free select inside the sum."""
    N, x = vx.Dim("N"), vx.Var("x")
    key = vx.Input("key", vx.uint8, (N,), secret=True)
    lut = vx.Input("lut", vx.int32, (256,))
    r = vx.RDom(256, name="r")
    out = vx.Func("out", shape=(N,))
    out[x] = vx.sum(vx.select(r == vx.cast(vx.int32, key[x]), lut[r], 0))
    pipe = vx.Pipeline(out)
    kernel = vx.compile(pipe, schedule=vx.Schedule.default(pipe), target="opencl",
                        device=opencl_device)
    assert "?" not in kernel.source
    rng = np.random.default_rng(5)
    table = rng.integers(-1000, 1000, 256).astype(np.int32)
    for n in SIZES:
        k = rng.integers(0, 256, n).astype(np.uint8)
        np.testing.assert_array_equal(kernel(key=k, lut=table), table[k])
        np.testing.assert_array_equal(kernel(key=k, lut=table), pipe.reference(key=k, lut=table))


def test_secret_select_through_an_intermediate_func_is_blended():
    """A select whose condition reads a Func derived from the secret is marked too."""
    N, x = vx.Dim("N"), vx.Var("x")
    key = vx.Input("key", vx.int32, (N,), secret=True)
    mid = vx.Func("mid")
    mid[x] = key[x] ^ 0x55
    out = vx.Func("out", shape=(N,))
    out[x] = vx.select(mid[x] > 0, 1, 2)
    vx.Pipeline(out)
    assert out.definitions[0].value.branch_free


def test_branch_free_source_has_no_branch_on_the_condition(offline):
    """CUDA/HIP: no ?: anywhere and no if on the secret (the bounds guards test sizes only);
    the source compiles (sm_90 / gfx90a)."""
    _, build = offline
    for dtype in (vx.int32, vx.float32, vx.int64, vx.float16):
        kernel = build(ct_pipeline(dtype))
        assert "?" not in kernel.source
        assert not [line for line in kernel.source.splitlines()
                    if "if" in line and "key" in line]


def test_public_select_keeps_the_conditional_expression():
    """Without secrets nothing changes: the select prints as ?: (golden sources unchanged)."""
    pipe = ct_pipeline(secret=False)
    assert not pipe.funcs[-1].definitions[0].value.branch_free
    assert " ? " in vx.source(pipe, schedule=vx.Schedule.default(pipe), target="opencl")


def test_bfloat16_select_on_a_secret_blends_on_every_target():
    """bfloat16 blends through its bits on CUDA (``__bfloat16_as_ushort``) and, where it is
    held as a float (OpenCL, HIP: codegen/bf16.py), as that float's bits; no ?: anywhere (the
    bfloat16 rounding helper is branch-free too); HIP compiles it for gfx90a."""
    pipe = ct_pipeline(vx.bfloat16)
    sources = {t: vx.source(pipe, schedule=vx.Schedule.default(pipe), target=t)
               for t in ("cuda", "hip", "opencl")}
    assert "__bfloat16_as_ushort(" in sources["cuda"]
    assert "__float_as_uint(" in sources["hip"] and "as_uint(" in sources["opencl"]
    assert not [t for t, src in sources.items() if "?" in src]
    compilers.need_hiprtc()
    kernel = vx.compile(pipe, schedule=vx.Schedule.default(pipe), target="hip", arch="gfx90a")
    assert kernel.resources
