"""Issue 15's acceptance suite: PyTorch programs run on tapegrad with only their imports changed.

One case per program in tests/torch_programs/: the harness (tests/torch_programs/run.py) runs the
program on torch and, with its imports rewritten, on tapegrad, and the two outputs must agree
line by line (text exactly, numbers to float32 rounding). A failure shows the first differing
line and the end of tapegrad's traceback. Run one program by hand with
    python -m tests.torch_programs.run <name>
"""
import importlib.util

import pytest

from torch_programs import run as harness

if importlib.util.find_spec("torch") is None:
    pytest.skip("torch (the oracle) is not installed", allow_module_level=True)


@pytest.mark.parametrize("name", harness.programs())
def test_program_runs_as_on_torch(name):
    result = harness.run_program(name)
    if not result.passed:
        pytest.fail(result.explain(), pytrace=False)


def test_rewrite_maps_only_imports_and_prefixes():
    source = "\n".join([
        "import torch",
        "import torch.nn as nn",
        "import torch.nn.functional as F",
        "from torch import nn, optim",
        "from torch import Tensor, nn",
        "from torch.utils.data import DataLoader, TensorDataset",
        "from torch.utils import data",
        "from torch.autograd import Function",
        "from torch.optim.lr_scheduler import StepLR  # schedulers",
        "import numpy as np, torch",
        "    import torch.utils.data",
        "x = torch.nn.functional.relu(torch.tensor([1.0]))",
        "opt = torch.optim.SGD(m.parameters(), lr=0.1)",
        "g = torch.autograd.grad(y, x)",
        "y = mytorch.nn.thing + torch.utils.data.default_collate",
    ])
    assert harness.rewrite(source).split("\n")[:-1] == [
        "import autograd as torch; import autograd, nn, optim",
        "import nn as nn",
        "import nn.functional as F",
        "import nn; import optim",
        "from autograd import Tensor; import nn",
        "from autograd.utils.data import DataLoader, TensorDataset",
        "from autograd.utils import data",
        "from autograd import Function",
        "from optim.lr_scheduler import StepLR  # schedulers",
        "import numpy as np; import autograd as torch; import autograd, nn, optim",
        "    import autograd.utils.data; import autograd as torch",
        "x = nn.functional.relu(torch.tensor([1.0]))",
        "opt = optim.SGD(m.parameters(), lr=0.1)",
        "g = autograd.grad(y, x)",
        "y = mytorch.nn.thing + torch.utils.data.default_collate",
    ]


@pytest.mark.parametrize("expected, actual, ok", [
    ("tensor(0.6931, grad_fn=<NllLossBackward0>)", "tensor(0.6931, grad_fn=<NllLossBackward0>)",
     True),
    ("tensor(0.6931, grad_fn=<NllLossBackward0>)", "tensor(0.6932, grad_fn=<NllLossBackward0>)",
     True),      # one unit in the last printed place: a rounding boundary straddled
    ("tensor(0.6931, grad_fn=<NllLossBackward0>)", "tensor(0.6933, grad_fn=<NllLossBackward0>)",
     False),
    ("tensor(0.6931, grad_fn=<NllLossBackward0>)", "Tensor(0.6931, grad_fn=<NllLossBackward0>)",
     False),
    ("tensor(0.6931, grad_fn=<NllLossBackward0>)", "tensor(0.6931)", False),
    ("loss 2.3683571815490723", "loss 2.3683581352233887", True),     # float32 rounding
    ("loss 2.3683571815490723", "loss 2.3684571815490723", False),
    ("tensor([ 0.1362, -0.0000])", "tensor([0.1362, 0.0000])", True),  # padding, signed zero
    ("tensor([1., 2.])", "tensor([1.0000, 2.0000])", True),
    ("tensor([1, 2])", "tensor([1, 3])", False),
    ("error in w: tensor([-9.0599e-05])", "error in w: tensor([-9.0651e-05])", True),   # atol
    ("x 1e-03", "x 2e-03", False),
    ("nan inf", "nan inf", True),
    ("nan", "0.0", False),
    ("conv1.weight torch.Size([6, 3])", "conv1.weight torch.Size([6, 3])", True),
    ("conv1.weight", "conv2.weight", False),     # digits inside names are text
])
def test_lines_match(expected, actual, ok):
    assert harness.lines_match(expected, actual)[0] is ok


def test_compare_reports_the_first_difference_and_missing_lines():
    assert harness.compare("a 1\nb 2\n", "a 1\nb 2\n") is None
    assert harness.compare("a 1\nb 2\n", "a 1\nb 3\n")[0] == 2
    number, expected, actual, why = harness.compare("a 1\nb 2\n", "a 1\n")
    assert (number, expected, actual) == (2, "b 2", None)
    assert harness.compare("a 1\n", "a 1\nextra\n")[:3] == (2, None, "extra")
