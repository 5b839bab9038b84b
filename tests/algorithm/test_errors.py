"""One test per user-facing error message of the algorithm layer (Halide's test/error/ idea):
each asserts the exception class and that the message names what to change."""
import re
from pathlib import Path

import numpy as np
import pytest

import pipelines as P
import vortex as vx


def raises(cls, *fragments):
    """pytest.raises for ``cls`` whose message contains every fragment (literally)."""
    return pytest.raises(cls, match="(?s)" + "".join(f"(?=.*{re.escape(f)})" for f in fragments))


@pytest.fixture
def hw():
    W, H = vx.dims("W H")
    x, y = vx.vars("x y")
    img = vx.Input("img", vx.float32, (H, W))
    return W, H, x, y, img


# --- bounds ----------------------------------------------------------------------------------

def test_stencil_without_boundary_condition(hw):
    W, H, x, y, img = hw
    blur_x = vx.Func("blur_x", shape=(H, W))
    blur_x[y, x] = img[y, x - 1] + img[y, x] + img[y, x + 1]
    with raises(vx.BoundsError, "'blur_x'", "img[y, x - 1]", "[-1, W - 2]", "extent W",
                "vx.repeat_edge(img)"):
        vx.Pipeline(blur_x)


def test_inferred_range_names_the_consumer_that_made_it(hw):
    """README's tour without repeat_edge: blur_x has no shape, so its y range is what blur
    reads; the message says so, with the accesses that reach each end."""
    W, H, x, y, img = hw
    blur_x = vx.Func("blur_x")
    blur_x[y, x] = (img[y, x - 1] + img[y, x] + img[y, x + 1]) / 3
    blur = vx.Func("blur", shape=(H, W))
    blur[y, x] = (blur_x[y - 1, x] + blur_x[y, x] + blur_x[y + 1, x]) / 3
    with pytest.raises(vx.BoundsError) as e:
        vx.Pipeline(blur)
    assert str(e.value) == (
        "Func 'blur_x' accesses img[y, x - 1] out of bounds: index 0 (y) ranges over [-1, H] "
        "but 'img' has extent H in dimension 0 (valid: 0 … H - 1). 'blur' reads blur_x over "
        "y ∈ [-1, H], because it reads blur_x[y - 1, x] and blur_x[y + 1, x] for its "
        "y ∈ [0, H - 1]. Hint: wrap the input in a boundary condition (vx.repeat_edge(img) or "
        "vx.constant_exterior(img, 0)), clamp the index with vx.clamp, or declare a smaller "
        "output shape")
    assert readme_bounds_error() == str(e.value)


