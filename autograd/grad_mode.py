"""Grad modes as torch spells them: no_grad, enable_grad, set_grad_enabled, inference_mode.

Each is a context manager and a decorator, as torch's:

    with autograd.no_grad(): ...            # nothing recorded inside
    @autograd.no_grad()                     # or bare: @autograd.no_grad
    def evaluate(model, x): ...
    autograd.set_grad_enabled(False)        # as a call, it switches recording off until
                                            # switched on again; as `with`, for a block

They set the engine's switch (engine.STATE.grad_enabled), the same one engine.no_grad sets.
tapegrad has no separate inference mode: inference_mode is no_grad (tensors made inside
may later take part in recorded ops, which torch forbids; nothing else differs).
"""
import functools
import inspect

from .engine import STATE


class _GradMode:
    """A context manager setting grad mode to `self.mode` for its block, restoring it after;
    called on a function, it wraps the function in that block."""
    mode = False

    def __init__(self):
        self._prev = []

    def __new__(cls, *args, **kwargs):
        # @no_grad without parentheses: the class is called on the function itself
        if cls is not set_grad_enabled and len(args) == 1 and not kwargs and callable(args[0]) \
                and not isinstance(args[0], bool):
            return cls()(args[0])
        return super().__new__(cls)

    def __enter__(self):
        self._prev.append(STATE.grad_enabled)
        STATE.grad_enabled = self.mode
        return None

    def __exit__(self, *exc):
        STATE.grad_enabled = self._prev.pop()
        return False

    def __call__(self, func):
        mode_cls, args = type(self), self._args()
        if inspect.isgeneratorfunction(func):
            @functools.wraps(func)
            def generator(*a, **kw):
                gen = func(*a, **kw)
                with mode_cls(*args):
                    value = next(gen)
                while True:
                    try:
                        sent = yield value
                    except GeneratorExit:
                        gen.close()
                        raise
                    with mode_cls(*args):
                        try:
                            value = gen.send(sent)
                        except StopIteration as stop:
                            return stop.value
            return generator

        @functools.wraps(func)
        def wrapper(*a, **kw):
            with mode_cls(*args):
                return func(*a, **kw)
        return wrapper

    def _args(self):
        return ()

    def clone(self):
        return type(self)(*self._args())


class no_grad(_GradMode):
    """Within it, ops record nothing: results are constants (requires_grad False). Use it for
    evaluation and for updating parameters by hand."""
    mode = False


class enable_grad(_GradMode):
    """Recording on again inside a no_grad block (or function)."""
    mode = True


class set_grad_enabled(_GradMode):
    """set_grad_enabled(mode): as a call, recording is `mode` from now on (torch's form
    `torch.set_grad_enabled(False)`); as a context manager or decorator, for a block."""

    def __init__(self, mode):
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled(): argument 'mode' must be bool, not "
                            f"{type(mode).__name__}")
        super().__init__()
        self.mode = mode
        self._before = STATE.grad_enabled
        STATE.grad_enabled = mode           # effective at once, as torch's

    def __enter__(self):
        self._prev.append(self._before)
        STATE.grad_enabled = self.mode
        return None

    def _args(self):
        return (self.mode,)


class inference_mode(_GradMode):
    """inference_mode(mode=True): no_grad when mode is True (tapegrad has no inference tensors),
    nothing when False."""

    def __init__(self, mode=True):
        super().__init__()
        self.mode = not mode if isinstance(mode, bool) else False
        self._flag = bool(mode)

    def __enter__(self):
        self._prev.append(STATE.grad_enabled)
        if self._flag:
            STATE.grad_enabled = False
        return None

    def _args(self):
        return (self._flag,)


def is_grad_enabled():
    """Whether ops are recorded now."""
    return STATE.grad_enabled


def is_inference_mode_enabled():
    """False: tapegrad has no inference mode of its own (inference_mode is no_grad)."""
    return False


__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "is_inference_mode_enabled"]
