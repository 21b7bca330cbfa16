"""autograd.distributions against torch.distributions (the oracle).

Each case builds the same distribution in both from the same parameter arrays (float32 and
float64; batch shapes, broadcasting, probs= and logits=) and compares: shapes, repr, mean,
mode, variance, stddev, entropy, log_prob, the gradients of log_prob and entropy with respect
to the parameters, and samples drawn after the same seed. Samples that match torch's exactly
(assert_array_equal) for the same seed: Normal.sample/rsample, Uniform.sample/rsample,
Bernoulli.sample, Categorical.sample, OneHotCategorical.sample, Independent's (its base's).
Then kl_divergence for every registered pair (inf and 0 edges included), torch's errors word
for word, float64 gradchecks, a REINFORCE step and a VAE step equal to torch's from the same
weights and seed, and compiled functions (autograd.compile) against eager calls.
"""
import math

import numpy as np
import pytest
import torch
import torch.distributions as TD

import autograd
import nn
import optim
from autograd import distributions as D
from autograd.distributions import Categorical, Normal     # the import tutorials write

DTYPES = [(np.float32, torch.float32), (np.float64, torch.float64)]


@pytest.fixture(autouse=True)
def torch_validates_arguments():
    """torch's default validation on, as in a fresh process: torch.compile's first use turns it
    off for the whole process (torch/_dynamo/eval_frame.py), and tests/test_compile.py calls
    torch.compile before this file runs."""
    before = TD.Distribution._validate_args
    TD.Distribution.set_default_validate_args(True)
    yield
    TD.Distribution.set_default_validate_args(before)


def ours_of(arr, requires_grad=False):
    return autograd.tensor(arr, requires_grad=requires_grad)


def theirs_of(arr, requires_grad=False):
    return torch.tensor(arr, requires_grad=requires_grad)


def close(ours, theirs, exact=False, rtol=None):
    """ours (a tapegrad Tensor) equals theirs (a torch tensor): dtype, shape and values."""
    a = ours.detach().numpy() if isinstance(ours, autograd.Tensor) else np.asarray(ours)
    b = theirs.detach().numpy()
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    assert a.shape == b.shape, (a.shape, b.shape)
    if exact:
        np.testing.assert_array_equal(a, b)
    else:
        tol = rtol if rtol is not None else (1e-5 if a.dtype == np.float32 else 1e-12)
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def both_seeded(seed):
    autograd.manual_seed(seed)
    torch.manual_seed(seed)


# ---------------------------------------------------------------------------------------------
# the cases: a name, then (parameter arrays, builder) where the builder takes a module
# (autograd.distributions or torch.distributions) and the parameters in that library
def _positive(rng, shape):
    return rng.uniform(0.5, 2.0, size=shape)


def _probs(rng, shape):
    p = rng.uniform(0.1, 1.0, size=shape)
    return p / p.sum(-1, keepdims=True)


def _params(name, rng):
    """The parameter arrays of case `name` and the function making the distribution."""
    r = rng.standard_normal
    return {
        "normal_vector": ([r(3), _positive(rng, 3)], lambda m, a, b: m.Normal(a, b)),
        "normal_scalar_tensors": ([r(()), _positive(rng, ())], lambda m, a, b: m.Normal(a, b)),
        "normal_broadcast": ([r((2, 3)), _positive(rng, 3)], lambda m, a, b: m.Normal(a, b)),
        "normal_number_loc": ([_positive(rng, (4, 1))], lambda m, b: m.Normal(0.5, b)),
        "uniform": ([r((2, 3)), _positive(rng, (2, 3))],
                    lambda m, a, w: m.Uniform(a, a + w)),
        "uniform_broadcast": ([r((2, 1)), _positive(rng, 3)],
                              lambda m, a, w: m.Uniform(a, a + w)),
        "bernoulli_probs": ([rng.uniform(0.05, 0.95, (2, 3))], lambda m, p: m.Bernoulli(p)),
        "bernoulli_logits": ([r(4)], lambda m, l: m.Bernoulli(logits=l)),
        "categorical_probs": ([_probs(rng, 4) * 3.0], lambda m, p: m.Categorical(p)),
        "categorical_batch": ([_probs(rng, (2, 3, 4))], lambda m, p: m.Categorical(probs=p)),
        "categorical_logits": ([r((3, 5))], lambda m, l: m.Categorical(logits=l)),
        "onehot_probs": ([_probs(rng, (2, 4))], lambda m, p: m.OneHotCategorical(p)),
        "onehot_logits": ([r(5)], lambda m, l: m.OneHotCategorical(logits=l)),
        "independent_normal": ([r((2, 3)), _positive(rng, (2, 3))],
                               lambda m, a, b: m.Independent(m.Normal(a, b), 1)),
        "independent_bernoulli": ([rng.uniform(0.1, 0.9, (2, 3))],
                                  lambda m, p: m.Independent(m.Bernoulli(p), 2)),
        # covariance A A^T + I: any A gives a valid one, so gradcheck can move A freely
        "mvn_covariance": ([r(3), r((2, 3, 3))],
                           lambda m, a, b: m.MultivariateNormal(a, covariance_matrix=_spd(b))),
        "mvn_precision": ([r((2, 1, 2)), r((3, 2, 2))],
                          lambda m, a, b: m.MultivariateNormal(a, precision_matrix=_spd(b))),
        "mvn_scale_tril": ([r((2, 3)), np.tril(r((3, 3)), -1) + np.diag(_positive(rng, 3))],
                           lambda m, a, b: m.MultivariateNormal(a, scale_tril=b.tril())),
    }[name]


