"""``mlp``: a fully connected network on descriptor vectors, pretrained on simulated rows and
fine-tuned (all layers) on real rows, with the T trials of a block trained as one batched ensemble.

Procedure for one trial (a *replica* of the ensemble)
-----------------------------------------------------
1. Pretraining (skipped when n == 0): the trial's n simulated rows (rows with a non-finite target
   are dropped) are split into a training part and a validation part (``val_fraction``, drawn from
   the trial seed). Inputs and targets are standardized with the mean and standard deviation of the
   trial's simulated rows. The network is trained with AdamW (``lr``) on the mean squared error in
   standardized units; after every round the validation MAE is measured, the best weights are kept
   and training stops after ``pretrain_patience`` rounds without improvement (or ``pretrain_epochs``
   rounds). The best weights are restored.
2. Fine-tuning: the same procedure on the trial's real training rows (``train_mask`` False rows are
   never sampled and never validated on), ALL layers trainable, learning rate ``finetune_lr``,
   ``finetune_epochs`` / ``finetune_patience``, fresh optimizer state. The validation score of the
   pretrained weights (before any fine-tuning step) is the first candidate for "best", so fine-tuning
   can never end worse on the validation rows than the pretrained network.
   *Scalers*: the fine-tuned network keeps the input AND target scalers of pretraining. The pretrained
   function is then exactly the starting point on the real inputs (a new scaler would feed the first
   layer differently scaled inputs than it learned on and undo part of the transfer), and any
   sim-to-real offset in the targets is learnt by the (trainable) layers. With n == 0 (the scratch
   baseline) both scalers come from the trial's real training rows and the learning rate is ``lr``.
3. Prediction of every real row with the restored best weights, transformed back to target units.

Clipped inputs: standardized inputs are clipped to ``±input_clip`` (5; 0 turns it off). A column
that is almost constant on a trial's rows (a rare element property among n = 1,000 Materials Project
compositions) has a tiny standard deviation, and an unseen real row then gets a z-score in the
millions (measured: 2×10⁶ for "minimum GSmagmom" on bandgap, which made one trial's MAE 76 eV);
clipping bounds every input to the range the network can have learnt from (version 3).

Constant columns: columns constant over the simulated pool and the real inputs together are
dropped before training (``informative_columns``); this is lossless and makes wide fingerprints cheap
(version 2; version 1 trained on them).

Missing features: non-finite inputs are NaN-ed and, after standardization, set to 0 — that is,
imputed with the column mean of the data the scaler was fit on. All-NaN or constant columns get
mean 0 / scale 1.

One round ("epoch") is ``max(ceil(n_train / batch_size), min_steps_per_epoch)`` minibatch steps; a
replica draws its minibatches from a stream of its own shuffled training rows (reshuffled whenever
exhausted), so every minibatch holds exactly ``batch_size`` real rows of that replica.

Batched ensemble
----------------
All replicas of a block train together: weights are stacked as (T, in, out) tensors and every layer
is one ``torch.baddbmm``; a minibatch is a (T, B) tensor of row indices into the shared feature
matrix, which lives on the device once and is gathered per minibatch (no (T, n, d) copy is ever
made). The loss is the sum of the per-replica mean losses, so one AdamW on the stacked parameters is
T independent optimizers (gradients do not mix). Early stopping is per replica; a replica that stops
is dropped from the stacked tensors (with its optimizer state) so that stopped replicas cost
nothing, and its best weights are kept.

Determinism and independence of trials: every random draw of a replica (initial weights,
validation split, minibatch order) comes from generators seeded with that trial's seed only, all
shapes that influence the arithmetic are fixed by (n, m, hyperparameters) and not by the block
composition, and the output layer is an elementwise product + sum (a (T, h, 1) bmm takes a
different BLAS path when T == 1). On the CPU the predictions of a trial are therefore bit-identical
whether it is trained alone or within any block, on every one of torch's CPU code paths
(``ATEN_CPU_CAPABILITY=default|avx2|avx512``, tested) provided the hidden widths are multiples of 32
(the defaults and every width this plugin selects are): ATen's vectorized loops take two SIMD
vectors per iteration (16 floats with AVX2, 32 with AVX-512) and the remainder of a tensor through
scalar code, whose ``exp`` (SiLU, GELU, tanh) rounds differently, so with a width of 16 and an odd
batch the last elements of a (G, B, h) activation moved with G (measured 4.5e-8 under AVX-512, 0
under AVX2). Other widths are equal within that float32 rounding, not bit for bit. ``batched=False`` (a loop of single-replica
runs through the same code, used as the reference by ``benchmarks/bench_ensemble.py``) reproduces
``batched=True`` exactly on the CPU. (This holds with one intra-op thread, and in practice for most
shapes with more; with several threads a small one-replica gemm may take another BLAS path, giving
~1e-7 relative differences. On CUDA the ops used — gathers, bmm, reductions — are deterministic for a
given block, but bit-equality across block sizes is not promised.)

Performance note: on a shared CPU, torch's intra-op threads make these many small ops pathological
when the cores are oversubscribed (measured 3x to over 20x slower with 2 threads than with 1 on a
loaded 2-core machine). A runner that trains several blocks in parallel should give each worker one thread
(``torch.set_num_threads(1)``); this plugin does not touch the process-wide setting.

Defaults (chosen to train in seconds per block on a CPU; see benchmarks/bench_ensemble.py)
---------------------------------------------------------------------------------------
- ``hidden=(128, 64)``, ``activation="silu"``: wide enough for descriptor vectors of a few hundred
  features; SiLU beat ReLU clearly on the smooth synthetic targets (e.g. test MAE 0.12 vs 0.27 at
  n=4000) and trains stably from small data.
- ``lr=1e-3`` (pretraining and the n == 0 scratch baseline), ``finetune_lr=3e-4``: fine-tuning
  starts from a good solution, a smaller step keeps it from being wiped out by a few real rows
  (1e-3 for fine-tuning was worse at every n tried).
- ``weight_decay=1e-2`` (AdamW, decoupled): PyTorch's default, a mild regularizer; accuracy was
  insensitive to 0 .. 1e-2.
- ``batch_size=64``; ``min_steps_per_epoch=10``: a round between two validations is at least 10
  steps, so that tiny training sets (tens of rows: one step per pass) do not exhaust the patience
  in a handful of steps.
- ``pretrain_epochs=200``, ``finetune_epochs=300`` (caps), ``pretrain_patience=20``,
  ``finetune_patience=20`` (rounds): most replicas stop long before the caps (fine-tuning often
  peaks within a few rounds); a fine-tuning patience of 30 gave the same accuracy at ~1/3 more cost.
- ``val_fraction=0.15``: 15% of each stage's rows (at least 1 when the stage has >= 5 rows; below
  that the training rows themselves are monitored) for early stopping.
- ``batched=True``: the ensemble path; ``False`` is the one-trial-at-a-time reference.
- ``input_clip=5.0``: standardized inputs are clipped to ±5 (see "Clipped inputs" above).
- ``precision="fp32"``: full float32. ``"tf32"`` lets CUDA matmuls use TF32 tensor cores (and sets
  PyTorch's "high" float32 matmul precision elsewhere); ``"bf16"`` runs the forward passes under
  bfloat16 autocast (weights, optimizer and losses stay float32). Both are opt-in because they change
  the numbers; their effect on MAE is measured in benchmarks/bench_precision.py.

Memory: a unit's T replicas are stacked when they fit in the device's free memory (the estimate of
``s2rbench.sweep.executors.model_bytes``, with a 20% margin); otherwise they train in consecutive groups
of as many as fit (``last_groups`` records the group sizes). On a CPU this changes no number (see
above), so a unit never fails for want of memory as long as one replica fits.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import hashlib
import logging
import math
import warnings
from typing import Any

import numpy as np
import torch

from s2rbench.errors import S2RBenchError
from s2rbench.hookspecs import hookimpl
from s2rbench.contracts.model import Model, TrainingBlock, informative_columns

log = logging.getLogger(__name__)

_ACTIVATIONS = {
    "relu": torch.relu,
    "silu": torch.nn.functional.silu,
    "gelu": torch.nn.functional.gelu,
    "tanh": torch.tanh,
}

#: arithmetic of the matrix products: full float32 (the default), TF32 tensor cores (CUDA, Ampere and
#: later; elsewhere PyTorch's "high" float32 matmul precision), or bfloat16 autocast
_PRECISIONS = ("fp32", "tf32", "bf16")

#: pretrained weights of recent (simulated table, trials, hyperparameters), see `MLP._pretrain`
_PRETRAINED: "collections.OrderedDict[str, tuple[list, tuple]]" = collections.OrderedDict()
_PRETRAINED_MAX = 16

#: rows per forward chunk when validating / predicting (a fixed number, so results do not depend on T)
_CHUNK = 2048


def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def _seed_u64(seed: Any) -> int:
    return int(np.int64(seed)) & 0xFFFFFFFFFFFFFFFF


class _Stage:
    """Shapes and per-replica row sets of one training stage, derived from (L, hyperparameters)."""

    def __init__(self, mask: np.ndarray, seeds: np.ndarray, stage: int, val_fraction: float,
                 batch_size: int, min_steps: int) -> None:
        G, L = mask.shape
        self.L = L
        if val_fraction > 0:
            n_val_nominal = _round_half_up(val_fraction * L) if L >= 5 else 0
            self.v_max = max(n_val_nominal, min(L, 4), 1)
        else:
            n_val_nominal = 0
            self.v_max = max(L, 1)
        l_train = max(L - n_val_nominal, 1)
        self.batch = max(1, min(batch_size, l_train))
        self.steps = max(math.ceil(l_train / self.batch), min_steps, 1)

        self.rngs = [np.random.default_rng([_seed_u64(s), stage]) for s in seeds]
        self.train_pos: list[np.ndarray] = []
        self.val_pos = np.zeros((G, self.v_max), dtype=np.int64)
        self.val_w = np.zeros((G, self.v_max), dtype=np.float32)
        self._buf: list[np.ndarray] = []
        for k in range(G):
            valid = np.flatnonzero(mask[k])
            perm = self.rngs[k].permutation(valid)
            s = perm.size
            n_val = max(1, _round_half_up(val_fraction * s)) if (val_fraction > 0 and s >= 5) else 0
            tr = np.sort(perm[n_val:])
            va = np.sort(perm[:n_val]) if n_val else tr  # too few rows: monitor the training rows
            self.train_pos.append(tr)
            if va.size:
                self.val_pos[k, : va.size] = va
                self.val_w[k, : va.size] = 1.0 / va.size
            self._buf.append(np.empty(0, dtype=np.int64))

    def draw(self, k: int) -> np.ndarray:
        """Positions of replica k's minibatches for one round: steps * batch, without replacement
        within a pass over its training rows."""
        need = self.steps * self.batch
        buf = self._buf[k]
        while buf.size < need:
            buf = np.concatenate([buf, self.rngs[k].permutation(self.train_pos[k])])
        self._buf[k] = buf[need:]
        return buf[:need]


class MLP(Model):
    name = "mlp"
    version = "3"
    description = (
        "Fully connected network on descriptor vectors: pretrained on the simulated rows, all layers "
        "fine-tuned on the real rows, early stopping on held-out rows; trials trained as a batched ensemble."
    )
    defaults: dict[str, Any] = {
        "hidden": (128, 64),
        "activation": "silu",
        "lr": 1e-3,
        "finetune_lr": 3e-4,
        "weight_decay": 1e-2,
        "batch_size": 64,
        "pretrain_epochs": 200,
        "finetune_epochs": 300,
        "pretrain_patience": 20,
        "finetune_patience": 20,
        "min_steps_per_epoch": 10,
        "val_fraction": 0.15,
        "batched": True,
        "precision": "fp32",
        "input_clip": 5.0,
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self.params
        try:
            hidden = tuple(int(h) for h in (p["hidden"] if not isinstance(p["hidden"], int) else [p["hidden"]]))
        except (TypeError, ValueError):
            raise S2RBenchError(f"mlp: hidden must be a list of layer widths, got {p['hidden']!r}") from None
        if any(h < 1 for h in hidden):
            raise S2RBenchError(f"mlp: hidden layer widths must be >= 1, got {p['hidden']!r}")
        p["hidden"] = hidden
        if p["activation"] not in _ACTIVATIONS:
            raise S2RBenchError(
                f"mlp: unknown activation {p['activation']!r}; use one of {', '.join(_ACTIVATIONS)}"
            )
        if p["precision"] not in _PRECISIONS:
            raise S2RBenchError(f"mlp: precision must be one of {', '.join(_PRECISIONS)}, got {p['precision']!r}")
        if not float(p["input_clip"]) >= 0.0:
            raise S2RBenchError(f"mlp: input_clip must be >= 0 (0: no clipping), got {p['input_clip']!r}")
        if not 0.0 <= float(p["val_fraction"]) < 1.0:
            raise S2RBenchError(f"mlp: val_fraction must be in [0, 1), got {p['val_fraction']!r}")
        for key in ("batch_size", "min_steps_per_epoch"):
            if int(p[key]) < 1:
                raise S2RBenchError(f"mlp: {key} must be >= 1, got {p[key]!r}")
        for key, low in (("pretrain_epochs", 0), ("finetune_epochs", 0), ("pretrain_patience", 1),
                         ("finetune_patience", 1)):
            if int(p[key]) < low:
                raise S2RBenchError(f"mlp: {key} must be >= {low}, got {p[key]!r}")

    # ------------------------------------------------------------------ public entry point
    def fit_predict(self, block: TrainingBlock) -> np.ndarray:
        T, M = block.n_trials, int(block.X_real.shape[0])
        dev = torch.device(block.device)
        cols = informative_columns(block.X_sim, block.X_real)
        if cols.size < block.X_real.shape[1]:
            block = dataclasses.replace(block, X_sim=block.X_sim[:, cols], X_real=block.X_real[:, cols])
        X_sim = _to_device_features(block.X_sim, dev) if block.n > 0 else None
        X_real = _to_device_features(block.X_real, dev)
        out = np.empty((T, M), dtype=np.float64)
        if T == 0:
            return out
        k = self.replicas_per_group(block, dev) if bool(self.params["batched"]) else 1
        groups = [np.arange(g, min(g + k, T)) for g in range(0, T, k)]
        self.last_groups = [len(g) for g in groups]
        with _precision(str(self.params["precision"]), dev):
            for ids in groups:
                out[ids] = self._fit_group(block, ids, X_sim, X_real, dev)
        return out

    #: replicas trained together at most (None: as many as fit in the device's free memory)
    max_replicas: int | None = None
    #: the mlp trains a unit's trials in groups that fit, so a unit needs memory for one replica only
    chunks_replicas = True

    def replicas_per_group(self, block: TrainingBlock, dev: torch.device) -> int:
        """How many replicas to stack: all T when they fit in the free memory of the device (on a CPU
        the arithmetic of a replica does not depend on its group, so chunking changes no number),
        else as many as fit with a 20% margin, at least one. The per-replica cost is the
        harness's own estimate (`s2rbench.sweep.executors.model_bytes`)."""
        from s2rbench.sweep.executors import available_memory_bytes, model_bytes

        T = block.n_trials
        cap = T if self.max_replicas is None else max(1, min(T, int(self.max_replicas)))
        free = available_memory_bytes(str(dev))
        if not free:
            return cap
        once, per = model_bytes(self, block.n, block.m, int(block.X_real.shape[1]), int(block.X_real.shape[0]))
        fit = int((0.8 * free - once) // max(per, 1))
        return max(1, min(cap, fit))

    # ------------------------------------------------------------------ one group of replicas
    def _fit_group(self, block: TrainingBlock, ids: np.ndarray, X_sim, X_real, dev) -> np.ndarray:
        p = self.params
        seeds = np.asarray(block.seeds)[ids]
        G = len(ids)
        d = int(block.X_real.shape[1])
        params = _init_params(seeds, [d, *p["hidden"], 1], dev)

        y_train = np.asarray(block.y_train, dtype=np.float64)[ids]
        real_mask = np.asarray(block.train_mask, dtype=bool)[ids] & np.isfinite(y_train)
        real_rows = np.asarray(block.train_idx, dtype=np.int64)[ids]

        if block.n > 0:
            params, scal = self._pretrain(block, ids, X_sim, dev)
            ft_lr = float(p["finetune_lr"])
        else:
            scal = _scalers(np.asarray(block.X_real), real_rows, y_train, real_mask)
            ft_lr = float(p["lr"])
        if block.m > 0:
            params = self._train_stage(
                params, X_real, real_rows, y_train, real_mask, scal, seeds, stage=2, dev=dev,
                lr=ft_lr, epochs=int(p["finetune_epochs"]), patience=int(p["finetune_patience"]),
            )
        return self._predict(params, X_real, scal, dev)

    #: hyperparameters that stage 1 (pretraining) reads: models that share them share pretrained weights
    PRETRAIN_KEYS = ("hidden", "activation", "lr", "weight_decay", "batch_size", "pretrain_epochs",
                     "pretrain_patience", "min_steps_per_epoch", "val_fraction", "input_clip", "precision")

    def _pretrain(self, block: TrainingBlock, ids: np.ndarray, X_sim, dev) -> tuple[list, tuple]:
        """Stage 1 for the replicas ``ids``: (best parameters, scalers). ``block`` has its columns
        already reduced and ``X_sim`` is its simulated matrix on ``dev``.

        Memoised in the process: ``mlp``, ``mlp-head``, ``delta`` and ``stack`` pretrain the same
        network for the same trials, so comparing strategies in one process pretrains once. The key
        is the content of everything stage 1 reads (the simulated matrix and targets, the replicas'
        rows and seeds, the pretraining hyperparameters, the device), and training is deterministic,
        so a hit returns exactly the weights a fresh run would compute."""
        p = self.params
        seeds = np.asarray(block.seeds)[ids]
        sim_rows = np.asarray(block.sim_idx, dtype=np.int64)[ids]
        h = hashlib.blake2b(digest_size=20)
        for a in (block.X_sim, block.y_sim, sim_rows, seeds.astype(np.int64)):
            a = np.ascontiguousarray(a)
            h.update(repr((a.dtype.str, a.shape)).encode())
            h.update(memoryview(a).cast("B"))
        h.update(repr((str(dev), [(k, p[k]) for k in self.PRETRAIN_KEYS])).encode())
        key = h.hexdigest()
        hit = _PRETRAINED.get(key)
        if hit is None:
            d = int(block.X_real.shape[1])
            params = _init_params(seeds, [d, *p["hidden"], 1], dev)
            y_sim = np.asarray(block.y_sim, dtype=np.float64)[sim_rows]
            sim_mask = np.isfinite(y_sim)
            scal = _scalers(np.asarray(block.X_sim), sim_rows, y_sim, sim_mask)
            params = self._train_stage(
                params, X_sim, sim_rows, y_sim, sim_mask, scal, seeds, stage=1, dev=dev,
                lr=float(p["lr"]), epochs=int(p["pretrain_epochs"]), patience=int(p["pretrain_patience"]),
            )
            hit = _PRETRAINED[key] = ([q.detach().clone() for q in params], scal)
            while len(_PRETRAINED) > _PRETRAINED_MAX:
                _PRETRAINED.popitem(last=False)
        else:
            _PRETRAINED.move_to_end(key)
        params, scal = hit
        return [q.clone() for q in params], tuple(np.array(a, copy=True) for a in scal)

    def _train_stage(self, params, X, rows, y, mask, scal, seeds, *, stage, dev, lr, epochs, patience):
        """Train replicas (stacked params, leading dim G) on rows[k][mask[k]] of the shared matrix X;
        return the per-replica best parameters."""
        p = self.params
        act = _ACTIVATIONS[p["activation"]]
        G = rows.shape[0]
        st = _Stage(mask, seeds, stage, float(p["val_fraction"]), int(p["batch_size"]), int(p["min_steps_per_epoch"]))
        mu, isd, ymu, ysd = scal
        y_std = np.where(mask, (y - ymu[:, None]) / ysd[:, None], 0.0)
        rows = np.where(mask, rows, 0)  # padded rows may hold any index; they are never used

        rows_t = torch.as_tensor(rows, device=dev)
        y_t = torch.as_tensor(y_std, dtype=torch.float32, device=dev)
        mu_t = torch.as_tensor(mu, dtype=torch.float32, device=dev).unsqueeze(1)  # (G,1,d)
        isd_t = torch.as_tensor(isd, dtype=torch.float32, device=dev).unsqueeze(1)
        vrows_t = torch.gather(rows_t, 1, torch.as_tensor(st.val_pos, device=dev))
        vy_t = torch.gather(y_t, 1, torch.as_tensor(st.val_pos, device=dev))
        vw_t = torch.as_tensor(st.val_w, device=dev)
        impute = bool(torch.isnan(X).any())
        clip = float(p["input_clip"])

        best = [q.detach().clone() for q in params]
        cur = np.array([k for k in range(G) if st.train_pos[k].size > 0], dtype=np.int64)
        if cur.size == 0 or epochs == 0:
            return best

        def val_mae(P, sel_t):
            with torch.no_grad():
                errs = []
                for c0 in range(0, st.v_max, _CHUNK):
                    xr = vrows_t[sel_t, c0 : c0 + _CHUNK]
                    xb = _standardize(_rows(X, xr), mu_t[sel_t], isd_t[sel_t], impute, clip)
                    errs.append((_forward(P, xb, act) - vy_t[sel_t, c0 : c0 + _CHUNK]).abs())
                err = torch.cat(errs, 1) if len(errs) > 1 else errs[0]
                return (err * vw_t[sel_t]).sum(1).cpu().numpy().astype(np.float64)

        cur_t = torch.as_tensor(cur, device=dev)
        P = [q[cur_t].detach().clone().requires_grad_(True) for q in params]
        opt = _AdamW(P, lr=lr, weight_decay=float(p["weight_decay"]))
        best_loss = np.full(G, np.inf)
        wait = np.zeros(G, dtype=np.int64)
        best_loss[cur] = val_mae(P, cur_t)  # the starting point (pretrained weights) is a candidate
        start_loss = best_loss.copy()
        best_epoch = np.zeros(G, dtype=np.int64)

        for epoch in range(epochs):
            g = cur.size
            pos = torch.as_tensor(np.stack([st.draw(k) for k in cur]), device=dev)  # (g, steps*B)
            rb = torch.gather(rows_t[cur_t], 1, pos).view(g, st.steps, st.batch).transpose(0, 1).contiguous()
            yb = torch.gather(y_t[cur_t], 1, pos).view(g, st.steps, st.batch).transpose(0, 1).contiguous()
            mu_c, isd_c = mu_t[cur_t], isd_t[cur_t]
            for s in range(st.steps):
                xb = _standardize(_rows(X, rb[s]), mu_c, isd_c, impute, clip)
                loss = (_forward(P, xb, act) - yb[s]).square().mean(1).sum()
                loss.backward()
                opt.step()

            vl = val_mae(P, cur_t)
            improved = vl < best_loss[cur]
            if improved.any():
                imp_local = torch.as_tensor(np.flatnonzero(improved), device=dev)
                imp_glob = torch.as_tensor(cur[improved], device=dev)
                with torch.no_grad():
                    for b, q in zip(best, P):
                        b[imp_glob] = q[imp_local]
                best_loss[cur[improved]] = vl[improved]
                best_epoch[cur[improved]] = epoch + 1
            wait[cur] = np.where(improved, 0, wait[cur] + 1)
            keep = wait[cur] < patience
            if epoch == epochs - 1 or not keep.any():
                break
            if not keep.all():  # drop stopped replicas (and their optimizer state) from the stack
                keep_t = torch.as_tensor(np.flatnonzero(keep), device=dev)
                cur = cur[keep]
                cur_t = torch.as_tensor(cur, device=dev)
                opt.keep(keep_t)
                P = opt.params
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "stage %d: G=%d steps/epoch=%d batch=%d best epochs %s; val MAE (std units) start %s -> best %s",
                stage, G, st.steps, st.batch, best_epoch.tolist(),
                np.round(start_loss, 3).tolist(), np.round(best_loss, 3).tolist(),
            )
        return best

    def _predict(self, params, X_real, scal, dev) -> np.ndarray:
        act = _ACTIVATIONS[self.params["activation"]]
        mu, isd, ymu, ysd = scal
        mu_t = torch.as_tensor(mu, dtype=torch.float32, device=dev).unsqueeze(1)
        isd_t = torch.as_tensor(isd, dtype=torch.float32, device=dev).unsqueeze(1)
        M = X_real.shape[0]
        impute = bool(torch.isnan(X_real).any())
        clip = float(self.params["input_clip"])
        outs = []
        with torch.no_grad():
            for c0 in range(0, M, _CHUNK):
                xb = _standardize(X_real[c0 : c0 + _CHUNK].unsqueeze(0), mu_t, isd_t, impute, clip)
                outs.append(_forward(params, xb, act).cpu().numpy())
        pred = np.concatenate(outs, 1).astype(np.float64) if outs else np.empty((len(mu), 0))
        return pred * ysd[:, None] + ymu[:, None]


