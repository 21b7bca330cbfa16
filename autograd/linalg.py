"""torch.linalg: solve, inv, norms (what courses call; the rest of torch.linalg is not here).

`autograd.linalg.solve(A, b)` is a row of the op table (autograd/ops_torch.py), so it is
differentiable in A and b and gradchecked like every row.
"""
import numpy as np

from .ops import OPS
from .tensor import Tensor


def _square(a, fn):
    if not isinstance(a, Tensor):
        raise TypeError(f"linalg.{fn}(): argument 'A' (position 1) must be Tensor, not "
                        f"{type(a).__name__}")
    if a.ndim < 2 or a._data.shape[-1] != a._data.shape[-2]:
        raise RuntimeError(f"linalg.{fn}: A must be batches of square matrices, but they are "
                           f"{a._data.shape[-2] if a.ndim > 1 else 1} by "
                           f"{a._data.shape[-1] if a.ndim else 1} matrices")


def solve(A, B, *, left=True, out=None):
    """X with A X = B (B a vector or a matrix, batches allowed); differentiable in both."""
    if not left:
        raise NotImplementedError("linalg.solve(left=False) is not supported")
    _square(A, "solve")
    if not isinstance(B, Tensor):
        B = Tensor(np.asarray(B, dtype=A._data.dtype))
    if A._data.dtype != B._data.dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found "
                           f"A of type {A.dtype._scalar_name} and B of type "
                           f"{B.dtype._scalar_name} instead.")
    n = A._data.shape[-1]
    rows = B._data.shape[-1] if B.ndim == A.ndim - 1 else B._data.shape[-2]
    if rows != n:
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation "
                           f"AX = B ({n}x{n} and {list(B._data.shape)})")
    try:
        return Tensor._apply(OPS["solve"], None, A, B)
    except np.linalg.LinAlgError:
        raise RuntimeError("linalg.solve: The solver failed because the input matrix is "
                           "singular.") from None


def inv(A, *, out=None):
    """A^-1, as solve(A, I): differentiable."""
    _square(A, "inv")
    eye = Tensor._node(np.broadcast_to(np.eye(A._data.shape[-1], dtype=A._data.dtype),
                                       A._data.shape).copy())
    return solve(A, eye)


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """(sum |x|^ord)^(1 / ord) over dim (every entry when None)."""
    return x.norm(ord, dim, keepdim, dtype=dtype)


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """The 2-norm of a vector, the Frobenius norm of a matrix (ord None), or vector_norm with
    ord over dim; matrix ords other than 'fro' are not supported."""
    if ord in (None, "fro"):
        return A.norm(2, dim, keepdim, dtype=dtype)
    if isinstance(ord, str):
        raise NotImplementedError(f"linalg.norm(ord={ord!r}) is not supported")
    if dim is None and A.ndim == 2:
        raise NotImplementedError("linalg.norm: matrix norms other than 'fro' are not "
                                  "supported; give dim for a vector norm")
    return A.norm(ord, dim, keepdim, dtype=dtype)


def multi_dot(tensors, *, out=None):
    """The product of two or more matrices left to right; the first may be a row vector (1-D)
    and the last a column vector (1-D)."""
    from .torch_functions_more import multi_dot as _multi_dot
    return _multi_dot(tensors, out=out)


__all__ = ["solve", "inv", "vector_norm", "norm", "multi_dot"]