def _spd(a):
    """a a^T + I (a batch of symmetric positive-definite matrices), in either library."""
    return a @ a.transpose(-2, -1) + a.new_ones(a.shape[-1]).diag()


CASES = ["normal_vector", "normal_scalar_tensors", "normal_broadcast", "normal_number_loc",
         "uniform", "uniform_broadcast", "bernoulli_probs", "bernoulli_logits",
         "categorical_probs", "categorical_batch", "categorical_logits", "onehot_probs",
         "onehot_logits", "independent_normal", "independent_bernoulli", "mvn_covariance",
         "mvn_precision", "mvn_scale_tril"]
# a matrix product (L eps) rounds differently in numpy and in torch: the same draws, samples
# equal to the last bits only
NOT_BIT_EXACT = {"mvn_covariance", "mvn_precision", "mvn_scale_tril"}
NO_MODE = {"uniform", "uniform_broadcast"}         # torch's mode is nan there: compared apart


def build(name, np_dtype, seed=0):
    """(ours, theirs, our parameters, their parameters) of case name, parameters requiring
    grad."""
    arrays, make = _params(name, np.random.default_rng(seed))
    arrays = [np.asarray(a, dtype=np_dtype) for a in arrays]
    ours_p = [ours_of(a, True) for a in arrays]
    theirs_p = [theirs_of(a, True) for a in arrays]
    return make(D, *ours_p), make(TD, *theirs_p), ours_p, theirs_p


def support_value(theirs, seed=1):
    """A value in the support with sample shape (2,), drawn by torch (so a test of ours does
    not rely on our sampler), as an array."""
    torch.manual_seed(seed)
    return theirs.sample((2,)).numpy()


@pytest.mark.parametrize("np_dtype,torch_dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", CASES)
def test_shapes_repr_and_moments_match_torch(name, np_dtype, torch_dtype):
    ours, theirs, _, _ = build(name, np_dtype)
    assert ours.batch_shape == theirs.batch_shape
    assert ours.event_shape == theirs.event_shape
    assert isinstance(ours.batch_shape, autograd.Size)
    assert repr(ours) == repr(theirs)
    assert ours.has_rsample == theirs.has_rsample
    assert ours.has_enumerate_support == theirs.has_enumerate_support
    for attr in ["mean", "variance", "stddev"] + ([] if name in NO_MODE else ["mode"]):
        if name.startswith("categorical") and attr in ("mean", "variance", "stddev"):
            a, b = getattr(ours, attr), getattr(theirs, attr)
            assert a.shape == b.shape and a.dtype == getattr(autograd, str(b.dtype)[6:])
            assert np.isnan(a.numpy()).all() and torch.isnan(b).all()
            continue
        close(getattr(ours, attr), getattr(theirs, attr))


@pytest.mark.parametrize("np_dtype,torch_dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", CASES)
def test_log_prob_entropy_and_their_gradients_match_torch(name, np_dtype, torch_dtype):
    ours, theirs, ours_p, theirs_p = build(name, np_dtype)
    value = support_value(theirs)
    lp_ours, lp_theirs = ours.log_prob(ours_of(value)), theirs.log_prob(theirs_of(value))
    close(lp_ours, lp_theirs)
    h_ours, h_theirs = ours.entropy(), theirs.entropy()
    close(h_ours, h_theirs)
    w = np.random.default_rng(3).standard_normal(lp_theirs.shape).astype(np_dtype)
    ((lp_ours * ours_of(w)).sum() + (h_ours * 2).sum()).backward()
    ((lp_theirs * theirs_of(w)).sum() + (h_theirs * 2).sum()).backward()
    for a, b in zip(ours_p, theirs_p):
        close(a.grad, b.grad)


