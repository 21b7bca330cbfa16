"""The op table: every differentiable primitive, defined once.

`OPS` maps each name to its row (`Op`): the forward on floats and on arrays, one VJP per input,
the domains its tests sample, its maths as text. The rows live in three files by what they
work on; this module collects them:

    ops_elementwise.py  add mul pow exp log tanh sigmoid relu leaky_relu sqrt abs sin cos
                        (Value and Tensor)
    ops_tensor.py       matmul linear sum reshape transpose broadcast_to where getitem scatter
                        astype clip maximum minimum amax amin logsumexp log_softmax
                        concatenate pad im2col col2im conv2d max_pool2d avg_pool2d
    ops_nn.py           cross_entropy binary_cross_entropy lstm_c lstm_h lstm_layer
    ops_more.py         erf expm1 (for GELU and the ELU family)
    ops_torch.py        log2 log10 log1p sign floor ceil trunc round prod cumsum einsum
                        remainder fmod solve logdet xlogy (for torch programs)

Everything else (subtraction, division, softmax, mean, var, the other losses, the layers) is
composed from these rows and defines no backward of its own.
"""
from . import ops_elementwise, ops_more, ops_nn, ops_tensor, ops_torch
from .backends import ARRAY, GRAPH, SCALAR
from .fast import SparseGrad
from .optable import POSITIVE, REAL, Domain, Op, PerInput

OPS = {op.name: op for op in (ops_elementwise.ROWS + ops_tensor.ROWS + ops_nn.ROWS
                              + ops_more.ROWS + ops_torch.ROWS)}

ELEMENTWISE = tuple(op.name for op in ops_elementwise.ROWS)

__all__ = ["OPS", "ELEMENTWISE", "Op", "Domain", "REAL", "POSITIVE", "PerInput", "SparseGrad",
           "SCALAR", "ARRAY", "GRAPH"]