def readme_bounds_error() -> str:
    """The BoundsError text README.md shows for its tour without repeat_edge (its wrapped lines
    joined with spaces)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("computed over what its consumer `blur` reads of it:\n\n```\n", 1)[1]
    return " ".join(block.split("\n```", 1)[0].splitlines())


def test_inferred_range_from_several_consumers_names_each_end(hw):
    W, H, x, y, img = hw
    a = vx.Func("a")
    a[y, x] = img[y, x + 1] * 2
    b = vx.Func("b")
    b[y, x] = a[y, x - 2]
    c = vx.Func("c")
    c[y, x] = a[y, x + 3] + a[y, x] + b[y, x]
    out = vx.Func("out", shape=(H, W))
    out[y, x] = c[y, x] + b[y, x]
    with raises(vx.BoundsError, "Func 'a' accesses img[y, x + 1] out of bounds: index 1 (x + 1) "
                "ranges over [-1, W + 3]",
                "a is computed over x ∈ [-2, W + 2], all that its consumers read: 'b' reads "
                "a[y, x - 2] for its x ∈ [0, W - 1]; 'c' reads a[y, x + 3] for its "
                "x ∈ [0, W - 1].", "vx.repeat_edge(img)"):
        vx.Pipeline(out)


def test_declared_shape_has_no_provenance(hw):
    """A Func with a declared shape reads over its own domain: nothing to explain."""
    W, H, x, y, img = hw
    f = vx.Func("f", shape=(H, W))
    f[y, x] = img[y, x + 1]
    with pytest.raises(vx.BoundsError) as e:
        vx.Pipeline(f)
    assert "reads" not in str(e.value) and "(valid: 0 … W - 1). Hint:" in str(e.value)


def test_matmul_shape_mismatch_fails_at_pipeline_construction():
    M, N, K = vx.dims("M N K")
    i, j = vx.vars("i j")
    k = vx.RDom(K, name="k")
    A = vx.Input("A", vx.float32, (M, K))
    B = vx.Input("B", vx.float32, (N, K))
    C = vx.Func("C", shape=(M, N))
    C[i, j] = vx.sum(A[i, k] * B[k, j])  # building the expression is fine …
    with raises(vx.BoundsError, "'C'", "B[k, j]", "[0, K - 1]", "extent N",
                "dimension 1 of B", "swapped"):
        vx.Pipeline(C)  # … the shape error is found before any call


def test_func_read_outside_its_declared_shape(hw):
    W, H, x, y, img = hw
    small = vx.Func("small", shape=(H, W))
    small[y, x] = img[y, x]
    out = vx.Func("out", shape=(H, W))
    out[y, x] = small[y, x + 1]
    with raises(vx.BoundsError, "'out'", "small[y, x + 1]", "[1, W]", "larger shape for 'small'"):
        vx.Pipeline(out)


def test_data_dependent_index_out_of_bounds():
    H = vx.Dim("H")
    y = vx.Var("y")
    lut = vx.Input("lut", vx.float32, (255,))
    idx = vx.Input("idx", vx.uint8, (H,))
    out = vx.Func("out", shape=(H,))
    out[y] = lut[idx[y]]   # an index is int32 (Halide's rule): the message shows the cast
    with raises(vx.BoundsError, "lut[vx.cast(vx.int32, idx[y])]", "[0, 255]", "extent 255",
                "vx.clamp"):
        vx.Pipeline(out)


def test_update_writes_outside_declared_domain():
    """pipelines.histogram with 100 bins: hist[v[r]] += 1 at a uint8 value reaches 255."""
    with raises(vx.BoundsError, "'hist'", "hist[vx.cast(vx.int32, v[r])]", "[0, 255]",
                "extent 100"):
        P.histogram(bins=100)


def test_shapeless_func_read_at_unbounded_index():
    N = vx.Dim("N")
    x = vx.Var("x")
    idx = vx.Input("idx", vx.int32, (N,))
    table = vx.Func("table")
    table[x] = x * 2
    out = vx.Func("out", shape=(N,))
    out[x] = table[idx[x]]
    with raises(vx.BoundsError, "'out' reads table[idx[x]]", "[-2147483648, 2147483647]",
                "'table' has no declared shape", "vx.clamp", "vx.Func('table', shape=(...))"):
        vx.Pipeline(out)


# --- types -----------------------------------------------------------------------------------

def test_arithmetic_on_bool(hw):
    W, H, x, y, img = hw
    mask = vx.Input("mask", vx.bool_, (H, W))
    with raises(vx.TypeError, "arithmetic '+' on bool", "img[y, x] + mask[y, x]",
                "vx.cast(vx.int32, cond)", "vx.select"):
        img[y, x] + mask[y, x]


def test_bitwise_on_float(hw):
    W, H, x, y, img = hw
    with raises(vx.TypeError, "bitwise '&'", "img[y, x] & 1", "integer or bool", "vx.cast"):
        img[y, x] & 1


def test_invert_on_float(hw):
    W, H, x, y, img = hw
    with raises(vx.TypeError, "'~'", "img[y, x]", "vx.cast"):
        ~img[y, x]


def test_negate_bool(hw):
    W, H, x, y, img = hw
    with raises(vx.TypeError, "negation of the bool", "use ~"):
        -(img[y, x] > 0)


def test_python_int_out_of_range_for_weak_promotion():
    u8 = vx.Input("u", vx.uint8, (vx.Dim("N"),))[vx.Var("x")]
    with raises(vx.TypeError, "'+'", "u[x] + 300", "300", "uint8"):
        u8 + 300


def test_constant_out_of_range():
    with raises(vx.TypeError, "300", "uint8", "[0, 255]", "vx.cast"):
        vx.uint8(300)


def test_float_index(hw):
    W, H, x, y, img = hw
    with raises(vx.TypeError, "index img[y, x]", "Input 'img'", "float32", "vx.cast(vx.int32"):
        img[y, img[y, x]]


def test_truth_value_of_expression(hw):
    W, H, x, y, img = hw
    with raises(vx.TypeError, "truth value", "vx.select"):
        if img[y, x] > 0:
            pass


def test_select_condition_not_bool(hw):
    W, H, x, y, img = hw
    with raises(vx.TypeError, "vx.select condition", "float32", "must be bool"):
        vx.select(img[y, x], 1, 0)


def test_sum_of_bool(hw):
    W, H, x, y, img = hw
    r = vx.RDom(W, name="r")
    with raises(vx.TypeError, "vx.sum of the bool", "vx.cast(vx.int32"):
        vx.sum(img[y, r] > 0)


def test_reduction_without_rdom(hw):
    W, H, x, y, img = hw
    with raises(vx.TypeError, "vx.sum(img[y, x])", "exactly one RDom", "found no RDom",
                "vx.RDom(K, name='k')"):
        vx.sum(img[y, x])


def test_bfloat16_without_ml_dtypes(monkeypatch):
    """numpy has no bfloat16: without ml_dtypes the reference names the package to install."""
    import sys
    monkeypatch.setitem(sys.modules, "ml_dtypes", None)   # import ml_dtypes → ImportError
    N = vx.Dim("N")
    x = vx.Var("x")
    a = vx.Input("a", vx.bfloat16, (N,))
    f = vx.Func("f", shape=(N,))
    f[x] = a[x]
    with raises(vx.TypeError, "bfloat16 arrays need the ml_dtypes package",
                "pip install ml_dtypes"):
        vx.Pipeline(f).reference(a=np.zeros(3, np.float32))


def test_unknown_dtype():
    with raises(vx.TypeError, "complex64 is not supported", "use one of", "float32"):
        vx.Input("a", "complex64", (3,))


# --- structure -------------------------------------------------------------------------------

def test_func_used_before_definition():
    x = vx.Var("x")
    f = vx.Func("f")
    g = vx.Func("g")
    with raises(vx.TypeError, "Func 'f' is used before it has a pure definition",
                "define it first"):
        g[x] = f[x]


def test_recursive_pure_definition():
    x = vx.Var("x")
    f = vx.Func("f")
    with raises(vx.TypeError, "Func 'f'", "cannot call itself in its pure definition",
                "update definitions over an RDom"):
        f[x] = f[x - 1] + 1


def test_cycle_through_update_definitions():
    N = vx.Dim("N")
    x = vx.Var("x")
    r = vx.RDom(N, name="r")
    f, g = vx.Func("f", shape=(N,)), vx.Func("g", shape=(N,))
    f[x] = vx.cast(vx.int32, 0)
    g[x] = vx.cast(vx.int32, 0)
    f[r] = g[r] + 1
    g[r] = f[r] + 1
    with raises(vx.TypeError, "recursive Funcs", "f -> g -> f", "own update definitions"):
        vx.Pipeline(f)


def test_rdom_outside_reduction_in_pure_definition(hw):
    W, H, x, y, img = hw
    r = vx.RDom(W, name="r")
    f = vx.Func("rowsum", shape=(H,))
    f[y] = img[y, r]
    with raises(vx.TypeError, "RDom 'r'", "outside a reduction", "'rowsum'", "vx.sum",
                "update definition"):
        vx.Pipeline(f)


def test_rdom_bounds_depending_on_var(hw):
    """A bound may use the reducing Func's pure Vars (y here: a triangle), not another Var."""
    W, H, x, y, img = hw
    r = vx.RDom(x + 1, name="r")
    f = vx.Func("tri", shape=(H,))
    f[y] = vx.sum(img[r, 0])
    with raises(vx.TypeError, "RDom 'r'", "'tri'", "depending on x", "not a variable of the "
                "pure definition there (['y'])", "Dims, Params, constants and the pure Vars",
                ".where"):
        vx.Pipeline(f)


