"""More of torch's functions: the fused products (addmm, baddbmm, ...), tensordot, kron, trace,
rot90, logdet, the searches (searchsorted, bucketize), the combinatorics (cartesian_prod,
combinations, block_diag), running extrema (cummax, cummin) and logcumsumexp, the stable
two-argument functions (logaddexp, hypot, xlogy), cov and corrcoef, histogram, the index and
matrix builders, and the torch.special functions that are composites (special.py).

Every differentiable one is a composite of op-table rows (matmul, einsum, getitem, where...),
so its gradient, gradcheck and compiled form come from those rows; logdet and xlogy alone are
rows of their own (ops_torch.py): no composite of rows gives a determinant, and xlogy's
gradient in x is log y even where x = 0, which a where() composite would zero. The searches,
histogram and index builders return constants and take no gradient, as in torch.
"""
import builtins
import itertools
import math
import warnings

import numpy as np

from . import dtypes as _dt
from . import return_types as _return_types
from .grad_fn import named
from .ops import OPS
from .tensor import Tensor, where
from .tensor_api import _axis, _data_op
from .torch_functions import _input, _out, einsum, meshgrid


def _name(t):
    return t.dtype._scalar_name


def _check_matrix(t, what):
    if t.ndim != 2:
        raise RuntimeError(f"{what} must be a matrix, got {t.ndim}-D tensor")


def _scaled(x, factor, integral):
    """factor * x, skipped for factor 1; integer tensors take the factor truncated to an
    integer, as torch's add*mm kernels cast it."""
    if integral:
        factor = int(factor)
    return x if factor == 1 else x * factor


def _plus_scaled(input, product, beta, alpha):
    """beta * input + alpha * product, input broadcast to the product's shape (never the
    other way round: torch expands input). With beta 0 input is not read (a nan there does
    not reach the result), yet it still gets a zero gradient, as torch gives it."""
    integral = product._data.dtype.kind in "biu"
    out = _scaled(product, alpha, integral)
    expanded = input.expand(product.shape)
    if beta == 0 or (integral and int(beta) == 0):
        never = Tensor._node(np.zeros((), dtype=bool))
        return where(never, expanded, out)
    return _scaled(expanded, beta, integral) + out


def _same_dtypes(message, *tensors):
    if builtins.any(t._data.dtype != tensors[0]._data.dtype for t in tensors[1:]):
        raise RuntimeError(message)


def addmm(input, mat1, mat2, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * (mat1 @ mat2); input broadcast to (n, p). With beta = 0 input
    is ignored (nan and inf there do not propagate). All three of one dtype."""
    _input(input, "addmm")
    _check_matrix(mat1, "mat1")
    _check_matrix(mat2, "mat2")
    if mat1._data.shape[1] != mat2._data.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                           f"({mat1._data.shape[0]}x{mat1._data.shape[1]} and "
                           f"{mat2._data.shape[0]}x{mat2._data.shape[1]})")
    _same_dtypes(f"mat1 and mat2 must have the same dtype, but got {_name(mat1)} and "
                 f"{_name(mat2)}", mat1, mat2)
    _same_dtypes(f"self and mat2 must have the same dtype, but got {_name(input)} and "
                 f"{_name(mat2)}", input, mat2)
    result = _plus_scaled(input, mat1 @ mat2, beta, alpha)
    return _out(out, named(result, "AddmmBackward0", input, mat1, mat2), "addmm")


def addmv(input, mat, vec, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * (mat @ vec); input broadcast to (n,)."""
    _input(input, "addmv")
    if mat.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input.ndim}, {mat.ndim}, "
                           f"{vec.ndim}")
    n, m = mat._data.shape
    if vec._data.shape[0] != m or not (input.numel() == 1 or input._data.shape[-1:] == (n,)):
        raise RuntimeError(f"size mismatch, got input ({input._data.shape[0] if input.ndim else 1}"
                           f"), mat ({n}x{m}), vec ({vec._data.shape[0]})")
    _same_dtypes(f"addmv input tensors must have the same dtype, but got {_name(input)}, "
                 f"{_name(mat)}, and {_name(vec)}", input, mat, vec)
    result = _plus_scaled(input, mat @ vec, beta, alpha)
    return _out(out, named(result, "AddmvBackward0", input, mat, vec), "addmv")


