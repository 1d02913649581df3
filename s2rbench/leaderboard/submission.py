"""Leaderboard submissions: build one from a run directory, and validate one against the raw data it carries.

A submission is one JSON file, ``leaderboard/submissions/<task>/<id>.json`` (see
``schemas/submission.schema.json``). It carries the *raw* per-trial MAEs of a standard sweep (every
pretraining size n, and the scratch baseline n = 0, at the protocol's m), the provenance of the run
(task card version and hash, model and featurizer with versions and hyperparameters, seeds, device,
package versions) and the numbers the leaderboard shows: the fitted law ``E(n) = D n^-alpha + C``
with 90% bootstrap intervals, and the mean MAE at the largest n with its interval; and, for a run that
stored them, the MAE and gain on test rows whose input is / is not in the trial's pretraining set
(``overlap_summary``, optional; see `s2rbench.leaderboard.poolcheck`).

Nothing stated is trusted. `validate` recomputes every stated number from ``results`` with the fixed
bootstrap of `FIT_BOOT` resamples and seed `FIT_SEED`, and reports a stated value that differs by
more than the tolerance (`RTOL_POINT` / `RTOL_INTERVAL` relative, plus an absolute floor; see
`tolerance`). It also checks the schema, that the file name is the id and the id the content hash,
that the task card (version and hash) is a registered one, and that the run followed the card's
standard protocol (its full or quick grid, trials, seed, split and m), so that entries of one task
compare like with like.

Every function returns problems as one-line strings (``"<file>: <field>: <what>; <fix>"``) rather than
raising at the first, so that a check can report every offender at once.
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from collections.abc import Callable
from datetime import datetime, timezone
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import S2RBenchError
from ..laws import _jsonable as _num  # plain JSON scalars: numpy unwrapped, NaN/inf -> None

FORMAT = 1
#: Bootstrap resamples and seed of every stated interval; fixed so that a check reproduces them exactly.
FIT_BOOT = 1000
FIT_SEED = 0
CI = 0.90
#: Tolerances of the recomputation: see `s2rbench.leaderboard.fitcheck` for what is compared how, and why.
from .fitcheck import ATOL_MAE_FRACTION, ATOL_UNITLESS, RTOL_INTERVAL, RTOL_POINT, tolerance  # noqa: E402,F401

LAW = "D*n^-alpha + C"
HASH_KEYS = ("task", "model", "featurizer", "protocol", "data", "results")


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------


def slugify(text: str, max_len: int = 40) -> str:
    """Lower-case ASCII letters and digits joined by single dashes."""
    slug = re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")
    return slug[:max_len].strip("-")


def _plain(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, np.ndarray)):
        return [_plain(v) for v in (x.tolist() if isinstance(x, np.ndarray) else x)]
    return _num(x)


def _interval(ci: Any) -> list[float | None]:
    if ci is None:
        return [None, None]
    return [_num(float(v)) if v is not None else None for v in ci]


def content_hash(sub: dict[str, Any]) -> str:
    """sha256 of what was measured (task, model, featurizer, protocol, data, results), canonical JSON.

    Names, authors, dates and the derived numbers do not count, so editing a description keeps the
    id, and two files with the same hash are the same measurement submitted twice.
    """
    blob = json.dumps({k: sub.get(k) for k in HASH_KEYS}, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def make_id(name: str, task: str, digest: str) -> str:
    return f"{slugify(name)}-{slugify(task, 30)}-{digest[:10]}"


def dumps(obj: Any) -> str:
    """JSON with two-space indentation, but each list of scalars (one trial's MAEs) on one line."""

    def enc(o: Any, level: int) -> str:
        pad, inner = "  " * level, "  " * (level + 1)
        if isinstance(o, dict):
            if not o:
                return "{}"
            items = [f"{inner}{json.dumps(str(k))}: {enc(v, level + 1)}" for k, v in o.items()]
            return "{\n" + ",\n".join(items) + "\n" + pad + "}"
        if isinstance(o, list):
            if all(not isinstance(v, (dict, list)) for v in o):
                return "[" + ", ".join(json.dumps(v, allow_nan=False) for v in o) + "]"
            return "[\n" + ",\n".join(inner + enc(v, level + 1) for v in o) + "\n" + pad + "]"
        return json.dumps(o, allow_nan=False)

    return enc(obj, 0) + "\n"


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The submission JSON Schema shipped with the package."""
    text = resources.files("s2rbench").joinpath("schemas/submission.schema.json").read_text()
    return json.loads(text)


# ---------------------------------------------------------------------------------------------
# The numbers a submission states, computed from its raw rows
# ---------------------------------------------------------------------------------------------


def mean_interval(
    values: Any, *, n_boot: int = FIT_BOOT, seed: int = FIT_SEED, ci: float = CI
) -> tuple[float | None, float | None]:
    """Bootstrap-over-trials percentile interval of a mean; (None, None) with fewer than 2 values."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size < 2 or n_boot < 1:
        return (None, None)
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(v.size, np.full(v.size, 1.0 / v.size), size=n_boot).astype(float)
    means = counts @ v / v.size
    lo, hi = np.percentile(means, [50.0 * (1.0 - ci), 50.0 * (1.0 + ci)])
    return (float(lo), float(hi))


def rows_frame(sub: dict[str, Any]) -> pd.DataFrame:
    """The submission's raw results as store-like rows (n, m, trial, seed, mae); n = 0 is scratch."""
    res = sub["results"]
    m = int(res["m"])
    out = []
    for i, trial in enumerate(res["trials"]):
        seed = res["seeds"][i] if i < len(res.get("seeds") or []) else 0
        if i < len(res.get("scratch_mae") or []) and res["scratch_mae"][i] is not None:
            out.append((0, m, int(trial), seed, float(res["scratch_mae"][i])))
        for n, v in zip(res["sizes"], res["mae"][i]):
            if v is not None:
                out.append((int(n), m, int(trial), seed, float(v)))
    return pd.DataFrame(out, columns=["n", "m", "trial", "seed", "mae"])


def summary_config(sub: dict[str, Any]) -> dict[str, Any]:
    """The run configuration `s2rbench.analysis` and `s2rbench.report` read, rebuilt from a submission."""
    return {
        "task": sub["task"]["name"],
        "card_version": sub["task"]["version"],
        "card_hash": sub["task"]["hash"],
        "model": sub["model"]["name"],
        "model_version": sub["model"].get("version"),
        "hyperparameters": sub["model"].get("hyperparameters"),
        "featurizer": sub["featurizer"]["name"],
        "featurizer_version": sub["featurizer"].get("version"),
        "seed": sub["protocol"].get("seed"),
        "protocol": dict(sub["protocol"]),
        "target": dict(sub.get("target") or {}),
        "device": (sub.get("device") or {}).get("type"),
        "device_name": (sub.get("device") or {}).get("name"),
        "packages": sub.get("packages") or {},
    }


def as_run(path: str | Path):
    """A submission file as a run to compare (`s2rbench.analysis.compare.RunSource`): its raw rows
    and the configuration a run directory would hold, after the same bounded read, schema and shape
    checks as `leaderboard check` (a file handed in is hostile until checked). One-line error else."""
    from ..analysis.compare import RunSource

    path = Path(path)
    sub, problems = read_entry(path)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise S2RBenchError(
            f"submission {path} is not a valid leaderboard entry: {problems[0]}{more}; "
            "`s2rbench leaderboard check` lists every problem"
        )
    config = summary_config(sub)
    proto = sub["protocol"]
    config.update(
        {
            "data": {"real": sub["data"].get("real"), "sim": sub["data"].get("sim")},
            "split": proto.get("split"),
            "exclude_overlap": proto.get("exclude_overlap"),
            "sampler": (sub.get("sampler") or {}).get("name"),
            "sampler_version": (sub.get("sampler") or {}).get("version"),
        }
    )
    return RunSource(path=path, config=config, rows=rows_frame(sub))


def recompute(sub: dict[str, Any]):
    """The `s2rbench.analysis.Summary` of a submission's raw rows (fixed bootstrap, so reproducible)."""
    from ..analysis import summarize_rows

    return summarize_rows(
        rows_frame(sub), summary_config(sub), m=int(sub["results"]["m"]), n_boot=FIT_BOOT, seed=FIT_SEED
    )


def stated_numbers(summary: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``fit`` and ``summary`` sections for a recomputed `Summary`."""
    f = summary.fit
    if f is None:
        raise S2RBenchError(
            f"no scaling law could be fitted ({summary.fit_error}); a leaderboard entry needs one — run the standard sweep"
        )
    fit = {
        "law": LAW,
        "alpha": _num(f.alpha),
        "C": _num(f.C),
        "D": _num(f.D),
        "alpha_ci": _interval(f.alpha_ci),
        "C_ci": _interval(f.C_ci),
        "D_ci": _interval(f.D_ci),
        "r2": _num(f.r2),
        "n_boot": FIT_BOOT,
        "seed": FIT_SEED,
        "ci": CI,
    }
    last = summary.matrix[:, -1] if summary.matrix is not None else []
    stats = {
        "largest_n": summary.largest_n,
        "mae_at_largest_n": _num(summary.mae_at_largest_n),
        "mae_at_largest_n_ci": _interval(mean_interval(last)),
        "scratch_mae": _num(summary.scratch_mae),
        "gain_over_scratch": _num(summary.gain),
    }
    return fit, stats


# ---------------------------------------------------------------------------------------------
# Building a submission
# ---------------------------------------------------------------------------------------------


def build_submission(
    rows: pd.DataFrame,
    config: dict[str, Any],
    *,
    name: str,
    author: str | None = None,
    url: str | None = None,
    description: str | None = None,
    date: str | None = None,
    cards: dict[str, Any] | None = None,
    predictions: dict[tuple[int, int, int], Any] | None = None,
) -> dict[str, Any]:
    """A submission dict from a run's per-trial rows and stored configuration (writes nothing).

    Raises `S2RBenchError` when the run is incomplete, its task card is not a registered one (in
    ``cards``, default: the plugin registry's tasks), it did not follow that card's full or quick
    protocol, or no law can be fitted.
    """
    if not slugify(name):
        raise S2RBenchError(f"--name {name!r} needs at least one letter or digit (it becomes the submission id)")
    from .safety import text_problems

    bad = text_problems({"name": name, "author": author, "url": url, "description": description})
    if bad:
        raise S2RBenchError(f"--{bad[0]}")
    if rows is None or rows.empty:
        raise S2RBenchError("the run holds no results; run `s2rbench run TASK` first")
    proto = dict(config.get("protocol") or {})
    task = config.get("task")
    m = int(proto.get("m") or rows["m"].max())
    at_m = rows[rows["m"] == m]
    sizes = [int(s) for s in proto.get("sizes") or sorted(set(at_m["n"]) - {0})]
    trials = list(range(int(proto.get("trials") or (at_m["trial"].max() + 1))))
    cell = {(int(r.n), int(r.trial)): r for r in at_m.itertuples(index=False)}
    missing = [(n, t) for n in [0, *sizes] for t in trials if (n, t) not in cell]
    if missing:
        raise S2RBenchError(
            f"the run is incomplete: {len(missing)} of {len(trials) * (len(sizes) + 1)} (n, trial) cells at m={m} are missing "
            f"(first n={missing[0][0]}, trial {missing[0][1]}); resume it with the same `s2rbench run` command"
        )
    info = config.get("data_info") or {}
    data = dict(config.get("data") or {})
    data.update({"sim_rows": info.get("sim_rows"), "real_rows": info.get("real_rows")})
    data["real_f32"] = _real_f32(task, config, cards)
    results = {
        "m": m,
        "sizes": sizes,
        "trials": trials,
        "seeds": [int(cell[(0, t)].seed) for t in trials],
        "mae": [[float(cell[(n, t)].mae) for n in sizes] for t in trials],
        "rmse": [[float(cell[(n, t)].rmse) for n in sizes] for t in trials] if "rmse" in at_m.columns else None,
        "scratch_mae": [float(cell[(0, t)].mae) for t in trials],
    }
    if results["rmse"] is None:
        del results["rmse"]
    results["predictions"] = _encoded_predictions(predictions, m, sizes, trials)
    sub: dict[str, Any] = {
        "format": FORMAT,
        "id": "",
        "name": str(name).strip(),
        "author": author,
        "url": url,
        "description": description,
        "date": date or datetime.now(timezone.utc).date().isoformat(),
        "run_date": config.get("updated"),
        "task": {
            "name": task,
            "version": str(config.get("card_version")),
            "hash": config.get("card_hash"),
            **_task_provenance(task, config),
        },
        "sampler": {
            "name": config.get("sampler") or "random",
            "version": str(config.get("sampler_version") or "1"),
            "plugin": config.get("sampler_plugin"),
        },
        "model": {
            "name": config.get("model"),
            "version": str(config.get("model_version")),
            "hyperparameters": config.get("hyperparameters") or {},
            "plugin": config.get("model_plugin"),
        },
        "featurizer": {
            "name": config.get("featurizer"),
            "version": str(config.get("featurizer_version")),
            "config": config.get("featurizer_config"),
            "plugin": config.get("featurizer_plugin"),
        },
        "protocol": {
            "quick": bool(proto.get("quick")),
            "split": proto.get("split") or config.get("split"),
            "test_fraction": proto.get("test_fraction"),
            "sizes": sizes,
            "trials": len(trials),
            "m": m,
            "m_all": proto.get("m_all"),
            "seed": config.get("seed"),
            "exclude_overlap": bool(config.get("exclude_overlap")),
        },
        "data": data,
        "target": {
            "name": str((config.get("target") or {}).get("name", "")),
            "unit": str((config.get("target") or {}).get("unit", "")),
        },
        "device": {"type": str(config.get("device")), "name": config.get("device_name")},
        "packages": {str(k): str(v) for k, v in (config.get("packages") or {}).items()},
        "results": results,
    }
    sub = _plain(sub)
    fit, stats = stated_numbers(recompute(sub))
    sub["fit"], sub["summary"] = fit, stats
    # in-pool / out-of-pool test rows (issue 17): what `fit --json` reports, where the run stored the columns
    from .poolcheck import stated_overlap

    cells = at_m[at_m["n"].isin([0, *sizes]) & at_m["trial"].isin(trials)]
    overlap = stated_overlap(cells, m, FIT_BOOT, FIT_SEED, CI)
    if overlap is not None:
        sub["overlap_summary"] = overlap
    sub["id"] = make_id(sub["name"], task, content_hash(sub))
    problems = schema_problems(sub) + structure_problems(sub)
    if not problems:
        if cards is None:
            from ..plugins import get_registry

            cards = get_registry().tasks
        card = cards.get(task)
        if card is None:
            problems = [
                f"task {task!r} is not a registered task (registered: {', '.join(sorted(cards)) or 'none'}); "
                "only runs of a card in tasks/ can be submitted"
            ]
        else:
            problems = card_problems(sub, card)
    if problems:
        raise S2RBenchError(
            f"the run does not make a valid submission: {problems[0]}"
            + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
        )
    return sub


def _encoded_predictions(predictions: dict | None, m: int, sizes: list[int], trials: list[int]) -> dict[str, Any]:
    """results.predictions from a store's {(n, m, trial): (test rows, preds)}; refuses a run that kept none."""
    from ..sweep import predictions as P

    predictions = predictions or {}
    missing = [(n, t) for t in trials for n in [0, *sizes] if (n, m, t) not in predictions]
    if missing:
        raise S2RBenchError(
            f"the run kept no test predictions for {len(missing)} (n, trial) cells (first n={missing[0][0]}, trial {missing[0][1]}): "
            "it was made before s2rbench stored them; rerun the sweep into a new --out directory and submit that"
        )
    return {
        "encoding": P.ENCODING,
        "scratch": [P.encode(predictions[(0, m, t)][1]) for t in trials],
        "sizes": [[P.encode(predictions[(n, m, t)][1]) for n in sizes] for t in trials],
    }


def _real_f32(task: str, config: dict[str, Any], cards: dict[str, Any] | None) -> str | None:
    """The float32 fingerprint of the run's real table (see `s2rbench.leaderboard.rescore.fingerprint_f32`)."""
    from .rescore import real_side

    if cards is None:
        from ..plugins import get_registry

        cards = get_registry().tasks
    card = cards.get(task)
    if card is None and config.get("card_path") and Path(config["card_path"]).is_file():
        from ..tasks import load_card

        card = load_card(config["card_path"])
    if card is None or card.hash != config.get("card_hash"):
        return None  # reported below as an unregistered or changed card
    side = real_side(
        card,
        config.get("featurizer") or card.featurizer,
        (config.get("protocol") or {}).get("split") or config.get("split") or card.protocol.split,
    )
    if side.key != (config.get("data") or {}).get("real"):
        raise S2RBenchError(
            "the task's real data are not the ones the run used (their fingerprint differs); rerun the sweep on the current data"
        )
    return side.key_f32


def _task_provenance(task: str, config: dict[str, Any]) -> dict[str, Any]:
    """The task's plugin, and for a task no built-in card defines, the card's text (pinned by task.hash)."""
    from dataclasses import asdict

    from ..plugins import plugin_of

    info = plugin_of("tasks", task)
    out: dict[str, Any] = {"plugin": asdict(info) if info else None}
    if info is None or info.distribution != "s2rbench":
        path = config.get("card_path")
        if path and Path(path).is_file():
            out["card"] = Path(path).read_text(encoding="utf-8")
    return out


def from_run(run_dir: str | Path, **meta: Any) -> dict[str, Any]:
    """A submission dict from a run directory (see `build_submission` for the keywords)."""
    from ..sweep.store import Store

    with Store(run_dir, create=False) as store:
        config = store.get_meta("config") or {}
        rows = store.results()
        predictions = store.predictions()
    return build_submission(rows, config, predictions=predictions, **meta)


def submission_path(root: str | Path, sub: dict[str, Any]) -> Path:
    return Path(root) / "submissions" / sub["task"]["name"] / f"{sub['id']}.json"


def write_submission(sub: dict[str, Any], root: str | Path) -> Path:
    path = submission_path(root, sub)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(sub))
    return path


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------


def _field(path: Any) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


def schema_problems(sub: Any) -> list[str]:
    """Every schema violation, as ``"<field>: <message>"`` (field paths like ``fit.alpha_ci[0]``)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(sub), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    out = []
    for e in errors:
        msg = e.message if len(e.message) <= 160 else e.message[:157] + "..."
        out.append(f"{_field(e.absolute_path)}: {msg} (schema)")
    return out


def structure_problems(sub: dict[str, Any]) -> list[str]:
    """What the schema cannot say: shapes agree, sizes increase, the results are the protocol's."""
    out: list[str] = []
    res, proto = sub["results"], sub["protocol"]
    sizes, trials = res["sizes"], res["trials"]
    if sizes != sorted(set(sizes)):
        out.append(f"results.sizes: {sizes} must be increasing and distinct")
    if len(set(trials)) != len(trials):
        out.append("results.trials: repeated trial indices")
    for key in ("seeds", "scratch_mae"):
        if len(res[key]) != len(trials):
            out.append(f"results.{key}: {len(res[key])} entries for {len(trials)} trials; one per trial")
    for key in ("mae", "rmse"):
        if key not in res:
            continue
        if len(res[key]) != len(trials):
            out.append(f"results.{key}: {len(res[key])} rows for {len(trials)} trials; one row per trial")
        bad = [i for i, row in enumerate(res[key]) if len(row) != len(sizes)]
        if bad:
            out.append(f"results.{key}[{bad[0]}]: {len(res[key][bad[0]])} values for {len(sizes)} sizes; one per size")
    if proto["sizes"] != sizes:
        out.append(f"protocol.sizes: {proto['sizes']} differ from results.sizes {sizes}")
    if proto["trials"] != len(trials):
        out.append(f"protocol.trials: {proto['trials']} but results hold {len(trials)} trials")
    if proto["m"] != res["m"]:
        out.append(f"protocol.m: {proto['m']} differs from results.m {res['m']}")
    if sizes and sub["summary"]["largest_n"] != max(sizes):
        out.append(f"summary.largest_n: {sub['summary']['largest_n']} but the largest size in results is {max(sizes)}")
    return out


def identity_problems(sub: dict[str, Any], path: Path | None) -> list[str]:
    """The id is <name>-<task>-<content hash> and is the file's name, in the task's folder."""
    out = []
    digest = content_hash(sub)
    want = make_id(sub["name"], sub["task"]["name"], digest)
    if sub["id"] != want:
        if not sub["id"].endswith(digest[:10]):
            out.append(
                f"id: {sub['id']!r} does not end in the content hash {digest[:10]} of the task, model, featurizer, protocol, data and results; "
                "the measured data were edited after `s2rbench submit` — regenerate the file from the run directory"
            )
        else:
            out.append(
                f"id: {sub['id']!r} should be {want!r} (slug of name, task, content hash); regenerate the file with `s2rbench submit`"
            )
    if path is not None:
        if path.stem != sub["id"]:
            out.append(f"id: the file is named {path.name} but its id is {sub['id']!r}; rename it to {sub['id']}.json")
        if path.parent.name != sub["task"]["name"]:
            out.append(
                f"task.name: {sub['task']['name']!r} but the file lies in submissions/{path.parent.name}/; move it to submissions/{sub['task']['name']}/"
            )
    return out


def card_problems(sub: dict[str, Any], card: Any) -> list[str]:
    """The card's version and hash match, and the run used the card's standard (full or quick) protocol."""
    out = []
    t = sub["task"]
    if t["hash"] != card.hash or t["version"] != card.version:
        out.append(
            f"task: card {t['name']} v{t['version']} (sha256 {t['hash'][:12]}…) is not the registered card "
            f"v{card.version} (sha256 {card.hash[:12]}…); rerun the sweep with the current card and resubmit"
        )
        return out  # the protocol comparison below is meaningless against another card
    p, cp = sub["protocol"], card.protocol
    quick = p["quick"]
    which = "quick" if quick else "full"
    grid = list(cp.quick_sizes if quick else cp.sizes)
    sim_rows = (sub.get("data") or {}).get("sim_rows")
    if sim_rows:
        grid = [s for s in grid if s <= sim_rows]
    if p["sizes"] != grid:
        out.append(
            f"protocol.sizes: {p['sizes']} is not the card's {which} grid {grid}; rerun `s2rbench run {t['name']}{' --quick' if quick else ''}` without --sizes"
        )
    trials = cp.quick_trials if quick else cp.trials
    if p["trials"] != trials:
        out.append(f"protocol.trials: {p['trials']} is not the card's {which} {trials}; rerun without --trials")
    if p["seed"] != cp.seed:
        out.append(f"protocol.seed: {p['seed']} is not the card's seed {cp.seed}; rerun without --seed")
    if p["split"] != cp.split:
        out.append(f"protocol.split: {p['split']!r} is not the card's {cp.split!r}; rerun without --split")
    want_m = cp.m or p.get("m_all")
    if want_m and p["m"] != want_m:
        out.append(f"protocol.m: {p['m']} is not the card's m = {want_m}; rerun without --m")
    return out


def restated_overlap(sub: dict[str, Any], card: Any, data_dir: Any = None) -> dict[str, Any] | None:
    """The ``overlap_summary`` the check re-derives for ``sub`` (its predictions, the task's data, the
    leaderboard's bootstrap); None where they give no split."""
    from .poolcheck import rederived_overlap

    return rederived_overlap(sub, card, data_dir, n_boot=FIT_BOOT, seed=FIT_SEED, ci=CI)[0]


def fit_problems(sub: dict[str, Any]) -> list[str]:
    """Every stated number that the raw trial data do not reproduce (rules: `s2rbench.leaderboard.fitcheck`)."""
    from . import fitcheck

    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):  # bootstrap fits of flat curves overflow; harmless
            warnings.simplefilter("ignore", RuntimeWarning)
            summary = recompute(sub)
            fit, stats = stated_numbers(summary)
    except S2RBenchError as exc:
        return [f"results: the raw trial data cannot be refitted ({exc})"]
    scale, y_max = fitcheck.curve_scale(summary)
    return fitcheck.compare_fit(sub["fit"], fit, y_max, scale) + fitcheck.compare_summary(sub["summary"], stats, scale)


def read_entry(path: Path) -> tuple[Any, list[str]]:
    """(submission, []) for a file that reads (bounded) and passes the schema and shape checks, else
    (None or the parsed data, its problems): the first gate of every reader of a submission file."""
    sub, err = load_json(path)
    if err:
        return None, [err]
    return sub, schema_problems(sub) or structure_problems(sub)


def load_json(path: Path) -> tuple[Any, str | None]:
    """(parsed JSON, None) or (None, one-line reason); size and depth are bounded before parsing."""
    from .safety import InputTooLarge, read_bounded

    try:
        return read_bounded(path), None
    except InputTooLarge as exc:
        return None, str(exc)
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"cannot be read ({exc.__class__.__name__}: {exc})"
    except ValueError as exc:
        return None, f"is not valid JSON ({exc}); fix the syntax or regenerate it with `s2rbench submit`"


def validate(
    sub: Any,
    path: Path | None = None,
    *,
    cards: dict[str, Any] | Callable[[], dict[str, Any]] | None = None,
    recompute_fit: bool = True,
    data_dir: Any = None,
) -> list[str]:
    """Every problem of one submission, each a one-line ``"<field>: <what>; <fix>"`` string.

    ``cards`` maps task names to registered `TaskCard` objects (default: the plugin registry's
    tasks; a task no plugin registers is checked against the card the submission carries, pinned by
    ``task.hash``). Checks, in order: schema; shapes and consistency; plain-text fields and an https
    URL (`s2rbench.leaderboard.safety`); id and file location; the task card and its standard
    protocol; every per-trial MAE rescored from the carried predictions against the task's own data
    and re-derived splits (`s2rbench.leaderboard.rescore`); a stated in-pool / out-of-pool split
    re-derived from those predictions and the pretraining sets (`s2rbench.leaderboard.poolcheck`); and (``recompute_fit``) every stated
    number against the raw trial data (`s2rbench.leaderboard.fitcheck`). Later stages run only when
    the earlier ones leave the file readable.
    """
    out = schema_problems(sub)
    if out:
        return out
    out = structure_problems(sub)
    if out:
        return out
    from .safety import text_problems

    out += text_problems({k: sub.get(k) for k in ("name", "author", "description", "url")})
    out += identity_problems(sub, path)
    if cards is None:
        from ..plugins import get_registry

        cards = get_registry().tasks
    elif callable(cards):
        cards = cards()
    name = sub["task"]["name"]
    card = cards.get(name)
    if card is None and sub["task"].get("card"):
        card, found = travelling_card(sub)
        out += found
        if found:
            return out
    if card is None:
        known = ", ".join(sorted(cards)) or "none"
        out.append(
            f"task.name: {name!r} is not a registered task (registered: {known}) and the submission carries no card; "
            "install the plugin that registers it, or submit with a current s2rbench (it includes a plugin task's card)"
        )
        return out
    found = card_problems(sub, card)
    out += found
    if found:
        return out  # rescoring against another card's data is meaningless
    from .poolcheck import overlap_problems

    if sub["results"].get("predictions") is not None:
        from .rescore import rescore

        found = rescore(sub, card, data_dir)
        out += found
        if not found:  # the split is re-derived from predictions the rescoring has verified
            out += overlap_problems(sub, card, data_dir, n_boot=FIT_BOOT, seed=FIT_SEED, ci=CI)
    elif not is_legacy(sub):
        out.append(
            "results.predictions: missing; an entry carries each trial's test predictions so that the check can rescore them — "
            "rerun the sweep with a current s2rbench and submit again"
        )
    else:
        out += overlap_problems(
            sub, card, data_dir, n_boot=FIT_BOOT, seed=FIT_SEED, ci=CI
        )  # a legacy entry states none (else: refused)
    if recompute_fit:
        out += fit_problems(sub)
    return out


def is_legacy(sub: dict[str, Any]) -> bool:
    """An entry made before submissions carried predictions (listed in `legacy.NOT_RESCORED`)."""
    from .legacy import NOT_RESCORED

    return sub.get("id") in NOT_RESCORED and sub["results"].get("predictions") is None


def travelling_card(sub: dict[str, Any]) -> tuple[Any, list[str]]:
    """The task card a submission carries (for a task a plugin registers), loaded as data and pinned by hash."""
    import tempfile

    from ..tasks import load_card

    text = sub["task"]["card"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{slugify(sub['task']['name']) or 'task'}.toml"
        path.write_text(text, encoding="utf-8")
        try:
            card = load_card(path)
        except S2RBenchError as exc:
            return None, [f"task.card: the card the submission carries does not load ({exc})"]
    if card.hash != sub["task"]["hash"] or card.name != sub["task"]["name"]:
        return None, [
            f"task.card: the carried card is {card.name!r} with sha256 {card.hash[:12]}…, not task {sub['task']['name']!r} "
            f"with sha256 {sub['task']['hash'][:12]}…; submit again from the run directory"
        ]
    return card, []
