"""PolyBench/C 4.2 kernels in their natural Halide forms (tests/examples/polybench_forms.py):
``pipe.reference`` against loop-for-loop numpy transcriptions (bit-exact), the OpenCL kernel of
the default schedule on PoCL against the reference, and CUDA/HIP compiles — at sizes 1, 2, 7,
13 and 20."""
from __future__ import annotations

import numpy as np
import polybench_forms as P
import pytest

import vortex as vx

SIZES = [1, 2, 7, 13, 20]


def _lower(n, seed):
    rng = np.random.default_rng(seed)
    return dict(L=(rng.standard_normal((n, n)) * 0.3 + 2 * np.eye(n)).astype(np.float32),
                b=rng.standard_normal(n).astype(np.float32))


def _spd(n, seed):
    m = np.random.default_rng(seed).standard_normal((n, n)).astype(np.float32)
    return dict(a=(m @ m.T + n * np.eye(n)).astype(np.float32))


def _dominant(n, seed):
    m = np.random.default_rng(seed).standard_normal((n, n))
    return dict(a=(m + n * np.eye(n)).astype(np.float32))


def _graph(n, seed):
    """A sparse graph (no edge: 10⁶), where the order of the k loop changes the distances."""
    rng = np.random.default_rng(seed)
    return dict(w=np.where(rng.random((n, n)) < 0.3, rng.integers(1, 10, (n, n)),
                           10 ** 6).astype(np.int32))


def _grids(n, seed, steps=3):
    rng = np.random.default_rng(seed)
    return dict(a=rng.standard_normal((n, n)).astype(np.float32),
                b=rng.standard_normal((n, n)).astype(np.float32), T=steps)


# name: (builder, inputs(n, seed), numpy transcription(**inputs) → expected output)
KERNELS = {
    "trisolv": (P.trisolv, _lower, P.trisolv_np),
    "trisolv_over": (lambda: P.trisolv(over=True), _lower, P.trisolv_np),
    "trisolv_2d": (P.trisolv_2d, _lower, P.trisolv_2d_np),
    "cholesky": (P.cholesky, _spd, P.cholesky_np),
    "lu": (P.lu, _dominant, P.lu_np),
    "floyd_warshall": (P.floyd_warshall, _graph, P.floyd_warshall_np),
}
ORDERED = {"floyd_warshall", "jacobi_2d"}   # item 6b forms: an ordered pure loop


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("name", sorted(KERNELS))
def test_reference_matches_numpy_loops(name, n):
    build, inputs, transcription = KERNELS[name]
    args = inputs(n, seed=n)
    np.testing.assert_array_equal(build().reference(**args), transcription(**args))


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("steps", [1, 3])
def test_jacobi_2d_reference_matches_numpy_loops(n, steps):
    args = _grids(n, seed=n, steps=steps)
    S = P.jacobi_2d().reference(**args)
    A, B = P.jacobi_2d_np(args["a"], args["b"], steps)
    assert S.shape == (2 * steps + 1, n, n)
    np.testing.assert_array_equal(S[2 * steps], A)
    np.testing.assert_array_equal(S[2 * steps - 1], B)


_KERNEL_CACHE = {}


def _kernel(name, build, device):
    if name not in _KERNEL_CACHE:
        pipe = build()
        _KERNEL_CACHE[name] = pipe, vx.compile(pipe, schedule=vx.Schedule.default(pipe),
                                               target="opencl", device=device)
    return _KERNEL_CACHE[name]


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("name", sorted(set(KERNELS) - ORDERED))
def test_pocl_matches_reference(opencl_device, name, n):
    build, inputs, _ = KERNELS[name]
    pipe, kernel = _kernel(name, build, opencl_device)
    args = inputs(n, seed=n)
    np.testing.assert_allclose(kernel(**args), pipe.reference(**args), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("n", [7, 13, 20])
def test_pocl_floyd_warshall_matches_reference(opencl_device, n):
    pipe, kernel = _kernel("floyd_warshall", P.floyd_warshall, opencl_device)
    args = _graph(n, seed=1)
    np.testing.assert_array_equal(kernel(**args), pipe.reference(**args))


@pytest.mark.parametrize("n", [7, 13, 20])
def test_pocl_jacobi_2d_matches_reference(opencl_device, n):
    pipe, kernel = _kernel("jacobi_2d", P.jacobi_2d, opencl_device)
    args = _grids(n, seed=n)
    np.testing.assert_allclose(kernel(**args), pipe.reference(**args), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["cholesky", "floyd_warshall"])
def test_compiles_for_cuda_and_hip(offline, name):
    target, build = offline
    kernel = build(KERNELS[name][0]())
    assert "update0" in kernel.source
