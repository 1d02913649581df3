"""The synthetic task: a Sim2Real pair generated from a known ground truth, with no download.

Inputs are points x written as comma-separated strings. The card's ``[options] generator`` picks
how they and their targets are made (cards that do not say get ``"v1"``, so old cards keep their
rows byte for byte):

``"v1"`` (cards 1.x). x uniform in [-1, 1]^d; the real property is f(x) plus measurement noise, the
simulated one f(x) + shift·g(x), with f a sum of sines and g a smooth systematic error. Its
error-vs-n curve has the right shape but no known exponent: `mlp` on the quick grid bends (n = 32–128
pretraining is worse than scratch) and the law fits with R² 0.755 only.

``"spectral"`` (cards 2.x). A linear teacher on Gaussian inputs with power-law spectra, the setting
whose learning curve is analytic (Caponnetto & De Vito 2007, "Optimal rates for the regularized
least-squares algorithm"; Bordelon, Canatar & Pehlevan 2020, "Spectrum dependent learning curves in
kernel regression and wide neural networks"; Cui, Loureiro, Krzakala & Zdeborová 2021, "Generalization
error rates in kernel regression: the crossover from the noiseless to noisy regime"). In the
eigenbasis z of the input covariance, Var z_k = λ_k ∝ k^(−a) (capacity a > 1) and the teacher
y = Σ w_k z_k puts power λ_k·w_k² ∝ k^(−b) on mode k (source: 1 < b < 2a + 1). The inputs the model
sees are x = H z with H the normalised Walsh–Hadamard matrix: every coordinate of x then has the same
variance (Σλ_k/d), so a learner that standardises its columns (every built-in model does) rescales
all of them by one factor and keeps the spectrum, where a diagonal spectrum would be flattened to
the identity. Simulated targets are y; real targets are y + offset (+ noise·N(0, 1), default 0).

Why α = (b − 1) / (2a) for `ridge` with its defaults (derivation, with the measurements, in
docs/synthetic.md). Pretraining solves (XᵀX + λI)w = Xᵀy on n rows (λ = alpha_pretrain, the penalty
in sum form, so the effective per-row ridge is λ/n). For n ≫ the number of learned modes, mode k is
learned to the factor nλ_k/(nλ_k + λ) and the excess risk is
    R(n) ≈ Σ_k k^(−b) · (λ / (nλ_k + λ))²  ∝ (n/λ)^(−(b−1)/a)
(the modes below k* = (n/λ)^(1/a) contribute their squared shrinkage, those above their whole power;
both sums scale as k*^(1−b); b < 2a + 1 keeps ridge off its saturation). Fine-tuning solves the same
problem on the m real rows for the residual y_real − prediction with the penalty centred on the
pretrained weights and a free intercept: the intercept absorbs the offset exactly, and the residual
lives in the modes above k*(n), which m ≪ n rows under a penalty alpha_finetune cannot learn, so
fine-tuning leaves R(n) as it is up to a factor 1 + O(1/m) (the intercept's own estimation error).
The test error e = (ŵ − w)·z is Gaussian, so its MAE is √(2/π)·√R(n) ∝ n^(−α) with
α = (b − 1)/(2a), C = 0 (noise = 0). With real noise σ > 0, MAE = √(2/π)·√(R(n) + σ²): no single
exponent, which is why the card keeps noise = 0. The finite-sample corrections (the learner's implicit
regularisation, O(k*/n)) make the local slope a little steeper at small n; they fade as n^(1/a − 1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from s2rbench.contracts.featurizer import Featurizer
from s2rbench.errors import S2RBenchError
from s2rbench.hookspecs import hookimpl
from s2rbench.tasks import TaskTables

DEFAULTS = {"dim": 8, "sim_rows": 8192, "real_rows": 300, "shift": 0.5, "noise": 0.05, "seed": 20221}
SPECTRAL_DEFAULTS = {
    "dim": 64,
    "sim_rows": 8192,
    "real_rows": 300,
    "spectrum_decay": 8.0,
    "teacher_decay": 3.0,
    "offset": 0.5,
    "noise": 0.0,
    "seed": 20221,
}
GENERATORS = ("v1", "spectral")
#: a card is data from anyone: bound what it may make us allocate (values written as text)
MAX_VALUES = 4_000_000


def ground_truth(x: np.ndarray, rng_seed: int) -> tuple[np.ndarray, np.ndarray]:
    """f (the real property) and g (the simulation's systematic error) at points x (generator v1)."""
    d = x.shape[1]
    rng = np.random.Generator(np.random.PCG64(rng_seed))
    w1 = rng.normal(size=(d, 16)) / np.sqrt(d)
    a1 = rng.normal(size=16) / 4
    w2 = rng.normal(size=(d, 4)) / np.sqrt(d)
    a2 = rng.normal(size=4) / 2
    f = np.sin(2.0 * x @ w1) @ a1 + 0.5 * x[:, 0] ** 2
    g = np.tanh(x @ w2) @ a2 + 0.3
    return f, g


def _frame(x: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"input": [",".join(f"{v:.6f}" for v in row) for row in x], "target": y})


