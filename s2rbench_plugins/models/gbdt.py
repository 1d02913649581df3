"""Gradient-boosted trees (LightGBM) in the two transfer roles of ``delta`` / ``stack``:
``gbdt-delta`` and ``gbdt-stack``. Trees are the strongest off-the-shelf learner on tabular
descriptors, and they need no scalers, so this pair shows whether a strategy's gains hold beyond
neural networks.

Procedure for one trial
-----------------------
1. Simulation model f_sim (skipped when n == 0, f_sim = 0): boosting on the trial's n simulated
   rows (non-finite targets dropped). A validation split of those rows (``val_fraction``, drawn from
   the trial seed, the rule of ``mlp``'s stage 1) picks the number of rounds by early stopping on
   the validation MAE (``patience`` rounds without improvement, at most ``sim_max_rounds``); f_sim
   is the model at the best round, trained on the other rows (as ``mlp`` keeps its validation rows
   out of pretraining; refitting the large sim stage would double its cost).
2. Real-data model, on the trial's real training rows only (``train_mask`` False rows and NaN
   targets never used). Boosting starts from a base prediction (LightGBM ``init_score``):
   - ``gbdt-delta``: base = f_sim(x) + offset (the mean residual of the rows fitted on); the trees
     learn the residual ``y_real - f_sim(x)`` as a function of x.
   - ``gbdt-stack``: f_sim(x) is an extra input column, and base = a * f_sim(x) + c with (a, c) the
     least-squares line of the real targets on f_sim (the unpenalized f_sim coefficient and
     intercept of the linear ``stack``); the trees learn the rest from [x, f_sim(x)]. With fewer
     than 5 real rows a is held at 1 (the ``delta`` base): too few rows to calibrate a slope.
     n == 0: no f_sim column and base = the mean, i.e. the same model as ``gbdt-delta`` at n == 0.
   The number of rounds is chosen by early stopping on the MAE of a validation split of the trial's
   real training rows (``mlp``'s stage-2 rule; zero rounds, the base alone, is a candidate and wins
   ties), then the model (base and trees) is refit on all the trial's training rows with that number
   of rounds. With fewer than 5 real rows there is no split and no trees (base only).
   When the rows trees are fitted on number fewer than ``2 * min_data_in_leaf`` no split is possible,
   so no trees are grown (0 rounds) in either stage.
``selected`` records per trial ``{"rounds_sim": ..., "rounds_real": ..., "val_rows": ...}``
(``rounds_sim`` absent when n == 0; ``val_rows`` = real validation rows, 0 = no split).

Defaults and why
----------------
- Real stage: ``learning_rate=0.05``, ``num_leaves=31``, ``max_rounds=2000``: a small step for the
  few-row fit, early stopping decides the rest. ``min_data_in_leaf=5`` (both stages; LightGBM's
  default 20 would forbid any split below 40 real rows, and real sets here are m ~ 20 - 500).
- Simulation stage: ``sim_learning_rate=0.1``, ``sim_num_leaves=255``, ``sim_max_rounds=500``.
  Cost rules: on bandgap (n = 100,000 x 132 features, one core) 31 leaves at 0.05 were still
  improving at 2,000 rounds (~100 s per trial); larger trees at a larger step reach a lower
  validation MAE in far fewer rounds (measured on one 85k/15k split: 31 leaves, lr 0.1, 1000 rounds
  0.357 eV in 33 s; 255 leaves, lr 0.1, 500 rounds 0.302 eV in 23 s). Measured: a unit of 4 trials
  at n = 1e5, m = 500 takes 104 s on one core (a shared 2-core machine). On such large pools the cap,
  not early stopping, ends training (``rounds_sim`` = 500 there); raise ``sim_max_rounds`` for a
  better simulation model at proportional cost.
- ``feature_fraction=0.5`` (both stages): each tree sees half the columns; it halves the cost on
  wide descriptor sets and decorrelates trees (deterministic given the seed).
- ``patience=50``, ``val_fraction=0.15``: as ``mlp``'s split rule.

Threads and determinism: LightGBM computes with the threads the unit is given (``num_threads`` =
``_network.compute_threads()``: the limit ``s2rbench.sweep.executors.unit_threads`` set from
``threads_per_unit``; version 1 always used 1). ``deterministic=True``, ``force_col_wise=True`` and
LightGBM's ``seed`` from the trial seed (one stream per stage) make the predictions bit-identical for
the same seed whatever the thread count (tested with 1 and 2 threads; measured on 20,000 x 60 rows,
100 rounds: 0 difference, column-wise and row-wise alike, so the column-wise layout and every number
of version 1 are kept), and a trial's numbers do not depend on the other trials of its block.
(On this shared 2-core machine, loaded by other processes, 2 threads were 9x slower than 1: give a
unit more threads only where the cores are free.)

Memory (``state_bytes``): trials run one after another, so nearly everything is needed once: the
float32 copy of one trial's rows (n x d), LightGBM's binned dataset (1 byte per value) and
gradients / scores, and its histogram pool (num_leaves x d x 256 bins x 16 bytes, the larger of the
two stages); per trial only the predictions. Missing features: NaN (and +-inf, which
become NaN) are LightGBM's native missing values (each split learns which side they go to); no
imputation is needed as the trees use no scaler.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from s2rbench.contracts.model import Model, ParamSpec, TrainingBlock
from s2rbench.errors import S2RBenchError
from s2rbench.hookspecs import hookimpl
from s2rbench_plugins.models._network import MIN_SPLIT_ROWS, compute_threads, real_rows, seed_u64, val_split


def _finite_or_nan(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    bad = ~np.isfinite(X)
    if bad.any():
        X = np.where(bad, np.float32(np.nan), X)
    return X


class _GBDT(Model):
    version = "1"
    #: each trial's boosters are trained alone from its seed: the harness runs one trial per unit
    trials_independent = True
    defaults: dict[str, Any] = {
        "learning_rate": 0.05,
        "num_leaves": 31,
        "max_rounds": 2000,
        "sim_learning_rate": 0.1,
        "sim_num_leaves": 255,
        "sim_max_rounds": 500,
        "min_data_in_leaf": 5,
        "feature_fraction": 0.5,
        "patience": 50,
        "val_fraction": 0.15,
    }
    param_specs: dict[str, ParamSpec] = {
        "learning_rate": ParamSpec(float, low=0.0, low_open=True),
        "num_leaves": ParamSpec(int, low=2, high=131072),
        "max_rounds": ParamSpec(int, low=1, high=10**6),
        "sim_learning_rate": ParamSpec(float, low=0.0, low_open=True),
        "sim_num_leaves": ParamSpec(int, low=2, high=131072),
        "sim_max_rounds": ParamSpec(int, low=1, high=10**6),
        "min_data_in_leaf": ParamSpec(int, low=1, high=10**9),
        "feature_fraction": ParamSpec(float, low=0.0, high=1.0, low_open=True),
        "patience": ParamSpec(int, low=1, high=10**6),
        "val_fraction": ParamSpec(float, low=0.0, high=1.0, high_open=True),
    }
    stack = False

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self.params
        for key in ("num_leaves", "sim_num_leaves"):
            if int(p[key]) < 2:
                raise S2RBenchError(f"{self.name}: {key} must be >= 2, got {p[key]!r}")
        for key in ("max_rounds", "sim_max_rounds", "min_data_in_leaf", "patience"):
            if int(p[key]) < 1:
                raise S2RBenchError(f"{self.name}: {key} must be >= 1, got {p[key]!r}")
        for key in ("learning_rate", "sim_learning_rate"):
            if not float(p[key]) > 0:
                raise S2RBenchError(f"{self.name}: {key} must be > 0, got {p[key]!r}")
        if not 0 < float(p["feature_fraction"]) <= 1:
            raise S2RBenchError(f"{self.name}: feature_fraction must be in (0, 1], got {p['feature_fraction']!r}")
        if not 0 <= float(p["val_fraction"]) < 1:
            raise S2RBenchError(f"{self.name}: val_fraction must be in [0, 1), got {p['val_fraction']!r}")

    def state_bytes(self, n: int, m: int, d: int, n_real: int) -> tuple[int, int]:
        """``(once, per_trial)`` working memory beyond the shared tables (see the module docstring)."""
        p = self.params
        rows = max(n, m)
        leaves = max(int(p["sim_num_leaves"]) if n > 0 else 0, int(p["num_leaves"]))
        once = 4 * rows * (d + 1) + rows * (d + 1) + 32 * rows + 16 * 256 * (d + 1) * leaves + 8 * 4 * n_real
        per_trial = 8 * (2 * n_real + 3 * m)
        return int(once), int(per_trial)

    # ------------------------------------------------------------------ LightGBM
    def _lgb_params(self, seed: Any, stage: int) -> dict[str, Any]:
        p = self.params
        sim = stage == 1
        return {
            "objective": "regression",
            "metric": "l1",
            "verbosity": -1,
            "learning_rate": float(p["sim_learning_rate" if sim else "learning_rate"]),
            "num_leaves": int(p["sim_num_leaves" if sim else "num_leaves"]),
            "min_data_in_leaf": int(p["min_data_in_leaf"]),
            "feature_fraction": float(p["feature_fraction"]),
            "num_threads": compute_threads(),
            "deterministic": True,
            "force_col_wise": True,
            "seed": int(np.random.default_rng([seed_u64(seed), 100 + stage]).integers(2**31 - 1)),
        }

    def _early_stopped(
        self, P: dict, X: np.ndarray, y: np.ndarray, base: np.ndarray, fit: np.ndarray, val: np.ndarray, max_rounds: int
    ):
        """Boost on rows ``fit`` from ``base``; return (booster or None, best number of rounds by
        validation MAE on rows ``val``, 0 = the base alone)."""
        import lightgbm as lgb

        if val.size == 0 or fit.size < 2 * int(self.params["min_data_in_leaf"]):
            return None, 0
        train = lgb.Dataset(X[fit], y[fit], init_score=base[fit], params=P, free_raw_data=True)
        valid = lgb.Dataset(X[val], y[val], init_score=base[val], reference=train, params=P)
        record: dict = {}
        booster = lgb.train(
            P,
            train,
            num_boost_round=max_rounds,
            valid_sets=[valid],
            valid_names=["val"],
            callbacks=[
                lgb.early_stopping(int(self.params["patience"]), first_metric_only=True, verbose=False),
                lgb.record_evaluation(record),
            ],
        )
        curve = [float(np.mean(np.abs(y[val] - base[val])))] + [float(v) for v in record["val"]["l1"]]
        return booster, int(np.argmin(curve))  # first minimum: the fewest rounds among ties

    @staticmethod
    def _trees(booster, X: np.ndarray, rounds: int) -> np.ndarray:
        if booster is None or rounds == 0:  # LightGBM reads num_iteration <= 0 as "all"
            return np.zeros(X.shape[0])
        return np.asarray(booster.predict(X, num_iteration=rounds), dtype=np.float64)

    # ------------------------------------------------------------------ stages
    def _sim_stage(self, block: TrainingBlock, k: int, X_real: np.ndarray) -> tuple[np.ndarray, int]:
        """f_sim of trial k at every real row, and the number of rounds chosen."""
        rows = np.asarray(block.sim_idx[k], dtype=np.int64)
        y = np.asarray(block.y_sim, dtype=np.float64)[rows]
        ok = np.isfinite(y)
        rows, y = rows[ok], y[ok]
        if rows.size == 0:
            return np.zeros(X_real.shape[0]), 0
        X = _finite_or_nan(np.asarray(block.X_sim)[rows])
        fit, val = val_split(np.arange(rows.size), block.seeds[k], 1, float(self.params["val_fraction"]))
        offset = float(np.mean(y[fit]))
        base = np.full(rows.size, offset)
        booster, rounds = self._early_stopped(
            self._lgb_params(block.seeds[k], 1), X, y, base, fit, val, int(self.params["sim_max_rounds"])
        )
        return offset + self._trees(booster, X_real, rounds), rounds

    def _base(self, f: np.ndarray, y: np.ndarray, rows: np.ndarray, use_f: bool) -> np.ndarray:
        """The boosting start at every real row, from the fitted rows ``rows``: f + mean residual
        (delta), or the least-squares line a f + c (stack)."""
        if rows.size == 0:
            return f.copy()
        if use_f:
            A = np.column_stack([np.ones(rows.size), f[rows]])
            (c, a), *_ = np.linalg.lstsq(A, y[rows], rcond=None)
            return a * f + c
        return f + float(np.mean(y[rows] - f[rows]))

    def fit_predict(self, block: TrainingBlock) -> np.ndarray:
        T, M = block.n_trials, int(block.X_real.shape[0])
        X_real = _finite_or_nan(block.X_real)
        vf = float(self.params["val_fraction"])
        out = np.empty((T, M))
        selected: list[dict[str, Any]] = []
        for k in range(T):
            sel: dict[str, Any] = {}
            if block.n > 0:
                f, sel["rounds_sim"] = self._sim_stage(block, k, X_real)
            else:
                f = np.zeros(M)
            rows, y_rows = real_rows(block, k)
            use_f = self.stack and block.n > 0
            X = np.column_stack([X_real, f.astype(np.float32)]) if use_f else X_real
            calibrate = use_f and rows.size >= MIN_SPLIT_ROWS  # else the slope is held at 1
            y = np.full(M, np.nan)
            y[rows] = y_rows  # targets by real row (rows are distinct within a trial)
            fit, val = val_split(np.arange(rows.size), block.seeds[k], 2, vf)
            P = self._lgb_params(block.seeds[k], 2)
            base_fit = self._base(f, y, rows[fit], calibrate)
            _, rounds = self._early_stopped(P, X, y, base_fit, rows[fit], rows[val], int(self.params["max_rounds"]))
            base = self._base(f, y, rows, calibrate)
            booster = None
            if rounds > 0:  # refit on all the trial's training rows with the chosen number of rounds
                import lightgbm as lgb

                booster = lgb.train(
                    P, lgb.Dataset(X[rows], y[rows], init_score=base[rows], params=P), num_boost_round=rounds
                )
            out[k] = base + self._trees(booster, X, rounds)
            sel["rounds_real"], sel["val_rows"] = rounds, int(val.size)
            selected.append(sel)
        self.selected = selected
        return out


class GBDTDelta(_GBDT):
    name = "gbdt-delta"
    description = (
        "LightGBM Delta-learning: boosted trees pretrained on the simulated rows, plus boosted trees on the real "
        "rows learning the residual (rounds by early stopping on validation splits)."
    )


class GBDTStack(_GBDT):
    name = "gbdt-stack"
    description = (
        "LightGBM stacking: the simulation trees' prediction as an extra input (and calibrated base) of boosted "
        "trees on the real rows (rounds by early stopping on validation splits)."
    )
    stack = True


@hookimpl
def register_models(register):
    register(GBDTDelta())
    register(GBDTStack())
