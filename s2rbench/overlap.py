"""Where the gain comes from: test rows whose input was in the pretraining set, and those that were not.

On bandgap 3,374 of the 4,604 real compositions also have a DFT value in the simulated pool. A model
pretrained on a composition's DFT gap and then asked for its experimental gap is partly *recalling*
a neighbour, not generalising; a user deciding how many more simulations to run needs to know
whether simulation helps on *new* materials. So every trial's test rows are split in two:

* **in pool**: the row's canonical input is among the canonical inputs of the n simulated rows that
  trial pretrained on (n = 0, the scratch baseline, has none: all its rows are out of pool);
* **out of pool**: all the others.

Per trial the store keeps `mae_in_pool`, `n_test_in_pool`, `mae_out_pool`, `n_test_out_pool` (a MAE
is NULL where its side is empty; old stores read NULL everywhere). The gain over scratch on one side
must compare the same rows, and which rows are in pool depends on n; so each scratch row also keeps
`pool_entry` (JSON): per test row the first n at which its input enters that trial's pretraining
order (0: not within the sweep's largest n) and the scratch model's absolute error. The pretraining
sets are nested across n (the first n rows of one order per trial), so from these two arrays the
scratch MAE on the in-pool rows of *any* n of the sweep is exact and paired by trial.

Membership is vectorised: canonical inputs become integer ids once (`canonical_ids`, shared by both
tables) and each trial's membership is one `np.isin` on ids, so 10⁵ simulated rows cost nothing
noticeable per trial. This module is plain numpy/pandas, imports nothing of the sweep or the
analysis, and so can be used by both (the sweep writes the columns, `overlap_summary` reads them).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import suppress
from typing import Any

import numpy as np
import pandas as pd

#: The per-trial columns this module adds to a result row (see `pool_columns`).
POOL_COLUMNS = ("mae_in_pool", "n_test_in_pool", "mae_out_pool", "n_test_out_pool", "pool_entry")


def canonical_ids(sim_inputs: Sequence[str], real_inputs: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Integer ids of canonical inputs, one vocabulary for both tables: equal ids ⇔ equal inputs."""
    codes, _ = pd.factorize(pd.Index(list(sim_inputs) + list(real_inputs), dtype=object))
    codes = codes.astype(np.int64)
    return codes[: len(sim_inputs)], codes[len(sim_inputs) :]


def input_ids(prep: Any) -> tuple[np.ndarray, np.ndarray]:
    """The prepared task's (sim, real) ids: computed in `prepare`, or here once for a `Prepared` built
    by hand (tests, `dataclasses.replace`) whose ids are missing or no longer match its tables."""
    ids = getattr(prep, "input_ids", None)
    # checked against the tables' rows, not the input lists: executors may ship a Prepared without
    # its real inputs (the ids travel instead)
    if ids is None or len(ids[0]) != len(prep.y_sim) or len(ids[1]) != len(prep.y_real):
        ids = canonical_ids(prep.sim_inputs, prep.real_inputs)
        with suppress(AttributeError):  # a frozen stand-in: recompute next time
            prep.input_ids = ids
    return ids


def entry_ranks(sim_ids: np.ndarray, order: np.ndarray, real_ids: np.ndarray) -> np.ndarray:
    """For each real row, the smallest n at which its input is among the first n rows of `order`
    (a trial's pretraining order), or 0 where it never is within `order`."""
    ids = sim_ids[np.asarray(order, dtype=np.int64)]
    uniq, first = np.unique(ids, return_index=True)
    out = np.zeros(len(real_ids), np.int64)
    if len(uniq) == 0:
        return out
    pos = np.clip(np.searchsorted(uniq, real_ids), 0, len(uniq) - 1)
    hit = uniq[pos] == real_ids
    out[hit] = first[pos[hit]] + 1
    return out


def pool_columns(
    prep: Any, sim_rows: np.ndarray, test_rows: np.ndarray, err: np.ndarray, scratch_order: np.ndarray | None = None
) -> dict[str, Any]:
    """The in-pool / out-of-pool columns of one trial's result row.

    `sim_rows`: the trial's pretraining rows (empty at n = 0); `test_rows`: its real test rows;
    `err`: prediction minus target on those test rows; `scratch_order`: for a scratch row, the trial's
    pretraining order up to the sweep's largest n (gives `pool_entry`)."""
    sim_ids, real_ids = input_ids(prep)
    test_ids = real_ids[np.asarray(test_rows, dtype=np.int64)]
    inside = (
        np.isin(test_ids, sim_ids[np.asarray(sim_rows, dtype=np.int64)])
        if len(sim_rows)
        else np.zeros(len(test_ids), bool)
    )
    a = np.abs(np.asarray(err, dtype=np.float64))
    n_in = int(inside.sum())
    row: dict[str, Any] = {
        "mae_in_pool": float(a[inside].mean()) if n_in else None,
        "n_test_in_pool": n_in,
        "mae_out_pool": float(a[~inside].mean()) if n_in < len(a) else None,
        "n_test_out_pool": int(len(a) - n_in),
        "pool_entry": None,
    }
    if scratch_order is not None and len(sim_rows) == 0:
        entry = entry_ranks(sim_ids, scratch_order, test_ids)
        row["pool_entry"] = json.dumps({"entry": entry.tolist(), "abs_err": a.tolist()}, separators=(",", ":"))
    return row


# ---------------------------------------------------------------------------------------------
# Reading the columns back: per n, MAE and gain over scratch on each side, with intervals
# ---------------------------------------------------------------------------------------------


