"""The model contract: one call trains a block of trials together and predicts the real table.

A unit of work hands a model a `TrainingBlock`: T trials that share the pretraining size n and the
fine-tuning size m, so a model can train them as one batched ensemble. The model never sees the
real test targets: it receives the real *inputs* (all rows) and the targets of each trial's
training rows only, and returns predictions for every real row; the core scores the test rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class TrainingBlock:
    """The data of one unit of work, as arrays a batched model can index on any device.

    - ``X_sim`` (N, d) float32, ``y_sim`` (N,) float32: the featurized simulated pool, shared by trials.
    - ``sim_idx`` (T, n) int64: each trial's pretraining rows (nested across n within a trial);
      n == 0 means no pretraining (the scratch baseline).
    - ``X_real`` (M, d) float32: the featurized real inputs, all rows (test rows included, without targets).
    - ``train_idx`` (T, m) int64, ``train_mask`` (T, m) bool, ``y_train`` (T, m) float32: each trial's
      real fine-tuning rows; where a split leaves a trial fewer rows, the row is padded (mask False,
      target NaN).
    - ``seeds`` (T,) int64: one seed per trial; a model derives all its randomness from them.
    """

    X_sim: np.ndarray
    y_sim: np.ndarray
    sim_idx: np.ndarray
    X_real: np.ndarray
    train_idx: np.ndarray
    train_mask: np.ndarray
    y_train: np.ndarray
    seeds: np.ndarray
    device: str = "cpu"

    @property
    def n_trials(self) -> int:
        return int(self.seeds.shape[0])

    @property
    def n(self) -> int:
        return int(self.sim_idx.shape[1])

    @property
    def m(self) -> int:
        return int(self.train_idx.shape[1])


class Model:
    """Base class for model plugins.

    Subclasses set `name`, `version`, `description` and `defaults` (hyperparameters), and implement
    `fit_predict`. `with_params` returns a copy with some hyperparameters overridden; the effective
    hyperparameters are recorded with every result.

    What validation selected (optional): a model that chooses something per trial from its training
    rows (a penalty strength from a grid, a number of boosting rounds by early stopping) may set
    ``self.selected`` during `fit_predict` to a list of T entries, one per trial of the block, each a
    JSON-serializable dict (e.g. ``{"alpha": 10.0}`` or ``{"rounds_sim": 312, "rounds_real": 40}``)
    or None. The harness resets it to None before each call, reads it right after, and stores entry
    k as JSON in the ``selected`` column of trial k's result row (NULL where None or not set).
    """

    name: str = ""
    version: str = ""  # required: the registry refuses an object without one
    description: str = ""
    defaults: dict[str, Any] = {}
    #: per trial of the last `fit_predict`: what the model's validation selected (see above)
    selected: list[dict[str, Any] | None] | None = None

    def __init__(self, **params: Any) -> None:
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            from ..errors import S2RBenchError

            raise S2RBenchError(
                f"model {self.name!r} has no hyperparameter(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(self.defaults)) or 'none'}"
            )
        self.params: dict[str, Any] = {**self.defaults, **params}

    def with_params(self, **params: Any) -> Model:
        return type(self)(**{**self.params, **params})

    @property
    def hyperparameters(self) -> dict[str, Any]:
        return dict(self.params)

    def fit_predict(self, block: TrainingBlock) -> np.ndarray:
        """Train the block's T trials; return predictions for all real rows, shape (T, M)."""
        raise NotImplementedError


def informative_columns(X_sim: np.ndarray, X_real: np.ndarray) -> np.ndarray:
    """Indices of the columns that vary somewhere in the simulated pool or the real inputs.

    A column that is constant over both tables standardizes to zero for every trial, so it never
    changes an output: dropping it before training is lossless, and wide sparse fingerprints (two
    thirds of the chi task's 2,186 columns are constant) train several times faster. The choice
    depends on the tables only, never on the trials of a block, so results stay block-independent.
    """

    def varies(X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.shape[0] == 0:
            return np.zeros(X.shape[1], bool)
        first = X[0]
        with np.errstate(invalid="ignore"):
            differ = ~((first == X) | (np.isnan(X) & np.isnan(first))).all(axis=0)
        return differ

    v = varies(X_real) | varies(X_sim)
    if X_sim.shape[0] and X_real.shape[0]:
        a, b = np.asarray(X_sim[0], np.float64), np.asarray(X_real[0], np.float64)
        v |= ~((a == b) | (np.isnan(a) & np.isnan(b)))
    return np.flatnonzero(v)
