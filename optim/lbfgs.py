"""L-BFGS: quasi-Newton steps from a short history of gradient changes, with an optional
strong-Wolfe line search; PyTorch's algorithm (ported from minFunc via torch/optim)."""
import numpy as np

from autograd.engine import STATE, enable_grad

from .optimizer import Optimizer, _check_nonneg, _xp


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimizer of the cubic through (x1, f1) and (x2, f2) with slopes g1 and g2,
    clamped to `bounds` (default [min(x1, x2), max(x1, x2)]):

        d1 = g1 + g2 - 3 (f1 - f2) / (x1 - x2),   d2 = sqrt(d1^2 - g1 g2)
        x = x2 - (x2 - x1) (g2 + d2 - d1) / (g2 - g1 + 2 d2)     (x2 the farther point)

    When d1^2 < g1 g2 the cubic has no minimum: the middle of the bounds."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square >= 0:
        d2 = np.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                  max_ls=25):
    """A step length t along direction d satisfying the strong Wolfe conditions

        f(x + t d) <= f(x) + c1 t g.d            (sufficient decrease, Armijo)
        |g(x + t d).d| <= c2 |g.d|               (the slope flattened enough)

    found by bracketing (t grows by cubic extrapolation until the conditions hold or an
    interval contains such a point) and zooming (cubic interpolation inside the bracket).
    obj_func(x, t, d) gives (loss, flat gradient) at x + t d. At most max_ls evaluations.
    Returns (f_new, g_new, t, evaluations)."""
    d_norm = np.abs(d).max()
    g = g.copy()
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = g_new.dot(d)

    # bracket an interval containing a point satisfying the Wolfe criteria
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket = [t_prev, t]
            bracket_f = [f_prev, f_new]
            bracket_g = [g_prev, g_new.copy()]
            bracket_gtd = [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket = [t]
            bracket_f = [f_new]
            bracket_g = [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket = [t_prev, t]
            bracket_f = [f_prev, f_new]
            bracket_g = [g_prev, g_new.copy()]
            bracket_gtd = [gtd_prev, gtd_new]
            break
        # extrapolate: a cubic step between 1.01 t and 10 t
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                               bounds=(min_step, max_step))
        t_prev = tmp
        f_prev = f_new
        g_prev = g_new.copy()
        gtd_prev = gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1

    if ls_iter == max_ls:        # out of evaluations: the bracket from 0 to the last t
        bracket = [0, t]
        bracket_f = [f, f_new]
        bracket_g = [g, g_new]

    # zoom: shrink the bracket until its low end satisfies the conditions
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                               bracket[1], bracket_f[1], bracket_gtd[1])
        # a trial point too close to an end of the bracket, twice or at the end itself, is
        # moved to 0.1 of the bracket's length from it: the bracket must keep shrinking
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False

        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1

        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            # no sufficient decrease, or not below the low end: the new high end
            bracket[high_pos] = t
            bracket_f[high_pos] = f_new
            bracket_g[high_pos] = g_new.copy()
            bracket_gtd[high_pos] = gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                # the old high end becomes the low end
                bracket[high_pos] = bracket[low_pos]
                bracket_f[high_pos] = bracket_f[low_pos]
                bracket_g[high_pos] = bracket_g[low_pos]
                bracket_gtd[high_pos] = bracket_gtd[low_pos]
            bracket[low_pos] = t
            bracket_f[low_pos] = f_new
            bracket_g[low_pos] = g_new.copy()
            bracket_gtd[low_pos] = gtd_new

    t = bracket[low_pos]
    f_new = bracket_f[low_pos]
    g_new = bracket_g[low_pos]
    return f_new, g_new, t, ls_func_evals


