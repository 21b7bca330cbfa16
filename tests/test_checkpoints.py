"""Checkpoints under attack: malicious pickles, >= 1,000 mutated files, bit-exact round trips.

nn.save/nn.load (.npz and .safetensors) and optim.save/optim.load. A loader facing a broken or
hostile file must:
  * never unpickle (a payload that would create a sentinel file never runs),
  * raise a documented exception: nn.CheckpointError (file problems, from both loaders),
    nn.StateDictError (keys or shapes that do not fit the model), or TypeError from
    load_state_dict naming an entry of a non-numeric dtype,
  * leave the module / optimizer exactly as it was when it raises (no partial load),
  * when it does not raise, hold exactly what the file holds: the original state (a mutation in
    a field nothing reads, such as a zip timestamp, or members in another order), or for an
    entry rewritten with another real dtype, those values cast to the parameter's dtype (the
    documented load_state_dict rule, as in PyTorch).
Never a crash or a hang: each load runs under a 60 s alarm.

Figures for RELIABILITY.md: `pytest tests/test_checkpoints.py -s -q | grep reliability`.
"""
import io
import pickle
import signal
import warnings
import zipfile
from contextlib import contextmanager

import numpy as np
import pytest

import nn
import optim
from autograd import Tensor

CASES_PER_KIND = {"flip": 300, "truncate": 150, "insert": 150, "zero": 60, "members": 100,
                  "arrays": 120}
SAFETENSORS_CASES = 150
OPTIM_CASES = {"flip": 120, "truncate": 60, "insert": 60, "members": 40, "arrays": 80}
FIGURES = {"refused": 0, "accepted_intact": 0, "accepted_cast": 0}


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    total = sum(FIGURES.values())
    if total:
        print(f"\n[reliability] hostile or mutated checkpoint files: {total}; refused with a "
              f"documented error and the target unchanged: {FIGURES['refused']}; loaded intact "
              f"(mutation in an unread field or member order): {FIGURES['accepted_intact']}; "
              f"loaded as the cast of a rewritten real-dtype entry: {FIGURES['accepted_cast']}")


@contextmanager
def _alarm(seconds=60):
    """A hang is a failure: SIGALRM interrupts the load."""
    def fire(signum, frame):
        raise TimeoutError(f"checkpoint load did not finish within {seconds} s")
    old = signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# ---------------------------------------------------------------------------------------------
# models, optimizers and snapshots
def _model(seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Linear(3, 4, rng=rng, dtype=dtype), nn.BatchNorm1d(4, dtype=dtype),
                         nn.Linear(4, 2, rng=rng, dtype=dtype))


def _trained(seed):
    """A model whose buffers moved too (running stats, num_batches_tracked)."""
    m = _model(seed)
    x = Tensor(np.random.default_rng(seed + 100).standard_normal((5, 3)))
    m(x).sum().backward()
    return m


def _snapshot(module):
    return {k: (v.dtype, v.numpy().copy()) for k, v in module.state_dict().items()}


def _same(a, b):
    return a.keys() == b.keys() and all(
        a[k][0] == b[k][0] and np.array_equal(a[k][1], b[k][1]) for k in a)


def _cast_into(module_snapshot, arrays):
    """The state a module would hold after loading `arrays` (cast to each entry's dtype)."""
    return {k: (dt, np.array(arrays[k], dtype=dt)) for k, (dt, _) in module_snapshot.items()}


def _adam(seed, steps=3, cls=optim.Adam, **kw):
    rng = np.random.default_rng(seed)
    params = [Tensor(rng.standard_normal(s), requires_grad=True) for s in [(3, 2), (2,), ()]]
    opt = cls(params, lr=0.01, **kw)
    for _ in range(steps):
        for p in params:
            p.grad = Tensor(rng.standard_normal(p.shape), dtype=p.dtype)
        opt.step()
    return params, opt


