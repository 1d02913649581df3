"""Training loop of the ``roost`` plugin: aviary's Roost network trained trial by trial.

Kept apart from ``roost.py`` so that loading the plugin imports neither torch nor aviary (aviary's
``core`` imports wandb and tensorboard, seconds of import time); this module is imported by
``Roost.fit_predict`` only. The procedure is documented in ``roost.py``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from aviary.data import Normalizer
from aviary.losses import robust_l1_loss
from aviary.roost.data import collate_batch
from aviary.roost.model import Roost as AviaryRoost

from s2rbench.contracts.model import TrainingBlock
from s2rbench_plugins.featurizers.elements import decode_elements

_STAGE_PRETRAIN, _STAGE_FINETUNE, _STAGE_INIT = 1, 2, 3
_MIN_VAL_ROWS = 5  # below this many rows a stage monitors its training rows


def _sample(z: np.ndarray, w: np.ndarray, row: int) -> tuple:
    """The inputs aviary's CompositionData builds for one composition (weights, atomic numbers,
    all ordered element pairs including self-pairs), from decoded columns."""
    keep = z > 0
    z, w = z[keep], w[keep]
    e = len(z)
    ar = torch.arange(e)
    weights = torch.tensor(w / w.sum(), dtype=torch.float32).view(-1, 1)
    return ((weights, torch.as_tensor(z, dtype=torch.long), ar.repeat_interleave(e), ar.repeat(e)), [], row)


class _Rows:
    """aviary inputs of a table's rows, built once per block for the rows some trial uses."""

    def __init__(self, X: np.ndarray, rows: np.ndarray) -> None:
        Z, W = decode_elements(X[rows])
        self.valid = np.isfinite(np.asarray(X[rows], dtype=np.float64)).all(axis=1) & (Z[:, 0] > 0)
        self.pos = {int(r): i for i, r in enumerate(rows)}
        self.samples = [_sample(Z[i], W[i], int(r)) if self.valid[i] else None for i, r in enumerate(rows)]

    def ok(self, rows: Sequence[int]) -> np.ndarray:
        return np.array([self.valid[self.pos[int(r)]] for r in rows], dtype=bool)

    def batch(self, rows: Sequence[int], dev: torch.device) -> list[torch.Tensor]:
        inputs = collate_batch([self.samples[self.pos[int(r)]] for r in rows])[0]
        return [t.to(dev) for t in inputs]


def _seed_int(seed: int, *tags: int) -> int:
    state = np.random.SeedSequence([int(seed) % 2**63, *tags]).generate_state(2, dtype=np.uint32)
    return int(state[0]) << 31 | int(state[1]) >> 1


def _rng(seed: int, *tags: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed) % 2**63, *tags]))


