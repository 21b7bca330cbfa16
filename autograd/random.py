"""Random numbers that match PyTorch's CPU generator: same seed, same numbers.

    import autograd
    autograd.manual_seed(0)
    autograd.randn(3)        # the numbers torch.manual_seed(0); torch.randn(3) prints

The engine is torch's (CPUGeneratorImpl): a 32-bit Mersenne Twister (mt19937) seeded with the
low 32 bits of the seed by Knuth's recurrence (init_genrand). A 32-bit draw is one mt19937
output; a 64-bit draw is two, the first as the high word. The outputs come from numpy's own
MT19937 bit generator, whose state is set to the one torch's seeding makes, so that a
1024 x 1024 randn costs a few numpy passes rather than a million Python calls.

On top of the engine sit torch's sampling algorithms (ATen's DistributionsHelper.h,
TransformationHelper.h and cpu/DistributionTemplates.h), each written out below:

- uniform [from, to): float32 takes 24 bits of a 32-bit draw, x = (r & (2^24 - 1)) * 2^-24;
  float64 takes 53 bits of a 64-bit draw. Then fma(x, to - from, from) in the tensor's dtype
  (torch's AVX2/AVX512 build fuses the multiply-add), a result equal to `to` becomes `from`.
- normal: a contiguous tensor of >= 16 elements is filled with uniforms, then every block of
  16 is turned by Box-Muller into 16 normals (u1 = 1 - x[0:8], u2 = x[8:16],
  r = sqrt(-2 log u1), out[0:8] = r cos(2 pi u2), out[8:16] = r sin(2 pi u2)); when the size
  is not a multiple of 16, the last 16 places get 16 fresh uniforms and are redone. For float32
  torch's x86 build computes log, sin and cos with the Cephes polynomials of avx_mathfun.h;
  they are replayed here operation by operation in float32. Smaller or non-contiguous tensors
  take one normal at a time in float64: u1, u2 from two 64-bit draws, r = sqrt(-2 log1p(-u2)),
  theta = 2 pi u1, return r cos(theta) and keep r sin(theta) in the generator for the next
  call (that cached value is part of the generator's state).
- randint / random_(from, to): (r % (to - from)) + from, with a 64-bit draw when
  to - from >= 2^28 and a 32-bit one otherwise.
- randperm(n): the Fisher-Yates shuffle of 0..n-1 forward, swapping i with i + r % (n - i),
  r a 32-bit draw (n < 2^32 / 20); the inside-out variant with 64-bit draws above that.
- bernoulli with a scalar p (and dropout's mask): uniform float64 < p. With a tensor of
  probabilities: uniform float64 < p for float64 p, uniform float32 < p for float32 p.
  (Torch 2.13's CPU build does not use MKL here, so the result depends only on the seed.)
- exponential: -1/lambda * log1p(-u), u uniform float64.
- poisson(rates), one rate at a time in order, each from float64 uniforms (53 bits of a 64-bit
  draw), ATen's sample_poisson: rate >= 10 by Hoermann's transformed rejection (two uniforms a
  try, tries until one is accepted), rate 0 gives 0 with no draw, smaller rates by Knuth's
  product of uniforms (k + 1 uniforms for a sample k). Same seed, same samples as torch.
- multinomial without replacement (or one sample): argmax / top-k of p / q with q ~ Exp(1)
  (the Gumbel trick); with replacement: a binary search of a uniform float64 in the
  cumulative sum of the row, accumulated in the row's dtype and divided by its total.

Where torch calls libm (log, log1p, sin, cos in float64) this module calls Python's `math`,
which uses the same libm: so float64 results agree to the bit on the same machine.

What does not match: torch built without AVX2 (old x86, or ARM such as Apple silicon) computes
float32 normals of >= 16 elements with libm's logf/sinf/cosf instead of the Cephes
polynomials, so its last bit differs in about one value in three (by ~1e-7); this module
always follows the x86 AVX2/AVX512 build. CUDA generators are a different engine (Philox).

The state (`get_state`) is torch's own byte layout (CPUGeneratorImplState, 5056 bytes), so a
state can go from torch to tapegrad and back:
  bytes 0-7      the initial seed (uint64, little-endian)
  bytes 8-11     left (int32): 1 + how many of the 624 words remain before the next twist
  bytes 12-15    seeded (int32, 1)
  bytes 16-23    next (uint64): the index of the next word
  bytes 24-5015  the 624 mt19937 words, each as a uint64
  bytes 5016-5039  three float64: 0, the cached normal (normal_y), 0
  bytes 5040-5043  1 if the cached float64 normal is valid (int32), then 4 bytes of padding
  bytes 5048-5051  the cached float32 normal, bytes 5052-5055 its valid flag and padding.
"""
import math
import os

import numpy as np

from .engine import STATE
from .ops import OPS
from .tensor import Tensor, get_default_dtype

_N = 624                                   # words of mt19937 state
_STATE_SIZE = 5056                         # sizeof(CPUGeneratorImplState)
_LEGACY_STATE_SIZE = 5048                  # sizeof(CPUGeneratorImplStateLegacy)
_DEFAULT_SEED = 67280421310721             # torch's seed for a new torch.Generator()
_U64 = np.uint64
_MASK24 = _U64((1 << 24) - 1)
_MASK53 = _U64((1 << 53) - 1)
_CHUNK = 1 << 16                           # values per pass of the Box-Muller arithmetic


