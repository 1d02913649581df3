"""Task cards: the versioned TOML description of a Sim2Real pair, and loading its two tables.

Built-in and user tasks share one card format (``format = 1``). A card names its data files (URL +
sha256, or a local path), which columns of the simulated and the real table hold the input, the
target and any condition columns (temperature...), the input kind, the default featurizer and the
protocol (split, n grid, trials, m). The card's hash is recorded with every result.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import data as data_mod
from .errors import S2RBenchError
from .contracts.featurizer import INPUT_KINDS, PART_SEP

CARD_FORMAT = 1
TASKS_PATH_ENV = "S2RBENCH_TASKS_PATH"


@dataclass(frozen=True)
class TableSpec:
    """Which columns of one table hold the input, the target, conditions and an optional group."""

    file: str
    input: tuple[str, ...]
    target: str
    conditions: tuple[str, ...] = ()
    group: str | None = None
    drop_missing_target: bool = False
    query: str | None = None
    input_kind: str = ""  # the side's declared input kind (the card's `input_kind` unless the side overrides it)


@dataclass(frozen=True)
class Protocol:
    split: str = "random"
    test_fraction: float = 0.2
    sizes: tuple[int, ...] = ()
    quick_sizes: tuple[int, ...] = ()
    trials: int = 100
    quick_trials: int = 5
    m: int | None = None
    m_grid: tuple[int, ...] = ()
    quick_m_grid: tuple[int, ...] = ()
    trial_block: int = 25
    seed: int = 0


@dataclass(frozen=True)
class TaskCard:
    name: str
    version: str
    input_kind: str
    featurizer: str
    target_name: str
    unit: str
    sim: TableSpec
    real: TableSpec
    files: dict[str, data_mod.FileEntry]
    protocol: Protocol
    loader: str = "tables"
    title: str = ""
    description: str = ""
    citations: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    path: Path | None = None

    @property
    def hash(self) -> str:
        """sha256 of the card's content (comments and layout do not count; every value does)."""
        blob = json.dumps(self.raw, sort_keys=True, separators=(",", ":"), default=str).encode()
        return hashlib.sha256(blob).hexdigest()

    @property
    def card_dir(self) -> Path | None:
        return self.path.parent if self.path else None

    def describe_protocol(self, quick: bool = False) -> str:
        p = self.protocol
        sizes = p.quick_sizes if quick and p.quick_sizes else p.sizes
        return (
            f"{'quick' if quick else 'full'} protocol: {p.split} split, test {p.test_fraction:.0%}, "
            f"n in {list(sizes)}, {p.quick_trials if quick else p.trials} trials, m={p.m or 'all'}"
        )


def _where(path: Path | str | None, name: str | None = None) -> str:
    return f"task card {path}" if path else f"task card {name!r}"


def _req(table: dict, key: str, where: str, section: str) -> Any:
    if key not in table or table[key] in (None, ""):
        raise S2RBenchError(f"{where}: [{section}] has no `{key}`; add it (see `s2rbench task init`)")
    return table[key]


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


#: Input kinds whose featurizer a card may leave out (they need no chemistry: the columns are the features).
DEFAULT_FEATURIZER = {"features": "columns"}


def _input_kind(raw: dict[str, Any], where: str) -> str:
    """The card's input kind: top-level `input_kind`, or the one both [sim] and [real] declare."""
    sides = {s: (raw.get(s) or {}).get("input_kind") if isinstance(raw.get(s), dict) else None for s in ("sim", "real")}
    for side, k in sides.items():
        if k is not None and str(k) not in INPUT_KINDS:
            raise S2RBenchError(f"{where}: [{side}] has unknown input_kind {k!r}; use one of {', '.join(INPUT_KINDS)}")
    kind = raw.get("input_kind")
    if kind in (None, ""):
        if sides["sim"] is not None and sides["real"] is not None and sides["sim"] != sides["real"]:
            raise S2RBenchError(
                f"{where}: [sim] input_kind {sides['sim']!r} differs from [real] input_kind {sides['real']!r}; "
                "the simulated and the real table must hold the same kind of input (one featurizer reads both): "
                "convert one table, or make the two kinds agree"
            )
        kind = sides["sim"] or sides["real"]
    if kind in (None, ""):
        raise S2RBenchError(f"{where}: [top level] has no `input_kind`; add it (one of {', '.join(INPUT_KINDS)})")
    kind = str(kind)
    if kind not in INPUT_KINDS:
        raise S2RBenchError(f"{where}: unknown input_kind {kind!r}; use one of {', '.join(INPUT_KINDS)}")
    return kind


