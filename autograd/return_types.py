"""torch.return_types: the named tuples that max(dim), min(dim), sort, topk ... return.

    values, indices = x.max(1)          # unpacks as a tuple
    x.max(1).values                     # or by name
    print(x.max(1))                     # torch.return_types.max(\nvalues=...,\nindices=...)

Each is a tuple subclass (a structseq in torch) named after its function, with torch's repr.
"""
from . import dtypes as _dt


class _ReturnType(tuple):
    """A tuple whose items also have names (`_fields`), printed as torch prints them."""
    __slots__ = ()
    _fields = ()

    def __new__(cls, *items):
        if len(items) == 1 and isinstance(items[0], (tuple, list)) and \
                len(items[0]) == len(cls._fields):
            items = tuple(items[0])
        if len(items) != len(cls._fields):
            raise TypeError(f"{cls.__name__} takes {len(cls._fields)} items, got {len(items)}")
        return tuple.__new__(cls, items)

    @property
    def n_fields(self):
        return len(self._fields)

    n_sequence_fields = n_fields

    def __repr__(self):
        body = ",\n".join(f"{name}={value!r}" for name, value in zip(self._fields, self))
        return f"{_dt.get_repr_prefix()}.return_types.{type(self).__name__}(\n{body})"

    __str__ = __repr__

    def __reduce__(self):
        return type(self), (tuple(self),)


def _make_type(name, fields):
    namespace = {"__slots__": (), "_fields": fields, "__module__": __name__}
    for i, field in enumerate(fields):
        namespace[field] = property(lambda self, i=i: tuple.__getitem__(self, i))
    return type(name, (_ReturnType,), namespace)


_VALUES_INDICES = ("max", "min", "sort", "topk", "kthvalue", "median", "mode", "cummax",
                   "cummin")
for _name in _VALUES_INDICES:
    globals()[_name] = _make_type(_name, ("values", "indices"))
aminmax = _make_type("aminmax", ("min", "max"))
histogram = _make_type("histogram", ("hist", "bin_edges"))


def make(name, *items):
    """The return type `name` holding items."""
    return globals()[name](*items)


__all__ = list(_VALUES_INDICES) + ["aminmax", "histogram"]
