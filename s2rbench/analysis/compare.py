"""`s2rbench compare`: several runs of one task that differ in one factor (sampler, model, featurizer...).

For each run: the fitted law (alpha, C, D with their bootstrap intervals) and the mean MAE at every
n. Between runs: a paired test per n against the first run (the reference). Runs made with the same
task, seed and real data share their real test splits trial by trial (a trial's split depends only
on the real table, the seed and the trial number), so rows are paired by trial and the test is the
**Wilcoxon signed-rank test** (two-sided, `scipy.stats.wilcoxon`, exact for small samples without
ties) on the per-trial MAE differences. p-values are per n and not corrected for the number of
sizes; with k paired trials the smallest two-sided p the test can give is 2/2^k (0.125 for the 4
trials of a quick run), so a quick protocol can show a direction, never significance.

Runs of different tasks, seeds or m are refused (one line). Runs whose real tables differ (e.g. two
featurizers that drop different unparseable real rows) are compared without the paired test.

A run can also be given as an already-read `RunSource` (its configuration and rows): that is how the
CLI compares a leaderboard submission file, whose raw per-trial rows stand in for a run directory,
so a new run is compared with a published entry trial by trial (the layer that reads submissions is
above this one, so it hands over the rows rather than this module reading the file).
"""

from __future__ import annotations

import importlib
import json
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import S2RBenchError
from ..laws.jsonable import jsonable
from ..sweep.identity import filled_hyperparameters
from ..sweep.store import Store
from .lawcheck import law_verdict
from .summary import Summary, summarize_rows

#: What a comparison is normally about; the first of these that differ is "the factor".
FACTORS = ("sampler", "model", "featurizer")
#: Other configuration that may differ, and is reported when it does.
SECONDARY = (
    "hyperparameters",
    "sampler_version",
    "model_version",
    "featurizer_version",
    "exclude_overlap",
    "card_hash",
)
TEST = "Wilcoxon signed-rank (two-sided), paired by trial, vs the first run"


@dataclass(frozen=True)
class RunSource:
    """A run already read: where it came from, its configuration and its stored rows (store columns)."""

    path: Path
    config: dict[str, Any]
    rows: pd.DataFrame


@dataclass
class RunEntry:
    run_dir: Path
    label: str
    config: dict[str, Any]
    rows: pd.DataFrame  # rows at the compared m
    summary: Summary


@dataclass
class Comparison:
    task: str
    m: int
    factors: list[str]  # configuration keys that differ between the runs
    entries: list[RunEntry]
    per_n: pd.DataFrame  # n, run, mean, sem, trials, diff, p, wins, pairs
    paired: bool
    test: str = TEST
    notes: list[str] = field(default_factory=list)

    @property
    def reference(self) -> str:
        return self.entries[0].label

    def fits(self) -> list[dict[str, Any]]:
        out = []
        for e in self.entries:
            f = e.summary.fit
            d: dict[str, Any] = {"run": e.label, "run_dir": str(e.run_dir)}
            for k in self.factors or FACTORS:
                d[k] = e.config.get(k)
            if f is not None:
                v = law_verdict(f)
                d.update({"law": v.holds, "law_reason": v.reason})
                d.update(
                    {
                        "alpha": f.alpha,
                        "alpha_ci": list(f.alpha_ci),
                        "C": f.C,
                        "C_ci": list(f.C_ci),
                        "D": f.D,
                        "D_ci": list(f.D_ci),
                        "r2": f.r2,
                    }
                )
            else:
                d.update({"alpha": None, "C": None, "D": None, "fit_error": e.summary.fit_error})
            d["scratch_mae"] = e.summary.scratch_mae
            d["trials"] = int(e.rows["trial"].nunique())
            out.append(d)
        return out

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "task": self.task,
                "m": self.m,
                "factor": self.factors,
                "reference": self.reference,
                "test": self.test if self.paired else None,
                "paired": self.paired,
                "runs": self.fits(),
                "per_n": self.per_n.to_dict(orient="records"),
                "notes": self.notes,
            }
        )

    # -- text (formatting lives in the report layer: s2rbench.report.compare) -----------------------
    def fit_table(self) -> list[dict[str, Any]]:
        return importlib.import_module("s2rbench.report.compare").fit_table(self)

    def mae_table(self) -> list[dict[str, Any]]:
        return importlib.import_module("s2rbench.report.compare").mae_table(self)