def _opt_snapshot(opt):
    sd = opt.state_dict()
    state = {(i, k): (np.asarray(v).dtype, np.array(v, copy=True)) if v is not None else None
             for i, entries in sd["state"].items() for k, v in entries.items()}
    groups = [{k: v for k, v in g.items() if k != "params"} for g in sd["param_groups"]]
    return state, repr(groups)


def _opt_same(a, b):
    (sa, ga), (sb, gb) = a, b
    if ga != gb or sa.keys() != sb.keys():
        return False
    for k in sa:
        if (sa[k] is None) != (sb[k] is None):
            return False
        if sa[k] is not None and not np.array_equal(sa[k][1], sb[k][1]):
            return False
    return True


# ---------------------------------------------------------------------------------------------
# building and mutating files
def _npz_bytes(arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _members(blob):
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        return [(info.filename, z.read(info)) for info in z.infolist()]


def _zip_bytes(members):
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)       # duplicate names are the point
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
            for name, data in members:
                z.writestr(name, data)
    return buf.getvalue()


def _arrays_of(blob):
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _byte_mutation(kind, blob, rng):
    b = bytearray(blob)
    if kind == "flip":
        for pos in rng.integers(0, len(b), size=rng.integers(1, 9)):
            b[pos] ^= int(rng.integers(1, 256))
    elif kind == "truncate":
        b = b[:int(rng.integers(0, len(b)))]
    elif kind == "insert":
        pos = int(rng.integers(0, len(b) + 1))
        b[pos:pos] = rng.integers(0, 256, size=int(rng.integers(1, 64)), dtype=np.uint8).tobytes()
    elif kind == "zero":
        start = int(rng.integers(0, len(b)))
        stop = min(len(b), start + int(rng.integers(1, 200)))
        b[start:stop] = bytes(stop - start)
    return bytes(b)


def _member_mutation(blob, rng):
    """Reorder, drop, duplicate or rename zip members. Returns (bytes, intact_if_loaded)."""
    members = _members(blob)
    how = rng.integers(0, 4)
    if how == 0:
        order = rng.permutation(len(members))
        return _zip_bytes([members[i] for i in order]), True
    i = int(rng.integers(0, len(members)))
    if how == 1:
        return _zip_bytes(members[:i] + members[i + 1:]), False
    if how == 2:
        return _zip_bytes(members + [members[i]]), False
    j = int(rng.integers(0, len(members)))
    names = [n for n, _ in members]
    names[i], names[j] = names[j], names[i]
    renamed = [(n, d) for n, (_, d) in zip(names, members)]
    return _zip_bytes(renamed), i == j


_REAL_DTYPES = [np.float32, np.float16, np.int64, np.int8, np.bool_]
_BAD_DTYPES = ["complex128", "U3", "datetime64[s]", "object"]


def _array_mutation(blob, rng, skip=()):
    """One entry rewritten: another dtype (real or not), another shape, a 0-d or empty array.
    Returns (bytes, arrays as written)."""
    arrays = _arrays_of(blob)
    keys = [k for k in arrays if k not in skip]
    key = keys[int(rng.integers(0, len(keys)))]
    a = arrays[key]
    how = rng.integers(0, 5)
    if how == 0:
        arrays[key] = a.astype(_REAL_DTYPES[int(rng.integers(0, len(_REAL_DTYPES)))])
    elif how == 1:
        bad = _BAD_DTYPES[int(rng.integers(0, len(_BAD_DTYPES)))]
        arrays[key] = (np.array([object()] * max(a.size, 1), dtype=object) if bad == "object"
                       else np.zeros(a.shape, dtype=bad))
    elif how == 2:
        arrays[key] = np.concatenate([a.ravel(), a.ravel()[:1] if a.size else [1.0]])
    elif how == 3:
        arrays[key] = a.reshape(a.shape + (1,))
    else:
        arrays[key] = np.zeros((0,) + a.shape[1:], dtype=a.dtype)
    return _npz_bytes(arrays), arrays


