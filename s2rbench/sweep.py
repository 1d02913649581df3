"""The standardized sweep: prepare a task once, cut it into units of work, run them, store rows.

A unit of work is a small frozen dataclass (task, model, featurizer, sampler, n, m, block of
trials, seed) that pickles, so any executor can ship it; `run_unit` turns a unit and the prepared
data into result rows and never writes; the caller's store is the single writer.
"""

from __future__ import annotations

import json
import logging
import os
import time
import warnings
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import pandas as pd

from . import protocol as proto
from .errors import S2RBenchError
from .featurecache import cached_featurize
from .contracts.featurizer import Featurizer, InvalidInputsWarning
from .contracts.model import Model, TrainingBlock
from .plugins import get_featurizer, get_model, get_registry, get_sampler, plugin_of
from .contracts.sampler import Sampler, SamplingContext, checked_order
from .provenance import device_name, package_versions, resolve_device
from .store import Store
from .tasks import TaskCard, get_task, load_tables

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Preparing a task: tables, canonical inputs, features, overlap
# ---------------------------------------------------------------------------------------------


@dataclass
class Prepared:
    """A task's two tables featurized once, in the arrays every unit indexes into."""

    card: TaskCard
    featurizer: Featurizer
    X_sim: np.ndarray
    y_sim: np.ndarray
    X_real: np.ndarray
    y_real: np.ndarray
    groups: np.ndarray | None
    sim_inputs: list[str]
    real_inputs: list[str]
    feature_names: list[str]
    sim_key: str
    real_key: str
    invalid: dict[str, int] = field(default_factory=dict)
    invalid_examples: dict[str, list[str]] = field(default_factory=dict)
    overlap: int = 0
    excluded_overlap: int = 0
    sim_families: np.ndarray | None = None

    def data_info(self) -> dict[str, Any]:
        return {
            "sim_rows": int(len(self.y_sim)),
            "real_rows": int(len(self.y_real)),
            "features": int(self.X_sim.shape[1]),
            "sim_fingerprint": self.sim_key,
            "real_fingerprint": self.real_key,
            "invalid_inputs": dict(self.invalid),
            "real_inputs_in_sim": int(self.overlap),
            "sim_rows_excluded_for_overlap": int(self.excluded_overlap),
        }


def prepare(
    task: str | TaskCard,
    featurizer: str | None = None,
    *,
    data_dir: str | os.PathLike | None = None,
    exclude_overlap: bool = False,
    use_cache: bool = True,
    split: str | None = None,
) -> Prepared:
    card = task if isinstance(task, TaskCard) else get_task(task)
    feat: Featurizer = get_featurizer(featurizer or card.featurizer)
    if feat.input_kind != card.input_kind:
        raise S2RBenchError(
            f"featurizer {feat.name!r} reads {feat.input_kind!r} inputs, but task {card.name!r} has {card.input_kind!r} inputs; "
            "choose a matching --featurizer (see `s2rbench list featurizers`)"
        )
    tables = load_tables(card, data_dir)
    sides: dict[str, Any] = {}
    invalid: dict[str, int] = {}
    examples: dict[str, list[str]] = {}
    for side in ("sim", "real"):
        frame: pd.DataFrame = getattr(tables, side)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", InvalidInputsWarning)
            fm = cached_featurize(feat, frame["input"].tolist(), what=f"{card.name} {side}", use_cache=use_cache)
        for w in caught:
            if issubclass(w.category, InvalidInputsWarning):
                warnings.warn(f"task {card.name!r}: {w.message}", InvalidInputsWarning, stacklevel=2)
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        keep = np.ones(len(frame), bool)
        keep[fm.invalid] = False
        invalid[side] = int((~keep).sum())
        examples[side] = fm.invalid_inputs[:10]
        X = fm.X[keep]
        conds = [frame[c].to_numpy(dtype=float)[keep][:, None] for c in tables.conditions]
        if conds:
            X = np.hstack([X, *conds])
        canon = fm.canonical
        sides[side] = {
            "X": np.ascontiguousarray(X, dtype=np.float32),
            "y": frame["target"].to_numpy(dtype=np.float32)[keep],
            "frame": frame[keep].reset_index(drop=True),
            "canon": [c for c, k in zip(canon, keep) if k],
        }
    sim_set = set(sides["sim"]["canon"])
    overlap = sum(c in sim_set for c in sides["real"]["canon"])
    excluded = 0
    if exclude_overlap:
        real_set = set(sides["real"]["canon"])
        keep = np.array([c not in real_set for c in sides["sim"]["canon"]], bool)
        excluded = int((~keep).sum())
        s = sides["sim"]
        sides["sim"] = {"X": s["X"][keep], "y": s["y"][keep], "frame": s["frame"][keep].reset_index(drop=True),
                        "canon": [c for c, k in zip(s["canon"], keep) if k]}
    if len(sides["sim"]["y"]) == 0 or len(sides["real"]["y"]) < 3:
        raise S2RBenchError(f"task {card.name!r}: too few valid rows after featurizing (sim {len(sides['sim']['y'])}, real {len(sides['real']['y'])}); check the inputs")
    groups = None
    split = split or card.protocol.split
    if split not in ("random", "group"):
        raise S2RBenchError(f"--split {split!r} must be 'random' or 'group'")
    if split == "group":
        rf = sides["real"]["frame"]
        groups = rf["group"].to_numpy(dtype=str) if "group" in rf else np.array([c.split("|")[0] for c in sides["real"]["canon"]], dtype=str)
    names = list(fm.names) + list(tables.conditions)
    return Prepared(
        card=card,
        featurizer=feat,
        X_sim=sides["sim"]["X"],
        y_sim=sides["sim"]["y"],
        X_real=sides["real"]["X"],
        y_real=sides["real"]["y"],
        groups=groups,
        sim_inputs=sides["sim"]["canon"],
        real_inputs=sides["real"]["canon"],
        feature_names=names,
        sim_key=proto.fingerprint(sides["sim"]["frame"]),
        real_key=proto.fingerprint(sides["real"]["frame"]),
        invalid=invalid,
        invalid_examples=examples,
        overlap=overlap,
        excluded_overlap=excluded,
    )


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


