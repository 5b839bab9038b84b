"""``out=`` as numpy users pass it: one array for a single-output pipeline, a dict by output
name, a tuple/list in output order; every other form is a vx.InputError naming the accepted
ones. The forms are resolved by one helper (``runtime.base.out_arrays``) that the OpenCL, CUDA
and HIP runtimes share; the kernels here run on PoCL."""
import types

import numpy as np
import pytest

import pipelines as P
import vortex as vx
from vortex.runtime.base import out_arrays

SHAPE = (7, 13)   # not a multiple of the default 16×16 tile


@pytest.fixture(scope="module")
def scale(compiled):
    return compiled("scale", "default", None)


@pytest.fixture(scope="module")
def narrow(compiled):
    """Three outputs: u8 (uint8), i8 (int8), big (bool)."""
    return compiled("narrow", "default", None)


def empty_outputs(ref: tuple) -> list:
    return [np.empty_like(r) for r in ref]


def test_one_array_for_a_single_output_pipeline(scale):
    args, ref = P.reference("scale", SHAPE)
    given = np.empty_like(args["img"])
    assert scale(out=given, **args) is given
    P.assert_matches(given, ref)


def test_one_pyopencl_array_is_written_on_the_device(scale):
    cla = pytest.importorskip("pyopencl.array")
    args, ref = P.reference("scale", SHAPE)
    given = cla.zeros(scale._exe.queue, SHAPE, np.float32)
    assert scale(out=given, **args) is given
    P.assert_matches(given.get(), ref)


def test_a_dict_by_output_name(scale, narrow):
    args, ref = P.reference("scale", SHAPE)
    given = np.empty_like(args["img"])
    assert scale(out={"scale": given}, **args) is given
    P.assert_matches(given, ref)
    args, ref = P.reference("narrow", SHAPE)
    big = np.empty(SHAPE, np.bool_)
    u8, i8, got_big = narrow(out={"big": big}, **args)    # the others are allocated
    assert got_big is big
    P.assert_matches((u8, i8, big), ref)


@pytest.mark.parametrize("form", [tuple, list])
def test_a_sequence_in_output_order(narrow, form):
    args, ref = P.reference("narrow", SHAPE)
    given = empty_outputs(ref)
    result = narrow(out=form(given), **args)
    assert all(r is g for r, g in zip(result, given, strict=True))
    P.assert_matches(tuple(given), ref)


def test_a_one_element_sequence_for_a_single_output_pipeline(scale):
    args, ref = P.reference("scale", SHAPE)
    given = np.empty_like(args["img"])
    assert scale(out=[given], **args) is given
    P.assert_matches(given, ref)


def test_one_array_for_several_outputs_is_an_input_error(narrow):
    args, _ = P.reference("narrow", SHAPE)
    with pytest.raises(vx.InputError) as e:
        narrow(out=np.empty(SHAPE, np.uint8), **args)
    assert str(e.value) == ("out= is one array but 'u8' has 3 outputs ['u8', 'i8', 'big']; "
                            "pass a dict {output name: array} or a tuple of arrays in that order")


def test_a_sequence_of_the_wrong_length_is_an_input_error(narrow):
    args, ref = P.reference("narrow", SHAPE)
    with pytest.raises(vx.InputError) as e:
        narrow(out=tuple(empty_outputs(ref)[:2]), **args)
    assert str(e.value) == ("out= has 2 arrays but 'u8' has 3 output(s) ['u8', 'i8', 'big']; "
                            "pass one array per output, in that order, or a dict "
                            "{output name: array}")


@pytest.mark.parametrize("bad", ["scale", 3.0, {1, 2}], ids=["str", "float", "set"])
def test_other_forms_are_an_input_error_naming_the_accepted_ones(scale, bad):
    args, _ = P.reference("scale", SHAPE)
    with pytest.raises(vx.InputError) as e:
        scale(out=bad, **args)
    assert str(e.value) == ("out= must be one array (a single-output pipeline), a dict "
                            "{output name: array} or a tuple or list of arrays in output "
                            f"order; got {type(bad).__name__}")


def test_an_unknown_name_and_a_wrong_shape_are_input_errors(scale):
    args, _ = P.reference("scale", SHAPE)
    with pytest.raises(vx.InputError, match=r"out= names \['blur'\], which are not outputs "
                                            r"of 'scale'; its outputs are \['scale'\]"):
        scale(out={"blur": np.empty(SHAPE, np.float32)}, **args)
    with pytest.raises(vx.InputError, match=r"out\['scale'\] must be a C-contiguous array of "
                                            r"shape \(7, 13\) and dtype float32"):
        scale(out=np.empty((13, 7), np.float32), **args)


def test_the_shared_helper_without_a_device():
    """What every runtime's run() receives; None (and the ``outputs=`` alias) included."""
    ks = types.SimpleNamespace(outputs=("a", "b"), pipeline="two")
    x, y = np.zeros(2), np.ones(2)
    assert out_arrays(ks, None) == {}
    assert out_arrays(ks, None, outputs={"b": y}) == {"b": y}
    assert out_arrays(ks, (x, y)) == {"a": x, "b": y}
    assert out_arrays(types.SimpleNamespace(outputs=("a",), pipeline="one"), x) == {"a": x}
