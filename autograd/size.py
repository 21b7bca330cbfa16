"""`Size`: a tensor's shape as torch gives it, a tuple of ints printed `torch.Size([2, 3])`."""
import math

from . import dtypes as _dt


class Size(tuple):
    """torch.Size: a tuple of ints (so it equals, unpacks, indexes and hashes as one) whose
    slices and sums with tuples are Sizes again, with numel() and torch's repr."""
    __slots__ = ()

    def numel(self):
        """The number of elements of a tensor of this shape (1 for ())."""
        return math.prod(self)

    def __getitem__(self, index):
        item = tuple.__getitem__(self, index)
        return Size(item) if isinstance(index, slice) else item

    def __add__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(self, other))

    def __radd__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(other, self))

    def __mul__(self, n):
        return Size(tuple.__mul__(self, n))

    __rmul__ = __mul__

    def __repr__(self):
        return f"{_dt.get_repr_prefix()}.Size({list(self)})"

    __str__ = __repr__

    def __reduce__(self):
        return Size, (tuple(self),)
