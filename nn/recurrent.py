"""Recurrent layers with PyTorch's gate equations and parameter layout.

Every cell holds `weight_ih` (G*H, I), `weight_hh` (G*H, H), `bias_ih` and `bias_hh` (G*H,), the
G gates stacked along the first axis in PyTorch's order, so weights copied from torch give the
same outputs. With x the input, h the hidden state and W_*, b_* the blocks of those arrays:

    RNN   h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh),  act = tanh or relu
    LSTM  i, f, g, o = split(x W_ih^T + b_ih + h W_hh^T + b_hh)      (G = 4)
          c' = sigmoid(f) * c + sigmoid(i) * tanh(g)
          h' = sigmoid(o) * tanh(c')
    GRU   r = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr)             (G = 3)
          z = sigmoid(x W_iz^T + b_iz + h W_hz^T + b_hz)
          n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))
          h' = (1 - z) * n + z * h

All gates of a step come from one matmul with W_hh (and one with W_ih): torch's stacked layout
is exactly what makes that possible, and it is most of the speed of a step. `RNN`, `LSTM` and
`GRU` run the cell over a sequence with a Python loop over time only (vectorized over the
batch); backpropagation through time needs no recursion because the engine replays a flat tape.
`LSTM` runs each layer as one row of the op table (lstm_layer, autograd/ops_nn.py) whose loop
over time is inside its forward and its VJPs, so that W_hh's gradient is one product over all
steps; `LSTMCell` keeps the cell's two rows, one step at a time.
"""
import math

import numpy as np

from autograd import Tensor
from autograd.dtypes import matmul_dtype
from autograd.ops import OPS

from . import init
from .layers import _dtype
from .module import Module, Parameter
from .utils.rnn import PackedSequence, _ints

_GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}


def _input(x, like):
    """A Tensor as it is; a numpy array or list as a constant Tensor of the layer's dtype
    (`like`, its weight): torch refuses arrays, tapegrad takes them, and its matmul, like
    torch's, needs both sides in one dtype."""
    if isinstance(x, Tensor):
        return x
    arr = np.asarray(x)
    return Tensor(arr.astype(like._data.dtype) if arr.dtype.kind in "fiub" else arr)


def _linear(x, weight, bias):
    from autograd.functional import linear      # lazily, as _stack
    return linear(x, weight, bias)


def _concat(tensors):
    """The tensors joined along axis 0; one tensor as it is (no node)."""
    if len(tensors) == 1:
        return tensors[0]
    from autograd.functional import concatenate      # lazily, as _stack
    return concatenate(tensors, 0)


def _stack(tensors, axis):
    from autograd.functional import stack      # lazily: functional imports nothing from nn
    return stack(tensors, axis)


# ---------------------------------------------------------------------------------------------
# one time step: gx is the input's contribution x W_ih^T + bias (bias_ih + bias_hh where they
# simply add), w_hh_t is W_hh^T (transposed once per sequence, not once per step)
def _rnn_step(gx, h, w_hh_t, nonlinearity):
    pre = gx if h is None else gx + h @ w_hh_t
    return pre.tanh() if nonlinearity == "tanh" else pre.relu()


def _lstm_step(gx, h, c, w_hh_t, hidden):
    """(h', c') from gates = gx + h W_hh^T. h and c None mean zeros (h: skips two ops)."""
    gates = gx if h is None else gx + h @ w_hh_t
    if c is None:
        c = Tensor(np.zeros(gates.shape[:-1] + (hidden,), dtype=gates.dtype))
    c_new = _LSTM_C(gates, c, ctx={})
    return _LSTM_H(gates, c_new, ctx={}), c_new


# The LSTM cell's two rows of the op table (autograd/ops_nn.py): one node each for c' and h'
# instead of the 11 slicing and elementwise nodes of the composite.
_LSTM_C, _LSTM_H = OPS["lstm_c"], OPS["lstm_h"]
# nn.LSTM's layer over a whole sequence, one row (autograd/ops_nn.py)
_LSTM_LAYER = OPS["lstm_layer"]


