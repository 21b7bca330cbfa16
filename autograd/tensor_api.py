"""The rest of torch.Tensor's methods, as a base class of Tensor: conversions and devices,
autograd bookkeeping, shape and indexing helpers, elementwise and reduction methods.

tensor.py holds what the engine and the operators need (construction, .data/.grad, type
promotion, in-place machinery, the core ops); this class holds the surface a torch program
calls on top of it. Every method here is built from op-table rows (through Tensor's own
methods or `OPS[...]`), so nothing here has a backward of its own: composites name their
result after torch's node (`_named`) so that grad_fn shows what the user called.

A method that only reads values (argsort, nonzero, unique, isnan, ...) returns a constant,
as torch's do (their results are integers or bools).
"""
import math
import numbers

import numpy as np

from . import dtypes as _dt
from .devices import CPU, DeviceError, as_device, device as _device_cls
from .engine import STATE, Hooks, InPlace, Node, enable_grad, run_backward, run_post_hooks
from .grad_fn import named as _named
from .ops import OPS
from . import return_types as _return_types

_ROUND, _SIGN, _FLOOR, _CEIL, _TRUNC = (OPS[n] for n in ("round", "sign", "floor", "ceil",
                                                          "trunc"))
_LOG2, _LOG10, _LOG1P = OPS["log2"], OPS["log10"], OPS["log1p"]
_SCATTER = OPS["scatter"]
_NUMPY = OPS["numpy"]          # values computed without a gradient, as ops (autograd.compile)


def _data_op(fn, *operands, **keywords):
    """fn(*arrays, **keywords) of the operands' arrays as an op of the numpy row (no
    gradient): a value computed from data (a mask, a cast, an integer quotient) that a
    compiled function computes at each call rather than keeping the trace's. Operands that
    are not tensors (numbers, arrays) are constants."""
    from .tensor import Tensor
    tensors = [o if isinstance(o, Node) else Tensor._node(np.asarray(o)) for o in operands]
    return type(tensors[0])._kind._apply(_NUMPY, (fn, keywords), *tensors)


def _copy(a):
    """A copy of a in C order."""
    return a.copy()


def _check_values(test, error, *operands):
    """Raise error(*arrays) where test(*arrays) holds, for the operands' arrays (a target out
    of range, an integer division by 0). While autograd.compile traces, the check is an op
    of the numpy row that the program keeps and runs at each call: a check done once in
    Python would let later calls return numbers where eager mode raises."""
    if STATE.trace is not None and any(isinstance(o, Node) for o in operands):
        _data_op(_refuse_values, *operands, test=test, error=error)
        return
    arrays = [o._data if isinstance(o, Node) else np.asarray(o) for o in operands]
    _refuse_values(*arrays, test=test, error=error)


def _refuse_values(*arrays, test, error):
    if test(*arrays):
        raise error(*arrays)
    return np.empty(0, np.int8)


_refuse_values.checks = True        # autograd.compile keeps it though nothing reads its result


def _has_zero(y):
    return bool(np.any(y == 0))


def _zero_division(y):
    return RuntimeError("ZeroDivisionError")

_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
               "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
               "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor",
               "complex64": "ComplexFloatTensor", "complex128": "ComplexDoubleTensor"}
_BY_TYPE_NAME = {v: k for k, v in _TYPE_NAMES.items()}


def _axis(dim, ndim, opname):
    """One dim as a non-negative int, torch's IndexError outside [-ndim, ndim)."""
    n = max(ndim, 1)
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{opname}(): argument 'dim' must be int, not {type(dim).__name__}")
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    return int(dim) % n


def _index_array(index, opname):
    """An index argument (a Tensor, an array or a list of ints) as an int64 array. A tensor's
    is its own array (cast by an op if it is another integer type): inside a compiled
    function the index is then read at each call, not kept from the trace."""
    if isinstance(index, Node):
        kind = index._data.dtype.kind
        if kind not in "iu" and index._data.size:
            raise RuntimeError(f"{opname}(): Expected dtype int64 for index")
        return (index if index._data.dtype == np.int64 else index.long())._data
    arr = np.asarray(index)
    if arr.dtype.kind not in "iu" and arr.size:
        raise RuntimeError(f"{opname}(): Expected dtype int64 for index")
    return arr.astype(np.int64, copy=False)


def _flat_index(index, opname):
    """_index_array of index as a 1-D array (a 0-d tensor reshaped by an op)."""
    if isinstance(index, Node) and index._data.ndim != 1:
        index = index.reshape(-1)
    idx = _index_array(index, opname)
    return idx if idx.ndim == 1 else idx.reshape(-1)


def _grids(shape, dim, index):
    """The advanced index that takes, along `dim`, the entries `index` (same ndim as shape):
    aranges on the other axes, broadcast against index (gather's rule)."""
    out = []
    for a in range(len(shape)):
        if a == dim:
            out.append(index)
        else:
            view = [1] * index.ndim
            view[a] = index.shape[a]
            out.append(np.arange(index.shape[a]).reshape(view))
    return tuple(out)


