"""torch.special: the functions of it that are composites of tapegrad's rows.

    autograd.special.expit(x)        # sigmoid
    autograd.special.xlogy(x, y)     # x log y, 0 where x = 0

Not here (no row computes them): the gamma family (gammaln, digamma, polygamma, multigammaln,
gammainc), erfinv, ndtri, log_ndtr, the Bessel functions and the orthogonal polynomials.
"""
from .torch_functions import (exp2, expm1, log1p, log_softmax, logsumexp, round, sigmoid,
                              softmax)
from .torch_functions import erf
from .torch_functions_more import entr, erfc, logit, ndtr, sinc, xlog1py, xlogy

expit = sigmoid

__all__ = ["entr", "erf", "erfc", "exp2", "expit", "expm1", "log1p", "log_softmax", "logit",
           "logsumexp", "ndtr", "round", "sinc", "softmax", "xlog1py", "xlogy"]
