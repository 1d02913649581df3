"""`ridge`: a linear transfer baseline that trains in closed form.

Pretraining fits ridge regression on the simulated rows; fine-tuning refits on the real rows with the
penalty centred on the pretrained weights (||w - w_sim||^2), so with few real rows the model stays
close to what simulation taught it and with many it follows the measurements. It is the cheapest
model that shows transfer, which makes it the workhorse of fast tests and a sanity floor for the
leaderboard.

Version 2: standardized inputs are clipped to ±``input_clip`` and columns constant over both tables
are dropped (version 1 let a near-constant column blow up: bandgap MAE 20 eV at n = 100).
"""

from __future__ import annotations

import numpy as np

from s2rbench.contracts.model import Model, ParamSpec, TrainingBlock, informative_columns
from s2rbench.hookspecs import hookimpl


def _standardizer(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu = np.nanmean(X, axis=0)
    sd = np.nanstd(X, axis=0)
    mu = np.where(np.isfinite(mu), mu, 0.0)
    sd = np.where(np.isfinite(sd) & (sd > 1e-12), sd, 1.0)
    return mu, sd


def _scaled(X: np.ndarray, mu: np.ndarray, sd: np.ndarray, clip: float = 5.0) -> np.ndarray:
    """Standardized inputs, missing values imputed with the mean (0) and clipped to ±clip: a column
    almost constant on the fitted rows would otherwise give unseen rows z-scores in the millions."""
    Z = (X - mu) / sd
    Z = np.where(np.isfinite(Z), Z, 0.0)
    return np.clip(Z, -clip, clip) if clip > 0 else Z


class Ridge(Model):
    name = "ridge"
    version = "2"
    description = (
        "ridge regression pretrained on simulation, refit on real data with a penalty towards the pretrained weights"
    )
    defaults = {
        "alpha_pretrain": 1.0,
        "alpha_finetune": 10.0,
        "random_features": 0,
        "bandwidth": 2.0,
        "input_clip": 5.0,
    }
    param_specs = {
        "alpha_pretrain": ParamSpec(float, low=0.0, low_open=True),
        "alpha_finetune": ParamSpec(float, low=0.0, low_open=True),
        "random_features": ParamSpec(int, low=0, high=100_000, doc="0: plain ridge"),
        "bandwidth": ParamSpec(float, low=0.0, low_open=True),
        "input_clip": ParamSpec(float, low=0.0, doc="0: no clipping"),
    }

    def state_bytes(self, n: int, m: int, d: int, n_real: int) -> tuple[int, int]:
        """``(once, per_trial)``: once, four float64 copies of one trial's gathered pretraining rows
        (the rows, their standardized copy and its temporaries, the design matrix) and, with random
        features (k), the lifted design matrices and the k x k system; per trial its index arrays
        and predictions (trials are solved one after another)."""
        once = 4 * 8 * n * d
        k = int(self.params["random_features"] or 0)
        if k > 0:
            once += 8 * (k + 1) * (n + m + n_real) + 16 * (k + 1) ** 2
        return int(once), int(8 * (2 * n + 3 * m + 2 * n_real))

    def _lift(self, Z: np.ndarray, seed: int) -> np.ndarray:
        """Random Fourier features (an RBF-kernel ridge in primal form) when `random_features` > 0."""
        k = int(self.params["random_features"])
        if k <= 0:
            return Z
        rng = np.random.Generator(np.random.PCG64(seed))
        W = rng.normal(size=(Z.shape[1], k)) / float(self.params["bandwidth"])
        b = rng.uniform(0, 2 * np.pi, size=k)
        return np.sqrt(2.0 / k) * np.cos(Z @ W + b)

    def fit_predict(self, block: TrainingBlock) -> np.ndarray:
        # columns constant over both tables standardize to 0 and get no weight: dropping them is
        # lossless and makes the solve cheap for wide sparse fingerprints
        cols = informative_columns(block.X_sim, block.X_real)
        X_sim = block.X_sim[:, cols].astype(np.float64)
        X_real = block.X_real[:, cols].astype(np.float64)
        clip = float(self.params["input_clip"])
        k = int(self.params["random_features"])
        d = k if k > 0 else X_real.shape[1]
        eye = np.eye(d + 1)
        eye[-1, -1] = 0.0  # the intercept is not penalised
        out = np.empty((block.n_trials, X_real.shape[0]))
        for t in range(block.n_trials):
            seed = int(block.seeds[t])
            rows = block.train_idx[t][block.train_mask[t]]
            y_r = block.y_train[t][block.train_mask[t]].astype(np.float64)
            w0 = np.zeros(d + 1)
            if block.n > 0:
                Xs = X_sim[block.sim_idx[t]]
                mu, sd = _standardizer(Xs)
                A = np.hstack([self._lift(_scaled(Xs, mu, sd, clip), seed), np.ones((len(Xs), 1))])
                w0 = np.linalg.solve(A.T @ A + self.params["alpha_pretrain"] * eye, A.T @ block.y_sim[block.sim_idx[t]])
                lam = self.params["alpha_finetune"]
            else:
                mu, sd = _standardizer(X_real[rows])
                lam = self.params["alpha_pretrain"]
            B = np.hstack([self._lift(_scaled(X_real[rows], mu, sd, clip), seed), np.ones((len(rows), 1))])
            pen = lam * np.eye(d + 1)
            pen[-1, -1] = 0.0  # the intercept stays free: a constant sim-to-real offset is the commonest gap
            w = np.linalg.solve(B.T @ B + pen, B.T @ y_r + pen @ w0)
            out[t] = np.hstack([self._lift(_scaled(X_real, mu, sd, clip), seed), np.ones((len(X_real), 1))]) @ w
        return out


@hookimpl
def register_models(register):
    register(Ridge())
