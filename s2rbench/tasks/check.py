"""`s2rbench task check`: validate a card and both tables before anyone trains on them.

Returns a data report: rows, inputs that do not parse (by file row), target distributions with
units, how many real inputs occur in the simulated table after canonicalisation, and, on that
overlap, how far simulation is from experiment (MAE, bias, RMSE, correlation) with the rows that
disagree most. Every problem that would stop a run is an `S2RBenchError` (one line naming the
card, the key or file, and the fix).
"""

from __future__ import annotations

import os
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import registry
from ..cards.card import TaskCard, _where, unknown_keys
from ..contracts import protocol as proto
from ..contracts.featurizer import PART_SEP, InvalidInputsWarning
from ..errors import S2RBenchError
from .diagnose import decades_finding, repeat_sentence, same_file_finding, scale_findings, unit_findings
from .guess import guess_values_kind
from .repeats import repeat_counts, repeat_groups, repeat_keys
from .resolve import get_task
from .tables import filter_mask, load_tables, read_side
from .transform import transform_frame

# ---------------------------------------------------------------------------------------------
# task check
# ---------------------------------------------------------------------------------------------


def _resolve_featurizer(card: TaskCard, name: str | None, where: str):
    reg = registry.get_registry()
    fname = name or card.featurizer
    field_ = "--featurizer" if name else "`featurizer`"
    same_kind = sorted(n for n, f in reg.featurizers.items() if f.input_kind == card.input_kind)
    if fname not in reg.featurizers:
        fix = (
            f"set {field_} to one of {', '.join(same_kind)}"
            if same_kind
            else f"install a plugin that reads {card.input_kind!r} inputs (none is installed)"
        )
        raise S2RBenchError(
            f"{where}: featurizer {fname!r} ({field_}) is not installed; {fix} (see `s2rbench list featurizers`)"
        )
    feat = reg.featurizers[fname]
    if feat.input_kind != card.input_kind:
        fix = (
            f"set {field_} to one of {', '.join(same_kind)}"
            if same_kind
            else f"no installed featurizer reads {card.input_kind!r} inputs"
        )
        raise S2RBenchError(
            f"{where}: featurizer {fname!r} ({field_}) reads {feat.input_kind!r} inputs, but the card's input_kind is "
            f"{card.input_kind!r}; {fix}"
        )
    return feat


def _stats(y: np.ndarray) -> dict[str, float]:
    y = np.asarray(y, float)
    if not len(y):
        return {"n": 0}
    q = np.percentile(y, [0, 25, 50, 75, 100])
    return {
        "n": len(y),
        "mean": float(y.mean()),
        "std": float(y.std(ddof=1)) if len(y) > 1 else 0.0,
        "min": float(q[0]),
        "p25": float(q[1]),
        "median": float(q[2]),
        "p75": float(q[3]),
        "max": float(q[4]),
    }


@dataclass
class CheckReport:
    """The result of `check_card`: plain data (`to_dict`, the --json output) and its text form."""

    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return self.data

    @property
    def warnings(self) -> list[str]:
        return list(self.data.get("warnings", []))

    def text(self) -> str:
        return format_report(self.data)


def _load_sides(card: TaskCard, data_dir) -> tuple[dict[str, pd.DataFrame], dict[str, dict[str, Any]], tuple[str, ...]]:
    """Standardized tables with a `_row` column (row of the file), and per-side file facts."""
    frames: dict[str, pd.DataFrame] = {}
    info: dict[str, dict[str, Any]] = {}
    if card.loader == "tables":
        for side in ("sim", "real"):
            spec = getattr(card, side)
            raw, frame, path = read_side(card, side, data_dir)
            entry = card.files[spec.file]
            q = raw.set_axis(pd.RangeIndex(len(raw)), axis=0)
            if spec.filters:
                q = q[filter_mask(q, spec.filters, where=f"{card.where} [{side}]")]
            tgt_missing = int(pd.to_numeric(q[spec.target], errors="coerce").isna().sum())
            empty = q[list(spec.input)].isna()
            has_target = pd.to_numeric(q[spec.target], errors="coerce").notna().to_numpy()
            inp_missing = {
                int(r): [c for c in spec.input if empty.at[r, c]]
                for r in q.index[empty.any(axis=1).to_numpy() & has_target]
            }
            info[side] = {
                "file": spec.file,
                "path": str(path),
                "format": "parquet" if path.suffix.lower() in {".parquet", ".pq"} else "csv",
                "sha256": "verified" if entry.sha256 else "not pinned",
                "rows_in_file": len(raw),
                "rows_after_filter": len(q) if spec.filters else None,
                "rows_without_target": tgt_missing,
                "missing_input_rows": inp_missing,
                "input_columns": list(spec.input),
                "target_column": spec.target,
                "conditions": list(spec.conditions),
            }
            frames[side] = frame
        return frames, info, card.sim.conditions
    # a plugin loader builds the tables (rows are then rows of the loaded table, not of a file)
    tables = load_tables(card, data_dir)
    for side in ("sim", "real"):
        f = getattr(tables, side)
        spec = getattr(card, side)
        entry = card.files.get(spec.file)
        frames[side] = f.assign(_row=np.arange(len(f)))
        info[side] = {
            "file": spec.file or None,
            "loader": card.loader,
            "sha256": ("verified" if entry.sha256 else "not pinned") if entry else "—",
            "rows_in_file": len(f),
            "rows_after_filter": None,
            "rows_without_target": 0,
            "missing_input_rows": {},
            "input_columns": list(spec.input),
            "target_column": spec.target,
            "conditions": list(tables.conditions),
        }
    return frames, info, tuple(tables.conditions)


