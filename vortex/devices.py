"""The device-naming rule: how a device's name becomes the stem of a schedule file.

One rule for ``schedule="auto"``, the tuner and the files in ``schedules/<pipeline>/``:

- **slug**: the name lowercased, ``(R)``/``(TM)`` dropped, every run of other characters a
  ``-``; CUDA and HIP names get their vendor in front when the driver leaves it out
  (``Tesla V100-SXM2-16GB`` → ``nvidia-tesla-v100-sxm2-16gb``), and the product-line words
  ``tesla`` and ``instinct`` are dropped from the family.
- **family**: the slug up to its first qualifier word — memory size (``80gb``), memory kind
  (``hbm3``, ``hbm3e``), form factor (``pcie``, ``sxm4``, ``nvl``, ``oam``), partitions
  (``mig``, ``vf``), AMD target features (``sramecc``, ``xnack``). ``NVIDIA H100 80GB HBM3``, ``NVIDIA H100 PCIe`` and ``NVIDIA H100 NVL``
  are all ``nvidia-h100``; ``NVIDIA H200`` is ``nvidia-h200``; ``NVIDIA A100-SXM4-80GB`` is
  ``nvidia-a100``; ``AMD Instinct MI300X`` is ``amd-mi300x``; ``NVIDIA GeForce RTX 4090`` is
  ``nvidia-geforce-rtx-4090``.
- A PoCL CPU device is ``pocl-cpu`` whatever the CPU (see vortex.runtime.opencl_device).
- Last, the representative device of the arch in :data:`REPRESENTATIVE` (``sm_90`` →
  ``nvidia-h100``): a device of the same arch with no files of its own (an H200), or no device
  name at all (compiling with ``arch=`` and no GPU), uses its files.

``schedule="auto"`` looks for ``<slug>``, then ``<family>``, then the arch's representative
(:func:`stems`); the tuner writes under ``<family>``. Halide's autoscheduler and TVM's tophub key their records the same way: by
device model, not by board.
"""
from __future__ import annotations

import re

from . import archs
from .target import Target

VENDOR = {Target.CUDA: "nvidia", Target.HIP: "amd"}
PRODUCT_LINES = ("tesla", "instinct")
QUALIFIER = re.compile(r"\d+gb|hbm\d*e?|pcie|sxm\d*|nvl\d*|oam|mig|vf|sramecc|xnack")
# An arch's representative device: the one its shipped schedule files are for.
REPRESENTATIVE = {
    Target.CUDA: {80: "nvidia-a100", 86: "nvidia-geforce-rtx-3090", 89: "nvidia-l40s",
                  90: "nvidia-h100", 100: "nvidia-b200", 120: "nvidia-geforce-rtx-5090"},
    Target.HIP: {0x90a: "amd-mi250x", 0x942: "amd-mi300x", 0x1100: "amd-rx-7900-xtx"},
}


def slug(name: str, target=None) -> str:
    """The file-name form of a device name (see the module docstring)."""
    text = re.sub(r"\((r|tm|c)\)", " ", str(name).lower())
    words = [w for w in re.split(r"[^a-z0-9]+", text) if w]
    vendor = VENDOR.get(Target.parse(target)) if target is not None else None
    if vendor and words and words[0] != vendor:
        words.insert(0, vendor)
    return "-".join(words)


def family(name: str, target=None) -> str:
    """The model the device belongs to: its slug up to the first qualifier word, without
    product-line words."""
    words = []
    for w in slug(name, target).split("-"):
        if words and QUALIFIER.fullmatch(w):
            break
        if w not in PRODUCT_LINES:
            words.append(w)
    return "-".join(words)


def stems(target, name: str | None = None, arch: str | None = None) -> tuple[str, ...]:
    """File stems to look for, most specific first: the device's slug and family, then the
    representative device of ``arch``; empty when neither is known."""
    t = Target.parse(target)
    found = [slug(name, t), family(name, t)] if name else []
    if arch and t in REPRESENTATIVE:
        found.append(REPRESENTATIVE[t].get(archs.facts(t, arch).number))
    return tuple(dict.fromkeys(s for s in found if s))
