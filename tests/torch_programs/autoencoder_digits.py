# An autoencoder as courses write it: encoder and decoder as nn.Sequential, sigmoid outputs,
# MSE reconstruction loss, Adam, a DataLoader over the 8x8 digits; then the codes of a few
# images, a denoising variant and a look at reconstruction error per class.
import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)

digits = load_digits()
data = torch.tensor(digits.data, dtype=torch.float32) / 16.0
labels = torch.tensor(digits.target)
loader = DataLoader(TensorDataset(data, labels), batch_size=128, shuffle=True)


class Autoencoder(nn.Module):
    def __init__(self, latent_dim=8):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Linear(64, 32),
            nn.ReLU(),
            nn.Linear(32, latent_dim),
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, 32),
            nn.ReLU(),
            nn.Linear(32, 64),
            nn.Sigmoid(),
        )

    def forward(self, x):
        z = self.encoder(x)
        return self.decoder(z)


model = Autoencoder()
criterion = nn.MSELoss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-5)

num_epochs = 8
outputs = []
for epoch in range(num_epochs):
    for img, _ in loader:
        recon = model(img)
        loss = criterion(recon, img)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(f'Epoch:{epoch + 1}, Loss:{loss.item():.4f}')
    outputs.append((epoch, img, recon))

model.eval()
with torch.no_grad():
    codes = model.encoder(data[:3])
    print(codes)
    recon = model(data)
    per_sample = ((recon - data) ** 2).mean(dim=1)
    print(f"mean reconstruction error {per_sample.mean():.5f}")
    for digit in range(10):
        err = per_sample[labels == digit].mean().item()
        print(f"digit {digit}: {err:.5f}")
    worst = per_sample.argsort(descending=True)[:5]
    print(worst, labels[worst])
    print(np.round(recon[0].view(8, 8).numpy(), 2))

# Denoising: corrupt the inputs, reconstruct the clean images
model = Autoencoder(latent_dim=12)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
for epoch in range(4):
    total = 0.0
    for img, _ in loader:
        noisy = (img + 0.2 * torch.randn_like(img)).clamp(0.0, 1.0)
        loss = nn.functional.binary_cross_entropy(model(noisy), img)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * img.size(0)
    print(f"denoising epoch {epoch + 1}: {total / len(loader.dataset):.4f}")
