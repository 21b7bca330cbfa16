"""autograd.gradgradcheck, and gradcheck's torch keywords, with torch.autograd as the oracle.

Each program is written once against a namespace `ns` (torch, or tapegrad's `autograd`) and its
functional module `F`, so both libraries check the same function and their verdicts (pass or
fail) are compared. Wrong second derivatives come from autograd.Function classes whose backward
is right in value but not differentiable correctly.
"""
import inspect

import numpy as np
import pytest

import autograd
import nn
import nn.functional as AF
from autograd import Tensor, Value, gradcheck, gradgradcheck
from autograd.ops import REAL, Op

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _data(shape, seed=0, low=-1.5, high=1.5):
    return np.random.default_rng(seed).uniform(low, high, shape)


def _pair(shape, seed=0, requires_grad=True):
    """The same float64 values as a tapegrad Tensor and a torch tensor."""
    a = _data(shape, seed)
    return (Tensor(a, dtype=np.float64, requires_grad=requires_grad),
            torch.tensor(a, dtype=torch.float64, requires_grad=requires_grad))


def _both(check, program, shapes, **kw):
    """(tapegrad's verdict, torch's) of check (gradcheck or gradgradcheck) on program(ns, F)."""
    pairs = [_pair(s, seed) for seed, s in enumerate(shapes)]
    ours = getattr(autograd, check)(program(autograd, AF), [p[0] for p in pairs],
                                    raise_exception=False, **kw)
    theirs = getattr(torch.autograd, check)(program(torch, TF), tuple(p[1] for p in pairs),
                                            raise_exception=False, **kw)
    return ours, theirs


# ---------------------------------------------------------------------------------------------
# custom Functions: a correct double backward, and backwards right only to first order
def _function(ns):
    """torch.autograd.Function, or autograd.Function (torch.autograd.X is autograd.X)."""
    return ns.autograd.Function if ns is torch else ns.Function

def _cube(ns, how):
    """x^3 with backward g * 3 x^2 computed three ways: "right" (differentiable), "detached"
    (from x.detach(): the second derivative reads 0), "square" (through _square(ns, 1), whose
    own backward is wrong: the value is right, its derivative is not)."""
    square = _square(ns, 1.0)

    class Cube(_function(ns)):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            if how == "detached":
                return g * 3 * x.detach() ** 2
            if how == "square":
                return g * 3 * square.apply(x)
            return g * 3 * x ** 2
    return Cube


def _square(ns, factor):
    """x^2 with backward factor * g * x: right for factor 2."""
    class Square(_function(ns)):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return factor * g * x
    return Square


def _square_detached_g(ns):
    """x^2 with backward 2 g.detach() x: right in x, but d(VJP)/d g reads 0 instead of 2 x."""
    class Square(_function(ns)):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * g.detach() * x
    return Square


# ---------------------------------------------------------------------------------------------
# correct programs pass, in both libraries
def _mlp(ns, F):
    def f(x, w1, b1, w2, b2):
        return F.linear(F.linear(x, w1, b1).tanh(), w2, b2)
    return f


CORRECT = {
    "tanh": (lambda ns, F: lambda x: x.tanh(), [(2, 3)]),
    "sigmoid": (lambda ns, F: lambda x: ns.sigmoid(x), [(4,)]),
    "matmul": (lambda ns, F: lambda a, b: a @ b, [(2, 3), (3, 2)]),
    "matmul-tanh": (lambda ns, F: lambda a, b: (a @ b).tanh(), [(2, 3), (3, 2)]),
    "softplus": (lambda ns, F: lambda x: F.softplus(x), [(5,)]),
    "log_softmax": (lambda ns, F: lambda x: F.log_softmax(x, dim=-1), [(2, 4)]),
    "mlp": (_mlp, [(2, 3), (4, 3), (4,), (2, 4), (2,)]),
    "function-right": (lambda ns, F: _cube(ns, "right").apply, [(3,)]),
    "two-outputs": (lambda ns, F: lambda a, b: ((a * b).sin(), (a - b).exp()), [(3,), (3,)]),
}


@pytest.mark.parametrize("name", CORRECT)
def test_gradgradcheck_passes_for_correct_programs_as_torch(name):
    program, shapes = CORRECT[name]
    assert _both("gradgradcheck", program, shapes) == (True, True)
    pairs = [_pair(s, seed) for seed, s in enumerate(shapes)]
    assert gradgradcheck(program(autograd, AF), [p[0] for p in pairs]) is True


