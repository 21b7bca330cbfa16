# Classifying variable-length sequences as NLP tutorials batch them: pad_sequence, then
# pack_padded_sequence(..., enforce_sorted=False) into an LSTM, the final hidden state into a
# linear head; pad_packed_sequence to look at the outputs. The task: is the sum of a sequence of
# small integers even or odd (the model must read to each sequence's own end).
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

torch.manual_seed(0)


class Classifier(nn.Module):
    def __init__(self, vocab=5, embed=8, hidden=16):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed, padding_idx=0)
        self.lstm = nn.LSTM(embed, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 2)

    def forward(self, padded, lengths):
        packed = pack_padded_sequence(self.embedding(padded), lengths, batch_first=True,
                                      enforce_sorted=False)
        out, (h_n, c_n) = self.lstm(packed)
        return self.head(h_n[-1]), out


def batch(n):
    lengths = torch.randint(2, 9, (n,))
    seqs = [torch.randint(1, 5, (int(k),)) for k in lengths]
    labels = torch.stack([(s - 1).sum() % 2 for s in seqs])
    return pad_sequence(seqs, batch_first=True), lengths, labels


model = Classifier()
optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
loss_fn = nn.CrossEntropyLoss()
for step in range(120):
    padded, lengths, labels = batch(32)
    logits, _ = model(padded, lengths)
    loss = loss_fn(logits, labels)
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    if step % 30 == 29:
        accuracy = (logits.argmax(1) == labels).float().mean().item()
        print(f"step {step + 1}: loss {loss.item():.4f}, batch accuracy {accuracy:.3f}")

padded, lengths, labels = batch(6)
with torch.no_grad():
    logits, out = model(padded, lengths)
    unpacked, out_lengths = pad_packed_sequence(out, batch_first=True)
print("padded shape:", tuple(padded.shape), "lengths:", lengths.tolist())
print("unpacked:", tuple(unpacked.shape), out_lengths.tolist())
print("zero after each end:", bool((unpacked[0, int(lengths[0]):] == 0).all()))
print("predictions:", logits.argmax(1).tolist(), "labels:", labels.tolist())