def _gru_step(gx, h, w_hh_t, b_hh, hidden):
    """h' with gx = x W_ih^T + b_ih; b_hh stays inside r * (h W_hn^T + b_hn) as in PyTorch."""
    H = hidden
    if h is None:                     # h = 0: h W_hh^T + b_hh = b_hh
        gh = b_hh
        if gh is None:
            rz = gx[:, :2 * H].sigmoid()
            n = gx[:, 2 * H:].tanh()
            return n - rz[:, H:] * n
    else:
        gh = h @ w_hh_t
        if b_hh is not None:
            gh = gh + b_hh
    rz = (gx[:, :2 * H] + gh[..., :2 * H]).sigmoid()
    n = (gx[:, 2 * H:] + rz[:, :H] * gh[..., 2 * H:]).tanh()
    z = rz[:, H:]
    if h is None:
        return n - z * n
    return n + z * (h - n)


# ---------------------------------------------------------------------------------------------
class _RecurrentBase(Module):
    """Shared construction: parameters named `weight_ih{suffix}` etc., all initialized from
    U(-1/sqrt(H), 1/sqrt(H)) in registration order, as torch's reset_parameters does."""

    _mode = None

    def _make_params(self, input_size, hidden_size, bias, dt, suffix):
        G = _GATES[self._mode]
        setattr(self, "weight_ih" + suffix,
                Parameter(np.empty((G * hidden_size, input_size), dtype=dt)))
        setattr(self, "weight_hh" + suffix,
                Parameter(np.empty((G * hidden_size, hidden_size), dtype=dt)))
        if bias:
            setattr(self, "bias_ih" + suffix, Parameter(np.empty(G * hidden_size, dtype=dt)))
            setattr(self, "bias_hh" + suffix, Parameter(np.empty(G * hidden_size, dtype=dt)))
        else:
            self.register_parameter("bias_ih" + suffix, None)
            self.register_parameter("bias_hh" + suffix, None)

    def reset_parameters(self, rng=None):
        rng = init._rng_or_default(rng)
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0.0
        for p in self.parameters():
            init.uniform_(p, -bound, bound, rng)

    def _check_sizes(self, input_size, hidden_size):
        if int(input_size) <= 0 or int(hidden_size) <= 0:
            raise ValueError(f"{type(self).__name__}: input_size and hidden_size must be "
                             f"positive, got input_size={input_size}, hidden_size={hidden_size}")
        if self._mode == "RNN" and self.nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"{type(self).__name__}: nonlinearity must be 'tanh' or 'relu', "
                             f"got {self.nonlinearity!r}")

    def _input_terms(self, w_ih, b_ih, b_hh):
        """(W_ih^T, the biases that simply add: all but GRU's b_hn, or None), made once per
        sequence: a transpose and a bias sum per time step would each cost a node per step."""
        return w_ih.T, self._input_bias(b_ih, b_hh)

    def _input_bias(self, b_ih, b_hh):
        """The biases that simply add to x W_ih^T: b_ih + b_hh, GRU's b_ih only (its b_hn is
        inside r * (h W_hn^T + b_hn)), None without biases."""
        if b_ih is None:
            return None
        return b_ih if self._mode == "GRU" else b_ih + b_hh

    @staticmethod
    def _projection(x, w_ih_t, bias):
        """x W_ih^T + bias."""
        gx = x @ w_ih_t
        return gx if bias is None else gx + bias

    def _step(self, gx, h, c, w_hh_t, b_hh):
        """One step of this module's recurrence: (h', c') (c' None unless LSTM)."""
        if self._mode == "LSTM":
            return _lstm_step(gx, h, c, w_hh_t, self.hidden_size)
        if self._mode == "GRU":
            return _gru_step(gx, h, w_hh_t, b_hh, self.hidden_size), None
        return _rnn_step(gx, h, w_hh_t, self.nonlinearity), None


