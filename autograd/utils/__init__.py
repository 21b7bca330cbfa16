"""Utilities with torch's layout: `autograd.utils.data` is `torch.utils.data`,
`autograd.utils.hooks` is `torch.utils.hooks`."""
from . import data, hooks

__all__ = ["data", "hooks"]
