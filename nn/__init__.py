"""tapegrad's neural-network library: modules, layers, losses and initializers over autograd.

Names and behaviour follow PyTorch (`nn.Linear`, `nn.Sequential`, `state_dict()` keys...).
"""
from . import functional, init, utils
from .module import Module, ModuleList, Parameter, StateDictError
from .layers import (BatchNorm1d, BatchNorm2d, Dropout, Embedding, Flatten, Identity, LayerNorm,
                     Linear, Residual, Sequential)
from .activations import LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Step, Tanh
from .losses import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HingeEmbeddingLoss, HingeLoss,
                     L1Loss, MSELoss, MultiMarginLoss, NLLLoss)
from .scalar import MLP, Layer, Neuron, Perceptron
from .serialization import CheckpointError, load, save
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .conv import AvgPool2d, Conv2d, MaxPool2d
from .som import SOM
from .models import GAN, Autoencoder
