"""Installed package versions, for `vortex info`, cache keys and benchmark headers."""
from __future__ import annotations

import importlib.metadata as md


def package_version(pkg: str) -> str:
    """The installed version of distribution ``pkg``, or "not installed"."""
    try:
        return md.version(pkg)
    except md.PackageNotFoundError:
        return "not installed"
