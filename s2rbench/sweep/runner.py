"""A whole run: resolve the protocol, check the run directory's identity, plan the units not yet
stored, hand them to an executor and commit each unit's rows as it returns."""

from __future__ import annotations

import importlib
import logging
import os
import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from .. import limits
from ..contracts.model import Model, trials_per_unit
from ..contracts.sampler import Sampler
from ..errors import S2RBenchError
from ..plugins import get_model, get_sampler, plugin_of
from ..tasks import TaskCard, get_task
from .executors import make_executor  # one thread per unit: same numbers as any other executor
from .identity import check_partial
from .provenance import device_name, package_versions, resolve_device
from .rundir import check_out_dir, is_run, run_lock
from .store import Store
from .units import full_m, plan_units

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# A whole run
# ---------------------------------------------------------------------------------------------


@dataclass
class RunResult:
    run_dir: Path
    config: dict[str, Any]
    results: pd.DataFrame
    summary: Any = None


@dataclass(frozen=True)
class RunSettings:
    """What `run` resolved from its arguments and the card (checked sizes, counts and seed, the model
    with its parameters, the device), handed in one piece to the part of the run that holds the lock:
    a list of twenty positional arguments, written twice, was one slip away from a swapped pair."""

    card: TaskCard
    model: Model
    featurizer: str
    sampler: Sampler
    device: str
    run_dir: Path
    sizes: list[int]
    trials: int
    seed: int
    m: int | None
    surface: bool
    m_grid: list[int] | None
    quick: bool
    split: str
    data_dir: str | os.PathLike | None
    exclude_overlap: bool
    progress: bool
    executor: Any
    extend: bool
    use_cache: bool


def _prepare(*args: Any, **kwargs: Any):
    """``s2rbench.sweep.prepare``, looked up when called: patching the package's ``prepare`` (as
    code and tests did before the sweep was split into modules) still reaches the run."""
    return importlib.import_module(__package__).prepare(*args, **kwargs)


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
    fit: bool = False,
    extend: bool = False,
    use_cache: bool = True,
) -> RunResult:
    """Run (or resume) the standardized sweep of one task, model and featurizer; return its rows (fitting is `s2rbench.run`'s or `s2rbench.fit`'s).

    A run directory keeps one protocol (see `s2rbench.sweep.identity`): resuming it with other
    settings is refused; ``extend=True`` grows it to the union of the stored and the given grid.
    The directory is locked for the whole run (`s2rbench.sweep.rundir.run_lock`)."""
    if fit:  # the sweep layer stores rows; fitting is the analysis layer's (see `s2rbench.run`)
        raise S2RBenchError(
            "s2rbench.sweep.run stores rows only; use s2rbench.run(..., fit=True) or s2rbench.fit(run_dir) for the law"
        )
    card = task if isinstance(task, TaskCard) else get_task(task)
    model_obj: Model = get_model(model)
    if model_params:
        model_obj = model_obj.with_params(**model_params)
    feat_name = featurizer or card.featurizer
    dev = resolve_device(device)
    sampler_obj: Sampler = get_sampler(sampler)
    p = card.protocol
    grid = limits.check_sizes(sizes if sizes is not None else (p.quick_sizes if quick else p.sizes))
    n_trials = limits.check_count(
        "--trials", trials if trials is not None else (p.quick_trials if quick else p.trials), limits.MAX_TRIALS
    )
    seed = limits.check_seed(seed if seed is not None else p.seed)
    if m is not None:
        m = limits.check_count("--m", m, limits.MAX_ROWS)
    if m_grid is not None:
        m_grid = limits.check_sizes(m_grid, "--m-grid")
    split = split or p.split
    run_dir = Path(out) if out else default_run_dir(card.name, model_obj.name, feat_name, quick)
    check_out_dir(run_dir)
    settings = RunSettings(
        card=card,
        model=model_obj,
        featurizer=feat_name,
        sampler=sampler_obj,
        device=dev,
        run_dir=run_dir,
        sizes=grid,
        trials=n_trials,
        seed=seed,
        m=m,
        surface=surface,
        m_grid=m_grid,
        quick=quick,
        split=split,
        data_dir=data_dir,
        exclude_overlap=exclude_overlap,
        progress=progress,
        executor=executor,
        extend=extend,
        use_cache=use_cache,
    )
    with run_lock(run_dir):
        return _run_locked(settings)


