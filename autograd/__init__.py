"""tapegrad's engine: a tape of recorded ops on scalars (`Value`) and arrays (`Tensor`).

    from autograd import Value
    x = Value(2.0, label="x")
    y = x * x + 3 * x
    y.backward()          # x.grad == 2 * 2 + 3 == 7

A program written for PyTorch finds here what it finds under `torch.` (and
`torch.autograd.`): `import autograd as torch` runs it, with `torch.nn` as `nn` and
`torch.optim` as `optim`. Tensors, dtypes, factories, devices, grad modes, Function.
"""
from .engine import detect_anomaly, fast_paths
from .grad_mode import (enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled,
                        no_grad, set_grad_enabled)
from .functional import (avg_pool2d, conv2d, log_softmax, logsumexp, max_pool2d, pad,
                         softmax)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .draw import draw_graph, render_svg
from .explore import explore
from .compile import compile
from .tape import Tape
from .ops import OPS
from .tensor import Tensor, get_default_dtype, set_default_dtype, where
from .value import Value
from . import random
from .random import (Generator, bernoulli, default_generator, get_rng_state, initial_seed,
                     manual_seed, multinomial, normal, poisson, rand, rand_like, randint,
                     randint_like, randn, randn_like, randperm, seed, set_rng_state)
from . import utils       # autograd.utils.data, as torch.utils.data

# ---- torch's namespace (issue 15) -------------------------------------------------------------
from . import dtypes, return_types
from .dtypes import (bool, can_cast, cdouble, cfloat, complex64, complex128, double, dtype,
                     finfo, float, float16, float32, float64, half, iinfo, int, int8, int16,
                     int32, int64, long, promote_types, short, uint8)
from .tensor_str import get_printoptions, printoptions, set_printoptions
from .size import Size
from .devices import DeviceError, accelerator, cuda, device
from . import backends    # the VJP backends; also torch.backends' mps and cudnn (devices.py)
from . import linalg
from .serialization import load, save
from .function import Function, FunctionCtx, InplaceFunction, once_differentiable
from .autograd_api import (Variable, backward, get_default_device, grad,
                           is_anomaly_check_nan_enabled, is_anomaly_enabled, set_default_device,
                           set_detect_anomaly)
from .factories import (arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like,
                        linspace, logspace, ones, ones_like, range_ as range, zeros, zeros_like)
from .torch_functions import *  # noqa: F401,F403  (torch.exp, torch.sum, torch.max, ...)
from .torch_functions import __all__ as _torch_functions
from .torch_functions_more import *  # noqa: F401,F403  (addmm, tensordot, kron, cummax, ...)
from .torch_functions_more import __all__ as _torch_functions_more
from . import special
from . import distributions    # torch.distributions: Normal, Categorical, kl_divergence...
from .factories import tensor  # noqa: E402  last: `autograd.tensor` is the function, as torch's

__all__ = (["Value", "Tensor", "OPS", "grad", "no_grad", "enable_grad", "is_grad_enabled",
            "set_grad_enabled", "inference_mode", "is_inference_mode_enabled",
            "detect_anomaly", "fast_paths", "set_default_dtype", "get_default_dtype", "where",
            "gradcheck", "gradgradcheck", "GradcheckError", "draw_graph", "render_svg",
            "explore", "compile", "Tape", "avg_pool2d",
            "cat", "concatenate", "conv2d", "log_softmax", "logsumexp", "max_pool2d", "maximum", "minimum", "pad", "softmax", "stack", "utils",
            "dtypes", "return_types", "dtype", "finfo", "iinfo", "promote_types", "can_cast",
            *dtypes.DTYPE_NAMES, "set_printoptions", "get_printoptions", "printoptions", "Size",
            "device", "DeviceError", "cuda", "backends", "linalg", "accelerator", "Function",
            "FunctionCtx", "InplaceFunction", "once_differentiable", "Variable", "backward",
            "set_detect_anomaly", "is_anomaly_enabled", "is_anomaly_check_nan_enabled",
            "get_default_device",
            "set_default_device", "save", "load", "tensor", "as_tensor", "from_numpy", "zeros", "ones", "empty",
            "full", "eye", "arange", "range", "linspace", "logspace", "zeros_like", "ones_like",
            "empty_like", "full_like", "distributions"]
           + random.__all__ + list(_torch_functions) + list(_torch_functions_more)
           + ["special"])
