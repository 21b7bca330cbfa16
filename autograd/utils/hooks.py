"""torch.utils.hooks: the handle that registering a hook returns."""
import weakref


class RemovableHandle:
    """What Tensor.register_hook (and register_post_accumulate_grad_hook) returns, torch's:
    `handle.remove()` unregisters the hook (a second remove() does nothing), and `with
    handle:` removes it at the end of the block. It holds the hooks' dict weakly: a handle
    kept keeps no tensor alive."""
    next_id = 0         # the id the next handle takes

    def __init__(self, hooks_dict, *, extra_dict=None):
        self.hooks_dict_ref = weakref.ref(hooks_dict)
        self.id = RemovableHandle.next_id
        RemovableHandle.next_id += 1
        extra = extra_dict if isinstance(extra_dict, (list, tuple)) else (
            [] if extra_dict is None else [extra_dict])
        self.extra_dict_ref = tuple(weakref.ref(d) for d in extra)

    def remove(self):
        for ref in (self.hooks_dict_ref, *self.extra_dict_ref):
            hooks = ref()
            if hooks is not None:
                hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
