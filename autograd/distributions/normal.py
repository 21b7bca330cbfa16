"""Normal(loc, scale): the Gaussian N(loc, scale^2), reparameterizable."""
import math
import numbers

from ..grad_mode import no_grad
from ..random import randn
from ..size import Size
from . import constraints
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["Normal"]


class Normal(Distribution):
    """N(loc, scale^2), batch_shape the broadcast shape of loc and scale.

    rsample = loc + eps * scale with eps ~ N(0, 1) drawn as torch draws it (so the same seed
    gives torch's samples); sample is the same draw without a graph.
    log_prob(x) = -(x - loc)^2 / (2 scale^2) - log scale - log sqrt(2 pi);
    entropy = 1/2 + 1/2 log(2 pi) + log scale.
    """
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        if isinstance(loc, numbers.Number) and isinstance(scale, numbers.Number):
            batch_shape = Size()
        else:
            batch_shape = self.loc.size()
        super().__init__(batch_shape, validate_args=validate_args)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def stddev(self):
        return self.scale

    @property
    def variance(self):
        return self.stddev.pow(2)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Normal, _instance)
        batch_shape = Size(batch_shape)
        new.loc = self.loc.expand(batch_shape)
        new.scale = self.scale.expand(batch_shape)
        super(Normal, new).__init__(batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape=Size()):
        # torch.normal(loc, scale) fills with N(0, 1), then multiplies by scale and adds loc:
        # the numbers rsample makes, as eps * scale + loc rounds as loc + eps * scale
        shape = self._extended_shape(sample_shape)
        with no_grad():
            return randn(shape, dtype=self.loc.dtype) * self.scale.expand(shape) + self.loc

    def rsample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        eps = randn(shape, dtype=self.loc.dtype)    # an op: compiled code draws at each call
        return self.loc + eps * self.scale

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        var = self.scale ** 2
        log_scale = self.scale.log()
        return -((value - self.loc) ** 2) / (2 * var) - log_scale - math.log(
            math.sqrt(2 * math.pi))

    def cdf(self, value):
        """1/2 (1 + erf((x - loc) / (scale sqrt 2)))."""
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 * (1 + ((value - self.loc) * self.scale.reciprocal()
                           / math.sqrt(2)).erf())

    def entropy(self):
        return 0.5 + 0.5 * math.log(2 * math.pi) + self.scale.log()
