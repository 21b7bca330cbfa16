"""The discrete draws (multinomial rows, Bernoulli coins) as ops of the numpy row.

autograd.multinomial and autograd.bernoulli return plain tensors: inside a compiled function
their draws would be the trace's, kept. Here each is a function of the probabilities' array
marked draws_random_numbers, applied as an op, so a compiled function draws afresh at each
call from the default generator, as eager code does (the numbers stay torch's).
"""
import numpy as np

from ..ops import OPS
from ..random import bernoulli, multinomial
from ..tensor import Tensor


def _not_an_array(arr):
    if type(arr) is not np.ndarray:
        from ..source import NoSource        # autograd.compile writes a call: a draw per call
        raise NoSource("a random draw")


def _draw_multinomial(probs_2d, num_samples):
    """torch.multinomial(probs_2d, num_samples, replacement=True)'s indices, int64."""
    _not_an_array(probs_2d)
    return multinomial(Tensor(probs_2d), num_samples, True)._data


def _draw_bernoulli(probs):
    """torch.bernoulli(probs): 1 with probability probs[i], in probs' dtype."""
    _not_an_array(probs)
    return bernoulli(Tensor(probs))._data


_draw_multinomial.draws_random_numbers = _draw_bernoulli.draws_random_numbers = True


def multinomial_op(probs_2d, num_samples):
    """_draw_multinomial as an op on the tensor probs_2d (no gradient)."""
    return Tensor._apply(OPS["numpy"], (_draw_multinomial, {"num_samples": num_samples}),
                         probs_2d)


def bernoulli_op(probs):
    """_draw_bernoulli as an op on the tensor probs (no gradient)."""
    return Tensor._apply(OPS["numpy"], (_draw_bernoulli, {}), probs)