@pytest.mark.parametrize("np_dtype,torch_dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("sample_shape", [(), (5,), (2, 3)])
def test_samples_are_torchs_for_the_same_seed(name, np_dtype, torch_dtype, sample_shape):
    ours, theirs, _, _ = build(name, np_dtype)
    for seed in (0, 7):
        both_seeded(seed)
        a, b = ours.sample(sample_shape), theirs.sample(sample_shape)
        assert a.shape == b.shape == ours._extended_shape(sample_shape)
        close(a, b, exact=name not in NOT_BIT_EXACT)
        assert not a.requires_grad and a.grad_fn is None
        if theirs.has_rsample:
            a, b = ours.rsample(sample_shape), theirs.rsample(sample_shape)
            close(a, b, exact=name not in NOT_BIT_EXACT)
            assert a.requires_grad and a.grad_fn is not None


@pytest.mark.parametrize("np_dtype,torch_dtype", DTYPES, ids=["float32", "float64"])
def test_samples_of_sixteen_and_more_take_torchs_vectorized_path(np_dtype, torch_dtype):
    # torch fills >= 16 normals with its block Box-Muller kernel, fewer one at a time
    ours, theirs, _, _ = build("normal_broadcast", np_dtype)
    both_seeded(3)
    close(ours.sample((40,)), theirs.sample((40,)), exact=True)
    close(ours.rsample((3, 7)), theirs.rsample((3, 7)), exact=True)
    close(ours.sample((1,)), theirs.sample((1,)), exact=True)       # 6 values: the serial path
    cat, tcat = build("categorical_logits", np_dtype)[:2]
    close(cat.sample((100,)), tcat.sample((100,)), exact=True)


@pytest.mark.parametrize("name", ["normal_broadcast", "uniform_broadcast",
                                  "independent_normal", "mvn_covariance", "mvn_precision",
                                  "mvn_scale_tril"])
def test_rsample_gradient_matches_torch(name):
    ours, theirs, ours_p, theirs_p = build(name, np.float64)
    both_seeded(11)
    a, b = ours.rsample((4,)), theirs.rsample((4,))
    close(a, b, exact=name not in NOT_BIT_EXACT)
    (a ** 2).sum().backward()
    (b ** 2).sum().backward()
    for p, q in zip(ours_p, theirs_p):
        close(p.grad, q.grad)


@pytest.mark.parametrize("name", CASES)
def test_gradcheck_log_prob_and_entropy_in_float64(name):
    _, theirs, ours_p, _ = build(name, np.float64)
    value = ours_of(support_value(theirs))
    make = _params(name, np.random.default_rng(0))[1]

    def f(*params):
        d = make(D, *params)
        return d.log_prob(value).sum() + d.entropy().sum()
    assert autograd.gradcheck(f, ours_p)


@pytest.mark.parametrize("name", ["normal_broadcast", "uniform", "independent_normal",
                                  "mvn_covariance", "mvn_precision", "mvn_scale_tril"])
def test_gradcheck_rsample_in_float64(name):
    _, _, ours_p, _ = build(name, np.float64)
    make = _params(name, np.random.default_rng(0))[1]

    def f(*params):
        autograd.manual_seed(5)             # the same eps at each evaluation
        return make(D, *params).rsample((3,))
    assert autograd.gradcheck(f, ours_p)


def test_sample_n_warns_as_torch_and_samples_as_sample():
    ours, theirs, _, _ = build("normal_vector", np.float32)
    both_seeded(4)
    with pytest.warns(FutureWarning) as ours_warning:
        a = ours.sample_n(3)
    with pytest.warns(FutureWarning) as theirs_warning:
        b = theirs.sample_n(3)
    close(a, b, exact=True)
    assert str(ours_warning[0].message) == str(theirs_warning[0].message)


def test_sample_has_no_graph_and_categorical_samples_are_int64():
    loc = ours_of(np.zeros(3), True)
    s = Normal(loc, 1.0).sample()
    assert not s.requires_grad and s.grad_fn is None
    c = Categorical(logits=ours_of(np.zeros((2, 3)), True)).sample((4,))
    assert c.dtype == autograd.int64 and c.shape == (4, 2) and not c.requires_grad
    assert Normal(0.0, 1.0).sample().dtype == autograd.float32
    assert Normal(0.0, 1.0).sample().shape == ()


# ---------------------------------------------------------------------------------------------
# probs and logits
def test_categorical_normalizes_as_torch_and_makes_the_other_parameter_lazily():
    p = np.array([[1.0, 3.0], [2.0, 2.0]])
    ours, theirs = Categorical(ours_of(p)), TD.Categorical(theirs_of(p))
    assert "logits" not in ours.__dict__
    close(ours.probs, theirs.probs)
    close(ours.logits, theirs.logits)
    assert "logits" in ours.__dict__
    logits = np.array([1.0, -2.0, 0.5])
    ol, tl = ours_of(logits, True), theirs_of(logits, True)
    ours, theirs = Categorical(logits=ol), TD.Categorical(logits=tl)
    close(ours.logits, theirs.logits)
    assert "probs" not in ours.__dict__
    ours.probs[1].backward()
    theirs.probs[1].backward()
    close(ol.grad, tl.grad)


def test_probs_zero_gives_torchs_finite_logits_and_entropy():
    p = np.array([0.0, 0.25, 0.75])
    close(Categorical(ours_of(p)).logits, TD.Categorical(theirs_of(p)).logits)
    close(Categorical(ours_of(p)).entropy(), TD.Categorical(theirs_of(p)).entropy())
    q = np.array([0.0, 1.0, 0.5])
    close(D.Bernoulli(ours_of(q)).logits, TD.Bernoulli(theirs_of(q)).logits)
    close(D.Bernoulli(ours_of(q)).entropy(), TD.Bernoulli(theirs_of(q)).entropy())


def test_bernoulli_mode_is_nan_at_one_half():
    p = np.array([0.2, 0.5, 0.9], dtype=np.float32)
    close(D.Bernoulli(ours_of(p)).mode, TD.Bernoulli(theirs_of(p)).mode)
    assert np.isnan(D.Bernoulli(ours_of(p)).mode.numpy()[1])


def test_uniform_mode_and_log_prob_outside():
    u = D.Uniform(ours_of([0.0, 1.0]), ours_of([1.0, 3.0]), validate_args=False)
    tu = TD.Uniform(theirs_of([0.0, 1.0]), theirs_of([1.0, 3.0]), validate_args=False)
    assert np.isnan(u.mode.numpy()).all() and torch.isnan(tu.mode).all()
    close(u.log_prob(ours_of([1.5, 0.5])), tu.log_prob(theirs_of([1.5, 0.5])))
    assert u.log_prob(ours_of([1.5, 0.5])).numpy()[0] == -math.inf


def test_enumerate_support_matches_torch():
    c = build("categorical_batch", np.float32)
    b = build("bernoulli_probs", np.float64)
    o = build("onehot_probs", np.float32)
    for ours, theirs in (c[:2], b[:2], o[:2]):
        for expand in (True, False):
            close(ours.enumerate_support(expand), theirs.enumerate_support(expand), exact=True)


@pytest.mark.parametrize("name", ["normal_vector", "categorical_logits", "bernoulli_probs",
                                  "uniform", "onehot_probs", "independent_normal"])
def test_expand_matches_torch(name):
    ours, theirs, _, _ = build(name, np.float64)
    shape = (2,) + tuple(ours.batch_shape)
    a, b = ours.expand(shape), theirs.expand(shape)
    assert a.batch_shape == b.batch_shape and a.event_shape == b.event_shape
    assert repr(a) == repr(b)
    value = support_value(b)
    close(a.log_prob(ours_of(value)), b.log_prob(theirs_of(value)))
    both_seeded(2)
    close(a.sample(), b.sample(), exact=True)


def test_cdf_matches_torch():
    ours, theirs, _, _ = build("normal_broadcast", np.float64)
    x = np.linspace(-2, 2, 3)
    close(ours.cdf(ours_of(x)), theirs.cdf(theirs_of(x)))
    ours, theirs, _, _ = build("uniform", np.float64)
    x = theirs.mean.detach().numpy()
    close(ours.cdf(ours_of(x)), theirs.cdf(theirs_of(x)))
    close(ours.icdf(ours_of(x)), theirs.icdf(theirs_of(x)))


# ---------------------------------------------------------------------------------------------
# kl_divergence
def _kl_pairs(rng):
    r = rng.standard_normal
    pos = lambda s: rng.uniform(0.5, 2.0, s)                                   # noqa: E731
    return {
        "normal": ([r((2, 3)), pos((2, 3)), r(3), pos(3)],
                   lambda m, a, b, c, d: (m.Normal(a, b), m.Normal(c, d))),
        "normal_standard": ([r((4, 2)), pos((4, 2))],
                            lambda m, a, b: (m.Normal(a, b), m.Normal(0.0, 1.0))),
        "bernoulli": ([rng.uniform(0.1, 0.9, 4), rng.uniform(0.1, 0.9, 4)],
                      lambda m, p, q: (m.Bernoulli(p), m.Bernoulli(q))),
        "bernoulli_logits": ([r(3), r(3)],
                             lambda m, p, q: (m.Bernoulli(logits=p), m.Bernoulli(logits=q))),
        "categorical": ([_probs(rng, (2, 4)), r(4)],
                        lambda m, p, l: (m.Categorical(p), m.Categorical(logits=l))),
        "onehot": ([_probs(rng, 3), _probs(rng, 3)],
                   lambda m, p, q: (m.OneHotCategorical(p), m.OneHotCategorical(q))),
        "uniform": ([r(3), pos(3)],
                    lambda m, a, w: (m.Uniform(a, a + w), m.Uniform(a - 1.0, a + w + 1.0))),
        "independent": ([r((2, 3)), pos((2, 3)), r((2, 3)), pos((2, 3))],
                        lambda m, a, b, c, d: (m.Independent(m.Normal(a, b), 1),
                                               m.Independent(m.Normal(c, d), 1))),
        "mvn": ([r((2, 3)), r((2, 3, 3)), r(3), r((3, 3))],
                lambda m, a, b, c, d: (m.MultivariateNormal(a, covariance_matrix=_spd(b)),
                                       m.MultivariateNormal(c, precision_matrix=_spd(d)))),
    }


@pytest.mark.parametrize("np_dtype,torch_dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("pair", ["normal", "normal_standard", "bernoulli", "bernoulli_logits",
                                  "categorical", "onehot", "uniform", "independent", "mvn"])
