"""The results store: an embedded SQLite file in the run directory, with one writer.

Executors return rows; only this module writes. Each finished unit's rows are committed in one
transaction as soon as the unit returns, so a killed run loses nothing finished and a re-run skips
what is stored. The run's configuration and provenance are kept beside the rows (meta ``config``),
with the record of how the run came to be (meta ``history``: create / extend / resume, see
`s2rbench.sweep.identity`); a re-run with a different configuration is refused rather than mixed in.

Faults are one line, never a traceback, and never lose a stored row:

- A reader (``Store(run_dir, create=False)``: fit, report, export, plan, compare, submit) opens the
  file read-only (``mode=ro``) and never changes it, not even its journal mode, so a run directory
  on a read-only medium or without write permission stays readable (``immutable=1`` where SQLite
  cannot even create its shared-memory file there).
- A file that is not an SQLite database (truncated, garbage) or one without s2rbench's tables
  (foreign), a meta value that is not JSON, or a huge (`MAX_META_BYTES`) or deeply nested one:
  `S2RBenchError` naming the file and what to do.
- A full disk or a failed write while committing: the unit's transaction rolls back (all of its
  rows or none), the rows of earlier units stay, and the message says a re-run resumes.

`RESULT_COLUMNS` is the one list of stored columns. A column added later goes into
`OPTIONAL_COLUMNS` (NULL where a row does not set it); `_migrate` adds every missing one to an
old store when it is opened for writing, and readers of an old store see it as NULL.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import S2RBenchError
from . import predictions as _P
from .identity import IDENTITY_KEYS, history_entry, reconcile  # noqa: F401  (IDENTITY_KEYS: public name)
from .rundir import DB_NAME, os_reason

#: columns every row sets, in stored order
REQUIRED_COLUMNS = (
    "task",
    "model",
    "featurizer",
    "sampler",
    "n",
    "m",
    "trial",
    "seed",
    "mae",
    "rmse",
    "n_test",
    "n_train",
    "seconds",
    "device",
    "unit",
)

#: per-trial columns added after the first stores were written: name -> SQL type (NULL when unset)
OPTIONAL_COLUMNS: dict[str, str] = {
    "selected": "TEXT",
    "mae_original": "REAL",  # MAE in the card's original units when a [target] transform is declared
    # test rows whose canonical input is / is not in the trial's pretraining set (s2rbench.overlap);
    # pool_entry (scratch rows): each test row's first n in the trial's pretraining order, and its error
    "mae_in_pool": "REAL",
    "n_test_in_pool": "INTEGER",
    "mae_out_pool": "REAL",
    "n_test_out_pool": "INTEGER",
    "pool_entry": "TEXT",
}

RESULT_COLUMNS = REQUIRED_COLUMNS + tuple(OPTIONAL_COLUMNS)

#: a meta value larger than this is refused (a configuration is a few kB)
MAX_META_BYTES = 8 * 2**20

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    task TEXT NOT NULL, model TEXT NOT NULL, featurizer TEXT NOT NULL, sampler TEXT NOT NULL DEFAULT 'random',
    n INTEGER NOT NULL, m INTEGER NOT NULL, trial INTEGER NOT NULL, seed INTEGER NOT NULL,
    mae REAL NOT NULL, rmse REAL NOT NULL, n_test INTEGER NOT NULL, n_train INTEGER NOT NULL,
    seconds REAL NOT NULL, device TEXT NOT NULL, unit TEXT NOT NULL,
    created TEXT NOT NULL DEFAULT (datetime('now')),
    PRIMARY KEY (task, model, featurizer, sampler, n, m, trial)
);
CREATE TABLE IF NOT EXISTS predictions (
    task TEXT NOT NULL, model TEXT NOT NULL, featurizer TEXT NOT NULL, sampler TEXT NOT NULL,
    n INTEGER NOT NULL, m INTEGER NOT NULL, trial INTEGER NOT NULL,
    test_rows BLOB NOT NULL, preds BLOB NOT NULL,
    PRIMARY KEY (task, model, featurizer, sampler, n, m, trial)
);
"""


