"""tapegrad optimizers: one implementation for `Value` and `Tensor` parameters.

    import optim
    opt = optim.Adam(model.parameters(), lr=1e-3)
    sched = optim.StepLR(opt, step_size=10, gamma=0.5)
    for epoch in range(epochs):
        opt.zero_grad(); loss = ...; loss.backward(); opt.step()
        sched.step()

Regularization can live in the optimizer or in the loss, with the same effect for SGD:
    weight_decay=lam (SGD, Adam, Adagrad, RMSprop, Adamax, Adadelta, NAdam, RAdam, ASGD) adds
        lam * p to each gradient, which is the gradient of the L2 penalty
        (lam / 2) * sum(p^2), i.e. of (lam / 2) * nn.functional.l2_penalty(params) added to
        the loss;
    putting the penalty in the loss instead makes it show in the loss curve, and gives L1 too:
        lam * nn.functional.l1_penalty(params) = lam * sum|p|, gradient lam * sign(p).
    AdamW (and Adam, NAdam, RAdam with decoupled_weight_decay=True) decays p directly
    (p *= 1 - lr * lam): not the same as L2 under Adam's per-coordinate scaling, which is the
    point of it.
"""
from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .asgd import ASGD
from .clip import clip_grad_norm_, clip_grad_value_
from .early_stopping import EarlyStopping
from .lbfgs import LBFGS
from .lr_scheduler import (ChainedScheduler, ConstantLR, CosineAnnealingLR,
                           CosineAnnealingWarmRestarts, CyclicLR, ExponentialLR, LambdaLR,
                           LinearLR, LRScheduler, MultiplicativeLR, MultiStepLR, OneCycleLR,
                           PolynomialLR, ReduceLROnPlateau, SequentialLR, StepLR)
from .nadam import NAdam
from .optimizer import Optimizer, load, required, save
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .sgd import SGD
from .training import fit

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "Adamax", "Adadelta",
           "NAdam", "RAdam", "Rprop", "ASGD", "LBFGS", "lr_scheduler",
           "LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "LambdaLR",
           "CosineAnnealingLR", "MultiplicativeLR", "ConstantLR", "LinearLR", "PolynomialLR",
           "CosineAnnealingWarmRestarts", "SequentialLR", "ChainedScheduler",
           "ReduceLROnPlateau", "CyclicLR", "OneCycleLR", "EarlyStopping", "clip_grad_norm_",
           "clip_grad_value_",
           "save", "load", "required", "fit"]