def _load(run_dir: str | os.PathLike | RunSource) -> tuple[dict[str, Any], pd.DataFrame]:
    if isinstance(run_dir, RunSource):
        return run_dir.config, run_dir.rows
    with Store(run_dir, create=False) as store:
        return store.get_meta("config") or {}, store.results()


def _canon(v: Any) -> str:
    return json.dumps(v, sort_keys=True, default=str)


def _paired_p(a: np.ndarray, b: np.ndarray) -> float | None:
    d = a - b
    if len(d) == 0:
        return None
    if np.all(d == 0):
        return 1.0
    from scipy.stats import wilcoxon

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(wilcoxon(a, b, zero_method="wilcox", alternative="two-sided").pvalue)
    except ValueError:
        return None


def _short(v: Any) -> str:
    return str(v) if not isinstance(v, (dict, list, tuple)) else _canon(v)[:40]


def _labels(configs: list[dict[str, Any]], keys: list[str], dirs: list[Path]) -> list[str]:
    dirs = [d.with_suffix("") if d.suffix == ".json" else d for d in dirs]  # a submission: its id
    labels = []
    for cfg, d in zip(configs, dirs):
        parts = []
        for k in keys:
            v = cfg.get(k)
            if isinstance(v, dict):  # e.g. hyperparameters: only the entries that differ between the runs
                others = [c.get(k) if isinstance(c.get(k), dict) else {} for c in configs]
                # A name some runs lack is a parameter their model version did not have (a run records
                # every hyperparameter of its version), not a setting the user changed: the version,
                # a factor of its own, says it.
                diff = [
                    name
                    for name in sorted(v)
                    if all(name in o for o in others) and len({_canon(o[name]) for o in others}) > 1
                ]
                parts.append(", ".join(f"{name}={_short(v[name])}" for name in diff) or "defaults")
                continue
            parts.append(_short(v))
        labels.append(" · ".join(parts) if parts else d.name)
    if len(set(labels)) < len(labels):
        labels = [f"{lab} ({d.name})" if keys else d.name for lab, d in zip(labels, dirs)]
    if len(set(labels)) < len(labels):
        labels = [str(d) for d in dirs]
    return labels