def _file_sha(card: TaskCard, side: str, info: dict[str, dict[str, Any]]) -> str | None:
    entry = card.files.get(getattr(card, side).file)
    return entry.sha256.lower() if entry is not None and entry.sha256 else None


def check_card(
    task: str | os.PathLike | TaskCard,
    *,
    data_dir: str | os.PathLike | None = None,
    featurizer: str | None = None,
    top: int = 10,
) -> CheckReport:
    """Validate a card (name or path) and both of its tables; return the data report.

    Raises `S2RBenchError` (one line) for anything that would stop or silently distort a run;
    anything a user should look at but that does not stop a run is listed under `warnings`.
    """
    from .featurecache import cached_featurize

    card = task if isinstance(task, TaskCard) else get_task(task)
    where = _where(card.path, card.name)
    unknown_keys(card.raw, where)  # a card object built in code gets the same schema as a loaded one
    feat = _resolve_featurizer(card, featurizer, where)
    frames, info, conditions = _load_sides(card, data_dir)
    report_warnings: list[str] = []
    if card.transform != "none":  # the sweep refuses non-positive targets under a log: so does the check
        for side in ("sim", "real"):
            transform_frame(frames[side], card.transform, where=f"{where} [{side}]")
    report_warnings += same_file_finding(
        {s: info[s].get("path") for s in ("sim", "real")}, {s: _file_sha(card, s, info) for s in ("sim", "real")}
    )
    report_warnings += unit_findings(card)
    unit = card.unit
    sides: dict[str, dict[str, Any]] = {}
    invalid_rows: list[dict[str, Any]] = []
    for side in ("sim", "real"):
        frame = frames[side]
        inputs = frame["input"].astype(str).tolist()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InvalidInputsWarning)
            fm = cached_featurize(feat, inputs, what=f"{card.name} {side}")
        bad = list(fm.invalid)
        rows = frame["_row"].to_numpy()
        is_csv = info[side].get("format") == "csv"
        for r, cols in info[side]["missing_input_rows"].items():
            invalid_rows.append(
                {
                    "side": side,
                    "row": int(r),
                    "line": int(r) + 2 if is_csv else None,
                    "input": None,
                    "reason": f"empty {', '.join(map(repr, cols))}",
                }
            )
        for i in bad:
            invalid_rows.append(
                {
                    "side": side,
                    "row": int(rows[i]),
                    "line": int(rows[i]) + 2 if is_csv else None,
                    "input": inputs[i],
                    "reason": f"does not parse as {card.input_kind} ({feat.name})",
                }
            )
        keep = np.ones(len(frame), bool)
        keep[bad] = False
        n_valid = int(keep.sum())
        if n_valid == 0 or (side == "real" and n_valid < 3) or len(bad) >= 0.5 * len(frame):
            looks = guess_values_kind(inputs)
            cols = info[side]["input_columns"]
            example = f"first: row {int(rows[bad[0]])} {inputs[bad[0]]!r}" if bad else ""
            if looks and looks != card.input_kind:
                raise S2RBenchError(
                    f"{where}: [{side}] input column(s) {cols} look like {looks} inputs, but the card's input_kind is "
                    f"{card.input_kind!r} ({len(bad)} of {len(frame)} rows do not parse as {card.input_kind}); both tables must "
                    f"hold {card.input_kind} inputs: convert this table, or fix `input` / `input_kind`"
                )
            if n_valid == 0 or (side == "real" and n_valid < 3):
                raise S2RBenchError(
                    f"{where}: [{side}] only {n_valid} of {len(frame)} inputs in column(s) {cols} parse as {card.input_kind} "
                    f"with featurizer {feat.name!r} ({example}); check `input` and `input_kind`"
                )
        if bad:
            report_warnings.append(
                f"{len(bad)} {side} input(s) do not parse as {card.input_kind} and are dropped by the sweep (see 'inputs that do not parse')"
            )
        if info[side]["missing_input_rows"]:
            report_warnings.append(
                f"{len(info[side]['missing_input_rows'])} {side} row(s) have an empty input and are dropped"
            )
        if info[side].get("rows_without_target"):
            report_warnings.append(
                f"{info[side]['rows_without_target']} {side} row(s) have no target and are dropped (drop_missing_target)"
            )
        valid = frame[keep].reset_index(drop=True)
        canon = [c for c, k in zip(fm.canonical, keep) if k]
        sides[side] = {
            "frame": valid,
            "canon": canon,
            "n_valid": n_valid,
            "n_invalid": len(bad),
            "features": int(fm.X.shape[1]),
        }
    # overlap and the sim-vs-real gap
    sim_f, real_f = sides["sim"]["frame"], sides["real"]["frame"]
    sim_canon, real_canon = sides["sim"]["canon"], sides["real"]["canon"]
    sim_set = set(sim_canon)
    overlap_rows = [i for i, c in enumerate(real_canon) if c in sim_set]

    def keyer(frame: pd.DataFrame, canon: list[str], with_conditions: bool):
        if not with_conditions or not conditions:
            return list(canon)
        cond = np.round(frame[list(conditions)].to_numpy(dtype=float), 6)
        return [(c, *map(float, row)) for c, row in zip(canon, cond)]

    gap_note = None
    use_cond = bool(conditions)
    sim_keys = keyer(sim_f, sim_canon, use_cond)
    real_keys = keyer(real_f, real_canon, use_cond)
    if use_cond and overlap_rows and not set(real_keys) & set(sim_keys):
        use_cond = False
        gap_note = f"no shared input is simulated at the measured {', '.join(conditions)}; compared on the input alone (sim values averaged over conditions)"
        sim_keys, real_keys = list(sim_canon), list(real_canon)
    sim_by_key: dict[Any, list[int]] = defaultdict(list)
    for i, k in enumerate(sim_keys):
        sim_by_key[k].append(i)
    sim_y = sim_f["target"].to_numpy(float)
    real_y = real_f["target"].to_numpy(float)
    how = card.sim.aggregate
    combine = {"keep": np.mean, "mean": np.mean, "median": np.median, "min": np.min, "max": np.max}[how]
    repeats = {
        "sim": repeat_counts(repeat_keys(sim_canon, sim_f[list(conditions)].to_numpy(float) if conditions else None)),
        "real": repeat_counts(
            repeat_keys(real_canon, real_f[list(conditions)].to_numpy(float) if conditions else None)
        ),
        "real_inputs": repeat_counts(list(real_canon)),
        "sim_aggregate": how,
        "compared_with": "mean" if how == "keep" else how,
    }
    for side, counts in (("sim", repeats["sim"]), ("real", repeats["real"])):
        sentence = repeat_sentence(side, counts, how if side == "sim" else None)
        if sentence:
            report_warnings.append(sentence)
    pairs = []
    for i, k in enumerate(real_keys):
        idx = sim_by_key.get(k)
        if idx:
            s = float(combine(sim_y[idx]))
            pairs.append(
                {
                    "real_row": int(real_f["_row"].iloc[i]),
                    "sim_rows": [int(sim_f["_row"].iloc[j]) for j in idx][:5],
                    "sim_rows_count": len(idx),
                    "input": str(real_f["input"].iloc[i]),
                    "canonical": str(real_canon[i]),
                    **({c: float(real_f[c].iloc[i]) for c in conditions} if conditions else {}),
                    "sim": s,
                    "real": float(real_y[i]),
                    "sim_minus_real": s - float(real_y[i]),
                }
            )
    gap: dict[str, Any] = {
        "pairs": len(pairs),
        "matched_on": ["input", *conditions] if use_cond else ["input"],
        "note": gap_note,
    }
    if pairs:
        s = np.array([p["sim"] for p in pairs])
        r = np.array([p["real"] for p in pairs])
        d = s - r
        gap.update(
            {
                "mae": float(np.abs(d).mean()),
                "bias": float(d.mean()),
                "rmse": float(np.sqrt((d**2).mean())),
                "max_abs": float(np.abs(d).max()),
                "real_mad": float(np.abs(r - r.mean()).mean()),
            }
        )
        if len(pairs) >= 3 and s.std() > 0 and r.std() > 0:
            from scipy.stats import spearmanr

            gap["pearson_r"] = float(np.corrcoef(s, r)[0, 1])
            gap["spearman_rho"] = float(spearmanr(s, r).statistic)
        else:
            gap["pearson_r"] = gap["spearman_rho"] = None
        ratios, found = scale_findings(s, r, gap["pearson_r"])
        gap.update(ratios)
        report_warnings += found
    report_warnings += decades_finding("real", real_y, card.transform)
    largest = sorted(pairs, key=lambda p: -abs(p["sim_minus_real"]))[:top]
    if not overlap_rows:
        report_warnings.append(
            "no real input occurs in the simulated table (after canonicalisation): the sim-vs-real gap cannot be measured; "
            "if that is unexpected, check that both tables write inputs the same way"
        )
    # protocol: does the real table hold the test split plus the largest m? does the n grid fit?
    p = card.protocol
    n_real = sides["real"]["n_valid"]
    n_sim = sides["sim"]["n_valid"]
    real_std = transform_frame(real_f, card.transform, where=where).drop(columns="_row")  # what the sweep splits
    real_key = proto.fingerprint(real_std)
    groups = repeat_groups(
        real_canon, real_f, conditions
    )  # a random split keeps copies of one input together, as the sweep does
    if p.split == "group":
        groups = (
            real_std["group"].to_numpy(dtype=str)
            if "group" in real_std
            else np.array([c.split(PART_SEP)[0] for c in real_canon], dtype=str)
        )
    if groups is not None:
        m_all = min(
            len(proto.real_split(n_real, real_key, p.seed, t, p.test_fraction, groups).train_order)
            for t in range(p.trials)
        )
        n_test = n_real - m_all
    else:
        n_test = proto.test_size(n_real, p.test_fraction)
        m_all = n_real - n_test
    wanted = [("m", p.m)] if p.m else []
    wanted += [("m_grid", v) for v in p.m_grid] + [("quick_m_grid", v) for v in p.quick_m_grid]
    largest_m = max(wanted, key=lambda kv: kv[1]) if wanted else None
    if largest_m and largest_m[1] > m_all:
        raise S2RBenchError(
            f"{where}: [protocol] {largest_m[0]} asks for m = {largest_m[1]} real training rows, but the real table has "
            f"{n_real} usable rows and the {p.split} test split (test_fraction {p.test_fraction}) takes {n_test}, leaving {m_all}; "
            f"lower m/m_grid/quick_m_grid to at most {m_all}, or lower test_fraction"
        )
    if m_all < 1:
        raise S2RBenchError(
            f"{where}: the real table has {n_real} usable rows, too few for a test split and training rows; add real rows"
        )
    dropped = [s for s in p.sizes if s > n_sim]
    if len(dropped) == len(p.sizes):
        raise S2RBenchError(
            f"{where}: [protocol] sizes {list(p.sizes)} all exceed the {n_sim} usable simulated rows; use sizes up to {n_sim}"
        )
    if p.quick_sizes and all(s > n_sim for s in p.quick_sizes):
        raise S2RBenchError(
            f"{where}: [protocol] quick_sizes {list(p.quick_sizes)} all exceed the {n_sim} usable simulated rows, so "
            f"`run --quick` has nothing to run; use quick_sizes up to {n_sim}"
        )
    if dropped:
        report_warnings.append(f"sizes {dropped} exceed the {n_sim} usable simulated rows and are dropped by the sweep")
    for key, entry in card.files.items():
        if not entry.sha256:
            report_warnings.append(
                f"file {key!r} is not pinned by sha256; run `s2rbench task hash {card.path or card.name}`"
            )
    data = {
        "ok": True,
        "card": str(card.path) if card.path else None,
        "name": card.name,
        "version": card.version,
        "hash": card.hash,
        "input_kind": card.input_kind,
        "featurizer": feat.name,
        "featurizer_version": feat.version,
        "target": {"name": card.target_name, "unit": unit},
        "conditions": list(conditions),
        "sides": {
            side: {
                **info[side],
                "rows_with_target": len(frames[side]) + len(info[side]["missing_input_rows"]),
                "rows_valid": sides[side]["n_valid"],
                "invalid_inputs": sides[side]["n_invalid"] + len(info[side]["missing_input_rows"]),
                "distinct_inputs": len(set(sides[side]["canon"])),
                "features": sides[side]["features"] + len(conditions),
                "target_stats": _stats(sides[side]["frame"]["target"].to_numpy(float)),
            }
            for side in ("sim", "real")
        },
        "invalid": invalid_rows,
        "overlap": {
            "real_rows_in_sim": len(overlap_rows),
            "real_rows": n_real,
            "distinct_real_inputs_in_sim": len({real_canon[i] for i in overlap_rows}),
            "distinct_real_inputs": len(set(real_canon)),
        },
        "gap": gap,
        "repeats": repeats,
        "transform": card.transform,
        "units": {
            "sim": card.sim.unit,
            "real": card.real.unit,
            "sim_conversion": [card.sim.scale, card.sim.offset],
            "real_conversion": [card.real.scale, card.real.offset],
        },
        "largest_gaps": largest,
        "protocol": {
            "split": p.split,
            "test_fraction": p.test_fraction,
            "real_rows": n_real,
            "test_rows": n_test,
            "m_all": m_all,
            "m": p.m,
            "m_grid": list(p.m_grid),
            "repeats_kept_together": p.split == "random" and groups is not None,
            "largest_m": largest_m[1] if largest_m else m_all,
            "sizes": list(p.sizes),
            "sizes_dropped": dropped,
            "sim_rows": n_sim,
            "trials": p.trials,
        },
        "warnings": report_warnings,
    }
    return CheckReport(data)


