"""The synthetic task: a Sim2Real pair generated from a known ground truth, with no download.

Inputs are points x in [-1, 1]^d written as strings; the real property is f(x) plus measurement
noise, the simulated one is f(x) + shift * g(x), where g is a smooth, systematic error (the kind a
force field or functional makes). A model pretrained on simulation learns f + shift*g and must
unlearn the shift from the few real rows, so its error falls with n towards a floor set by the
shift, the real-set size and the noise: the error-vs-n curve has the shape the law describes, and
`shift = 0` gives a pure power law. Everything is a deterministic function of the card's options.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from s2rbench.contracts.featurizer import Featurizer
from s2rbench.hookspecs import hookimpl
from s2rbench.tasks import TaskTables

DEFAULTS = {"dim": 8, "sim_rows": 8192, "real_rows": 300, "shift": 0.5, "noise": 0.05, "seed": 20221}


def ground_truth(x: np.ndarray, rng_seed: int) -> tuple[np.ndarray, np.ndarray]:
    """f (the real property) and g (the simulation's systematic error) at points x."""
    d = x.shape[1]
    rng = np.random.Generator(np.random.PCG64(rng_seed))
    w1 = rng.normal(size=(d, 16)) / np.sqrt(d)
    a1 = rng.normal(size=16) / 4
    w2 = rng.normal(size=(d, 4)) / np.sqrt(d)
    a2 = rng.normal(size=4) / 2
    f = np.sin(2.0 * x @ w1) @ a1 + 0.5 * x[:, 0] ** 2
    g = np.tanh(x @ w2) @ a2 + 0.3
    return f, g


def generate(options: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    o = {**DEFAULTS, **options}
    rng = np.random.Generator(np.random.PCG64(int(o["seed"]) + 1))
    d = int(o["dim"])
    xs = rng.uniform(-1, 1, size=(int(o["sim_rows"]), d))
    xr = rng.uniform(-1, 1, size=(int(o["real_rows"]), d))
    fs, gs = ground_truth(xs, int(o["seed"]))
    fr, _ = ground_truth(xr, int(o["seed"]))
    ys = fs + float(o["shift"]) * gs
    yr = fr + float(o["noise"]) * rng.normal(size=len(fr))

    def frame(x: np.ndarray, y: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame({"input": [",".join(f"{v:.6f}" for v in row) for row in x], "target": y})

    return frame(xs, ys), frame(xr, yr)


def synthetic_loader(card, data_dir=None) -> TaskTables:
    sim, real = generate(card.options)
    return TaskTables(sim=sim, real=real)


class VectorFeaturizer(Featurizer):
    """Inputs that already are numbers: 'x1,x2,...' strings become rows (used by the synthetic task)."""

    name = "vector"
    version = "1"
    input_kind = "vector"
    description = "comma-separated numbers as features (synthetic task)"

    def __init__(self) -> None:
        self._dim: int | None = None

    def canonicalize(self, inputs):
        out = []
        for s in inputs:
            try:
                vals = [float(v) for v in str(s).split(",")]
            except ValueError:
                out.append(None)
                continue
            ok = vals and all(np.isfinite(vals)) and (self._dim is None or len(vals) == self._dim)
            if ok and self._dim is None:
                self._dim = len(vals)
            out.append(",".join(f"{v:.6f}" for v in vals) if ok else None)
        return out

    def featurize_canonical(self, inputs):
        return np.array([[float(v) for v in s.split(",")] for s in inputs], dtype=np.float64).reshape(len(inputs), -1)

    def feature_names(self):
        return [f"x{i}" for i in range(self._dim or 0)]


@hookimpl
def register_loaders(register):
    register("synthetic", synthetic_loader)


@hookimpl
def register_featurizers(register):
    register(VectorFeaturizer())
