# WGAN-GP (Gulrajani et al.) as its PyTorch implementations write the gradient penalty:
# interpolates between real and fake samples, torch.autograd.grad(..., create_graph=True,
# retain_graph=True, only_inputs=True), ((gradients.norm(2, dim=1) - 1) ** 2).mean() * LAMBDA;
# a critic and a generator on a ring of 2-D Gaussians, Adam with betas=(0.5, 0.9), n_critic=5.
import math

import torch
import torch.autograd as autograd
import torch.nn as nn

torch.manual_seed(1)

LAMBDA = 10
BATCH = 64
n_critic = 5


def sample_real(n):
    centers = torch.tensor([[math.cos(2 * math.pi * k / 8), math.sin(2 * math.pi * k / 8)]
                            for k in range(8)]) * 2.0
    idx = torch.randint(0, 8, (n,))
    return centers[idx] + 0.05 * torch.randn(n, 2)


netG = nn.Sequential(nn.Linear(2, 64), nn.ReLU(True), nn.Linear(64, 64), nn.ReLU(True),
                     nn.Linear(64, 2))
netD = nn.Sequential(nn.Linear(2, 64), nn.ReLU(True), nn.Linear(64, 64), nn.ReLU(True),
                     nn.Linear(64, 1))
print(netD)


def calc_gradient_penalty(netD, real_data, fake_data):
    alpha = torch.rand(BATCH, 1)
    alpha = alpha.expand(real_data.size())

    interpolates = alpha * real_data + ((1 - alpha) * fake_data)
    interpolates = autograd.Variable(interpolates, requires_grad=True)

    disc_interpolates = netD(interpolates)

    gradients = autograd.grad(outputs=disc_interpolates, inputs=interpolates,
                              grad_outputs=torch.ones(disc_interpolates.size()),
                              create_graph=True, retain_graph=True, only_inputs=True)[0]

    gradient_penalty = ((gradients.norm(2, dim=1) - 1) ** 2).mean() * LAMBDA
    return gradient_penalty


optimizerD = torch.optim.Adam(netD.parameters(), lr=1e-4, betas=(0.5, 0.9))
optimizerG = torch.optim.Adam(netG.parameters(), lr=1e-4, betas=(0.5, 0.9))
one = torch.tensor(1, dtype=torch.float)
mone = one * -1

for iteration in range(20):
    ############################
    # (1) Update D network
    ###########################
    for p in netD.parameters():  # reset requires_grad
        p.requires_grad = True  # they are set to False below in netG update

    for iter_d in range(n_critic):
        real_data = sample_real(BATCH)
        netD.zero_grad()

        # train with real
        D_real = netD(real_data)
        D_real = D_real.mean()
        D_real.backward(mone)

        # train with fake
        noise = torch.randn(BATCH, 2)
        with torch.no_grad():
            fake = netG(noise)
        inputv = fake
        D_fake = netD(inputv)
        D_fake = D_fake.mean()
        D_fake.backward(one)

        # train with gradient penalty
        gradient_penalty = calc_gradient_penalty(netD, real_data, fake)
        gradient_penalty.backward()

        D_cost = D_fake - D_real + gradient_penalty
        Wasserstein_D = D_real - D_fake
        optimizerD.step()

    ############################
    # (2) Update G network
    ###########################
    for p in netD.parameters():
        p.requires_grad = False  # to avoid computation
    netG.zero_grad()

    noise = torch.randn(BATCH, 2)
    fake = netG(noise)
    G = netD(fake)
    G = G.mean()
    G.backward(mone)
    G_cost = -G
    optimizerG.step()

    if iteration % 5 == 4:
        print(f"iter {iteration + 1}: D_cost {D_cost.item():.4f} G_cost {G_cost.item():.4f} "
              f"W_D {Wasserstein_D.item():.4f} GP {gradient_penalty.item():.4f}")

print(netD[0].weight.requires_grad, netG[0].weight.grad is not None)
with torch.no_grad():
    samples = netG(torch.randn(500, 2))
print(samples.mean(0), samples.std(0))
print(samples.norm(dim=1).mean())
