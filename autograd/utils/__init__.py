"""Utilities with torch's layout: `autograd.utils.data` is `torch.utils.data`."""
from . import data

__all__ = ["data"]
