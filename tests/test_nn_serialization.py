"""nn.save / nn.load: bit-exact round trips in both formats, no pickle, clear errors for
truncated, corrupted and foreign files, and never a partial load."""
import numpy as np
import pytest

import nn


def _model(seed):
    return nn.Sequential(nn.Linear(4, 8, rng=seed), nn.BatchNorm1d(8), nn.ReLU(),
                         nn.Linear(8, 3, rng=seed + 1))


def _trained(seed=0):
    m = _model(seed)
    m(np.random.default_rng(seed).normal(size=(6, 4)).astype(np.float32))   # running stats
    return m


def _assert_same(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for k in sa:
        assert sa[k].dtype == sb[k].dtype, k
        np.testing.assert_array_equal(sa[k], sb[k], err_msg=k)


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_round_trip_is_bit_exact(tmp_path, suffix):
    a = _trained(0)
    path = tmp_path / f"model{suffix}"
    assert nn.save(a, path) == str(path)
    b = _model(5)
    assert nn.load(b, path) is b
    _assert_same(a, b)
    assert int(b[1].num_batches_tracked.data) == 1
    assert not any(p.name.startswith("model" + suffix + ".tmp") for p in tmp_path.iterdir())


def test_float64_round_trip(tmp_path):
    a = _trained(0).double()
    nn.save(a, tmp_path / "m.npz")
    b = nn.load(_model(3).double(), tmp_path / "m.npz")
    _assert_same(a, b)


def test_npz_loads_without_pickle(tmp_path):
    nn.save(_trained(), tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as z:
        assert "0.weight" in z.files and "1.running_var" in z.files


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_truncated_file_is_a_clear_error_and_loads_nothing(tmp_path, suffix):
    path = tmp_path / f"m{suffix}"
    nn.save(_trained(0), path)
    raw = path.read_bytes()
    b = _model(7)
    before = b.state_dict()
    for cut in (len(raw) // 2, len(raw) - 10, 20, 0):
        path.write_bytes(raw[:cut])
        with pytest.raises(nn.CheckpointError, match="truncated, corrupted"):
            nn.load(b, path)
    _assert_same_dict(b.state_dict(), before)


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_corrupted_bytes_are_detected(tmp_path, suffix):
    path = tmp_path / f"m{suffix}"
    a = _trained(0)
    nn.save(a, path)
    raw = bytearray(path.read_bytes())
    # flip a byte inside the data of the first weight: find its bytes in the file
    w = a.state_dict()["0.weight"].numpy().tobytes()
    at = bytes(raw).find(w)
    assert at > 0
    raw[at + 5] ^= 0xFF
    path.write_bytes(bytes(raw))
    b = _model(7)
    before = b.state_dict()
    with pytest.raises(nn.CheckpointError, match="corrupted"):
        nn.load(b, path)
    _assert_same_dict(b.state_dict(), before)


def _assert_same_dict(sa, sb):
    for k in sa:
        np.testing.assert_array_equal(sa[k], sb[k], err_msg=k)


def test_foreign_npz_is_refused(tmp_path):
    np.savez(tmp_path / "other.npz", weight=np.zeros(3))
    with pytest.raises(nn.CheckpointError, match="not a tapegrad nn checkpoint"):
        nn.load(nn.Linear(3, 1), tmp_path / "other.npz")
    np.save(tmp_path / "array.npy", np.zeros(3))
    with pytest.raises(nn.CheckpointError, match="cannot read checkpoint"):
        nn.load(nn.Linear(3, 1), tmp_path / "array.npy")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(nn.CheckpointError, match="cannot read checkpoint"):
        nn.load(nn.Linear(3, 1), tmp_path / "text.npz")
    with pytest.raises(FileNotFoundError, match="no checkpoint file"):
        nn.load(nn.Linear(3, 1), tmp_path / "missing.npz")


def test_architecture_mismatch_names_key_and_loads_nothing(tmp_path):
    nn.save(_trained(0), tmp_path / "m.npz")
    other = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    before = other.state_dict()
    with pytest.raises(nn.StateDictError, match=r"size mismatch for '3.weight'.*\(3, 8\)"):
        nn.load(other, tmp_path / "m.npz")
    _assert_same_dict(other.state_dict(), before)
    smaller = nn.Sequential(nn.Linear(4, 8))
    with pytest.raises(nn.StateDictError, match="unexpected key.*'1.running_mean'"):
        nn.load(smaller, tmp_path / "m.npz")
    nn.load(smaller, tmp_path / "m.npz", strict=False)


def test_npz_entries_renamed_onto_each_other_are_refused(tmp_path):
    """Regression (RELIABILITY.md's known gap): zip's CRC covers a member's bytes, not its
    name, so two same-shaped entries swapped by name used to load swapped."""
    import zipfile

    import numpy as np

    import nn
    model = nn.Sequential(nn.Linear(3, 3, rng=0), nn.Linear(3, 3, rng=1))
    path = tmp_path / "m.npz"
    nn.save(model, path)
    with zipfile.ZipFile(path) as z:
        members = {name: z.read(name) for name in z.namelist()}
    swap = {"0.weight.npy": "1.weight.npy", "1.weight.npy": "0.weight.npy"}
    bad = tmp_path / "swapped.npz"
    with zipfile.ZipFile(bad, "w") as z:
        for name, data in members.items():
            z.writestr(swap.get(name, name), data)
    target = nn.Sequential(nn.Linear(3, 3, rng=5), nn.Linear(3, 3, rng=6))
    before = [np.array(p.data) for p in target.parameters()]
    with pytest.raises(nn.CheckpointError, match="entry '.\\.weight' does not match its checksum"):
        nn.load(target, bad)
    assert all(np.array_equal(a, p.data) for a, p in zip(before, target.parameters()))