class LBFGS(Optimizer):
    """PyTorch's L-BFGS. One `step(closure)` runs up to max_iter iterations, each:

        g = the gradient of all parameters, flattened into one vector
        d = -g                                              (first iteration ever)
        d = -H g                                            (afterwards: the two-loop recursion)
        t = min(1, 1 / sum|g|) * lr (first ever), lr (afterwards), or a strong-Wolfe search
        x = x + t d

    H approximates the inverse Hessian from the last history_size pairs s = t d,
    y = g_new - g_old (a pair is kept only when y.s > 1e-10), scaled by H_diag = y.s / y.y.
    An iteration stops the step when max|g| <= tolerance_grad, g.d > -tolerance_change,
    max|t d| <= tolerance_change, |loss change| < tolerance_change, or when max_iter
    iterations or max_eval closure calls (default max_iter * 5 // 4) are used.

    closure (required): zero_grad, forward, backward, return the loss; called with gradients
    enabled, several times per step. step returns its first loss. One parameter group only;
    the history lives in the state of the first parameter, as in torch: "func_evals",
    "n_iter", "d", "t", "old_dirs", "old_stps", "ro", "H_diag", "prev_flat_grad",
    "prev_loss", "al". Tensor and Value parameters alike (a Value is one coordinate).
    """

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        _check_nonneg("lr", lr, "learning rate")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    # --------------------------------------------------------------- the flattened parameters
    def _gather_flat_grad(self):
        """All gradients as one vector (zeros for a parameter without one)."""
        views = []
        for p in self._params:
            g = _xp(p).grad_of(p)
            if g is None:
                views.append(np.zeros(np.size(p._data), dtype=p._data.dtype))
            else:
                views.append(np.ravel(g))
        return np.concatenate(views)

    def _add_grad(self, step_size, update):
        """x = x + step_size * update, update a flat vector over all parameters."""
        offset = 0
        for p in self._params:
            numel = np.size(p._data)
            piece = update[offset:offset + numel]
            if isinstance(p._data, np.ndarray):
                p._data += (step_size * piece).reshape(p._data.shape)
            else:
                p._data = float(p._data + step_size * piece[0])
            _xp(p).stepped(p)
            offset += numel

    def _clone_param(self):
        return [np.copy(p._data) if isinstance(p._data, np.ndarray) else p._data
                for p in self._params]

    def _set_param(self, params_data):
        for p, data in zip(self._params, params_data):
            if isinstance(p._data, np.ndarray):
                p._data[...] = data
            else:
                p._data = data
            _xp(p).stepped(p)

    def _directional_evaluate(self, closure, x, t, d):
        """(loss, flat gradient) at x + t d; the parameters are put back to x after."""
        self._add_grad(t, d)
        loss = float(closure())
        flat_grad = self._gather_flat_grad()
        self._set_param(x)
        return loss, flat_grad

    # ---------------------------------------------------------------------------- the step
    def step(self, closure):
        """Up to max_iter L-BFGS iterations; returns the closure's first loss."""
        if STATE.trace is not None:
            STATE.trace.refuse(
                "optimizer.step(closure) of LBFGS",
                "L-BFGS calls the closure several times per step, at points its line search "
                "chooses: compile the loss alone and call the step outside, with the compiled "
                "loss in the closure: loss_fn = autograd.compile(loss_of); def closure(): "
                "opt.zero_grad(); loss = loss_fn(x, y); loss.backward(); return loss; "
                "then opt.step(closure)")
        if len(self.param_groups) != 1:
            raise AssertionError(f"Expected exactly one param_group, but got "
                                 f"{len(self.param_groups)}")
        self._opt_called = True         # lr schedulers check the order of the two steps

        def evaluate():
            with enable_grad():
                return closure()

        group = self.param_groups[0]
        lr = group["lr"]
        max_iter = group["max_iter"]
        max_eval = group["max_eval"]
        tolerance_grad = group["tolerance_grad"]
        tolerance_change = group["tolerance_change"]
        line_search_fn = group["line_search_fn"]
        history_size = group["history_size"]

        # L-BFGS's state is global; torch keeps it under the first parameter
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = evaluate()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1

        flat_grad = self._gather_flat_grad()
        opt_cond = np.abs(flat_grad).max() <= tolerance_grad
        if opt_cond:
            return orig_loss

        d = state.get("d")
        t = state.get("t")
        old_dirs = state.get("old_dirs")
        old_stps = state.get("old_stps")
        ro = state.get("ro")
        H_diag = state.get("H_diag")
        prev_flat_grad = state.get("prev_flat_grad")
        prev_loss = state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # the descent direction
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs = []
                old_stps = []
                ro = []
                H_diag = 1
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = y.dot(s)
                if ys > 1e-10:      # keep the pair only where the curvature is positive
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / y.dot(y)
                num_old = len(old_dirs)
                if "al" not in state:
                    state["al"] = [None] * history_size
                al = state["al"]
                # the two-loop recursion: q = -g through the history backwards, then forwards
                q = -flat_grad
                for i in range(num_old - 1, -1, -1):
                    al[i] = old_stps[i].dot(q) * ro[i]
                    q += -al[i] * old_dirs[i]
                d = r = q * H_diag
                for i in range(num_old):
                    be_i = old_dirs[i].dot(r) * ro[i]
                    r += (al[i] - be_i) * old_stps[i]

            if prev_flat_grad is None:
                prev_flat_grad = flat_grad.copy()
            else:
                prev_flat_grad[...] = flat_grad
            prev_loss = loss

            # the step length
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr
            else:
                t = lr
            gtd = flat_grad.dot(d)
            if gtd > -tolerance_change:     # not a descent direction (to tolerance)
                break

            ls_func_evals = 0
            if line_search_fn is not None:
                if line_search_fn != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                x_init = self._clone_param()

                def obj_func(x, t, d):
                    return self._directional_evaluate(evaluate, x, t, d)

                loss, flat_grad, t, ls_func_evals = _strong_wolfe(
                    obj_func, x_init, t, d, loss, flat_grad, gtd,
                    max_ls=max_eval - current_evals)
                self._add_grad(t, d)
                opt_cond = np.abs(flat_grad).max() <= tolerance_grad
            else:
                self._add_grad(t, d)
                if n_iter != max_iter:
                    # the last iteration's loss is not evaluated: the next step's closure
                    # call does it (on the next batch, when training stochastically)
                    loss = float(evaluate())
                    flat_grad = self._gather_flat_grad()
                    opt_cond = np.abs(flat_grad).max() <= tolerance_grad
                    ls_func_evals = 1

            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            if n_iter == max_iter:
                break
            if current_evals >= max_eval:
                break
            if opt_cond:
                break
            if np.abs(d * t).max() <= tolerance_change:
                break
            if abs(loss - prev_loss) < tolerance_change:
                break

        state["d"] = d
        state["t"] = t
        state["old_dirs"] = old_dirs
        state["old_stps"] = old_stps
        state["ro"] = ro
        state["H_diag"] = H_diag
        state["prev_flat_grad"] = prev_flat_grad
        state["prev_loss"] = prev_loss
        return orig_loss

    # ----------------------------------------------------------------------------- state dicts
    def state_dict(self):
        """torch's layout: the flat vectors (d, prev_flat_grad, the history lists) and the
        numbers torch holds as 0-d tensors (t after a first step, ro, H_diag, al) as Tensors;
        func_evals, n_iter and prev_loss as Python numbers."""
        sd = super().state_dict()
        sd["state"] = {idx: {k: _to_tensors(v) for k, v in entries.items()}
                       for idx, entries in sd["state"].items()}
        return sd

    def load_state_dict(self, state_dict):
        """As Optimizer.load_state_dict; the vectors and numbers (Tensors, numpy arrays, or
        torch's state converted to numpy) are taken in the parameters' dtype."""
        saved = state_dict["state"]
        super().load_state_dict(dict(state_dict, state={}))
        index = {}
        for g_saved, g_mine in zip(state_dict["param_groups"], self.param_groups):
            for idx, p in zip(g_saved["params"], g_mine["params"]):
                index[int(idx)] = p
        dtype = np.result_type(*[np.asarray(p._data).dtype for p in self._params])
        for idx, entries in saved.items():
            p = index.get(int(idx))
            if p is not None:
                self.state[p] = {k: _PYTHON_NUMBERS[k](v) if k in _PYTHON_NUMBERS
                                 else _from_saved(v, dtype) for k, v in entries.items()}


# entries torch keeps as Python numbers (an .npz file holds them as 0-d arrays)
_PYTHON_NUMBERS = {"func_evals": int, "n_iter": int, "prev_loss": float}


def _to_tensors(v):
    """A state entry as torch shows it: arrays and numpy numbers as Tensors, lists entrywise."""
    from autograd.tensor import Tensor
    if isinstance(v, list):
        return [_to_tensors(e) for e in v]
    if isinstance(v, (np.ndarray, np.generic)) and not isinstance(v, np.bool_):
        return Tensor._node(np.array(v))
    return v


def _from_saved(v, dtype):
    """A saved entry back as the step keeps it: arrays for vectors, numpy numbers of the
    parameters' dtype for 0-d values, Python numbers as they are."""
    if isinstance(v, list):
        return [_from_saved(e, dtype) for e in v]
    if v is None or isinstance(v, (bool, int, float)):
        return v
    arr = np.asarray(v)
    if arr.ndim == 0 and arr.dtype.kind in "iu":     # t = lr = 1, an int in torch's state too
        return int(arr)
    arr = np.array(arr, dtype=dtype)
    return arr[()] if arr.ndim == 0 else arr