# ---------------------------------------------------------------------------------------------
# the outcome rule
_NN_ERRORS = (nn.CheckpointError, nn.StateDictError, TypeError)


def _nn_outcome(path, original, written=None):
    """Load `path` into a model with other values; check the rule in the module docstring."""
    target = _model(seed=7)
    before = _snapshot(target)
    try:
        with _alarm():
            nn.load(target, path)
    except _NN_ERRORS as e:
        if isinstance(e, TypeError):
            assert str(e).startswith("load_state_dict: entry"), f"unclear TypeError: {e}"
        assert _same(_snapshot(target), before), f"partial load after {type(e).__name__}: {e}"
        assert str(e), "an error without a message"
        FIGURES["refused"] += 1
        return "refused"
    after = _snapshot(target)
    if _same(after, original):
        FIGURES["accepted_intact"] += 1
        return "intact"
    assert written is not None and set(before) <= set(written) and _same(
        after, _cast_into(before, written)), (
        f"{path}: loaded without error but the model holds neither the saved state nor the "
        f"file's arrays")
    FIGURES["accepted_cast"] += 1
    return "cast"


def _optim_outcome(path, original):
    _, target = _adam(seed=9, steps=1)
    before = _opt_snapshot(target)
    try:
        with _alarm():
            optim.load(target, path)
    except nn.CheckpointError as e:
        assert _opt_same(_opt_snapshot(target), before), f"partial optimizer load: {e}"
        FIGURES["refused"] += 1
        return "refused"
    after = _opt_snapshot(target)
    if _opt_same(after, original):
        FIGURES["accepted_intact"] += 1
        return "intact"
    raise AssertionError(f"{path}: optimizer loaded something that is not the saved state")


# ---------------------------------------------------------------------------------------------
# malicious payloads
class _Payload:
    """Unpickling this calls open(sentinel, 'w'): the file appears iff pickle ran."""

    def __init__(self, sentinel):
        self.sentinel = sentinel

    def __reduce__(self):
        return (open, (self.sentinel, "w"))


def _pickle_payload(sentinel):
    return pickle.dumps(_Payload(str(sentinel)))


def test_the_payload_really_runs_when_unpickled(tmp_path):
    """Without this the sentinel checks below could never fail."""
    sentinel = tmp_path / "proof"
    pickle.loads(_pickle_payload(sentinel)).close()
    assert sentinel.exists()
    obj = np.array([_Payload(str(tmp_path / "proof2"))], dtype=object)
    buf = io.BytesIO()
    np.save(buf, obj, allow_pickle=True)
    buf.seek(0)
    np.load(buf, allow_pickle=True)
    assert (tmp_path / "proof2").exists()


def _malicious_files(tmp_path, sentinel, valid_arrays):
    """Hostile files: object arrays in a real checkpoint, raw pickles, a pickled .npy."""
    files = {}
    arrays = dict(valid_arrays)
    arrays["0.weight"] = np.array([_Payload(str(sentinel))], dtype=object)
    files["object-member.npz"] = _npz_bytes(arrays)
    arrays = dict(valid_arrays)
    arrays["evil"] = np.array([_Payload(str(sentinel))], dtype=object)
    files["extra-object-member.npz"] = _npz_bytes(arrays)
    files["raw-pickle.npz"] = _pickle_payload(sentinel)
    files["raw-pickle.safetensors"] = _pickle_payload(sentinel)
    buf = io.BytesIO()
    np.save(buf, np.array([_Payload(str(sentinel))], dtype=object), allow_pickle=True)
    files["pickled-npy.npz"] = buf.getvalue()
    files["zip-of-pickle.npz"] = _zip_bytes([("0.weight.npy", buf.getvalue()),
                                             ("data.pkl", _pickle_payload(sentinel))])
    paths = []
    for name, blob in files.items():
        path = tmp_path / name
        path.write_bytes(blob)
        paths.append(path)
    return paths