def addr(input, vec1, vec2, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * outer(vec1, vec2), in the dtype the three promote to. For bool
    tensors + is or and * is and; integer tensors refuse a float beta or alpha."""
    _input(input, "addr")
    for name, v in (("vec1", vec1), ("vec2", vec2)):
        if v.ndim != 1:
            raise RuntimeError(f"addr: Expected 1-D argument {name}, but got {v.ndim}-D")
    d = _dt.result_type(input, vec1, vec2)
    if d._np.kind in "biu":
        for name, v in (("beta", beta), ("alpha", alpha)):
            if isinstance(v, float):
                raise RuntimeError(f"For integral input tensors, argument {name} must not be a "
                                   f"floating point number.")
    input, vec1, vec2 = (t if t._data.dtype == d._np else t.astype(d._np)
                         for t in (input, vec1, vec2))
    product = vec1.unsqueeze(1) * vec2.unsqueeze(0)
    if d._np.kind == "b":
        # torch's bool addr: beta and alpha as truth values, + as or
        keep_input = bool(beta) and bool(beta != 0)
        result = product & bool(alpha)
        result = (input.expand(product.shape) | result) if keep_input else result
    else:
        result = _plus_scaled(input, product, beta, alpha)
    return _out(out, named(result, "AddrBackward0", input, vec1, vec2), "addr")


def _check_batches(input, batch1, batch2):
    for name, b in (("batch1", batch1), ("batch2", batch2)):
        if b.ndim != 3:
            raise RuntimeError(f"{name} must be a 3D tensor")
    _same_dtypes(f"Input dtypes must be the same, got: input {_name(input).lower()}, batch1: "
                 f"{_name(batch1).lower()}, batch2: {_name(batch2).lower()}",
                 input, batch1, batch2)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * (batch1 @ batch2), one product per batch (b, n, m) @ (b, m, p);
    input broadcast to (b, n, p)."""
    _input(input, "baddbmm")
    _check_batches(input, batch1, batch2)
    b, n, m = batch1._data.shape
    if batch2._data.shape[:2] != (b, m):
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{b}, {m}] but got: [{batch2._data.shape[0]}, "
                           f"{batch2._data.shape[1]}].")
    result = _plus_scaled(input, batch1 @ batch2, beta, alpha)
    return _out(out, named(result, "BaddbmmBackward0", input, batch1, batch2), "baddbmm")


def addbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * sum_b batch1[b] @ batch2[b]: the batch products added up, one
    contraction (einsum 'bnm,bmp->np'); input broadcast to (n, p)."""
    _input(input, "addbmm")
    _check_batches(input, batch1, batch2)
    if batch1._data.shape[0] != batch2._data.shape[0]:
        raise RuntimeError(f"batch1 and batch2 must have same number of batches, got "
                           f"{batch1._data.shape[0]} and {batch2._data.shape[0]}")
    if batch1._data.shape[2] != batch2._data.shape[1]:
        raise RuntimeError(f"Incompatible matrix sizes for bmm ({batch1._data.shape[1]}x"
                           f"{batch1._data.shape[2]} and {batch2._data.shape[1]}x"
                           f"{batch2._data.shape[2]})")
    product = einsum("bnm,bmp->np", batch1, batch2)
    result = _plus_scaled(input, product, beta, alpha)
    return _out(out, named(result, "AddbmmBackward0", input, batch1, batch2), "addbmm")


def trace(input):
    """The sum of the main diagonal of a matrix; integer matrices give int64."""
    _input(input, "trace")
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    if input._data.dtype == np.bool_:
        raise NotImplementedError("\"trace\" not implemented for 'Bool'")
    return named(input.diagonal().sum(), "TraceBackward0", input)


def kron(input, other, *, out=None):
    """The Kronecker product: out[i0 * m0 + j0, ...] = input[i0, ...] * other[j0, ...], the
    shorter shape padded with leading 1s; dtypes promote as for *."""
    _input(input, "kron")
    nd = builtins.max(input.ndim, other.ndim)
    a_shape = (1,) * (nd - input.ndim) + input._data.shape
    b_shape = (1,) * (nd - other.ndim) + other._data.shape
    # a as (n0, 1, n1, 1, ...), b as (1, m0, 1, m1, ...): their product holds every pair
    a = input.reshape(tuple(v for n in a_shape for v in (n, 1)))
    b = other.reshape(tuple(v for m in b_shape for v in (1, m)))
    result = (a * b).reshape(tuple(n * m for n, m in zip(a_shape, b_shape)))
    return _out(out, named(result, "UnsafeViewBackward0", input, other), "kron")


def rot90(input, k=1, dims=(0, 1)):
    """The tensor rotated by k quarter turns in the plane dims, from the first axis towards
    the second (k < 0 the other way)."""
    _input(input, "rot90")
    dims = list(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input.ndim}")
    d0, d1 = (_axis(d, input.ndim, "rot90") for d in dims)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {dims[0]} "
                           f"and dim1 = {dims[1]}")
    k = k % 4
    if k == 0:
        result = input.clone()
    elif k == 1:
        result = input.flip(d1).transpose(d0, d1)
    elif k == 2:
        result = input.flip(d0, d1)
    else:
        result = input.flip(d0).transpose(d0, d1)
    return named(result, "Rot90Backward0", input)


def tensordot(a, b, dims=2, out=None):
    """Contract the last `dims` axes of a with the first `dims` of b, or the axis lists
    dims = (dims_a, dims_b) pairwise: one einsum, differentiable in both."""
    _input(a, "tensordot")
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, (int, np.integer)):
        n = int(dims)
        if n < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={n}")
        if n > a.ndim or n > b.ndim:
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={n}")
        dims_a, dims_b = list(range(a.ndim - n, a.ndim)), list(range(n))
    else:
        dims_a, dims_b = dims
        if isinstance(dims_a, int) or isinstance(dims_b, int):
            dims_a = [dims_a] if isinstance(dims_a, int) else list(dims_a)
            dims_b = [dims_b] if isinstance(dims_b, int) else list(dims_b)
        dims_a, dims_b = list(dims_a), list(dims_b)
    if len(dims_a) != len(dims_b):
        raise RuntimeError("both dimension lists should have same length")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError("both inputs should have same dtype")
    letters = iter("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    sub_a = [next(letters) for _ in range(a.ndim)]
    sub_b = [next(letters) for _ in range(b.ndim)]
    for da, db in zip(dims_a, dims_b):
        ia, ib = _axis(da, a.ndim, "tensordot"), _axis(db, b.ndim, "tensordot")
        if a._data.shape[ia] != b._data.shape[ib]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size "
                               f"{a._data.shape[ia]} in dim {da} and second has size "
                               f"{b._data.shape[ib]} in dim {db}")
        sub_b[ib] = sub_a[ia]
    contracted = {sub_a[_axis(d, a.ndim, "tensordot")] for d in dims_a}
    output = [c for c in sub_a if c not in contracted] + [c for c in sub_b
                                                          if c not in contracted]
    equation = f"{''.join(sub_a)},{''.join(sub_b)}->{''.join(output)}"
    return _out(out, named(einsum(equation, a, b), "ViewBackward0", a, b), "tensordot")


def logdet(input):
    """log det A of square matrices (batches allowed): nan where det < 0, -inf where det = 0.
    One row of the op table (ops_torch.py); d/dA = A^-T."""
    _input(input, "logdet")
    if input.ndim < 2:
        raise RuntimeError("logdet: The input tensor A must have at least 2 dimensions.")
    if input._data.shape[-1] != input._data.shape[-2]:
        raise RuntimeError(f"logdet: A must be batches of square matrices, but they are "
                           f"{input._data.shape[-2]} by {input._data.shape[-1]} matrices")
    if input._data.dtype.kind not in "fc":
        raise RuntimeError(f"logdet: Expected a floating point or complex tensor as input. "
                           f"Got {_name(input)}")
    # torch builds logdet from slogdet and a where: its grad_fn is WhereBackward0
    return named(Tensor._apply(OPS["logdet"], None, input), "WhereBackward0", input)


# ---------------------------------------------------------------------------------- searches
def _bound(boundaries, values, right, sorter):
    """The insertion index of each value in the sorted last axis of boundaries, by torch's
    binary search: left: the first i with not (b[i] < v) read as b[i] >= v; right: the first
    i with b[i] > v. A nan value compares false with everything, so it lands past the end
    (numpy's searchsorted would put it before the first nan). One vectorised bisection."""
    n = boundaries.shape[-1]
    lead = boundaries.shape[:-1]
    v = values.reshape(lead + (-1,)) if lead else values.reshape(1, -1)
    b = boundaries if lead else boundaries.reshape(1, n)
    order = None if sorter is None else (sorter if lead else sorter.reshape(1, n))
    lo = np.zeros(v.shape, np.int64)
    hi = np.full(v.shape, n, np.int64)
    while True:
        active = lo < hi
        if not active.any():
            break
        mid = (lo + hi) // 2
        at = np.minimum(mid, n - 1)
        if order is not None:
            at = np.take_along_axis(order, at, -1)
        bm = np.take_along_axis(b, at, -1)
        go_up = ~(bm > v) if right else ~(bm >= v)
        lo = np.where(active & go_up, mid + 1, lo)
        hi = np.where(active & ~go_up, mid, hi)
    return lo.reshape(values.shape)


def _search(boundaries, values, right, sorter, int32):
    out = _bound(boundaries, values, right, sorter)
    return out.astype(np.int32 if int32 else np.int64)


def _values_tensor(values):
    if isinstance(values, Tensor):
        return values
    return Tensor._node(np.asarray(values))


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None,
                 sorter=None, out=None):
    """For each value, the index where it would be inserted into sorted_sequence (along its
    last dim, the leading dims matching input's) to keep it sorted: the first place with
    sequence >= value (left), or > value (right, or side='right'). int64, or int32 with
    out_int32. No gradient: the result is an index."""
    _input(sorted_sequence, "searchsorted")
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but "
                               f"got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to "
                               "opposites, got side of left while right was True")
        right = side == "right"
    if sorted_sequence.ndim == 0:
        raise RuntimeError("torch.searchsorted(): boundaries tensor should have positive "
                           "dimension, but got 0 dimension")
    values = _values_tensor(input)
    lead = sorted_sequence._data.shape[:-1]
    if lead and (values.ndim != sorted_sequence.ndim or values._data.shape[:-1] != lead):
        raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or "
                           f"the first N-1 dimensions of boundaries tensor and input value "
                           f"tensor must match, but we got boundaries tensor "
                           f"{list(sorted_sequence._data.shape)} and input value tensor "
                           f"{list(values._data.shape)}")
    operands = [sorted_sequence, values] + ([] if sorter is None else [sorter])
    result = _data_op(_search_operands, *operands, right=bool(right),
                      has_sorter=sorter is not None, int32=bool(out_int32))
    return _out(out, result, "searchsorted")


def _search_operands(boundaries, values, *sorter, right, has_sorter, int32):
    return _search(boundaries, values, right, sorter[0] if has_sorter else None, int32)


def bucketize(input, boundaries, *, out_int32=False, right=False, out=None):
    """The bucket of each value among the 1-D sorted boundaries: searchsorted(boundaries,
    input) (right=False: boundaries[i-1] < x <= boundaries[i])."""
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    values = _values_tensor(input)
    result = _data_op(_search_operands, boundaries, values, right=bool(right),
                      has_sorter=False, int32=bool(out_int32))
    return _out(out, result, "bucketize")


# ------------------------------------------------------------------------------ combinatorics
def _vector(t):
    if t.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(t._data.shape)}")


