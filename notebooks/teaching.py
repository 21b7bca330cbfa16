"""What the notebooks share: seeds that can be shifted, spreads over seeds, and sliders.

    from teaching import SEED, Spread, explore

SEED: every notebook draws its random numbers from seeds `SEED + k`. SEED is 0 unless the
environment variable TAPEGRAD_SEED_OFFSET says otherwise (`python notebooks/run.py
--seed-offset 1` sets it), so a claim that holds only for the committed seeds fails when every
seed is shifted.

Spread: one measurement repeated over several seeds. Its text is `mean +- std (min..max)`;
a difference between two settings is claimed when the mean of the seed-by-seed differences is
more than twice its standard error (`Spread(a - b).clearly_positive()`).

explore: sliders (ipywidgets' `interact`) in a live notebook; run headless (notebooks/run.py,
the tests) or without ipywidgets, it calls the function once with each slider's start value,
so the notebook still runs top to bottom and its saved output shows that one setting.
"""
import math
import os

import numpy as np

SEED = int(os.environ.get("TAPEGRAD_SEED_OFFSET", "0"))

__all__ = ["SEED", "Spread", "explore"]


class Spread:
    """The values of one measurement over several runs (seeds).

    mean, std (sample standard deviation, ddof=1), sem = std / sqrt(n), lo = min, hi = max.
    Formatting with a spec applies it to every number: f"{s:.3f}" -> "0.912 +- 0.011
    (0.898..0.925)".
    """

    def __init__(self, values):
        self.values = np.asarray(values, dtype=float).ravel()
        if self.values.size == 0:
            raise ValueError("Spread: no values")
        n = self.values.size
        self.n = n
        self.mean = float(self.values.mean())
        self.std = float(self.values.std(ddof=1)) if n > 1 else 0.0
        self.sem = self.std / math.sqrt(n)
        self.lo, self.hi = float(self.values.min()), float(self.values.max())

    def clearly_positive(self, k=2.0):
        """True when the mean is more than k standard errors above 0 (k = 2: about a 95%
        one-sided test for 5 or more runs of a roughly normal measurement)."""
        return self.mean > k * self.sem and self.mean > 0

    def __format__(self, spec):
        spec = spec or ".3g"
        return (f"{self.mean:{spec}} +- {self.std:{spec}} "
                f"({self.lo:{spec}}..{self.hi:{spec}})")

    def __str__(self):
        return format(self)

    def __repr__(self):
        return f"Spread(n={self.n}: {self})"


def _live_kernel():
    """True inside a Jupyter kernel that is not run headless by notebooks/run.py."""
    if os.environ.get("TAPEGRAD_HEADLESS"):
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _widget(name, spec):
    import ipywidgets as w

    if isinstance(spec, (list, tuple)) and len(spec) == 4 and all(
            isinstance(v, (int, float)) for v in spec):
        value, lo, hi, step = spec
        if all(isinstance(v, int) for v in spec):
            return w.IntSlider(value=value, min=lo, max=hi, step=step, description=name,
                               continuous_update=False)
        return w.FloatSlider(value=value, min=lo, max=hi, step=step, description=name,
                             continuous_update=False, readout_format=".3g")
    if isinstance(spec, dict) and "log" in spec:
        value, lo, hi = spec["log"]
        return w.FloatLogSlider(value=value, min=math.log10(lo), max=math.log10(hi),
                                step=0.05, description=name, continuous_update=False,
                                readout_format=".3g")
    return w.Dropdown(options=list(spec), value=list(spec)[0], description=name)


def _start(spec):
    if isinstance(spec, dict) and "log" in spec:
        return spec["log"][0]
    if isinstance(spec, (list, tuple)) and len(spec) == 4 and all(
            isinstance(v, (int, float)) for v in spec):
        return spec[0]
    return list(spec)[0]


def explore(fn, **params):
    """Call fn(**values) under sliders, or once at the start values.

    Each parameter is `(start, low, high, step)` for a linear slider, `{"log": (start, low,
    high)}` for a logarithmic one, or a list of choices (the first is the start). In a live
    notebook with ipywidgets installed this is `ipywidgets.interact`; otherwise fn runs once
    with the start values and a line says how to get the sliders.
    """
    start = {name: _start(spec) for name, spec in params.items()}
    if _live_kernel():
        try:
            import ipywidgets
        except ImportError:
            print("(sliders need ipywidgets: pip install 'tapegrad[notebooks]'; showing one "
                  "setting)")
        else:
            widgets = {name: _widget(name, spec) for name, spec in params.items()}
            ipywidgets.interact(fn, **widgets)
            return None
    else:
        shown = ", ".join(f"{k} = {v:g}" if isinstance(v, (int, float)) else f"{k} = {v!r}"
                          for k, v in start.items())
        print(f"(static output for {shown}; in Jupyter, sliders let you change them)")
    return fn(**start)
