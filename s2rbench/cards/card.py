"""Task cards: the versioned TOML description of a Sim2Real pair, parsed and validated in one place.

Built-in and user tasks share one card format (``format = 1``). A card names its data files (URL +
sha256, or a local path), which columns of the simulated and the real table hold the input, the
target and any condition columns (temperature...), the input kind, the default featurizer and the
protocol (split, n grid, trials, m). The card's hash is recorded with every result.

Why one schema, here: the schema used to live beside `task check` only, so a misspelt key was
reported by `check` and silently ignored by `run`, and `quick_trials = "five"` was a traceback.
Now `parse_card` applies THE schema (``s2rbench/schemas/card.schema.json``, JSON Schema checked
with jsonschema) on every load, by every command: unknown keys (with "did you mean"), wrong
types and out-of-range values are one line naming the card, the key and the fix (the schema's
``x-expect`` text). Cross-field rules a schema cannot say (declared files, matching sides,
increasing grids) follow it.

Why a card is data, never code: `query` went to `pandas.DataFrame.query`, which evaluates method
calls (a card wrote a file when it was merely listed). Rows are now selected by declarative
``[[sim.filter]]`` tables ``{column, op, value}`` compared with plain pandas comparisons; a
``query`` is refused with the filter to write instead. A card file is bounded in size before it is
read (`MAX_CARD_BYTES`), and binary or non-UTF-8 files are refused. Paths and urls are checked in
`files` (a ``path`` stays in the card's folder or the mirror; a ``url`` is public https).
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

from ..contracts.featurizer import INPUT_KINDS
from ..errors import S2RBenchError
from .files import FileEntry, relative_path_problem, url_problem

CARD_FORMAT = 1


@dataclass(frozen=True)
class Filter:
    """One declarative row filter of a side: keep the rows where `column op value` holds."""

    column: str
    op: str
    value: Any

    def describe(self) -> str:
        return f"{self.column} {self.op} {self.value!r}"


@dataclass(frozen=True)
class TableSpec:
    """Which columns of one table hold the input, the target, conditions and an optional group."""

    file: str
    input: tuple[str, ...]
    target: str
    conditions: tuple[str, ...] = ()
    group: str | None = None
    drop_missing_target: bool = False
    filters: tuple[Filter, ...] = ()
    input_kind: str = ""  # the side's declared input kind (the card's `input_kind` unless the side overrides it)
    unit: str = ""  # the side's declared unit ([sim] unit / [real] unit; the [target] unit when not given)
    scale: float = 1.0  # declared conversion into the card's unit: value * scale + offset
    offset: float = 0.0
    aggregate: str = "keep"  # [sim] only: how repeated simulated inputs are combined (keep, mean, median, min, max)

    @property
    def converts(self) -> bool:
        return self.scale != 1.0 or self.offset != 0.0


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
    transform: str = "none"  # [target] transform: the space models train and laws are fitted in (none, log10, log)

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


def _where(path: Path | str | None, name: Any = None) -> str:
    if path:
        return f"task card {path}"
    return f"task card {name!r}" if isinstance(name, str) else "task card"


# ---------------------------------------------------------------------------------------------
# THE schema (s2rbench/schemas/card.schema.json), applied on every load by every command
# ---------------------------------------------------------------------------------------------

#: A card is a few kilobytes; anything larger is refused before it is read into memory.
MAX_CARD_BYTES = 1 << 20

FILTER_OPS = ("==", "!=", "<", "<=", ">", ">=", "in", "not_in")
AGGREGATES = ("keep", "mean", "median", "min", "max")
TRANSFORMS = ("none", "log10", "log")

_SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "card.schema.json"


@functools.lru_cache(maxsize=1)
def card_schema() -> dict[str, Any]:
    """The card schema (JSON Schema, draft 2020-12); its `x-expect` texts are the fixes messages name."""
    return json.loads(_SCHEMA_PATH.read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def _validator():
    import jsonschema

    return jsonschema.Draft202012Validator(card_schema())


def _known(section: str) -> set[str]:
    sch = card_schema()
    defs = sch["$defs"]
    table = {
        "top level": sch,
        "target": sch["properties"]["target"],
        "protocol": sch["properties"]["protocol"],
        "side": defs["side"],
        "files": defs["file"],
        "filter": defs["filter"],
    }[section]
    return set(table["properties"])


#: The keys a card may use, per table (derived from the schema).
KNOWN_KEYS = {k: _known(k) for k in ("top level", "target", "side", "files", "protocol", "filter")}


def _loc(path: list[Any]) -> tuple[str, str]:
    """(table, key) of a location in the card: ['protocol', 'sizes', 1] -> ('[protocol]', 'sizes[1]')."""
    parts = [str(p) if not isinstance(p, int) else p for p in path]
    if not parts:
        return "[top level]", ""
    if len(parts) == 1:
        return "[top level]", str(parts[0])
    head = parts[0]
    if head == "files":
        if len(parts) == 2:
            return "[files]", str(parts[1])
        return f"[files.{parts[1]}]", "".join(
            f"[{p}]" if isinstance(p, int) else (str(p) if i == 0 else f".{p}") for i, p in enumerate(parts[2:])
        )
    if head in ("sim", "real") and len(parts) >= 3 and parts[1] == "filter" and isinstance(parts[2], int):
        return f"[[{head}.filter]] #{parts[2] + 1}", ".".join(str(p) for p in parts[3:])
    key = str(parts[1]) + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts[2:])
    return f"[{head}]", key


def _show(value: Any) -> str:
    text = (
        json.dumps(value, default=str, ensure_ascii=False)
        if not isinstance(value, (dict, list))
        else ("a table" if isinstance(value, dict) else json.dumps(value, default=str, ensure_ascii=False))
    )
    return text if len(text) <= 40 else text[:37] + "..."


def _expect(error) -> str:
    sch = error.schema if isinstance(error.schema, dict) else {}
    if "x-expect" in sch:
        return sch["x-expect"]
    if error.validator == "type":
        return f"a {error.validator_value}"
    return "a valid value"


def _schema_message(error, where: str) -> str:
    path = list(error.absolute_path)
    table, key = _loc(path)
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        bad = extra[0] if extra else "?"
        known = sorted(error.schema.get("properties", {}))
        near = difflib.get_close_matches(str(bad), known, n=1)
        hint = f"did you mean `{near[0]}`?" if near else f"known keys: {', '.join(known)}"
        where_in = _loc([*path, bad])[0] if path else "[top level]"
        return f"{where}: unknown key `{bad}` in {where_in}; {hint}"
    if error.validator == "required":
        missing = [k for k in error.validator_value if k not in (error.instance or {})]
        return f"{where}: {table}{(' ' + key) if key else ''} has no `{missing[0] if missing else '?'}`; write it as {_expect(error)}"
    value = _show(error.instance)
    name = (key if table == "[top level]" else f"{table} {key}") if key else table
    return f"{where}: {name} = {value} is not valid: expected {_expect(error)}; fix it in the card"


def _non_finite(value: Any, path: list[Any]) -> list[Any] | None:
    if isinstance(value, float) and not math.isfinite(value):
        return path
    if isinstance(value, dict):
        for k, v in value.items():
            found = _non_finite(v, [*path, k])
            if found is not None:
                return found
    if isinstance(value, list):
        for i, v in enumerate(value):
            found = _non_finite(v, [*path, i])
            if found is not None:
                return found
    return None


_SIMPLE_QUERY = re.compile(r"^\s*`?([A-Za-z_][A-Za-z0-9_ ]*?)`?\s*(==|!=|<=|>=|<|>)\s*(.+?)\s*$")


def _query_hint(side: str, query: Any) -> str:
    """How to write an old `query` as [[SIDE.filter]] tables (a direct translation when it is one comparison)."""
    m = _SIMPLE_QUERY.match(str(query)) if isinstance(query, str) else None
    if m and "(" not in query and " and " not in query and " or " not in query:
        col, op, val = m.groups()
        v = val.strip()
        try:
            float(v)
        except ValueError:
            v = json.dumps(v.strip("'\""))
        return f'[[{side}.filter]] column = "{col.strip()}", op = "{op}", value = {v}'
    return (
        f'one [[{side}.filter]] table per condition, e.g. [[{side}.filter]] column = "temperature", op = ">", value = 0'
    )


def validate_raw(raw: Any, where: str) -> None:
    """Apply the card schema; the first problem is one line naming the card, the key and the fix."""
    if not isinstance(raw, dict):
        raise S2RBenchError(f"{where} is not a TOML table; write `key = value` lines (see `s2rbench task init`)")
    fmt = raw.get("format", CARD_FORMAT)
    if isinstance(fmt, int) and not isinstance(fmt, bool) and fmt > CARD_FORMAT:
        raise S2RBenchError(
            f"{where} is in card format {fmt}, newer than this s2rbench understands ({CARD_FORMAT}); upgrade s2rbench"
        )
    for side in ("sim", "real"):
        t = raw.get(side)
        if isinstance(t, dict) and "query" in t:
            raise S2RBenchError(
                f"{where}: [{side}] `query` is no longer supported (a pandas query can run code); rewrite it as "
                f"{_query_hint(side, t['query'])}"
            )
    bad = _non_finite(raw, [])
    if bad is not None:
        table, key = _loc(bad)
        raise S2RBenchError(f"{where}: {table} {key} is not a finite number; write a plain number")
    errors = list(_validator().iter_errors(raw))
    if errors:
        # the shallowest, most relevant error: a wrong table beats the keys inside it
        first = min(
            errors,
            key=lambda e: (
                len(e.absolute_path),
                [str(p) for p in e.absolute_path],
                e.validator != "additionalProperties",
            ),
        )
        raise S2RBenchError(_schema_message(first, where))


def unknown_keys(raw: dict[str, Any], where: str) -> None:
    """Refuse keys (and values) the card format does not know: the card schema (kept under its old name)."""
    validate_raw(raw, where)


# ---------------------------------------------------------------------------------------------
# From a parsed card to a TaskCard
# ---------------------------------------------------------------------------------------------


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


#: The one map from input kind to the featurizer a new card gets (`task init` writes it into the card).
KIND_FEATURIZER = {
    "composition": "magpie",
    "polymer": "polymer-rdkit",
    "molecule": "molecule-rdkit",
    "polymer-solvent": "polymer-solvent",
    "features": "columns",
    "vector": "vector",
}

#: Input kinds whose featurizer a card may leave out (they need no chemistry: the columns are the features).
DEFAULT_FEATURIZER = {kind: KIND_FEATURIZER[kind] for kind in ("features",)}


def _input_kind(raw: dict[str, Any], where: str) -> str:
    """The card's input kind: top-level `input_kind`, or the one both [sim] and [real] declare."""
    sides = {s: (raw.get(s) or {}).get("input_kind") for s in ("sim", "real")}
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
    return str(kind)