class _CellBase(_RecurrentBase):

    def __init__(self, input_size, hidden_size, bias=True, rng=None, dtype=None):
        super().__init__()
        self._check_sizes(input_size, hidden_size)
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.bias = bool(bias)
        self._make_params(self.input_size, self.hidden_size, self.bias, _dtype(dtype), "")
        self.reset_parameters(rng)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if self._mode == "RNN" and self.nonlinearity != "tanh":
            s += f", nonlinearity={self.nonlinearity!r}"
        return s

    def _state(self, t, batch, batched, what):
        """An initial state as a (batch, H) Tensor; None stays None (zeros)."""
        if t is None:
            return None
        t = _input(t, self.weight_hh)
        want = (batch, self.hidden_size) if batched else (self.hidden_size,)
        if t.shape != want:
            raise ValueError(f"{type(self).__name__}({self.extra_repr()}): expected {what} of "
                             f"shape {want}, got {tuple(t.shape)}")
        return t if batched else t.reshape(1, self.hidden_size)

    def _cell(self, x, hx):
        """Run one step. Returns (h', c', batched)."""
        x = _input(x, self.weight_ih)
        name = f"{type(self).__name__}({self.extra_repr()})"
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(f"{name}: expected input of shape (batch, {self.input_size}) or "
                             f"({self.input_size},), got {tuple(x.shape)}")
        batched = x.ndim == 2
        if not batched:
            x = x.reshape(1, self.input_size)
        B = x.shape[0]
        gx = self._projection(x, *self._input_terms(self.weight_ih, self.bias_ih, self.bias_hh))
        if hx is None:
            # an explicit zero state through the same ops, not the sequences' h = None shortcut:
            # then weight_hh (and GRU's bias_hh) get a zero gradient as in torch, not None, so
            # weight decay and optimizer state still reach them. Costs one (B, H) matmul.
            h = Tensor(np.zeros((B, self.hidden_size), dtype=gx.dtype))
            c = h if self._mode == "LSTM" else None
        elif self._mode == "LSTM":
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"{name}: hx must be a tuple (h, c), got {type(hx).__name__}")
            h = self._state(hx[0], B, batched, "h")
            c = self._state(hx[1], B, batched, "c")
        else:
            h = self._state(hx, B, batched, "hx")
            c = None
        h_new, c_new = self._step(gx, h, c, self.weight_hh.T, self.bias_hh)
        if not batched:
            h_new = h_new.reshape(self.hidden_size)
            if c_new is not None:
                c_new = c_new.reshape(self.hidden_size)
        return h_new, c_new