def _network(hp: dict[str, Any], seed: int, dev: torch.device) -> AviaryRoost:
    """aviary's Roost with initial weights drawn from the trial seed (global RNG state restored)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(_seed_int(seed, _STAGE_INIT))
        net = AviaryRoost(
            task_dict={"target": "regression"},
            robust=bool(hp["robust"]),
            n_targets=[1],
            elem_embedding=str(hp["elem_embedding"]),
            elem_fea_len=int(hp["elem_fea_len"]),
            n_graph=int(hp["n_graph"]),
            elem_heads=int(hp["elem_heads"]),
            elem_gate=list(hp["elem_gate"]),
            elem_msg=list(hp["elem_msg"]),
            cry_heads=int(hp["cry_heads"]),
            cry_gate=list(hp["cry_gate"]),
            cry_msg=list(hp["cry_msg"]),
            trunk_hidden=list(hp["trunk_hidden"]),
            out_hidden=list(hp["out_hidden"]),
            device="cpu",
        )
    net.device = str(dev)
    return net.to(dev)


def _split(rows: np.ndarray, val_fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, bool]:
    """(training rows, validation rows, validated on training rows?)."""
    n_val = round(val_fraction * len(rows))
    if len(rows) < _MIN_VAL_ROWS or n_val == 0:
        return rows, rows, True
    perm = rng.permutation(len(rows))
    return rows[perm[n_val:]], rows[perm[:n_val]], False


def _predict(net: AviaryRoost, chunks: list[list[torch.Tensor]], robust: bool) -> torch.Tensor:
    net.eval()
    with torch.no_grad():
        out = [net(*inputs)[0] for inputs in chunks]
    out = torch.cat(out, dim=0)
    return out[:, 0] if robust else out.squeeze(1)


def _chunks(table: _Rows, rows: np.ndarray, size: int, dev: torch.device) -> list[list[torch.Tensor]]:
    return [table.batch(rows[a : a + size], dev) for a in range(0, len(rows), size)]


def _train_stage(
    net: AviaryRoost,
    start: dict[str, torch.Tensor],
    table: _Rows,
    train_rows: np.ndarray,
    y_of: dict[int, float],
    val_chunks: list[list[torch.Tensor]],
    val_y: torch.Tensor,
    norm: Normalizer,
    hp: dict[str, Any],
    lr: float,
    epochs: int,
    patience: int,
    rng: np.random.Generator,
    round0_counts: bool,
    dev: torch.device,
) -> tuple[dict[str, torch.Tensor], int, float]:
    """Train from ``start`` with early stopping on the validation MAE (target units); returns
    (best weights, best round, best validation MAE). Round 0 (``start`` itself) is a candidate
    when ``round0_counts``."""
    robust = bool(hp["robust"])
    net.load_state_dict(start)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=float(hp["weight_decay"]))
    bs = int(hp["batch_size"])
    steps = max(math.ceil(len(train_rows) / bs), int(hp["min_steps_per_epoch"]))
    y_train = np.array([y_of[int(r)] for r in train_rows], dtype=np.float32)

    def val_mae() -> float:
        pred = norm.denorm(_predict(net, val_chunks, robust))
        return float((pred - val_y).abs().mean())

    best_state = {k: v.detach().clone() for k, v in start.items()}
    best_round, best = 0, (val_mae() if round0_counts else math.inf)
    stream = np.empty(0, dtype=np.int64)
    since = 0
    for rnd in range(1, epochs + 1):
        net.train()
        for _ in range(steps):
            if len(stream) < bs:
                stream = np.concatenate([stream, rng.permutation(len(train_rows))])
            pos, stream = stream[:bs], stream[bs:]
            inputs = table.batch(train_rows[pos], dev)
            target = norm.norm(torch.as_tensor(y_train[pos], device=dev))
            out = net(*inputs)[0]
            if robust:
                mean, log_std = out.unbind(dim=1)
                loss = robust_l1_loss(mean, log_std, target)
            else:
                loss = F.l1_loss(out.squeeze(1), target)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        score = val_mae()
        if score < best:
            best, best_round, since = score, rnd, 0
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        else:
            since += 1
            if patience and since >= patience:
                break
    return best_state, best_round, best


def _normalizer(y: np.ndarray, dev: torch.device) -> Normalizer:
    norm = Normalizer()
    norm.fit(torch.as_tensor(np.asarray(y, dtype=np.float32)))
    if not torch.isfinite(norm.std) or float(norm.std) < 1e-12:
        norm.std = torch.tensor(1.0)
    if not torch.isfinite(norm.mean):
        norm.mean = torch.tensor(0.0)
    norm.mean, norm.std = norm.mean.to(dev), norm.std.to(dev)
    return norm


def fit_predict_block(hp: dict[str, Any], block: TrainingBlock) -> tuple[np.ndarray, list[dict[str, Any] | None]]:
    """Predictions (T, M) for every real row and the per-trial ``selected`` entries."""
    dev = torch.device(block.device)
    T, M = block.n_trials, int(block.X_real.shape[0])
    real = _Rows(block.X_real, np.arange(M))
    sim = _Rows(block.X_sim, np.unique(block.sim_idx)) if block.n > 0 else None
    eval_bs = int(hp["eval_batch_size"])
    real_ok = np.flatnonzero(real.valid)
    predict_chunks = _chunks(real, real_ok, eval_bs, dev)
    preds = np.zeros((T, M), dtype=np.float64)
    selected: list[dict[str, Any] | None] = []
    for k in range(T):
        seed = int(block.seeds[k])
        net = _network(hp, seed, dev)
        start = {n: v.detach().clone() for n, v in net.state_dict().items()}
        sel: dict[str, Any] = {}

        rrows = np.asarray(block.train_idx[k][block.train_mask[k]], dtype=np.int64)
        ry = np.asarray(block.y_train[k][block.train_mask[k]], dtype=np.float64)
        keep = np.isfinite(ry) & real.ok(rrows)
        rrows, ry = rrows[keep], ry[keep]

        if sim is not None:
            srows = np.asarray(block.sim_idx[k], dtype=np.int64)
            sy = np.asarray(block.y_sim, dtype=np.float64)[srows]
            keep = np.isfinite(sy) & sim.ok(srows)
            srows, sy = srows[keep], sy[keep]
        else:
            srows, sy = np.zeros(0, np.int64), np.zeros(0)

        pretrained = len(srows) > 0
        if pretrained:
            norm = _normalizer(sy, dev)
            rng = _rng(seed, _STAGE_PRETRAIN)
            tr, va, _ = _split(srows, float(hp["val_fraction"]), rng)
            y_of = dict(zip(srows.tolist(), sy.tolist()))
            va_y = torch.as_tensor(np.array([y_of[int(r)] for r in va], np.float32), device=dev)
            start, rounds, _ = _train_stage(
                net, start, sim, tr, y_of, _chunks(sim, va, eval_bs, dev), va_y, norm, hp, float(hp["lr"]),
                int(hp["pretrain_epochs"]), int(hp["pretrain_patience"]), rng, False, dev,
            )  # fmt: skip
            sel["pretrain_epochs"] = rounds
        else:
            norm = _normalizer(ry if len(ry) else np.zeros(1), dev)

        best_state, best = start, (math.inf, 0, None)
        if len(rrows):
            y_of = dict(zip(rrows.tolist(), ry.tolist()))
            tr, va, on_train = _split(rrows, float(hp["val_fraction"]), _rng(seed, _STAGE_FINETUNE))
            va_chunks = _chunks(real, va, eval_bs, dev)
            va_y = torch.as_tensor(np.array([y_of[int(r)] for r in va], np.float32), device=dev)
            for i, lr in enumerate(hp["finetune_lrs"]):
                state, rounds, score = _train_stage(
                    net, start, real, tr, y_of, va_chunks, va_y, norm, hp, float(lr), int(hp["finetune_epochs"]),
                    int(hp["finetune_patience"]), _rng(seed, _STAGE_FINETUNE, i), pretrained, dev,
                )  # fmt: skip
                if score < best[0]:
                    best_state, best = state, (score, rounds, float(lr))
            sel.update(
                {
                    "lr": best[2],
                    "epochs": best[1],
                    "val_mae": best[0] if math.isfinite(best[0]) else None,
                    "val_rows": 0 if on_train else len(va),
                }
            )
        net.load_state_dict(best_state)
        out = np.full(M, float(norm.mean), dtype=np.float64)
        if len(real_ok):
            out[real_ok] = norm.denorm(_predict(net, predict_chunks, bool(hp["robust"]))).double().cpu().numpy()
        preds[k] = out
        selected.append(sel)
    return preds, selected