def test_pure_lhs_not_vars():
    x = vx.Var("x")
    f = vx.Func("f")
    with raises(vx.TypeError, "pure definition of 'f'", "[x + 1]", "distinct Vars",
                "update definitions"):
        f[x + 1] = 0


def test_pure_lhs_repeated_var():
    x = vx.Var("x")
    f = vx.Func("f")
    with raises(vx.TypeError, "pure definition of 'f'", "[x, x]", "distinct Vars"):
        f[x, x] = 0


def test_pure_definition_with_free_var():
    x, y = vx.vars("x y")
    f = vx.Func("f")
    with raises(vx.TypeError, "pure definition of 'f'", "['y']", "not on its left-hand side"):
        f[x] = x + y


def test_wrong_arity(hw):
    W, H, x, y, img = hw
    with raises(vx.TypeError, "Input 'img' has 2 dimension(s)", "indexed with 1", "[x]"):
        img[x]


def test_wrong_arity_func_update():
    x, y = vx.vars("x y")
    f = vx.Func("f", shape=(4, 4))
    f[y, x] = 0
    with raises(vx.TypeError, "Func 'f' has 2 dimension(s)", "indexed with 1"):
        f[0] = 1


def test_output_without_shape(hw):
    W, H, x, y, img = hw
    f = vx.Func("out")
    f[y, x] = img[y, x]
    with raises(vx.TypeError, "output Func 'out' needs a declared domain",
                "vx.Func('out', shape=(H, W))"):
        vx.Pipeline(f)


