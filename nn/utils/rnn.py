"""Batches of variable-length sequences, torch.nn.utils.rnn's functions.

Sentences of different lengths are padded to one (T, B, *) tensor, then packed so that a
recurrent layer runs each sequence for its own length only:

    padded = pad_sequence(sentences, batch_first=True)              # (B, T, *), zeros after
    packed = pack_padded_sequence(padded, lengths, batch_first=True, enforce_sorted=False)
    out, (h_n, c_n) = lstm(packed)               # h_n: each sequence's state at its own length
    out, lengths = pad_packed_sequence(out, batch_first=True)

A PackedSequence holds the steps time-major with the batch sorted by decreasing length: data
is (sum of lengths, *), and batch_sizes[t] says how many sequences are longer than t, so step t
is the data[offset_t : offset_t + batch_sizes[t]] rows. sorted_indices[i] is the batch position
of the i-th longest sequence, unsorted_indices its inverse. Packing and padding are one gather
each (an index into the input's rows): differentiable, the gradient of every packed row goes
back to its padded place, padding gets none.

The lengths and batch sizes are read as Python integers (tolist()): under autograd.compile
that read is refused when they are values of the program (a lengths tensor passed in), since a
trace would keep the first call's; lengths given as a tuple of ints retrace when they change.
Ties in the lengths are sorted stably (torch's CPU sort orders ties its own way from 17
sequences on; the padded results and final states are the same, sorted_indices may differ).
"""
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

from autograd import Tensor
from autograd.engine import STATE
from autograd.functional import concatenate, pad, stack

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence",
           "pad_packed_sequence", "pad_sequence", "unpad_sequence", "pack_sequence",
           "unpack_sequence"]


