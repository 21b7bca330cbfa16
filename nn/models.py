"""Ready-made models built from `Linear`, `Sequential` and activations: an `Autoencoder` and a
`GAN` with its adversarial training step.

Both are ordinary Modules: their parameters, dotted names and `state_dict()` keys come from the
submodules (`encoder.0.weight`, `generator.2.bias`, ...), so they train with any optimizer and
save like any layer.
"""
import importlib
import numbers

import numpy as np

from autograd import Tensor, no_grad

from . import init
from .layers import Linear, Sequential
from .module import Module

# activation name -> (class name in the nn package, constructor kwargs)
_ACTIVATIONS = {
    "relu": ("ReLU", {}),
    "leaky_relu": ("LeakyReLU", {"negative_slope": 0.2}),
    "tanh": ("Tanh", {}),
    "sigmoid": ("Sigmoid", {}),
}


def _activation(spec, where):
    """An activation Module from a name ("relu", "leaky_relu", "tanh", "sigmoid"), a Module
    (used as is) or None / "linear" (no activation: returns None)."""
    if spec is None or spec == "linear":
        return None
    if isinstance(spec, Module):
        return spec
    if spec not in _ACTIVATIONS:
        raise ValueError(f"{where}: unknown activation {spec!r}; use one of "
                         f"{sorted(_ACTIVATIONS)}, 'linear', None or a Module")
    cls_name, kwargs = _ACTIVATIONS[spec]
    # imported at call time: importing nn.models must not depend on the order of nn/__init__
    cls = getattr(importlib.import_module(__package__ + ".activations"), cls_name)
    return cls(**kwargs)


def _functional():
    return importlib.import_module(__package__ + ".functional")


def _sizes(name, value, where, allow_empty=False):
    """An int or a sequence of ints as a list of positive ints."""
    vals = [value] if isinstance(value, numbers.Integral) else list(value)
    if (not vals and not allow_empty) or any(
            isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1 for v in vals):
        raise ValueError(f"{where}: {name} must be a positive int or a list of positive ints, "
                         f"got {value!r}")
    return [int(v) for v in vals]


def mlp(sizes, activation="relu", out_activation=None, rng=None, dtype=None):
    """Sequential(Linear(sizes[0], sizes[1]), act, ..., Linear(sizes[-2], sizes[-1]),
    out_act): an activation after every Linear but the last, which gets `out_activation`.
    The layers draw their initial weights from one `rng` in order, so a seed fixes them all."""
    sizes = _sizes("sizes", sizes, "mlp")
    if len(sizes) < 2:
        raise ValueError(f"mlp: need at least an input and an output size, got {sizes}")
    rng = init._rng_or_default(rng)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Linear(a, b, rng=rng, dtype=dtype))
        act = _activation(activation if i < len(sizes) - 2 else out_activation, "mlp")
        if act is not None:
            layers.append(act)
    return Sequential(*layers)


def _first_linear(module):
    for m in module.modules():
        if isinstance(m, Linear):
            return m
    return None


def _param_dtype(module):
    for p in module.parameters():
        return p._data.dtype
    return np.dtype(np.float32)