class Store:
    """The run directory's ``results.sqlite``. ``create=False`` opens an existing store read-only."""

    def __init__(self, run_dir: str | Path, *, create: bool = True, readonly: bool | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / DB_NAME
        self.readonly = (not create) if readonly is None else bool(readonly)
        if self.run_dir.exists() and not self.run_dir.is_dir():
            raise S2RBenchError(f"{self.run_dir} is a file, not a run directory; pass the run's directory")
        if not self.path.is_file():
            if self.path.exists():
                raise S2RBenchError(f"{self.path} is not a file; move it away or choose another run directory")
            if not create:
                raise S2RBenchError(
                    f"{self.run_dir} holds no s2rbench results ({DB_NAME} missing); run `s2rbench run` first"
                )
        self.conn: sqlite3.Connection | None = None
        with self._faults("open"):
            if self.readonly:
                self.conn = self._connect_readonly()
            else:
                self.run_dir.mkdir(parents=True, exist_ok=True)
                self.conn = sqlite3.connect(self.path, timeout=30)
                self._check_tables(allow_empty=True)
                self.conn.execute("PRAGMA journal_mode=WAL")
                self.conn.executescript(_SCHEMA)
                self._migrate()

    # -- opening ---------------------------------------------------------------------------------
    def _connect_readonly(self) -> sqlite3.Connection:
        uri = self.path.resolve().as_uri()
        conn = None
        try:
            conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=30)
            self.conn = conn
            self._check_tables(allow_empty=False)
            return conn
        except sqlite3.OperationalError:
            if conn is not None:
                conn.close()
        # a WAL store in a directory we cannot write: SQLite cannot create its -shm file there.
        # Nobody can be writing to it either, so it is read as an immutable file.
        conn = sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, timeout=30)
        self.conn = conn
        self._check_tables(allow_empty=False)
        return conn

    def _check_tables(self, allow_empty: bool) -> None:
        """Refuse a database that is not an s2rbench store (no tables of ours, or other tables only)."""
        names = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not names and allow_empty:
            return
        if "results" not in names:
            raise S2RBenchError(
                f"{self.path} is an SQLite file but not an s2rbench results store "
                f"(tables: {', '.join(sorted(names)) or 'none'}); move it away or choose another run directory"
            )
        cols = {r[1] for r in self.conn.execute("PRAGMA table_info(results)")}
        missing = [c for c in ("n", "m", "trial", "mae") if c not in cols]
        if missing:
            raise S2RBenchError(
                f"{self.path} has a results table without the column(s) {', '.join(missing)}: not an s2rbench store"
            )

    def _migrate(self) -> None:
        """Add every optional column an old store lacks (its old rows read NULL there)."""
        have = {r[1] for r in self.conn.execute("PRAGMA table_info(results)")}
        for name, sql_type in OPTIONAL_COLUMNS.items():
            if name not in have:
                with self.conn:
                    self.conn.execute(f"ALTER TABLE results ADD COLUMN {name} {sql_type}")

    @contextmanager
    def _faults(self, doing: str) -> Iterator[None]:
        """SQLite and OS faults as one line naming the store and what to do."""
        try:
            yield
        except S2RBenchError:
            raise
        except sqlite3.DatabaseError as exc:
            text = str(exc).lower()
            if "full" in text:
                why = "the disk is full; free some space and run again (it resumes from the last stored unit)"
            elif "readonly" in text or "read-only" in text:
                why = "the run directory is read-only; copy it somewhere writable or choose another --out"
            elif "not a database" in text or "malformed" in text or "encrypted" in text:
                why = "it is not an s2rbench store (truncated, damaged or another program's file); move it away or choose another run directory"
            elif "locked" in text or "busy" in text:
                why = "another process holds it; wait for that run to finish"
            elif "unable to open" in text:
                why = "it cannot be opened here (permissions?); check the run directory"
            else:
                why = f"SQLite says: {exc}"
            raise S2RBenchError(f"cannot {doing} {self.path}: {why}") from None
        except OSError as exc:
            raise S2RBenchError(f"cannot {doing} {self.path}: {os_reason(exc)}") from None
        except RecursionError:
            raise S2RBenchError(f"cannot {doing} {self.path}: a value is nested too deeply") from None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- configuration ------------------------------------------------------------------------
    def get_meta(self, key: str, default: Any = None) -> Any:
        with self._faults("read"):
            if (
                self.readonly
                and not self.conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone()
            ):
                return default  # a store from before meta existed, opened read-only
            row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        if not row:
            return default
        text = row[0]
        if not isinstance(text, str):
            raise S2RBenchError(
                f"meta entry {key!r} of {self.path} is not text (a damaged store); move the run directory away and run again"
            )
        if len(text) > MAX_META_BYTES:
            raise S2RBenchError(
                f"meta entry {key!r} of {self.path} is {len(text) / 2**20:.0f} MiB, far more than a configuration; the store is damaged or not s2rbench's"
            )
        try:
            return json.loads(text)
        except RecursionError:
            raise S2RBenchError(
                f"meta entry {key!r} of {self.path} is nested too deeply to be a configuration; the store is damaged or not s2rbench's"
            ) from None
        except ValueError:
            raise S2RBenchError(
                f"meta entry {key!r} of {self.path} is not JSON (a damaged store); move the run directory away and run again"
            ) from None

    def set_meta(self, key: str, value: Any) -> None:
        try:
            text = json.dumps(value, sort_keys=True, default=str)
        except RecursionError:
            raise S2RBenchError(f"meta entry {key!r} is nested too deeply to store") from None
        if len(text) > MAX_META_BYTES:
            raise S2RBenchError(
                f"meta entry {key!r} is {len(text) / 2**20:.0f} MiB, more than the {MAX_META_BYTES // 2**20} MiB a store keeps"
            )
        with self._faults("write to"), self.conn:
            self.conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, text))

    def check_identity(self, config: dict[str, Any], extend: bool = False) -> dict[str, Any]:
        """Refuse to resume a run directory that holds another configuration's results; store the
        configuration to run (with ``extend``: the union of the stored and the new grid, see
        `s2rbench.sweep.identity.reconcile`) and a ``history`` entry; return that configuration."""
        old = self.get_meta("config")
        merged, added = reconcile(self.run_dir, old, config, extend)
        history = self.get_meta("history", []) or []
        if not isinstance(history, list):
            history = []
        action = "create" if old is None else ("extend" if added else "resume")
        if action != "resume" or not history or history[-1].get("action") != "resume":
            history.append(history_entry(action, merged.get("protocol") or {}, added))
        else:  # consecutive resumes are one entry, with the time of the latest
            history[-1] = history_entry("resume", merged.get("protocol") or {})
        with self._faults("write to"), self.conn:
            for key, value in (("config", merged), ("history", history[-1000:])):
                self.conn.execute(
                    "INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value, sort_keys=True, default=str))
                )
        return merged

    # -- rows ------------------------------------------------------------------------------------
    def done_keys(self) -> set[tuple[int, int, int]]:
        with self._faults("read"):
            return {tuple(r) for r in self.conn.execute("SELECT n, m, trial FROM results")}

    def commit(self, rows: Iterable[dict[str, Any]]) -> int:
        rows = list(rows)
        values = [tuple(r.get(c) if c in OPTIONAL_COLUMNS else r[c] for c in RESULT_COLUMNS) for r in rows]
        with self._faults("store rows in"), self.conn:  # one transaction per unit: all of its rows or none
            self.conn.executemany(
                f"INSERT OR REPLACE INTO results ({', '.join(RESULT_COLUMNS)}) VALUES ({', '.join('?' * len(RESULT_COLUMNS))})",
                values,
            )
            # Each trial's test predictions (see s2rbench.sweep.predictions), in the same transaction.
            self.conn.executemany(
                "INSERT OR REPLACE INTO predictions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        r["task"],
                        r["model"],
                        r["featurizer"],
                        r["sampler"],
                        r["n"],
                        r["m"],
                        r["trial"],
                        r[_P.ROWS_KEY],
                        r[_P.KEY],
                    )
                    for r in rows
                    if r.get(_P.KEY) is not None
                ],
            )
        return len(rows)

    def predictions(self) -> dict[tuple[int, int, int], tuple[Any, Any]]:
        """{(n, m, trial): (test row indices, float32 predictions)} of every stored trial that kept them."""
        cur = self.conn.execute("SELECT n, m, trial, test_rows, preds FROM predictions")
        return {(int(n), int(m), int(t)): (_P.from_blob(r, "<i4"), _P.from_blob(p)) for n, m, t, r, p in cur}

    def results(self) -> pd.DataFrame:
        with self._faults("read"):
            frame = pd.read_sql_query("SELECT * FROM results ORDER BY n, m, trial", self.conn)
        for name in OPTIONAL_COLUMNS:  # an old store opened read-only: the newer columns read NULL
            if name not in frame.columns:
                frame[name] = None
        return frame

    def export(self, path: str | Path) -> Path:
        from ..fileio import atomic_path

        path = Path(path)
        kind = path.suffix.lower()
        if kind not in {".parquet", ".pq", ".csv"}:
            raise S2RBenchError(f"cannot export to {path}: use a .csv or .parquet file name")
        if path.is_dir():
            raise S2RBenchError(f"cannot export to {path}: it is a directory; name a .csv or .parquet file")
        if not path.parent.is_dir():
            raise S2RBenchError(f"cannot export to {path}: directory {path.parent} does not exist; create it first")
        frame = self.results()
        with atomic_path(path) as tmp:
            if kind == ".csv":
                frame.to_csv(tmp, index=False)
            else:
                try:
                    frame.to_parquet(tmp, index=False)
                except ImportError:
                    raise S2RBenchError(
                        "exporting .parquet needs pyarrow (pip install pyarrow); or export to .csv"
                    ) from None
        return path


