"""A run directory's identity: which settings shape its stored rows, and how a run may grow.

Why: the rows of a run directory are only one experiment if every row was produced under the same
protocol. A re-run into a directory that silently replaced the stored grid (another ``--sizes``,
``--trials``, ``--quick``, ``--surface`` or m grid) left a ``report.md`` describing a protocol its
own table did not show. So every setting that shapes the rows is part of the identity and a
different value is refused in one line naming the setting, both values and the fix; the one way a
run grows is an explicit ``--extend`` (more sizes, trials or m values), which keeps the protocol a
full grid (the union of the old and new grids, every cell with the same trials) and is recorded in
the store's ``history`` meta entry (`history_entry`).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from ..errors import S2RBenchError

#: top-level configuration fields that must agree for rows to be mixed in one run directory
IDENTITY_KEYS = (
    "task",
    "card_hash",
    "model",
    "hyperparameters",
    "featurizer",
    "featurizer_version",
    "seed",
    "data",
    "exclude_overlap",
    "split",
    "sampler",
    "sampler_version",
    "split_groups",  # copies of one real input kept on one side of the split (a stored run made without it is refused)
)

#: fields of the configuration's ``protocol`` that shape the stored grid
PROTOCOL_KEYS = ("quick", "split", "test_fraction", "sizes", "trials", "m", "m_grid", "surface")

#: the protocol fields ``--extend`` may grow (everything else must still agree)
EXTENSIBLE = ("sizes", "trials", "m_grid", "quick", "surface")

#: how the user sets each field, for the "how to fix it" part of a refusal
_OPTION = {
    "task": "the TASK argument",
    "card_hash": "the task card (its content changed since this run)",
    "model": "--model",
    "hyperparameters": "--param",
    "featurizer": "--featurizer",
    "featurizer_version": "the featurizer plugin (its version changed)",
    "seed": "--seed",
    "data": "the task's data files (their content changed)",
    "exclude_overlap": "--exclude-overlap",
    "split": "--split",
    "sampler": "--sampler",
    "sampler_version": "the sampler plugin (its version changed)",
    "quick": "--quick",
    "test_fraction": "the card's test_fraction",
    "sizes": "--sizes",
    "trials": "--trials",
    "m": "--m",
    "m_grid": "--m-grid",
    "surface": "--surface",
}


def _canon(v: Any) -> str:
    return json.dumps(v, sort_keys=True, default=str)


def _short(v: Any) -> str:
    s = _canon(v)
    return s if len(s) <= 60 else s[:57] + "..."


def _refuse(run_dir: Any, key: str, old: Any, new: Any, extend_hint: bool) -> S2RBenchError:
    fix = f"pass the stored value again ({_OPTION.get(key, key)})"
    if extend_hint:
        fix += ", add --extend to grow the run to the union of both grids"
    return S2RBenchError(
        f"run directory {run_dir} was run with a different {key}: stored {_short(old)}, this call {_short(new)}; "
        f"{fix}, or use another --out"
    )


def filled_hyperparameters(config: dict[str, Any]) -> Any:
    """The run's hyperparameters, with any key it lacks taken from the installed model's defaults
    when that model is the version the run was made with.

    Why: a plugin may add an opt-in hyperparameter within a version only if its default reproduces
    the version's numbers (``mlp``'s pretraining levers, issue 20), so a run recorded before the key
    existed ran at that default. Without the fill such a run could not be resumed or extended (its
    stored hyperparameters would differ from the call's), and `compare` would report every such
    pair of runs as differing in hyperparameters. Another version's defaults say nothing about the
    run, and an uninstalled model has none to give: the recorded set is then kept as it is."""
    hp = config.get("hyperparameters")
    if not isinstance(hp, dict):
        return hp
    try:
        from ..plugins import get_model

        model = get_model(str(config.get("model")))
    except Exception:  # an uninstalled or unknown model: what was recorded is all there is
        return hp
    if str(model.version) != str(config.get("model_version")):
        return hp
    return {**json.loads(_canon(model.hyperparameters)), **hp}


def check_partial(run_dir: Any, old: dict[str, Any] | None, partial: dict[str, Any]) -> None:
    """Refuse early (before any data is loaded) a top-level identity field that already differs."""
    if not old:
        return
    if "hyperparameters" in old:  # a store written before the field existed is not compared on it
        old = {**old, "hyperparameters": filled_hyperparameters(old)}
    for k in IDENTITY_KEYS:
        if k in partial and k in old and _canon(old[k]) != _canon(partial[k]):
            raise _refuse(run_dir, k, old[k], partial[k], False)


def reconcile(
    run_dir: Any, old: dict[str, Any] | None, new: dict[str, Any], extend: bool
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The configuration to store and run, and what ``--extend`` added (None: nothing).

    ``old`` None: a new run, ``new`` as it is. Otherwise every identity field and protocol field
    must agree, except that with ``extend`` the grid becomes the union of both (sizes and m values
    joined, the larger trial count, quick only if both are quick). Fields that do not shape rows
    (device, packages, time) take the new values. A field missing from an old store (written before
    it existed) is not compared."""
    if not old:
        return new, None
    if "hyperparameters" in old:
        old = {**old, "hyperparameters": filled_hyperparameters(old)}
    for k in IDENTITY_KEYS:
        if _canon(old.get(k)) != _canon(new.get(k)):
            raise _refuse(run_dir, k, old.get(k), new.get(k), False)
    op, np_ = dict(old.get("protocol") or {}), dict(new.get("protocol") or {})
    for k in PROTOCOL_KEYS:
        if k not in op:
            continue
        if _canon(op[k]) != _canon(np_.get(k)) and not (extend and k in EXTENSIBLE):
            raise _refuse(run_dir, k, op[k], np_.get(k), k in EXTENSIBLE)
    merged = {**old, **{k: v for k, v in new.items() if k not in IDENTITY_KEYS and k != "protocol"}}
    proto = {**np_, **{k: op[k] for k in op if k not in EXTENSIBLE}}
    added: dict[str, Any] = {}
    if extend:
        sizes = sorted({int(s) for s in op.get("sizes", [])} | {int(s) for s in np_.get("sizes", [])})
        m_grid = sorted({int(v) for v in op.get("m_grid", [])} | {int(v) for v in np_.get("m_grid", [])})
        trials = max(int(op.get("trials", 0)), int(np_.get("trials", 0)))
        proto.update(
            sizes=sizes,
            m_grid=m_grid,
            trials=trials,
            surface=len(m_grid) > 1,
            quick=bool(op.get("quick", False)) and bool(np_.get("quick", False)),
        )
        new_sizes = sorted(set(sizes) - set(op.get("sizes", [])))
        new_m = sorted(set(m_grid) - set(op.get("m_grid", [])))
        if new_sizes:
            added["sizes"] = new_sizes
        if new_m:
            added["m_grid"] = new_m
        if trials > int(op.get("trials", 0)):
            added["trials"] = [int(op.get("trials", 0)), trials]
    else:
        proto = {**np_, **{k: op[k] for k in op}}
    merged["protocol"] = proto
    return merged, (added or None)


def history_entry(action: str, protocol: dict[str, Any], added: dict[str, Any] | None = None) -> dict[str, Any]:
    """One record of the store's ``history`` list: what was done to the run and the grid after it.

    ``action`` is "create" (the first run), "extend" (``--extend`` added sizes, trials or m values:
    ``added`` says which) or "resume" (the same protocol continued)."""
    try:
        from importlib.metadata import version

        pkg = version("s2rbench")
    except Exception:  # an uninstalled checkout
        pkg = "unknown"
    entry: dict[str, Any] = {
        "action": action,
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "s2rbench": pkg,
        "sizes": list(protocol.get("sizes", [])),
        "trials": protocol.get("trials"),
        "m_grid": list(protocol.get("m_grid", [])),
    }
    if added:
        entry["added"] = added
    return entry