class _PackedSequenceFields(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(_PackedSequenceFields):
    """(data, batch_sizes, sorted_indices, unsorted_indices), a named tuple as torch's: made by
    pack_padded_sequence and pack_sequence, taken by nn.RNN, nn.LSTM and nn.GRU.

    data (sum of lengths, *) holds step t of the sorted sequences in the rows
    offset_t .. offset_t + batch_sizes[t]; batch_sizes (int64, one per step) is non-increasing;
    sorted_indices (int64 or None: already sorted) maps sorted position -> batch position and
    unsorted_indices is its inverse (computed from sorted_indices when not given)."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            # PackedSequence((data, batch_sizes), sorted_indices=...), as torch allows
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        """data.to(...); self when data is unchanged (batch_sizes and the indices stay)."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def cpu(self, *args, **kwargs):
        return self.to(*args, **kwargs)

    def double(self):
        return self.to(dtype=np.float64)

    def float(self):
        return self.to(dtype=np.float32)

    def half(self):
        return self.to(dtype=np.float16)

    def long(self):
        return self.to(dtype=np.int64)

    def int(self):
        return self.to(dtype=np.int32)

    @property
    def is_cuda(self):
        return False


def invert_permutation(permutation):
    """The inverse of a 1-d permutation tensor p: out[p[i]] = i (None stays None)."""
    if permutation is None:
        return None
    p = np.asarray(_ints(permutation, "a PackedSequence's sorted_indices"), dtype=np.int64)
    out = np.empty_like(p)
    out[p] = np.arange(p.size, dtype=np.int64)
    return Tensor(out)


def _ints(t, what):
    """An integer tensor (or a list) as Python ints. Inside autograd.compile, a tensor that is
    a value of the program (an argument, or made before the trace) is refused: the trace
    would keep its first call's numbers."""
    if not isinstance(t, Tensor):
        return list(t)
    if STATE.trace is not None and STATE.trace.reads(t):
        from autograd.compile import CompileError
        raise CompileError(f"compile: {what} is a tensor the compiled function reads as "
                           f"Python ints (they set the shapes of the packed steps); a trace "
                           f"would keep its first call's numbers. Pass the lengths as a tuple "
                           f"of ints (a new tuple traces again) and pack inside the compiled "
                           f"function, or run it eagerly")
    return t.tolist()


def _int64(values):
    return Tensor(np.asarray(values, dtype=np.int64).reshape(-1))


_SORTED_ERROR = ("`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                 "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                 "pack_sequence to sidestep this requirement if you do not need ONNX "
                 "exportability.")


def _dim_error(dim, ndim):
    lo, hi = (-ndim, ndim - 1) if ndim else (-1, 0)
    return IndexError(f"Dimension out of range (expected to be in range of [{lo}, {hi}], but "
                      f"got {dim})")


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch: input (T, B, *) (batch_first: (B, T, *)) with sequence b valid for
    its first lengths[b] steps (a list or a tensor, cast to int64) -> PackedSequence.

    data[offset_t + i] = input[t, sorted_indices[i]] for i < batch_sizes[t] =
    #{b : lengths[b] > t}; steps past max(lengths) are dropped, as torch's. enforce_sorted=True
    wants lengths non-increasing (sorted_indices None); False sorts them (stably).
    Errors as torch's: a 0 length, unsorted lengths, a count of lengths other than B, an empty
    input. A length beyond T is an IndexError here (torch's forward reads past the end of the
    input and its backward raises this IndexError)."""
    if isinstance(lengths, Tensor):
        lens = np.asarray(_ints(lengths, "pack_padded_sequence's lengths")).astype(np.int64)
    else:
        lens = np.asarray(lengths).astype(np.int64)
    if not isinstance(input, Tensor):
        kind = type(input)
        kind = kind.__name__ if kind.__module__ == "builtins" else (
            f"{kind.__module__}.{kind.__name__}")
        raise TypeError(f"_pack_padded_sequence(): argument 'input' (position 1) must be "
                        f"Tensor, not {kind}")
    if input.ndim < 2:
        raise _dim_error(1, input.ndim)
    if input._data.size == 0:
        raise RuntimeError("Cannot pack empty tensors.")
    if lens.ndim != 1:
        raise RuntimeError(f"'lengths' argument should be a 1D CPU int64 tensor, but got "
                           f"{lens.ndim}D cpu Long tensor")
    batch_axis = 0 if batch_first else 1
    B, T = input.shape[batch_axis], input.shape[1 - batch_axis]
    if enforce_sorted:
        order = None
    else:
        order = np.argsort(-lens, kind="stable")
        lens = lens[order]
    if lens.size != B:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{lens.size} (batch_size={B})")
    if lens[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an "
                           "element in 'lengths' that is <= 0")
    if np.any(lens[1:] > lens[:-1]):
        raise RuntimeError(_SORTED_ERROR)
    if lens[0] > T:
        shape = [T, B] + list(input.shape[2:])
        raise IndexError(f"select(): index {T} out of range for tensor of size {shape} at "
                         f"dimension 0")
    batch_sizes = (lens[None, :] > np.arange(lens[0])[:, None]).sum(1)
    steps = np.repeat(np.arange(lens[0]), batch_sizes)
    rows = np.concatenate([np.arange(b) for b in batch_sizes])
    if order is not None:
        rows = order[rows]
    # one gather: its VJP scatters each packed row's gradient back to its padded place
    data = input[(rows, steps) if batch_first else (steps, rows)]
    sorted_indices = None if order is None else _int64(order)
    return PackedSequence(data, _int64(batch_sizes), sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """The inverse of pack_padded_sequence: (padded, lengths). padded is (T, B, *) (batch_first:
    (B, T, *)) in the batch's original order, padding_value after each sequence's end, T the
    longest length or total_length (which may not be shorter); lengths an int64 tensor."""
    batch_sizes = np.asarray(_ints(sequence.batch_sizes, "a PackedSequence's batch_sizes"),
                             dtype=np.int64)
    max_len = batch_sizes.size
    if total_length is not None:
        if total_length < max_len:
            raise ValueError(f"Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {max_len}")
        max_len = total_length
    data = sequence.data
    B = int(batch_sizes[0])
    n = int(batch_sizes.sum())
    offsets = np.concatenate([[0], np.cumsum(batch_sizes)[:-1]])
    lengths = (batch_sizes[None, :] > np.arange(B)[:, None]).sum(1)
    # index[t, b]: the row of data holding step t of sorted sequence b, or n, the padding row
    index = np.full((max_len, B), n, dtype=np.int64)
    valid = np.arange(B)[None, :] < batch_sizes[:, None]
    index[:batch_sizes.size] = np.where(valid, offsets[:, None] + np.arange(B)[None, :], n)
    if sequence.unsorted_indices is not None:
        unsorted = np.asarray(_ints(sequence.unsorted_indices,
                                    "a PackedSequence's unsorted_indices"), dtype=np.int64)
        index, lengths = index[:, unsorted], lengths[unsorted]
    filler = Tensor(np.full((1,) + tuple(data.shape[1:]), padding_value, dtype=data._data.dtype))
    padded = concatenate([data, filler])[index.T if batch_first else index]
    return padded, _int64(lengths)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack sequences of shapes (L_i, *) into (T, B, *) (batch_first: (B, T, *)), T = max L_i,
    each filled with padding_value after its end (padding_side='left': before its start).
    All take the first sequence's dtype and trailing shape (broadcast to it, as torch's copy);
    each sequence's gradient is its slice of the output's."""
    if not isinstance(sequences, Iterable):
        raise RuntimeError(f"pad_sequence: Expected iterable for input sequences, but got arg "
                           f"of type: {type(sequences)}")
    sequences = tuple(sequences)
    if not isinstance(padding_value, (int, float, np.number)):
        raise TypeError(f"pad_sequence(): argument 'padding_value' (position 3) must be "
                        f"float, not {type(padding_value).__name__}")
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    for i, s in enumerate(sequences):
        if not isinstance(s, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(s).__name__}")
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got "
                           f"{padding_side}.")
    first = sequences[0]
    if first.ndim == 0:
        raise RuntimeError("ArrayRef: invalid slice, N = 1; size = 0")
    trailing = tuple(first.shape[1:])
    T = max(s.shape[0] if s.ndim else 0 for s in sequences)
    dt = first._data.dtype
    rows = []
    for s in sequences:
        L = s.shape[0] if s.ndim else 0
        want = (L,) + trailing
        if tuple(s.shape) != want:
            _check_broadcast(want, tuple(s.shape))
            s = s.expand(*want)
        if s._data.dtype != dt:
            s = s.to(dtype=dt)
        widths = ((0, T - L) if padding_side == "right" else (T - L, 0),) + ((0, 0),) * len(
            trailing)
        rows.append(s if L == T else pad(s, widths, padding_value))
    return stack(rows, 0 if batch_first else 1)