def test_kl_divergence_and_its_gradients_match_torch(pair, np_dtype, torch_dtype):
    arrays, make = _kl_pairs(np.random.default_rng(4))[pair]
    arrays = [np.asarray(a, dtype=np_dtype) for a in arrays]
    ours_p = [ours_of(a, True) for a in arrays]
    theirs_p = [theirs_of(a, True) for a in arrays]
    kl_ours = D.kl_divergence(*make(D, *ours_p))
    kl_theirs = TD.kl_divergence(*make(TD, *theirs_p))
    close(kl_ours, kl_theirs)
    kl_ours.sum().backward()
    kl_theirs.sum().backward()
    for a, b in zip(ours_p, theirs_p):
        close(a.grad, b.grad)


def test_kl_infinite_and_zero_edges_match_torch():
    cases = [
        (lambda m, t: (m.Bernoulli(t([0.0, 1.0, 0.3, 0.5])), m.Bernoulli(t([0.5, 0.5, 0.0, 1.0])))),
        (lambda m, t: (m.Categorical(t([0.0, 0.5, 0.5])), m.Categorical(t([0.5, 0.0, 0.5])))),
        (lambda m, t: (m.Categorical(t([0.0, 0.5, 0.5])), m.Categorical(t([0.5, 0.5, 0.0])))),
        (lambda m, t: (m.Categorical(t([0.0, 0.5, 0.5])), m.Categorical(t([0.0, 1.0, 1.0])))),
        (lambda m, t: (m.Bernoulli(t([0.0, 1.0])), m.Bernoulli(t([0.0, 1.0])))),
        (lambda m, t: (m.Uniform(t([0.0, 0.0]), t([1.0, 2.0])),
                       m.Uniform(t([-1.0, 0.5]), t([2.0, 3.0])))),
    ]
    for make in cases:
        close(D.kl_divergence(*make(D, lambda v: ours_of(np.array(v)))),
              TD.kl_divergence(*make(TD, lambda v: theirs_of(np.array(v)))))
    kl = D.kl_divergence(*cases[2](D, lambda v: ours_of(np.array(v))))
    assert kl.item() == math.inf
    kl = D.kl_divergence(*cases[3](D, lambda v: ours_of(np.array(v))))
    assert kl.item() == 0.0                 # a class both give 0 adds nothing, not inf


