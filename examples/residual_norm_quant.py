"""Residual add + RMSNorm + int8 quantization with a per-row scale (#15 item 2c), one kernel
writing two outputs (and a second, smaller launch for the scale):

    new_residual[r, c] = x[r, c] + res[r, c]
    normed[r, c]       = new_residual[r, c] · inv_rms[r] · w[c]   (RMSNorm, eps a Param)
    scale[r]           = max_c |normed[r, c]| / 127
    q[r, c]            = int8(clamp(round(normed[r, c] / scale[r]), -127, 127))   (0 if scale = 0)

Run it:  vortex run examples/residual_norm_quant.py [--schedule FILE] [--show-source]

x, res (R × C) and w (C,) are float32; a call returns (new_residual float32 (R, C), q int8
(R, C), scale float32 (R,)). ``round`` is half to even (numpy's). Symmetric per-token int8
quantization as in LLM.int8() (Dettmers et al. 2022) and SmoothQuant's W8A8 (Xiao et al. 2023).

How the pipeline is written, and why. new_residual and q share their domain, so they are one
Tuple-valued output ``residual_q[r, c] = (x + res, q)``: one kernel writes both, its row
statistics (``inv_rms_q``, ``amax_q``) computed at its row loop and never stored. ``scale``
(domain (R,)) is a second output, and outputs are computed at root — one output cannot be
computed inside another's loop ("'scale' is a pipeline output; outputs are computed at root") —
so it is a second launch, which re-derives the row statistics (``inv_rms_s``, ``amax_s``) from
the new residual the first kernel wrote (4 bytes per element read; x and res are not read
again). A Func is computed at one place, so each launch has its own copy of the statistics:
Halide's ``clone_in``, written by hand (:func:`_row_stats` called twice); both copies compute
the same values from the same inputs in the same order.

:func:`unfused_pipeline` is the composition an eager framework launches (add, RMSNorm
statistics, normalise, row max, scale, quantize: one Func each, three outputs), scheduled by
``unfused`` with every Func a root kernel. Schedules: on GPUs a block of 256 threads per row
for ``residual_q`` (coalesced; its row statistics by cross-thread reductions into shared
memory, as schedules/rmsnorm's) and a row per thread for ``scale``; on PoCL rows of 16-wide vectors, 4 rows per work-group: 2.1 ms at
512 × 1024 against 24 ms for the six unfused launches (measured, in the file).

Global memory (``kernel.analysis().traffic``, compulsory bytes; tests/examples/
test_residual_norm_quant.py): fused, 2 launches, 17·R·C + 8·C + 4·R bytes; unfused, 6
launches, 33·R·C + 4·C + 24·R: 1.94x for large R·C. One kernel for all three outputs (not
expressible, above) would move 13 bytes per element: 2.54x.
"""
import numpy as np

import vortex as vx
from rmsnorm_qkv import unfused  # noqa: F401 - every Func a root kernel (examples import siblings)

SHAPE = (512, 1024)           # R (tokens), C (hidden)
EPS = 1e-6
QMAX = 127


def _row_stats(tag: str, new_residual, w, eps, C):
    """(inv_rms, normed, amax) Funcs of ``new_residual`` (a function (r, c) -> Expr), named
    with ``tag``: the RMSNorm statistics and the row maximum of |normed|."""
    r, c = vx.vars("r c")
    j = vx.RDom(C, name=f"j{tag}")
    inv_rms = vx.Func(f"inv_rms{tag}")
    inv_rms[r] = 1 / vx.sqrt(vx.sum(new_residual(r, j) * new_residual(r, j))
                             / vx.cast(vx.float32, C) + eps)
    normed = vx.Func(f"normed{tag}")
    normed[r, c] = new_residual(r, c) * inv_rms[r] * w[c]
    amax = vx.Func(f"amax{tag}")
    amax[r] = vx.maximum(vx.abs(normed[r, j]))
    return inv_rms, normed, amax


def _quantize(normed, scale):
    """int8(clamp(round(normed / scale), -127, 127)), 0 where scale is 0 (an all-zero row)."""
    q = vx.clamp(vx.round(normed / vx.max(scale, 1e-30)), -QMAX, QMAX)
    return vx.cast(vx.int8, vx.select(scale > 0, q, 0))


def _io():
    R, C = vx.dims("R C")
    return (R, C, vx.Input("x", vx.float32, (R, C)), vx.Input("res", vx.float32, (R, C)),
            vx.Input("w", vx.float32, (C,)), vx.Param("eps", vx.float32))


def pipeline() -> vx.Pipeline:
    R, C, x, res, w, eps = _io()
    r, c = vx.vars("r c")
    _, normed_q, amax_q = _row_stats("_q", lambda i, k: x[i, k] + res[i, k], w, eps, C)
    residual_q = vx.Func("residual_q", shape=(R, C))
    residual_q[r, c] = (x[r, c] + res[r, c], _quantize(normed_q[r, c], amax_q[r] / QMAX))
    _, _, amax_s = _row_stats("_s", lambda i, k: residual_q[i, k][0], w, eps, C)
    scale = vx.Func("scale", shape=(R,))
    scale[r] = amax_s[r] / QMAX
    return vx.Pipeline(residual_q, scale, name="residual_norm_quant")


def unfused_pipeline() -> vx.Pipeline:
    """The same outputs, one Func per eager operation: new_residual, inv_rms, normed, amax,
    scale, q (outputs new_residual, q, scale, in the order :func:`pipeline` returns them)."""
    R, C, x, res, w, eps = _io()
    r, c = vx.vars("r c")
    new_residual = vx.Func("new_residual", shape=(R, C))
    new_residual[r, c] = x[r, c] + res[r, c]
    _, normed, amax = _row_stats("", lambda i, k: new_residual[i, k], w, eps, C)
    scale = vx.Func("scale", shape=(R,))
    scale[r] = amax[r] / QMAX
    q = vx.Func("q", shape=(R, C))
    q[r, c] = _quantize(normed[r, c], scale[r])
    return vx.Pipeline(new_residual, q, scale, name="residual_norm_quant_unfused")


def inputs(image=None) -> dict:
    """x, res (512, 1024) standard normal, w (1024,) uniform in [0.5, 1.5), eps = 1e-6 (fixed
    seed); ``image`` is ignored."""
    rng = np.random.default_rng(0)
    return {"x": rng.standard_normal(SHAPE, dtype=np.float32),
            "res": rng.standard_normal(SHAPE, dtype=np.float32),
            "w": rng.uniform(0.5, 1.5, SHAPE[1]).astype(np.float32), "eps": EPS}


def numpy_normed(x, res, w, eps):
    """(new_residual, normed) in numpy (float32), as the unfused composition computes them."""
    new_residual = x + res
    inv_rms = 1 / np.sqrt(np.mean(new_residual * new_residual, axis=-1, keepdims=True)
                          + np.float32(eps))
    return new_residual, new_residual * inv_rms * w


def numpy_version(x, res, w, eps):
    """The unfused composition in numpy (float32): (new_residual, q, scale)."""
    new_residual, normed = numpy_normed(x, res, w, eps)
    scale = np.max(np.abs(normed), axis=-1) / np.float32(QMAX)
    q = np.clip(np.round(normed / np.maximum(scale, np.float32(1e-30))[:, None]), -QMAX, QMAX)
    q = np.where(scale[:, None] > 0, q, 0).astype(np.int8)
    return new_residual, q, scale
