"""`Distribution`, the base of every distribution (torch.distributions.Distribution).

A distribution has a batch_shape (independent distributions side by side, one per parameter
entry) and an event_shape (the shape of one draw: () for Normal, (K,) for OneHotCategorical).
sample(sample_shape) has shape sample_shape + batch_shape + event_shape and no graph;
rsample(sample_shape), where has_rsample, is a differentiable function of the parameters
(the reparameterization trick). log_prob(value) has value's batch shape.

Validation, on by default as in torch (Distribution.set_default_validate_args, or
validate_args= per instance): parameters outside their constraint and log_prob values outside
the support raise torch's ValueError. The checks are ops, so a compiled function checks each
call's values too.
"""
import warnings

import numpy as np

from ..size import Size
from ..tensor import Tensor
from ..tensor_api import _check_values
from . import constraints
from .utils import lazy_property

__all__ = ["Distribution"]


class _ConstraintError(ValueError):
    """torch's ValueError for a value outside a constraint. A subclass, so that the engine
    lets it through as it is from inside a compiled program (it wraps a plain ValueError of a
    forward in a shape message); it prints as ValueError."""


_ConstraintError.__name__ = _ConstraintError.__qualname__ = "ValueError"
_ConstraintError.__module__ = "builtins"


def _require(valid, value, message):
    """Raise ValueError(message + str(value)) unless every entry of the bool tensor valid is
    True. A check of the numpy row: a compiled call raises as eager code does."""
    def invalid(ok, v):
        return not bool(np.all(ok))

    def error(ok, v):
        shown = value if v is value._data else Tensor(v)
        return _ConstraintError(message + str(shown))
    _check_values(invalid, error, valid, value)


class Distribution:
    """The abstract base: batch_shape, event_shape, sample, rsample, log_prob, entropy,
    mean, mode, variance, stddev, and argument validation."""
    has_rsample = False
    has_enumerate_support = False
    _validate_args = __debug__

    @staticmethod
    def set_default_validate_args(value):
        """Turn validation on or off for every distribution made afterwards without
        validate_args= (on by default, off under python -O, as assert statements)."""
        if value not in [True, False]:
            raise ValueError
        Distribution._validate_args = value

    def __init__(self, batch_shape=Size(), event_shape=Size(), validate_args=None):
        self._batch_shape = Size(batch_shape)
        self._event_shape = Size(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            try:
                arg_constraints = self.arg_constraints
            except NotImplementedError:
                arg_constraints = {}
                warnings.warn(f"{self.__class__} does not define `arg_constraints`. Please set "
                              f"`arg_constraints = {{}}` or initialize the distribution with "
                              f"`validate_args=False` to turn off validation.", stacklevel=2)
            for param, constraint in arg_constraints.items():
                if constraints.is_dependent(constraint):
                    continue
                if param not in self.__dict__ and isinstance(getattr(type(self), param),
                                                             lazy_property):
                    continue        # probs of a Categorical made from logits: not made yet
                value = getattr(self, param)
                _require(constraint.check(value), value,
                         f"Expected parameter {param} ({type(value).__name__} of shape "
                         f"{tuple(value.shape)}) of distribution {self!r} to satisfy the "
                         f"constraint {constraint!r}, but found invalid values:\n")
        super().__init__()

    def expand(self, batch_shape, _instance=None):
        """A distribution with batch dims broadcast to batch_shape (parameters expanded)."""
        raise NotImplementedError

    @property
    def batch_shape(self):
        """The shape over which the parameters are batched."""
        return self._batch_shape

    @property
    def event_shape(self):
        """The shape of a single sample (without batching)."""
        return self._event_shape

    @property
    def arg_constraints(self):
        """A dict from parameter names to the constraints they must satisfy."""
        raise NotImplementedError

    @property
    def support(self):
        """The constraint the samples satisfy."""
        raise NotImplementedError

    @property
    def mean(self):
        raise NotImplementedError(f"{self.__class__} does not implement mean")

    @property
    def mode(self):
        raise NotImplementedError(f"{self.__class__} does not implement mode")

    @property
    def variance(self):
        raise NotImplementedError(f"{self.__class__} does not implement variance")

    @property
    def stddev(self):
        """sqrt(variance)."""
        return self.variance.sqrt()

    def sample(self, sample_shape=Size()):
        """A sample of shape sample_shape + batch_shape + event_shape, without a graph:
        rsample's draw under no_grad where there is one."""
        from ..grad_mode import no_grad
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=Size()):
        """A reparameterized sample: a differentiable function of the parameters."""
        raise NotImplementedError

    def sample_n(self, n):
        """sample((n,)), with torch's FutureWarning."""
        warnings.warn("`sample_n(n)` will be deprecated. Use `sample((n,))` instead.",
                      FutureWarning, stacklevel=2)
        return self.sample(Size((n,)))

    def log_prob(self, value):
        """log p(value), of value's batch shape."""
        raise NotImplementedError

    def cdf(self, value):
        raise NotImplementedError

    def icdf(self, value):
        raise NotImplementedError

    def enumerate_support(self, expand=True):
        raise NotImplementedError

    def entropy(self):
        """-E[log p(x)], of batch_shape."""
        raise NotImplementedError

    def perplexity(self):
        """exp(entropy)."""
        return self.entropy().exp()

    def _extended_shape(self, sample_shape=Size()):
        """sample_shape + batch_shape + event_shape, the shape of sample(sample_shape)."""
        if not isinstance(sample_shape, Size):
            sample_shape = Size(sample_shape)
        return Size(sample_shape + self._batch_shape + self._event_shape)

    def _validate_sample(self, value):
        """torch's checks of a value given to log_prob: a Tensor, whose rightmost dims are
        event_shape, broadcastable with batch_shape + event_shape, inside the support."""
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        event_dim_start = len(value.size()) - len(self._event_shape)
        if value.size()[event_dim_start:] != self._event_shape:
            raise ValueError(f"The right-most size of value must match event_shape: "
                             f"{value.size()} vs {self._event_shape}.")
        actual_shape = value.size()
        expected_shape = self._batch_shape + self._event_shape
        for i, j in zip(reversed(actual_shape), reversed(expected_shape)):
            if i != 1 and j != 1 and i != j:
                raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: "
                                 f"{actual_shape} vs {expected_shape}.")
        try:
            support = self.support
        except NotImplementedError:
            warnings.warn(f"{self.__class__} does not define `support` to enable sample "
                          f"validation. Please initialize the distribution with "
                          f"`validate_args=False` to turn off validation.", stacklevel=2)
            return
        _require(support.check(value), value,
                 f"Expected value argument ({type(value).__name__} of shape "
                 f"{tuple(value.shape)}) to be within the support ({support!r}) of the "
                 f"distribution {self!r}, but found invalid values:\n")

    def _get_checked_instance(self, cls, _instance=None):
        if _instance is None and type(self).__init__ != cls.__init__:
            raise NotImplementedError(f"Subclass {self.__class__.__name__} of {cls.__name__} "
                                      f"that defines a custom __init__ method must also "
                                      f"define a custom .expand() method.")
        return self.__new__(type(self)) if _instance is None else _instance

    def __repr__(self):
        param_names = [k for k in self.arg_constraints if k in self.__dict__]
        args_string = ", ".join(
            f"{p}: {self.__dict__[p] if self.__dict__[p].numel() == 1 else self.__dict__[p].size()}"
            for p in param_names)
        return self.__class__.__name__ + "(" + args_string + ")"