def test_kl_gradcheck_in_float64():
    rng = np.random.default_rng(8)
    params = [ours_of(rng.standard_normal(3), True), ours_of(rng.uniform(0.5, 2, 3), True),
              ours_of(rng.standard_normal(3), True), ours_of(rng.standard_normal(3), True)]

    def f(loc, scale, l1, l2):
        return (D.kl_divergence(Normal(loc, scale), Normal(1.0, scale * 2)).sum()
                + D.kl_divergence(Categorical(logits=l1), Categorical(logits=l2))
                + D.kl_divergence(D.Bernoulli(logits=l1), D.Bernoulli(logits=l2)).sum())
    assert autograd.gradcheck(f, params)


def test_kl_of_an_unregistered_pair_is_torchs_error():
    p, q = D.Categorical(ours_of([0.5, 0.5])), D.Normal(0.0, 1.0)
    with pytest.raises(NotImplementedError) as ours:
        D.kl_divergence(p, q)
    with pytest.raises(NotImplementedError) as theirs:
        TD.kl_divergence(TD.Categorical(theirs_of([0.5, 0.5])), TD.Normal(0.0, 1.0))
    assert str(ours.value) == str(theirs.value)
    a = D.Independent(D.Normal(ours_of(np.zeros((2, 3))), 1.0), 1)
    b = D.Independent(D.Normal(ours_of(np.zeros((2, 3))), 1.0), 2)
    with pytest.raises(NotImplementedError):
        D.kl_divergence(a, b)


def test_register_kl_adds_a_pair_and_prefers_the_most_specific():
    class MyNormal(D.Normal):
        pass

    p, q = MyNormal(0.0, 1.0), D.Normal(1.0, 1.0)
    assert D.kl_divergence(p, q).item() == pytest.approx(0.5)     # found through Normal
    try:
        @D.register_kl(MyNormal, D.Normal)
        def _kl(p, q):
            return autograd.tensor(42.0)
        assert D.kl_divergence(p, q).item() == 42.0
        assert D.kl_divergence(q, q).item() == 0.0
    finally:
        from autograd.distributions import kl
        del kl._KL_REGISTRY[MyNormal, D.Normal]
        kl._KL_MEMOIZE.clear()


# ---------------------------------------------------------------------------------------------
# validation and errors, word for word
def _message(fn_ours, fn_theirs, error=ValueError):
    with pytest.raises(error) as ours:
        fn_ours()
    with pytest.raises(error) as theirs:
        fn_theirs()
    assert str(ours.value) == str(theirs.value)
    return str(ours.value)


@pytest.mark.parametrize("make", [
    lambda m, t: m.Normal(t([0.0, 1.0]), t([1.0, -1.0])),
    lambda m, t: m.Normal(t([0.0, math.nan]), t([1.0, 1.0])),
    lambda m, t: m.Normal(t([[0.0, 1.0]]), t([0.0])),
    lambda m, t: m.Bernoulli(t([0.5, 1.5])),
    lambda m, t: m.Bernoulli(logits=t([math.nan])),
    lambda m, t: m.Categorical(t([0.5, -0.1, 0.6])),
    lambda m, t: m.Categorical(logits=t([0.0, math.nan])),
    lambda m, t: m.OneHotCategorical(t([[-1.0, 2.0]])),
    lambda m, t: m.Uniform(t([0.0, 2.0]), t([1.0, 1.0])),
])
def test_invalid_parameters_raise_torchs_value_error(make):
    text = _message(lambda: make(D, lambda v: ours_of(np.array(v, dtype=np.float32))),
                    lambda: make(TD, lambda v: theirs_of(np.array(v, dtype=np.float32))))
    assert text.startswith("Expected parameter ")


@pytest.mark.parametrize("make,value", [
    (lambda m, t: m.Categorical(t([0.2, 0.8])), [0, 2]),
    (lambda m, t: m.Categorical(t([0.2, 0.8])), [0.5]),
    (lambda m, t: m.Bernoulli(t([0.2, 0.8])), [1.0, 0.5]),
    (lambda m, t: m.Uniform(t([0.0]), t([1.0])), [1.5]),
    (lambda m, t: m.OneHotCategorical(t([0.2, 0.8])), [1.0, 1.0]),
    (lambda m, t: m.Independent(m.Bernoulli(t([[0.2, 0.8]])), 1), [[1.0, 2.0]]),
])
def test_values_outside_the_support_raise_torchs_value_error(make, value):
    dt = np.int64 if isinstance(value[0], int) else np.float32
    text = _message(lambda: make(D, ours_of).log_prob(ours_of(np.array(value, dtype=dt))),
                    lambda: make(TD, theirs_of).log_prob(theirs_of(np.array(value, dtype=dt))))
    assert text.startswith("Expected value argument ")


