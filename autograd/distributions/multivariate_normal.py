"""MultivariateNormal(loc, covariance_matrix= | precision_matrix= | scale_tril=)."""
import math

import numpy as np

from .. import linalg
from ..factories import arange, eye
from ..size import Size
from ..tensor_api import _check_values
from ..functional import stack
from ..torch_functions import broadcast_shapes
from . import constraints
from .distribution import Distribution
from .utils import lazy_property

__all__ = ["MultivariateNormal"]


# ---------------------------------------------------------------------------------------------
# the linear algebra, composed from differentiable ops
def _first_failure(a):
    """(batch index, order of the first leading minor that is not positive-definite) of the
    first matrix of a (..., n, n) whose Cholesky factorization fails, or None."""
    flat = a.reshape(-1, *a.shape[-2:])
    for b, m in enumerate(flat):
        if np.isfinite(m).all():
            try:
                np.linalg.cholesky(m)
                continue
            except np.linalg.LinAlgError:
                pass
        for k in range(1, m.shape[-1] + 1):
            lead = m[:k, :k]
            if not np.isfinite(lead).all():
                return b, k
            try:
                np.linalg.cholesky(lead)
            except np.linalg.LinAlgError:
                return b, k
    return None


def _not_positive_definite(a):
    return _first_failure(a) is not None


def _cholesky_error(a):
    b, k = _first_failure(a)
    batch = f"(Batch element {b}): " if a.ndim > 2 else ""
    return RuntimeError(f"linalg.cholesky: {batch}The factorization could not be completed "
                        f"because the input is not positive-definite (the leading minor of "
                        f"order {k} is not positive-definite).")


def _cholesky(a):
    """L, lower triangular with a positive diagonal, such that L L^T = a. Column j, from the
    columns before it: v = a[:, j] - L[:, :j] L[j, :j]^T, L[:, j] = v / sqrt(v[j]) on rows
    >= j, 0 above. n steps of ops the engine differentiates; torch's RuntimeError for a
    matrix that is not positive-definite (a check that a compiled function makes at each
    call). The factor is that of (a + a^T) / 2, which is a itself when a is symmetric: so
    the gradient is symmetric, as torch's cholesky backward makes it (torch factors the lower
    triangle of a non-symmetric a, which validation refuses)."""
    _check_values(_not_positive_definite, _cholesky_error, a)
    a = 0.5 * (a + a.mT)
    n = a.shape[-1]
    rows = arange(n)
    cols = []
    for j in range(n):
        v = a[..., :, j]
        if j:
            done = stack(cols, -1)                                  # (..., n, j)
            v = v - (done @ done[..., j, :].unsqueeze(-1)).squeeze(-1)
        below = (rows >= j).to(a.dtype)
        # rows above j hold finite numbers that the mask zeroes, with their gradients
        cols.append(v / v[..., j:j + 1].sqrt() * below)
    return stack(cols, -1)


def _solve_lower(L, b):
    """L^-1 b, L broadcast to b's batch dims (b (..., n, k)). As torch's solve_triangular,
    it reads the lower triangle of L only, so L's upper triangle gets no gradient."""
    shape = broadcast_shapes(L.shape[:-2], b.shape[:-2])
    n = L.shape[-1]
    return linalg.solve(L.tril().expand(shape + (n, n)), b.expand(shape + b.shape[-2:]))


def _batch_mv(bmat, bvec):
    """bmat @ bvec over batches of matrices and vectors."""
    return (bmat @ bvec.unsqueeze(-1)).squeeze(-1)


def _batch_mahalanobis(bL, bx):
    """|L^-1 x|^2 for the batches of lower triangular L and of vectors x, of x's batch
    shape: the squared Mahalanobis distance of x for the covariance L L^T."""
    return _solve_lower(bL, bx.unsqueeze(-1)).squeeze(-1).pow(2).sum(-1)


def _precision_to_scale_tril(P):
    """The Cholesky factor of P^-1, from the factor of P with its rows and columns reversed
    (torch's way: one factorization, one triangular solve)."""
    Lf = _cholesky(P.flip((-2, -1)))
    L_inv = Lf.flip((-2, -1)).transpose(-2, -1)
    Id = eye(P.shape[-1], dtype=P.dtype)
    return _solve_lower(L_inv, Id)