class TensorAPI:
    """torch.Tensor's methods beyond the core (a base class of Tensor; see the module doc)."""
    __slots__ = ()

    # ------------------------------------------------------------------ dtypes and devices
    def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False,
           memory_format=None):
        """to(dtype), to(device), to(device, dtype), to(other) (other's dtype), with torch's
        keywords. Returns self when nothing changes (unless copy=True); a float dtype change
        is differentiable. Only the CPU exists: another device is DeviceError."""
        for arg in args:
            if isinstance(arg, bool):
                continue                            # non_blocking / copy given positionally
            if isinstance(arg, TensorAPI):
                dtype = arg.dtype
            elif isinstance(arg, (str, _device_cls)) and not _is_dtype_name(arg):
                device = arg
            elif isinstance(arg, int):
                device = arg
            else:
                try:
                    dtype = _dt.as_dtype(arg)
                except TypeError:
                    raise TypeError(f"to() received an invalid combination of arguments - got "
                                    f"({type(arg).__name__}): expected a dtype, a device or a "
                                    f"tensor") from None
        as_device(device, "to")
        out = self if dtype is None else self.astype(_dt.as_dtype(dtype)._np)
        if copy and out is self:
            out = self.clone()
        return out

    def type(self, dtype=None, non_blocking=False, **kwargs):
        """type(): the legacy type name, 'torch.FloatTensor'; type(dtype) or
        type('torch.DoubleTensor'): the tensor in that dtype (to(dtype))."""
        if dtype is None:
            return f"{_dt.get_repr_prefix()}.{_TYPE_NAMES[self.dtype._name]}"
        if isinstance(dtype, str) and dtype.rsplit(".", 1)[-1] in _BY_TYPE_NAME:
            dtype = _BY_TYPE_NAME[dtype.rsplit(".", 1)[-1]]
        return self.to(_dt.as_dtype(dtype))

    def type_as(self, other):
        """This tensor in other's dtype."""
        return self.to(other.dtype)

    def float(self):
        """to(float32)."""
        return self.astype(np.float32)

    def double(self):
        """to(float64)."""
        return self.astype(np.float64)

    def half(self):
        """to(float16)."""
        return self.astype(np.float16)

    def long(self):
        """to(int64): truncates toward 0; a constant."""
        return self.astype(np.int64)

    def int(self):
        """to(int32)."""
        return self.astype(np.int32)

    def short(self):
        return self.astype(np.int16)

    def char(self):
        return self.astype(np.int8)

    def byte(self):
        return self.astype(np.uint8)

    def bool(self):
        """to(bool): True where nonzero."""
        return self.astype(np.bool_)

    @property
    def device(self):
        """Where the data lives: always device(type='cpu')."""
        return CPU

    @property
    def is_cuda(self):
        return False

    @property
    def is_cpu(self):
        return True

    def get_device(self):
        """-1 for a CPU tensor, as torch."""
        return -1

    def cpu(self, memory_format=None):
        """self: the data is on the CPU already."""
        return self

    def cuda(self, device=None, non_blocking=False, memory_format=None):
        """DeviceError: tapegrad has no GPU (autograd.cuda.is_available() is False)."""
        raise DeviceError("Tensor.cuda(): tapegrad computes on the CPU only (numpy), and "
                          "autograd.cuda.is_available() is False; leave the tensor where it is "
                          "or use .to('cpu')")

    def pin_memory(self):
        return self

    def share_memory_(self):
        return self

    def is_floating_point(self):
        return self._data.dtype.kind == "f"

    def is_complex(self):
        return self._data.dtype.kind == "c"

    @property
    def is_signed(self):
        return self.dtype.is_signed

    def element_size(self):
        """Bytes per element."""
        return self._data.itemsize

    @property
    def itemsize(self):
        return self._data.itemsize

    @property
    def nbytes(self):
        return self._data.nbytes

    def is_contiguous(self, memory_format=None):
        """Whether the data is laid out row-major without gaps (view() needs it)."""
        return bool(self._data.flags.c_contiguous)

    def contiguous(self, memory_format=None):
        """self if row-major already, else a row-major copy (differentiable, as clone)."""
        return self if self._data.flags.c_contiguous else self.clone()

    def stride(self, dim=None):
        """Steps between elements along each dim, in elements (torch's strides)."""
        st = tuple(s // self._data.itemsize for s in self._data.strides)
        return st if dim is None else st[_axis(dim, self.ndim, "stride")]

    # ------------------------------------------------------------------ new tensors
    def new_tensor(self, data, **kwargs):
        """A new tensor holding a copy of data, of this tensor's dtype unless dtype is given."""
        from .factories import TENSOR_METHODS
        return TENSOR_METHODS["new_tensor"](self, data, **kwargs)

    def new_zeros(self, *size, **kwargs):
        """zeros of shape size, of this tensor's dtype unless dtype is given."""
        from .factories import TENSOR_METHODS
        return TENSOR_METHODS["new_zeros"](self, *size, **kwargs)

    def new_ones(self, *size, **kwargs):
        """ones of shape size, of this tensor's dtype unless dtype is given."""
        from .factories import TENSOR_METHODS
        return TENSOR_METHODS["new_ones"](self, *size, **kwargs)

    def new_empty(self, *size, **kwargs):
        """unspecified values (zeros) of shape size, of this tensor's dtype."""
        from .factories import TENSOR_METHODS
        return TENSOR_METHODS["new_empty"](self, *size, **kwargs)

    def new_full(self, size, fill_value, **kwargs):
        """fill_value in shape size, of this tensor's dtype unless dtype is given."""
        from .factories import TENSOR_METHODS
        return TENSOR_METHODS["new_full"](self, size, fill_value, **kwargs)

    # ------------------------------------------------------------------ autograd
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None, *,
                 grad=None):
        """Accumulate d(self)/d(leaf) into the .grad of every leaf that self depends on (and
        of tensors after retain_grad()), as torch's backward:

        gradient       d(root)/d(self), needed unless self has one element (`grad` is
                       tapegrad's earlier name for it)
        retain_graph   keep the graph's saved values for another backward (default:
                       create_graph)
        create_graph   record the backward pass, so that .grad can be differentiated again
        inputs         only these tensors accumulate a gradient (leaves or not)
        """
        if grad is not None:
            if gradient is not None:
                raise TypeError("backward() got both 'gradient' and its alias 'grad'")
            gradient = grad
        if retain_graph is None:
            retain_graph = create_graph
        take = self._keep_grad_graph if create_graph else self._keep_grad
        if inputs is not None:
            take = _only_inputs(inputs, take)
        seed = self._seed(gradient)
        if create_graph:
            with enable_grad():
                run_backward(self, self._const_like(seed), retain_graph, True, take)
        else:
            run_backward(self, seed, retain_graph, False, take)

    @staticmethod
    def _keep_grad_graph(node, g):
        """backward(create_graph=True)'s take: .grad is the recorded gradient itself (so it can
        be differentiated again), accumulated out of place, as torch does then."""
        if node._op is not None and not node._retains_grad:
            return
        if not isinstance(g, Node):
            g = node._const_like(g)
        node._grad = g if node._grad is None else node._grad + g
        if node._hooks is not None:
            run_post_hooks(node, True)      # register_post_accumulate_grad_hook's

    def register_hook(self, hook):
        """Call hook(grad) with this tensor's gradient d(root)/d(self) once it is complete
        (summed over every path) in each backward() or autograd.grad pass that reaches it. If
        the hook returns a tensor (of the same shape and dtype), that is the gradient instead:
        what a leaf's .grad accumulates, what an intermediate passes further back and what
        retain_grad() keeps; None keeps it. Several hooks run in registration order, each
        given the previous one's result. Under create_graph=True the hook gets a gradient
        with a graph, and what it returns is differentiated through; otherwise it runs under
        no_grad. Hooks registered on a tensor before an in-place change of it (x.mul_(2)) see
        the gradient of the value it had then (after an in-place view op, unsqueeze_, all run
        together, as torch's). A copy (deepcopy, pickle) has no hooks. Returns a handle:
        handle.remove() (or `with handle:`) unregisters the hook. As torch's; torch's
        RuntimeError when the tensor does not require grad.

            x.register_hook(print)                      # watch the gradient go by
            w.register_hook(lambda g: g.clamp(-1, 1))   # clip it before .grad gets it"""
        return self._add_hook("grad", hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Call hook(self) after backward() has added this leaf's gradient to its .grad
        (autograd.grad, which leaves .grad alone, calls none): an optimizer step per
        parameter as soon as its gradient is ready. What the hook returns is ignored. Returns
        a handle with .remove(). As torch's, with its RuntimeErrors on a tensor that does not
        require grad or is not a leaf."""
        if self._op is not None:        # (a recorded result requires grad: no order to keep)
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf "
                               "tensors")
        return self._add_hook("post", hook)

    def _add_hook(self, kind, hook):
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require "
                               "gradient")
        if STATE.trace is not None:
            STATE.trace.refuse_hook(kind)
        from .utils.hooks import RemovableHandle    # utils imports tensors: not at the top
        hooks = getattr(Hooks.of(self), kind)
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

    @property
    def retains_grad(self):
        """Whether backward stores .grad on this non-leaf (after retain_grad())."""
        return bool(self._retains_grad and self._op is not None)

    def detach_(self):
        """This tensor, in place, cut from its graph: a leaf that does not require grad."""
        self._op, self._parents, self._ctx = None, (), None
        self.requires_grad = False
        if getattr(self, "_fn", None) is not None:
            del self._fn
        return self

    # ------------------------------------------------------------------ shape helpers
    def view_as(self, other):
        return self.view(other.shape)

    def reshape_as(self, other):
        return self.reshape(other.shape)

    def expand_as(self, other):
        return self.expand(other.shape)

    def t(self):
        """The transpose of a matrix (a 0-d or 1-d tensor as it is), torch's t()."""
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                               f"{self.ndim}D")
        if self.ndim < 2:
            return _named(self[...], "TBackward0", self)     # a view, as torch's
        return _named(self.permute(1, 0), "TBackward0", self)

    def _view_(self, name, fn):
        """self becomes fn(self), a view of its data with another shape (t_, transpose_,
        squeeze_, unsqueeze_, resize as view): torch's in-place view ops. Recorded like
        Tensor._in_place when self requires grad (then a leaf is torch's error)."""
        tracked = STATE.grad_enabled and self.requires_grad
        if not tracked:
            self._data = fn(self)._data
            return self
        if self._op is None:
            raise RuntimeError(f"a leaf Variable that requires grad is being used in an in-place "
                               f"operation ({name}); do it inside `with no_grad():`")
        kind = self._kind
        old = kind._node(self._data, self._op, self._parents, self._ctx)
        old._index, old._retains_grad, old.label = self._index, self._retains_grad, self.label
        # hooks stay on self (unlike Tensor._in_place): torch runs those registered before
        # and after the change together, in registration order
        named = getattr(self, "_fn", None)
        if named is not None:
            old._fn = named
            del self._fn
        result = fn(old)
        self._data, self._op, self._parents, self._ctx = (result._data, result._op,
                                                          result._parents, result._ctx)
        self._index = result._index
        if getattr(result, "_fn", None) is not None:
            self._fn = result._fn
        return self

    def t_(self):
        """t(), in place."""
        return self._view_("t_", lambda a: a.t())

    def transpose_(self, dim0, dim1):
        return self._view_("transpose_", lambda a: a.transpose(dim0, dim1))

    def squeeze_(self, dim=None):
        return self._view_("squeeze_", lambda a: a.squeeze(dim))

    def unsqueeze_(self, dim):
        return self._view_("unsqueeze_", lambda a: a.unsqueeze(dim))

    def unflatten(self, dim, sizes):
        """Dimension dim split into `sizes` (one -1 is inferred)."""
        shape = self._data.shape
        d = _axis(dim, self.ndim, "unflatten")
        sizes = tuple(sizes)
        if -1 in sizes:
            known = math.prod(n for n in sizes if n != -1)
            sizes = tuple(shape[d] // known if n == -1 else n for n in sizes)
        if math.prod(sizes) != shape[d]:
            raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to "
                               f"the size of dim {dim} ({shape[d]}) in the input tensor")
        return self.reshape(shape[:d] + sizes + shape[d + 1:])

    def movedim(self, source, destination):
        """Axis source moved to position destination, the others in order."""
        nd = self.ndim
        src, dst = _axis(source, nd, "movedim"), _axis(destination, nd, "movedim")
        order = [a for a in range(nd) if a != src]
        order.insert(dst, src)
        return self.permute(order)

    def chunk(self, chunks, dim=0):
        """chunks pieces along dim, each ceil(size / chunks) long (the last may be shorter,
        and fewer pieces come back when the size runs out), as torch.chunk."""
        if chunks <= 0:
            raise RuntimeError("chunk expects `chunks` to be greater than 0, got: "
                               f"{chunks}")
        d = _axis(dim, self.ndim, "chunk")
        n = self._data.shape[d]
        step = max(1, -(-n // chunks))
        return self._pieces(d, [(i, min(i + step, n)) for i in range(0, n, step)] or [(0, 0)],
                            "SplitBackward0")

    def split(self, split_size_or_sections, dim=0):
        """Pieces along dim: of split_size each (the last may be shorter), or of the sizes in
        a list (which must add up to the dim's size)."""
        d = _axis(dim, self.ndim, "split")
        n = self._data.shape[d]
        if isinstance(split_size_or_sections, (list, tuple)):
            sizes = [int(k) for k in split_size_or_sections]
            if sum(sizes) != n:
                raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} "
                                   f"(input tensor's size at dimension {d}), but got "
                                   f"split_sizes={sizes}")
            bounds, start = [], 0
            for k in sizes:
                bounds.append((start, start + k))
                start += k
            return self._pieces(d, bounds, "SplitWithSizesBackward0")
        step = int(split_size_or_sections)
        if step <= 0:
            raise RuntimeError(f"split expects split_size be non-negative, but got split_size="
                               f"{step}")
        return self._pieces(d, [(i, min(i + step, n)) for i in range(0, n, step)] or [(0, 0)],
                            "SplitBackward0")

    def _pieces(self, d, bounds, name):
        lead = (slice(None),) * d
        return tuple(_named(self[lead + (slice(a, b),)], name, self) for a, b in bounds)

    def tensor_split(self, indices_or_sections, dim=0):
        """numpy's array_split: n nearly equal pieces, or pieces between the given indices."""
        d = _axis(dim, self.ndim, "tensor_split")
        n = self._data.shape[d]
        if isinstance(indices_or_sections, (int, np.integer)):
            k = int(indices_or_sections)
            q, r = divmod(n, k)
            cuts = np.cumsum([0] + [q + 1] * r + [q] * (k - r))
        else:
            cuts = [0] + [min(int(i), n) for i in indices_or_sections] + [n]
        return self._pieces(d, list(zip(cuts[:-1], cuts[1:])), "SplitBackward0")

    def unbind(self, dim=0):
        """The slices along dim, that dim removed, as a tuple."""
        d = _axis(dim, self.ndim, "unbind")
        lead = (slice(None),) * d
        return tuple(_named(self[lead + (i,)], "UnbindBackward0", self)
                     for i in range(self._data.shape[d]))

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __contains__(self, element):
        if isinstance(element, (TensorAPI, numbers.Number)):
            return bool((self == element).any())
        raise RuntimeError(f"Tensor.__contains__ only supports Tensor or scalar, but you passed "
                           f"in a {type(element)}.")

    def narrow(self, dim, start, length):
        """length entries along dim from start (a view)."""
        d = _axis(dim, self.ndim, "narrow")
        n = self._data.shape[d]
        start = int(start) + (n if start < 0 else 0)
        if start < 0 or start + length > n:
            raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size "
                               f"({n}).")
        return self[(slice(None),) * d + (slice(start, start + length),)]

    def select(self, dim, index):
        """The slice at index along dim, that dim removed."""
        d = _axis(dim, self.ndim, "select")
        return self[(slice(None),) * d + (int(index),)]

    def index_select(self, dim, index):
        """The entries at `index` (a 1-D integer tensor) along dim."""
        d = _axis(dim, self.ndim, "index_select")
        if np.ndim(index._data if isinstance(index, Node) else index) > 1:
            raise IndexError("index_select(): Index is supposed to be a vector")
        out = self[(slice(None),) * d + (_flat_index(index, "index_select"),)]
        return _named(out, "IndexSelectBackward0", self)

    def gather(self, dim, index):
        """out[i][j][k] = self[i][index[i][j][k]][k] for dim = 1 (and so on): index has this
        tensor's ndim and picks along dim."""
        d = _axis(dim, self.ndim, "gather")
        idx = _index_array(index, "gather")
        if idx.ndim != self.ndim:
            raise RuntimeError("Index tensor must have the same number of dimensions as input "
                               "tensor")
        return _named(self[_grids(self._data.shape, d, idx)], "GatherBackward0", self)

    def take_along_dim(self, indices, dim=None):
        if dim is None:
            return self.reshape(-1)[_flat_index(indices, "take_along_dim")]
        return self.gather(dim, indices)

    def masked_select(self, mask):
        """The entries where mask (broadcast to this shape) is True, as a 1-D tensor."""
        if isinstance(mask, Node):
            _data_shaped(mask, "masked_select(mask)")
        m = np.broadcast_to(np.asarray(mask._data if isinstance(mask, Node) else mask,
                                       dtype=bool), self._data.shape)
        return _named(self[m], "MaskedSelectBackward0", self)

    def masked_fill(self, mask, value):
        """value where mask (broadcastable) is True, this tensor elsewhere."""
        m = np.asarray(mask._data if isinstance(mask, Node) else mask)
        if isinstance(mask, TensorAPI) and m.dtype != np.bool_:
            raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with "
                               f"dtype {mask.dtype}")
        m = np.broadcast_to(m.astype(bool), self._data.shape)
        if isinstance(mask, TensorAPI):
            # the tensor itself, an input of where (it broadcasts there): a compiled function
            # reads the mask at each call (an attention mask), not the trace's
            m = mask
        if isinstance(value, TensorAPI):
            if value.ndim:
                raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, "
                                   f"but got tensor with {value.ndim} dimension(s).")
            value = value.to(self.dtype)
        elif self._data.dtype.kind in "iub":
            value = self._kind._node(_dt.tensor_data([value], self.dtype)[0])
        return _named(self._kind_where(m, value), "MaskedFillBackward0", self)

    def _kind_where(self, mask, value):
        from .tensor import where
        return where(mask, value, self)

    def scatter_(self, dim, index, src=None, *, value=None, reduce=None):
        """self[..., index[i][j], ...] = src[i][j] along dim (a number src fills), in place."""
        if value is not None:
            src = value
        if reduce is not None:
            raise NotImplementedError("scatter_(reduce=...) is not supported; use "
                                      "scatter_add_ for 'add'")
        d = _axis(dim, self.ndim, "scatter_")
        idx = _index_array(index, "scatter_")
        where = _grids(self._data.shape, d, idx)
        if isinstance(src, TensorAPI) and src.ndim:
            src = src[tuple(slice(0, n) for n in idx.shape)]
        self[where] = src
        return self

    def scatter(self, dim, index, src=None, *, value=None, reduce=None):
        """scatter_ on a copy."""
        return self.clone().scatter_(dim, index, src, value=value, reduce=reduce)

    def scatter_add_(self, dim, index, src):
        """self[..., index[i][j], ...] += src[i][j] along dim (repeated indices add up), in
        place."""
        d = _axis(dim, self.ndim, "scatter_add_")
        idx = _index_array(index, "scatter_add_")
        where = _grids(self._data.shape, d, idx)
        part = src[tuple(slice(0, n) for n in idx.shape)] if isinstance(src, TensorAPI) \
            else self._kind(np.asarray(src))
        added = self._kind._apply(_SCATTER, (where, self._data.shape), part.to(self.dtype))
        return self.add_(added)

    def scatter_add(self, dim, index, src):
        return self.clone().scatter_add_(dim, index, src)

    def index_add_(self, dim, index, source, *, alpha=1):
        """self[..., index[i], ...] += alpha * source[..., i, ...] along dim, in place."""
        d = _axis(dim, self.ndim, "index_add_")
        idx = _flat_index(index, "index_add_")
        where = (slice(None),) * d + (idx,)
        src = source if alpha == 1 else source * alpha
        zeros_shape = self._data.shape
        added = self._kind._apply(_SCATTER, (where, zeros_shape), src.to(self.dtype))
        return self.add_(added)

    def index_add(self, dim, index, source, *, alpha=1):
        """index_add_ on a copy."""
        return self.clone().index_add_(dim, index, source, alpha=alpha)

    def flip(self, *dims):
        """The entries in reverse order along each of dims."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        axes = {_axis(d, self.ndim, "flip") for d in dims}
        index = tuple(slice(None, None, -1) if a in axes else slice(None)
                      for a in range(self.ndim))
        return _named(self[index], "FlipBackward0", self)

    def fliplr(self):
        return self.flip(1)

    def flipud(self):
        return self.flip(0)

    def roll(self, shifts, dims=None):
        """Entries shifted along dims (flattened first when dims is None), wrapping around."""
        if dims is None:
            return _named(self.reshape(-1).roll(shifts, 0).reshape(self.shape), "RollBackward0",
                          self)
        shifts = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
        dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
        if len(shifts) != len(dims):
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:"
                               f"{len(dims)}")
        index = [slice(None)] * self.ndim
        out = self
        for s, d in zip(shifts, dims):
            a = _axis(d, self.ndim, "roll")
            n = self._data.shape[a]
            index = [slice(None)] * self.ndim
            index[a] = (np.arange(n) - int(s)) % n if n else np.arange(0)
            out = out[tuple(index)]
        return _named(out, "RollBackward0", self)

    def repeat(self, *sizes):
        """The tensor tiled sizes[i] times along each dim (new leading dims where sizes is
        longer), as torch.repeat (numpy's tile)."""
        if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
            sizes = tuple(sizes[0])
        sizes = tuple(int(n) for n in sizes)
        if len(sizes) < self.ndim:
            raise RuntimeError("Number of dimensions of repeat dims can not be smaller than "
                               "number of dimensions of tensor")
        shape = (1,) * (len(sizes) - self.ndim) + self._data.shape
        # (1, n0, 1, n1, ...) broadcast to (r0, n0, r1, n1, ...), then merged pairwise
        paired = tuple(v for n in shape for v in (1, n))
        target = tuple(v for r, n in zip(sizes, shape) for v in (r, n))
        out = self.reshape(paired).expand(target).reshape(
            tuple(r * n for r, n in zip(sizes, shape)))
        return _named(out, "RepeatBackward0", self)

    def tile(self, *dims):
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        dims = (1,) * (self.ndim - len(dims)) + tuple(dims)
        return self.repeat(dims)

    def repeat_interleave(self, repeats, dim=None):
        """Each entry repeated `repeats` times in place (along dim; flattened if None)."""
        x = self.reshape(-1) if dim is None else self
        d = 0 if dim is None else _axis(dim, self.ndim, "repeat_interleave")
        if isinstance(repeats, Node):
            _data_shaped(repeats, "repeat_interleave(repeats tensor)")
        reps = _index_array(repeats, "repeat_interleave") if not isinstance(
            repeats, (int, np.integer)) else int(repeats)
        idx = np.repeat(np.arange(x._data.shape[d]), reps)
        return x[(slice(None),) * d + (idx,)]

    def diag(self, diagonal=0):
        """1-D: a square matrix with this vector on the given diagonal; 2-D: that diagonal."""
        k = int(diagonal)
        if self.ndim == 1:
            n = self._data.shape[0] + abs(k)
            rows = np.arange(self._data.shape[0]) + max(-k, 0)
            cols = np.arange(self._data.shape[0]) + max(k, 0)
            out = self._kind._apply(_SCATTER, ((rows, cols), (n, n)), self)
            return _named(out, "DiagEmbedBackward0", self)
        if self.ndim == 2:
            return _named(self.diagonal(k), "DiagonalBackward0", self)
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {self.ndim}D")

    def diagonal(self, offset=0, dim1=0, dim2=1):
        """The entries (i, i + offset) of the plane (dim1, dim2), as the last dim."""
        nd = self.ndim
        a, b = _axis(dim1, nd, "diagonal"), _axis(dim2, nd, "diagonal")
        n1, n2 = self._data.shape[a], self._data.shape[b]
        k = int(offset)
        length = max(0, min(n1 + min(k, 0), n2 - max(k, 0)))
        rows = np.arange(length) + max(-k, 0)
        cols = np.arange(length) + max(k, 0)
        rest = [i for i in range(nd) if i not in (a, b)]
        moved = self.permute(rest + [a, b])
        lead = (slice(None),) * len(rest)
        return _named(moved[lead + (rows, cols)], "DiagonalBackward0", self)

    def triu(self, diagonal=0):
        """The entries on and above the given diagonal of the last two dims, 0 below."""
        return self._triangle(np.triu, diagonal, "TriuBackward0")

    def tril(self, diagonal=0):
        """The entries on and below the given diagonal of the last two dims, 0 above."""
        return self._triangle(np.tril, diagonal, "TrilBackward0")

    def _triangle(self, fn, k, name):
        if self.ndim < 2:
            raise RuntimeError(f"{name[:4].lower()}: input tensor must have at least 2 "
                               f"dimensions")
        keep = fn(np.ones(self._data.shape[-2:], dtype=bool), int(k))
        zero = self._kind._node(np.zeros((), self._data.dtype))
        from .tensor import where
        return _named(where(keep, self, zero), name, self)

    # ------------------------------------------------------------------ products
    def dot(self, other):
        """The inner product of two 1-D tensors."""
        if self.ndim != 1 or getattr(other, "ndim", 0) != 1:
            raise RuntimeError(f"1D tensors expected, but got {self.ndim}D and "
                               f"{getattr(other, 'ndim', 0)}D tensors")
        return self @ other

    inner = dot

    def vdot(self, other):
        return self.dot(other)

    def mm(self, mat2):
        """The matrix product of two 2-D tensors."""
        if self.ndim != 2:
            raise RuntimeError("self must be a matrix")
        if getattr(mat2, "ndim", 0) != 2:
            raise RuntimeError("mat2 must be a matrix")
        if self._data.shape[1] != mat2._data.shape[0]:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                               f"({self._data.shape[0]}x{self._data.shape[1]} and "
                               f"{mat2._data.shape[0]}x{mat2._data.shape[1]})")
        return self @ mat2

    def mv(self, vec):
        """A 2-D tensor times a 1-D one."""
        if self.ndim != 2 or getattr(vec, "ndim", 0) != 1:
            raise RuntimeError("vector + matrix @ vector expected, got "
                               f"{self.ndim}, {getattr(vec, 'ndim', 0)}")
        return self @ vec

    def bmm(self, mat2):
        """Batched matrix products of two 3-D tensors (b, n, m) @ (b, m, p)."""
        if self.ndim != 3:
            raise RuntimeError("batch1 must be a 3D tensor")
        if getattr(mat2, "ndim", 0) != 3:
            raise RuntimeError("batch2 must be a 3D tensor")
        if self._data.shape[0] != mat2._data.shape[0]:
            raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                               f"[{self._data.shape[0]}, {self._data.shape[2]}] but got: "
                               f"[{mat2._data.shape[0]}, {mat2._data.shape[1]}].")
        return self @ mat2

    def outer(self, vec2):
        """a_i b_j: the outer product of two 1-D tensors."""
        if self.ndim != 1 or getattr(vec2, "ndim", 0) != 1:
            raise RuntimeError("outer: expected two 1-D tensors")
        return self.unsqueeze(1) * vec2

    ger = outer

    # ------------------------------------------------------------------ elementwise
    def _rounding(self, row, name, ctx=None):
        if self._data.dtype.kind in "iu":
            return _data_op(_copy, self)          # integers are already whole
        if self._data.dtype.kind == "b":
            _dt.unary_dtype(name, self.dtype)                # torch's error for bool
        return self._kind._apply(row, ctx, self)

    def floor(self):
        """The largest integer <= a; gradient 0."""
        return self._rounding(_FLOOR, "floor")

    def ceil(self):
        """The smallest integer >= a; gradient 0."""
        return self._rounding(_CEIL, "ceil")

    def trunc(self):
        """a rounded toward 0; gradient 0."""
        return self._rounding(_TRUNC, "trunc")

    fix = trunc

    def round(self, decimals=0):
        """a rounded to `decimals` places, halves to even (torch.round); gradient 0."""
        return self._rounding(_ROUND, "round", int(decimals))

    def frac(self):
        """a - trunc(a); gradient 1."""
        _dt.unary_dtype("frac", self.dtype)
        return _named(self - self.trunc(), "FracBackward0", self)

    def sign(self):
        """-1, 0 or 1; gradient 0."""
        if self._data.dtype.kind == "b":
            return _data_op(_copy, self)          # True stays True, as torch's
        if self._data.dtype.kind != "f":
            return _data_op(np.sign, self)
        return self._kind._apply(_SIGN, None, self)

    sgn = sign

    def _log_row(self, row, name):
        x = self if self._data.dtype.kind == "f" else self.to(_dt.unary_dtype(name, self.dtype))
        return self._kind._apply(row, None, x)

    def log2(self):
        """log base 2."""
        return self._log_row(_LOG2, "log2")

    def log10(self):
        """log base 10."""
        return self._log_row(_LOG10, "log10")

    def log1p(self):
        """ln(1 + a), exact near 0."""
        return self._log_row(_LOG1P, "log1p")

    def exp2(self):
        """2 ** a."""
        x = self if self._data.dtype.kind == "f" else self.to(_dt.unary_dtype("exp2", self.dtype))
        return _named(2.0 ** x, "Exp2Backward0", self)

    def rsqrt(self):
        """1 / sqrt(a)."""
        x = self if self._data.dtype.kind == "f" else self.to(_dt.unary_dtype("rsqrt",
                                                                            self.dtype))
        return _named(x ** -0.5, "RsqrtBackward0", self)

    def reciprocal(self):
        """1 / a."""
        x = self if self._data.dtype.kind == "f" else self.to(_dt.unary_dtype("reciprocal",
                                                                            self.dtype))
        return _named(x ** -1.0, "ReciprocalBackward0", self)

    def square(self):
        """a ** 2 (bool becomes int64, as torch)."""
        return self ** 2

    def neg(self):
        return -self

    negative = neg

    def positive(self):
        return self

    def __pos__(self):
        return self

    def pow(self, exponent):
        """self ** exponent."""
        return self ** exponent

    def float_power(self, exponent):
        return self.double() ** exponent

    def add(self, other, *, alpha=1):
        """self + alpha * other."""
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, other, *, alpha=1):
        """self - alpha * other."""
        return self - (other if alpha == 1 else other * alpha)

    subtract = sub

    def mul(self, other):
        return self * other

    multiply = mul

    def div(self, other, *, rounding_mode=None):
        """self / other (true division); rounding_mode 'trunc' or 'floor' rounds the quotient
        (a constant for integer tensors)."""
        if rounding_mode is None:
            return self / other
        if rounding_mode not in ("trunc", "floor"):
            raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or "
                               f"'floor' but found '{rounding_mode}'")
        if rounding_mode == "floor":
            return self // other
        from .tensor import _promoted_pair
        x, y = _promoted_pair("div_trunc", self, other)
        if x._data.dtype.kind in "iu":
            _check_values(_has_zero, _zero_division, y)
        return _data_op(_trunc_divide, x, y)

    divide = true_divide = div

    def __floordiv__(self, other):
        """floor(self / other), torch's floor_divide; not differentiable (a constant)."""
        from .tensor import _promoted_pair
        x, y = _promoted_pair("floor_divide", self, other)
        if x._data.dtype.kind in "iu":
            _check_values(_has_zero, _zero_division, y)
        return _data_op(_floor_divide, x, y)

    def __rfloordiv__(self, other):
        from .tensor import _promoted_pair
        x, y = _promoted_pair("floor_divide", other, self)
        return _data_op(_floor_divide, x, y)

    floor_divide = __floordiv__

    def remainder(self, other):
        """self - floor(self / other) * other (the sign of other, Python's %); gradients 1 and
        -floor(self / other)."""
        return _mod(self, other, "remainder", False)

    def fmod(self, other):
        """self - trunc(self / other) * other (the sign of self, C's fmod)."""
        return _mod(self, other, "fmod", False)

    def __mod__(self, other):
        return _mod(self, other, "remainder", False)

    def __rmod__(self, other):
        return _mod(self, other, "remainder", True)

    def clamp_min(self, min):
        return self.clamp(min=min)

    def clamp_max(self, max):
        return self.clamp(max=max)

    def nan_to_num(self, nan=0.0, posinf=None, neginf=None):
        """nan, +inf and -inf replaced by nan, posinf and neginf (by default 0 and the dtype's
        largest and lowest finite numbers); gradient 1 where a is finite, 0 where replaced."""
        d = self._data
        if d.dtype.kind != "f":
            return self.clone()
        info = np.finfo(d.dtype)
        # the replacements and the mask are ops: a compiled function replaces what each call
        # holds, not the trace's non-finite entries
        fill = _data_op(np.nan_to_num, self, nan=nan,
                        posinf=info.max if posinf is None else posinf,
                        neginf=info.min if neginf is None else neginf)
        from .tensor import where
        return _named(where(self.isfinite(), self, fill), "NanToNumBackward0", self)

    def lerp(self, end, weight):
        """self + weight * (end - self)."""
        return self + (end - self) * weight

    def addcmul(self, tensor1, tensor2, *, value=1):
        return self + value * tensor1 * tensor2

    def addcdiv(self, tensor1, tensor2, *, value=1):
        return self + value * tensor1 / tensor2

    def hardtanh(self, min_val=-1.0, max_val=1.0):
        return self.clamp(min_val, max_val)

    # in-place forms of the unary methods: computed, then written back (see Tensor._in_place)
    def _unary_(self, name, method, *args):
        return self._in_place(name, lambda a: getattr(a, method)(*args))

    def exp_(self):
        return self._unary_("exp_", "exp")

    def log_(self):
        return self._unary_("log_", "log")

    def sqrt_(self):
        return self._unary_("sqrt_", "sqrt")

    def abs_(self):
        return self._unary_("abs_", "abs")

    def sigmoid_(self):
        return self._unary_("sigmoid_", "sigmoid")

    def tanh_(self):
        return self._unary_("tanh_", "tanh")

    def relu_(self):
        """max(x, 0) written into x (see Tensor._in_place_row: the old value is not kept)."""
        return self._in_place_row("relu_", OPS["relu"], lambda a: a.relu())

    def floor_(self):
        return self._unary_("floor_", "floor")

    def ceil_(self):
        return self._unary_("ceil_", "ceil")

    def round_(self, decimals=0):
        return self._unary_("round_", "round", decimals)

    def trunc_(self):
        return self._unary_("trunc_", "trunc")

    def sign_(self):
        return self._unary_("sign_", "sign")

    def square_(self):
        return self._unary_("square_", "square")

    def reciprocal_(self):
        return self._unary_("reciprocal_", "reciprocal")

    def clamp_min_(self, min):
        return self.clamp_(min=min)

    def clamp_max_(self, max):
        return self.clamp_(max=max)

    def lerp_(self, end, weight):
        return self._in_place("lerp_", lambda a, b: a + (b - a) * weight, end)

    def addcmul_(self, tensor1, tensor2, *, value=1):
        return self._in_place("addcmul_", lambda a: a + value * tensor1 * tensor2)

    def addcdiv_(self, tensor1, tensor2, *, value=1):
        return self._in_place("addcdiv_", lambda a: a + value * tensor1 / tensor2)

    # random fills (autograd/random.py's kernels: torch's numbers for the same seed)
    def _fill_(self, name, fill, *args, generator=None):
        InPlace.changing(self)
        if STATE.grad_enabled and self.requires_grad and self._op is None:
            raise RuntimeError(f"a leaf Variable that requires grad is being used in an "
                               f"in-place operation ({name}); fill parameters inside "
                               f"`with no_grad():` (nn.init does)")
        fill(self._data, *args, generator=generator)
        InPlace.of(self).stamp()
        return self

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        """Samples of N(mean, std^2), in place."""
        from .random import _normal_fill
        return self._fill_("normal_", _normal_fill, mean, std, generator=generator)

    def uniform_(self, from_=0.0, to=1.0, *, generator=None):
        """Samples of U[from_, to), in place."""
        from .random import _uniform_fill
        return self._fill_("uniform_", _uniform_fill, from_, to, generator=generator)

    def exponential_(self, lambd=1.0, *, generator=None):
        from .random import _exponential_fill
        return self._fill_("exponential_", _exponential_fill, lambd, generator=generator)

    def random_(self, from_=None, to=None, *, generator=None):
        from .random import _random_fill
        return self._fill_("random_", _random_fill, from_, to, generator=generator)

    def bernoulli_(self, p=0.5, *, generator=None):
        from .random import _bernoulli_fill
        return self._fill_("bernoulli_", _bernoulli_fill, p, generator=generator)

    def bernoulli(self, p=None, *, generator=None):
        from .random import bernoulli
        return bernoulli(self, p, generator=generator)

    def multinomial(self, num_samples, replacement=False, *, generator=None):
        from .random import multinomial
        return multinomial(self, num_samples, replacement, generator=generator)

    # ------------------------------------------------------------------ comparisons (constants)
    def lt(self, other):
        return self < other

    def le(self, other):
        return self <= other

    def gt(self, other):
        return self > other

    def ge(self, other):
        return self >= other

    less, less_equal, greater, greater_equal = lt, le, gt, ge

    def not_equal(self, other):
        return self != other

    def equal(self, other):
        """True if other has this shape and the same values (a Python bool)."""
        o = other._data if isinstance(other, Node) else np.asarray(other)
        return self._data.shape == o.shape and bool(np.array_equal(self._data, o))

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        """|self - other| <= atol + rtol |other| everywhere (a Python bool)."""
        return bool(self.isclose(other, rtol, atol, equal_nan).all())

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        """|self - other| <= atol + rtol |other| elementwise, a bool tensor; infinities are
        close only to themselves."""
        from .tensor import _promoted_pair
        x, y = _promoted_pair("eq", self, other)
        if x._data.dtype.kind == "b":
            x, y = x.long(), y.long()
        return _data_op(_isclose, x, y, rtol=rtol, atol=atol, equal_nan=equal_nan)

    def isnan(self):
        return _data_op(np.isnan, self)

    def isinf(self):
        return _data_op(np.isinf, self)

    def isfinite(self):
        return _data_op(np.isfinite, self)

    def isposinf(self):
        return _data_op(np.isposinf, self)

    def isneginf(self):
        return _data_op(np.isneginf, self)

    def isreal(self):
        return _data_op(np.isreal, self)

    def logical_not(self):
        return _data_op(np.logical_not, self)

    def logical_and(self, other):
        return _data_op(np.logical_and, self, other)

    def logical_or(self, other):
        return _data_op(np.logical_or, self, other)

    def logical_xor(self, other):
        return _data_op(np.logical_xor, self, other)

    def bitwise_not(self):
        return ~self

    def bitwise_and(self, other):
        return self & other

    def bitwise_or(self, other):
        return self | other

    def bitwise_xor(self, other):
        return self ^ other

    # ------------------------------------------------------------------ reductions
    def prod(self, dim=None, keepdim=False, *, dtype=None):
        """The product over dim (every entry when None); integer and bool tensors give
        int64. Gradient: the product of the others, exact at zeros."""
        x = self._reduce_input("prod", dtype)
        axes = None if dim is None else (_axis(dim, self.ndim, "prod"),)
        return self._kind._apply(OPS["prod"], (axes, bool(keepdim)), x)

    def cumsum(self, dim, *, dtype=None):
        """The running sum along dim; integer and bool tensors give int64."""
        x = self._reduce_input("cumsum", dtype)
        if x.ndim == 0:
            return x.clone()
        return self._kind._apply(OPS["cumsum"], _axis(dim, x.ndim, "cumsum"), x)

    def cumprod(self, dim, *, dtype=None):
        """The running product along dim (constant unless it requires grad; then built from
        cumsum of logs where every entry is positive)."""
        x = self._reduce_input("cumprod", dtype)
        d = _axis(dim, x.ndim, "cumprod") if x.ndim else 0
        if not x.requires_grad:
            return _data_op(np.cumprod, x, axis=d) if x.ndim else _data_op(_copy, x)
        if np.all(x._data > 0):
            return _named(x.log().cumsum(d).exp(), "CumprodBackward0", self)
        # signs and zeros: one product per prefix (quadratic, exact)
        n = x._data.shape[d]
        lead = (slice(None),) * d
        pieces = [x[lead + (slice(0, i + 1),)].prod(d, keepdim=True) for i in range(n)]
        from .functional import concatenate
        return _named(concatenate(pieces, d), "CumprodBackward0", self)

    def _reduce_input(self, op, dtype):
        if dtype is None and self._data.dtype.kind == "f":
            return self
        d = _dt.reduction_dtype(op, self.dtype, dtype)
        return self if d._np == self._data.dtype else self.astype(d._np)

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        """The p-norm (sum |a|^p)^(1/p) over dim (every entry when None); p = 2 ('fro'),
        1, inf, -inf, 0 or any number. Gradient 0 where the norm is 0, as torch."""
        if dtype is not None:
            return self.to(dtype).norm(p, dim, keepdim)
        if p in ("fro", None):
            p = 2
        if p == "nuc":
            raise NotImplementedError("norm(p='nuc') (the nuclear norm) is not supported")
        _dt.reduction_dtype("norm", self.dtype)
        axes = dim
        if isinstance(dim, (int, np.integer)):
            axes = (dim,)
        return _named(_vector_norm(self, float(p), axes, keepdim), "LinalgVectorNormBackward0",
                      self)

    def count_nonzero(self, dim=None):
        """How many entries are not zero (along dim), int64."""
        axes = dim if dim is None or isinstance(dim, (tuple, list)) else (dim,)
        if axes is not None:
            axes = tuple(_axis(a, self.ndim, "count_nonzero") for a in axes)
        return _data_op(_count_nonzero, self, axis=axes)

    def nonzero(self, *, as_tuple=False):
        """The indices of the nonzero entries: an (n, ndim) int64 tensor, or with as_tuple a
        tuple of one 1-D tensor per dim."""
        _data_shaped(self, "nonzero()")
        idx = np.nonzero(self._data if self.ndim else self._data.reshape(1))
        if as_tuple:
            return tuple(self._kind._node(i.astype(np.int64)) for i in idx)
        return self._kind._node(np.stack(idx, axis=-1).astype(np.int64).reshape(-1, self.ndim))

    def argwhere(self):
        return self.nonzero()

    # The indices of argsort, sort, topk and kthvalue are ops of the numpy row (no gradient)
    # and the values are taken at them by an op: a compiled function sorts at each call
    def _sorted_indices(self, dim, descending, start=0, stop=None):
        """The indices that sort along dim, those from start to stop on that axis."""
        return _data_op(_sort_indices, self, dim=dim, descending=descending, start=start,
                        stop=stop)

    def argsort(self, dim=-1, descending=False, stable=False):
        """The indices that sort along dim (ties in their original order)."""
        if self.ndim:
            _axis(dim, self.ndim, "sort")
        return self._sorted_indices(dim, descending)

    def sort(self, dim=-1, descending=False, stable=False):
        """(values, indices) sorted along dim, as torch.return_types.sort; the values are
        differentiable (each gets the gradient of its place)."""
        idx = self.argsort(dim, descending)
        values = self._take(idx._data, dim)
        return _return_types.make("sort", _named(values, "SortBackward0", self), idx)

    def topk(self, k, dim=-1, largest=True, sorted=True):
        """The k largest (or smallest) entries along dim and their indices, largest first."""
        d = _axis(dim, self.ndim, "topk") if self.ndim else 0
        n = self._data.shape[d] if self.ndim else 1
        if not 0 <= k <= n:
            raise RuntimeError("selected index k out of range")
        idx = self._sorted_indices(d, largest, 0, k)
        values = self._take(idx._data, d)
        return _return_types.make("topk", _named(values, "TopkBackward0", self), idx)

    def kthvalue(self, k, dim=-1, keepdim=False):
        """The k-th smallest entry along dim (k from 1) and its index."""
        d = _axis(dim, self.ndim, "kthvalue") if self.ndim else 0
        pick = self._sorted_indices(d, False, k - 1, k)
        values = self._take(pick._data, d)
        if not keepdim and self.ndim:
            values, pick = values.squeeze(d), pick.squeeze(d)
        return _return_types.make("kthvalue", _named(values, "KthvalueBackward0", self), pick)

    def median(self, dim=None, keepdim=False):
        """median(): the lower of the two middle values (torch does not average them);
        median(dim): (values, indices) along dim."""
        if dim is None:
            flat = self.reshape(-1)
            n = flat._data.size
            if n == 0:
                return self._kind._node(np.asarray(np.nan, self._data.dtype))
            return _named(flat.kthvalue((n - 1) // 2 + 1, 0).values, "MedianBackward0", self)
        d = _axis(dim, self.ndim, "median") if self.ndim else 0
        n = self._data.shape[d] if self.ndim else 1
        out = self.kthvalue((n - 1) // 2 + 1, d, keepdim)
        return _return_types.make("median", _named(out.values, "MedianBackward1", self),
                                  out.indices)

    def _take(self, idx, dim):
        """self's entries at idx along dim (take_along_axis), differentiable."""
        if self.ndim == 0:
            return self.clone()
        d = _axis(dim, self.ndim, "take")
        return self[_grids(self._data.shape, d, idx)]

    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
        """The distinct values (sorted), with the inverse indices and counts if asked."""
        _data_shaped(self, "unique()")
        if dim is not None:
            raise NotImplementedError("unique(dim=...) is not supported")
        values, inverse, counts = np.unique(self._data, return_inverse=True, return_counts=True)
        out = [self._kind._node(values)]
        if return_inverse:
            out.append(self._kind._node(inverse.reshape(self._data.shape).astype(np.int64)))
        if return_counts:
            out.append(self._kind._node(counts.astype(np.int64)))
        return out[0] if len(out) == 1 else tuple(out)

    def bincount(self, weights=None, minlength=0):
        """How often each value 0, 1, ... occurs in this 1-D non-negative integer tensor
        (weighted sums with weights)."""
        if self.ndim != 1 or self._data.dtype.kind not in "iu":
            raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
        _data_shaped(self, "bincount()")
        w = None if weights is None else _raw(weights)
        out = np.bincount(self._data, weights=w, minlength=minlength)
        if w is None:
            out = out.astype(np.int64)
        elif isinstance(weights, TensorAPI) and weights._data.dtype == np.float32:
            out = out.astype(np.float32)
        return self._kind._node(out)

    def histc(self, bins=100, min=0, max=0):
        """A histogram of bins equal bins between min and max (the data's range when both are
        0); values outside are ignored."""
        return _data_op(_histogram, self, bins=bins, low=float(min), high=float(max))

    def aminmax(self, *, dim=None, keepdim=False):
        return _return_types.make("aminmax", self.amin(dim, keepdim), self.amax(dim, keepdim))

    def logcumsumexp(self, dim):
        return _more().logcumsumexp(self, dim)

    def nansum(self, dim=None, keepdim=False, *, dtype=None):
        from .tensor import where
        return where(self.isnan(), 0.0, self).sum(dim, keepdim, dtype=dtype)

    def nanmean(self, dim=None, keepdim=False, *, dtype=None):
        _dt.reduction_dtype("nanmean", self.dtype)
        count = _data_op(_count_not_nan, self, axis=dim, keepdims=keepdim)
        return self.nansum(dim, keepdim) / count

    def std_mean(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return (self.std(dim, unbiased, keepdim, correction=correction),
                self.mean(dim, keepdim))

    def var_mean(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return (self.var(dim, unbiased, keepdim, correction=correction),
                self.mean(dim, keepdim))

    def einsum(self, equation, *others):
        from .torch_functions import einsum
        return einsum(equation, self, *others)

    # torch's functions in torch_functions_more.py, as methods on their first argument
    def addmm(self, mat1, mat2, *, beta=1, alpha=1):
        return _more().addmm(self, mat1, mat2, beta=beta, alpha=alpha)

    def addmv(self, mat, vec, *, beta=1, alpha=1):
        return _more().addmv(self, mat, vec, beta=beta, alpha=alpha)

    def addr(self, vec1, vec2, *, beta=1, alpha=1):
        return _more().addr(self, vec1, vec2, beta=beta, alpha=alpha)

    def baddbmm(self, batch1, batch2, *, beta=1, alpha=1):
        return _more().baddbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def addbmm(self, batch1, batch2, *, beta=1, alpha=1):
        return _more().addbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def trace(self):
        return _more().trace(self)

    def logdet(self):
        return _more().logdet(self)

    def kron(self, other):
        return _more().kron(self, other)

    def rot90(self, k=1, dims=(0, 1)):
        return _more().rot90(self, k, dims)

    def cummax(self, dim):
        return _more().cummax(self, dim)

    def cummin(self, dim):
        return _more().cummin(self, dim)

    def logaddexp(self, other):
        return _more().logaddexp(self, other)

    def logaddexp2(self, other):
        return _more().logaddexp2(self, other)

    def hypot(self, other):
        return _more().hypot(self, other)

    def xlogy(self, other):
        return _more().xlogy(self, other)

    def heaviside(self, values):
        return _more().heaviside(self, values)

    def cov(self, *, correction=1, fweights=None, aweights=None):
        return _more().cov(self, correction=correction, fweights=fweights, aweights=aweights)

    def corrcoef(self):
        return _more().corrcoef(self)

    def diag_embed(self, offset=0, dim1=-2, dim2=-1):
        return _more().diag_embed(self, offset, dim1, dim2)

    def diagflat(self, offset=0):
        return _more().diagflat(self, offset)

    def renorm(self, p, dim, maxnorm):
        return _more().renorm(self, p, dim, maxnorm)

    def logit(self, eps=None):
        return _more().logit(self, eps)

    def sinc(self):
        return _more().sinc(self)

    def erfc(self):
        return _more().erfc(self)

    def histogram(self, bins, *, range=None, weight=None, density=False):
        return _more().histogram(self, bins, range=range, weight=weight, density=density)

    # their in-place forms: the result written into this tensor (_in_place: torch's checks on
    # leaves and dtypes, and the change recorded when something requires grad)
    def addmm_(self, mat1, mat2, *, beta=1, alpha=1):
        return self._in_place("addmm_", lambda a: _more().addmm(a, mat1, mat2, beta=beta,
                                                                 alpha=alpha))

    def addmv_(self, mat, vec, *, beta=1, alpha=1):
        return self._in_place("addmv_", lambda a: _more().addmv(a, mat, vec, beta=beta,
                                                                 alpha=alpha))

    def addr_(self, vec1, vec2, *, beta=1, alpha=1):
        return self._in_place("addr_", lambda a: _more().addr(a, vec1, vec2, beta=beta,
                                                               alpha=alpha))

    def baddbmm_(self, batch1, batch2, *, beta=1, alpha=1):
        return self._in_place("baddbmm_", lambda a: _more().baddbmm(a, batch1, batch2,
                                                                     beta=beta, alpha=alpha))

    def addbmm_(self, batch1, batch2, *, beta=1, alpha=1):
        return self._in_place("addbmm_", lambda a: _more().addbmm(a, batch1, batch2,
                                                                   beta=beta, alpha=alpha))

    def hypot_(self, other):
        return self._in_place("hypot_", lambda a: _more().hypot(a, other))

    def xlogy_(self, other):
        return self._in_place("xlogy_", lambda a: _more().xlogy(a, other))

    def logit_(self, eps=None):
        return self._in_place("logit_", lambda a: _more().logit(a, eps))

    def sinc_(self):
        return self._in_place("sinc_", lambda a: _more().sinc(a))

    def erfc_(self):
        return self._in_place("erfc_", lambda a: _more().erfc(a))

    def renorm_(self, p, dim, maxnorm):
        return self._in_place("renorm_", lambda a: _more().renorm(a, p, dim, maxnorm))

    def heaviside_(self, values):
        return self._in_place("heaviside_", lambda a: _more().heaviside(a, values))

    def apply_(self, callable):
        """callable applied to every entry, in place (torch's slow CPU-only apply_)."""
        InPlace.changing(self)
        flat = self._data.reshape(-1)
        for i, v in enumerate(flat.tolist()):
            flat[i] = callable(v)
        InPlace.of(self).stamp()
        return self

    def fill_diagonal_(self, fill_value, wrap=False):
        """fill_value on the main diagonal (entries with all indices equal), in place."""
        if self.ndim < 2:
            raise RuntimeError("dimensions must larger than 1")
        diagonal = np.zeros(self._data.shape, dtype=bool)
        np.fill_diagonal(diagonal, True, wrap=wrap)
        return self.masked_fill_(diagonal, fill_value)



def _more():
    """torch_functions_more, imported on first use (it imports this module)."""
    from . import torch_functions_more
    return torch_functions_more


def _is_dtype_name(s):
    """Whether a string given to to() is a dtype's name ('float32'), not a device's."""
    if not isinstance(s, str):
        return False
    try:
        _dt.as_dtype(s)
    except TypeError:
        return False
    return True


def _raw(x):
    return x._data if isinstance(x, Node) else np.asarray(x)


def _int_trunc_div(a, b):
    if np.any(b == 0):
        raise RuntimeError("ZeroDivisionError")
    q = np.abs(a) // np.abs(b)
    return np.where((a < 0) ^ (b < 0), -q, q)


def _mod(a, b, rule, reflected):
    """a % b (remainder: the sign of b) or fmod (the sign of a), through their rows."""
    from .tensor import _promoted_pair
    x, y = _promoted_pair(rule, b, a) if reflected else _promoted_pair(rule, a, b)
    if x._data.dtype.kind in "iu":
        _check_values(_has_zero, _zero_division, y)
    kind = type(x)._kind
    return kind._apply(OPS[rule], None, x, y)


def _sort_indices(a, dim, descending, start, stop):
    """The int64 indices that sort a along dim, from start to stop on that axis (a stable
    sort: ties in their original order, descending too)."""
    idx = _argsort(a, dim, descending, a.ndim)
    return idx[(slice(None),) * (dim % a.ndim) + (slice(start, stop),)] if a.ndim else idx


def _histogram(d, bins, low, high):
    """histc's counts: bins equal bins from low to high (d's range when both are 0)."""
    if low == high == 0 and d.size:
        low, high = float(d.min()), float(d.max())
    if low == high:
        low, high = low - 1, high + 1
    counts, _ = np.histogram(d, bins=bins, range=(low, high))
    return counts.astype(d.dtype if d.dtype.kind == "f" else np.float32)


def _data_shaped(t, what):
    """Inside a compiled function, refuse `what` on a value the program reads: its result's
    shape depends on the data, and a program's shapes are fixed by its trace."""
    if STATE.trace is not None and STATE.trace.reads(t):
        STATE.trace.refuse_data_shape(what)


def _trunc_divide(a, b):
    """a / b rounded toward 0, in a's dtype (C's integer division)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.trunc(np.true_divide(a, b)) if a.dtype.kind == "f" else _int_trunc_div(a, b)
    return np.asarray(q).astype(a.dtype, copy=False)


def _floor_divide(a, b):
    """floor(a / b) (Python's //); x / 0 is inf or nan for floats, without a warning."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.floor_divide(a, b))


def _isclose(a, b, rtol, atol, equal_nan):
    return np.asarray(np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def _count_not_nan(a, axis, keepdims):
    """How many entries are not nan (along axis), in a's dtype (nanmean's divisor)."""
    keep = ~np.isnan(a)
    return np.asarray(keep.sum(axis=axis, keepdims=keepdims) if axis is not None
                      else keep.sum(), dtype=a.dtype)


def _count_nonzero_as(a, axis, keepdims):
    """How many entries are not zero (along axis), in a's dtype (the 0-norm)."""
    return np.asarray((a != 0).sum(axis=axis, keepdims=keepdims), dtype=a.dtype)


def _count_nonzero(a, axis):
    """How many entries of a are not zero (along axis), int64."""
    return np.asarray(np.count_nonzero(a, axis=axis), dtype=np.int64)


def _argsort(arr, dim, descending, ndim):
    """Indices sorting arr along dim, ties kept in order (stable); descending keeps equal
    entries in their original order too."""
    if ndim == 0:
        return np.zeros((), dtype=np.int64)
    d = _axis(dim, ndim, "sort")
    if not descending:
        return np.argsort(arr, axis=d, kind="stable").astype(np.int64)
    if arr.dtype.kind == "f":
        key = -arr
    elif arr.dtype.kind == "b":
        key = ~arr
    else:
        key = -(arr.astype(np.int64)) if arr.dtype != np.int64 else np.iinfo(np.int64).max - arr
    return np.argsort(key, axis=d, kind="stable").astype(np.int64)


def _vector_norm(x, p, dim, keepdim):
    """||x||_p over dim, differentiable with gradient 0 where the norm is 0 (torch's
    convention; sqrt's derivative there is infinite)."""
    from .tensor import where
    if p == 2:
        s = (x * x).sum(dim, keepdim)
        zero = s == 0           # a recorded comparison, so that a compiled trace reads it anew
        return where(zero, 0.0, where(zero, 1.0, s).sqrt())
    a = x.abs()
    if p == 1:
        return a.sum(dim, keepdim)
    if p == math.inf:
        return a.amax(dim, keepdim)
    if p == -math.inf:
        return a.amin(dim, keepdim)
    if p == 0:
        return _data_op(_count_nonzero_as, x, axis=dim, keepdims=keepdim)
    s = (a ** p).sum(dim, keepdim)
    zero = s == 0
    return where(zero, 0.0, where(zero, 1.0, s) ** (1.0 / p))


def _only_inputs(inputs, take):
    """backward(inputs=...): only these tensors receive a gradient in .grad (leaves or not)."""
    if isinstance(inputs, Node):
        inputs = [inputs]
    inputs = list(inputs)
    if not inputs:
        raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    for i, x in enumerate(inputs):
        if not isinstance(x, Node) or not x.requires_grad:
            raise RuntimeError(f"One of the differentiated Tensors (input {i}) does not "
                               f"require grad")
    wanted = {id(x) for x in inputs}

    def take_inputs(node, g):
        if id(node) not in wanted:
            return
        keep = node._retains_grad
        node._retains_grad = True       # a non-leaf among inputs keeps its .grad too
        try:
            take(node, g)
        finally:
            node._retains_grad = keep
    take_inputs.inputs = wanted         # hooks run on the paths to these only
    return take_inputs

