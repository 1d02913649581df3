"""The model contract: one call trains a block of trials together and predicts the real table.

A unit of work hands a model a `TrainingBlock`: T trials that share the pretraining size n and the
fine-tuning size m, so a model can train them as one batched ensemble. The model never sees the
real test targets: it receives the real *inputs* (all rows) and the targets of each trial's
training rows only, and returns predictions for every real row; the core scores the test rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
    """

    name: str = ""
    version: str = "0"
    description: str = ""
    defaults: dict[str, Any] = {}

    def __init__(self, **params: Any) -> None:
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            from .errors import S2RBenchError

            raise S2RBenchError(
                f"model {self.name!r} has no hyperparameter(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(self.defaults)) or 'none'}"
            )
        self.params: dict[str, Any] = {**self.defaults, **params}

    def with_params(self, **params: Any) -> "Model":
        return type(self)(**{**self.params, **params})

    @property
    def hyperparameters(self) -> dict[str, Any]:
        return dict(self.params)

    def fit_predict(self, block: TrainingBlock) -> np.ndarray:
        """Train the block's T trials; return predictions for all real rows, shape (T, M)."""
        raise NotImplementedError
