"""Transfer strategies built on ``mlp``'s pretrained network: ``mlp-head``, ``delta`` and ``stack``.

All three pretrain the simulation model exactly as ``mlp`` does in its stage 1 (same code, same
seeds, same columns: the pretrained weights are bit-identical to ``mlp``'s before fine-tuning) and
differ in how the real training rows are used afterwards. Every choice made from data is made on the
trial's real TRAINING rows only; the test rows' targets are never passed to a model.

``mlp-head`` (last-layer refit)
    The pretrained body is frozen; only the output layer is refit, in closed form: ridge regression
    of the real targets (in the pretraining target units) on the last hidden layer's activations,
    with the penalty ``alpha * ||w - w_sim||^2`` centred on the pretrained output weights and an
    unpenalized bias. With few real rows the head stays at what simulation taught it; with many it
    follows the measurements, and the features it combines are the simulation-learnt ones.
    n == 0 (scratch): there is no body to freeze, so the scratch baseline IS ``mlp``'s scratch
    (all layers trained on the real rows, same code and numbers).

``delta`` (Delta-learning)
    Prediction = f_sim(x) + r(x): f_sim is the pretrained network; r is a ridge regression, on the
    standardized features with an unpenalized intercept, of the residual ``y_real - f_sim(x)`` over
    the real training rows. The sim model is kept as it is; the real rows learn its error.
    n == 0: f_sim = 0, so the scratch baseline is the validated ridge on the real rows.

``stack`` (f_sim as an input)
    A ridge regression on ``[standardized x, f_sim(x)]`` with the f_sim coefficient and the
    intercept unpenalized (the real rows decide how much to trust, and how to rescale / shift, the
    simulation) and the penalty on the x weights only. n == 0: the f_sim column is dropped, so the
    scratch baseline is the same validated ridge as ``delta``'s.

Closed-form ridge and its validation
------------------------------------
Objective (per trial): ``mean((y - Z w - U c)^2) + alpha * ||w||^2`` (Z: penalized columns, U:
unpenalized ones: the intercept, and f_sim for ``stack``; for ``mlp-head`` w is the change of the
output weights from the pretrained ones). The penalty is per row (a *mean* squared error), so the
alpha chosen on the validation split means the same when refitting on all rows. Solved through an
SVD of Z after projecting out U, so a whole alpha grid costs one decomposition; the trials of a
block are solved one after another (each system is tiny; the network work before it is batched).

``alphas`` is a log grid, 1e-5 .. 1e3 by decades plus 1e9 (on the synthetic task ``mlp-head``
chose the lowest value of a grid starting at 1e-3 in every trial at n = 32 and 128, and extending
it to 1e-5 lowered the MAE slightly; a grid point costs next to nothing). A value >= 1e9 means "the
weights are exactly 0": only the offset (and for ``stack`` the f_sim coefficient) is learnt, and
``mlp-head`` keeps the pretrained head with a refit bias. The alpha with the lowest MAE on a
validation split of the trial's real training rows is chosen (ties: the larger alpha), then the
model is refit on all the trial's training rows with it. The split is the one ``mlp``'s stage 2
uses (``val_fraction`` of the rows, at least 1, drawn from the trial seed's stage-2 stream; the same
rule in all three models). With fewer than 5 real training rows there is no split: the largest grid
value is used without validation (with the default grid, ``mlp-head``: the pretrained head + a
refit bias; ``delta``: f_sim + an offset; ``stack``: the same as ``delta``, the f_sim coefficient
held at 1, since 4 rows cannot calibrate a slope; scratch: the mean of the rows).
``selected`` records per trial ``{"alpha": chosen, "val_rows": rows validated on}`` (0 = fallback).

Inputs and padding: the ridge's features are standardized with the mean / std of the trial's real
training rows (inputs only), NaN / inf imputed with those means (0 after standardization), constant
columns scale 1, and clipped to +-``input_clip`` like ``mlp``'s inputs (with tens of real rows a
column that is nearly constant on them gets a tiny std, and an unseen row a huge z-score that a
linear model would pass straight into its prediction). ``train_mask`` False rows and NaN real
targets are never used; NaN sim targets are dropped in pretraining (as in ``mlp``). The network
hyperparameters are ``mlp``'s, with ``mlp``'s defaults (``delta`` / ``stack`` keep only those that
pretraining reads, which since version 3 include the fine-tuning epochs / patience of the loss
choice; ``mlp-head`` also uses them for its n == 0 scratch baseline, which is ``mlp``'s; none has ``finetune_lr``, as none fine-tunes a pretrained network by
gradient steps).

Version 3 (all three): pretraining is ``mlp`` version 5's, whose loss is chosen per trial
(``pretrain_loss="auto"``: cross-validated scratch fits on the trial's real training rows pick
among ``loss_candidates``, see ``mlp``'s "Version 5"), so the real rows now shape f_sim through that
choice (and ``finetune_epochs`` / ``finetune_patience``, the probe's settings, are among the
pretraining keys that ``delta`` and ``stack`` carry); ``selected`` adds the chosen
``pretrain_loss`` at n > 0. ``pretrain_loss="mse"`` gives version 2's numbers.

Version 2 (all three): pretraining is ``mlp`` version 4's (the fused AdamW kernel, inputs gathered
ahead: the same procedure, numbers different by float32 rounding; version 1 pretrained as ``mlp``
version 3, which ``optimizer="foreach"`` reproduces).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from s2rbench.contracts.model import Model, ParamSpec, TrainingBlock, informative_columns
from s2rbench.errors import S2RBenchError
from s2rbench.hookspecs import hookimpl
from s2rbench_plugins.models import _network as nw
from s2rbench_plugins.models._network import MIN_SPLIT_ROWS, real_rows, val_split
from s2rbench_plugins.models.mlp import MLP

#: an alpha at or above this means the penalized weights are exactly 0 (the limit alpha -> infinity)
OFFSET_ONLY = 1e9
ALPHAS = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1000.0, OFFSET_ONLY)
# MIN_SPLIT_ROWS (fewer real training rows: no validation split, fallback documented above), val_split
# and real_rows are the rule every built-in model shares; they live in ``_network`` and stay importable here

#: the ``mlp`` hyperparameters that pretraining reads (one list, the network's own)
PRETRAIN_KEYS = MLP.PRETRAIN_KEYS


# ---------------------------------------------------------------------- shared pieces
def pick(maes: list[float], grid: tuple[float, ...]) -> int:
    """Index of the lowest validation MAE; ties go to the later (more regularized) grid entry."""
    best = len(grid) - 1
    for i in range(len(grid) - 2, -1, -1):
        if maes[i] < maes[best]:
            best = i
    return best


def alpha_grid(values: Any, name: str) -> tuple[float, ...]:
    try:
        grid = tuple(sorted(float(a) for a in (values if not isinstance(values, (int, float)) else [values])))
    except (TypeError, ValueError):
        raise S2RBenchError(f"{name}: alphas must be a list of positive numbers, got {values!r}") from None
    if not grid or any(not np.isfinite(a) or a <= 0 for a in grid):
        raise S2RBenchError(f"{name}: alphas must be a non-empty list of positive finite numbers, got {values!r}")
    return grid


class RidgePath:
    """``mean((y - Z w - U c)^2) + alpha ||w||^2`` for any alpha from one SVD (Z penalized, U not).

    The U part is projected out (its least-squares coefficients follow from the residual of Z w), so
    the unpenalized columns may be rank deficient (min-norm solution); no rows gives w = 0, c = 0."""

    def __init__(self, Z: np.ndarray, U: np.ndarray, y: np.ndarray) -> None:
        self.m = Z.shape[0]
        self.p, self.u = Z.shape[1], U.shape[1]
        self.Z, self.U, self.y = Z, U, y
        if self.m == 0:
            return
        self.U_pinv = np.linalg.pinv(U) if self.u else np.zeros((0, self.m))
        Q = _orthonormal_basis(U)
        Zp = Z - Q @ (Q.T @ Z)
        yp = y - Q @ (Q.T @ y)
        A, s, Bt = np.linalg.svd(Zp, full_matrices=False)
        keep = s > s[0] * 1e-12 if s.size else np.zeros(0, bool)
        self.s, self.B = s[keep], Bt[keep].T
        self.Aty = A[:, keep].T @ yp

    def coef(self, alpha: float) -> tuple[np.ndarray, np.ndarray]:
        if self.m == 0:
            return np.zeros(self.p), np.zeros(self.u)
        if alpha >= OFFSET_ONLY or self.s.size == 0:
            w = np.zeros(self.p)
        else:
            w = self.B @ (self.s / (self.s**2 + self.m * alpha) * self.Aty)
        c = self.U_pinv @ (self.y - self.Z @ w)
        return w, c


def _orthonormal_basis(U: np.ndarray) -> np.ndarray:
    if U.shape[1] == 0 or U.shape[0] == 0:
        return np.zeros((U.shape[0], 0))
    Q, s, _ = np.linalg.svd(U, full_matrices=False)
    return Q[:, s > s[0] * 1e-12] if s[0] > 0 else np.zeros((U.shape[0], 0))


def validated_ridge(
    Z: np.ndarray, U: np.ndarray, y: np.ndarray, grid: tuple[float, ...], seed: Any, val_fraction: float
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Choose alpha by validation MAE on a split of these (training) rows, refit on all of them;
    return (w, c, selected). Fewer than 5 rows: the largest alpha without validation."""
    fit, val = val_split(np.arange(Z.shape[0]), seed, 2, val_fraction)
    if val.size:
        path = RidgePath(Z[fit], U[fit], y[fit])
        maes = []
        for a in grid:
            w, c = path.coef(a)
            maes.append(float(np.mean(np.abs(y[val] - Z[val] @ w - U[val] @ c))))
        chosen = grid[pick(maes, grid)]
    else:
        chosen = grid[-1]
    w, c = RidgePath(Z, U, y).coef(chosen)
    return w, c, {"alpha": float(chosen), "val_rows": int(val.size)}