def cartesian_prod(*tensors):
    """Every tuple (a_i, b_j, ...) of the 1-D tensors' entries, in row-major order, as the rows
    of an (N, k) tensor; one tensor is returned as it is. Differentiable (an index per
    column)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    for t in tensors:
        _vector(t)
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    if len(tensors) == 1:
        return tensors[0]
    if builtins.any(t._data.dtype != tensors[0]._data.dtype for t in tensors[1:]):
        raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    from .functional import stack
    grids = meshgrid(*tensors, indexing="ij")
    return stack([g.reshape(-1) for g in grids], 1)


def combinations(input, r=2, with_replacement=False):
    """Every r-subset of the 1-D tensor's entries (itertools.combinations order; with
    repetition with with_replacement), as the rows of an (N, r) tensor; r = 0 gives an empty
    1-D tensor. Differentiable (the entries are indexed)."""
    _input(input, "combinations")
    _vector(input)
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return input[np.zeros(0, np.int64)]
    pick = itertools.combinations_with_replacement if with_replacement else \
        itertools.combinations
    rows = np.array(list(pick(range(input._data.shape[0]), r)), np.int64).reshape(-1, r)
    return named(input[rows], "StackBackward0", input)


def block_diag(*tensors):
    """The tensors as the blocks of a block-diagonal matrix (a 0-D tensor is a 1x1 block, a
    1-D one a row), zeros elsewhere, in the dtype they all promote to. Differentiable: each
    block padded with zeros and the rows stacked."""
    for i, t in enumerate(tensors):
        if t.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer "
                               f"dimensions. Input {i} has {t.ndim} dimensions")
    if not tensors:
        return Tensor._node(np.zeros((1, 0), _dt.get_default_dtype()._np))
    d = tensors[0].dtype
    for t in tensors[1:]:
        d = _dt.promote_types(d, t.dtype)
    blocks = [t.reshape(1, -1) if t.ndim < 2 else t for t in tensors]
    blocks = [b if b._data.dtype == d._np else b.astype(d._np) for b in blocks]
    width = builtins.sum(b._data.shape[1] for b in blocks)
    from .functional import concatenate, pad
    rows, left = [], 0
    for b in blocks:
        n = b._data.shape[1]
        rows.append(pad(b, (left, width - left - n)))
        left += n
    return named(concatenate(rows, 0), "BlockDiagBackward0", *tensors)


# --------------------------------------------------------------------------- running extrema
def _running_index(a, axis, greater):
    """The index of the running max (or min) along axis: a new entry takes over when it is
    >= (<=) the running extreme or nan, and a nan keeps it until the next nan (torch's rule:
    ties go to the latest index)."""
    a = np.moveaxis(a, axis, -1)
    idx = np.zeros(a.shape, np.int64)
    best = a[..., 0].copy()
    where_best = np.zeros(a.shape[:-1], np.int64)
    for i in range(a.shape[-1]):
        x = a[..., i]
        with np.errstate(invalid="ignore"):
            wins = (x >= best) if greater else (x <= best)
        take = np.isnan(x) | (~np.isnan(best) & wins) if a.dtype.kind in "fc" else wins
        best = np.where(take, x, best)
        where_best = np.where(take, i, where_best)
        idx[..., i] = where_best
    return np.moveaxis(idx, -1, axis)


def _cumulative_extreme(input, dim, name, greater):
    _input(input, name)
    d = _axis(dim, input.ndim, name) if input.ndim else 0
    if input.ndim == 0 or input.numel() == 0:
        idx = Tensor._node(np.zeros(input._data.shape, np.int64))
        return _return_types.make(name, input.clone(), idx)
    idx = _data_op(_running_index, input, axis=d, greater=greater)
    values = input._take(idx._data, d)
    return _return_types.make(name, named(values, f"{name.capitalize()}Backward0", input), idx)


def cummax(input, dim):
    """(values, indices): the running maximum along dim and where it was reached (the latest
    index on ties; a nan carries on). The gradient of each value goes to its index."""
    return _cumulative_extreme(input, dim, "cummax", True)


def cummin(input, dim):
    """(values, indices): the running minimum along dim, as cummax."""
    return _cumulative_extreme(input, dim, "cummin", False)


# ------------------------------------------------------------------ two-argument functions
def _float_pair(fn, input, other, integers=True):
    """input and other as tensors of the float dtype they promote to. `other` must be a tensor
    unless integers (xlogy's rule: a number on either side); integer and bool dtypes become the
    default float when integers, else they are torch's NotImplementedError for the kernel."""
    if not integers:
        _input(input, fn)
        if not isinstance(other, Tensor):
            raise TypeError(f"{fn}(): argument 'other' (position 2) must be Tensor, not "
                            f"{type(other).__name__}")
    elif not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError(f"{fn}() received an invalid combination of arguments - got "
                        f"({type(input).__name__}, {type(other).__name__}), but expected one of:")
    d = _dt.result_type(input, other)
    if d._np.kind not in "fc":
        if not integers:
            raise NotImplementedError(f"\"{fn}_cpu\" not implemented for '{d._scalar_name}'")
        d = _dt._int_to_float(d)
    pair = []
    for x in (input, other):
        if not isinstance(x, Tensor):
            x = Tensor._node(np.asarray(x, dtype=d._np))
        pair.append(x if x._data.dtype == d._np else x.astype(d._np))
    return pair


def _finite_max(a, b):
    """max(a, b) where finite, else 0: the shift that keeps exp from overflowing, left out
    where it is infinite (inf - inf would make a nan of logaddexp(inf, inf))."""
    m = np.maximum(a, b)
    return np.where(np.isfinite(m), m, 0).astype(m.dtype)


def logaddexp(input, other, *, out=None):
    """log(e^a + e^b), computed as m + log(e^(a-m) + e^(b-m)) with m = max(a, b) (a constant:
    the gradient e^a / (e^a + e^b) comes out the same), so that 1000 and 1000 give 1000.69.
    Both -inf give -inf; floats only."""
    a, b = _float_pair("logaddexp", input, other, integers=False)
    m = _data_op(_finite_max, a, b)
    result = m + ((a - m).exp() + (b - m).exp()).log()
    return _out(out, named(result, "LogaddexpBackward0", a, b), "logaddexp")


def logaddexp2(input, other, *, out=None):
    """log2(2^a + 2^b), shifted by max(a, b) as logaddexp."""
    a, b = _float_pair("logaddexp2", input, other, integers=False)
    m = _data_op(_finite_max, a, b)
    result = m + ((a - m).exp2() + (b - m).exp2()).log2()
    return _out(out, named(result, "Logaddexp2Backward0", a, b), "logaddexp2")


def _hypot_scale(a, b):
    """max(|a|, |b|), or 1 where that is 0 or not finite: dividing by it keeps a^2 + b^2 from
    overflowing (1e200 in float64)."""
    m = np.maximum(np.abs(a), np.abs(b))
    return np.where((m > 0) & np.isfinite(m), m, 1).astype(m.dtype)


def _either_inf(a, b):
    return np.isinf(a) | np.isinf(b)


def hypot(input, other, *, out=None):
    """sqrt(a^2 + b^2) without overflow: s sqrt((a/s)^2 + (b/s)^2), s = max(|a|, |b|) held
    constant (the function is homogeneous, so the gradient a / hypot is exact); inf wherever
    either is infinite, even beside a nan (C's hypot). Gradient nan at (0, 0), as torch."""
    a, b = _float_pair("hypot", input, other, integers=False)
    s = _data_op(_hypot_scale, a, b)
    x, y = a / s, b / s
    result = s * (x * x + y * y).sqrt()
    inf = Tensor._node(np.asarray(np.inf, dtype=result._data.dtype))
    result = where(_data_op(_either_inf, a, b), inf, result)
    return _out(out, named(result, "HypotBackward0", a, b), "hypot")


def _zero_and_number(x, y):
    return (x == 0) & ~np.isnan(y)


def xlogy(input, other, *, out=None):
    """x log y, 0 where x = 0 (unless y is nan); either may be a number; integers give the
    default float. A row of the op table (ops_torch.py), for torch's gradients: log y in x
    (0 where x = 0 and y <= 0), x / y in y (nan at x = y = 0)."""
    x, y = _float_pair("xlogy", input, other)
    return _out(out, named(Tensor._apply(OPS["xlogy"], None, x, y), "XlogyBackward0", x, y),
                "xlogy")


def _heaviside(x, values):
    return np.where(x == 0, values, (x > 0).astype(x.dtype)).astype(x.dtype)


def heaviside(input, values, *, out=None):
    """0 where input < 0, values where input == 0, 1 where input > 0 (nan stays nan). No
    gradient (torch defines none); input and values of one dtype."""
    _input(input, "heaviside")
    if not isinstance(values, Tensor):
        raise TypeError(f"heaviside(): argument 'values' (position 2) must be Tensor, not "
                        f"{type(values).__name__}")
    if input._data.dtype != values._data.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different "
                           "dtypes.")
    return _out(out, _data_op(_heaviside, input, values), "heaviside")