class RNNCell(_CellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu). forward(x, hx=None) -> h'.

    x: (batch, input_size) or (input_size,); hx: (batch, hidden_size), zeros when None."""
    _mode = "RNN"

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", rng=None,
                 dtype=None):
        self.__dict__["nonlinearity"] = nonlinearity
        super().__init__(input_size, hidden_size, bias, rng, dtype)

    def forward(self, x, hx=None):
        return self._cell(x, hx)[0]


class LSTMCell(_CellBase):
    """Gates i, f, g, o = blocks of x W_ih^T + b_ih + h W_hh^T + b_hh;
    c' = sigmoid(f) c + sigmoid(i) tanh(g), h' = sigmoid(o) tanh(c').
    forward(x, hx=None) -> (h', c'); hx = (h, c), zeros when None."""
    _mode = "LSTM"

    def forward(self, x, hx=None):
        return self._cell(x, hx)


class GRUCell(_CellBase):
    """r, z = sigmoid(blocks of x W_ih^T + b_ih + h W_hh^T + b_hh);
    n = tanh(x W_in^T + b_in + r (h W_hn^T + b_hn)); h' = (1 - z) n + z h.
    forward(x, hx=None) -> h'."""
    _mode = "GRU"

    def forward(self, x, hx=None):
        return self._cell(x, hx)[0]


# ---------------------------------------------------------------------------------------------
class _SequenceBase(_RecurrentBase):
    """A cell run over a sequence, torch's RNN/LSTM/GRU interface (one direction, no dropout).

    forward(input, hx=None) -> (output, h_n) [LSTM: (output, (h_n, c_n))]
      input   (T, B, I), or (B, T, I) with batch_first=True, or unbatched (T, I), or a
              PackedSequence (nn.utils.rnn): output is then one too, and h_n holds each
              sequence's h at its own last step (see _packed_forward)
      hx      h_0 of shape (num_layers, B, H) (LSTM: the tuple (h_0, c_0)); zeros when None
      output  h_t of the last layer for every t: (T, B, H) or (B, T, H) with batch_first
      h_n     the last h of every layer: (num_layers, B, H) (unbatched: drop B)
    Parameters per layer k: weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k}.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, rng=None, dtype=None):
        super().__init__()
        self._check_sizes(input_size, hidden_size)
        name = type(self).__name__
        if int(num_layers) < 1:
            raise ValueError(f"{name}: num_layers must be at least 1, got {num_layers}")
        if dropout:
            raise ValueError(f"{name}: dropout between layers is not supported (got "
                             f"dropout={dropout}); stack single-layer modules with nn.Dropout")
        if bidirectional:
            raise ValueError(f"{name}: bidirectional=True is not supported; run a second "
                             f"module over the reversed sequence")
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.num_layers = int(num_layers)
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        dt = _dtype(dtype)
        for k in range(self.num_layers):
            nin = self.input_size if k == 0 else self.hidden_size
            self._make_params(nin, self.hidden_size, self.bias, dt, f"_l{k}")
        self.reset_parameters(rng)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self._mode == "RNN" and self.nonlinearity != "tanh":
            s += f", nonlinearity={self.nonlinearity!r}"
        return s

    def _initial(self, t, batch, batched, what, order=None):
        """h_0 or c_0 as a list of per-layer (B, H) Tensors, or [None] * layers for zeros;
        `order` (a packed input's sorted_indices) permutes the batch."""
        L, H = self.num_layers, self.hidden_size
        if t is None:
            return [None] * L
        t = _input(t, self.weight_hh_l0)
        want = (L, batch, H) if batched else (L, H)
        if t.shape != want:
            raise ValueError(f"{type(self).__name__}({self.extra_repr()}): expected {what} of "
                             f"shape {want} (num_layers, batch, hidden_size), got {tuple(t.shape)}")
        if not batched:
            t = t.reshape(L, 1, H)
        if order is not None:
            t = t.index_select(1, order)
        return [t[k] for k in range(L)]

    def forward(self, input, hx=None):
        if isinstance(input, PackedSequence):
            return self._packed_forward(input, hx)
        x = _input(input, self.weight_ih_l0)
        name = f"{type(self).__name__}({self.extra_repr()})"
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            layout = "(batch, seq, " if self.batch_first else "(seq, batch, "
            raise ValueError(f"{name}: expected input of shape {layout}{self.input_size}) or "
                             f"(seq, {self.input_size}), got {tuple(x.shape)}")
        batched = x.ndim == 3
        if not batched:
            x = x.unsqueeze(1)
            time_axis = 0
        else:
            time_axis = 1 if self.batch_first else 0
        T = x.shape[time_axis]
        B = x.shape[1 - time_axis]
        if T == 0:
            raise ValueError(f"{name}: the input sequence is empty (shape {tuple(input.shape)})")
        if self._mode == "LSTM":
            if hx is None:
                h0, c0 = [None] * self.num_layers, [None] * self.num_layers
            else:
                if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                    raise TypeError(f"{name}: hx must be a tuple (h_0, c_0), got "
                                    f"{type(hx).__name__}")
                h0 = self._initial(hx[0], B, batched, "h_0")
                c0 = self._initial(hx[1], B, batched, "c_0")
            return self._lstm_layers(x, h0, c0, time_axis, batched)
        h0 = self._initial(hx, B, batched, "h_0")
        # RNN and GRU: the cell over the sequence. The input's part of the gates, x_t W_ih^T +
        # bias, for all steps in one matmul (the backward's W_ih gradient is then one matmul
        # too; the steps' gradients meet in one buffer); h_t W_hh^T has to wait for h_{t-1},
        # step by step.
        seq, steps = x, None
        h_last = []
        for k in range(self.num_layers):
            w_hh_t = getattr(self, f"weight_hh_l{k}").T
            b_hh = getattr(self, f"bias_hh_l{k}")
            w_ih_t, bias = self._input_terms(getattr(self, f"weight_ih_l{k}"),
                                             getattr(self, f"bias_ih_l{k}"), b_hh)
            if steps is not None:
                seq = _stack(steps, time_axis)
            gx = self._projection(seq, w_ih_t, bias)
            h = h0[k]
            if h is None and T == 1:
                # a zero h_0 skips h W_hh^T, so with one step W_hh would get no gradient at
                # all: a real zero state gives it torch's zero gradient (longer sequences
                # reach W_hh from step 2 on)
                h = Tensor(np.zeros((B, self.hidden_size), dtype=w_hh_t.dtype))
            outs = []
            for t in range(T):
                gx_t = gx[t] if time_axis == 0 else gx[:, t]
                h, _ = self._step(gx_t, h, None, w_hh_t, b_hh)
                outs.append(h)
            steps = outs
            h_last.append(h)
        if batched:
            return _stack(steps, time_axis), _stack(h_last, 0)
        H = self.hidden_size
        return _stack(steps, 0).reshape(T, H), _stack(h_last, 0).reshape(self.num_layers, H)

    def _lstm_layers(self, x, h0, c0, time_axis, batched):
        """LSTM's forward: each layer one lstm_layer row (autograd/ops_nn.py) over the whole
        sequence, time first. Its backward through time takes W_hh's gradient as one product
        over all steps, where unrolled cells (the LSTMCell's rows, per step) made T - 1 small
        ones. Zero initial states are real zeros through the row: W_hh then gets torch's zero
        gradient even at T = 1."""
        L, H = self.num_layers, self.hidden_size
        if time_axis == 1:
            x = x.permute(1, 0, 2)          # (T, B, I): a view; the layers work time first
        T, B = x.shape[0], x.shape[1]
        seq = x
        h_last, c_last = [], []
        for k in range(L):
            w_hh, w_ih = getattr(self, f"weight_hh_l{k}"), getattr(self, f"weight_ih_l{k}")
            bias = self._input_bias(getattr(self, f"bias_ih_l{k}"),
                                    getattr(self, f"bias_hh_l{k}"))
            # torch's errors for mixed dtypes, where the unrolled cells' x W_ih^T and h W_hh^T
            # raised them (linear and the row would promote); the weights' dtype and rank are
            # their transposes'
            matmul_dtype(seq, w_ih)
            # the input's part of the gates, x_t W_ih^T + bias, for all steps in one linear
            # node on (T B, in) rows: one matmul with the bias added in place, and W_ih's
            # gradient one (4H, T B) @ (T B, in) product (on (T, B, in) it was T products)
            gx = _linear(seq.reshape(T * B, seq.shape[-1]), w_ih, bias).reshape(T, B, 4 * H)
            h, c = h0[k], c0[k]
            if h is None:
                h = Tensor(np.zeros((B, H), dtype=gx.dtype))
            else:
                matmul_dtype(h, w_hh)
            if c is None:
                c = Tensor(np.zeros((B, H), dtype=gx.dtype))
            states = _LSTM_LAYER(gx, h, c, w_hh, ctx={})
            if T > 1 and states.dtype != w_hh.dtype:
                # c_0 promoted h_1: its product h_1 W_hh^T raised
                matmul_dtype((states.dtype, 2), w_hh)
            seq = states[0, 1:]                 # h_1 .. h_T, (T, B, H)
            h_last.append(states[0, T])
            c_last.append(states[1, T])
        if batched:
            output = seq.permute(1, 0, 2) if time_axis == 1 else seq
            return output, (_stack(h_last, 0), _stack(c_last, 0))
        return seq.reshape(T, H), (_stack(h_last, 0).reshape(L, H),
                                   _stack(c_last, 0).reshape(L, H))


    def _packed_forward(self, packed, hx):
        """forward on a PackedSequence: (PackedSequence of the last layer's h, h_n) [LSTM:
        (..., (h_n, c_n))], h_n holding each sequence's h at its own last step, in the batch's
        original order; hx (num_layers, B, H) in that order too (torch's permute_hidden).

        The batch shrinks as sequences end (batch_sizes, non-increasing): step t runs the
        first batch_sizes[t] rows of the state on its rows of the packed data, and the rows
        that stop there are the final states of their sequences. LSTM runs each stretch of
        steps with one batch size as one lstm_layer row (at most B rows per layer); RNN and
        GRU step by step, as their plain forward."""
        name = f"{type(self).__name__}({self.extra_repr()})"
        data, batch_sizes, sorted_indices, unsorted_indices = packed
        sizes = _ints(batch_sizes, "a PackedSequence's batch_sizes")
        x = _input(data, self.weight_ih_l0)
        if x.ndim != 2 or x.shape[-1] != self.input_size:
            raise ValueError(f"{name}: expected packed data of shape (sum of lengths, "
                             f"{self.input_size}), got {tuple(x.shape)}")
        if x.shape[0] != sum(sizes):
            raise ValueError(f"{name}: packed data has {x.shape[0]} rows, its batch_sizes "
                             f"sum to {sum(sizes)}")
        B, L, H = sizes[0], self.num_layers, self.hidden_size
        if self._mode == "LSTM":
            if hx is None:
                h0, c0 = [None] * L, [None] * L
            else:
                if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                    raise TypeError(f"{name}: hx must be a tuple (h_0, c_0), got "
                                    f"{type(hx).__name__}")
                h0 = self._initial(hx[0], B, True, "h_0", sorted_indices)
                c0 = self._initial(hx[1], B, True, "c_0", sorted_indices)
        else:
            h0 = self._initial(hx, B, True, "h_0", sorted_indices)
            c0 = [None] * L
        # runs of steps with one batch size: (first step, steps, batch size, first row)
        runs, row = [], 0
        for t, b in enumerate(sizes):
            if runs and runs[-1][2] == b:
                runs[-1][1] += 1
            else:
                runs.append([t, 1, b, row])
            row += b
        seq = x
        h_last, c_last = [], []
        for k in range(L):
            if self._mode == "LSTM":
                seq, h, c = self._packed_lstm_layer(k, seq, h0[k], c0[k], runs, B)
                c_last.append(c)
            else:
                seq, h = self._packed_layer(k, seq, h0[k], sizes, B)
            h_last.append(h)
        h_n = _stack(h_last, 0)
        if unsorted_indices is not None:
            h_n = h_n.index_select(1, unsorted_indices)
        out = PackedSequence(seq, batch_sizes, sorted_indices, unsorted_indices)
        if self._mode != "LSTM":
            return out, h_n
        c_n = _stack(c_last, 0)
        if unsorted_indices is not None:
            c_n = c_n.index_select(1, unsorted_indices)
        return out, (h_n, c_n)

    def _packed_layer(self, k, seq, h, sizes, B):
        """RNN/GRU layer k over packed rows: (its h rows, packed; final h per sorted row)."""
        w_hh_t = getattr(self, f"weight_hh_l{k}").T
        b_hh = getattr(self, f"bias_hh_l{k}")
        w_ih_t, bias = self._input_terms(getattr(self, f"weight_ih_l{k}"),
                                         getattr(self, f"bias_ih_l{k}"), b_hh)
        gx = self._projection(seq, w_ih_t, bias)
        if h is None and len(sizes) == 1:
            # as forward: a real zero state, so that W_hh gets its zero gradient at T = 1
            h = Tensor(np.zeros((B, self.hidden_size), dtype=w_hh_t.dtype))
        outs, ended, row = [], [], 0
        for b in sizes:
            if h is not None and h.shape[0] > b:
                ended.append(h[b:])         # these sequences ended at the previous step
                h = h[:b]
            h, _ = self._step(gx[row:row + b], h, None, w_hh_t, b_hh)
            outs.append(h)
            row += b
        ended.append(h)
        return _concat(outs), _concat(ended[::-1])

    def _packed_lstm_layer(self, k, seq, h, c, runs, B):
        """LSTM layer k over packed rows, one lstm_layer row per run of equal batch sizes:
        (its h rows, packed; final h and c per sorted row)."""
        H = self.hidden_size
        w_hh, w_ih = getattr(self, f"weight_hh_l{k}"), getattr(self, f"weight_ih_l{k}")
        bias = self._input_bias(getattr(self, f"bias_ih_l{k}"), getattr(self, f"bias_hh_l{k}"))
        matmul_dtype(seq, w_ih)
        gx = _linear(seq, w_ih, bias)
        if h is None:
            h = Tensor(np.zeros((B, H), dtype=gx.dtype))
        else:
            matmul_dtype(h, w_hh)
        if c is None:
            c = Tensor(np.zeros((B, H), dtype=gx.dtype))
        outs, ended_h, ended_c = [], [], []
        for _, n, b, row in runs:
            if h.shape[0] > b:
                ended_h.append(h[b:])
                ended_c.append(c[b:])
                h, c = h[:b], c[:b]
            states = _LSTM_LAYER(gx[row:row + n * b].reshape(n, b, 4 * H), h, c, w_hh, ctx={})
            outs.append(states[0, 1:].reshape(n * b, H))
            h, c = states[0, n], states[1, n]
        ended_h.append(h)
        ended_c.append(c)
        return _concat(outs), _concat(ended_h[::-1]), _concat(ended_c[::-1])


class RNN(_SequenceBase):
    """Elman RNN over a sequence: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)
    (nonlinearity='relu' for relu). See _SequenceBase for shapes."""
    _mode = "RNN"

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, rng=None, dtype=None):
        self.__dict__["nonlinearity"] = nonlinearity
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, rng, dtype)


class LSTM(_SequenceBase):
    """LSTMCell's equations over a sequence; forward returns (output, (h_n, c_n))."""
    _mode = "LSTM"


class GRU(_SequenceBase):
    """GRUCell's equations over a sequence; forward returns (output, h_n)."""
    _mode = "GRU"


__all__ = ["RNNCell", "LSTMCell", "GRUCell", "RNN", "LSTM", "GRU"]