def standardized_real(X_real: np.ndarray, rows: np.ndarray, clip: float) -> np.ndarray:
    """All real inputs standardized with the mean / std of ``rows`` (missing -> 0 = imputed mean),
    clipped to +-clip (0: no clipping) as ``mlp`` clips its inputs."""
    r = rows[None, :]
    mu, isd, _, _ = nw.scalers(X_real, r, np.zeros(r.shape), np.ones(r.shape, bool))
    Z = (np.asarray(X_real, dtype=np.float64) - mu[0]) * isd[0]
    Z = np.where(np.isfinite(Z), Z, 0.0)
    return np.clip(Z, -clip, clip) if clip > 0 else Z


def pretrain(net: MLP, block: TrainingBlock, ids: np.ndarray, X_sim, dev) -> tuple[list, tuple]:
    """``mlp``'s stage 1 for the replicas ``ids`` (the block's columns already reduced, X_sim on
    ``dev``): the very code and memo of ``MLP._pretrain``. Returns (best parameters, scalers)."""
    return net._pretrain(block, ids, X_sim, dev)


def _pretrain_choice(net: MLP, g: int) -> dict[str, Any]:
    """The pretraining loss replica ``g`` of the last `pretrain` was chosen to train with ({} when fixed)."""
    return {} if net.last_probe is None else {"pretrain_loss": str(net.last_probe[0][g])}


