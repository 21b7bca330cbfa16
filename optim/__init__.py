"""tapegrad optimizers: one implementation for `Value` and `Tensor` parameters.

    import optim
    opt = optim.Adam(model.parameters(), lr=1e-3)
    sched = optim.StepLR(opt, step_size=10, gamma=0.5)
    for epoch in range(epochs):
        opt.zero_grad(); loss = ...; loss.backward(); opt.step()
        sched.step()

Regularization can live in the optimizer or in the loss:
    weight_decay=lam in SGD/Adam/Adagrad/RMSprop adds lam * p to each gradient: the gradient of
        the L2 penalty (lam / 2) * sum(p^2) added to the loss (AdamW decays p directly instead,
        which is not the same thing under Adam's per-coordinate scaling);
    nn.functional.l2_penalty / l1_penalty add the penalty to the loss itself, so it shows in
        the loss curve and L1 (lam * sum|p|, gradient lam * sign(p)) is available too.
"""
from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .clip import clip_grad_norm_, clip_grad_value_
from .early_stopping import EarlyStopping
from .lr_scheduler import (CosineAnnealingLR, ExponentialLR, LambdaLR, LRScheduler,
                           MultiStepLR, StepLR)
from .optimizer import Optimizer, load, required, save
from .rmsprop import RMSprop
from .sgd import SGD
from .training import fit

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "lr_scheduler",
           "LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "LambdaLR",
           "CosineAnnealingLR", "EarlyStopping", "clip_grad_norm_", "clip_grad_value_",
           "save", "load", "required", "fit"]
