"""`s2rbench task init`: write a commented card from two tables, inferring what can be inferred.

Given the two tables it infers, from column names and content, the input column(s) and input kind
(SMILES with two attachment points: polymer; other SMILES: molecule; chemical formulas:
composition; a polymer and a solvent column: polymer-solvent; no text input but numeric columns:
features), the target of each side (numeric columns; words such as "calculated"/"experiment" and
shared words between the two names pick the pair; the other candidates are listed in a comment),
condition columns (temperature, pressure) present on both sides, the unit (from "name (unit)"), an
n grid that fits the simulated table, an m grid that fits the real one, and the sha256 of both
files. It never asks anything.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from .. import registry
from ..cards import files as data_mod
from ..cards.card import CARD_FORMAT, KIND_FEATURIZER, load_card
from ..contracts import protocol as proto
from ..contracts.featurizer import INPUT_KINDS, PART_SEP
from ..errors import S2RBenchError
from .guess import (
    _CONDITION_RE,
    _SIDE_WORDS,
    _UNCERTAINTY_RE,
    _is_id_like,
    _target_score,
    _words,
    guess_column_kind,
    numeric_columns,
    property_name,
    target_candidates,
    unit_of,
)

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

# ---------------------------------------------------------------------------------------------
# task init
# ---------------------------------------------------------------------------------------------


def _q(s: Any) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(str(s), ensure_ascii=False)


def _qlist(items: list[str]) -> str:
    return "[" + ", ".join(_q(i) for i in items) + "]"


@dataclass
class SideGuess:
    file_key: str
    input: list[str]
    kind: str | None
    target: str | None
    alternatives: list[str]
    conditions: list[str]
    why: str
    rows: int
    frame: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)


def _guess_inputs(frame: pd.DataFrame) -> tuple[list[str], str | None, str]:
    text_cols = [str(c) for c in frame.columns if str(c) not in numeric_columns(frame)]
    guesses = sorted((guess_column_kind(c, frame[c]) for c in text_cols), key=lambda g: -g.score)
    guesses = [g for g in guesses if g.kind]
    if not guesses:
        return [], None, "no column of SMILES or formulas"
    best = guesses[0]
    if best.kind == "polymer":
        solvent = [g for g in guesses[1:] if g.kind in ("molecule", "polymer") and "solv" in g.column.lower()]
        if solvent:
            return (
                [best.column, solvent[0].column],
                "polymer-solvent",
                f"column {best.column!r}: polymers, {solvent[0].column!r}: solvents",
            )
    return [best.column], best.kind, f"column {best.column!r}: {best.why}"


def _pick_targets(
    sim: pd.DataFrame, real: pd.DataFrame, exclude: dict[str, set[str]]
) -> dict[str, tuple[str | None, list[str]]]:
    cands = {s: target_candidates(f, exclude[s]) for s, f in (("sim", sim), ("real", real))}
    out: dict[str, tuple[str | None, list[str]]] = {}
    real_t = max(cands["real"], key=lambda c: _target_score(c, real, "real"), default=None)

    def pair_score(c: str) -> float:
        s = _target_score(c, sim, "sim")
        if real_t is not None:
            a = _words(c) - _SIDE_WORDS["sim"] - _SIDE_WORDS["real"]
            b = _words(real_t) - _SIDE_WORDS["sim"] - _SIDE_WORDS["real"]
            s += 2.0 * len(a & b) / max(1, len(a | b)) + 1.0 * (unit_of(c) == unit_of(real_t) != "")
            s += 0.5 * (c == real_t)
        return s

    sim_t = max(cands["sim"], key=pair_score, default=None)
    out["sim"] = (sim_t, [c for c in cands["sim"] if c != sim_t])
    out["real"] = (real_t, [c for c in cands["real"] if c != real_t])
    return out


def _canonical(featurizer_name: str, inputs: list[str]) -> list[str | None] | None:
    """The featurizer's canonical form of each input (None when it is not installed or fails)."""
    try:
        return list(registry.get_featurizer(featurizer_name).canonicalize(inputs))
    except Exception:  # a guess for the grids only; a missing or failing featurizer is reported by `task check`
        return None


