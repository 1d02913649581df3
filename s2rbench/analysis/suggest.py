"""`s2rbench suggest`: which of a table of not-yet-simulated candidates to simulate next.

The candidates are featurized like the task's simulated table; the sampler ranks them given that
table (`Sampler.suggest` with a `SuggestContext`): `diverse` fills the gaps the existing table
leaves, `near-real` picks the candidates closest to the task's real inputs (all of them: there is
no trial split here), `stratified` evens out the families, `random` draws uniformly, and a
third-party sampler without its own `suggest` ranks the candidates by its `order` on
existing ∪ candidates.

Bad input is refused with one line: an unknown sampler, a pool file without the input column(s),
K larger than the usable candidates, a pool in which no input parses. Inputs that do not parse (and
candidates already in the simulated table, or repeated in the pool) are dropped with one warning
naming their rows (0-based data rows of the pool file, header excluded).
"""

from __future__ import annotations

import hashlib
import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import data as data_mod
from ..contracts.featurizer import PART_SEP, InvalidInputsWarning, featurize_with
from ..contracts.sampler import Sampler, SuggestContext, checked_suggestion
from ..errors import S2RBenchError
from ..plugins import get_sampler
from ..tasks import TaskCard, get_task


@dataclass
class SuggestResult:
    table: pd.DataFrame  # rank, row, input, canonical, conditions..., sampler, reason columns, reason
    sampler: str
    task: str
    pool_rows: int
    usable: int
    dropped: dict[str, list[int]] = field(default_factory=dict)  # why -> pool rows

    def to_csv(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        if path.parent and not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
        self.table.to_csv(path, index=False)
        return path


def _pool_inputs(frame: pd.DataFrame, columns: Sequence[str], pool: Path) -> list[str | None]:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        cols = ", ".join(map(str, frame.columns[:12])) + (" ..." if len(frame.columns) > 12 else "")
        raise S2RBenchError(
            f"--pool {pool} has no column(s) {missing} (columns: {cols}); name the input column(s) with --column"
        )
    parts = [frame[c] for c in columns]
    out: list[str | None] = []
    for vals in zip(*parts):
        if any(v is None or (isinstance(v, float) and math.isnan(v)) or str(v).strip() == "" for v in vals):
            out.append(None)
        else:
            out.append(PART_SEP.join(str(v).strip() for v in vals))
    return out


def _listing(rows: Sequence[int], shown: Sequence[str], limit: int = 5) -> str:
    text = ", ".join(f"row {r}: {shown[r]!r}" for r in list(rows)[:limit])
    return text + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def _reason_text(reason: dict[str, Any]) -> str:
    bits = []
    for k, v in reason.items():
        if v is None:
            continue
        if isinstance(v, float):
            v = f"{v:.4g}"
        bits.append(f"{k.replace('_', ' ')} {v}")
    return "; ".join(bits)


def suggest(
    task: str | TaskCard,
    pool: str | os.PathLike,
    k: int,
    sampler: str | Sampler = "random",
    *,
    column: Sequence[str] | str | None = None,
    seed: int | None = None,
    data_dir: str | os.PathLike | None = None,
) -> SuggestResult:
    """Rank the k candidates of the table `pool` that `sampler` would simulate next for `task`."""
    from ..sweep import prepare

    sampler_obj: Sampler = get_sampler(sampler) if isinstance(sampler, str) else sampler
    card = task if isinstance(task, TaskCard) else get_task(task)
    if int(k) < 1:
        raise S2RBenchError(f"--k {k} must be a positive number of candidates")
    k = int(k)
    pool = Path(pool)
    if not pool.is_file():
        raise S2RBenchError(f"--pool {pool} does not exist; pass a CSV (or Parquet) table of candidate inputs")
    frame = data_mod.read_table(pool, what="--pool")
    columns = tuple([column] if isinstance(column, str) else column) if column else card.sim.input
    inputs = _pool_inputs(frame, columns, pool)
    conds = card.sim.conditions
    missing = [c for c in conds if c not in frame.columns]
    if missing:
        raise S2RBenchError(
            f"--pool {pool} lacks the condition column(s) {missing} that task {card.name!r} simulates at; add them to the table"
        )
    cond_vals = (
        np.column_stack([pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float) for c in conds])
        if conds
        else np.zeros((len(frame), 0))
    )

    prep = prepare(card, data_dir=data_dir)
    feat = prep.featurizer
    ok_rows = [i for i, s in enumerate(inputs) if s is not None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InvalidInputsWarning)  # reported below, by pool row
        fm = featurize_with(feat, [inputs[i] for i in ok_rows], what="pool")
    bad_in_ok = set(fm.invalid) | {j for j, c in enumerate(fm.canonical) if c is None}
    bad_cond = set(np.flatnonzero(~np.all(np.isfinite(cond_vals), axis=1)).tolist()) if conds else set()
    invalid = sorted({i for i, s in enumerate(inputs) if s is None} | {ok_rows[j] for j in bad_in_ok} | bad_cond)
    shown = [str(inputs[i]) if inputs[i] is not None else "" for i in range(len(inputs))]
    if len(invalid) == len(inputs):
        raise S2RBenchError(
            f"none of the {len(inputs)} inputs in --pool {pool} could be read by featurizer {feat.name!r} "
            f"({_listing(invalid, shown, 3)}); check --column and the input format"
        )
    dropped: dict[str, list[int]] = {}
    if invalid:
        dropped["invalid"] = invalid
        warnings.warn(
            f"--pool {pool}: {len(invalid)} of {len(inputs)} input(s) could not be read by featurizer {feat.name!r} and were dropped ({_listing(invalid, shown)})",
            InvalidInputsWarning,
            stacklevel=2,
        )
    pos_in_ok = {r: j for j, r in enumerate(ok_rows)}
    valid = [i for i in range(len(inputs)) if i not in set(invalid)]
    canon = [fm.canonical[pos_in_ok[i]] for i in valid]
    X = np.asarray(fm.X[[pos_in_ok[i] for i in valid]], dtype=np.float64)
    if conds:
        X = np.hstack([X, cond_vals[valid]])

    # candidates already simulated, or repeated in the pool, are not candidates
    def ident(c: str, row: np.ndarray) -> tuple:
        return (c, *np.round(np.asarray(row, dtype=np.float64), 6).tolist())

    n_cond = len(conds)
    sim_cond = prep.X_sim[:, prep.X_sim.shape[1] - n_cond :] if n_cond else np.zeros((len(prep.sim_inputs), 0))
    existing = {ident(c, r) for c, r in zip(prep.sim_inputs, sim_cond)}
    seen: set[tuple] = set()
    keep, already, repeated = [], [], []
    for j, (row, c) in enumerate(zip(valid, canon)):
        key = ident(c, cond_vals[row] if n_cond else np.zeros(0))
        if key in existing:
            already.append(row)
        elif key in seen:
            repeated.append(row)
        else:
            seen.add(key)
            keep.append(j)
    if already:
        dropped["already simulated"] = already
        warnings.warn(
            f"--pool {pool}: {len(already)} candidate(s) are already in the simulated table and were dropped ({_listing(already, shown)})",
            UserWarning,
            stacklevel=2,
        )
    if repeated:
        dropped["repeated"] = repeated
        warnings.warn(
            f"--pool {pool}: {len(repeated)} candidate(s) repeat an earlier row and were dropped ({_listing(repeated, shown)})",
            UserWarning,
            stacklevel=2,
        )
    rows = [valid[j] for j in keep]
    canon = [canon[j] for j in keep]
    X = X[keep]
    if not rows:
        raise S2RBenchError(
            f"--pool {pool} holds no new candidate: every valid input is already in task {card.name!r}'s simulated table"
        )
    if k > len(rows):
        what = f"{len(rows)} usable candidates" + (
            f" ({len(inputs) - len(rows)} of {len(inputs)} rows dropped)" if len(rows) < len(inputs) else ""
        )
        raise S2RBenchError(f"--k {k} is larger than the {what} in --pool {pool}; pass --k {len(rows)} or fewer")

    if X.shape[1] != prep.X_sim.shape[1]:  # e.g. vectors of another length than the task's inputs
        raise S2RBenchError(
            f"--pool {pool}: its inputs give {X.shape[1]} features but task {card.name!r}'s give {prep.X_sim.shape[1]}; "
            "write candidates of the task's own input form"
        )
    h = hashlib.sha256()
    h.update(prep.sim_key.encode())
    h.update("\x1f".join(canon).encode())
    ctx = SuggestContext(
        X_existing=prep.X_sim.astype(np.float64),
        existing_inputs=tuple(prep.sim_inputs),
        X_candidates=X,
        candidate_inputs=tuple(canon),
        X_real=prep.X_real.astype(np.float64),
        real_inputs=tuple(prep.real_inputs),
        key=h.hexdigest(),
        seed=int(seed if seed is not None else card.protocol.seed),
        input_kind=card.input_kind,
    )
    s = checked_suggestion(sampler_obj, ctx, k)
    records = []
    for rank, (i, reason) in enumerate(zip(s.index, s.reasons), start=1):
        row = rows[int(i)]
        rec: dict[str, Any] = {"rank": rank, "row": row}
        for c in columns:
            rec[c] = frame[c].iloc[row]
        for c in conds:
            rec[c] = frame[c].iloc[row]
        rec["canonical"] = canon[int(i)]
        rec["sampler"] = sampler_obj.name
        rec.update({k_: v for k_, v in reason.items()})
        rec["reason"] = _reason_text(reason) or sampler_obj.description
        records.append(rec)
    return SuggestResult(
        table=pd.DataFrame.from_records(records),
        sampler=sampler_obj.name,
        task=card.name,
        pool_rows=len(inputs),
        usable=len(rows),
        dropped=dropped,
    )