# ---------------------------------------------------------------------------------------------
# the generator
def _parse_seed(seed, fn):
    """A seed as torch's Generator.manual_seed takes it: an int in [-2^63, 2^64), negative
    ones wrapped to their two's complement."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise RuntimeError(f"{fn} expected a long, but got {type(seed).__name__}")
    seed = int(seed)
    if not -(1 << 63) <= seed < (1 << 64):
        raise ValueError(f"{fn}: seed {seed} is out of range: it must fit in 64 bits "
                         f"([-2^63, 2^64))")
    return seed & ((1 << 64) - 1)


def _init_genrand(seed):
    """The 624 words mt19937 starts from after seeding with the low 32 bits of `seed`."""
    key = np.empty(_N, dtype=np.uint32)
    x = seed & 0xFFFFFFFF
    for i in range(_N):
        key[i] = x
        x = (1812433253 * (x ^ (x >> 30)) + i + 1) & 0xFFFFFFFF
    return key


def _nondeterministic_seed():
    return int.from_bytes(os.urandom(8), "little")


class Generator:
    """A random number generator with torch.Generator's CPU interface and numbers.

    Generator(device="cpu"); manual_seed(n) -> self; seed() -> a fresh nondeterministic seed
    (returned); initial_seed() -> the last seed; get_state() -> uint8 Tensor of 5056 bytes in
    torch's layout (see the module docstring); set_state(state) -> self, from such a Tensor,
    a uint8 numpy array or a torch ByteTensor. A new Generator has torch's default seed
    67280421310721.
    """

    def __init__(self, device="cpu"):
        if str(device) != "cpu":
            raise ValueError(f"Generator: only the 'cpu' device is supported, got {device!r}")
        self._bitgen = np.random.MT19937(0)
        self.manual_seed(_DEFAULT_SEED)

    @property
    def device(self):
        return "cpu"

    def __repr__(self):
        return f"<autograd.Generator cpu, initial_seed={self._seed}>"

    def manual_seed(self, seed):
        """Seed the generator (an int; negative seeds wrap to 64 bits, as in torch)."""
        self._set_seed(_parse_seed(seed, "manual_seed"))
        return self

    def seed(self):
        """Seed with a nondeterministic 64-bit number and return it."""
        s = _nondeterministic_seed()
        self._set_seed(s)
        return s

    def initial_seed(self):
        return self._seed

    def _set_seed(self, seed):
        self._seed = seed
        self._set_words(_init_genrand(seed), pos=_N)
        self._unused_next = 0           # torch's `next` right after seeding (left = 1)
        self._normal64 = None           # the cached sin half of a Box-Muller pair
        self._normal32 = None           # torch's float cache; CPU kernels never fill it

    def _set_words(self, key, pos):
        self._bitgen.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": pos}}

    # ------------------------------------------------------------------ raw draws
    def _random32(self, n):
        """n 32-bit draws (as uint64), torch's CPUGeneratorImpl::random()."""
        self._unused_next = None
        if n == 0:
            return np.empty(0, dtype=_U64)
        return self._bitgen.random_raw(int(n))

    def _random64(self, n):
        """n 64-bit draws, torch's random64(): the first 32-bit draw is the high word."""
        raw = self._random32(2 * n)
        return (raw[0::2] << _U64(32)) | raw[1::2]

    # ------------------------------------------------------------------ state
    def get_state(self):
        """torch's CPUGeneratorImplState as a uint8 Tensor of 5056 bytes."""
        st = self._bitgen.state["state"]
        pos = int(st["pos"])
        nxt = self._unused_next if (pos == _N and self._unused_next is not None) else pos
        buf = np.zeros(_STATE_SIZE, dtype=np.uint8)
        buf[0:8].view("<u8")[0] = self._seed
        buf[8:16].view("<i4")[:] = (_N + 1 - pos, 1)
        buf[16:24].view("<u8")[0] = nxt
        buf[24:24 + 8 * _N].view("<u8")[:] = np.asarray(st["key"], dtype=np.uint64)
        if self._normal64 is not None:
            buf[5024:5032].view("<f8")[0] = self._normal64
            buf[5040:5044].view("<i4")[0] = 1
        if self._normal32 is not None:
            buf[5048:5052].view("<f4")[0] = self._normal32
            buf[5052] = 1
        return Tensor(buf)

    def set_state(self, new_state):
        """Restore a state made by get_state (or by torch's get_rng_state)."""
        data = getattr(new_state, "data", None)
        arr = data if isinstance(data, np.ndarray) else new_state
        try:
            arr = np.asarray(arr)
        except Exception:       # noqa: BLE001 - anything that is not array-like
            raise TypeError(f"set_state: the RNG state must be a uint8 Tensor, got "
                            f"{type(new_state).__name__}") from None
        if arr.dtype != np.uint8 or arr.ndim != 1:
            raise TypeError(f"set_state: the RNG state must be a 1-D uint8 (byte) tensor, got "
                            f"dtype {arr.dtype} and shape {arr.shape}")
        if arr.size not in (_STATE_SIZE, _LEGACY_STATE_SIZE):
            raise RuntimeError(f"set_state: expected a CPUGeneratorImplState of size "
                               f"{_STATE_SIZE} (or a legacy one of {_LEGACY_STATE_SIZE}) but "
                               f"found the input RNG state size to be {arr.size}")
        buf = np.ascontiguousarray(arr)
        seed = int(buf[0:8].view("<u8")[0])
        left, seeded = (int(v) for v in buf[8:16].view("<i4"))
        nxt = int(buf[16:24].view("<u8")[0])
        words = buf[24:24 + 8 * _N].view("<u8")
        if not (seeded and 0 < left <= _N and nxt <= _N) or (left > 1 and nxt != _N + 1 - left):
            raise RuntimeError(f"set_state: invalid mt19937 state (left={left}, next={nxt}, "
                               f"seeded={seeded})")
        normal64 = None
        if buf[5040:5044].view("<i4")[0]:
            if arr.size == _STATE_SIZE:
                normal64 = float(buf[5024:5032].view("<f8")[0])
            else:       # the legacy layout keeps x and rho of the pair instead of the sample
                x, rho = buf[5016:5024].view("<f8")[0], buf[5032:5040].view("<f8")[0]
                normal64 = float(rho) * math.sin(2.0 * math.pi * float(x))
        normal32 = None
        if arr.size == _STATE_SIZE and buf[5052]:
            normal32 = float(buf[5048:5052].view("<f4")[0])
        self._seed = seed
        self._set_words((words & _U64(0xFFFFFFFF)).astype(np.uint32),
                        pos=_N if left == 1 else nxt)
        self._unused_next = nxt if left == 1 else None
        self._normal64 = normal64
        self._normal32 = normal32
        return self