def parse_card(raw: dict[str, Any], path: Path | None = None) -> TaskCard:
    """Validate a parsed TOML card; every problem is one line naming the card and the field."""
    where = _where(path, raw.get("name"))
    fmt = raw.get("format", CARD_FORMAT)
    if not isinstance(fmt, int) or fmt > CARD_FORMAT:
        raise S2RBenchError(
            f"{where} is in card format {fmt}, newer than this s2rbench understands ({CARD_FORMAT}); upgrade s2rbench"
        )
    name = str(_req(raw, "name", where, "top level"))
    kind = _input_kind(raw, where)
    files: dict[str, data_mod.FileEntry] = {}
    for key, entry in (raw.get("files") or {}).items():
        if not isinstance(entry, dict):
            raise S2RBenchError(f"{where}: [files.{key}] must be a table with url/sha256 or path")
        if not entry.get("url") and not entry.get("path"):
            raise S2RBenchError(f"{where}: [files.{key}] needs a `url` (with `sha256`) or a local `path`")
        sha = entry.get("sha256")
        if sha is not None and (len(str(sha)) != 64 or any(c not in "0123456789abcdefABCDEF" for c in str(sha))):
            raise S2RBenchError(f"{where}: [files.{key}] sha256 {sha!r} is not 64 hex digits; run `s2rbench task hash {path or name}`")
        files[key] = data_mod.FileEntry(
            key=key,
            url=entry.get("url"),
            sha256=sha,
            mirror=entry.get("mirror"),
            path=entry.get("path"),
            licence=entry.get("licence") or entry.get("license"),
            citation=entry.get("citation"),
        )
    loader = str(raw.get("loader", "tables"))

    def table(section: str) -> TableSpec:
        t = raw.get(section)
        if not isinstance(t, dict):
            raise S2RBenchError(f"{where}: no [{section}] table; add one naming file, input and target columns")
        file_key = str(_req(t, "file", where, section)) if loader == "tables" else str(t.get("file", ""))
        if loader == "tables" and file_key not in files:
            raise S2RBenchError(f"{where}: [{section}] file {file_key!r} is not declared under [files]; add [files.{file_key}]")
        if loader == "tables" and not _as_tuple(t.get("input")) and t.get("input") is not None:
            raise S2RBenchError(f"{where}: [{section}] `input` is empty; name the input column(s)")
        side_kind = t.get("input_kind")
        if side_kind is not None and str(side_kind) != kind:
            raise S2RBenchError(
                f"{where}: [{section}] input_kind {side_kind!r} differs from the card's input_kind {kind!r}; "
                "the simulated and the real table must hold the same kind of input (one featurizer reads both): "
                "convert one table, or make the two kinds agree"
            )
        return TableSpec(
            file=file_key,
            input=_as_tuple(_req(t, "input", where, section)) if loader == "tables" else _as_tuple(t.get("input", "input")),
            target=str(_req(t, "target", where, section)) if loader == "tables" else str(t.get("target", "target")),
            conditions=_as_tuple(t.get("conditions")),
            group=t.get("group"),
            drop_missing_target=bool(t.get("drop_missing_target", False)),
            query=t.get("query"),
            input_kind=kind,
        )

    sim, real = table("sim"), table("real")
    if kind == "features" and len(sim.input) != len(real.input):
        raise S2RBenchError(
            f"{where}: input_kind 'features' needs the same number of feature columns on both sides, but [sim] input "
            f"names {len(sim.input)} and [real] input names {len(real.input)}; list the same descriptors, in the same order"
        )
    if len(sim.conditions) != len(real.conditions):
        raise S2RBenchError(
            f"{where}: [sim] has conditions {list(sim.conditions)} but [real] has {list(real.conditions)}; "
            "both tables must give the same conditions, in the same order"
        )
    p = raw.get("protocol") or {}
    sizes = tuple(int(s) for s in p.get("sizes", ()))
    if not sizes:
        raise S2RBenchError(f"{where}: [protocol] has no `sizes` (the n grid); add a log-spaced list")
    if any(s <= 0 for s in sizes) or list(sizes) != sorted(set(sizes)):
        raise S2RBenchError(f"{where}: [protocol] sizes must be positive, increasing and distinct; got {list(sizes)}")
    tf = float(p.get("test_fraction", 0.2))
    if not 0 < tf < 1:
        raise S2RBenchError(f"{where}: [protocol] test_fraction {tf} must be between 0 and 1")
    split = str(p.get("split", "random"))
    if split not in ("random", "group"):
        raise S2RBenchError(f"{where}: [protocol] split {split!r} must be 'random' or 'group'")
    protocol = Protocol(
        split=split,
        test_fraction=tf,
        sizes=sizes,
        quick_sizes=tuple(int(s) for s in p.get("quick_sizes", ())) or sizes[:: max(1, len(sizes) // 4)],
        trials=int(p.get("trials", 100)),
        quick_trials=int(p.get("quick_trials", 5)),
        m=int(p["m"]) if p.get("m") else None,
        m_grid=tuple(int(s) for s in p.get("m_grid", ())),
        quick_m_grid=tuple(int(s) for s in p.get("quick_m_grid", ())),
        trial_block=int(p.get("trial_block", 25)),
        seed=int(p.get("seed", 0)),
    )
    target = raw.get("target") or {}
    return TaskCard(
        name=name,
        version=str(raw.get("version", "0")),
        input_kind=kind,
        featurizer=str(raw.get("featurizer") or DEFAULT_FEATURIZER.get(kind) or _req(raw, "featurizer", where, "top level")),
        target_name=str(target.get("name", real.target)),
        unit=str(target.get("unit", "")),
        sim=sim,
        real=real,
        files=files,
        protocol=protocol,
        loader=loader,
        title=str(raw.get("title", "")),
        description=str(raw.get("description", "")).strip(),
        citations=_as_tuple(raw.get("citations")),
        options=dict(raw.get("options") or {}),
        raw=raw,
        path=path,
    )


def load_card(path: str | os.PathLike) -> TaskCard:
    path = Path(path)
    if not path.is_file():
        raise S2RBenchError(f"task card {path} does not exist; check the path or run `s2rbench task init`")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise S2RBenchError(f"task card {path} is not valid TOML ({exc}); fix the syntax") from None
    return parse_card(raw, path=path)


def builtin_card_dir() -> Path:
    import s2rbench_plugins.tasks

    return Path(s2rbench_plugins.tasks.__file__).parent / "cards"


def register_card_dirs(registry: Any) -> None:
    """Register cards from the directories in S2RBENCH_TASKS_PATH (os.pathsep-separated)."""
    raw = os.environ.get(TASKS_PATH_ENV, "")
    for d in filter(None, raw.split(os.pathsep)):
        for card_path in sorted(Path(d).expanduser().glob("*.toml")):
            try:
                card = load_card(card_path)
            except S2RBenchError as exc:
                registry.problems.append(str(exc))
                warnings.warn(str(exc), UserWarning, stacklevel=2)
                continue
            if card.name in registry.tasks:
                msg = f"task card {card_path} names task {card.name!r}, which is already registered; rename it (`name` in the card)"
                registry.problems.append(msg)
                warnings.warn(msg, UserWarning, stacklevel=2)
                continue
            registry.tasks[card.name] = card
            from .plugins import PluginInfo

            registry.origin[("tasks", card.name)] = PluginInfo(TASKS_PATH_ENV, str(d), "user cards", card.version)


def get_task(name_or_path: str | os.PathLike) -> TaskCard:
    """A registered task by name, or a card file by path (anything ending in .toml)."""
    s = str(name_or_path)
    if s.endswith(".toml") or os.sep in s:
        card = load_card(s)
        check_unique_name(card)
        return card
    from .plugins import _lookup

    return _lookup("tasks", s)


def check_unique_name(card: TaskCard) -> None:
    """A card file must not reuse the name of another registered task (results are stored by task name)."""
    from .plugins import get_registry, plugin_of

    other = get_registry().tasks.get(card.name)
    if other is None:
        return
    other_path = getattr(other, "path", None)
    if card.path is not None and other_path is not None and Path(other_path).resolve() == Path(card.path).resolve():
        return
    if getattr(other, "hash", None) == card.hash:  # the same card, e.g. a copy of a built-in one: the same task
        return
    info = plugin_of("tasks", card.name)
    src = f"{other_path}" if other_path else (f"plugin {info.name!r}" if info else "another plugin")
    raise S2RBenchError(
        f"{_where(card.path, card.name)} names task {card.name!r}, which is already registered ({src}); "
        "give this card another `name`"
    )


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------


@dataclass
class TaskTables:
    """The simulated and real tables in standard columns: input, target, conditions..., group."""

    sim: pd.DataFrame
    real: pd.DataFrame
    conditions: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)


def standardize(frame: pd.DataFrame, spec: TableSpec, *, where: str) -> pd.DataFrame:
    """Map a raw table to standard columns; missing columns and bad targets are one-line errors."""
    return standardize_rows(frame, spec, where=where)[0]


def standardize_rows(frame: pd.DataFrame, spec: TableSpec, *, where: str) -> tuple[pd.DataFrame, np.ndarray]:
    """`standardize`, plus the position in `frame` (0-based data row) of every row it keeps."""
    frame = frame.set_axis(pd.RangeIndex(len(frame)), axis=0)
    if spec.query:
        try:
            frame = frame.query(spec.query)
        except Exception as exc:
            raise S2RBenchError(f"{where}: query {spec.query!r} failed ({exc}); fix `query` in the card") from None
    needed = [*spec.input, spec.target, *spec.conditions, *([spec.group] if spec.group else [])]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        cols = ", ".join(map(str, frame.columns[:12])) + (" ..." if len(frame.columns) > 12 else "")
        raise S2RBenchError(f"{where}: column(s) {missing} not in the table (columns: {cols}); fix the card's column names")
    parts = [frame[c].astype("string").str.strip() for c in spec.input]
    inputs = parts[0]
    for p in parts[1:]:
        inputs = inputs + PART_SEP + p
    target = pd.to_numeric(frame[spec.target], errors="coerce")
    non_numeric = frame[spec.target].notna() & target.isna()
    if non_numeric.any():
        row = int(np.flatnonzero(non_numeric.to_numpy())[0])
        raise S2RBenchError(
            f"{where}: target column {spec.target!r} has {int(non_numeric.sum())} non-numeric value(s) "
            f"(first at row {row}: {frame[spec.target].iloc[row]!r}); clean the table"
        )
    out = pd.DataFrame({"input": inputs.to_numpy(dtype=object), "target": target.to_numpy(dtype=float)})
    for c in spec.conditions:
        vals = pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float)
        if np.isnan(vals).any():
            raise S2RBenchError(f"{where}: condition column {c!r} has {int(np.isnan(vals).sum())} missing or non-numeric value(s); clean the table")
        out[c] = vals
    if spec.group:
        out["group"] = frame[spec.group].astype(str).to_numpy()
    missing_input = out["input"].isna()
    nan_target = np.isnan(out["target"].to_numpy())
    if nan_target.any() and not spec.drop_missing_target:
        raise S2RBenchError(
            f"{where}: target column {spec.target!r} has {int(nan_target.sum())} missing value(s); "
            "set drop_missing_target = true in the card to drop those rows, or fill them"
        )
    kept = ~nan_target & ~missing_input.to_numpy()
    out = out[kept].reset_index(drop=True)
    if out.empty:
        raise S2RBenchError(f"{where}: no rows left with a target in column {spec.target!r}; check the card's columns")
    return out, frame.index.to_numpy()[kept]