# ------------------------------------------------------------------------- cov and corrcoef
def cov(input, *, correction=1, fweights=None, aweights=None):
    """The covariance matrix of the variables in input's rows (observations in columns; a 1-D
    input is one variable): sum_k w_k (x_ik - mean_i)(x_jk - mean_j) / (W - correction),
    weights w = fweights * aweights (1 when absent), W their sum. Differentiable."""
    _input(input, "cov")
    if input.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an "
                           f"input with {input.ndim} dimensions")
    x = input.reshape(1, -1) if input.ndim < 2 else input
    if x._data.dtype.kind not in "fc":
        x = x.astype(_dt.get_default_dtype()._np)
    n = x._data.shape[1]
    w = None
    for name, weights in (("fweights", fweights), ("aweights", aweights)):
        if weights is None:
            continue
        if weights.ndim > 1:
            raise RuntimeError(f"cov(): expected {name} to have one or fewer dimensions but "
                               f"got {name} with {weights.ndim} dimensions")
        if weights.numel() != n:
            raise RuntimeError(f"cov(): expected {name} to have the same numel as there are "
                               f"observations in the input but got {weights.numel()} != {n}")
        integral = weights._data.dtype.kind in "biu"
        if integral != (name == "fweights"):
            kind = "integral" if name == "fweights" else "floating point"
            raise RuntimeError(f"cov(): expected {name} to have {kind} dtype but got {name} "
                               f"with {_name(weights)} dtype")
        if np.any(weights._data < 0):
            raise RuntimeError(f"cov(): {name} cannot be negative")
        w = weights if w is None else w * weights
    if w is None:
        w_sum = n
        mean = x.mean(1, keepdim=True)
        norm = n - correction
    else:
        w_sum = w.sum()
        mean = (x * w).sum(1, keepdim=True) / w_sum
        if correction == 0:
            norm = w_sum
        elif aweights is None:
            norm = w_sum - correction
        else:
            norm = w_sum - correction * (w * aweights).sum() / w_sum
    if (norm._data <= 0 if isinstance(norm, Tensor) else norm <= 0):
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less "
                      "than the number of observations.", UserWarning, stacklevel=2)
    xm = x - mean
    weighted = xm if w is None else xm * w
    c = (weighted @ xm.mT) / _clamped(norm)
    return named(c.squeeze() if input.ndim < 2 or x._data.shape[0] == 1 else c,
                 "SqueezeBackward0", input)