def compare(
    run_dirs: Sequence[str | os.PathLike | RunSource], *, m: int | None = None, n_boot: int = 1000
) -> Comparison:
    """Compare runs of one task, seed and m; the first is the reference of the paired tests.

    Each run is a run directory or a `RunSource` (e.g. a leaderboard submission read by the CLI).
    """
    if len(run_dirs) < 2:
        raise S2RBenchError("compare needs at least two run directories (RUN_DIR RUN_DIR...)")
    dirs = [d.path if isinstance(d, RunSource) else Path(d) for d in run_dirs]
    if len({d.resolve() for d in dirs}) < len(dirs):
        raise S2RBenchError("the same run directory is given twice; compare different runs")
    loaded = [_load(d) for d in run_dirs]
    configs = [c for c, _ in loaded]
    for key, what in (("task", "tasks"), ("seed", "seeds")):
        vals = [c.get(key) for c in configs]
        if len({_canon(v) for v in vals}) > 1:
            listing = ", ".join(f"{d.name}: {v}" for d, v in zip(dirs, vals))
            raise S2RBenchError(
                f"runs are of different {what} ({listing}); compare runs of one task made with one seed"
            )
    # m: --m, or each run's own
    if m is None:
        ms = [int((c.get("protocol") or {}).get("m") or r["m"].max()) for c, r in loaded]
        if len(set(ms)) > 1:
            listing = ", ".join(f"{d.name}: m={v}" for d, v in zip(dirs, ms))
            raise S2RBenchError(
                f"runs have different m ({listing}); compare runs at one m (pass --m with a value every run holds)"
            )
        m = ms[0]
    for d, (_, r) in zip(dirs, loaded):
        if not (r["m"] == m).any():
            raise S2RBenchError(
                f"run {d} holds no results at m={m} (it has m in {sorted(set(r['m'].tolist()))}); pass --m with a value every run holds"
            )
    keyed = [{**c, "hyperparameters": filled_hyperparameters(c)} for c in configs]
    factors = [k for k in FACTORS + SECONDARY if len({_canon(c.get(k)) for c in keyed}) > 1]
    primary = [k for k in factors if k in FACTORS]
    notes: list[str] = []
    if not factors:
        notes.append("the runs have the same configuration: differences are only those of the trials each holds")
    elif len(primary) > 1:
        notes.append(
            f"the runs differ in more than one factor ({', '.join(primary)}): a difference cannot be attributed to one of them"
        )
    extra = [k for k in factors if k not in FACTORS]
    if primary and extra:
        notes.append(f"the runs also differ in {', '.join(extra)}")
    labels = _labels(keyed, primary or extra, dirs)
    # pairing: the same real table and split give each trial the same test rows
    split_keys = [
        (
            _canon((c.get("data") or {}).get("real")),
            c.get("split"),
            _canon((c.get("protocol") or {}).get("test_fraction")),
        )
        for c in configs
    ]
    paired = len(set(split_keys)) == 1
    if not paired:
        notes.append(
            "the runs' real tables or splits differ (e.g. featurizers that drop different real rows): trials are not paired, so no paired test is made"
        )

    entries = []
    for d, lab, (cfg, rows) in zip(dirs, labels, loaded):
        at_m = rows[rows["m"] == m]
        with np.errstate(
            over="ignore", invalid="ignore", divide="ignore"
        ):  # bootstrap replicates that blow up are dropped
            summary = summarize_rows(at_m, cfg, m=m, n_boot=n_boot)
        entries.append(RunEntry(run_dir=d, label=lab, config=cfg, rows=at_m, summary=summary))

    ref = entries[0]
    ref_by = ref.rows.groupby(["n", "trial"])["mae"].mean()
    records = []
    for e in entries:
        by = e.rows.groupby(["n", "trial"])["mae"].mean()
        for n in sorted(set(e.rows["n"].tolist())):
            v = by.loc[n]
            rec: dict[str, Any] = {
                "n": int(n),
                "run": e.label,
                "mean": float(v.mean()),
                "sem": float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else float("nan"),
                "trials": len(v),
                "diff": None,
                "p": None,
                "wins": None,
                "pairs": 0,
            }
            if e is not ref and paired and n in ref_by.index.get_level_values(0):
                r = ref_by.loc[n]
                common = sorted(set(v.index) & set(r.index))
                if common:
                    a, b = v.loc[common].to_numpy(), r.loc[common].to_numpy()
                    rec.update(
                        {
                            "diff": float(np.mean(a - b)),
                            "p": _paired_p(a, b),
                            "wins": int((a < b).sum()),
                            "pairs": len(common),
                        }
                    )
            records.append(rec)
    per_n = pd.DataFrame.from_records(
        records, columns=["n", "run", "mean", "sem", "trials", "diff", "p", "wins", "pairs"]
    )
    pairs = per_n.loc[per_n["pairs"] > 0, "pairs"]
    if paired and len(pairs):
        k = int(pairs.min())
        if k < 6:
            notes.append(
                f"with {k} paired trials the smallest two-sided Wilcoxon p-value is {2 / 2**k:.3g}: run more trials to resolve a difference"
            )
    if "sampler" in primary and paired:
        scratch = per_n[(per_n["n"] == 0) & (per_n["pairs"] > 0)]
        if len(scratch) and not np.allclose(scratch["diff"].astype(float), 0.0):
            notes.append(
                "the scratch baselines (n = 0) differ although only the sampler does: check that the runs used the same model settings"
            )
    task = str(configs[0].get("task"))
    return Comparison(task=task, m=int(m), factors=factors, entries=entries, per_n=per_n, paired=paired, notes=notes)