def _check_broadcast(dest, src):
    """torch's copy_ into a (L, *) slot: src must broadcast to dest, else its error."""
    ndim = max(len(dest), len(src))
    for i in range(ndim - 1, -1, -1):
        a = dest[i - ndim + len(dest)] if i - ndim + len(dest) >= 0 else 1
        b = src[i - ndim + len(src)] if i - ndim + len(src) >= 0 else 1
        if a != b and b != 1:
            raise RuntimeError(f"The size of tensor a ({a}) must match the size of tensor b "
                               f"({b}) at non-singleton dimension {i}")
    if len(src) > len(dest):
        raise RuntimeError(f"output with shape {list(dest)} doesn't match the broadcast shape "
                           f"{list(np.broadcast_shapes(dest, src))}")


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The list of padded_sequences' sequences, sequence b cut to its first lengths[b] steps
    (lengths a tensor). As torch's, with batch_first=False it transposes padded_sequences in
    place first (the caller's tensor is left (B, T, *))."""
    if not batch_first:
        padded_sequences.transpose_(0, 1)
    if not isinstance(lengths, Tensor):
        raise AttributeError(f"'{type(lengths).__name__}' object has no attribute 'device'")
    max_length = padded_sequences.shape[1]
    return [seq[:max(0, min(int(length), max_length))]
            for seq, length in zip(padded_sequences, lengths, strict=True)]


def pack_sequence(sequences, enforce_sorted=True):
    """pack_padded_sequence(pad_sequence(sequences), their lengths, enforce_sorted=...)."""
    lengths = _int64([v.size(0) for v in sequences])
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """The list of sequences a PackedSequence holds, in the batch's original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