def _clamped(norm):
    """The normaliser, 0 where it is negative (torch warns and clamps: the result is then
    inf or nan)."""
    if isinstance(norm, Tensor):
        return norm.clamp_min(0)
    return builtins.max(norm, 0)


def corrcoef(input):
    """Pearson's correlation coefficients of the variables in input's rows: cov_ij /
    sqrt(cov_ii cov_jj), clipped to [-1, 1]. Differentiable."""
    c = cov(input)
    if c.ndim == 0:
        return named(c / c, "DivBackward0", input)
    std = c.diagonal().sqrt()
    c = c / std.unsqueeze(1) / std.unsqueeze(0)
    return named(c.clamp(-1, 1), "ClampBackward1", input)


# ------------------------------------------------------------------- diagonals and indices
def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """A tensor one dim larger whose (dim1, dim2) planes hold input's last dim on the given
    diagonal, zeros elsewhere (the inverse of diagonal). Differentiable (a scatter)."""
    _input(input, "diag_embed")
    nd = input.ndim + 1
    a, b = _axis(dim1, nd, "diag_embed"), _axis(dim2, nd, "diag_embed")
    if a == b:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    k = int(offset)
    n = input._data.shape[-1] + abs(k)
    lead = input._data.shape[:-1]
    m = input._data.shape[-1]
    rows = np.arange(m) + builtins.max(-k, 0)
    cols = np.arange(m) + builtins.max(k, 0)
    # the batch dims first and the plane last, then moved to (dim1, dim2)
    index = (Ellipsis, rows, cols)
    planes = Tensor._apply(OPS["scatter"], (index, lead + (n, n)), input)
    rest = [i for i in range(nd) if i not in (a, b)]
    order = [0] * nd
    for src, dst in enumerate(rest + [a, b]):
        order[dst] = src
    return named(planes.permute(order), "DiagEmbedBackward0", input)


def diagflat(input, offset=0):
    """input flattened, on the given diagonal of a square matrix."""
    _input(input, "diagflat")
    return named(input.reshape(-1).diag(offset), "DiagEmbedBackward0", input)


def _triangle_indices(row, col, offset, dtype, fn, lower):
    for name, v in (("row", row), ("col", col)):
        if v < 0:
            raise RuntimeError(f"{name} must be non-negative, got{v}")
    d = _dt.as_dtype(dtype) if dtype is not None else _dt.int64
    if d._np.kind not in "iu":
        raise NotImplementedError(f"\"{fn}\" not implemented for '{d._scalar_name}'")
    pick = np.tril if lower else np.triu
    r, c = np.nonzero(pick(np.ones((row, col), bool), offset))
    return Tensor._node(np.stack([r, c]).astype(d._np).reshape(2, -1))


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """The (2, N) indices of the entries on and below diagonal `offset` of a row x col
    matrix, row by row."""
    return _triangle_indices(row, col, offset, dtype, "tril_indices", True)


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """The (2, N) indices of the entries on and above diagonal `offset`, row by row."""
    return _triangle_indices(row, col, offset, dtype, "triu_indices", False)


def vander(x, N=None, increasing=False):
    """The Vandermonde matrix: column j holds x ** (N - 1 - j) (x ** j when increasing); N
    defaults to len(x). Bool and integer x give int64. Differentiable (a product of
    cumulative copies: column j is column j - 1 times x)."""
    _input(x, "vander")
    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x._data.shape[0] if N is None else int(N)
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    if x._data.dtype.kind in "biu":
        x = x.astype(np.int64)
    if n == 0:
        return Tensor._node(np.zeros((x._data.shape[0], 0), x._data.dtype))
    columns = [x.new_ones(x._data.shape)]
    for _ in range(n - 1):
        columns.append(columns[-1] * x)
    from .functional import stack
    if increasing:
        return stack(columns, 1)
    return named(stack(columns[::-1], 1), "FlipBackward0", x)


def _multi_dot(tensors):
    """The product of the matrices left to right (the first may be a row vector, the last a
    column vector)."""
    if not tensors:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    for i, t in enumerate(tensors):
        if t._data.dtype != tensors[0]._data.dtype:
            raise RuntimeError(f"multi_dot(): all tensors must have be the same dtype but "
                               f"tensor 0 is {_name(tensors[0]).lower()} and tensor {i} "
                               f"{_name(t).lower()}")
    result = tensors[0]
    for i, t in enumerate(tensors[1:], 1):
        if result._data.shape[-1] != t._data.shape[0]:
            a, b = tensors[i - 1], t
            raise RuntimeError(f"multi_dot(): tensors {i - 1} and {i} with shapes "
                               f"{list(a._data.shape)} and {list(b._data.shape)} cannot be "
                               f"multiplied")
        result = result @ t
    return result


