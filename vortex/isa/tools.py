"""The disassemblers the instruction report runs, and how each is found.

- ``nvdisasm`` (CUBIN → SASS): the pip wheel ``nvidia-cuda-nvdisasm`` (extra ``cuda``) or a CUDA
  toolkit, found with ``cuda.pathfinder.find_nvidia_binary_utility`` (wheels, conda,
  ``$CUDA_HOME``), then ``$PATH``.
- ``llvm-objdump`` with the AMDGPU target (code object → AMDGCN): ROCm's
  (``/opt/rocm/llvm/bin``), then Debian's ``/usr/lib/llvm-*/bin`` (newest first: the newest
  LLVM knows the most GPUs; Debian's ``hipcc`` depends on ``llvm-15``), then ``$PATH``.
  Debian's LLVM builds include the AMDGPU target.

A missing tool is not an error: the report says ``tool missing: …`` with what to install.
"""
from __future__ import annotations

import glob
import shutil
import subprocess
from dataclasses import dataclass
from typing import Callable

from .. import errors


def _nvidia_utility(name: str) -> str | None:
    try:
        from cuda.pathfinder import find_nvidia_binary_utility
        found = find_nvidia_binary_utility(name)
    except Exception:  # noqa: BLE001 - no cuda.pathfinder, or its search failed: try $PATH
        found = None
    return found or shutil.which(name)


def _llvm_objdump() -> str | None:
    versioned = sorted(glob.glob("/usr/lib/llvm-*/bin/llvm-objdump"),
                       key=lambda p: int(p.split("llvm-")[1].split("/")[0]), reverse=True)
    for path in ["/opt/rocm/llvm/bin/llvm-objdump", *versioned, shutil.which("llvm-objdump")]:
        if path and shutil.which(path):
            return path
    return None


@dataclass(frozen=True)
class Tool:
    """A disassembler: ``name``, ``install`` (what to do when it is missing) and ``find``
    (its path or None)."""

    name: str
    install: str
    find: Callable[[], str | None]

    @property
    def missing(self) -> str:
        """The report's line when the tool is not found."""
        return f"tool missing: {self.name} ({self.install})"

    def run(self, *args: str, timeout: float = 120) -> str:
        """stdout of the tool on ``args``. Raises vx.DeviceError (:attr:`missing`) when the
        tool is not found, vx.CompileError with its stderr when it fails."""
        path = self.find()
        if path is None:
            raise errors.DeviceError(self.missing)
        done = subprocess.run([path, *args], capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise errors.CompileError(f"{self.name} failed (exit {done.returncode}) on "
                                      f"{' '.join(args)}: {done.stderr.strip()[:2000]}")
        return done.stdout


NVDISASM = Tool("nvdisasm", 'install it with pip install "vortex[cuda]" (the '
                "nvidia-cuda-nvdisasm wheel) or a CUDA toolkit",
                lambda: _nvidia_utility("nvdisasm"))
LLVM_OBJDUMP = Tool("llvm-objdump", "install ROCm's llvm (/opt/rocm/llvm) or Debian's llvm "
                    "package, whose LLVM includes the AMDGPU target: apt-get install llvm",
                    lambda: _llvm_objdump())