def test_output_without_definition():
    with raises(vx.TypeError, "output Func 'out' has no definition"):
        vx.Pipeline(vx.Func("out", shape=(3,)))


def test_update_on_func_without_shape(hw):
    W, H, x, y, img = hw
    f = vx.Func("acc")
    f[y] = 0.0
    f[0] = f[0] + 1.0
    out = vx.Func("out", shape=(H,))
    out[y] = f[y]
    with raises(vx.TypeError, "Func 'acc' has update definitions", "declared domain",
                "vx.Func('acc', shape=(...))"):
        vx.Pipeline(out)


def test_update_with_wrong_type(hw):
    W, H, x, y, img = hw
    r = vx.RDom(W, name="r")
    f = vx.Func("f", shape=(H,))
    f[y] = vx.cast(vx.int32, 0)
    with raises(vx.TypeError, "update of 'f' has type float64", "'f' is int32",
                "vx.cast(vx.int32, …)"):
        f[y] = f[y] + vx.cast(vx.int32, 0) + img[y, r]


def test_update_moves_pure_var():
    x, y = vx.vars("x y")
    f = vx.Func("f", shape=(4, 4))
    f[y, x] = 0
    with raises(vx.TypeError, "pure Var 'x' is at position 0", "must stay at position 1",
                "[y, x]"):
        f[x, 0] = 1


def test_update_uses_var_not_on_lhs():
    x, y = vx.vars("x y")
    f = vx.Func("f", shape=(4,))
    f[x] = vx.cast(vx.int32, 0)
    with raises(vx.TypeError, "update of 'f' uses Var(s) ['y']", "RDom"):
        f[0] = y


def test_update_with_two_rdoms():
    N = vx.Dim("N")
    r, s = vx.RDom(N, name="r"), vx.RDom(N, name="s")
    x = vx.Var("x")
    a = vx.Input("a", vx.int32, (N,))
    f = vx.Func("f", shape=(N,))
    f[x] = vx.cast(vx.int32, 0)
    f[r] = a[s]
    with raises(vx.TypeError, "update 1 of 'f'", "several RDoms ['r', 's']",
                "multi-dimensional RDom"):
        vx.Pipeline(f)


def test_duplicate_names(hw):
    W, H, x, y, img = hw
    other = vx.Input("img", vx.float32, (H, W))
    f = vx.Func("f", shape=(H, W))
    f[y, x] = img[y, x] + other[y, x]
    with raises(vx.TypeError, "two different objects are named 'img'", "unique"):
        vx.Pipeline(f)


def test_multi_dim_rdom_used_as_scalar(hw):
    W, H, x, y, img = hw
    rr = vx.RDom((H, W), name="rr")
    with raises(vx.TypeError, "RDom 'rr' is 2-dimensional", "rr[0]", "rr[1]"):
        rr + 1


def test_rdom_index_out_of_range(hw):
    W, H, x, y, img = hw
    rr = vx.RDom((H, W), name="rr")
    with raises(vx.TypeError, "RDom 'rr' has 2 dimension(s)", "0 … 1", "2"):
        rr[2]


def test_rdom_where_needs_bool(hw):
    W, H, x, y, img = hw
    r = vx.RDom(W, name="r")
    with raises(vx.TypeError, "RDom 'r'.where(...)", "bool condition", "int32"):
        r.where(r + 1)


def test_boundary_condition_needs_a_declared_shape():
    with raises(vx.TypeError, "vx.repeat_edge needs the extents of Func('f')",
                "no declared shape", "vx.Func('f', shape=(H, W))"):
        vx.repeat_edge(vx.Func("f"))


def test_constant_exterior_value_does_not_fit():
    u8 = vx.Input("u8", vx.uint8, (vx.Dim("N"),))
    with raises(vx.TypeError, "0.5 is not an integer", "uint8", "vx.cast"):
        vx.constant_exterior(u8, 0.5)


def test_param_range_needs_a_number_dtype():
    with raises(vx.TypeError, "Param 'g'", "range=(lo, hi)", "needs a number dtype"):
        vx.Param("g", vx.bool_, range=(0, 1))