def _m_grid(train: int) -> list[int]:
    grid = sorted({v for v in (train // 8, train // 4, train // 2, train) if v >= 5})
    if len(grid) < 3:  # a surface needs three m values for equivalence and the (n, m) law: small tables get smaller m
        grid = sorted({v for v in (max(1, train // 4), max(1, train // 2), train) if v >= 1})
    return grid or [max(1, train)]


def _quick_m_grid(grid: list[int]) -> list[int]:
    """At least three m values (the largest m of the grid among them) whenever the grid has three."""
    return grid[-3:] if len(grid) >= 3 else list(grid)


def _sizes(n: int) -> list[int]:
    if n < 8:
        return sorted({max(1, n // 2), n})
    lo = 16 if n >= 64 else max(2, n // 8)
    return proto.log_grid(lo, n, per_decade=4)


TEMPLATE_HEAD = """\
# s2rbench task card: a simulated table and a real table, and how to read them.
# Written by `s2rbench task init` on {today}{from_files}. Edit freely, then run
#   s2rbench task check {card_name}      (the data report: parse errors, overlap, sim-vs-real gap)
#   s2rbench task hash {card_name}       (after changing a data file: re-pins the sha256 below)
#   s2rbench run {card_name} --quick     (a first sweep)
format = {fmt}
name = {name}
version = "0.1.0"
title = {title}
description = \"\"\"
{description}
\"\"\"
# What the input column(s) hold: {kinds}.
input_kind = {kind}{kind_comment}
# Default featurizer (`s2rbench run --featurizer` overrides it); see `s2rbench list featurizers`.
featurizer = {featurizer}{featurizer_comment}
citations = []

[target]
name = {target_name}
unit = {unit}
# transform = "log10"  # for a target spanning decades: train and fit in log10 space (runs also store mae_original)
"""

TEMPLATE_SIDE = """
[{side}]
file = {file}
input = {input}{input_comment}
target = {target}{target_comment}
{alternatives}{conditions}# drop_missing_target = true  # drop rows with an empty target instead of refusing the table
{group}# scale = 1.0                  # a declared unit conversion of this side: value * scale + offset
# offset = 0.0
{aggregate}# [[{side}.filter]]               # keep only the rows where `column op value` holds
# column = "temperature"         #   (op: == != < <= > >= in not_in; one table per condition)
# op = ">"
# value = 0
"""

AGGREGATE_COMMENT = (
    '# aggregate = "keep"           # repeated simulated inputs: keep every row, or "mean", "median", "min", "max"\n'
)

TEMPLATE_FILE = """
[files.{key}]
path = {path}{sha}
# url = "https://..."  # where others can download it (keep sha256 with it)
# licence = ""
"""

TEMPLATE_PROTOCOL = """
[protocol]
split = {split}        # "random" or "group": "group" sends whole groups (the [real] `group` column, else whole inputs) to the test split{split_comment}
test_fraction = 0.2
sizes = {sizes}  # the n grid: simulated pretraining set sizes{sizes_comment}
quick_sizes = {quick_sizes}
trials = 100
quick_trials = 5
trial_block = 25
seed = 0
# m = 100               # real fine-tuning rows of a plain run (default: all the rows the test split leaves;
#                         `s2rbench task check` prints how many, for random and group splits alike)
m_grid = {m_grid}     # m values of `s2rbench run --surface`; the largest must fit the real table
quick_m_grid = {quick_m_grid}
"""


@dataclass
class InitResult:
    path: Path
    guesses: dict[str, Any]
    notes: list[str]


def init_card(
    name: str,
    sim: str | os.PathLike | None = None,
    real: str | os.PathLike | None = None,
    *,
    out: str | os.PathLike | None = None,
    force: bool = False,
) -> InitResult:
    """Write a commented card NAME.toml; with both tables given, fill in what can be inferred."""
    if not NAME_RE.match(name):
        raise S2RBenchError(
            f"task name {name!r} must be letters, digits, '.', '_' or '-' (e.g. polymer-tg); choose another NAME"
        )
    path = Path(out) if out else Path(f"{name}.toml")
    if path.suffix != ".toml":
        path = path / f"{name}.toml" if path.is_dir() else path.with_suffix(".toml")
    where = f"task card {path}"
    if path.exists() and not force:
        raise S2RBenchError(f"{where} already exists; pass --force to overwrite it, or choose another --out")
    if (sim is None) != (real is None):
        raise S2RBenchError("task init: give both --sim and --real (or neither, for a template to fill in)")
    reg = registry.get_registry()
    if name in reg.tasks:
        info = registry.plugin_of("tasks", name)
        raise S2RBenchError(
            f"task name {name!r} is already registered ({'plugin ' + repr(info.name) if info else 'another card'}); "
            "choose another NAME"
        )
    card_dir = path.parent.resolve()
    notes: list[str] = []
    today = date.today().isoformat()
    if sim is None:
        text = _template(name, path, today)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        load_card(path)
        return InitResult(path=path, guesses={}, notes=["template written: fill in the files, columns and grids"])

    files = {"sim": Path(sim), "real": Path(real)}
    frames = {}
    for side, f in files.items():
        if not f.is_file():
            raise S2RBenchError(
                f"task init: --{side} file {f} does not exist; give the path of your {side} table (CSV or Parquet)"
            )
        real_path = f.resolve()
        if card_dir != real_path and card_dir not in real_path.parents:
            raise S2RBenchError(
                f"task init: --{side} file {f} is outside the card's folder {card_dir} (a card's `path` may not leave it); "
                f"write the card next to the tables (--out {real_path.parent / (name + '.toml')}) or move the tables into {card_dir}"
            )
        frames[side] = data_mod.read_table(f, what=f"task init --{side}")
    same_file = files["sim"].resolve() == files["real"].resolve()
    sides: dict[str, SideGuess] = {}
    for side, frame in frames.items():
        cols, kind, why = _guess_inputs(frame)
        sides[side] = SideGuess(
            file_key="data" if same_file else side,
            input=cols,
            kind=kind,
            target=None,
            alternatives=[],
            conditions=[],
            why=why,
            rows=len(frame),
            frame=frame,
        )
    kinds = {s.kind for s in sides.values()}
    if None in kinds and kinds != {None}:
        known = next(s for s in sides.values() if s.kind)
        for s in sides.values():
            if s.kind is None:
                notes.append(
                    f"--{next(k for k, v in sides.items() if v is s)}: no input column recognised; set `input` by hand"
                )
        kind = known.kind
    elif kinds == {None}:
        kind = "features"
    elif len(kinds) > 1:
        raise S2RBenchError(
            f"task init: the simulated table holds {sides['sim'].kind} inputs ({sides['sim'].why}) but the real table holds "
            f"{sides['real'].kind} inputs ({sides['real'].why}); both tables must hold the same kind of input: convert one of them"
        )
    else:
        kind = kinds.pop()
    # conditions: temperature/pressure-like numeric columns present on both sides
    conds = {s: [c for c in numeric_columns(f) if _CONDITION_RE.search(c)] for s, f in frames.items()}
    n_cond = min(len(conds["sim"]), len(conds["real"]))
    for s in sides:
        sides[s].conditions = conds[s][:n_cond]
        if len(conds[s]) > n_cond:
            notes.append(
                f"[{s}] column(s) {conds[s][n_cond:]} look like conditions but the other table has no counterpart; left out"
            )
    exclude = {s: set(sides[s].input) | set(sides[s].conditions) for s in sides}
    if kind == "features":
        shared = [c for c in numeric_columns(frames["sim"]) if c in set(numeric_columns(frames["real"]))]
        picks = _pick_targets(frames["sim"], frames["real"], exclude)
        t_sim, t_real = picks["sim"][0], picks["real"][0]
        feats = [
            c
            for c in shared
            if c not in (t_sim, t_real)
            and c not in exclude["sim"] | exclude["real"]
            and not _is_id_like(c, frames["sim"][c])
            and not _UNCERTAINTY_RE.search(c)
        ]
        if not feats:
            raise S2RBenchError(
                "task init: found no input column (SMILES, formulas) and no numeric feature columns shared by both tables; "
                "name the input columns in the card by hand (run `s2rbench task init NAME` for a template)"
            )
        for s in sides:
            sides[s].input = feats
            sides[
                s
            ].why = f"no SMILES or formula column; {len(feats)} numeric columns shared by both tables are the features"
            exclude[s] |= set(feats)
    picks = _pick_targets(frames["sim"], frames["real"], exclude)
    for s in sides:
        sides[s].target, sides[s].alternatives = picks[s]
        if sides[s].target is None:
            notes.append(f"[{s}] no numeric target column found; set `target` by hand")
    featurizer = KIND_FEATURIZER.get(kind, "")
    # grid sizes from the rows that have a target (and, if the featurizer is installed, an input it reads)
    counts = {}
    real_inputs: list[str | None] = []
    for s, g in sides.items():
        f = g.frame
        ok = pd.to_numeric(f[g.target], errors="coerce").notna() if g.target else pd.Series(True, index=f.index)
        if g.input:
            ok &= f[g.input].notna().all(axis=1)
        rows = f[ok]
        valid = None
        if (
            g.input and featurizer and (s == "real" or len(rows) <= 5000)
        ):  # the m grid must fit exactly; the n grid need not
            joined = rows[g.input[0]].astype(str).str.strip()
            for c in g.input[1:]:
                joined = joined + PART_SEP + rows[c].astype(str).str.strip()
            canon = _canonical(featurizer, joined.tolist())
            valid = None if canon is None else sum(c is not None for c in canon)
            if s == "real":
                real_inputs = canon if canon is not None else joined.tolist()
        counts[s] = valid if valid is not None else int(ok.sum())
    n_sim, n_real = max(1, counts["sim"]), counts["real"]
    test = proto.test_size(max(n_real, 2), 0.2)
    train = max(1, n_real - test)
    copies = Counter(c for c in real_inputs if c is not None)
    repeated = {k: v for k, v in copies.items() if v > 1}
    split, split_comment = "random", ""
    if repeated:
        # whole inputs go to the test split: it may take up to (largest copies - 1) rows more than test_fraction
        train = max(1, train - (max(repeated.values()) - 1))
        what = f"{len(repeated)} real input(s) repeat ({sum(repeated.values())} rows, up to {max(repeated.values())} copies of one)"
        if kind in ("polymer-solvent", "features"):  # a group split would group by the first part/column only
            split_comment = (
                f"\n# {what}: copies of one input stay on one side of every split (a random split keeps them together)"
            )
        else:
            split = "group"
            split_comment = (
                f"\n# {what}: proposed a group split, so that copies of one input never straddle train and test"
            )
        notes.append(
            what + ('; proposed split = "group"' if split == "group" else "; they stay on one side of every split")
        )
    draft = _Draft(
        name, path, today, kind, featurizer, sides, files, card_dir, n_sim, train, same_file, split, split_comment
    )
    text = _filled(draft)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    load_card(path)  # what init writes must parse
    guesses = {
        "input_kind": kind,
        "featurizer": featurizer,
        **{
            s: {
                "input": g.input,
                "target": g.target,
                "conditions": g.conditions,
                "why": g.why,
                "alternatives": g.alternatives,
            }
            for s, g in sides.items()
        },
    }
    return InitResult(path=path, guesses=guesses, notes=notes)


def _kinds_line() -> str:
    return ", ".join(k for k in INPUT_KINDS if k != "vector")


def _featurizers_for(kind: str) -> list[str]:
    try:
        return sorted(n for n, f in registry.get_registry().featurizers.items() if f.input_kind == kind)
    except Exception:
        return []


def _template(name: str, path: Path, today: str) -> str:
    head = TEMPLATE_HEAD.format(
        today=today,
        from_files="",
        card_name=path.name,
        fmt=CARD_FORMAT,
        name=_q(name),
        title=_q(""),
        description="What is simulated (method, conditions), what is measured, and where both tables come from.",
        kinds=_kinds_line(),
        kind=_q("polymer"),
        kind_comment="  # polymer repeat units; change to your inputs",
        featurizer=_q("polymer-rdkit"),
        featurizer_comment="",
        target_name=_q("property"),
        unit=_q(""),
    )
    body = ""
    for side, col_hint in (("sim", "simulated"), ("real", "measured")):
        body += TEMPLATE_SIDE.format(
            side=side,
            file=_q(side),
            input=_q("smiles"),
            input_comment=f"  # the input column of the {col_hint} table",
            target=_q("value"),
            target_comment=f"  # the {col_hint} property (numeric)",
            conditions='# conditions = ["temperature"]  # numeric columns passed to the model as extra inputs (same order on both sides)\n',
            alternatives="",
            group='# group = "polymer"          # rows of one group go to the same side of the test split\n'
            if side == "real"
            else "",
            aggregate=AGGREGATE_COMMENT if side == "sim" else "",
        )
    for side in ("sim", "real"):
        body += TEMPLATE_FILE.format(
            key=side, path=_q(f"{side}.csv"), sha='\n# sha256 = ""  # written by `s2rbench task hash`'
        )
    body += TEMPLATE_PROTOCOL.format(
        sizes=_qint([16, 32, 64, 128, 256, 512, 1024]),
        sizes_comment=" (at most the simulated rows)",
        quick_sizes=_qint([16, 128, 1024]),
        m_grid=_qint([25, 50, 100]),
        quick_m_grid=_qint([25, 50, 100]),
        split=_q("random"),
        split_comment="",
    )
    return head + body


def _qint(v: list[int]) -> str:
    return "[" + ", ".join(str(int(x)) for x in v) + "]"


@dataclass(frozen=True)
class _Draft:
    """What `init_card` inferred from the two tables, from which `_filled` writes the card."""

    name: str
    path: Path
    today: str
    kind: str
    featurizer: str
    sides: dict[str, SideGuess]
    files: dict[str, Path]
    card_dir: Path
    n_sim: int
    train: int
    same_file: bool
    split: str = "random"
    split_comment: str = ""


def _filled(d: _Draft) -> str:
    """The text of the card that `init_card` inferred from the two tables."""
    feats = _featurizers_for(d.kind)
    feat_comment = ""
    if d.featurizer and feats and d.featurizer not in feats:
        feat_comment = f"  # not installed here; installed for {d.kind}: {', '.join(feats)}"
    elif len(feats) > 1:
        feat_comment = f"  # for {d.kind} inputs also: {', '.join(f for f in feats if f != d.featurizer)}"
    elif not feats:
        feat_comment = f"  # no featurizer for {d.kind} inputs is installed here"
    t_real = d.sides["real"].target or d.sides["sim"].target or "value"
    head = TEMPLATE_HEAD.format(
        today=d.today,
        from_files=f" from {d.files['sim'].name} and {d.files['real'].name}",
        card_name=d.path.name,
        fmt=CARD_FORMAT,
        name=_q(d.name),
        title=_q(f"{property_name(t_real)}: simulation ({d.files['sim'].name}) to experiment ({d.files['real'].name})"),
        description=f"Simulated: {d.sides['sim'].rows} rows of {d.files['sim'].name}. Real: {d.sides['real'].rows} rows of {d.files['real'].name}.\n"
        "Say what was simulated (method, settings) and measured, and cite the sources.",
        kinds=_kinds_line(),
        kind=_q(d.kind),
        kind_comment=f"  # guessed: {d.sides['sim'].why}",
        featurizer=_q(d.featurizer),
        featurizer_comment=feat_comment,
        target_name=_q(property_name(t_real)),
        unit=_q(unit_of(t_real) or unit_of(d.sides["sim"].target or "")),
    )
    body = ""
    for side, g in d.sides.items():
        inp = _q(g.input[0]) if len(g.input) == 1 else (_qlist(g.input) if g.input else _q("FILL_IN"))
        alts = ""
        if g.alternatives:
            alts = f"# other numeric columns that could be the target: {', '.join(g.alternatives[:12])}{' ...' if len(g.alternatives) > 12 else ''}\n"
        units = {k: unit_of(v.target or "") for k, v in d.sides.items()}
        if units["sim"] and units["real"] and units["sim"] != units["real"]:
            other = "real" if side == "sim" else "sim"
            alts += (
                f"unit = {_q(units[side])}  # differs from [{other}] unit {units[other]!r}: declare the conversion"
                + (" (scale = ..., offset = ...: value·scale + offset in the real unit)" if side == "sim" else "")
                + "\n"
            )
        cond = (
            f"conditions = {_qlist(g.conditions)}  # passed to the model as extra inputs (same order on both sides)\n"
            if g.conditions
            else '# conditions = ["temperature"]  # numeric columns passed to the model as extra inputs (same order on both sides)\n'
        )
        body += TEMPLATE_SIDE.format(
            side=side,
            file=_q(g.file_key),
            input=inp,
            input_comment="" if g.input else "  # fill in: the input column",
            target=_q(g.target or "FILL_IN"),
            target_comment="" if g.target else "  # fill in: the numeric target column",
            conditions=cond,
            alternatives=alts,
            group='# group = "polymer"          # rows of one group go to the same side of the test split\n'
            if side == "real"
            else "",
            aggregate=AGGREGATE_COMMENT if side == "sim" else "",
        )
    keys = {"data": d.files["sim"]} if d.same_file else d.files
    for key, f in keys.items():
        rel = os.path.relpath(f.resolve(), d.card_dir)
        body += TEMPLATE_FILE.format(
            key=key, path=_q(Path(rel).as_posix()), sha=f"\nsha256 = {_q(data_mod.sha256_of(f))}"
        )
    sizes = _sizes(d.n_sim)
    quick = sorted(set(sizes[::2]) | {sizes[-1]})
    grid = _m_grid(d.train)
    body += TEMPLATE_PROTOCOL.format(
        sizes=_qint(sizes),
        sizes_comment=f" (the simulated table has {d.n_sim} usable rows)",
        quick_sizes=_qint(quick),
        m_grid=_qint(grid),
        quick_m_grid=_qint(_quick_m_grid(grid)),
        split=_q(d.split),
        split_comment=d.split_comment,
    )
    return head + body
