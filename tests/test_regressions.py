"""Named regressions: every bug found by the hardening campaign (issue #7) stays here as a test
named after it, with the date-free story in its docstring."""
import numpy as np
import pytest

import optim
from autograd import Tensor


def test_optimizer_hyperparameter_of_wrong_type_is_named():
    """SGD(params, lr="0.1") used to fail inside the range check with "'<=' not supported
    between instances of 'float' and 'str'", which names neither the argument nor the optimizer's
    expectation. Now: TypeError "Invalid learning rate: expected a real number, got str '0.1'"."""
    p = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(TypeError, match="Invalid learning rate: expected a real number, got str"):
        optim.SGD([p], lr="0.1")
    with pytest.raises(TypeError, match="Invalid momentum value: expected a real number"):
        optim.SGD([p], lr=0.1, momentum=lambda: 0.9)
    with pytest.raises(TypeError, match="Invalid epsilon value: expected a real number"):
        optim.Adam([p], eps=None)