@pytest.mark.parametrize("make, what", [
    (lambda: vx.Var("1x"), "Var name '1x'"),
    (lambda: vx.Func("for"), "Func name 'for'"),
    (lambda: vx.Input("a b", vx.float32, (3,)), "Input name 'a b'"),
    (lambda: vx.Param("_p", vx.int32), "Param name '_p'"),
    (lambda: vx.Dim("N-1"), "Dim name 'N-1'"),
    (lambda: vx.RDom(3, name=""), "RDom name ''"),
])
def test_invalid_identifier_names(make, what):
    with raises(vx.TypeError, what, "not a valid identifier", "e.g. 'blur_x'"):
        make()


# --- inputs at the call ----------------------------------------------------------------------

@pytest.fixture
def pipe(hw):
    W, H, x, y, img = hw
    gain = vx.Param("gain", vx.float32)
    n = vx.Param("n", vx.int32, range=(0, 3))
    wt = vx.Input("wt", vx.float32, (W,))
    out = vx.Func("out", shape=(H, W))
    out[y, x] = img[y, x] * gain + vx.cast(vx.float32, n) + wt[x]
    return vx.Pipeline(out)


IMG = np.zeros((3, 4), np.float32)
WT = np.zeros(4, np.float32)


def test_input_wrong_dtype(pipe):
    with raises(vx.InputError, "input 'img'", "dtype float32", "float64",
                "img.astype(np.float32)"):
        pipe.reference(img=IMG.astype(np.float64), wt=WT, gain=1.0, n=1)


def test_input_wrong_rank(pipe):
    with raises(vx.InputError, "input 'img'", "2 dimension(s) (H, W)", "shape (4,)"):
        pipe.reference(img=WT, wt=WT, gain=1.0, n=1)


def test_inputs_with_inconsistent_dims(pipe):
    with raises(vx.InputError, "inconsistent size W", "img.shape[1] says 4", "wt.shape[0] is 5",
                "must agree"):
        pipe.reference(img=IMG, wt=np.zeros(5, np.float32), gain=1.0, n=1)


def test_input_composite_shape_mismatch():
    N = vx.Dim("N")
    x = vx.Var("x")
    a = vx.Input("a", vx.float32, (N,))
    b = vx.Input("b", vx.float32, (2 * N,))
    f = vx.Func("f", shape=(N,))
    f[x] = a[x] + b[2 * x]
    with raises(vx.InputError, "input 'b'", "shape[0] must be 2 * N = 6", "N=3", "got 5"):
        vx.Pipeline(f).reference(a=np.zeros(3, np.float32), b=np.zeros(5, np.float32))


def test_missing_input(pipe):
    with raises(vx.InputError, "pipeline 'out'", "missing ['wt']", "inputs ['img', 'wt']",
                "params ['gain', 'n']"):
        pipe.reference(img=IMG, gain=1.0, n=1)


def test_unexpected_extra_name(pipe):
    with raises(vx.InputError, "unexpected ['extra']", "inputs ['img', 'wt']"):
        pipe.reference(img=IMG, wt=WT, gain=1.0, n=1, extra=3)


def test_unbound_size():
    N = vx.Dim("N")
    x = vx.Var("x")
    f = vx.Func("f", shape=(N,))
    f[x] = x
    with raises(vx.InputError, "['N']", "not fixed by any input", "N=128"):
        vx.Pipeline(f).reference()


def test_non_positive_size_keyword():
    N = vx.Dim("N")
    x = vx.Var("x")
    f = vx.Func("f", shape=(N,))
    f[x] = x
    with raises(vx.InputError, "size N=0", "positive integer"):
        vx.Pipeline(f).reference(N=0)


def test_empty_input_dimension(pipe):
    with raises(vx.InputError, "input 'img' has size 0 in dimension 0", "at least 1"):
        pipe.reference(img=np.zeros((0, 4), np.float32), wt=WT, gain=1.0, n=1)


def test_param_out_of_declared_range(pipe):
    with raises(vx.InputError, "param 'n'=7", "outside its declared range [0, 3]"):
        pipe.reference(img=IMG, wt=WT, gain=1.0, n=7)


def test_param_non_integer_for_int_dtype(pipe):
    with raises(vx.InputError, "param 'n' is int32", "1.5 is not representable"):
        pipe.reference(img=IMG, wt=WT, gain=1.0, n=1.5)


def test_param_given_an_array(pipe):
    with raises(vx.InputError, "param 'gain' is a scalar", "shape (2,)"):
        pipe.reference(img=IMG, wt=WT, gain=np.ones(2), n=1)


def test_param_bool_for_number(pipe):
    with raises(vx.InputError, "param 'gain' is float32", "True"):
        pipe.reference(img=IMG, wt=WT, gain=True, n=1)