default_generator = Generator()
default_generator.seed()        # as torch: the default generator starts from a random seed


def manual_seed(seed):
    """Seed the default generator (torch.manual_seed) and return it. As torch, the seed goes
    through int() first, so 3.7 and "3" seed with 3."""
    return default_generator.manual_seed(int(seed))


def seed():
    """Seed the default generator nondeterministically and return the seed."""
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    """The default generator's state: a uint8 Tensor in torch's layout."""
    return default_generator.get_state()


def set_rng_state(new_state):
    default_generator.set_state(new_state)


def _gen(generator):
    if generator is None:
        return default_generator
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be an autograd.Generator, got "
                        f"{type(generator).__name__}")
    return generator


# ---------------------------------------------------------------------------------------------
# exact float arithmetic that numpy lacks
def _fma32(a, b, c):
    """fma(a, b, c) in float32, rounded once as the hardware does. The float64 product of two
    float32 values is exact; the float64 sum is then corrected where it lands exactly halfway
    between two float32 values, the one case where rounding twice differs from rounding once."""
    s = np.multiply(a, b, dtype=np.float64)
    s += c
    halfway = (s.view(np.uint64) & _U64(0x1FFFFFFF)) == _U64(0x10000000)
    if halfway.any():
        idx = np.flatnonzero(halfway)
        p = np.broadcast_to(np.multiply(a, b, dtype=np.float64), s.shape).reshape(-1)[idx]
        cc = np.broadcast_to(np.asarray(c, np.float64), s.shape).reshape(-1)[idx]
        flat = s.reshape(-1)
        sh = flat[idx]
        bb = sh - p
        err = (p - (sh - bb)) + (cc - bb)                   # sh + err == p + c exactly
        flat[idx] = np.where(err == 0, sh, np.nextafter(sh, np.where(err > 0, np.inf, -np.inf)))
    return s.astype(np.float32)