class MultivariateNormal(Distribution):
    """N(loc, Sigma) over vectors of length n (event_shape (n,)), Sigma given as
    covariance_matrix, precision_matrix (Sigma^-1) or scale_tril (L, Sigma = L L^T); the
    others are made on first use.

    rsample = loc + L eps, eps ~ N(0, I) drawn as torch draws it;
    log_prob(x) = -1/2 (n log(2 pi) + |L^-1 (x - loc)|^2) - sum log diag L;
    entropy = n/2 (1 + log(2 pi)) + sum log diag L.
    """
    arg_constraints = {"loc": constraints.real_vector,
                       "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite,
                       "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None):
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        if ((covariance_matrix is not None) + (scale_tril is not None)
                + (precision_matrix is not None)) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or "
                             "scale_tril may be specified.")
        if scale_tril is not None:
            if scale_tril.dim() < 2:
                raise ValueError("scale_tril matrix must be at least two-dimensional, with "
                                 "optional leading batch dimensions")
            batch_shape = broadcast_shapes(scale_tril.shape[:-2], loc.shape[:-1])
            self.scale_tril = scale_tril.expand(batch_shape + (-1, -1))
        elif covariance_matrix is not None:
            if covariance_matrix.dim() < 2:
                raise ValueError("covariance_matrix must be at least two-dimensional, with "
                                 "optional leading batch dimensions")
            batch_shape = broadcast_shapes(covariance_matrix.shape[:-2], loc.shape[:-1])
            self.covariance_matrix = covariance_matrix.expand(batch_shape + (-1, -1))
        else:
            if precision_matrix.dim() < 2:
                raise ValueError("precision_matrix must be at least two-dimensional, with "
                                 "optional leading batch dimensions")
            batch_shape = broadcast_shapes(precision_matrix.shape[:-2], loc.shape[:-1])
            self.precision_matrix = precision_matrix.expand(batch_shape + (-1, -1))
        self.loc = loc.expand(batch_shape + (-1,))
        event_shape = self.loc.shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = _cholesky(covariance_matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(precision_matrix)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(MultivariateNormal, _instance)
        batch_shape = Size(batch_shape)
        loc_shape = batch_shape + self.event_shape
        cov_shape = batch_shape + self.event_shape + self.event_shape
        new.loc = self.loc.expand(loc_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, getattr(self, name).expand(cov_shape))
        super(MultivariateNormal, new).__init__(batch_shape, self.event_shape,
                                                validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _matrix_shape(self):
        return self._batch_shape + self._event_shape + self._event_shape

    @lazy_property
    def scale_tril(self):
        return self._unbroadcasted_scale_tril.expand(self._matrix_shape())

    @lazy_property
    def covariance_matrix(self):
        L = self._unbroadcasted_scale_tril
        return (L @ L.mT).expand(self._matrix_shape())

    @lazy_property
    def precision_matrix(self):
        # (L L^T)^-1 = L^-T L^-1 (torch.cholesky_inverse)
        L = self._unbroadcasted_scale_tril
        L_inv = _solve_lower(L, eye(L.shape[-1], dtype=L.dtype))
        return (L_inv.mT @ L_inv).expand(self._matrix_shape())

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return self._unbroadcasted_scale_tril.pow(2).sum(-1).expand(
            self._batch_shape + self._event_shape)

    def rsample(self, sample_shape=Size()):
        from ..random import randn
        shape = self._extended_shape(sample_shape)
        eps = randn(shape, dtype=self.loc.dtype)    # an op: compiled code draws at each call
        return self.loc + _batch_mv(self._unbroadcasted_scale_tril, eps)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        diff = value - self.loc
        M = _batch_mahalanobis(self._unbroadcasted_scale_tril, diff)
        half_log_det = self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + M) - half_log_det

    def entropy(self):
        half_log_det = self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        H = 0.5 * self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + half_log_det
        if len(self._batch_shape) == 0:
            return H
        return H.expand(self._batch_shape)
