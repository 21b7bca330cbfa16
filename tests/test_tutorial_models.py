"""Two networks of PyTorch's own examples written once against a namespace (`m` is torch.nn or
nn, `F` its functional), trained side by side from the same weights: PyTorch's MNIST example
(Conv2d, Dropout, max_pool2d, log_softmax, nll_loss, Adadelta, StepLR) and the DCGAN
tutorial's generator and discriminator (ConvTranspose2d, BatchNorm2d, LeakyReLU(0.2, inplace),
BCELoss, Adam with betas). Losses and parameters must agree after a few steps."""
import numpy as np
import pytest

import nn
import nn.functional as NF
import optim
from autograd import Tensor

torch = pytest.importorskip("torch")
torch.set_num_threads(2)


def _mnist_net(m, F):
    class Net(m.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = m.Conv2d(1, 4, 3, 1)
            self.conv2 = m.Conv2d(4, 8, 3, 1)
            self.dropout1 = m.Dropout(0.25)
            self.dropout2 = m.Dropout(0.5)
            self.fc1 = m.Linear(8 * 5 * 5, 16)
            self.fc2 = m.Linear(16, 10)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.relu(self.conv2(x))
            x = F.max_pool2d(x, 2)
            x = self.dropout1(x)
            x = x.flatten(1)
            x = F.relu(self.fc1(x))
            x = self.dropout2(x)
            return F.log_softmax(self.fc2(x), dim=1)
    return Net()


def _dcgan(m, nz=4, ngf=4, ndf=4, nc=1):
    generator = m.Sequential(
        m.ConvTranspose2d(nz, ngf * 2, 4, 1, 0, bias=False), m.BatchNorm2d(ngf * 2),
        m.ReLU(True),
        m.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), m.BatchNorm2d(ngf), m.ReLU(True),
        m.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), m.Tanh())
    discriminator = m.Sequential(
        m.Conv2d(nc, ndf, 4, 2, 1, bias=False), m.LeakyReLU(0.2, inplace=True),
        m.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), m.BatchNorm2d(ndf * 2),
        m.LeakyReLU(0.2, inplace=True),
        m.Conv2d(ndf * 2, 1, 4, 1, 0, bias=False), m.Sigmoid())
    return generator, discriminator


def _copy(theirs, ours):
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


def _close_params(ours, theirs, tol):
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=tol, atol=tol, err_msg=name)


def test_pytorch_mnist_example_trains_like_torch():
    torch.manual_seed(0)
    theirs = _mnist_net(torch.nn, torch.nn.functional).double()
    ours = _mnist_net(nn, NF).double()
    _copy(theirs, ours)
    ours.eval()           # dropout off on both sides: its masks come from different generators
    theirs.eval()
    opt = optim.Adadelta(ours.parameters(), lr=1.0)
    ref = torch.optim.Adadelta(theirs.parameters(), lr=1.0)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)
    ref_sched = torch.optim.lr_scheduler.StepLR(ref, step_size=1, gamma=0.7)
    rng = np.random.default_rng(0)
    for epoch in range(2):
        for _ in range(3):
            x = rng.standard_normal((8, 1, 14, 14))
            y = rng.integers(0, 10, 8)
            loss = NF.nll_loss(ours(Tensor(x)), y)
            ref_loss = torch.nn.functional.nll_loss(theirs(torch.from_numpy(x)),
                                                    torch.from_numpy(y))
            np.testing.assert_allclose(loss.item(), ref_loss.item(), rtol=1e-10)
            opt.zero_grad()
            ref.zero_grad()
            loss.backward()
            ref_loss.backward()
            opt.step()
            ref.step()
        sched.step()
        ref_sched.step()
    _close_params(ours, theirs, 1e-9)


def test_dcgan_tutorial_networks_train_like_torch():
    torch.manual_seed(1)
    g_theirs, d_theirs = (net.double() for net in _dcgan(torch.nn))
    g_ours, d_ours = _dcgan(nn)
    g_ours.double()
    d_ours.double()
    _copy(g_theirs, g_ours)
    _copy(d_theirs, d_ours)
    assert repr(g_ours) == repr(g_theirs) and repr(d_ours) == repr(d_theirs)
    criterion, ref_criterion = nn.BCELoss(), torch.nn.BCELoss()
    opt_d = optim.Adam(d_ours.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = optim.Adam(g_ours.parameters(), lr=2e-4, betas=(0.5, 0.999))
    ref_d = torch.optim.Adam(d_theirs.parameters(), lr=2e-4, betas=(0.5, 0.999))
    ref_g = torch.optim.Adam(g_theirs.parameters(), lr=2e-4, betas=(0.5, 0.999))
    rng = np.random.default_rng(1)
    for _ in range(3):
        real = np.tanh(rng.standard_normal((4, 1, 16, 16)))
        noise = rng.standard_normal((4, 4, 1, 1))
        ones, zeros = np.ones(4), np.zeros(4)
        # discriminator: real batch, then fake batch (generator detached)
        d_ours.zero_grad()
        d_theirs.zero_grad()
        fake, ref_fake = g_ours(Tensor(noise)), g_theirs(torch.from_numpy(noise))
        err = (criterion(d_ours(Tensor(real)).reshape(-1), ones)
               + criterion(d_ours(fake.detach()).reshape(-1), zeros))
        ref_err = (ref_criterion(d_theirs(torch.from_numpy(real)).view(-1),
                                 torch.from_numpy(ones))
                   + ref_criterion(d_theirs(ref_fake.detach()).view(-1),
                                   torch.from_numpy(zeros)))
        np.testing.assert_allclose(err.item(), ref_err.item(), rtol=1e-10)
        err.backward()
        ref_err.backward()
        opt_d.step()
        ref_d.step()
        # generator: fool the updated discriminator
        g_ours.zero_grad()
        g_theirs.zero_grad()
        err_g = criterion(d_ours(fake).reshape(-1), ones)
        ref_err_g = ref_criterion(d_theirs(ref_fake).view(-1), torch.from_numpy(ones))
        np.testing.assert_allclose(err_g.item(), ref_err_g.item(), rtol=1e-10)
        err_g.backward()
        ref_err_g.backward()
        opt_g.step()
        ref_g.step()
    _close_params(g_ours, g_theirs, 1e-9)
    _close_params(d_ours, d_theirs, 1e-9)