def _fma64(a, b, c):
    """fma(a, b, c) in float64 by error-free products and sums (Dekker, Knuth): correctly
    rounded except when the exact result is within 2^-100 relative of a rounding boundary."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    c = np.asarray(c, np.float64)
    p = a * b
    t = 134217729.0 * a                                     # Veltkamp split at 2^27 + 1
    ah = t - (t - a)
    al = a - ah
    t = 134217729.0 * b
    bh = t - (t - b)
    bl = b - bh
    perr = ((ah * bh - p) + ah * bl + al * bh) + al * bl    # p + perr == a * b exactly
    s = p + c
    bb = s - p
    serr = (p - (s - bb)) + (c - bb)
    return s + (perr + serr)


def _libm(fn, x):
    """fn (a `math` function, i.e. the C library's) elementwise on a float64 array: numpy's
    own SIMD log/sin/cos differ from libm in the last bit now and then, torch's do not."""
    x = np.asarray(x, np.float64)
    return np.frompyfunc(fn, 1, 1)(x).astype(np.float64) if x.size else x.copy()


# ---------------------------------------------------------------------------------------------
# torch's float32 log, sin and cos of avx_mathfun.h (Cephes), replayed in float32. GCC fuses
# each multiply feeding an add into an fma (-mfma, fp-contract=fast); so do these.
_F = np.float32
_LOG_P = [_F(c) for c in (7.0376836292E-2, -1.1514610310E-1, 1.1676998740E-1,
                          -1.2420140846E-1, 1.4249322787E-1, -1.6668057665E-1,
                          2.0000714765E-1, -2.4999993993E-1, 3.3333331174E-1)]
_LOG_Q1, _LOG_Q2 = _F(-2.12194440e-4), _F(0.693359375)
_DP = [_F(-0.78515625), _F(-2.4187564849853515625e-4), _F(-3.77489497744594108e-8)]
_COSCOF = [_F(2.443315711809948E-005), _F(-1.388731625493765E-003), _F(4.166664568298827E-002)]
_SINCOF = [_F(-1.9515295891E-4), _F(8.3321608736E-3), _F(-1.6666654611E-1)]


def _log256(x):
    """log256_ps for x in (0, 1]."""
    x = np.maximum(x, _F(1.17549435e-38))                          # min normal float
    bits = x.view(np.int32)
    e = ((bits >> 23) - 0x7F).astype(_F) + _F(1)
    x = ((bits & ~0x7F800000) | 0x3F000000).view(_F)               # mantissa in [0.5, 1)
    small = x < _F(0.707106781186547524)
    tmp = np.where(small, x, _F(0))
    x = x - _F(1)
    e = e - np.where(small, _F(1), _F(0))
    x = x + tmp
    z = x * x
    y = np.full_like(x, _LOG_P[0])
    for coef in _LOG_P[1:]:
        y = _fma32(y, x, coef)
    y = y * x
    y = _fma32(y, z, e * _LOG_Q1)
    y = _fma32(-z, _F(0.5), y)
    return _fma32(e, _LOG_Q2, x + y)


def _sincos256(x):
    """sincos256_ps for x >= 0: (sin x, cos x)."""
    j = (x * _F(1.27323954473516)).astype(np.int32)               # x * 4/pi, truncated
    j = (j + 1) & ~1
    y = j.astype(_F)
    for dp in _DP:                                                 # x - j pi/4 in 3 parts
        x = _fma32(y, dp, x)
    sin_negative = (j & 4) != 0
    cos_negative = (~(j - 2) & 4) != 0
    first_poly = (j & 2) == 0
    z = x * x
    yc = np.full_like(x, _COSCOF[0])
    for coef in _COSCOF[1:]:
        yc = _fma32(yc, z, coef)
    yc = yc * z
    yc = _fma32(yc, z, -(z * _F(0.5))) + _F(1)
    ys = np.full_like(x, _SINCOF[0])
    for coef in _SINCOF[1:]:
        ys = _fma32(ys, z, coef)
    ys = _fma32(ys * z, x, x)
    s = np.where(first_poly, ys, yc)
    c = np.where(first_poly, yc, ys)
    return np.where(sin_negative, -s, s), np.where(cos_negative, -c, c)


def _box_muller16_f32(u, mean, std):
    """NormalFill16<float> (AVX2) on rows of 16 float32 uniforms."""
    u = u.reshape(-1, 16)
    radius = np.sqrt(_F(-2) * _log256(_F(1) - u[:, :8]))
    sin, cos = _sincos256(_F(2.0 * math.pi) * u[:, 8:])
    mean, std = _F(mean), _F(std)
    return np.concatenate([_fma32(radius * cos, std, mean),
                           _fma32(radius * sin, std, mean)], axis=1).reshape(-1)


def _box_muller16_f64(u, mean, std):
    """NormalFill16<double> on rows of 16 float64 uniforms, with libm's log, cos, sin."""
    u = u.reshape(-1, 16)
    radius = np.sqrt(-2.0 * _libm(math.log, 1.0 - u[:, :8]))
    theta = (2.0 * math.pi) * u[:, 8:]
    return np.concatenate([_fma64(radius * _libm(math.cos, theta), std, mean),
                           _fma64(radius * _libm(math.sin, theta), std, mean)],
                          axis=1).reshape(-1)


# ---------------------------------------------------------------------------------------------
# sampling: flat arrays of n values, in torch's order of draws
def _uniform01(gen, n, dtype):
    """uniform_real_distribution(0, 1): 24 bits of a 32-bit draw for float32, 53 bits of a
    64-bit draw for float64; exact."""
    if dtype == np.float32:
        return (gen._random32(n) & _MASK24).astype(np.float32) * _F(2.0 ** -24)
    return (gen._random64(n) & _MASK53).astype(np.float64) * 2.0 ** -53


def _uniform(gen, n, low, high, dtype):
    x = _uniform01(gen, n, dtype)
    if dtype == np.float32:
        lo, hi = _F(low), _F(high)
        out = _fma32(x, hi - lo, lo)
    else:
        lo, hi = float(low), float(high)
        out = _fma64(x, hi - lo, lo)
    out[out == hi] = lo         # rounding up to `to` would leave [from, to)
    return out


def _normal_serial(gen, n, mean, std):
    """n samples of at::normal_distribution<double> one at a time (pairs of a Box-Muller
    transform, the second of each pair cached in the generator), as float64."""
    vals = np.empty(n, dtype=np.float64)
    start = 0
    if n and gen._normal64 is not None:
        vals[0] = gen._normal64
        gen._normal64 = None
        start = 1
    pairs = (n - start + 1) // 2
    if pairs:
        u = _uniform01(gen, 2 * pairs, np.float64)
        r = np.sqrt(-2.0 * _libm(math.log1p, -u[1::2]))
        theta = (2.0 * math.pi) * u[0::2]
        both = np.empty(2 * pairs, dtype=np.float64)
        both[0::2] = r * _libm(math.cos, theta)
        both[1::2] = r * _libm(math.sin, theta)
        vals[start:] = both[:n - start]
        if (n - start) % 2:
            gen._normal64 = float(both[-1])
    return _fma64(vals, float(std), float(mean))


def _normal_block(gen, n, mean, std, dtype):
    """torch's normal_fill: n >= 16 values of a contiguous tensor."""
    u = _uniform01(gen, n, dtype)
    box = _box_muller16_f32 if dtype == np.float32 else _box_muller16_f64
    full = n - n % 16
    out = np.empty(n, dtype=dtype)
    for i in range(0, full, _CHUNK):    # cache-sized passes: 1024 x 1024 in 44 ms, not 59
        j = min(i + _CHUNK, full)
        out[i:j] = box(u[i:j], mean, std)
    if n % 16:
        out[n - 16:] = box(_uniform01(gen, 16, dtype), mean, std)
    return out


def _randint(gen, n, low, high):
    """uniform_int_from_to_distribution: values in [low, high) as int64 (unbounded Python
    ints would overflow only for ranges torch rejects too)."""
    span = high - low
    r = gen._random64(n) if span >= (1 << 28) else gen._random32(n)
    return (r % _U64(span)).astype(np.int64) + np.int64(low)


def _exponential(gen, n, lambd):
    u = _uniform01(gen, n, np.float64)
    return (-1.0 / lambd) * _libm(math.log1p, -u)


def _randperm(gen, n):
    """randperm_cpu: for n < 2^32 / 20 the forward Fisher-Yates shuffle with 32-bit draws;
    beyond, the inside-out shuffle with 64-bit draws (as torch; far beyond what fits here)."""
    if n < (1 << 32) // 20:
        z = (gen._random32(max(n - 1, 0)) % np.arange(n, 1, -1, dtype=_U64)).tolist()
        perm = list(range(n))
        for i, zi in enumerate(z):             # each swap depends on the previous ones
            j = i + zi
            perm[i], perm[j] = perm[j], perm[i]
        return np.array(perm, dtype=np.int64)
    z = (gen._random64(n) % np.arange(1, n + 1, dtype=_U64)).tolist()
    perm = list(range(n))
    for i, zi in enumerate(z):
        perm[i] = perm[zi]
        perm[zi] = i
    return np.array(perm, dtype=np.int64)


# ---------------------------------------------------------------------------------------------
# in-place fills of numpy arrays, for Tensor.normal_(), uniform_()... (torch's kernels)
def _writable(arr, fn):
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{fn}: expected a numpy array, got {type(arr).__name__}")
    if not arr.flags.writeable:
        raise ValueError(f"{fn}: the array is read-only (a broadcast view?); fill a copy")
    return arr


def _float_kind(arr, fn):
    if arr.dtype not in (np.float32, np.float64):
        raise NotImplementedError(f"{fn}: not implemented for dtype {arr.dtype}; use float32 "
                                  f"or float64")


def _assign(arr, values):
    """Write values (flat, in torch's iteration order) into arr. Torch iterates over memory:
    for a strided view that means the axes ordered from the largest stride to the smallest."""
    if arr.flags.c_contiguous:
        arr.reshape(-1)[...] = values
        return arr
    order = sorted(range(arr.ndim), key=lambda k: -abs(arr.strides[k]))
    view = arr.transpose(order)
    view[...] = np.asarray(values).reshape(view.shape)
    return arr


def _uniform_fill(arr, low=0.0, high=1.0, generator=None):
    """Tensor.uniform_(low, high) on a float numpy array, in place; returns it."""
    fn = "uniform_"
    _writable(arr, fn)
    _float_kind(arr, fn)
    low, high = float(low), float(high)
    if not low <= high:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                           f"from={low:g} > to={high:g}")
    limit = float(np.finfo(arr.dtype).max)
    if high - low > limit:
        raise RuntimeError(f"uniform_ expects to-from <= {limit:g} ({arr.dtype}), but found "
                           f"to={high:g} and from={low:g}")
    if arr.size == 0:
        return arr
    return _assign(arr, _uniform(_gen(generator), arr.size, low, high, arr.dtype.type))


