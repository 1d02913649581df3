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

``"spectral-exact"`` (cards 2.1). The same design, the same constants to the last digit or so, and
the same random draws as "spectral", computed so that every bit of the table is the same on every
CPU code path: the Hadamard mixing is a butterfly of elementwise adds and subtracts (`fwht`), the
teacher a loop over features of elementwise multiply-adds (`dot_rows`), the spectrum's constants
are computed in software (`spectrum_exact`). "spectral" multiplies matrices, so its table's last
bits depend on the BLAS kernel (``OPENBLAS_CORETYPE=Sandybridge``) and NumPy's SIMD power
(``NPY_DISABLE_CPU_FEATURES=X86_V4``), and with them the table's fingerprint and every split
derived from it; it stays, unchanged, for card 2.0.0 (``cards/archive/``) and its entries.

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

import math

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
#: "spectral-exact" is "spectral" computed with operations whose every bit is fixed by IEEE 754 (card 2.1)
GENERATORS = ("v1", "spectral", "spectral-exact")
SPECTRAL = ("spectral", "spectral-exact")
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


def _check_spectral(o: dict) -> None:
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


def generate_spectral(o: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generator "spectral" (synthetic cards 2.x): linear teacher, power-law spectra (module docstring)."""
    d = int(o["dim"])
    _check_spectral(o)
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


def spectrum_exact(o: dict) -> tuple[np.ndarray, np.ndarray]:
    """`spectrum` with every constant computed once, in software, to 40 significant digits (`decimal`),
    and rounded to float64 once: (√λ_k, w_k) for generator "spectral-exact".

    Why not NumPy: ``k**-a`` on an array goes to NumPy's SIMD power (SVML on AVX-512: the 2.0.0 table
    changes under ``NPY_DISABLE_CPU_FEATURES=X86_V4``) and ``lam.sum()`` to a pairwise SIMD sum. Why not
    `math.pow`: glibc picks an FMA or a plain variant of pow by CPU. `decimal` is libmpdec, the same
    digits on every CPU; ``float(Decimal)`` rounds correctly, so these floats are the exact values
    rounded once (up to the last of 40 digits). Returns √λ rather than λ: the generator scales z by it.
    """
    import decimal

    d, a, b = int(o["dim"]), float(o["spectrum_decay"]), float(o["teacher_decay"])
    with decimal.localcontext(decimal.Context(prec=40)):
        D = decimal.Decimal
        k = [D(i) for i in range(1, d + 1)]
        lam = [ki ** -D(a) for ki in k]  # D(a): the card's float exactly
        power = [ki ** -D(b) for ki in k]
        s_lam, s_pow = sum(lam, D(0)), sum(power, D(0))  # in order k = 1…d, at 40 digits
        lam = [x * d / s_lam for x in lam]
        power = [x / s_pow for x in power]
        sqrt_lam = [x.sqrt() for x in lam]
        w = [(p / x).sqrt() for p, x in zip(power, lam)]
    return np.array([float(x) for x in sqrt_lam]), np.array([float(x) for x in w])


def fwht(z: np.ndarray) -> np.ndarray:
    """H z for every row of z, H the normalised Walsh–Hadamard matrix in Sylvester order (the
    `hadamard` matrix): the fast butterfly, log2(d) rounds of elementwise a + b, a − b in a fixed
    order, then one division by √d. Each is one IEEE operation per value, so the result is the same
    on every BLAS and SIMD path (a matmul sums in whatever order its kernel blocks)."""
    rows, d = z.shape
    x = np.array(z, dtype=np.float64, order="C")
    h = 1
    while h < d:
        v = x.reshape(rows, d // (2 * h), 2, h)
        a, b = v[:, :, 0, :], v[:, :, 1, :]
        x = np.stack([a + b, a - b], axis=2).reshape(rows, d)
        h *= 2
    return x / math.sqrt(d)  # correctly rounded √d (exactly 8 for d = 64)


def dot_rows(z: np.ndarray, w: np.ndarray) -> np.ndarray:
    """z @ w as Σ_k z[:, k]·w_k in the order k = 0, 1, …: one elementwise multiply and one add per
    feature (no BLAS, no pairwise SIMD reduction), so every bit is fixed."""
    acc = np.zeros(z.shape[0], dtype=np.float64)
    for k in range(z.shape[1]):
        acc = acc + z[:, k] * w[k]
    return acc


def generate_spectral_exact(o: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generator "spectral-exact" (synthetic cards 2.1): the design of "spectral" and its random draws
    (the same seed gives the same signs and the same z), computed bit-identically on every CPU code path.

    Every value of the table is a fixed sequence of IEEE 754 operations that round correctly
    (+, −, ×, ÷, √, rint) on NumPy's random draws and on constants computed in software
    (`spectrum_exact`): no matmul, dot, einsum or float reduction, no SIMD transcendental. The draws
    are NumPy's ziggurat (`Generator.normal`): its values are integer × table products; only the
    wedge test (exp) and the tail (log1p, |z| > 3.65) call glibc's scalar libm, which NumPy's
    dispatch does not reach. tests/plugins/test_synthetic.py hashes the table under NumPy without
    AVX-512, OpenBLAS Sandybridge/Haswell kernels, torch's default ATen path and glibc without FMA/AVX2.
    """
    d = int(o["dim"])
    _check_spectral(o)
    rng = np.random.Generator(np.random.PCG64(int(o["seed"]) + 1))
    sqrt_lam, w = spectrum_exact(o)
    w = w * rng.choice([-1.0, 1.0], size=d)

    def draw(rows: int) -> tuple[np.ndarray, np.ndarray]:
        z = rng.normal(size=(rows, d)) * sqrt_lam
        # as in "spectral": the teacher reads the exact z, the model x = Hz written to 6 decimals
        return np.round(fwht(z), 6), dot_rows(z, w)

    xs, ys = draw(int(o["sim_rows"]))
    xr, yr = draw(int(o["real_rows"]))
    yr = yr + float(o["offset"]) + float(o["noise"]) * rng.normal(size=len(yr))
    return _frame_fast(xs, ys), _frame_fast(xr, yr)


def theory_alpha(options: dict) -> float | None:
    """The exponent theory gives `ridge` (defaults) on this configuration, or None where it gives none
    (generator v1, real noise, or a teacher outside 1 < b < 2a + 1)."""
    o = {**SPECTRAL_DEFAULTS, **options}
    if o.get("generator", "v1") not in SPECTRAL or float(o["noise"]) != 0.0:
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
        **(SPECTRAL_DEFAULTS if kind in SPECTRAL else DEFAULTS),
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
    if kind == "spectral-exact":
        return generate_spectral_exact(o)
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