def test_malicious_pickles_are_refused_and_never_run(tmp_path):
    sentinel = tmp_path / "PWNED"
    original = _trained(0)
    good = tmp_path / "good.npz"
    nn.save(original, good)
    paths = _malicious_files(tmp_path, sentinel, _arrays_of(good.read_bytes()))
    for path in paths:
        target = _model(7)
        before = _snapshot(target)
        with pytest.raises(nn.CheckpointError, match="cannot read checkpoint|not a tapegrad"):
            nn.load(target, path)
        assert _same(_snapshot(target), before)
        assert not sentinel.exists(), f"{path.name}: the pickle payload ran"
    for path in paths:
        if path.suffix == ".npz":
            _, opt = _adam(9, steps=1)
            before = _opt_snapshot(opt)
            with pytest.raises(nn.CheckpointError):
                optim.load(opt, path)
            assert _opt_same(_opt_snapshot(opt), before)
            assert not sentinel.exists(), f"optim.load of {path.name}: the pickle payload ran"
    FIGURES["refused"] += len(paths) + sum(p.suffix == ".npz" for p in paths)


def test_malicious_object_state_entry_in_optimizer_file(tmp_path):
    sentinel = tmp_path / "PWNED"
    _, opt = _adam(1)
    good = tmp_path / "opt.npz"
    optim.save(opt, good)
    arrays = _arrays_of(good.read_bytes())
    arrays["state.0.exp_avg"] = np.array([_Payload(str(sentinel))], dtype=object)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(_npz_bytes(arrays))
    _, target = _adam(9, steps=1)
    before = _opt_snapshot(target)
    with pytest.raises(nn.CheckpointError, match="cannot read optimizer checkpoint"):
        optim.load(target, bad)
    assert _opt_same(_opt_snapshot(target), before)
    assert not sentinel.exists()


# ---------------------------------------------------------------------------------------------
# mutated files
@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(CASES_PER_KIND))
def test_mutated_nn_checkpoints(tmp_path, kind):
    original_model = _trained(0)
    original = _snapshot(original_model)
    good = tmp_path / "good.npz"
    nn.save(original_model, good)
    blob = good.read_bytes()
    rng = np.random.default_rng(["flip", "truncate", "insert", "zero", "members",
                                 "arrays"].index(kind))
    outcomes = []
    for i in range(CASES_PER_KIND[kind]):
        written = None
        if kind == "members":
            # a member renamed onto another of the same shape is a different, valid file:
            # loading it must give exactly what it now holds
            mutated, _ = _member_mutation(blob, rng)
            try:
                written = _arrays_of(mutated)
            except Exception:           # noqa: BLE001 (unreadable: must then be refused)
                written = None
        elif kind == "arrays":
            mutated, written = _array_mutation(blob, rng, skip=("__tapegrad__",))
        else:
            mutated = _byte_mutation(kind, blob, rng)
        path = tmp_path / f"m{i}.npz"
        path.write_bytes(mutated)
        outcomes.append(_nn_outcome(path, original, written))
    if kind in ("truncate", "insert"):
        assert outcomes.count("refused") >= 0.9 * len(outcomes)
    assert "refused" in outcomes