def _normal_fill(arr, mean=0.0, std=1.0, generator=None):
    """Tensor.normal_(mean, std) on a float numpy array, in place; returns it."""
    fn = "normal_"
    _writable(arr, fn)
    _float_kind(arr, fn)
    if not std >= 0.0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
    gen = _gen(generator)
    n = arr.size
    if n >= 16 and arr.flags.c_contiguous:
        arr.reshape(-1)[...] = _normal_block(gen, n, float(mean), float(std), arr.dtype.type)
        return arr
    if n == 0:
        return arr
    return _assign(arr, _normal_serial(gen, n, mean, std).astype(arr.dtype))


def _exponential_fill(arr, lambd=1.0, generator=None):
    """Tensor.exponential_(lambd) on a float numpy array, in place; returns it."""
    fn = "exponential_"
    _writable(arr, fn)
    _float_kind(arr, fn)
    if not lambd > 0.0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd:g}")
    if arr.size == 0:
        return arr
    return _assign(arr, _exponential(_gen(generator), arr.size, float(lambd)).astype(arr.dtype))


_INT_MODULUS = {np.dtype(np.int64): 1 << 63, np.dtype(np.int32): 1 << 31,
                np.dtype(np.int16): 1 << 15, np.dtype(np.int8): 1 << 7,
                np.dtype(np.uint8): 1 << 8, np.dtype(np.float32): (1 << 24) + 1,
                np.dtype(np.float64): (1 << 53) + 1}


def _random_fill(arr, low=None, high=None, generator=None):
    """Tensor.random_(): random_() fills with [0, 2^mantissa] (floats) or [0, max] (ints);
    random_(high) with [0, high); random_(low, high) with [low, high). In place; returns it."""
    fn = "random_"
    _writable(arr, fn)
    gen = _gen(generator)
    if low is not None and high is None:
        low, high = 0, low
    if high is None:
        if arr.dtype == np.bool_:
            return _assign(arr, (gen._random32(arr.size) & _U64(1)).astype(bool))
        if arr.dtype not in _INT_MODULUS:
            raise NotImplementedError(f"random_: not implemented for dtype {arr.dtype}")
        wide = arr.dtype in (np.int64, np.float64)
        r = gen._random64(arr.size) if wide else gen._random32(arr.size)
        return _assign(arr, (r % _U64(_INT_MODULUS[arr.dtype])).astype(arr.dtype))
    for name, v in (("from", low), ("to", high)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"random_: '{name}' must be an int, got {type(v).__name__}")
    low, high = int(low), int(high)
    if not low < high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} "
                           f">= to={high}")
    if arr.dtype.kind in "iub":
        info = np.iinfo(arr.dtype) if arr.dtype != np.bool_ else None
        lo_ok = 0 if info is None else info.min
        hi_ok = 2 if info is None else info.max + 1
        if low < lo_ok or high > hi_ok:
            raise RuntimeError(f"random_ expects [from, to) within the range of {arr.dtype} "
                               f"[{lo_ok}, {hi_ok}), got from={low} to={high}")
    if high - low >= (1 << 64):
        raise RuntimeError(f"random_: the range [{low}, {high}) is wider than 2^64")
    if arr.size == 0:
        return arr
    return _assign(arr, _randint(gen, arr.size, low, high).astype(arr.dtype))


