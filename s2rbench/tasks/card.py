"""Task cards: the versioned TOML description of a Sim2Real pair, parsed and validated in one place.

Built-in and user tasks share one card format (``format = 1``). A card names its data files (URL +
sha256, or a local path), which columns of the simulated and the real table hold the input, the
target and any condition columns (temperature...), the input kind, the default featurizer and the
protocol (split, n grid, trials, m). The card's hash is recorded with every result.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .files import FileEntry
from ..errors import S2RBenchError
from ..contracts.featurizer import INPUT_KINDS

CARD_FORMAT = 1

#: The keys a card may use, per table; `check_card` names any other key (a typo is silently ignored otherwise).
KNOWN_KEYS = {
    "top level": {"format", "name", "version", "title", "description", "input_kind", "featurizer", "loader", "citations",
                  "options", "target", "sim", "real", "files", "protocol"},
    "target": {"name", "unit"},
    "side": {"file", "input", "target", "conditions", "group", "drop_missing_target", "query", "input_kind"},
    "files": {"url", "sha256", "mirror", "path", "licence", "license", "citation"},
    "protocol": {"split", "test_fraction", "sizes", "quick_sizes", "trials", "quick_trials", "m", "m_grid", "quick_m_grid",
                 "trial_block", "seed"},
}



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
    files: dict[str, FileEntry]
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
    def where(self) -> str:
        """How messages name this card: its file, or its name."""
        return _where(self.path, self.name)

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
    files: dict[str, FileEntry] = {}
    for key, entry in (raw.get("files") or {}).items():
        if not isinstance(entry, dict):
            raise S2RBenchError(f"{where}: [files.{key}] must be a table with url/sha256 or path")
        if not entry.get("url") and not entry.get("path"):
            raise S2RBenchError(f"{where}: [files.{key}] needs a `url` (with `sha256`) or a local `path`")
        sha = entry.get("sha256")
        if sha is not None and (len(str(sha)) != 64 or any(c not in "0123456789abcdefABCDEF" for c in str(sha))):
            raise S2RBenchError(f"{where}: [files.{key}] sha256 {sha!r} is not 64 hex digits; run `s2rbench task hash {path or name}`")
        files[key] = FileEntry(
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



def unknown_keys(raw: dict[str, Any], where: str) -> None:
    """Refuse keys a card format does not know (a typo would otherwise be ignored silently)."""

    def refuse(key: str, section: str, known: set[str]) -> None:
        near = difflib.get_close_matches(key, sorted(known), n=1)
        hint = f"did you mean `{near[0]}`?" if near else f"known keys: {', '.join(sorted(known))}"
        raise S2RBenchError(f"{where}: unknown key `{key}` in [{section}]; {hint}")

    for k in raw:
        if k not in KNOWN_KEYS["top level"]:
            refuse(k, "top level", KNOWN_KEYS["top level"])
    for section, known in (("target", KNOWN_KEYS["target"]), ("sim", KNOWN_KEYS["side"]), ("real", KNOWN_KEYS["side"]),
                           ("protocol", KNOWN_KEYS["protocol"])):
        t = raw.get(section)
        if isinstance(t, dict):
            for k in t:
                if k not in known:
                    refuse(k, section, known)
    for fk, entry in (raw.get("files") or {}).items():
        if isinstance(entry, dict):
            for k in entry:
                if k not in KNOWN_KEYS["files"]:
                    refuse(k, f"files.{fk}", KNOWN_KEYS["files"])
