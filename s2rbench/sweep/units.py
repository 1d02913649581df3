"""Units of work: a small frozen dataclass (task, model, featurizer, sampler, n, m, block of trials,
seed) that pickles, so any executor can ship it; `run_unit` turns a unit and the prepared data into
result rows and never writes (the store is the single writer)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..contracts import protocol as proto
from ..contracts.model import Model, TrainingBlock
from ..contracts.sampler import Sampler, SamplingContext, checked_order
from ..errors import S2RBenchError
from ..overlap import pool_columns
from ..plugins import get_sampler
from ..tasks.transform import original_metrics
from . import predictions as _predictions
from .prepare import Prepared

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Units of work
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkUnit:
    task: str
    model: str
    featurizer: str
    n: int
    m: int
    trials: tuple[int, ...]
    seed: int
    sampler: str = "random"
    n_max: int = 0  # the largest n of the sweep: samplers order the pool that far

    @property
    def key(self) -> str:
        return f"{self.task}/{self.model}/{self.featurizer}/{self.sampler}/n={self.n}/m={self.m}/trials={self.trials[0]}-{self.trials[-1]}"


def split_for(prep: Prepared, seed: int, trial: int) -> proto.RealSplit:
    return proto.real_split(len(prep.y_real), prep.real_key, seed, trial, prep.card.protocol.test_fraction, prep.groups)


def full_m(prep: Prepared, seed: int, trials: int) -> int:
    """The number of real training rows every trial can give (min over the protocol's trials)."""
    if prep.groups is None:
        return len(prep.y_real) - proto.test_size(len(prep.y_real), prep.card.protocol.test_fraction)
    return min(len(split_for(prep, seed, t).train_order) for t in range(trials))


_ORDER_CACHE: dict[tuple, np.ndarray] = {}


def sim_order_for(
    prep: Prepared, sampler: Sampler, seed: int, trial: int, train_rows: np.ndarray, n_max: int
) -> np.ndarray:
    """The trial's ordering of the simulated pool by `sampler` (memoised: every n of a trial shares it)."""
    key = (prep.sim_key, prep.real_key, sampler.name, sampler.version, seed, trial, len(train_rows), n_max)
    if key not in _ORDER_CACHE:
        if len(_ORDER_CACHE) > 4096:
            _ORDER_CACHE.clear()
        ctx = SamplingContext(
            X_pool=prep.X_sim,
            inputs=tuple(prep.sim_inputs),
            X_real_train=prep.X_real[train_rows],
            key=prep.sim_key,
            seed=seed,
            trial=trial,
            families=prep.sim_families,
            input_kind=prep.card.input_kind,
        )
        _ORDER_CACHE[key] = checked_order(sampler, ctx, n_max)
    return _ORDER_CACHE[key]


def run_unit(
    unit: WorkUnit, prep: Prepared, model: Model, device: str = "cpu", sampler: Sampler | None = None
) -> list[dict[str, Any]]:
    """Train one block of trials and score each on its real test split. Pure: returns rows, writes nothing."""
    t0 = time.perf_counter()
    splits = [split_for(prep, unit.seed, t) for t in unit.trials]
    if unit.n > len(prep.y_sim):
        raise S2RBenchError(
            f"n={unit.n} exceeds the {len(prep.y_sim)} simulated rows of task {unit.task!r}; drop it from --sizes"
        )
    sampler = sampler or get_sampler(unit.sampler)
    n_max = unit.n_max or unit.n
    sim_idx = np.stack(
        [
            sim_order_for(prep, sampler, unit.seed, t, s.train(unit.m), n_max)[: unit.n]
            if unit.n
            else np.zeros(0, np.int64)
            for t, s in zip(unit.trials, splits)
        ]
    )
    train_idx = np.stack([s.train(unit.m) for s in splits])
    if train_idx.shape[1] != unit.m:
        raise S2RBenchError(f"m={unit.m} exceeds the real training rows of task {unit.task!r}; use a smaller --m")
    block = TrainingBlock(
        X_sim=prep.X_sim,
        y_sim=prep.y_sim,
        sim_idx=sim_idx.astype(np.int64).reshape(len(unit.trials), unit.n),
        X_real=prep.X_real,
        train_idx=train_idx.astype(np.int64),
        train_mask=np.ones(train_idx.shape, bool),
        y_train=prep.y_real[train_idx].astype(np.float32),
        seeds=np.array([proto.trial_seed(prep.real_key, unit.seed, t) for t in unit.trials], dtype=np.int64),
        device=device,
    )
    model.selected = None  # a stale value of an earlier block must never be stored with this one
    preds = np.asarray(model.fit_predict(block), dtype=np.float64)
    if preds.shape != (len(unit.trials), len(prep.y_real)):
        raise S2RBenchError(
            f"model {model.name!r} returned predictions of shape {preds.shape}, expected {(len(unit.trials), len(prep.y_real))}; fix the plugin"
        )
    selected = _selected_json(model, len(unit.trials))
    seconds = (time.perf_counter() - t0) / len(unit.trials)
    rows = []
    for i, (t, s) in enumerate(zip(unit.trials, splits)):
        err = preds[i, s.test] - prep.y_real[s.test]
        if not np.all(np.isfinite(err)):
            raise S2RBenchError(
                f"model {model.name!r} predicted non-finite values in unit {unit.key}; check its training (learning rate, inputs)"
            )
        rows.append(
            {
                "task": unit.task,
                "model": unit.model,
                "featurizer": unit.featurizer,
                "sampler": unit.sampler,
                "n": unit.n,
                "m": unit.m,
                "trial": t,
                "seed": int(block.seeds[i]),
                "mae": float(np.mean(np.abs(err))),
                "rmse": float(np.sqrt(np.mean(err**2))),
                "n_test": len(s.test),
                "n_train": int(unit.m),
                "seconds": float(seconds),
                "device": device,
                "unit": unit.key,
                "selected": selected[i],
                **original_metrics(prep.card.transform, preds[i, s.test], prep.y_real[s.test]),  # mae_original
                # in-pool / out-of-pool test rows (s2rbench.overlap); a scratch row also keeps each test row's pool entry
                **pool_columns(
                    prep,
                    sim_idx[i],
                    s.test,
                    err,
                    sim_order_for(prep, sampler, unit.seed, t, s.train(unit.m), n_max)
                    if unit.n == 0 and n_max > 0
                    else None,
                ),
                **_predictions.trial_entries(preds[i], s.test),  # kept for rescoring (issue 18)
            }
        )
    return rows


def _selected_json(model: Model, n_trials: int) -> list[str | None]:
    """The model's optional per-trial ``selected`` dicts (see `Model`) as JSON text, None where absent."""
    sel = getattr(model, "selected", None)
    if sel is None:
        return [None] * n_trials
    sel = list(sel)
    if len(sel) != n_trials:
        raise S2RBenchError(
            f"model {model.name!r} set `selected` to {len(sel)} entries for a block of {n_trials} trials; fix the plugin"
        )

    def plain(o: Any) -> Any:
        return o.item() if isinstance(o, np.generic) else str(o)

    return [None if s is None else json.dumps(s, sort_keys=True, default=plain) for s in sel]


def plan_units(
    task: str,
    model: str,
    featurizer: str,
    sizes: Iterable[int],
    m_values: Iterable[int],
    trials: int,
    block: int,
    seed: int,
    done: set[tuple[int, int, int]] = frozenset(),
    scratch: bool = True,
    sampler: str = "random",
) -> list[WorkUnit]:
    """Every (n, m, block of trials) cell not yet stored; n = 0 is the scratch baseline."""
    units = []
    ns = ([0] if scratch else []) + [int(n) for n in sizes]
    n_max = max(ns)
    for m in m_values:
        for n in ns:
            todo = [t for t in range(trials) if (n, m, t) not in done]
            for i in range(0, len(todo), block):
                units.append(
                    WorkUnit(task, model, featurizer, n, int(m), tuple(todo[i : i + block]), seed, sampler, n_max)
                )
    return units


class LocalExecutor:
    """Runs units one after another in this process (the batched model uses the cores)."""

    name = "local"

    def map(
        self, units: list[WorkUnit], prep: Prepared, model: Model, device: str
    ) -> Iterator[tuple[WorkUnit, list[dict]]]:
        for unit in units:
            yield unit, run_unit(unit, prep, model, device)