def chain_matmul(*matrices, out=None):
    """The product of 2-D matrices left to right (deprecated in torch, as linalg.multi_dot)."""
    if len(matrices) == 1 and isinstance(matrices[0], (list, tuple)):
        matrices = tuple(matrices[0])
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    warnings.warn("torch.chain_matmul is deprecated and will be removed in a future PyTorch "
                  "release. Use torch.linalg.multi_dot instead, which accepts a list of two or "
                  "more tensors rather than multiple parameters.", UserWarning, stacklevel=2)
    for t in matrices:
        if t.ndim != 2:
            raise RuntimeError(f"Tensor dimension is {t.ndim}, expected 2 instead.")
    if len(matrices) == 1:
        return _out(out, matrices[0].clone(), "chain_matmul")
    return _out(out, _multi_dot(list(matrices)), "chain_matmul")


def multi_dot(tensors, *, out=None):
    """linalg.multi_dot: the product of two or more matrices left to right; the first may be
    1-D (a row vector) and the last 1-D (a column vector)."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    if tensors[0].ndim not in (1, 2):
        raise RuntimeError(f"multi_dot(): the first tensor must be 1D or 2D but got "
                           f"{tensors[0].ndim}D")
    if tensors[-1].ndim not in (1, 2):
        raise RuntimeError(f"multi_dot(): the last tensor must be 1D or 2D but got "
                           f"{tensors[-1].ndim}D")
    for i, t in enumerate(tensors[1:-1], 1):
        if t.ndim != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {t.ndim}D")
    return _out(out, _multi_dot(tensors), "multi_dot")


def renorm(input, p, dim, maxnorm, *, out=None):
    """Each slice input.select(dim, i) whose p-norm exceeds maxnorm scaled down to norm
    maxnorm (by maxnorm / (norm + 1e-7), torch's factor); the others unchanged.
    Differentiable, the factor included."""
    _input(input, "renorm")
    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    if input.ndim <= 1:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {input.ndim} "
                           f"dimensions")
    d = _axis(dim, input.ndim, "renorm")
    others = tuple(i for i in range(input.ndim) if i != d)
    norm = input.norm(p, others, keepdim=True)
    one = Tensor._node(np.ones((), input._data.dtype))
    # the mask an op of the numpy row, so that a compiled renorm tests each call's norms
    factor = where(_data_op(np.greater, norm, maxnorm), maxnorm / (norm + 1e-7), one)
    return _out(out, named(input * factor, "RenormBackward0", input), "renorm")


# ------------------------------------------------------------------------------ logcumsumexp
_LCSE_BLOCK = 128


def logcumsumexp(input, dim, *, out=None):
    """out_i = log sum_{j <= i} e^(x_j) along dim, without overflow or underflow: within blocks
    of 128 entries each prefix is a logsumexp row over a masked copy (x_j, -inf past i), and
    each block starts from the last result of the one before through logaddexp. Memory 128
    times the input's; the gradient softmax-weighted, as torch's."""
    _input(input, "logcumsumexp")
    if input._data.dtype.kind not in "fc":
        raise NotImplementedError(f"\"logcumsumexp_out_cpu\" not implemented for "
                                  f"'{_name(input)}'")
    if input.ndim == 0:
        return _out(out, input.clone(), "logcumsumexp")
    d = _axis(dim, input.ndim, "logcumsumexp")
    x = input.movedim(d, -1)
    n = x._data.shape[-1]
    if n == 0:
        return _out(out, input.clone(), "logcumsumexp")
    minus_inf = _const(-np.inf, x)
    pieces, carry = [], None
    for start in range(0, n, _LCSE_BLOCK):
        block = x[..., start:start + _LCSE_BLOCK]
        b = block._data.shape[-1]
        # row i of the grid holds the block's x_0..x_i and -inf after
        grid = where(np.tril(np.ones((b, b), dtype=bool)), block.unsqueeze(-2), minus_inf)
        local = grid.logsumexp(-1)
        if carry is not None:
            local = logaddexp(local, carry)
        pieces.append(local)
        carry = local[..., -1:]
    from .functional import concatenate
    result = concatenate(pieces, -1) if len(pieces) > 1 else pieces[0]
    return _out(out, named(result.movedim(-1, d), "LogcumsumexpBackward0", input),
                "logcumsumexp")


# --------------------------------------------------------------------------------- histogram
def histogram(input, bins, *, range=None, weight=None, density=False, out=None):
    """(hist, bin_edges): how many entries (or how much weight) fall in each bin. bins an int
    (that many equal bins from min to max of input, or over range; a single value v gives
    [v - 0.5, v + 0.5]) or a 1-D tensor of increasing edges. Bin i holds edges[i] <= x <
    edges[i + 1], the last bin its right edge too; entries outside are left out. density:
    hist / (total * bin width). Float tensors only; no gradient."""
    _input(input, "histogram")
    if out is not None:
        raise NotImplementedError("histogram(out=...) is not supported")
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f"\"histogramdd\" not implemented for '{_name(input)}'")
    x = input._data.reshape(-1)
    if weight is not None and weight._data.size != x.size:
        raise RuntimeError(f"torch.histogramdd: if weight tensor is provided it should have "
                           f"the same shape as the input tensor excluding its innermost "
                           f"dimension, but got input with shape {[x.size, 1]} and weight with "
                           f"shape {list(weight._data.shape)}")
    if isinstance(bins, Tensor):
        edges = bins._data.astype(x.dtype)
    else:
        if bins <= 0:
            raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for "
                               f"dimension 0")
        if range is not None:
            low, high = float(range[0]), float(range[1])
        elif x.size:
            low, high = float(x.min()), float(x.max())
        else:
            low, high = 0.0, 1.0
        if low > high:
            raise RuntimeError(f"torch.histogramdd: min should not exceed max, but got min "
                               f"{low:g} max {high:g} for dimension 0")
        if not (math.isfinite(low) and math.isfinite(high)):
            raise RuntimeError(f"torch.histogramdd: dimension 0's range [{low:g}, {high:g}] is "
                               f"not finite")
        if low == high:
            low, high = low - 0.5, high + 0.5
        from .factories import _linspace
        edges = _linspace(low, high, int(bins) + 1, input.dtype)
    n = builtins.max(edges.size - 1, 0)
    w = None if weight is None else weight._data.reshape(-1)
    inside = (x >= edges[0]) & (x <= edges[-1]) if edges.size else np.zeros(x.shape, bool)
    index = np.minimum(np.searchsorted(edges, x[inside], side="right") - 1, n - 1)
    hist = np.bincount(index, weights=None if w is None else w[inside], minlength=n)[:n]
    hist = hist.astype(x.dtype)
    if density:
        with np.errstate(divide="ignore", invalid="ignore"):
            hist = (hist / (hist.sum() * np.diff(edges))).astype(x.dtype)
    return _return_types.make("histogram", Tensor._node(hist), Tensor._node(edges.copy()))


# ----------------------------------------------------------------- special-function helpers
def _as_float(input, fn):
    """input in the default float dtype when it is bool or integer (torch's unary float ops)."""
    _input(input, fn)
    if input._data.dtype.kind in "fc":
        return input
    return input.astype(_dt.get_default_dtype()._np)


def _const(value, like):
    return Tensor._node(np.asarray(value, dtype=like._data.dtype))


def logit(input, eps=None, *, out=None):
    """log(p / (1 - p)), p clamped to [eps, 1 - eps] when eps is given (then the gradient is 0
    outside); inf at 1, -inf at 0, nan outside [0, 1]."""
    p = _as_float(input, "logit")
    if eps is not None:
        p = p.clamp(eps, 1 - eps)
    return _out(out, named(p.log() - (1 - p).log(), "LogitBackward0", input), "logit")


def sinc(input, *, out=None):
    """sin(pi x) / (pi x), 1 at x = 0 (gradient 0 there). The division is done on x with its
    zeros replaced by 1, so the branch where() leaves out holds no 0 / 0 whose nan would reach
    the gradient."""
    x = _as_float(input, "sinc")
    zero = _data_op(np.equal, x, 0)
    safe = where(zero, _const(1, x), x)
    pix = safe * math.pi
    return _out(out, named(where(zero, _const(1, x), pix.sin() / pix), "SincBackward0", input),
                "sinc")


def erfc(input, *, out=None):
    """1 - erf(x)."""
    x = _as_float(input, "erfc")
    return _out(out, named(1 - x.erf(), "ErfcBackward0", input), "erfc")


def entr(input, *, out=None):
    """-x ln x for x > 0, 0 at 0, -inf for x < 0, nan for nan. Gradient -(1 + ln x) for x > 0
    (0 at x = 0 and below, where torch's formula gives inf and nan)."""
    x = _as_float(input, "entr")
    positive = _data_op(np.greater, x, 0)
    safe = where(positive, x, _const(1, x))
    rest = where(_data_op(np.equal, x, 0), _const(0, x),
                 where(_data_op(np.less, x, 0), _const(-np.inf, x), x))
    return _out(out, named(where(positive, -(safe * safe.log()), rest), "SpecialEntrBackward0",
                           input), "entr")


def _log1p_where_finite(y):
    """log(1 + y) where y > -1 and finite, else 0 (a number x = 0 can multiply to 0)."""
    keep = (y > -1) & np.isfinite(y)
    return np.where(keep, np.log1p(np.where(keep, y, 0)), 0).astype(y.dtype)


def xlog1py(input, other, *, out=None):
    """x log(1 + y), 0 where x = 0 (unless y is nan); as xlogy. Where x = 0 the value is
    x * c with c = log(1 + y) held constant (0 for y <= -1), so the gradient in x there is
    torch's log(1 + y), not the 0 a plain where() would give."""
    x, y = _float_pair("xlog1py", input, other)
    zero = _data_op(_zero_and_number, x, y)
    at_zero = x * _data_op(_log1p_where_finite, y)
    # y replaced by 0 where x = 0 in the other branch: its 0 * log(1 + y) would send 0 * -inf,
    # a nan, to x's gradient at y = -1
    safe_y = where(zero, _const(0, y), y)
    result = where(zero, at_zero, x * safe_y.log1p())
    return _out(out, named(result, "SpecialXlog1PyBackward0", x, y), "xlog1py")


def ndtr(input, *, out=None):
    """The standard normal CDF, (1 + erf(x / sqrt 2)) / 2."""
    x = _as_float(input, "ndtr")
    return _out(out, named((1 + (x * (0.5 ** 0.5)).erf()) * 0.5, "MulBackward1", input),
                "ndtr")


__all__ = ["addmm", "addmv", "addr", "baddbmm", "addbmm", "trace", "kron", "rot90",
           "tensordot", "logdet", "searchsorted", "bucketize", "cartesian_prod", "combinations",
           "block_diag", "cummax", "cummin", "logaddexp", "logaddexp2", "hypot", "xlogy",
           "heaviside", "cov", "corrcoef", "diag_embed", "diagflat", "tril_indices",
           "triu_indices", "vander", "chain_matmul", "renorm", "logit", "sinc", "erfc",
           "histogram", "logcumsumexp"]
