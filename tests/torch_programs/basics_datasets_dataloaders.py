# Learn the Basics: Datasets & DataLoaders, and Transforms, on sklearn's 8x8 digits
# (pytorch.org/tutorials/beginner/basics/data_tutorial.html, transforms_tutorial.html)
import numpy as np
import torch
from sklearn.datasets import load_digits
from torch.utils.data import DataLoader, Dataset, random_split

torch.manual_seed(0)

labels_map = {0: "zero", 1: "one", 2: "two", 3: "three", 4: "four",
              5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine"}


class DigitsDataset(Dataset):
    def __init__(self, transform=None, target_transform=None):
        digits = load_digits()
        self.images = digits.images.astype(np.float32)
        self.img_labels = digits.target
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self):
        return len(self.img_labels)

    def __getitem__(self, idx):
        image = torch.from_numpy(self.images[idx]).unsqueeze(0)
        label = int(self.img_labels[idx])
        if self.transform:
            image = self.transform(image)
        if self.target_transform:
            label = self.target_transform(label)
        return image, label


def to_unit_range(image):
    return image / 16.0


def one_hot(y):
    return torch.zeros(10, dtype=torch.float).scatter_(0, torch.tensor(y), value=1)


dataset = DigitsDataset(transform=to_unit_range)
print(len(dataset))
img, label = dataset[0]
print(img.shape, img.dtype, label, labels_map[label])
print(img[0, 2])

training_data, test_data = random_split(dataset, [0.8, 0.2],
                                        generator=torch.Generator().manual_seed(42))
print(len(training_data), len(test_data))
print(training_data.indices[:10])

train_dataloader = DataLoader(training_data, batch_size=64, shuffle=True)
test_dataloader = DataLoader(test_data, batch_size=64, shuffle=False)
print(len(train_dataloader), len(test_dataloader))

# Iterate through the DataLoader
train_features, train_labels = next(iter(train_dataloader))
print(f"Feature batch shape: {train_features.size()}")
print(f"Labels batch shape: {train_labels.size()}")
img = train_features[0].squeeze()
label = train_labels[0]
print(f"Label: {label}")
print(img)

for epoch in range(2):
    seen = 0
    for batch, (X, y) in enumerate(train_dataloader):
        seen += len(X)
        if batch == 0:
            print(f"epoch {epoch}: first labels {y[:8].tolist()}")
    print(f"epoch {epoch}: {seen} samples, last batch {tuple(X.shape)}")

dropping = DataLoader(training_data, batch_size=100, shuffle=True, drop_last=True)
print(len(dropping), [len(y) for _, y in dropping])

target_transformed = DigitsDataset(transform=to_unit_range, target_transform=one_hot)
img, target = target_transformed[5]
print(target)

loader = DataLoader(target_transformed, batch_size=4, shuffle=True,
                    generator=torch.Generator().manual_seed(7))
xb, yb = next(iter(loader))
print(xb.shape, yb)
print(yb.argmax(dim=1))