@pytest.mark.parametrize("name", ["tanh", "mlp", "two-outputs"])
def test_fast_mode_passes_for_correct_programs_as_torch(name):
    program, shapes = CORRECT[name]
    assert _both("gradgradcheck", program, shapes, fast_mode=True) == (True, True)
    assert _both("gradcheck", program, shapes, fast_mode=True) == (True, True)


def test_mlp_module_parameters_are_checked():
    """An nn.Module's parameters as inputs: the module reads them, gradgradcheck perturbs them."""
    model = nn.Sequential(nn.Linear(3, 4, dtype=autograd.float64), nn.Tanh(),
                          nn.Linear(4, 1, dtype=autograd.float64))
    x = Tensor(_data((5, 3)), dtype=np.float64)
    assert gradgradcheck(lambda *ps: model(x).sum(), list(model.parameters()))


def test_value_programs():
    a, b = Value(0.4, label="a"), Value(-1.1, label="b")
    assert gradgradcheck(lambda p, q: (p * q).tanh() + p ** 3 / q - (p - q).exp(), [a, b])
    assert gradgradcheck(lambda p: p.sigmoid() * p, a, fast_mode=True)
    assert gradgradcheck(lambda p: [p.sin(), p * p], a)           # two Value outputs


def test_value_op_with_a_detached_vjp_fails_only_at_second_order():
    """A Value op whose VJP reads the raw float of its input: right values, zero curvature."""
    def vjp(xp, g, out, c, a):
        return g * np.cos(a._data if isinstance(a, autograd.engine.Node) else a)
    op = Op("sin_detached", lambda c, a: float(np.sin(a)), lambda c, a: np.sin(a), (vjp,),
            (REAL,), "sin_detached")

    def f(p):
        return Value._node(op.scalar(None, p.data), op, (p,))
    x = Value(0.6, label="x")
    assert gradcheck(f, x)
    with pytest.raises(autograd.GradcheckError) as e:
        gradgradcheck(f, x)
    assert str(e.value).splitlines()[0] == ("Jacobian mismatch for output 0 with respect to "
                                            "input 0,")
    assert "x (0)" in str(e.value)


# ---------------------------------------------------------------------------------------------
# wrong second derivatives fail, in both libraries
@pytest.mark.parametrize("how", ["detached", "square"])
def test_backward_right_only_to_first_order_fails_as_torch(how):
    program = (lambda ns, F: _cube(ns, how).apply)
    assert _both("gradcheck", program, [(3,)]) == (True, True)
    assert _both("gradgradcheck", program, [(3,)]) == (False, False)
    assert _both("gradgradcheck", program, [(3,)], fast_mode=True) == (False, False)
    x = _pair((3,))[0]
    with pytest.raises(autograd.GradcheckError) as e:
        gradgradcheck(_cube(autograd, how).apply, x)
    assert isinstance(e.value, RuntimeError) and isinstance(e.value, AssertionError)
    lines = str(e.value).splitlines()
    assert lines[0] == "Jacobian mismatch for output 0 with respect to input 0,"
    assert lines[1].startswith("gradgradcheck failed: 3 of 6 gradient elements")
    assert {r.name for r in e.value.result.failures} == {"input 0"}   # x, not grad_outputs


def test_wrong_derivative_in_the_grad_output_is_found_there():
    """backward = 2 g.detach() x: d VJP / dx is right (2 g), d VJP / dg is wrong. torch reports
    it as input 1 (the grad_output); so does tapegrad, and the table names it."""
    program = (lambda ns, F: _square_detached_g(ns).apply)
    assert _both("gradcheck", program, [(3,)]) == (True, True)
    assert _both("gradgradcheck", program, [(3,)]) == (False, False)
    x, tx = _pair((3,))
    with pytest.raises(autograd.GradcheckError) as e:
        gradgradcheck(_square_detached_g(autograd).apply, x)
    with pytest.raises(RuntimeError) as te:                 # torch's GradcheckError
        torch.autograd.gradgradcheck(_square_detached_g(torch).apply, tx)
    assert str(e.value).splitlines()[0] == str(te.value).splitlines()[0]
    assert str(e.value).splitlines()[0].endswith("with respect to input 1,")
    assert {r.name for r in e.value.result.failures} == {"grad_outputs[0]"}


