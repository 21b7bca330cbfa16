"""`nn.save(module, path)` and `nn.load(module, path)`: a state_dict in a file that loads
without pickle.

Format: `.npz` by default (numpy's zip of .npy arrays, read with allow_pickle=False), or
`.safetensors` when the path ends so. Either way a SHA-256 of each entry (its bytes, dtype and
shape) is stored along under the entry's name: zip's CRC-32 covers a member's bytes but not its
name, so without it two same-shaped entries renamed onto each other would load swapped. A format
tag is stored too, so an unrelated file is refused by name.

Loading is all or nothing: the whole file is read and checked, then `load_state_dict` checks
every key and shape, and only then assigns. A truncated, corrupted or foreign file raises
`CheckpointError` (a ValueError) naming the file; the module is left untouched.
"""
import hashlib
import json
import os

import numpy as np

from autograd.checkpoint import UNREADABLE, CheckpointError  # noqa: F401 (nn.CheckpointError)

_TAG_KEY = "__tapegrad__"
_TAG = "tapegrad-nn-state-1"
_DIGESTS_KEY = "__tapegrad_sha256__"


def _is_safetensors(path):
    return os.fspath(path).endswith(".safetensors")


def _digest(arr):
    arr = np.require(arr, requirements="C")
    return hashlib.sha256(arr.tobytes() + str(arr.dtype).encode() +
                          str(arr.shape).encode()).hexdigest()


def save(module, path):
    """Write module.state_dict() to path (.npz, or .safetensors). The file is written to a
    temporary name and then renamed, so an interrupted save never leaves a half-written file
    under `path`. Returns the path."""
    state = module.state_dict()
    for key in state:
        if key in (_TAG_KEY, _DIGESTS_KEY):
            raise ValueError(f"save: the state_dict key '{key}' is reserved")
    path = os.fspath(path)
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        if _is_safetensors(path):
            from safetensors.numpy import save_file
            arrays = {k: np.require(v, requirements="C") for k, v in state.items()}
            meta = {_TAG_KEY: _TAG}
            meta.update({f"sha256:{k}": _digest(v) for k, v in arrays.items()})
            save_file(arrays, tmp, metadata=meta)
        else:
            digests = json.dumps({k: _digest(np.asarray(v)) for k, v in state.items()})
            with open(tmp, "wb") as f:       # a file object: numpy adds no '.npz' suffix
                np.savez(f, **{_TAG_KEY: np.array(_TAG), _DIGESTS_KEY: np.array(digests)},
                         **state)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def _read_npz(path):
    try:
        # our own handle: np.load(path) leaks its file when the archive is broken
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as z:
            # reading every member now (not lazily) makes zip verify each CRC before we return
            arrays = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise
    except UNREADABLE as e:      # TypeError, AttributeError: a bare .npy has no context manager
        raise CheckpointError(f"cannot read checkpoint '{path}': the file is truncated, "
                              f"corrupted or not an .npz file ({type(e).__name__}: {e})") \
            from None
    tag = arrays.pop(_TAG_KEY, None)
    if tag is None or tag.shape != () or str(tag) != _TAG:
        raise CheckpointError(f"'{path}' is an .npz file but not a tapegrad nn checkpoint (no "
                              f"'{_TAG_KEY}' tag); was it written by nn.save?")
    digests = arrays.pop(_DIGESTS_KEY, None)
    try:
        digests = json.loads(str(digests)) if digests is not None and digests.shape == () \
            else None
    except ValueError:
        digests = None
    if not isinstance(digests, dict):
        raise CheckpointError(f"checkpoint '{path}' is corrupted: its table of checksums "
                              f"('{_DIGESTS_KEY}') is missing or unreadable")
    _verify(path, arrays, digests.get)
    return arrays


def _verify(path, arrays, digest_of):
    """Every entry present in the table of checksums, and matching it; no entry missing."""
    for k, v in arrays.items():
        if digest_of(k) != _digest(v):
            raise CheckpointError(f"checkpoint '{path}' is corrupted: entry '{k}' does not "
                                  f"match its checksum")


def _read_safetensors(path):
    from safetensors import safe_open
    try:
        with safe_open(path, framework="numpy") as f:
            meta = f.metadata() or {}
            arrays = {k: f.get_tensor(k) for k in f.keys()}
    except FileNotFoundError:
        raise
    except Exception as e:          # noqa: BLE001 (safetensors raises its own error types)
        raise CheckpointError(f"cannot read checkpoint '{path}': the file is truncated, "
                              f"corrupted or not a .safetensors file ({type(e).__name__}: {e})"
                              ) from None
    if meta.get(_TAG_KEY) != _TAG:
        raise CheckpointError(f"'{path}' is a .safetensors file but not a tapegrad nn "
                              f"checkpoint (no '{_TAG_KEY}' metadata); was it written by "
                              f"nn.save?")
    _verify(path, arrays, lambda k: meta.get(f"sha256:{k}"))
    return arrays


def load_state(path):
    """The state_dict stored in a checkpoint file, fully read and verified."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint file at '{path}'")
    return _read_safetensors(path) if _is_safetensors(path) else _read_npz(path)


def load(module, path, strict=True):
    """Load a checkpoint written by `save` into module (in place) and return the module.
    File problems raise CheckpointError; missing, unexpected (strict) or wrongly shaped keys
    raise nn.StateDictError naming them. Either way nothing is assigned."""
    module.load_state_dict(load_state(path), strict=strict)
    return module
