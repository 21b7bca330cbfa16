"""tapegrad's engine: a tape of recorded ops on scalars (`Value`) and arrays (`Tensor`).

    from autograd import Value
    x = Value(2.0, label="x")
    y = x * x + 3 * x
    y.backward()          # x.grad == 2 * 2 + 3 == 7
"""
from .engine import detect_anomaly, enable_grad, fast_paths, grad, is_grad_enabled, no_grad
from .functional import (avg_pool2d, cat, concatenate, conv2d, log_softmax, logsumexp,
                         max_pool2d, maximum, minimum, pad, softmax, stack)
from .gradcheck import gradcheck
from .draw import draw_graph, render_svg
from .explore import explore
from .compile import compile
from .tape import Tape
from .ops import OPS
from .tensor import Tensor, get_default_dtype, set_default_dtype, where
from .value import Value
from . import random
from .random import (Generator, bernoulli, default_generator, get_rng_state, initial_seed,
                     manual_seed, multinomial, normal, rand, rand_like, randint, randint_like,
                     randn, randn_like, randperm, seed, set_rng_state)
from . import utils       # autograd.utils._data, as torch.utils._data

__all__ = ["Value", "Tensor", "OPS", "grad", "no_grad", "enable_grad", "is_grad_enabled",
           "detect_anomaly", "fast_paths", "set_default_dtype", "get_default_dtype", "where",
           "gradcheck", "draw_graph", "render_svg", "explore", "compile", "Tape", "avg_pool2d", "cat",
           "concatenate", "conv2d",
           "log_softmax", "logsumexp", "max_pool2d", "maximum", "minimum", "pad", "softmax",
           "stack", "utils"] + random.__all__
