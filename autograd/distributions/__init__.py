"""torch.distributions, the part tutorials use: sample, rsample, log_prob, entropy, KL.

    from autograd.distributions import Categorical, Normal, kl_divergence
    m = Categorical(logits=policy(state))      # REINFORCE
    action = m.sample()
    loss = -m.log_prob(action) * reward
    q = Normal(mu, std)                        # a VAE
    z = q.rsample()                            # mu + std * eps: gradients reach mu and std
    kl = kl_divergence(q, Normal(0.0, 1.0)).sum()

Distributions: Normal, Uniform, Bernoulli, Categorical, OneHotCategorical, Independent,
MultivariateNormal. KL pairs: each of them with itself (register_kl adds more).
Every formula is composed from the engine's differentiable ops; samples come from
autograd.random, so the same seed gives torch's samples (see tests/test_distributions.py).
"""
from . import constraints
from .bernoulli import Bernoulli
from .categorical import Categorical
from .distribution import Distribution
from .independent import Independent
from .kl import kl_divergence, register_kl
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .one_hot_categorical import OneHotCategorical
from .uniform import Uniform

__all__ = ["Bernoulli", "Categorical", "Distribution", "Independent", "MultivariateNormal",
           "Normal", "OneHotCategorical", "Uniform", "constraints", "kl_divergence", "register_kl"]
