# A small GAN as courses write it ("GANs in 50 lines"): a generator learns to turn noise into
# samples of N(4, 1.25); the discriminator is trained on real and detached fake samples with
# BCELoss, the generator to fool it; Adam with betas=(0.5, 0.999).
import torch
import torch.nn as nn
import torch.optim as optim

torch.manual_seed(111)

data_mean, data_std = 4.0, 1.25
batch_size = 64
latent_dim = 4


def get_real_samples(n):
    return torch.normal(data_mean, data_std, size=(n, 1))


def get_noise(n):
    return torch.rand(n, latent_dim)


generator = nn.Sequential(
    nn.Linear(latent_dim, 16),
    nn.ELU(),
    nn.Linear(16, 16),
    nn.ELU(),
    nn.Linear(16, 1),
)
discriminator = nn.Sequential(
    nn.Linear(1, 16),
    nn.LeakyReLU(0.2),
    nn.Linear(16, 16),
    nn.LeakyReLU(0.2),
    nn.Linear(16, 1),
    nn.Sigmoid(),
)

loss_function = nn.BCELoss()
optimizer_discriminator = optim.Adam(discriminator.parameters(), lr=2e-3, betas=(0.5, 0.999))
optimizer_generator = optim.Adam(generator.parameters(), lr=2e-3, betas=(0.5, 0.999))

real_labels = torch.ones((batch_size, 1))
fake_labels = torch.zeros((batch_size, 1))

for epoch in range(300):
    # Data for training the discriminator
    real_samples = get_real_samples(batch_size)
    generated_samples = generator(get_noise(batch_size))
    all_samples = torch.cat((real_samples, generated_samples.detach()))
    all_samples_labels = torch.cat((real_labels, fake_labels))

    # Training the discriminator
    discriminator.zero_grad()
    output_discriminator = discriminator(all_samples)
    loss_discriminator = loss_function(output_discriminator, all_samples_labels)
    loss_discriminator.backward()
    optimizer_discriminator.step()

    # Training the generator
    generator.zero_grad()
    output_discriminator_generated = discriminator(generator(get_noise(batch_size)))
    loss_generator = loss_function(output_discriminator_generated, real_labels)
    loss_generator.backward()
    optimizer_generator.step()

    # Show loss
    if epoch % 50 == 49:
        print(f"Epoch: {epoch + 1} Loss D.: {loss_discriminator:.4f} "
              f"Loss G.: {loss_generator:.4f}")

with torch.no_grad():
    samples = generator(get_noise(1000))
print(f"generated mean {samples.mean():.3f}, std {samples.std():.3f}")
print(f"real mean {data_mean}, std {data_std}")
print(samples[:5].squeeze())
hist = torch.histc(samples, bins=8, min=0, max=8)
print(hist)