def sim_order_for(prep: Prepared, sampler: Sampler, seed: int, trial: int, train_rows: np.ndarray, n_max: int) -> np.ndarray:
    """The trial's ordering of the simulated pool by `sampler` (memoised: every n of a trial shares it)."""
    key = (prep.sim_key, prep.real_key, sampler.name, sampler.version, seed, trial, len(train_rows), n_max)
    if key not in _ORDER_CACHE:
        if len(_ORDER_CACHE) > 4096:
            _ORDER_CACHE.clear()
        ctx = SamplingContext(
            X_pool=prep.X_sim, inputs=tuple(prep.sim_inputs), X_real_train=prep.X_real[train_rows],
            key=prep.sim_key, seed=seed, trial=trial, families=prep.sim_families, input_kind=prep.card.input_kind,
        )
        _ORDER_CACHE[key] = checked_order(sampler, ctx, n_max)
    return _ORDER_CACHE[key]


def run_unit(unit: WorkUnit, prep: Prepared, model: Model, device: str = "cpu", sampler: Sampler | None = None) -> list[dict[str, Any]]:
    """Train one block of trials and score each on its real test split. Pure: returns rows, writes nothing."""
    t0 = time.perf_counter()
    splits = [split_for(prep, unit.seed, t) for t in unit.trials]
    if unit.n > len(prep.y_sim):
        raise S2RBenchError(f"n={unit.n} exceeds the {len(prep.y_sim)} simulated rows of task {unit.task!r}; drop it from --sizes")
    sampler = sampler or get_sampler(unit.sampler)
    n_max = unit.n_max or unit.n
    sim_idx = np.stack([
        sim_order_for(prep, sampler, unit.seed, t, s.train(unit.m), n_max)[: unit.n] if unit.n else np.zeros(0, np.int64)
        for t, s in zip(unit.trials, splits)
    ])
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
        raise S2RBenchError(f"model {model.name!r} returned predictions of shape {preds.shape}, expected {(len(unit.trials), len(prep.y_real))}; fix the plugin")
    selected = _selected_json(model, len(unit.trials))
    seconds = (time.perf_counter() - t0) / len(unit.trials)
    rows = []
    for i, (t, s) in enumerate(zip(unit.trials, splits)):
        err = preds[i, s.test] - prep.y_real[s.test]
        if not np.all(np.isfinite(err)):
            raise S2RBenchError(f"model {model.name!r} predicted non-finite values in unit {unit.key}; check its training (learning rate, inputs)")
        rows.append(
            {
                "task": unit.task, "model": unit.model, "featurizer": unit.featurizer, "sampler": unit.sampler,
                "n": unit.n, "m": unit.m, "trial": t, "seed": int(block.seeds[i]),
                "mae": float(np.mean(np.abs(err))), "rmse": float(np.sqrt(np.mean(err**2))),
                "n_test": int(len(s.test)), "n_train": int(unit.m), "seconds": float(seconds),
                "device": device, "unit": unit.key, "selected": selected[i],
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
        raise S2RBenchError(f"model {model.name!r} set `selected` to {len(sel)} entries for a block of {n_trials} trials; fix the plugin")

    def plain(o: Any) -> Any:
        return o.item() if isinstance(o, np.generic) else str(o)

    return [None if s is None else json.dumps(s, sort_keys=True, default=plain) for s in sel]


def plan_units(
    task: str, model: str, featurizer: str, sizes: Iterable[int], m_values: Iterable[int], trials: int,
    block: int, seed: int, done: set[tuple[int, int, int]] = frozenset(), scratch: bool = True, sampler: str = "random",
) -> list[WorkUnit]:
    """Every (n, m, block of trials) cell not yet stored; n = 0 is the scratch baseline."""
    units = []
    ns = ([0] if scratch else []) + [int(n) for n in sizes]
    n_max = max(ns)
    for m in m_values:
        for n in ns:
            todo = [t for t in range(trials) if (n, m, t) not in done]
            for i in range(0, len(todo), block):
                units.append(WorkUnit(task, model, featurizer, n, int(m), tuple(todo[i : i + block]), seed, sampler, n_max))
    return units


class LocalExecutor:
    """Runs units one after another in this process (the batched model uses the cores)."""

    name = "local"

    def map(self, units: list[WorkUnit], prep: Prepared, model: Model, device: str) -> Iterator[tuple[WorkUnit, list[dict]]]:
        for unit in units:
            yield unit, run_unit(unit, prep, model, device)


# ---------------------------------------------------------------------------------------------
# A whole run
# ---------------------------------------------------------------------------------------------


@dataclass
class RunResult:
    run_dir: Path
    config: dict[str, Any]
    results: pd.DataFrame
    summary: Any = None


def default_run_dir(task: str, model: str, featurizer: str, quick: bool) -> Path:
    stem = Path(task).stem if task.endswith(".toml") else task
    return Path("runs") / f"{stem}-{model}-{featurizer}{'-quick' if quick else ''}"


def run(
    task: str | TaskCard,
    model: str = "mlp",
    featurizer: str | None = None,
    *,
    quick: bool = False,
    sizes: Iterable[int] | None = None,
    trials: int | None = None,
    seed: int | None = None,
    m: int | None = None,
    surface: bool = False,
    m_grid: Iterable[int] | None = None,
    device: str = "auto",
    out: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    exclude_overlap: bool = False,
    split: str | None = None,
    sampler: str = "random",
    model_params: dict[str, Any] | None = None,
    progress: bool = True,
    executor: Any = None,
    fit: bool = True,
) -> RunResult:
    """Run (or resume) the standardized sweep of one task, model and featurizer; return its rows and fit."""
    card = task if isinstance(task, TaskCard) else get_task(task)
    model_obj: Model = get_model(model)
    if model_params:
        model_obj = model_obj.with_params(**model_params)
    feat_name = featurizer or card.featurizer
    dev = resolve_device(device)
    sampler_obj: Sampler = get_sampler(sampler)
    p = card.protocol
    grid = [int(s) for s in (sizes if sizes is not None else (p.quick_sizes if quick else p.sizes))]
    if not grid or any(s <= 0 for s in grid):
        raise S2RBenchError(f"--sizes must be positive integers; got {grid}")
    n_trials = int(trials if trials is not None else (p.quick_trials if quick else p.trials))
    if n_trials < 1:
        raise S2RBenchError(f"--trials must be at least 1; got {n_trials}")
    seed = int(seed if seed is not None else p.seed)
    split = split or p.split
    prep = prepare(card, feat_name, data_dir=data_dir, exclude_overlap=exclude_overlap, split=split)
    too_big = [s for s in grid if s > len(prep.y_sim)]
    if too_big:
        warnings.warn(f"task {card.name!r} has {len(prep.y_sim)} simulated rows; sizes {too_big} are dropped", UserWarning, stacklevel=2)
        grid = [s for s in grid if s <= len(prep.y_sim)]
        if not grid:
            raise S2RBenchError(f"no size in the grid fits the {len(prep.y_sim)} simulated rows of task {card.name!r}; pass smaller --sizes")
    m_all = full_m(prep, seed, max(n_trials, p.trials))
    m_run = int(m if m is not None else (p.m or m_all))
    if not 1 <= m_run <= m_all:
        raise S2RBenchError(f"--m {m_run} is outside 1..{m_all} (the real training rows of task {card.name!r}); choose a smaller m")
    m_values = [m_run]
    if surface or m_grid is not None:
        wanted = [int(v) for v in (m_grid if m_grid is not None else ((p.quick_m_grid or p.m_grid) if quick else p.m_grid))]
        if not wanted:
            raise S2RBenchError(f"task card {card.name!r} declares no m_grid in [protocol]; add one or pass --m-grid")
        bad = [v for v in wanted if not 1 <= v <= m_all]
        if bad:
            raise S2RBenchError(f"m values {bad} are outside 1..{m_all} (the real training rows of task {card.name!r}); fix the m grid")
        m_values = sorted(set(wanted) | {m_run})
    run_dir = Path(out) if out else default_run_dir(card.name, model_obj.name, feat_name, quick)
    feat_plugin = plugin_of("featurizers", feat_name)
    model_plugin = plugin_of("models", model_obj.name)
    config = {
        "task": card.name,
        "card_version": card.version,
        "card_hash": card.hash,
        "card_path": str(card.path) if card.path else None,
        "model": model_obj.name,
        "model_version": model_obj.version,
        "model_plugin": asdict(model_plugin) if model_plugin else None,
        "hyperparameters": model_obj.hyperparameters,
        "featurizer": feat_name,
        "featurizer_version": prep.featurizer.version,
        "featurizer_config": prep.featurizer.config(),
        "featurizer_plugin": asdict(feat_plugin) if feat_plugin else None,
        "sampler": sampler_obj.name,
        "sampler_version": sampler_obj.version,
        "sampler_plugin": asdict(plugin_of("samplers", sampler_obj.name)) if plugin_of("samplers", sampler_obj.name) else None,
        "seed": seed,
        "data": {"sim": prep.sim_key, "real": prep.real_key},
        "data_info": prep.data_info(),
        "exclude_overlap": bool(exclude_overlap),
        "split": split,
        "protocol": {
            "quick": bool(quick), "split": split, "test_fraction": p.test_fraction,
            "sizes": grid, "trials": n_trials, "m": m_run, "m_all": m_all, "m_grid": m_values,
            "surface": len(m_values) > 1, "trial_block": p.trial_block,
        },
        "target": {"name": card.target_name, "unit": card.unit},
        "device": dev,
        "device_name": device_name(dev),
        "packages": package_versions(),
        "updated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    store = Store(run_dir)
    try:
        store.check_identity(config)
        units = plan_units(card.name, model_obj.name, feat_name, grid, m_values, n_trials, p.trial_block, seed, store.done_keys(), sampler=sampler_obj.name)
        if executor is None:
            from .executors import make_executor  # one thread per unit: same numbers as any other executor

            executor = make_executor("local")
        bar = None
        if progress and units:
            from tqdm.auto import tqdm

            bar = tqdm(total=sum(len(u.trials) for u in units), desc=f"{card.name} {model_obj.name}", unit="trial")
        try:
            for unit, rows in executor.map(units, prep, model_obj, dev):
                store.commit(rows)
                if bar is not None:
                    bar.set_postfix_str(f"n={unit.n}")
                    bar.update(len(unit.trials))
        finally:
            if bar is not None:
                bar.close()
        results = store.results()
    finally:
        store.close()
    result = RunResult(run_dir=run_dir, config=config, results=results)
    if fit:
        from .analysis import summarize

        result.summary = summarize(run_dir)
    return result
