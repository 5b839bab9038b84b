"""Lowering: algorithm + schedule → loop IR kernels (see driver.lower)."""
from .driver import Lowered, lower

__all__ = ["lower", "Lowered"]