def test_grad_outputs_given():
    x, tx = _pair((3,))
    v, tv = _pair((3,), seed=7)
    f = _square_detached_g(autograd).apply
    tf = _square_detached_g(torch).apply
    # v requiring grad: its wrong derivative is checked and fails, in both
    assert gradgradcheck(f, x, v, raise_exception=False) is False
    assert torch.autograd.gradgradcheck(tf, tx, tv, raise_exception=False) is False
    # v as a constant: only the inputs' second derivatives are checked, which are right
    v0, tv0 = _pair((3,), seed=7, requires_grad=False)
    assert gradgradcheck(f, x, [v0]) is True
    assert torch.autograd.gradgradcheck(tf, tx, (tv0,)) is True
    # given grad_outputs are used as given: a right program passes at them
    assert gradgradcheck(lambda a: a.tanh() * a, x, grad_outputs=v)


def test_grad_outputs_must_match_the_outputs():
    x = _pair((3,))[0]
    with pytest.raises(ValueError, match="2 grad_outputs for 1 outputs"):
        gradgradcheck(lambda a: a.sin(), x, [_pair((3,))[0], _pair((3,))[0]])
    with pytest.raises(ValueError, match=r"grad_output has shape \(2,\)"):
        gradgradcheck(lambda a: a.sin(), x, _pair((2,))[0])
    with pytest.raises(TypeError, match=r"grad_outputs\[0\] is a ndarray"):
        gradgradcheck(lambda a: a.sin(), x, [np.ones(3)])


def test_non_contiguous_grad_outputs():
    x = _pair((2, 3))[0]
    made = autograd.gradcheck.__globals__["_random_grad_outputs"](
        lambda a: a.sin(), [x], 0, True)
    assert not made[0]._data.flags["C_CONTIGUOUS"] and made[0].requires_grad
    assert np.all(np.abs(made[0]._data) <= 1.0)
    assert gradgradcheck(lambda a: (a @ a.T).tanh(), x, gen_non_contig_grad_outputs=True)


def test_raise_exception_false_returns_false_not_other_errors():
    x = _pair((3,))[0]
    assert gradgradcheck(_cube(autograd, "detached").apply, x, raise_exception=False) is False
    bad = Tensor(np.ones(2, np.float32), requires_grad=True)
    with pytest.raises(TypeError, match="float64"):       # not a gradient error: raised
        gradgradcheck(lambda a: a.sin(), bad, raise_exception=False)


# ---------------------------------------------------------------------------------------------
# torch's keywords
def _params(fn):
    return {name: (p.kind, p.default) for name, p in inspect.signature(fn).parameters.items()}


@pytest.mark.parametrize("name", ["gradcheck", "gradgradcheck"])
def test_signature_is_torchs_plus_seed(name):
    ours, theirs = _params(getattr(autograd, name)), _params(getattr(torch.autograd, name))
    extra = {"seed": (inspect.Parameter.KEYWORD_ONLY, 0)}
    if name == "gradcheck":
        extra["compiled"] = (inspect.Parameter.KEYWORD_ONLY, None)
    assert ours == {**theirs, **extra}
    assert list(ours)[:len(theirs)] == list(theirs)


@pytest.mark.parametrize("option", ["check_forward_ad", "check_batched_grad",
                                    "check_batched_forward_grad"])
def test_gradcheck_unsupported_options_are_refused_by_name(option):
    x = _pair((2,))[0]
    kw = {option: True}
    if option == "check_batched_forward_grad":
        kw["check_forward_ad"] = True
    with pytest.raises(NotImplementedError, match=f"gradcheck\\({option}=True\\)"
                       if option != "check_batched_forward_grad" else "check_forward_ad=True"):
        gradcheck(lambda a: a.sin(), x, **kw)
    kw = {k: False for k in kw}
    assert gradcheck(lambda a: a.sin(), x, **kw)


@pytest.mark.parametrize("option", ["check_fwd_over_rev", "check_batched_grad"])
def test_gradgradcheck_unsupported_options_are_refused_by_name(option):
    x = _pair((2,))[0]
    with pytest.raises(NotImplementedError, match=f"gradgradcheck\\({option}=True\\)"):
        gradgradcheck(lambda a: a.sin(), x, **{option: True})
    assert gradgradcheck(lambda a: a.sin(), x, **{option: False})