def _boot_ci(values: np.ndarray, stat, n_boot: int, rng: np.random.Generator) -> list[float] | None:
    """90% percentile interval of `stat(values[idx])` over trials resampled with replacement."""
    if len(values) < 2 or n_boot < 1:
        return None
    idx = rng.integers(0, len(values), size=(n_boot, len(values)))
    draws = np.array([stat(values[i]) for i in idx], dtype=float)
    draws = draws[np.isfinite(draws)]
    if len(draws) == 0:
        return None
    lo, hi = np.percentile(draws, [5, 95])
    return [float(lo), float(hi)]


def _scratch_sides(rows: pd.DataFrame) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """trial -> (entry ranks, scratch absolute errors) from the scratch rows' `pool_entry`."""
    out = {}
    for trial, text in zip(rows["trial"], rows["pool_entry"]):
        if isinstance(text, str):
            d = json.loads(text)
            out[int(trial)] = (np.asarray(d["entry"], np.int64), np.asarray(d["abs_err"], np.float64))
    return out


def overlap_summary(rows: pd.DataFrame, *, m: int | None = None, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Per n: MAE and gain over scratch on in-pool and out-of-pool test rows, with counts and 90%
    bootstrap intervals over trials (model and scratch resampled together: paired by trial).

    A gain is 1 − mean MAE / mean scratch MAE over the trials, on the same rows (the definition of the
    run's headline gain, restricted to one side). Returns ``{"available": False, "reason": ...}`` for a
    store written before these columns existed."""
    if rows.empty or "n_test_in_pool" not in rows or rows["n_test_in_pool"].isna().all():
        return {
            "available": False,
            "reason": "this run was stored before the in-pool/out-of-pool columns existed; re-run it to get them",
        }
    if m is None:
        m = int(rows["m"].max())
    rows = rows[rows["m"] == m]
    scratch = _scratch_sides(rows[rows["n"] == 0]) if "pool_entry" in rows else {}
    rng = np.random.Generator(np.random.PCG64(seed))
    by_n = []
    for n, g in rows[(rows["n"] > 0) & rows["n_test_in_pool"].notna()].groupby("n"):
        g = g.sort_values("trial")
        entry: dict[str, Any] = {
            "n": int(n),
            "trials": len(g),
            "n_test": float(g["n_test"].mean()),
            "n_test_in_pool": float(g["n_test_in_pool"].mean()),
            "n_test_out_pool": float(g["n_test_out_pool"].mean()),
            "share_in_pool": float(g["n_test_in_pool"].sum() / g["n_test"].sum()),
        }
        for side, inside in (("in_pool", True), ("out_pool", False)):
            model = g[f"mae_{side}"].to_numpy(dtype=float)
            ok = np.isfinite(model)
            entry[f"mae_{side}"] = float(model[ok].mean()) if ok.any() else None
            entry[f"mae_{side}_ci"] = _boot_ci(model[ok], np.mean, n_boot, rng)
            pairs = []
            for t, v in zip(g["trial"].to_numpy(), model):
                if not np.isfinite(v) or int(t) not in scratch:
                    continue
                ranks, abs_err = scratch[int(t)]
                sel = ((ranks > 0) & (ranks <= n)) if inside else ~((ranks > 0) & (ranks <= n))
                if sel.any():
                    pairs.append((v, abs_err[sel].mean()))
            entry[f"scratch_{side}"] = None
            entry[f"gain_{side}"] = None
            entry[f"gain_{side}_ci"] = None
            if pairs:
                p = np.array(pairs)
                gain = lambda q: 1.0 - q[:, 0].mean() / q[:, 1].mean()
                entry[f"scratch_{side}"] = float(p[:, 1].mean())
                entry[f"gain_{side}"] = float(gain(p))
                entry[f"gain_{side}_ci"] = _boot_ci(p, gain, n_boot, rng)
        by_n.append(entry)
    return {
        "available": bool(by_n),
        "m": int(m),
        "by_n": by_n,
        "reason": None if by_n else "no pretrained trials with in-pool/out-of-pool columns at this m",
    }


def _fmt(v: float | None, ci: list[float] | None = None, pct: bool = False) -> str:
    if v is None or not np.isfinite(v):
        return "—"
    f = (lambda x: f"{x:+.1%}") if pct else (lambda x: f"{x:.4g}")
    return f(v) + (f" [{f(ci[0])}, {f(ci[1])}]" if ci else "")


def overlap_table(summary: dict[str, Any]) -> list[dict[str, str]]:
    """One display row per n (the CLI and the report tabulate these)."""
    out = []
    for e in summary.get("by_n", []):
        out.append(
            {
                "n": str(e["n"]),
                "test rows in/out (per trial)": f"{e['n_test_in_pool']:.4g} / {e['n_test_out_pool']:.4g}",
                "MAE in pool": _fmt(e["mae_in_pool"], e["mae_in_pool_ci"]),
                "gain in pool": _fmt(e["gain_in_pool"], e["gain_in_pool_ci"], pct=True),
                "MAE out of pool": _fmt(e["mae_out_pool"], e["mae_out_pool_ci"]),
                "gain out of pool": _fmt(e["gain_out_pool"], e["gain_out_pool_ci"], pct=True),
            }
        )
    return out


def overlap_text(summary: dict[str, Any], tablefmt: str = "simple") -> str:
    """The split as text: a heading line and a table, or one line saying why there is none."""
    from tabulate import tabulate

    if not summary.get("available"):
        return f"In pool / out of pool: not available ({summary.get('reason')})."
    head = (
        "Test rows whose input is / is not in the trial's pretraining set (MAE and gain over scratch "
        "on the same rows; 90% bootstrap intervals over trials):"
    )
    return head + "\n\n" + tabulate(overlap_table(summary), headers="keys", tablefmt=tablefmt)