def _run_locked(s: RunSettings) -> RunResult:
    grid, executor = s.sizes, s.executor  # the grid loses sizes the table cannot draw; the executor defaults to local
    p = s.card.protocol
    if (
        is_run(s.run_dir) and (s.run_dir / "results.sqlite").stat().st_size
    ):  # refuse another configuration (or a damaged store) before loading any data
        with Store(s.run_dir, create=False) as old:
            check_partial(
                s.run_dir,
                old.get_meta("config"),
                {
                    "task": s.card.name,
                    "card_hash": s.card.hash,
                    "model": s.model.name,
                    "hyperparameters": s.model.hyperparameters,
                    "featurizer": s.featurizer,
                    "seed": s.seed,
                    "exclude_overlap": bool(s.exclude_overlap),
                    "split": s.split,
                    "sampler": s.sampler.name,
                },
            )
    prep = _prepare(
        s.card,
        s.featurizer,
        data_dir=s.data_dir,
        exclude_overlap=s.exclude_overlap,
        split=s.split,
        use_cache=s.use_cache,
    )
    too_big = [s for s in grid if s > len(prep.y_sim)]
    if too_big:
        warnings.warn(
            f"task {s.card.name!r} has {len(prep.y_sim)} simulated rows, so sizes {too_big} cannot be drawn and are "
            f"dropped: the law is fitted over n <= {len(prep.y_sim)} only",
            UserWarning,
            stacklevel=2,
        )
        grid = [s for s in grid if s <= len(prep.y_sim)]
        if not grid:
            raise S2RBenchError(
                f"no size in the grid fits the {len(prep.y_sim)} simulated rows of task {s.card.name!r}; pass smaller --sizes"
            )
    m_all = full_m(prep, s.seed, max(s.trials, p.trials))
    m_run = int(s.m if s.m is not None else (p.m or m_all))
    if not 1 <= m_run <= m_all:
        raise S2RBenchError(
            f"--m {m_run} is outside 1..{m_all} (the real training rows of task {s.card.name!r}); choose a smaller m"
        )
    m_values = [m_run]
    if s.surface or s.m_grid is not None:
        wanted = [
            int(v)
            for v in (s.m_grid if s.m_grid is not None else ((p.quick_m_grid or p.m_grid) if s.quick else p.m_grid))
        ]
        if not wanted:
            raise S2RBenchError(f"task card {s.card.name!r} declares no m_grid in [protocol]; add one or pass --m-grid")
        bad = [v for v in wanted if not 1 <= v <= m_all]
        if bad:
            raise S2RBenchError(
                f"m values {bad} are outside 1..{m_all} (the real training rows of task {s.card.name!r}); fix the m grid"
            )
        m_values = sorted(set(wanted) | {m_run})
    limits.check_plan(len(grid) + 1, len(m_values), s.trials)
    feat_plugin = plugin_of("featurizers", s.featurizer)
    model_plugin = plugin_of("models", s.model.name)
    config = {
        "task": s.card.name,
        "card_version": s.card.version,
        "card_hash": s.card.hash,
        "card_path": str(s.card.path) if s.card.path else None,
        "model": s.model.name,
        "model_version": s.model.version,
        "model_plugin": asdict(model_plugin) if model_plugin else None,
        "hyperparameters": s.model.hyperparameters,
        "featurizer": s.featurizer,
        "featurizer_version": prep.featurizer.version,
        "featurizer_config": prep.featurizer.config(),
        "featurizer_plugin": asdict(feat_plugin) if feat_plugin else None,
        "sampler": s.sampler.name,
        "sampler_version": s.sampler.version,
        "sampler_plugin": asdict(plugin_of("samplers", s.sampler.name))
        if plugin_of("samplers", s.sampler.name)
        else None,
        "seed": s.seed,
        "data": {"sim": prep.sim_key, "real": prep.real_key},
        "data_info": prep.data_info(),
        "exclude_overlap": bool(s.exclude_overlap),
        "target_transform": s.card.transform,  # the space models train and laws are fitted in ([target] transform)
        "split": s.split,
        # set only when copies of one real input are kept together by a random split (None otherwise, as in older runs),
        # so an older run directory of such a task, split row by row, is refused rather than resumed with other splits
        "split_groups": "repeated real inputs" if s.split == "random" and prep.groups is not None else None,
        "protocol": {
            "quick": bool(s.quick),
            "split": s.split,
            "test_fraction": p.test_fraction,
            "sizes": grid,
            "trials": s.trials,
            "m": m_run,
            "m_all": m_all,
            "m_grid": m_values,
            "surface": len(m_values) > 1,
            "trial_block": p.trial_block,
        },
        "target": {"name": s.card.target_name, "unit": s.card.unit},
        "device": s.device,
        "device_name": device_name(s.device),
        "packages": package_versions(),
        "updated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    store = Store(s.run_dir)
    try:
        config = store.check_identity(config, extend=s.extend)
        pr = config["protocol"]  # with extend: the union of the stored and the asked grid
        units = plan_units(
            s.card.name,
            s.model.name,
            s.featurizer,
            pr["sizes"],
            pr["m_grid"],
            int(pr["trials"]),
            trials_per_unit(s.model, p.trial_block),
            s.seed,
            store.done_keys(),
            sampler=s.sampler.name,
        )
        if executor is None:
            executor = make_executor("local")
        bar = None
        if s.progress and units:
            from tqdm.auto import tqdm

            bar = tqdm(total=sum(len(u.trials) for u in units), desc=f"{s.card.name} {s.model.name}", unit="trial")
        try:
            for unit, rows in executor.map(units, prep, s.model, s.device):
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
    return RunResult(run_dir=s.run_dir, config=config, results=results)