@pytest.mark.parametrize("check, kw, message", [
    ("gradcheck", {"check_backward_ad": False},
     "Expected at least one of check_forward_ad or check_backward_ad to be True"),
    ("gradcheck",
     {"check_batched_grad": True, "check_backward_ad": False, "check_forward_ad": True},
     "Setting check_batched_grad=True requires check_backward_ad to be True"),
    ("gradcheck", {"check_batched_forward_grad": True},
     "Setting check_batched_forward_grad=True requires check_forward_ad to be True"),
    ("gradgradcheck", {"check_rev_over_rev": False},
     "Expected at least one of check_fwd_over_rev or check_rev_over_rev to be True"),
    ("gradgradcheck", {"check_rev_over_rev": False, "check_fwd_over_rev": True},
     "Setting check_undefined_grad=True requires check_rev_over_rev to be True"),
])
def test_inconsistent_options_raise_torchs_assertion(check, kw, message):
    x, tx = _pair((2,))
    with pytest.raises(AssertionError, match=message):
        getattr(torch.autograd, check)(lambda a: a.sin(), tx, **kw)
    with pytest.raises(AssertionError, match=message):
        getattr(autograd, check)(lambda a: a.sin(), x, **kw)


def test_options_are_keyword_only_and_typos_are_refused():
    x = _pair((2,))[0]
    with pytest.raises(TypeError):
        gradcheck(lambda a: a.sin(), x, 1e-6)
    with pytest.raises(TypeError):
        gradgradcheck(lambda a: a.sin(), x, None, 1e-6)
    with pytest.raises(TypeError, match="raise_exceptions"):
        gradcheck(lambda a: a.sin(), x, raise_exceptions=False)
    assert gradcheck(func=lambda a: a.sin(), inputs=x)
    assert gradgradcheck(func=lambda a: a.sin(), inputs=[x], grad_outputs=None)


def test_masked_and_check_grad_dtypes_are_accepted():
    """masked only changes sparse inputs in torch (tapegrad's are dense); gradients always
    come back in their input's dtype, so check_grad_dtypes passes a right program."""
    for kw in ({"masked": True}, {"masked": False}, {"check_grad_dtypes": True}):
        assert _both("gradcheck", CORRECT["tanh"][0], [(3,)], **kw) == (True, True)
        assert _both("gradgradcheck", CORRECT["tanh"][0], [(3,)], **kw) == (True, True)


# ---------------------------------------------------------------------------------------------
# the error and its message
def test_error_type_and_where_it_is_found():
    import sys
    from autograd.gradcheck import GradcheckError
    assert autograd.GradcheckError is GradcheckError is autograd.gradcheck.GradcheckError
    assert sys.modules["autograd.gradcheck"].GradcheckError is GradcheckError
    assert issubclass(GradcheckError, RuntimeError) and issubclass(GradcheckError, AssertionError)
    with pytest.raises(RuntimeError):
        gradcheck(lambda a: _square(autograd, 1.0).apply(a), _pair((2,))[0])


def _first_line(ns, program, pairs, which):
    inputs = [p[which] for p in pairs]
    check = torch.autograd.gradcheck if ns is torch else autograd.gradcheck
    with pytest.raises(Exception) as e:
        check(program(ns), inputs if ns is not torch else tuple(inputs))
    return str(e.value).splitlines()[0]


@pytest.mark.parametrize("case", ["second output", "constant input first", "second input"])
def test_first_line_is_torchs(case):
    """torch counts outputs and inputs among those that require grad; several outputs are
    located one by one (tapegrad projects them together)."""
    if case == "second output":
        program = (lambda ns: lambda a: (a.sin(), _square(ns, 1.0).apply(a)))
        pairs = [_pair((3,))]
    elif case == "constant input first":
        program = (lambda ns: lambda c, a: _square(ns, 1.0).apply(a) * c)
        pairs = [_pair((3,), 1, requires_grad=False), _pair((3,))]
    else:
        program = (lambda ns: lambda a, b: a.sin() + _square(ns, 3.0).apply(b))
        pairs = [_pair((3,)), _pair((3,), 2)]
    ours, theirs = _first_line(autograd, program, pairs, 0), _first_line(torch, program, pairs, 1)
    assert ours == theirs and ours.startswith("Jacobian mismatch for output")