def _filters(section: str, t: dict[str, Any], where: str) -> tuple[Filter, ...]:
    out = []
    for i, f in enumerate(t.get("filter") or ()):
        at = f"{where}: [[{section}.filter]] #{i + 1}"
        op, value = f["op"], f["value"]
        if op in ("in", "not_in"):
            if not isinstance(value, list) or not value:
                raise S2RBenchError(
                    f'{at} op = {op!r} needs a non-empty list as value (e.g. value = ["a", "b"]); fix it in the card'
                )
        elif isinstance(value, list):
            raise S2RBenchError(f'{at} op = {op!r} compares with one value, not a list; use op = "in" for a list')
        elif op in ("<", "<=", ">", ">=") and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise S2RBenchError(f"{at} op = {op!r} needs a number as value (got {_show(value)}); fix it in the card")
        out.append(
            Filter(column=str(f["column"]), op=str(op), value=tuple(value) if isinstance(value, list) else value)
        )
    return tuple(out)


def _increasing(values: tuple[int, ...], where: str, key: str) -> None:
    if list(values) != sorted(set(values)):
        raise S2RBenchError(f"{where}: [protocol] {key} must be increasing and distinct; got {list(values)}")


def parse_card(raw: dict[str, Any], path: Path | None = None) -> TaskCard:
    """Validate a parsed TOML card against THE schema, then its cross-field rules; one line per problem."""
    where = _where(path, raw.get("name") if isinstance(raw, dict) else None)
    validate_raw(raw, where)
    name = str(_req(raw, "name", where, "top level"))
    kind = _input_kind(raw, where)
    files: dict[str, FileEntry] = {}
    for key, entry in (raw.get("files") or {}).items():
        if not entry.get("url") and not entry.get("path"):
            raise S2RBenchError(f"{where}: [files.{key}] needs a `url` (with `sha256`) or a local `path`")
        if entry.get("url"):
            problem = url_problem(entry["url"])
            if problem:
                raise S2RBenchError(f"{where}: [files.{key}] url {_show(entry['url'])} is refused: {problem}")
        for k in ("path", "mirror"):
            if entry.get(k):
                problem = relative_path_problem(entry[k])
                if problem:
                    inside = "the card's folder" if k == "path" else "the data mirror"
                    raise S2RBenchError(
                        f"{where}: [files.{key}] {k} {_show(entry[k])} {problem}; give a path inside {inside}"
                    )
        files[key] = FileEntry(
            key=key,
            url=entry.get("url"),
            sha256=entry.get("sha256"),
            mirror=entry.get("mirror"),
            path=entry.get("path"),
            licence=entry.get("licence") or entry.get("license"),
            citation=entry.get("citation"),
        )
    loader = str(raw.get("loader", "tables"))
    target = raw.get("target") or {}
    card_unit = str(target.get("unit", ""))

    def table(section: str) -> TableSpec:
        t = raw.get(section)
        if not isinstance(t, dict):
            raise S2RBenchError(f"{where}: no [{section}] table; add one naming file, input and target columns")
        file_key = str(_req(t, "file", where, section)) if loader == "tables" else str(t.get("file", ""))
        if loader == "tables" and file_key not in files:
            raise S2RBenchError(
                f"{where}: [{section}] file {file_key!r} is not declared under [files]; add [files.{file_key}]"
            )
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
            input=_as_tuple(_req(t, "input", where, section))
            if loader == "tables"
            else _as_tuple(t.get("input", "input")),
            target=str(_req(t, "target", where, section)) if loader == "tables" else str(t.get("target", "target")),
            conditions=_as_tuple(t.get("conditions")),
            group=t.get("group"),
            drop_missing_target=bool(t.get("drop_missing_target", False)),
            filters=_filters(section, t, where),
            input_kind=kind,
            unit=str(t.get("unit", card_unit)),
            scale=float(t.get("scale", 1.0)),
            offset=float(t.get("offset", 0.0)),
            aggregate=str(t.get("aggregate", "keep")),
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
    _increasing(sizes, where, "sizes")
    quick_sizes = tuple(int(s) for s in p.get("quick_sizes", ()))
    _increasing(quick_sizes, where, "quick_sizes")
    for key in ("m_grid", "quick_m_grid"):
        _increasing(tuple(int(s) for s in p.get(key, ())), where, key)
    protocol = Protocol(
        split=str(p.get("split", "random")),
        test_fraction=float(p.get("test_fraction", 0.2)),
        sizes=sizes,
        quick_sizes=quick_sizes or sizes[:: max(1, len(sizes) // 4)],
        trials=int(p.get("trials", 100)),
        quick_trials=int(p.get("quick_trials", 5)),
        m=int(p["m"]) if p.get("m") else None,
        m_grid=tuple(int(s) for s in p.get("m_grid", ())),
        quick_m_grid=tuple(int(s) for s in p.get("quick_m_grid", ())),
        trial_block=int(p.get("trial_block", 25)),
        seed=int(p.get("seed", 0)),
    )
    return TaskCard(
        name=name,
        version=str(raw.get("version", "0")),
        input_kind=kind,
        featurizer=str(
            raw.get("featurizer") or DEFAULT_FEATURIZER.get(kind) or _req(raw, "featurizer", where, "top level")
        ),
        target_name=str(target.get("name", real.target)),
        unit=card_unit,
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
        transform=str(target.get("transform", "none")),
    )


def read_card_text(path: Path) -> str:
    """The card's text: size bounded before reading, binary and non-UTF-8 files refused in one line."""
    where = f"task card {path}"
    try:
        if not path.is_file():
            raise S2RBenchError(
                f"{where} does not exist (or is not a file); check the path or run `s2rbench task init`"
            )
        with open(path, "rb") as fh:
            data = fh.read(MAX_CARD_BYTES + 1)
    except OSError as exc:
        raise S2RBenchError(
            f"{where} cannot be read ({exc.strerror or type(exc).__name__}); check its permissions"
        ) from None
    if len(data) > MAX_CARD_BYTES:
        raise S2RBenchError(
            f"{where} is larger than {MAX_CARD_BYTES >> 10} KiB, far too large for a card; a card names its tables, "
            "it does not hold them"
        )
    if b"\x00" in data:
        raise S2RBenchError(
            f"{where} is a binary file, not a TOML card; point at the .toml card (see `s2rbench task init`)"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise S2RBenchError(
            f"{where} is not UTF-8 text (byte {exc.start}, line {line}); save the card as UTF-8"
        ) from None


def load_card(path: str | os.PathLike) -> TaskCard:
    path = Path(path)
    text = read_card_text(path)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise S2RBenchError(f"task card {path} is not valid TOML ({exc}); fix the syntax") from None
    except (RecursionError, MemoryError, ValueError):
        raise S2RBenchError(f"task card {path} is not valid TOML (nested too deeply); fix the syntax") from None
    return parse_card(raw, path=path)