def _frame_fast(x: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """`_frame` with one %-format per row instead of one f-string per value (same text, 3x faster)."""
    fmt = ",".join(["%.6f"] * x.shape[1])
    return pd.DataFrame({"input": [fmt % tuple(row) for row in x.tolist()], "target": y})


def generate_v1(o: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generator v1 (synthetic cards 1.x): unchanged, so their rows stay byte-identical."""
    rng = np.random.Generator(np.random.PCG64(int(o["seed"]) + 1))
    d = int(o["dim"])
    xs = rng.uniform(-1, 1, size=(int(o["sim_rows"]), d))
    xr = rng.uniform(-1, 1, size=(int(o["real_rows"]), d))
    fs, gs = ground_truth(xs, int(o["seed"]))
    fr, _ = ground_truth(xr, int(o["seed"]))
    ys = fs + float(o["shift"]) * gs
    yr = fr + float(o["noise"]) * rng.normal(size=len(fr))
    return _frame(xs, ys), _frame(xr, yr)


def spectrum(o: dict) -> tuple[np.ndarray, np.ndarray]:
    """(λ_k, w_k) of the spectral generator: input variances (mean 1, so every x coordinate has
    variance 1) and teacher weights in the eigenbasis (total power Σλ_k w_k² = 1)."""
    d, a, b = int(o["dim"]), float(o["spectrum_decay"]), float(o["teacher_decay"])
    k = np.arange(1, d + 1, dtype=np.float64)
    lam = k**-a
    lam *= d / lam.sum()
    power = k**-b
    power /= power.sum()
    return lam, np.sqrt(power / lam)


def hadamard(d: int) -> np.ndarray:
    """The normalised d × d Walsh–Hadamard matrix (d a power of two): orthogonal, all |entries| equal."""
    from scipy.linalg import hadamard as _h

    return _h(d).astype(np.float64) / np.sqrt(d)


def generate_spectral(o: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generator "spectral" (synthetic cards 2.x): linear teacher, power-law spectra (module docstring)."""
    d = int(o["dim"])
    if d < 2 or d & (d - 1):
        raise S2RBenchError(
            f"synthetic card: [options] dim = {d} must be a power of two (2, 4, ..., 4096) for the spectral generator"
        )
    a, b = float(o["spectrum_decay"]), float(o["teacher_decay"])
    if not (a > 1 and b > 1):
        raise S2RBenchError(
            f"synthetic card: [options] spectrum_decay = {a} and teacher_decay = {b} must both exceed 1"
        )
    rng = np.random.Generator(np.random.PCG64(int(o["seed"]) + 1))
    lam, w = spectrum(o)
    w = w * rng.choice([-1.0, 1.0], size=d)
    H = hadamard(d)

    def draw(rows: int) -> tuple[np.ndarray, np.ndarray]:
        z = rng.normal(size=(rows, d)) * np.sqrt(lam)
        # the teacher reads the exact z; the model reads x = Hz written to 6 decimals (and stored as
        # float32): an input error of ~1e-7 in directions that no learner of this size reaches (λ_k
        # > 1e-6 for every mode learned at n ≤ 10⁵), where a teacher applied to the rounded x would
        # put its huge tail weights on the rounding noise and break the spectrum
        return np.round(z @ H, 6), z @ w

    xs, ys = draw(int(o["sim_rows"]))
    xr, yr = draw(int(o["real_rows"]))
    yr = yr + float(o["offset"]) + float(o["noise"]) * rng.normal(size=len(yr))
    return _frame_fast(xs, ys), _frame_fast(xr, yr)


def theory_alpha(options: dict) -> float | None:
    """The exponent theory gives `ridge` (defaults) on this configuration, or None where it gives none
    (generator v1, real noise, or a teacher outside 1 < b < 2a + 1)."""
    o = {**SPECTRAL_DEFAULTS, **options}
    if o.get("generator", "v1") != "spectral" or float(o["noise"]) != 0.0:
        return None
    a, b = float(o["spectrum_decay"]), float(o["teacher_decay"])
    return (b - 1) / (2 * a) if a > 1 and 1 < b < 2 * a + 1 else None


def generate(options: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    kind = str(options.get("generator", "v1"))
    if kind not in GENERATORS:
        raise S2RBenchError(
            f"synthetic card: [options] generator = {kind!r} is unknown; use one of {', '.join(GENERATORS)}"
        )
    o = {
        **(SPECTRAL_DEFAULTS if kind == "spectral" else DEFAULTS),
        **{k: v for k, v in options.items() if k != "generator"},
    }
    try:
        rows, d = int(o["sim_rows"]) + int(o["real_rows"]), int(o["dim"])
    except (TypeError, ValueError):
        raise S2RBenchError("synthetic card: [options] sim_rows, real_rows and dim must be integers") from None
    if min(int(o["sim_rows"]), int(o["real_rows"]), d) < 1 or rows * d > MAX_VALUES:
        raise S2RBenchError(
            f"synthetic card: [options] (sim_rows + real_rows) × dim = {rows} × {d} must be positive and at most {MAX_VALUES:,}"
        )
    return generate_spectral(o) if kind == "spectral" else generate_v1(o)


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
        # the dimension is the first valid row's, per call: one featurizer object serves every task of a
        # process (a dim-8 task prepared before a dim-128 one must not make the latter's rows invalid)
        self._dim = None
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
        if inputs and self._dim:
            flat = np.fromstring(",".join(inputs), sep=",")  # one C parse of every value
            if flat.size == len(inputs) * self._dim:
                return flat.reshape(len(inputs), self._dim)
        return np.array([[float(v) for v in s.split(",")] for s in inputs], dtype=np.float64).reshape(len(inputs), -1)

    def feature_names(self):
        return [f"x{i}" for i in range(self._dim or 0)]


@hookimpl
def register_loaders(register):
    register("synthetic", synthetic_loader)


@hookimpl
def register_featurizers(register):
    register(VectorFeaturizer())