def _bernoulli_fill(arr, p=0.5, generator=None):
    """Tensor.bernoulli_(p): 1 with probability p, else 0, in place; returns it. p is a number
    (uniform float64 < p) or an array broadcastable to arr (float64 p: uniform float64 < p;
    float32 p: uniform float32 < p)."""
    fn = "bernoulli_"
    _writable(arr, fn)
    gen = _gen(generator)
    if isinstance(p, (int, float, np.integer, np.floating)) and not isinstance(p, bool):
        p = float(p)
        if not 0.0 <= p <= 1.0:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p:g}")
        if arr.size == 0:
            return arr
        return _assign(arr, (_uniform01(gen, arr.size, np.float64) < p).astype(arr.dtype))
    p = np.asarray(getattr(p, "data", p))
    if p.dtype not in (np.float32, np.float64):
        raise NotImplementedError(f"bernoulli_: probabilities of dtype {p.dtype} are not "
                                  f"supported; use float32 or float64")
    try:
        p = np.broadcast_to(p, arr.shape)
    except ValueError:
        raise RuntimeError(f"bernoulli_: probabilities of shape {p.shape} do not broadcast to "
                           f"the tensor's shape {arr.shape}") from None
    if p.size and not ((p >= 0) & (p <= 1)).all():
        raise RuntimeError(f"bernoulli: every probability must be in [0, 1], got values in "
                           f"[{p.min():g}, {p.max():g}]")
    if arr.size == 0:
        return arr
    if not arr.flags.c_contiguous:     # iterate over memory, as torch does; p follows arr
        order = sorted(range(arr.ndim), key=lambda k: -abs(arr.strides[k]))
        p = p.transpose(order)
    u = _uniform01(gen, arr.size, p.dtype.type)
    return _assign(arr, (u < p.reshape(-1)).astype(arr.dtype))


# ---------------------------------------------------------------------------------------------
# Tensor-returning functions with torch's signatures
def _size(size, kw_size, fn):
    """torch's size arguments: ints, one tuple/list of ints, or size=..."""
    if kw_size is not None:
        if size:
            raise TypeError(f"{fn}(): got the size both positionally and as size=")
        size = (kw_size,)
    if not size and fn in ("randn", "rand"):
        raise TypeError(f"{fn}() missing the size: pass ints, a tuple or size=")
    if len(size) == 1 and hasattr(size[0], "__len__") and not isinstance(size[0], str):
        size = tuple(size[0])
    for s in size:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"{fn}(): argument 'size' must be a tuple of ints, but found an "
                            f"element of type {type(s).__name__}")
    size = tuple(int(s) for s in size)
    if any(s < 0 for s in size):
        raise RuntimeError(f"Trying to create tensor with negative dimension "
                           f"{min(size)}: {list(size)}")
    return size


def _dtype(dtype, fn, floating=True, default=None):
    if dtype is None:
        return np.dtype(default if default is not None else get_default_dtype())
    dt = np.dtype(dtype)
    if floating and dt not in (np.float32, np.float64):
        raise NotImplementedError(f"{fn}: not implemented for dtype {dt}; use float32 or "
                                  f"float64")
    return dt


def _check_device(device, fn):
    if device is not None and str(device) != "cpu":
        raise ValueError(f"{fn}: only device='cpu' is supported, got {device!r}")


def _tensor(arr, requires_grad):
    return Tensor(arr, requires_grad=requires_grad)


def randn(*size, generator=None, dtype=None, requires_grad=False, device=None, **kw):
    """Samples of N(0, 1), shape `size` (ints or a tuple), dtype float32 by default
    (get_default_dtype()); torch.randn's numbers for the same seed."""
    size = _size(size, kw.pop("size", None), "randn")
    _no_extra(kw, "randn")
    _check_device(device, "randn")
    return _drawn(_draw_normal, size, _dtype(dtype, "randn"), generator, requires_grad)


def rand(*size, generator=None, dtype=None, requires_grad=False, device=None, **kw):
    """Samples of U[0, 1), shape `size`; torch.rand's numbers for the same seed."""
    size = _size(size, kw.pop("size", None), "rand")
    _no_extra(kw, "rand")
    _check_device(device, "rand")
    return _drawn(_draw_uniform, size, _dtype(dtype, "rand"), generator, requires_grad)


def _draw_normal(shape, dtype, generator):
    """N(0, 1) samples of `shape`."""
    return _normal_fill(np.empty(shape, dtype=dtype), 0.0, 1.0, generator)


def _draw_uniform(shape, dtype, generator):
    """U[0, 1) samples of `shape`."""
    return _uniform_fill(np.empty(shape, dtype=dtype), 0.0, 1.0, generator)


_draw_normal.draws_random_numbers = _draw_uniform.draws_random_numbers = True


def _drawn(draw, size, dtype, generator, requires_grad):
    """draw's samples as a tensor: an op of the numpy row with no input (a constant), which
    a compiled function calls anew at each call (a GAN's noise drawn inside its training
    step), as eager code draws anew; a leaf that requires grad otherwise."""
    if requires_grad:
        return _tensor(draw(size, dtype, generator), True)
    return Tensor._apply(OPS["numpy"], (draw, {"shape": size, "dtype": dtype,
                                               "generator": generator}))


def _no_extra(kw, fn):
    if kw:
        raise TypeError(f"{fn}() got an unexpected keyword argument {next(iter(kw))!r}")


def randint(*args, size=None, generator=None, dtype=None, requires_grad=False, device=None,
            low=None, high=None):
    """Integers uniform in [low, high): randint(high, size) or randint(low, high, size);
    int64 unless dtype is given. torch.randint's numbers for the same seed."""
    args = list(args)
    if size is None and args and isinstance(args[-1], (tuple, list)):
        size = args.pop()
    if low is not None:
        args = [low] + args
    if high is not None:
        args = args + [high]
    if len(args) == 1:
        low, high = 0, args[0]
    elif len(args) == 2:
        low, high = args
    else:
        raise TypeError("randint() takes randint(high, size) or randint(low, high, size), got "
                        f"{len(args)} bounds")
    if size is None:
        raise TypeError("randint() missing the argument 'size' (a tuple of ints)")
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"randint(): argument 'size' must be a tuple of ints, not "
                        f"{type(size).__name__}")
    for name, v in (("low", low), ("high", high)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"randint(): argument '{name}' must be int, not "
                            f"{type(v).__name__}")
    _check_device(device, "randint")
    arr = np.empty(_size((size,), None, "randint"),
                   dtype=_dtype(dtype, "randint", floating=False, default=np.int64))
    _random_fill(arr, int(low), int(high), generator)
    return _tensor(arr, requires_grad)


