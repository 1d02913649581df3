"""The results store: an embedded SQLite file in the run directory, with one writer.

Executors return rows; only this module writes. Each finished unit's rows are committed in one
transaction as soon as the unit returns, so a killed run loses nothing finished and a re-run skips
what is stored. The run's configuration and provenance are kept beside the rows, and a re-run with a
different configuration is refused rather than mixed in.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from ..errors import S2RBenchError
from . import predictions as _P

DB_NAME = "results.sqlite"

RESULT_COLUMNS = (
    "task", "model", "featurizer", "sampler", "n", "m", "trial", "seed",
    "mae", "rmse", "n_test", "n_train", "seconds", "device", "unit", "selected",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    task TEXT NOT NULL, model TEXT NOT NULL, featurizer TEXT NOT NULL, sampler TEXT NOT NULL DEFAULT 'random',
    n INTEGER NOT NULL, m INTEGER NOT NULL, trial INTEGER NOT NULL, seed INTEGER NOT NULL,
    mae REAL NOT NULL, rmse REAL NOT NULL, n_test INTEGER NOT NULL, n_train INTEGER NOT NULL,
    seconds REAL NOT NULL, device TEXT NOT NULL, unit TEXT NOT NULL,
    created TEXT NOT NULL DEFAULT (datetime('now')), selected TEXT,
    PRIMARY KEY (task, model, featurizer, sampler, n, m, trial)
);
CREATE TABLE IF NOT EXISTS predictions (
    task TEXT NOT NULL, model TEXT NOT NULL, featurizer TEXT NOT NULL, sampler TEXT NOT NULL,
    n INTEGER NOT NULL, m INTEGER NOT NULL, trial INTEGER NOT NULL,
    test_rows BLOB NOT NULL, preds BLOB NOT NULL,
    PRIMARY KEY (task, model, featurizer, sampler, n, m, trial)
);
"""

#: Configuration fields that must agree for results to be mixed in one run directory.
IDENTITY_KEYS = ("task", "card_hash", "model", "hyperparameters", "featurizer", "featurizer_version", "seed", "data", "exclude_overlap", "split", "sampler", "sampler_version")


class Store:
    def __init__(self, run_dir: str | Path, *, create: bool = True) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / DB_NAME
        if not self.path.exists() and not create:
            raise S2RBenchError(f"{self.run_dir} holds no s2rbench results ({DB_NAME} missing); run `s2rbench run` first")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path, timeout=30)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.executescript(_SCHEMA)
        if "selected" not in {r[1] for r in self.conn.execute("PRAGMA table_info(results)")}:
            try:  # a store written before the column existed (its old rows read NULL)
                with self.conn:
                    self.conn.execute("ALTER TABLE results ADD COLUMN selected TEXT")
            except sqlite3.OperationalError:  # a read-only store: readable as it is
                pass

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- configuration ------------------------------------------------------------------------
    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_meta(self, key: str, value: Any) -> None:
        with self.conn:
            self.conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value, sort_keys=True, default=str)))

    def check_identity(self, config: dict[str, Any]) -> None:
        """Refuse to resume a run directory that holds another configuration's results."""
        old = self.get_meta("config")
        if old is None:
            self.set_meta("config", config)
            return
        for k in IDENTITY_KEYS:
            if json.dumps(old.get(k), sort_keys=True, default=str) != json.dumps(config.get(k), sort_keys=True, default=str):
                raise S2RBenchError(
                    f"run directory {self.run_dir} holds results for a different {k} "
                    f"({_short(old.get(k))} vs {_short(config.get(k))}); use another --out or delete that directory"
                )
        merged = {**old, **{k: v for k, v in config.items() if k not in IDENTITY_KEYS}}
        self.set_meta("config", merged)

    # -- rows ------------------------------------------------------------------------------------
    def done_keys(self) -> set[tuple[int, int, int]]:
        return {tuple(r) for r in self.conn.execute("SELECT n, m, trial FROM results")}

    def commit(self, rows: Iterable[dict[str, Any]]) -> int:
        rows = list(rows)
        with self.conn:  # one transaction per unit: all of its rows or none
            self.conn.executemany(
                f"INSERT OR REPLACE INTO results ({', '.join(RESULT_COLUMNS)}) VALUES ({', '.join('?' * len(RESULT_COLUMNS))})",
                [tuple(r.get(c) if c == "selected" else r[c] for c in RESULT_COLUMNS) for r in rows],
            )
            # Each trial's test predictions (see s2rbench.sweep.predictions), in the same transaction.
            self.conn.executemany(
                "INSERT OR REPLACE INTO predictions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(r["task"], r["model"], r["featurizer"], r["sampler"], r["n"], r["m"], r["trial"], r[_P.ROWS_KEY], r[_P.KEY])
                 for r in rows if r.get(_P.KEY) is not None],
            )
        return len(rows)

    def predictions(self) -> dict[tuple[int, int, int], tuple[Any, Any]]:
        """{(n, m, trial): (test row indices, float32 predictions)} of every stored trial that kept them."""
        cur = self.conn.execute("SELECT n, m, trial, test_rows, preds FROM predictions")
        return {(int(n), int(m), int(t)): (_P.from_blob(r, "<i4"), _P.from_blob(p)) for n, m, t, r, p in cur}

    def results(self) -> pd.DataFrame:
        return pd.read_sql_query("SELECT * FROM results ORDER BY n, m, trial", self.conn)

    def export(self, path: str | Path) -> Path:
        path = Path(path)
        frame = self.results()
        if path.suffix.lower() in {".parquet", ".pq"}:
            frame.to_parquet(path, index=False)
        elif path.suffix.lower() == ".csv":
            frame.to_csv(path, index=False)
        else:
            raise S2RBenchError(f"cannot export to {path}: use a .csv or .parquet file name")
        return path


def _short(v: Any) -> str:
    s = json.dumps(v, sort_keys=True, default=str)
    return s if len(s) <= 60 else s[:57] + "..."