def test_outputs_that_do_not_require_grad_are_left_out_as_in_torch():
    program = (lambda ns, F: lambda a: (a.sin(), a.detach() * 2))
    assert _both("gradcheck", program, [(3,)]) == (True, True)
    # with no output requiring grad the numerical Jacobian must be zero
    program = (lambda ns, F: lambda a: a.detach() * 2)
    assert _both("gradcheck", program, [(3,)]) == (False, False)
    x = _pair((3,))[0]
    with pytest.raises(autograd.GradcheckError,
                       match="^Numerical gradient for function expected to be zero"):
        gradcheck(lambda a: a.detach() * 2, x)


# ---------------------------------------------------------------------------------------------
# torch's other checks: reentrancy, zero output gradients, undefined output gradients
def _noisy(ns, scale):
    """x^2 whose backward has scale * fresh noise in it (times g, so zero stays zero): the
    gradients of two backward passes differ by about scale."""
    class Noisy(_function(ns)):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * (2 * x + scale * ns.randn(*x.shape, dtype=x.dtype))
    return Noisy


def test_backward_that_is_not_reentrant_fails_as_torch():
    program = (lambda ns, F: _noisy(ns, 1e-9).apply)
    assert _both("gradcheck", program, [(3,)]) == (False, False)
    assert _both("gradcheck", program, [(3,)], nondet_tol=1e-6) == (True, True)
    assert _both("gradcheck", program, [(3,)], fast_mode=True) == (False, False)
    assert _both("gradcheck", program, [(3,)], nondet_tol=1e-6, fast_mode=True) == (True, True)
    assert _both("gradgradcheck", program, [(3,)]) == (False, False)
    with pytest.raises(autograd.GradcheckError, match="^Backward is not reentrant"):
        gradcheck(_noisy(autograd, 1e-9).apply, _pair((3,))[0])
    assert _both("gradcheck", lambda ns, F: _noisy(ns, 0.0).apply, [(3,)]) == (True, True)


def _ignores_g(ns):
    """sum(x^3) with backward 3 x^2, ignoring g: right at g = 1 (the scalar output's seed)."""
    class SumCube(_function(ns)):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return (x ** 3).sum()

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x ** 2
    return SumCube


def test_backward_not_multiplied_by_grad_output_fails_as_torch():
    program = (lambda ns, F: _ignores_g(ns).apply)
    assert _both("gradcheck", program, [(3,)]) == (False, False)
    assert _both("gradcheck", program, [(3,)], check_undefined_grad=False) == (False, False)
    assert _both("gradcheck", program, [(3,)], fast_mode=True) == (False, False)
    with pytest.raises(autograd.GradcheckError, match="^backward not multiplied by grad_output"):
        gradcheck(_ignores_g(autograd).apply, _pair((3,))[0])


def _two_outputs(ns, handles_none):
    """(2 x, 3 x) with materialize_grads off: an unused output's gradient comes as None. The
    backward handles it, or adds the gradients regardless (None + tensor: TypeError)."""
    class Two(_function(ns)):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return 2 * x, 3 * x

        @staticmethod
        def backward(ctx, g1, g2):
            if handles_none:
                terms = [k * g for k, g in ((2, g1), (3, g2)) if g is not None]
                return sum(terms[1:], terms[0]) if terms else None
            return 2 * g1 + 3 * g2
    return Two


def test_undefined_output_gradients():
    """A backward that takes None passes both libraries with check_undefined_grad on or off.
    One that cannot raises its own TypeError in both, whatever check_undefined_grad says: both
    compute one output's gradients at a time, the other output's gradient undefined (None)."""
    right = (lambda ns, F: _two_outputs(ns, True).apply)
    assert _both("gradcheck", right, [(3,)]) == (True, True)
    assert _both("gradcheck", right, [(3,)], check_undefined_grad=False) == (True, True)
    assert _both("gradgradcheck", right, [(3,)]) == (True, True)
    for flag in (True, False):
        with pytest.raises(TypeError, match="NoneType"):
            torch.autograd.gradcheck(_two_outputs(torch, False).apply, _pair((3,))[1],
                                     check_undefined_grad=flag)
        with pytest.raises(TypeError, match="NoneType"):
            gradcheck(_two_outputs(autograd, False).apply, _pair((3,))[0],
                      check_undefined_grad=flag)
