"""Staged, pipelined matmul on CUDA sm_80/sm_90 (NVRTC, no GPU needed): asynchronous copies,
shared bytes = stages × tile bytes as ptxas reports them, and oversized shared memory refused
before any compiler runs."""
import pytest

import pipelines as P
import vortex as vx

pytest.importorskip("cuda.bindings", reason='CUDA tests need pip install "vortex[cuda]"')

yo, xo, yi, xi, ko, ki = vx.vars("yo xo yi xi ko ki")


def staged(tm, tn, tk, stages):
    pipe = P.pipe("matmul")
    s = vx.Schedule(pipe)
    s["C"].tile("i", "j", yo, xo, yi, xi, tm, tn).gpu_blocks(yo, xo).gpu_threads(yi, xi)
    s["C"].split("k", ko, ki, tk).stage("A", at=ko).stage("B", at=ko, swizzle="xor")
    s["C"].pipeline(ko, stages=stages)
    return pipe, s


@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
@pytest.mark.parametrize("stages", [1, 2, 3, 4])
def test_pipelined_copies_are_asynchronous_and_sized_by_stages(arch, stages):
    pipe, s = staged(16, 16, 16, stages)
    kern = vx.compile(pipe, schedule=s, target="cuda", arch=arch)
    assert "__pipeline_memcpy_async" in kern.source and "__pipeline_commit()" in kern.source
    assert f"__pipeline_wait_prior({stages - 1})" in kern.source
    tile_bytes = 4 * (16 * 16 + 16 * 16)
    assert kern.resources["C_kernel"]["shared_bytes"] == stages * tile_bytes
    assert kern.kernel_source.launches[0].shared_bytes == stages * tile_bytes


def test_older_arch_and_other_targets_copy_synchronously():
    pipe, s = staged(16, 16, 16, 2)
    for target in ("opencl", "hip"):
        assert "__pipeline" not in vx.source(pipe, s, target=target)


def test_oversized_shared_memory_names_stage_and_pipeline(monkeypatch):
    import vortex.runtime.nvrtc as nvrtc_mod
    pipe, s = staged(32, 32, 64, 5)   # 5 × (32·64 + 64·32) · 4 B = 80 KiB > sm_75's 64 KiB
    calls = []
    for name in dir(nvrtc_mod):
        obj = getattr(nvrtc_mod, name)
        if callable(obj) and name.startswith("compile"):
            monkeypatch.setattr(nvrtc_mod, name, lambda *a, **k: calls.append(a))
    with pytest.raises(vx.ScheduleError, match=r"stage\(A, \.\.\.\).*pipeline\(\.\.\.\)"):
        vx.compile(pipe, schedule=s, target="cuda", arch="sm_75")
    assert not calls
