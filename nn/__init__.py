"""tapegrad's neural-network library: modules, layers, losses and initializers over autograd.

Names and behaviour follow PyTorch (`nn.Linear`, `nn.Sequential`, `state_dict()` keys...).
"""
from . import functional, init, utils
from .module import (Module, ModuleDict, ModuleList, Parameter, ParameterDict, ParameterList,
                     StateDictError)
from .layers import (BatchNorm1d, BatchNorm2d, Dropout, Dropout1d, Dropout2d, Embedding,
                     Flatten, Identity, LayerNorm, Linear, Residual, Sequential, Unflatten)
from .activations import (CELU, ELU, GELU, SELU, Hardsigmoid, Hardswish, Hardtanh, LeakyReLU,
                          LogSigmoid, LogSoftmax, Mish, PReLU, ReLU, ReLU6, Sigmoid, SiLU,
                          Softmax, Softmin, Softplus, Softsign, Step, Tanh)
from .losses import (BCELoss, BCEWithLogitsLoss, CosineEmbeddingLoss, CosineSimilarity,
                     CrossEntropyLoss, HingeEmbeddingLoss, HingeLoss, HuberLoss, KLDivLoss,
                     L1Loss, MarginRankingLoss, MSELoss, MultiMarginLoss, NLLLoss,
                     PairwiseDistance, SmoothL1Loss, TripletMarginLoss)
from .activations import (GLU, RReLU, Hardshrink, Softmax2d, Softshrink, Tanhshrink,
                          Threshold)
from .losses import (GaussianNLLLoss, MultiLabelMarginLoss, MultiLabelSoftMarginLoss,
                     PoissonNLLLoss, SoftMarginLoss, TripletMarginWithDistanceLoss)
from .scalar import MLP, Layer, Neuron, Perceptron
from .serialization import CheckpointError, load, save
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .conv import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, Conv1d, Conv2d,
                   ConvTranspose1d, ConvTranspose2d, MaxPool1d, MaxPool2d, Upsample)
from .lazy import LazyBatchNorm1d, LazyBatchNorm2d, LazyConv1d, LazyConv2d, LazyLinear
from .som import SOM
from .normalization import (GroupNorm, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d,
                            LocalResponseNorm, RMSNorm)
from .padding import (ChannelShuffle, CircularPad1d, CircularPad2d, ConstantPad1d,
                      ConstantPad2d, Fold, PixelShuffle, PixelUnshuffle, ReflectionPad1d,
                      ReflectionPad2d, ReplicationPad1d, ReplicationPad2d, Unfold, ZeroPad1d,
                      ZeroPad2d)
from .attention import MultiheadAttention
from .transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer,
                          TransformerEncoder, TransformerEncoderLayer)
from .models import GAN, Autoencoder
from .layers import Bilinear
from .sparse import EmbeddingBag
from .conv import AdaptiveMaxPool1d, AdaptiveMaxPool2d, Conv3d, MaxUnpool2d
