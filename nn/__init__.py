"""tapegrad's neural-network library: modules, layers, losses and initializers over autograd.

Names and behaviour follow PyTorch (`nn.Linear`, `nn.Sequential`, `state_dict()` keys...).
"""
from . import init
from .module import Module, ModuleList, Parameter, StateDictError
from .layers import Flatten, Identity, Linear, Sequential
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