def test_shape_and_argument_errors_are_torchs():
    n, tn = Normal(ours_of(np.zeros(3)), 1.0), TD.Normal(theirs_of(np.zeros(3)), 1.0)
    _message(lambda: n.log_prob(ours_of(np.zeros(4))), lambda: tn.log_prob(theirs_of(np.zeros(4))))
    _message(lambda: n.log_prob(0.5), lambda: tn.log_prob(0.5))
    o = D.OneHotCategorical(ours_of(np.full(3, 1 / 3)))
    to = TD.OneHotCategorical(theirs_of(np.full(3, 1 / 3)))
    _message(lambda: o.log_prob(ours_of(np.zeros(2))), lambda: to.log_prob(theirs_of(np.zeros(2))))
    _message(lambda: D.Categorical(), lambda: TD.Categorical())
    _message(lambda: D.Bernoulli(0.5, 0.0), lambda: TD.Bernoulli(0.5, 0.0))
    _message(lambda: D.Categorical(ours_of(0.5)), lambda: TD.Categorical(theirs_of(0.5)))
    _message(lambda: D.Categorical(logits=ours_of(0.5)),
             lambda: TD.Categorical(logits=theirs_of(0.5)))
    _message(lambda: D.Independent(n, 2), lambda: TD.Independent(tn, 2))
    _message(lambda: D.Normal("a", 1.0), lambda: TD.Normal("a", 1.0))
    _message(lambda: D.Distribution.set_default_validate_args(2),
             lambda: TD.Distribution.set_default_validate_args(2))


def test_validation_can_be_turned_off_per_instance_and_by_default():
    assert D.Normal(0.0, -1.0, validate_args=False).scale.item() == -1.0
    lp = D.Categorical(ours_of([0.5, 0.5]), validate_args=False)
    with pytest.raises(ValueError):
        D.Normal(0.0, -1.0)
    D.Distribution.set_default_validate_args(False)
    try:
        assert D.Normal(0.0, -1.0).scale.item() == -1.0
        assert D.Bernoulli(ours_of([2.0])).log_prob(ours_of([0.5])).shape == (1,)
    finally:
        D.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        D.Normal(0.0, -1.0)
    assert lp._validate_args is False


def test_mvn_matrices_are_made_lazily_as_torchs():
    ours, theirs, _, _ = build("mvn_covariance", np.float64)
    for name in ("scale_tril", "precision_matrix", "covariance_matrix"):
        assert (name in ours.__dict__) == (name in theirs.__dict__)
        close(getattr(ours, name), getattr(theirs, name))
    assert repr(ours) == repr(theirs)           # the lazily made matrices show there too


def test_mvn_gradients_with_respect_to_the_matrices_themselves_are_torchs():
    # torch's cholesky backward gives a symmetric gradient, and solve_triangular none to the
    # upper triangle of scale_tril: the matrices as leaves, not made from a parameter
    rng = np.random.default_rng(9)
    a = rng.standard_normal((2, 3, 3))
    cov = a @ a.transpose(0, 2, 1) + np.eye(3)
    tril = np.tril(rng.standard_normal((3, 3)), -1) + np.diag(rng.uniform(0.5, 2.0, 3))
    x = rng.standard_normal((4, 2, 3))
    for key, matrix in (("covariance_matrix", cov), ("precision_matrix", cov),
                        ("scale_tril", tril)):
        ours_m, theirs_m = ours_of(matrix, True), theirs_of(matrix, True)
        ours = D.MultivariateNormal(ours_of(np.zeros(3)), **{key: ours_m})
        theirs = TD.MultivariateNormal(theirs_of(np.zeros(3)), **{key: theirs_m})
        (ours.log_prob(ours_of(x)).sum() + ours.entropy().sum()).backward()
        (theirs.log_prob(theirs_of(x)).sum() + theirs.entropy().sum()).backward()
        close(ours_m.grad, theirs_m.grad)


def test_mvn_errors_are_torchs():
    z, tz = ours_of(np.zeros(2)), theirs_of(np.zeros(2))
    eye, teye = ours_of(np.eye(2)), theirs_of(np.eye(2))
    not_pd = np.array([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 2.0], [2.0, 1.0]]])
    _message(lambda: D.MultivariateNormal(z, covariance_matrix=ours_of(not_pd)),
             lambda: TD.MultivariateNormal(tz, covariance_matrix=theirs_of(not_pd)))
    _message(lambda: D.MultivariateNormal(z, precision_matrix=ours_of(not_pd[1])),
             lambda: TD.MultivariateNormal(tz, precision_matrix=theirs_of(not_pd[1])))
    upper = np.array([[1.0, 1.0], [0.0, 1.0]])
    _message(lambda: D.MultivariateNormal(z, scale_tril=ours_of(upper)),
             lambda: TD.MultivariateNormal(tz, scale_tril=theirs_of(upper)))
    _message(lambda: D.MultivariateNormal(z, covariance_matrix=ours_of(not_pd),
                                          validate_args=False),
             lambda: TD.MultivariateNormal(tz, covariance_matrix=theirs_of(not_pd),
                                           validate_args=False), RuntimeError)
    _message(lambda: D.MultivariateNormal(ours_of(0.0), eye),
             lambda: TD.MultivariateNormal(theirs_of(0.0), teye))
    _message(lambda: D.MultivariateNormal(z), lambda: TD.MultivariateNormal(tz))
    _message(lambda: D.MultivariateNormal(z, eye, scale_tril=eye),
             lambda: TD.MultivariateNormal(tz, teye, scale_tril=teye))
    for key in ("covariance_matrix", "precision_matrix", "scale_tril"):
        _message(lambda: D.MultivariateNormal(z, **{key: z}),
                 lambda: TD.MultivariateNormal(tz, **{key: tz}))
    p3 = D.MultivariateNormal(ours_of(np.zeros(3)), ours_of(np.eye(3)))
    tp3 = TD.MultivariateNormal(theirs_of(np.zeros(3)), theirs_of(np.eye(3)))
    _message(lambda: D.kl_divergence(D.MultivariateNormal(z, eye), p3),
             lambda: TD.kl_divergence(TD.MultivariateNormal(tz, teye), tp3))
    _message(lambda: p3.log_prob(z), lambda: tp3.log_prob(tz))