def randperm(n, generator=None, dtype=None, requires_grad=False, device=None):
    """A random permutation of 0..n-1 (int64 unless dtype is given); torch.randperm's for the
    same seed. The shuffle is sequential: about 0.3 s per million elements."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"randperm(): argument 'n' must be int, not {type(n).__name__}")
    n = int(n)
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    _check_device(device, "randperm")
    dt = _dtype(dtype, "randperm", floating=False, default=np.int64)
    return _tensor(_randperm(_gen(generator), n).astype(dt), requires_grad)


def _array_of(x):
    return x._data if isinstance(x, Tensor) else None


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, requires_grad=False,
           device=None):
    """Samples of N(mean, std^2), torch.normal's overloads:
      normal(mean: Tensor, std: Tensor)  shape broadcast(mean, std): randn * std + mean
      normal(mean: Tensor, std: float)   mean's shape: (randn * std) + mean
      normal(mean: float, std: Tensor)   std's shape: randn * std + mean
      normal(mean: float, std: float, size)  a fresh tensor of `size`
    dtype follows the tensor argument (float32 by default for the last form)."""
    _check_device(device, "normal")
    gen = _gen(generator)
    m, s = _array_of(mean), _array_of(std)
    if m is None and isinstance(mean, np.ndarray):
        m = mean
    if s is None and isinstance(std, np.ndarray):
        s = std
    if m is None and s is None:
        if size is None:
            raise TypeError("normal(mean: float, std: float) needs a size: normal(mean, std, "
                            "size)")
        arr = np.empty(_size((size,), None, "normal"), dtype=_dtype(dtype, "normal"))
        _normal_fill(arr, float(mean), float(std), gen)
        return _tensor(arr, requires_grad)
    if size is not None:
        raise TypeError("normal(): size is only taken with a float mean and a float std")
    if s is not None and s.size and not (s >= 0).all():
        raise RuntimeError("normal expects all elements of std >= 0.0")
    ref = m if m is not None else s
    dt = ref.dtype if ref.dtype.kind == "f" else np.dtype(get_default_dtype())
    if dtype is not None:
        dt = _dtype(dtype, "normal")
    if m is not None and s is None:
        out = np.empty(m.shape, dtype=dt)
        _normal_fill(out, 0.0, float(std), gen)
        return _tensor((out + m.astype(dt)).astype(dt), requires_grad)
    shape = np.broadcast_shapes(s.shape, () if m is None else m.shape)
    out = np.empty(shape, dtype=dt)
    _normal_fill(out, 0.0, 1.0, gen)
    out = (out * s.astype(dt)).astype(dt)
    mean_arr = m.astype(dt) if m is not None else dt.type(mean)
    return _tensor((out + mean_arr).astype(dt), requires_grad)


def _probabilities(input, fn, error=RuntimeError):
    p = _array_of(input)
    p = np.asarray(input) if p is None else p
    if p.dtype.kind != "f":
        raise error(f"{fn} only supports floating-point dtypes for input, got: "
                           f"{p.dtype}")
    return p


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """num_samples indices per row of `input` (1-D or 2-D, non-negative weights, not
    necessarily normalized), drawn as torch.multinomial draws them; int64.
    Without replacement, rows with fewer nonzero weights than num_samples fill up with
    zero-weight indices in index order (torch leaves that order to its top-k)."""
    p = _probabilities(input, "multinomial")
    gen = _gen(generator)
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)):
        raise TypeError(f"multinomial(): argument 'num_samples' must be int, not "
                        f"{type(num_samples).__name__}")
    k = int(num_samples)
    if p.ndim not in (1, 2):
        raise RuntimeError(f"prob_dist must be 1 or 2 dim, got shape {p.shape}")
    if k <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    n_cat = p.shape[-1]
    if not replacement and k > n_cat:
        raise RuntimeError(f"cannot sample n_sample > prob_dist.size(-1) samples without "
                           f"replacement (n_sample={k}, prob_dist.size(-1)={n_cat})")
    rows = p.reshape(-1, n_cat)
    if not replacement or k == 1:
        if rows.size == 0 or not (np.max(rows) < np.inf and np.min(rows) >= 0):
            raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
        if (rows.sum(axis=1) == 0).any():
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        q = _exponential(gen, rows.size, 1.0).astype(rows.dtype).reshape(rows.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            score = rows / q
        idx = np.argsort(-score, axis=1, kind="stable")[:, :k]
    else:
        bad = ~(rows >= 0) | ~np.isfinite(rows)
        if bad.any():
            first = rows.reshape(-1)[np.argmax(bad.reshape(-1))]
            what = "< 0" if not first >= 0 else "= infinity or NaN"
            raise RuntimeError(f"invalid multinomial distribution (encountering probability "
                               f"entry {what})")
        cum = np.cumsum(rows, axis=1, dtype=rows.dtype)     # sequential, in the row's dtype
        total = cum[:, -1:].copy()
        if (total <= 0).any():
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        cum = (cum / total).astype(np.float64)
        cum[:, -1] = 1.0
        u = _uniform01(gen, rows.shape[0] * k, np.float64).reshape(rows.shape[0], k)
        idx = np.stack([np.searchsorted(c, ui, side="left") for c, ui in zip(cum, u)])
    idx = idx.astype(np.int64)
    return Tensor(idx.reshape(k) if p.ndim == 1 else idx)


def bernoulli(input, p=None, *, generator=None):
    """bernoulli(input): 1 with probability input[i] (each in [0, 1]), else 0; same shape and
    dtype as input. bernoulli(input, p): probability p for every element, input gives only the
    shape and dtype. torch.bernoulli's numbers for the same seed."""
    probs = _probabilities(input, "bernoulli", NotImplementedError)
    # torch's empty_like keeps a permuted layout but not an expanded one (stride 0), which
    # numpy's keeps: the draws fill memory in order, so the layout decides which gets which
    out = np.empty_like(probs, order="C" if 0 in probs.strides else "K")
    _bernoulli_fill(out, probs if p is None else p, generator)
    return Tensor(out)


