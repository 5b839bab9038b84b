"""What the fused-transformer-piece tests share (tests/examples/test_rmsnorm_qkv.py,
test_swiglu.py, test_residual_norm_quant.py): the GPU schedule files' targets, the global
intermediates of a lowering, and compiling a piece's GPU file offline."""
import compilers
import vortex as vx
from vortex.lower.buffers import BufferRole

# device file name -> (target, arch) it is compiled for here (no GPU: NVRTC / hiprtc)
GPU = {"nvidia-h100": ("cuda", "sm_90"), "nvidia-a100": ("cuda", "sm_80"),
       "amd-mi300x": ("hip", "gfx90a")}


def intermediates(lowered) -> list:
    """Names of the buffers a lowering keeps in global memory between its kernels."""
    return [b.name for b in lowered.buffers if b.role is BufferRole.INTERMEDIATE]


def compile_gpu_file(example, folder, device: str):
    """``example``'s pipeline with ``folder/<device>.toml``, compiled for its GPU target (the
    test skips, with the reason, where that compiler is absent)."""
    target, arch = GPU[device]
    compilers.NEED[target]()
    pipe = example.pipeline()
    return vx.compile(pipe, schedule=str(folder / f"{device}.toml"), target=target, arch=arch)