@pytest.mark.slow
def test_mutated_safetensors_checkpoints(tmp_path):
    original_model = _trained(0)
    original = _snapshot(original_model)
    good = tmp_path / "good.safetensors"
    nn.save(original_model, good)
    blob = good.read_bytes()
    rng = np.random.default_rng(42)
    kinds = ["flip", "truncate", "insert", "zero"]
    outcomes = []
    for i in range(SAFETENSORS_CASES):
        path = tmp_path / f"m{i}.safetensors"
        path.write_bytes(_byte_mutation(kinds[i % 4], blob, rng))
        outcomes.append(_nn_outcome(path, original))
    assert outcomes.count("refused") >= 0.9 * len(outcomes)


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(OPTIM_CASES))
def test_mutated_optimizer_checkpoints(tmp_path, kind):
    _, opt = _adam(1)
    original = _opt_snapshot(opt)
    good = tmp_path / "opt.npz"
    optim.save(opt, good)
    blob = good.read_bytes()
    rng = np.random.default_rng(100 + sorted(OPTIM_CASES).index(kind))
    outcomes = []
    for i in range(OPTIM_CASES[kind]):
        # optim.save stores a SHA-256 per entry: any change of content, name or dtype is
        # refused; only an unread field or the member order may change and still load
        if kind == "members":
            mutated, _ = _member_mutation(blob, rng)
        elif kind == "arrays":
            mutated, _ = _array_mutation(blob, rng, skip=("meta",))
        else:
            mutated = _byte_mutation(kind, blob, rng)
        path = tmp_path / f"m{i}.npz"
        path.write_bytes(mutated)
        outcomes.append(_optim_outcome(path, original))
    if kind == "arrays":
        assert set(outcomes) == {"refused"}
    assert "refused" in outcomes


def test_optimizer_entries_swapped_or_recast_are_refused(tmp_path):
    """exp_avg and exp_avg_sq have the same shape: without the manifest of digests a file with
    the two swapped (or one recast to float16) loaded silently."""
    _, opt = _adam(1)
    good = tmp_path / "opt.npz"
    optim.save(opt, good)
    arrays = _arrays_of(good.read_bytes())
    swapped = dict(arrays)
    swapped["state.0.exp_avg"], swapped["state.0.exp_avg_sq"] = (arrays["state.0.exp_avg_sq"],
                                                                 arrays["state.0.exp_avg"])
    recast = dict(arrays)
    recast["state.0.exp_avg"] = arrays["state.0.exp_avg"].astype(np.float16)
    for name, content in [("swapped", swapped), ("recast", recast)]:
        bad = tmp_path / f"{name}.npz"
        bad.write_bytes(_npz_bytes(content))
        _, target = _adam(9, steps=1)
        before = _opt_snapshot(target)
        with pytest.raises(nn.CheckpointError, match="does not match its checksum"):
            optim.load(target, bad)
        assert _opt_same(_opt_snapshot(target), before)


# ---------------------------------------------------------------------------------------------
# round trips
@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_model_round_trip_is_bit_exact(tmp_path, suffix, dtype):
    rng = np.random.default_rng(3)
    model = nn.Sequential(nn.Conv2d(2, 3, 3, rng=rng, dtype=dtype), nn.BatchNorm2d(3, dtype=dtype),
                          nn.Flatten(), nn.Linear(3 * 4 * 4, 5, rng=rng, dtype=dtype))
    model(Tensor(rng.standard_normal((2, 2, 6, 6)).astype(dtype))).sum().backward()
    lstm = nn.LSTM(3, 4, num_layers=2, rng=rng, dtype=dtype)
    for m in (model, lstm):
        path = tmp_path / f"{type(m).__name__}{suffix}"
        nn.save(m, path)
        fresh = (nn.Sequential(nn.Conv2d(2, 3, 3, dtype=dtype), nn.BatchNorm2d(3, dtype=dtype),
                               nn.Flatten(), nn.Linear(48, 5, dtype=dtype))
                 if m is model else nn.LSTM(3, 4, num_layers=2, dtype=dtype))
        nn.load(fresh, path)
        assert _same(_snapshot(fresh), _snapshot(m))
        assert all(v.dtype == dtype for k, v in fresh.state_dict().items()
                   if "num_batches" not in k)


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    lambda ps: optim.Adam(ps, lr=0.01, amsgrad=True),
    lambda ps: optim.AdamW(ps, lr=0.01, weight_decay=0.1),
    lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
    lambda ps: optim.Adagrad(ps, lr=0.1, lr_decay=1e-3),
], ids=["sgd", "adam-amsgrad", "adamw", "rmsprop", "adagrad"])
def test_optimizer_round_trip_continues_bit_exact(tmp_path, make):
    """Training interrupted by save/load follows the uninterrupted run bit for bit."""
    def grads(step, params):
        r = np.random.default_rng(1000 + step)
        for p in params:
            p.grad = Tensor(r.standard_normal(p.shape), dtype=p.dtype)

    rng = np.random.default_rng(5)
    init = [rng.standard_normal((3, 2)), rng.standard_normal(2)]
    ref = [Tensor(a.copy(), requires_grad=True) for a in init]
    ref_opt = make(ref)
    for step in range(10):
        grads(step, ref)
        ref_opt.step()
    run = [Tensor(a.copy(), requires_grad=True) for a in init]
    opt = make(run)
    for step in range(5):
        grads(step, run)
        opt.step()
    path = tmp_path / "opt.npz"
    optim.save(opt, path)
    resumed = [Tensor(np.array(p.data), requires_grad=True) for p in run]
    opt2 = make([Tensor(np.zeros_like(p.data), requires_grad=True) for p in run])
    opt2.param_groups[0]["params"] = resumed
    optim.load(opt2, path)
    for step in range(5, 10):
        grads(step, resumed)
        opt2.step()
    for a, b in zip(resumed, ref):
        assert np.array_equal(a.data, b.data)