def hidden_activations(net: MLP, params: list, X, scal: tuple, dev) -> np.ndarray:
    """The last hidden layer's activations of every replica at every row of X: (G, M, h) float64."""
    torch = nw.torch_module()
    act = nw.activation(net.params["activation"])
    mu, isd, _, _ = scal
    mu_t = torch.as_tensor(mu, dtype=torch.float32, device=dev).unsqueeze(1)
    isd_t = torch.as_tensor(isd, dtype=torch.float32, device=dev).unsqueeze(1)
    impute = bool(torch.isnan(X).any())
    clip = float(net.params["input_clip"])
    outs = []
    with torch.no_grad():
        for c0 in range(0, X.shape[0], nw.CHUNK):
            h = nw.standardize(X[c0 : c0 + nw.CHUNK].unsqueeze(0), mu_t, isd_t, impute, clip)
            for i in range(0, len(params) - 2, 2):
                h = act(torch.baddbmm(params[i + 1], h, params[i]))
            outs.append(h.float().cpu().numpy())
    G, width = len(mu), int(params[-2].shape[-1])
    return np.concatenate(outs, 1).astype(np.float64) if outs else np.empty((G, 0, width))


def _reduced(block: TrainingBlock) -> TrainingBlock:
    """The block without the columns constant over both tables (``mlp`` trains on the same)."""
    cols = informative_columns(block.X_sim, block.X_real)
    if cols.size < block.X_real.shape[1]:
        block = dataclasses.replace(block, X_sim=block.X_sim[:, cols], X_real=block.X_real[:, cols])
    return block