# ---------------------------------------------------------------------------------------------
# tutorials: REINFORCE and a VAE, one step each, against torch from the same weights and seed
def _copy(theirs, ours):
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


def test_reinforce_step_matches_torch():
    torch.manual_seed(0)
    t_policy = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(),
                                   torch.nn.Linear(16, 3))
    policy = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 3))
    _copy(t_policy, policy)
    t_opt = torch.optim.SGD(t_policy.parameters(), lr=0.1)
    opt = optim.SGD(policy.parameters(), lr=0.1)
    states = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32)
    returns = np.linspace(1.0, -0.5, 6).astype(np.float32)
    both_seeded(123)
    m = Categorical(logits=policy(ours_of(states)))
    tm = TD.Categorical(logits=t_policy(theirs_of(states)))
    actions, t_actions = m.sample(), tm.sample()
    close(actions, t_actions, exact=True)
    loss = (-m.log_prob(actions) * ours_of(returns)).sum()
    t_loss = (-tm.log_prob(t_actions) * theirs_of(returns)).sum()
    close(loss, t_loss)
    opt.zero_grad()
    t_opt.zero_grad()
    loss.backward()
    t_loss.backward()
    opt.step()
    t_opt.step()
    for (name, p), (_, q) in zip(policy.named_parameters(), t_policy.named_parameters()):
        close(p, q)


class _VAE:
    """The same small VAE in either library: an encoder to (mu, logvar), z = q.rsample(),
    a decoder, loss = squared error + KL(q || N(0, 1))."""

    def __init__(self, nn_mod):
        self.enc = nn_mod.Linear(6, 8)
        self.mu = nn_mod.Linear(8, 2)
        self.logvar = nn_mod.Linear(8, 2)
        self.dec = nn_mod.Linear(2, 6)

    def modules(self):
        return [self.enc, self.mu, self.logvar, self.dec]

    def parameters(self):
        return [p for m in self.modules() for p in m.parameters()]

    def loss(self, lib, dist, x):
        h = self.enc(x).tanh()
        mu, logvar = self.mu(h), self.logvar(h)
        q = dist.Normal(mu, (0.5 * logvar).exp())
        z = q.rsample()
        recon = ((self.dec(z) - x) ** 2).sum()
        kl = dist.kl_divergence(q, dist.Normal(lib.zeros_like(mu), lib.ones_like(mu))).sum()
        return recon + kl


def _vaes():
    torch.manual_seed(1)
    theirs, ours = _VAE(torch.nn), _VAE(nn)
    for a, b in zip(theirs.modules(), ours.modules()):
        _copy(a, b)
    return ours, theirs


def test_vae_step_with_rsample_and_kl_matches_torch():
    ours, theirs = _vaes()
    opt, t_opt = optim.Adam(ours.parameters(), lr=1e-2), torch.optim.Adam(theirs.parameters(),
                                                                          lr=1e-2)
    x = np.random.default_rng(2).standard_normal((5, 6)).astype(np.float32)
    for seed in (10, 11):
        both_seeded(seed)
        loss, t_loss = ours.loss(autograd, D, ours_of(x)), theirs.loss(torch, TD, theirs_of(x))
        close(loss, t_loss, rtol=1e-5)
        opt.zero_grad()
        t_opt.zero_grad()
        loss.backward()
        t_loss.backward()
        for p, q in zip(ours.parameters(), theirs.parameters()):
            close(p.grad, q.grad, rtol=1e-4)
        opt.step()
        t_opt.step()
    for p, q in zip(ours.parameters(), theirs.parameters()):
        close(p, q, rtol=1e-4)


# ---------------------------------------------------------------------------------------------
# autograd.compile: draws are fresh at each call, values and gradients eager's
def test_compiled_vae_loss_draws_afresh_and_equals_eager_and_torch():
    ours, theirs = _vaes()
    x = np.random.default_rng(2).standard_normal((5, 6)).astype(np.float32)
    step = autograd.compile(lambda xb: ours.loss(autograd, D, xb))
    losses = []
    for seed in (0, 1, 2):
        autograd.manual_seed(seed)
        eager = ours.loss(autograd, D, ours_of(x))
        g_eager = autograd.grad(eager, ours.parameters())
        autograd.manual_seed(seed)
        compiled = step(ours_of(x))
        g_compiled = autograd.grad(compiled, ours.parameters())
        torch.manual_seed(seed)
        close(compiled, theirs.loss(torch, TD, theirs_of(x)), rtol=1e-5)
        np.testing.assert_allclose(compiled.item(), eager.item(), rtol=1e-6)
        for a, b in zip(g_compiled, g_eager):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
        losses.append(compiled.item())
    assert len(set(losses)) == 3            # three seeds, three draws: none kept from the trace