class Autoencoder(Module):
    """x -> z = encoder(x) -> x_hat = decoder(z), trained to make x_hat close to x.

    The latent code z has fewer features than x, so the network must learn a compressed
    description of the data (with linear layers and MSE it learns the PCA subspace; with
    nonlinearities, a curved one).

    Autoencoder(encoder, decoder): any two Modules (sizes read from their first and last
        Linear layers when there are some, for the repr).
    Autoencoder(in_features, hidden, latent, activation="relu", out_activation="sigmoid",
                rng=None, dtype=None): MLPs in_features -> hidden... -> latent (no activation on
        the code) and latent -> ...reversed(hidden) -> in_features, with `out_activation` on the
        reconstruction ("sigmoid" suits data scaled to [0, 1]; None for unbounded data).
        `hidden` is an int or a list of ints (may be empty: then each side is one Linear).
        The positional names are those of the first form.
    """

    def __init__(self, encoder, decoder, latent=None, *, activation="relu",
                 out_activation="sigmoid", rng=None, dtype=None):
        super().__init__()
        if isinstance(encoder, Module):
            if not isinstance(decoder, Module):
                raise TypeError(f"Autoencoder(encoder, decoder): decoder must be a Module, got "
                                f"{type(decoder).__name__}")
            if latent is not None:
                raise TypeError("Autoencoder(encoder, decoder): latent is for the sizes form "
                                "Autoencoder(in_features, hidden, latent)")
            self.encoder = encoder
            self.decoder = decoder
            lins = [m for m in encoder.modules() if isinstance(m, Linear)]
            self.in_features = lins[0].in_features if lins else None
            self.latent_features = lins[-1].out_features if lins else None
            return
        in_features = _sizes("in_features", encoder, "Autoencoder")
        if len(in_features) != 1:
            raise ValueError(f"Autoencoder: in_features must be one int, got {encoder!r}")
        hidden = _sizes("hidden", decoder, "Autoencoder", allow_empty=True)
        if latent is None:
            raise ValueError("Autoencoder(in_features, hidden, latent): latent is required")
        latent = _sizes("latent", latent, "Autoencoder")
        if len(latent) != 1:
            raise ValueError(f"Autoencoder: latent must be one int, got {latent!r}")
        rng = init._rng_or_default(rng)
        self.in_features = in_features[0]
        self.latent_features = latent[0]
        self.encoder = mlp(in_features + hidden + latent, activation, None, rng, dtype)
        self.decoder = mlp(latent + hidden[::-1] + in_features, activation, out_activation, rng,
                           dtype)

    def extra_repr(self):
        if self.in_features is None or self.latent_features is None:
            return ""
        return f"in_features={self.in_features}, latent_features={self.latent_features}"

    def encode(self, x):
        """z = encoder(x): the latent code."""
        return self.encoder(x)

    def decode(self, z):
        """x_hat = decoder(z)."""
        return self.decoder(z)

    def forward(self, x):
        """x_hat = decoder(encoder(x))."""
        return self.decoder(self.encoder(x))

    def reconstruction_loss(self, x, reduction="mean"):
        """mse_loss(x_hat, x) = mean((decoder(encoder(x)) - x)^2) (or sum / none)."""
        x = x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=_param_dtype(self)))
        return _functional().mse_loss(self.forward(x), x, reduction=reduction)