def fetch_file(card: TaskCard, key: str, data_dir: str | os.PathLike | None = None) -> Path:
    """The verified local copy of the card's file `key`; problems name the card and [files.KEY]."""
    entry = card.files[key]
    where = f"{_where(card.path, card.name)} [files.{key}]"
    if entry.url:
        try:
            return data_mod.fetch(entry, card_dir=card.card_dir, data_dir=data_dir)
        except S2RBenchError as exc:
            raise S2RBenchError(f"{where}: {exc}") from None
    # a user's own file (a `path`, no url): nothing to download, so a changed file is re-pinned, not deleted
    from dataclasses import replace

    try:
        path = data_mod.fetch(replace(entry, sha256=None), card_dir=card.card_dir, data_dir=data_dir)
    except S2RBenchError as exc:
        raise S2RBenchError(f"{where}: {exc}") from None
    if entry.sha256:
        got = data_mod.sha256_of(path)
        if got != entry.sha256.lower():
            raise S2RBenchError(
                f"{where}: local file {path} has sha256 {got[:12]}…, but the card expects {entry.sha256[:12]}…; if you "
                f"changed the file on purpose run `s2rbench task hash {card.path or card.name}`, otherwise delete it and "
                "put the original back"
            )
    return path


def read_side(card: TaskCard, side: str, data_dir: str | os.PathLike | None = None) -> tuple[pd.DataFrame, pd.DataFrame, Path]:
    """One side of a `tables` card: (raw table, standardized table with a `_row` column of raw positions, file)."""
    spec: TableSpec = getattr(card, side)
    path = fetch_file(card, spec.file, data_dir)
    where = f"{_where(card.path, card.name)} [{side}] ({path.name})"
    raw = data_mod.read_table(path, what=where)
    frame, rows = standardize_rows(raw, spec, where=where)
    return raw, frame.assign(_row=rows), path


def tables_loader(card: TaskCard, data_dir: str | os.PathLike | None = None) -> TaskTables:
    """The default loader: read the two files a card names and map their columns."""
    out = {}
    for side in ("sim", "real"):
        out[side] = read_side(card, side, data_dir)[1].drop(columns="_row")
    return TaskTables(sim=out["sim"], real=out["real"], conditions=card.sim.conditions)


def load_tables(card: TaskCard, data_dir: str | os.PathLike | None = None) -> TaskTables:
    """Load a card's two tables with the loader it names (``tables`` unless a plugin's)."""
    if card.loader == "tables":
        tables = tables_loader(card, data_dir)
    else:
        from .plugins import get_loader

        tables = get_loader(card.loader)(card, data_dir)
    for side in ("sim", "real"):
        frame = getattr(tables, side)
        if len(frame) == 0:
            raise S2RBenchError(f"task {card.name!r}: the {side} table is empty; check the card")
    return tables