# ---------------------------------------------------------------------- tensor helpers
@contextlib.contextmanager
def _precision(precision: str, dev: torch.device):
    """Run a group's training and prediction at the requested matmul precision, and restore the
    process-wide settings afterwards (another unit in the same process must not inherit them)."""
    if precision == "fp32":
        yield
        return
    if precision == "tf32":
        old_matmul = torch.get_float32_matmul_precision()
        old_cuda = torch.backends.cuda.matmul.allow_tf32 if dev.type == "cuda" else None
        torch.set_float32_matmul_precision("high")
        if dev.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = True
        try:
            yield
        finally:
            torch.set_float32_matmul_precision(old_matmul)
            if old_cuda is not None:
                torch.backends.cuda.matmul.allow_tf32 = old_cuda
        return
    # no cast cache: the weights change at every step inside this one context, and a cached bf16 copy
    # of a leaf tensor would be reused stale (training then diverges)
    with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, cache_enabled=False):
        yield


def _to_device_features(X: np.ndarray, dev: torch.device) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(X, dtype=np.float32), device=dev)
    if not bool(torch.isfinite(t).all()):
        t = torch.where(torch.isfinite(t), t, torch.full_like(t, float("nan")))
    return t


def _rows(X: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """X[idx] for an index tensor (G, B): (G, B, d), gathered per minibatch from the shared matrix."""
    return X.index_select(0, idx.reshape(-1)).view(*idx.shape, X.shape[1])


def _standardize(x: torch.Tensor, mu: torch.Tensor, isd: torch.Tensor, impute: bool = True,
                 clip: float = 5.0) -> torch.Tensor:
    # NaN (missing) inputs become 0 after standardization: imputation with the scaler's column mean.
    z = (x - mu) * isd
    if impute:
        z = torch.nan_to_num(z, nan=0.0)
    return z.clamp(-clip, clip) if clip > 0 else z


def _forward(P: list[torch.Tensor], x: torch.Tensor, act) -> torch.Tensor:
    """P = [W1, b1, ..., w_out, b_out]; W (G, in, out), b (G, 1, out), w_out (G, 1, h), b_out (G, 1, 1).
    x (G, B, d) -> (G, B). The output layer is a product + sum (not a bmm with out == 1, whose BLAS path
    changes with G and would make a replica's numbers depend on the block size)."""
    h = x
    for i in range(0, len(P) - 2, 2):
        h = act(torch.baddbmm(P[i + 1], h, P[i]))
    return ((h * P[-2]).sum(-1) + P[-1].squeeze(-1)).float()  # float32 under bf16 autocast too


def _init_params(seeds: np.ndarray, sizes: list[int], dev: torch.device) -> list[torch.Tensor]:
    """PyTorch-Linear-style uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) init, one CPU generator per replica."""
    per_layer: list[list[torch.Tensor]] = [[] for _ in range(2 * (len(sizes) - 1))]
    for s in seeds:
        gen = torch.Generator(device="cpu")
        gen.manual_seed(int(np.random.default_rng([_seed_u64(s), 0]).integers(2**62)))
        for li, (fi, fo) in enumerate(zip(sizes[:-1], sizes[1:])):
            bound = 1.0 / math.sqrt(fi)
            last = li == len(sizes) - 2
            w = (torch.rand((fo, fi) if last else (fi, fo), generator=gen) * 2 - 1) * bound
            b = (torch.rand((1, fo), generator=gen) * 2 - 1) * bound
            per_layer[2 * li].append(w)
            per_layer[2 * li + 1].append(b)
    return [torch.stack(ts).to(dev) for ts in per_layer]


class _AdamW:
    """AdamW (decoupled weight decay) over stacked per-replica parameters, as a handful of
    ``torch._foreach_*`` calls per step (``torch.optim.AdamW`` costs several times more per step in
    Python, which is most of a small network's step). All operations are elementwise, so replica k's
    update depends on its own gradients only. ``keep`` drops replicas (rows of the leading dim) from
    the parameters and the moment estimates."""

    def __init__(self, params, lr, weight_decay, betas=(0.9, 0.999), eps=1e-8):
        self.params = params
        self.lr, self.wd, self.b1, self.b2, self.eps = lr, weight_decay, betas[0], betas[1], eps
        self.m = [torch.zeros_like(q) for q in params]
        self.v = [torch.zeros_like(q) for q in params]
        self.t = 0

    @torch.no_grad()
    def step(self) -> None:
        P = self.params
        grads = [q.grad for q in P]
        self.t += 1
        bc1 = 1.0 - self.b1**self.t
        bc2_sqrt = math.sqrt(1.0 - self.b2**self.t)
        if self.wd:
            torch._foreach_mul_(P, 1.0 - self.lr * self.wd)
        torch._foreach_lerp_(self.m, grads, 1.0 - self.b1)
        torch._foreach_mul_(self.v, self.b2)
        torch._foreach_addcmul_(self.v, grads, grads, value=1.0 - self.b2)
        denom = torch._foreach_sqrt(self.v)
        torch._foreach_div_(denom, bc2_sqrt)
        torch._foreach_add_(denom, self.eps)
        torch._foreach_addcdiv_(P, self.m, denom, value=-self.lr / bc1)
        for q in P:
            q.grad = None

    def keep(self, keep_t: torch.Tensor) -> None:
        self.params = [q.detach()[keep_t].clone().requires_grad_(True) for q in self.params]
        self.m = [a[keep_t].clone() for a in self.m]
        self.v = [a[keep_t].clone() for a in self.v]


def _scalers(X: np.ndarray, rows: np.ndarray, y: np.ndarray, mask: np.ndarray):
    """Per-replica (mean, 1/std) of the inputs and (mean, std) of the targets over its masked rows,
    in float64; missing / constant columns get mean 0 / scale 1."""
    G = rows.shape[0]
    d = X.shape[1]
    mu = np.zeros((G, d))
    isd = np.ones((G, d))
    ymu = np.zeros(G)
    ysd = np.ones(G)
    for k in range(G):
        r = rows[k][mask[k]]
        if r.size == 0:
            continue
        xk = np.asarray(X[r], dtype=np.float64)
        xk[~np.isfinite(xk)] = np.nan
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            m = np.nanmean(xk, axis=0)
            sd = np.nanstd(xk, axis=0)
        m = np.where(np.isfinite(m), m, 0.0)
        sd = np.where(np.isfinite(sd) & (sd > 1e-12), sd, 1.0)
        mu[k], isd[k] = m, 1.0 / sd
        yk = y[k][mask[k]]
        ymu[k] = yk.mean()
        s = yk.std()
        ysd[k] = s if np.isfinite(s) and s > 1e-12 else 1.0
    return mu, isd, ymu, ysd


@hookimpl
def register_models(register):
    register(MLP())