# ---------------------------------------------------------------------- mlp-head
class MLPHead(MLP):
    name = "mlp-head"
    version = "3"
    description = (
        "mlp's pretrained network with the body frozen and only the output layer refit on the real rows "
        "(closed-form ridge towards the pretrained head, penalty chosen on a validation split)."
    )
    defaults: dict[str, Any] = {
        **{k: v for k, v in MLP.defaults.items() if k != "finetune_lr"},  # no gradient fine-tuning
        "alphas": ALPHAS,
    }
    param_specs: dict[str, ParamSpec] = {
        **{k: v for k, v in MLP.param_specs.items() if k != "finetune_lr"},
        "alphas": ParamSpec(float, low=0.0, low_open=True, sequence=True, doc="ridge penalties to validate"),
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.params["alphas"] = alpha_grid(self.params["alphas"], self.name)

    def fit_predict(self, block: TrainingBlock) -> np.ndarray:
        self._sel: dict[int, dict[str, Any] | None] = {}
        out = super().fit_predict(block)
        self.selected = [self._sel.get(k) for k in range(block.n_trials)]
        return out

    def _fit_group(self, block: TrainingBlock, ids: np.ndarray, X_sim, X_real, dev) -> np.ndarray:
        if block.n == 0:  # nothing to freeze: mlp's scratch baseline
            for k in ids:
                self._sel[int(k)] = None
            return super()._fit_group(block, ids, X_sim, X_real, dev)
        torch = nw.torch_module()
        params, scal = pretrain(self, block, ids, X_sim, dev)
        _, _, ymu, ysd = scal
        H = hidden_activations(self, params, X_real, scal, dev)  # (G, M, h)
        grid = self.params["alphas"]
        vf = float(self.params["val_fraction"])
        for g, k in enumerate(ids):
            rows, y = real_rows(block, int(k))
            w0 = params[-2][g, 0].cpu().numpy().astype(np.float64)
            Hk = H[g][rows]
            t = (y - ymu[g]) / ysd[g] - Hk @ w0  # target of the change of the head
            v, c, sel = validated_ridge(Hk, np.ones((rows.size, 1)), t, grid, block.seeds[k], vf)
            self._sel[int(k)] = {**sel, **_pretrain_choice(self, g)}
            if rows.size:
                with torch.no_grad():
                    params[-2][g, 0] = torch.as_tensor(w0 + v, dtype=params[-2].dtype, device=params[-2].device)
                    params[-1][g, 0, 0] = float(c[0])
        return self._predict(params, X_real, scal, dev)


# ---------------------------------------------------------------------- delta and stack
class _OnSim(Model):
    """A closed-form real-data model on top of ``mlp``'s pretrained network f_sim."""

    version = "3"
    defaults: dict[str, Any] = {**{k: MLP.defaults[k] for k in PRETRAIN_KEYS}, "alphas": ALPHAS}
    param_specs: dict[str, ParamSpec] = {
        **{k: MLP.param_specs[k] for k in PRETRAIN_KEYS},
        "alphas": ParamSpec(float, low=0.0, low_open=True, sequence=True, doc="ridge penalties to validate"),
    }
    #: fast settings for the check kit (s2rbench.testing): mlp's, restricted to the pretraining keys
    check_params: dict[str, Any] = {k: v for k, v in MLP.check_params.items() if k in PRETRAIN_KEYS}
    uses_fsim_column = False
    #: pretraining runs in groups of replicas that fit the device, as ``mlp``'s (see its fit_predict)
    chunks_replicas = True

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._net = MLP(**{k: self.params[k] for k in PRETRAIN_KEYS})
        self.params["hidden"] = self._net.params["hidden"]
        self.params["alphas"] = alpha_grid(self.params["alphas"], self.name)

    def state_bytes(self, n: int, m: int, d: int, n_real: int) -> tuple[int, int]:
        """``mlp``'s network (pretraining) plus the closed-form ridge of one trial at a time: its
        standardized real inputs (M x d float64, twice) and the SVD of its m x d system."""
        once, per_trial = self._net.state_bytes(n, m, d, n_real)
        return int(once + 16 * n_real * d + 8 * 3 * m * (m + d)), int(per_trial)

    def _sim_predictions(self, block: TrainingBlock) -> np.ndarray:
        """f_sim at every real row, (T, M) float64: ``mlp``'s pretrained network (zeros when n == 0);
        ``block`` already without its constant columns."""
        T, M = block.n_trials, int(block.X_real.shape[0])
        if block.n == 0 or T == 0:
            return np.zeros((T, M))
        torch = nw.torch_module()
        dev = torch.device(block.device)
        X_sim, X_real = nw.to_device_features(block.X_sim, dev), nw.to_device_features(block.X_real, dev)
        k = self._net.replicas_per_group(block, dev)
        out = np.empty((T, M))
        with nw.precision_scope(str(self._net.params["precision"]), dev):
            for g0 in range(0, T, k):
                ids = np.arange(g0, min(g0 + k, T))
                params, scal = pretrain(self._net, block, ids, X_sim, dev)
                self._losses.update({int(t): _pretrain_choice(self._net, g) for g, t in enumerate(ids)})
                out[ids] = self._net._predict(params, X_real, scal, dev)
        return out

    def fit_predict(self, block: TrainingBlock) -> np.ndarray:
        T, M = block.n_trials, int(block.X_real.shape[0])
        reduced = _reduced(block)
        self._losses: dict[int, dict[str, Any]] = {}  # trial -> its pretraining loss, filled by _sim_predictions
        F = self._sim_predictions(reduced)
        X_real = np.asarray(reduced.X_real)
        grid, vf = self.params["alphas"], float(self.params["val_fraction"])
        out = np.empty((T, M))
        selected = []
        for k in range(T):
            rows, y = real_rows(block, k)
            Z = standardized_real(X_real, rows, float(self.params["input_clip"]))
            f = F[k]
            if self.uses_fsim_column and block.n > 0 and rows.size >= MIN_SPLIT_ROWS:
                U = np.column_stack([np.ones(M), f])  # intercept and f_sim coefficient: unpenalized
                w, c, sel = validated_ridge(Z[rows], U[rows], y, grid, block.seeds[k], vf)
                out[k] = Z @ w + U @ c
            else:  # delta; stack at n == 0 (no f_sim column) or with < 5 rows (coefficient held at 1)
                w, c, sel = validated_ridge(Z[rows], np.ones((rows.size, 1)), y - f[rows], grid, block.seeds[k], vf)
                out[k] = f + Z @ w + c[0]
            selected.append({**sel, **self._losses.get(k, {})})
        self.selected = selected
        return out


class Delta(_OnSim):
    name = "delta"
    description = (
        "Delta-learning: mlp's pretrained network plus a ridge regression of its residual on the real rows "
        "(penalty chosen on a validation split)."
    )


class Stack(_OnSim):
    name = "stack"
    description = (
        "mlp's pretrained prediction as an extra input: ridge on [x, f_sim(x)] with the f_sim coefficient and "
        "intercept unpenalized (penalty chosen on a validation split)."
    )
    uses_fsim_column = True


@hookimpl
def register_models(register):
    register(MLPHead())
    register(Delta())
    register(Stack())