def _like(input, dtype, fn, floating=True):
    arr = _array_of(input)
    arr = np.asarray(input) if arr is None else arr
    dt = arr.dtype if dtype is None else np.dtype(dtype)
    if floating and dt not in (np.float32, np.float64):
        raise NotImplementedError(f"{fn}: not implemented for dtype {dt}; use float32 or "
                                  f"float64")
    return np.empty_like(arr, dtype=dt)


def _draw_normal_like(arr, dtype, generator):
    if type(arr) is not np.ndarray:
        from .source import NoSource        # autograd.compile writes a call: a draw per call
        raise NoSource("a random draw")
    return _normal_fill(_like(arr, dtype, "randn_like"), 0.0, 1.0, generator)


def _draw_uniform_like(arr, dtype, generator):
    if type(arr) is not np.ndarray:
        from .source import NoSource
        raise NoSource("a random draw")
    return _uniform_fill(_like(arr, dtype, "rand_like"), 0.0, 1.0, generator)


_draw_normal_like.draws_random_numbers = _draw_uniform_like.draws_random_numbers = True


def _drawn_like(draw, input, dtype, generator, requires_grad, fn):
    """The samples of `draw` shaped like `input`. From a Tensor, as an op of the numpy row (no
    gradient): a compiled function then draws anew at each call (the noise of a VAE's
    reparameterization), as eager code does."""
    if isinstance(input, Tensor) and not requires_grad:
        _like(input._data, dtype, fn)       # its errors, before any draw
        return Tensor._apply(OPS["numpy"], (draw, {"dtype": dtype, "generator": generator}),
                             input)
    return _tensor(draw(_like(input, dtype, fn), None, generator), requires_grad)


def randn_like(input, *, generator=None, dtype=None, requires_grad=False):
    """randn with input's shape and dtype (torch.randn_like)."""
    return _drawn_like(_draw_normal_like, input, dtype, generator, requires_grad, "randn_like")


def rand_like(input, *, generator=None, dtype=None, requires_grad=False):
    """rand with input's shape and dtype (torch.rand_like)."""
    return _drawn_like(_draw_uniform_like, input, dtype, generator, requires_grad, "rand_like")


def randint_like(input, low=0, high=None, *, generator=None, dtype=None, requires_grad=False):
    """randint with input's shape and dtype: randint_like(input, high) or
    randint_like(input, low, high) (torch.randint_like)."""
    if high is None:
        low, high = 0, low
    arr = _like(input, dtype, "randint_like", floating=False)
    return _tensor(_random_fill(arr, low, high, generator), requires_grad)


def _poisson_one(gen, rate):
    """One sample of Poisson(rate), ATen's sample_poisson (Distributions.h) step by step."""
    def uniform():
        return float(_uniform01(gen, 1, np.float64)[0])
    if rate >= 10:
        # transformed rejection with squeeze (Hoermann 1993, PTRS)
        slam = math.sqrt(rate)
        loglam = math.log(rate)
        b = 0.931 + 2.53 * slam
        a = -0.059 + 0.02483 * b
        invalpha = 1.1239 + 1.1328 / (b - 3.4)
        vr = 0.9277 - 3.6224 / (b - 2)
        while True:
            u = uniform() - 0.5
            v = uniform()
            us = 0.5 - abs(u)
            k = math.floor((2 * a / us + b) * u + rate + 0.43)
            if us >= 0.07 and v <= vr:
                return k
            if k < 0 or (us < 0.013 and v > us):
                continue
            # v = 0 would be log(0): torch's -inf accepts, which Python's math.log refuses
            log_v = math.log(v) if v > 0 else -math.inf
            if log_v + math.log(invalpha) - math.log(a / (us * us) + b) <= \
                    -rate + k * loglam - math.lgamma(k + 1.0):
                return k
    if rate == 0:
        return 0
    enlam = math.exp(-rate)
    x, prod = 0, 1.0
    while True:
        prod *= uniform()
        if prod > enlam:
            x += 1
        else:
            return x


def _draw_poisson(rates, generator):
    if type(rates) is not np.ndarray:
        from .source import NoSource        # autograd.compile writes a call: a draw per call
        raise NoSource("a random draw")
    gen = _gen(generator)
    flat = rates.reshape(-1)
    out = np.empty(flat.shape, dtype=rates.dtype)
    for i, rate in enumerate(flat.tolist()):
        out[i] = _poisson_one(gen, rate)
    return out.reshape(rates.shape)


_draw_poisson.draws_random_numbers = True


def poisson(input, generator=None):
    """Samples of Poisson(rate) for each rate in the float tensor input (>= 0), in its dtype
    and shape: torch.poisson's numbers for the same seed (see the module docstring). The
    samples take no gradient: an input that requires grad gets a zero gradient, as torch's
    PoissonBackward0 gives."""
    from .tensor import where
    if not isinstance(input, Tensor):
        raise TypeError(f"poisson(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f"\"poisson_cpu\" not implemented for "
                                  f"'{input.dtype._scalar_name}'")
    if np.any(~(input._data >= 0)):
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    _gen(generator)
    samples = Tensor._apply(OPS["numpy"], (_draw_poisson, {"generator": generator}), input)
    if not (input.requires_grad and STATE.grad_enabled):
        return samples
    # a link of zero gradient to the rates, so the result requires grad as torch's does
    never = Tensor._node(np.zeros((), dtype=bool))
    return where(never, input, samples)


__all__ = ["Generator", "default_generator", "manual_seed", "seed", "initial_seed",
           "get_rng_state", "set_rng_state", "randn", "rand", "randint", "randperm", "normal",
           "multinomial", "bernoulli", "poisson", "randn_like", "rand_like", "randint_like"]