class GAN(Module):
    """Generative adversarial network: a generator G maps noise z ~ N(0, I) to samples, a
    discriminator D maps a sample to one logit, "real" when positive.

    GAN(generator, discriminator, latent_features=None): any two Modules; latent_features
        defaults to the in_features of the generator's first Linear.
    GAN(data_features, latent_features, hidden=32, activation="leaky_relu", rng=None,
        dtype=None): MLP generator latent -> hidden... -> data (linear output) and
        discriminator data -> hidden... -> 1 (a logit). `hidden`: an int or a list of ints.
        The positional names are those of the first form.

    `train_step` plays one round of the game (Goodfellow et al. 2014, with the non-saturating
    generator loss): see there.
    """

    def __init__(self, generator, discriminator, hidden=None, *, latent_features=None,
                 activation="leaky_relu", rng=None, dtype=None):
        super().__init__()
        if isinstance(generator, Module):
            if not isinstance(discriminator, Module):
                raise TypeError(f"GAN(generator, discriminator): discriminator must be a Module,"
                                f" got {type(discriminator).__name__}")
            if hidden is not None:
                raise TypeError("GAN(generator, discriminator): hidden is for the sizes form "
                                "GAN(data_features, latent_features, hidden)")
            if latent_features is None:
                lin = _first_linear(generator)
                if lin is None:
                    raise ValueError("GAN: pass latent_features (the generator has no Linear "
                                     "to read it from)")
                latent_features = lin.in_features
            self.generator = generator
            self.discriminator = discriminator
            self.latent_features = _sizes("latent_features", latent_features, "GAN")[0]
            lin = _first_linear(discriminator)
            self.data_features = lin.in_features if lin is not None else None
            return
        if latent_features is not None:
            raise TypeError("GAN(data_features, latent_features, hidden): latent_features is "
                            "the second positional argument here")
        data = _sizes("data_features", generator, "GAN")
        latent = _sizes("latent_features", discriminator, "GAN")
        hidden = _sizes("hidden", 32 if hidden is None else hidden, "GAN", allow_empty=True)
        if len(data) != 1 or len(latent) != 1:
            raise ValueError(f"GAN(data_features, latent_features, hidden): the first two must "
                             f"be ints, got {generator!r} and {discriminator!r}")
        rng = init._rng_or_default(rng)
        self.data_features, self.latent_features = data[0], latent[0]
        self.generator = mlp(latent + hidden + data, activation, None, rng, dtype)
        self.discriminator = mlp(data + hidden + [1], activation, None, rng, dtype)

    def extra_repr(self):
        return f"data_features={self.data_features}, latent_features={self.latent_features}"

    def noise(self, n, rng=None):
        """z ~ N(0, I): a constant Tensor (n, latent_features) in the generator's dtype."""
        rng = init.as_rng(rng)
        z = rng.standard_normal((int(n), self.latent_features))
        return Tensor(z.astype(_param_dtype(self.generator)))

    def forward(self, z):
        """G(z): generated samples (recorded, so gradients reach the generator)."""
        return self.generator(z)

    def sample(self, n, rng=None):
        """n generated samples G(z), z ~ N(0, I), as a numpy array (no graph recorded)."""
        with no_grad():
            return self.generator(self.noise(n, rng))._data

    def discriminator_loss(self, real, fake):
        """BCE(D(real), 1) + BCE(D(fake), 0), with BCE on logits:
        -mean(log sigmoid(D(real))) - mean(log(1 - sigmoid(D(fake))))."""
        F = _functional()
        lr, lf = self.discriminator(real), self.discriminator(fake)
        ones = Tensor(np.ones(lr.shape, dtype=lr._data.dtype))
        zeros = Tensor(np.zeros(lf.shape, dtype=lf._data.dtype))
        return (F.binary_cross_entropy_with_logits(lr, ones)
                + F.binary_cross_entropy_with_logits(lf, zeros)), lr, lf

    def generator_loss(self, fake):
        """Non-saturating loss BCE(D(G(z)), 1) = -mean(log sigmoid(D(G(z)))). Minimising
        log(1 - D(G(z))) instead (the minimax game as written) gives the generator almost no
        gradient early on, when D rejects its samples with confidence."""
        logits = self.discriminator(fake)
        ones = Tensor(np.ones(logits.shape, dtype=logits._data.dtype))
        return _functional().binary_cross_entropy_with_logits(logits, ones), logits

    def train_step(self, real_batch, opt_g, opt_d, rng=None):
        """One round of the adversarial game on a batch of real samples (n, data_features).

        1. Discriminator: z ~ N(0, I), fake = G(z) detached (D's step must not move G);
           minimise BCE(D(real), 1) + BCE(D(fake), 0) with opt_d.
        2. Generator: minimise the non-saturating loss BCE(D(G(z)), 1) with opt_g, on the same
           z; D's parameters are frozen during this backward (requires_grad off), so the
           gradient only flows through D to G and D's .grad is left as step 1 made it.
        Returns floats: loss_d, loss_g, and d_real / d_fake, the mean probability D gives real
        samples and (before the generator's step) generated ones; at the game's equilibrium
        both are 1/2.
        """
        real = real_batch if isinstance(real_batch, Tensor) else Tensor(
            np.asarray(real_batch, dtype=_param_dtype(self.discriminator)))
        if real.ndim != 2 or (self.data_features is not None
                              and real.shape[1] != self.data_features):
            raise ValueError(f"GAN.train_step: real_batch must have shape (n, "
                             f"{self.data_features}), got {tuple(real.shape)}")
        z = self.noise(real.shape[0], rng)
        fake = self.generator(z)
        opt_d.zero_grad()
        loss_d, lr, lf = self.discriminator_loss(real, fake.detach())
        loss_d.backward()
        opt_d.step()
        d_params = [p for p in self.discriminator.parameters() if p.requires_grad]
        for p in d_params:
            p.requires_grad = False
        try:
            opt_g.zero_grad()
            loss_g, _ = self.generator_loss(fake)
            loss_g.backward()
        finally:
            for p in d_params:
                p.requires_grad = True
        opt_g.step()
        return {"loss_d": float(loss_d._data), "loss_g": float(loss_g._data),
                "d_real": _mean_sigmoid(lr), "d_fake": _mean_sigmoid(lf)}


def _mean_sigmoid(logits):
    """mean(sigmoid(logits)), as 0.5 (1 + tanh(x / 2)): no overflow warning for large |x|."""
    return float(np.mean(0.5 * (1.0 + np.tanh(0.5 * logits._data))))
