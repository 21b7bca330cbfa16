"""What the checkpoint files of `nn` (nn.save / nn.load) and `optim` (optim.save / optim.load)
share: the error a damaged file raises, and what reading one can raise on the way. It lives
here, below both packages, so that optim does not import nn."""
import struct
import zipfile
import zlib


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read: truncated, corrupted, or not ours."""


# What a damaged .npz can raise from np.load: a flipped zip version, compression or flag field
# (NotImplementedError), a forged .npy header declaring 1e11 floats (MemoryError), bad deflate
# data (zlib.error)...
UNREADABLE = (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError, TypeError,
              AttributeError, NotImplementedError, RuntimeError, zlib.error, struct.error,
              OverflowError, MemoryError)