def describe_stored(config: dict[str, Any] | None, rows: pd.DataFrame) -> dict[str, Any]:
    """What a run directory actually holds, for a report that must describe exactly that.

    The stored protocol (meta ``config["protocol"]``) is the grid the run was asked for (after any
    ``--extend``: the union); a killed or still-running run holds less. Returns ``sizes`` (n > 0)
    and ``m_values`` present in the rows, ``trials_min`` / ``trials_max`` over the (n, m) cells,
    ``complete`` (every cell of the protocol has all its trials) and ``missing_cells`` (how many
    (n, m) cells of the protocol are short of trials or absent)."""
    proto = dict((config or {}).get("protocol") or {})
    if rows is None or len(rows) == 0:
        return {"sizes": [], "m_values": [], "trials_min": 0, "trials_max": 0, "complete": False, "missing_cells": None}
    counts = rows.groupby(["n", "m"])["trial"].nunique()
    want_n = [0, *[int(s) for s in proto.get("sizes", [])]]
    want_m = [int(v) for v in proto.get("m_grid", [])] or sorted({int(v) for v in rows["m"]})
    want_t = int(proto.get("trials") or counts.max())
    missing = sum(1 for n in want_n for m in want_m if int(counts.get((n, m), 0)) < want_t)
    return {
        "sizes": sorted({int(v) for v in rows["n"] if v > 0}),
        "m_values": sorted({int(v) for v in rows["m"]}),
        "trials_min": int(counts.min()),
        "trials_max": int(counts.max()),
        "complete": missing == 0,
        "missing_cells": int(missing),
    }