def _f(x: Any, digits: int = 4) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:.{digits}g}"
    return str(x)


def format_report(d: dict[str, Any]) -> str:
    from tabulate import tabulate

    u = d["target"]["unit"]
    uu = f" {u}" if u else ""
    g = d["gap"]
    ov = d["overlap"]
    lines = [
        f"task card: {d['card'] or d['name']}",
        f"  name {d['name']!r} v{d['version']} · input {d['input_kind']} · featurizer {d['featurizer']} v{d['featurizer_version']} · "
        f"target {d['target']['name']} ({u or 'no unit'})"
        + (f" · conditions {', '.join(d['conditions'])}" if d["conditions"] else ""),
        "",
        "Simulation vs experiment on the shared inputs (sim − real):",
    ]
    if g["pairs"]:
        lines.append(
            f"  {g['pairs']} pairs · MAE {_f(g['mae'])}{uu} · bias {_f(g['bias'])}{uu} · RMSE {_f(g['rmse'])}{uu} · "
            f"Pearson r {_f(g.get('pearson_r'), 3)} · Spearman ρ {_f(g.get('spearman_rho'), 3)}"
        )
        if g.get("spread_ratio") is not None or g.get("median_ratio") is not None:
            lines.append(
                f"  spread ratio sim/real {_f(g.get('spread_ratio'), 3)} · median ratio sim/real {_f(g.get('median_ratio'), 3)} "
                "(near 1 when both sides share a unit)"
            )
        rp = d.get("repeats") or {}
        if rp.get("sim", {}).get("repeated_inputs"):
            lines.append(
                f"  repeated simulated inputs compared by their {rp['compared_with']} ([sim] aggregate = {rp['sim_aggregate']!r})"
            )
        lines.append(
            f"  (for scale: the measured values of these pairs deviate from their mean by {_f(g['real_mad'])}{uu} on average)"
        )
        if g.get("note"):
            lines.append(f"  note: {g['note']}")
    else:
        lines.append("  no real input occurs in the simulated table: no gap to measure")
    lines.append(
        f"  overlap: {ov['real_rows_in_sim']} of {ov['real_rows']} real rows ({ov['distinct_real_inputs_in_sim']} of "
        f"{ov['distinct_real_inputs']} distinct inputs) also occur in the simulated table after canonicalisation"
    )
    lines += ["", "Tables:"]
    s, r = d["sides"]["sim"], d["sides"]["real"]

    def short(x: str, n: int = 40) -> str:
        return x if len(x) <= n else x[: n - 3] + "..."

    def fname(side: dict) -> str:
        return Path(side["path"]).name if side.get("path") else f"(loader {side.get('loader')})"

    def cols(side: dict) -> str:
        c = side["input_columns"]
        return short(c[0], 40) if len(c) == 1 else short(", ".join(c), 40) + f" ({len(c)} columns)"

    rows = [
        ["file", fname(s), fname(r)],
        ["sha256", s.get("sha256", "—"), r.get("sha256", "—")],
        ["input column(s)", cols(s), cols(r)],
        ["target column", short(s["target_column"]), short(r["target_column"])],
        ["rows in table", s["rows_in_file"], r["rows_in_file"]],
    ]
    if s.get("rows_after_filter") is not None or r.get("rows_after_filter") is not None:
        rows.append(["rows after filter", _f(s.get("rows_after_filter")), _f(r.get("rows_after_filter"))])
    rows += [
        ["rows without target", s["rows_without_target"], r["rows_without_target"]],
        ["inputs that do not parse", s["invalid_inputs"], r["invalid_inputs"]],
        ["usable rows", s["rows_valid"], r["rows_valid"]],
        ["distinct inputs", s["distinct_inputs"], r["distinct_inputs"]],
        ["features", s["features"], r["features"]],
    ]
    lines.append(tabulate(rows, headers=["", "sim", "real"], tablefmt="simple"))
    lines += ["", f"Target {d['target']['name']} ({u or 'no unit'}):"]
    st = [
        [
            side,
            *(
                _f(d["sides"][side]["target_stats"].get(k))
                for k in ("n", "mean", "std", "min", "p25", "median", "p75", "max")
            ),
        ]
        for side in ("sim", "real")
    ]
    lines.append(
        tabulate(st, headers=["", "n", "mean", "std", "min", "25%", "median", "75%", "max"], tablefmt="simple")
    )
    if d["largest_gaps"]:
        lines += [
            "",
            "Largest |sim − real| on the overlap (rows count from 0 after the header; judge them before training):",
        ]
        lg = []
        for p in d["largest_gaps"]:
            sim_rows = ",".join(map(str, p["sim_rows"])) + ("…" if p["sim_rows_count"] > len(p["sim_rows"]) else "")
            inp = p["input"] if len(p["input"]) <= 48 else p["input"][:45] + "..."
            lg.append(
                [
                    p["real_row"],
                    sim_rows,
                    inp,
                    *(p[c] for c in d["conditions"]),
                    _f(p["sim"]),
                    _f(p["real"]),
                    _f(p["sim_minus_real"]),
                ]
            )
        lines.append(
            tabulate(
                lg,
                headers=["real row", "sim row(s)", "input", *d["conditions"], "sim", "real", "sim − real"],
                tablefmt="simple",
                disable_numparse=True,
            )
        )
    if d["invalid"]:
        lines += ["", "Inputs that do not parse (dropped by the sweep):"]
        inv = [
            [
                i["side"],
                i["row"],
                _f(i["line"]),
                "" if i["input"] is None else (i["input"] if len(i["input"]) <= 48 else i["input"][:45] + "..."),
                i["reason"],
            ]
            for i in d["invalid"][:20]
        ]
        lines.append(
            tabulate(inv, headers=["side", "row", "line", "input", "reason"], tablefmt="simple", disable_numparse=True)
        )
        if len(d["invalid"]) > 20:
            lines.append(f"  ... and {len(d['invalid']) - 20} more (--json lists all)")
    pr = d["protocol"]
    lines += [
        "",
        f"Protocol: {pr['split']} split, test {pr['test_rows']} of {pr['real_rows']} real rows, up to m = {pr['m_all']} for fine-tuning "
        f"(largest m asked: {pr['largest_m']}); n grid {pr['sizes']} over {pr['sim_rows']} simulated rows"
        + (f" ({pr['sizes_dropped']} dropped)" if pr["sizes_dropped"] else "")
        + f"; {pr['trials']} trials"
        + ("; copies of one real input stay together" if pr.get("repeats_kept_together") else ""),
    ]
    if d.get("transform", "none") != "none":
        lines.append(
            f"Target transform: {d['transform']} (models train and laws are fitted in {d['transform']} space; each trial "
            "also stores mae_original in the original units; the comparisons above are in the original units)"
        )
    if d["warnings"]:
        lines += ["", "Warnings:"] + [f"  - {w}" for w in d["warnings"]]
    lines += [
        "",
        "OK: the card and both tables pass the check" + (" (see the warnings)" if d["warnings"] else "") + ".",
    ]
    return "\n".join(lines)