# ---------------------------------------------------------------------------------------------
# raw exceptions out of nn.load (bugs in nn/serialization.py, reported with their fix)
def _flipped_version_file(tmp_path):
    """A checkpoint whose central-directory 'version needed' field says zip 12.9."""
    m = _trained(0)
    path = tmp_path / "good.npz"
    nn.save(m, path)
    b = bytearray(path.read_bytes())
    cd = b.rindex(b"PK\x01\x02")            # last central directory entry
    b[cd + 6] = 129                           # version needed to extract: 12.9
    bad = tmp_path / "version.npz"
    bad.write_bytes(bytes(b))
    return bad


def _forged_huge_array(tmp_path):
    """A well-formed zip (right CRCs) whose member's .npy header declares 1e11 float64s."""
    m = _trained(0)
    path = tmp_path / "good.npz"
    nn.save(m, path)
    members = _members(path.read_bytes())
    name, data = next((n, d) for n, d in members if n == "0.weight.npy")
    end = data.index(b"\n") + 1
    header = data[:end].replace(b"'shape': (4, 3), ", b"'shape': (100000000000,), ")
    header = header[:end - 1].ljust(end - 1, b" ") + b"\n"
    assert len(header) == end
    members = [(n, header + data[end:] if n == name else d) for n, d in members]
    bad = tmp_path / "bomb.npz"
    bad.write_bytes(_zip_bytes(members))
    return bad


def test_nn_load_wraps_unsupported_zip_features(tmp_path):
    with pytest.raises(nn.CheckpointError, match="cannot read checkpoint"):
        nn.load(_model(7), _flipped_version_file(tmp_path))


def test_nn_load_wraps_forged_huge_array(tmp_path):
    with pytest.raises(nn.CheckpointError, match="cannot read checkpoint"):
        nn.load(_model(7), _forged_huge_array(tmp_path))


def test_optim_load_wraps_damaged_zip_headers(tmp_path):
    """The same two files against optim.load (fixed in optim/optimizer.py)."""
    for bad in (_flipped_version_file(tmp_path), _forged_huge_array(tmp_path)):
        _, opt = _adam(9, steps=1)
        before = _opt_snapshot(opt)
        with pytest.raises(nn.CheckpointError, match="cannot read optimizer checkpoint"):
            optim.load(opt, bad)
        assert _opt_same(_opt_snapshot(opt), before)