def test_compiled_categorical_sample_draws_afresh_as_torch():
    def act(logits):
        m = Categorical(logits=logits)
        a = m.sample((3,))
        return (-m.log_prob(a)).sum(), a

    step = autograd.compile(act)
    logits = np.random.default_rng(5).standard_normal((4, 6)).astype(np.float32)
    seen = []
    for seed in (0, 1, 2, 3):
        both_seeded(seed)
        loss, actions = step(ours_of(logits))
        t_actions = TD.Categorical(logits=theirs_of(logits)).sample((3,))
        close(actions, t_actions, exact=True)
        seen.append(tuple(actions.numpy().ravel()))
    assert len(set(seen)) == 4


def test_two_draws_in_one_compiled_call_are_two_draws():
    def two(p, loc):
        c, n = Categorical(p), D.Bernoulli(p)
        return (c.sample((4,)), c.sample((4,)), n.sample(), n.sample(),
                Normal(loc, 1.0).sample(), Normal(loc, 1.0).sample())

    step = autograd.compile(two)
    p, loc = np.full(5, 0.2), np.zeros(5)
    for seed in (0, 1):
        both_seeded(seed)
        ours = step(ours_of(p), ours_of(loc))
        tc, tn = TD.Categorical(theirs_of(p)), TD.Bernoulli(theirs_of(p))
        theirs = (tc.sample((4,)), tc.sample((4,)), tn.sample(), tn.sample(),
                  TD.Normal(theirs_of(loc), 1.0).sample(), TD.Normal(theirs_of(loc), 1.0).sample())
        for a, b in zip(ours, theirs):
            close(a, b, exact=True)


def test_compiled_function_validates_each_calls_values():
    f = autograd.compile(lambda loc, scale, x: Normal(loc, scale).log_prob(x).sum())
    loc, x = ours_of(np.zeros(2)), ours_of(np.ones(2))
    tl, tx = theirs_of(np.zeros(2)), theirs_of(np.ones(2))
    good, bad = np.array([1.0, 2.0]), np.array([1.0, -2.0])
    close(f(loc, ours_of(good), x), TD.Normal(tl, theirs_of(good)).log_prob(tx).sum())
    with pytest.raises(ValueError) as ours:
        f(loc, ours_of(bad), x)
    with pytest.raises(ValueError) as theirs:
        TD.Normal(tl, theirs_of(bad))
    # the trace's repr shows shapes (the shapes the program was traced for); the values are
    # this call's
    assert str(ours.value).endswith("but found invalid values:\ntensor([ 1., -2.], "
                                    "dtype=torch.float64)")
    assert str(ours.value).split("\n")[1] == str(theirs.value).split("\n")[1]


def test_the_module_is_reached_as_torch_distributions_is():
    import autograd as torch_like
    assert torch_like.distributions.Normal is Normal
    assert "distributions" in torch_like.__all__
    assert set(D.__all__) >= {"Normal", "Categorical", "Bernoulli", "Uniform", "MultivariateNormal",
                              "OneHotCategorical", "Independent", "kl_divergence",
                              "register_kl", "Distribution", "constraints"}
    for name in ["real", "positive", "simplex", "boolean", "unit_interval", "real_vector",
                 "one_hot", "nonnegative", "positive_definite", "lower_cholesky"]:
        assert repr(getattr(D.constraints, name)) == repr(getattr(TD.constraints, name))
    assert repr(D.constraints.integer_interval(0, 3)) == repr(TD.constraints.integer_interval(0, 3))


def test_compiled_multivariate_normal_equals_eager_and_checks_each_call():
    def f(loc, a, x):
        m = D.MultivariateNormal(loc, covariance_matrix=a @ a.mT + autograd.eye(3, dtype=a.dtype))
        return m.log_prob(x).sum() + (m.rsample((2,)) ** 2).sum()

    step = autograd.compile(f)
    rng = np.random.default_rng(0)
    loc, a = ours_of(rng.standard_normal(3), True), ours_of(rng.standard_normal((2, 3, 3)), True)
    x = ours_of(rng.standard_normal((4, 2, 3)))
    for seed in (0, 1):
        autograd.manual_seed(seed)
        eager = f(loc, a, x)
        g_eager = autograd.grad(eager, [loc, a])
        autograd.manual_seed(seed)
        compiled = step(loc, a, x)
        g_compiled = autograd.grad(compiled, [loc, a])
        assert compiled.item() == pytest.approx(eager.item(), rel=1e-12)
        for p, q in zip(g_compiled, g_eager):
            np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-10, atol=1e-12)
    g = autograd.compile(lambda c: D.MultivariateNormal(
        autograd.zeros(2, dtype=c.dtype), covariance_matrix=c, validate_args=False).entropy())
    g(ours_of(np.eye(2)))
    with pytest.raises(RuntimeError, match="the leading minor of order 2 is not positive"):
        g(ours_of(np.array([[1.0, 2.0], [2.0, 1.0]])))
