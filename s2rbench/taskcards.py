"""Bring your own Sim2Real pair: write a card from two tables, pin its files, check it before training.

A user task is exactly what a built-in task is: a TOML card (`s2rbench.tasks`) plus a simulated and
a real table. Three functions back the ``s2rbench task`` commands:

`init_card`
    Writes a commented card. Given the two tables it infers, from column names and content, the
    input column(s) and input kind (SMILES with two attachment points: polymer; other SMILES:
    molecule; chemical formulas: composition; a polymer and a solvent column: polymer-solvent; no
    text input but numeric columns: features), the target of each side (numeric columns; words such
    as "calculated"/"experiment" and shared words between the two names pick the pair; the other
    candidates are listed in a comment), condition columns (temperature, pressure) present on both
    sides, the unit (from "name (unit)"), an n grid that fits the simulated table, an m grid that
    fits the real one, and the sha256 of both files. It never asks anything.

`hash_card`
    Computes the sha256 of every file the card names and writes it into the card's text, editing
    only the ``sha256`` line of each ``[files.KEY]`` table, so comments and layout stay.

`check_card`
    Validates the card and both tables and returns a data report: rows, inputs that do not parse
    (by file row), target distributions with units, how many real inputs occur in the simulated
    table after canonicalisation, and, on that overlap, how far simulation is from experiment (MAE,
    bias, RMSE, correlation) with the rows that disagree most. Every problem that would stop a run
    is an `S2RBenchError` (one line naming the card, the field or file, and the fix).

The core stays free of chemistry: the kind of an input column is guessed from its characters, and
whether an input parses is decided by the featurizer plugin that the card names.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import tomllib
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import data as data_mod
from .sweep import protocol as proto
from .errors import S2RBenchError
from .contracts.featurizer import INPUT_KINDS, PART_SEP, InvalidInputsWarning
from .tasks import CARD_FORMAT, TaskCard, _where, fetch_file, get_task, load_card, load_tables, read_side

#: The featurizer `task init` writes for each input kind (the built-in one).
KIND_FEATURIZER = {
    "composition": "magpie",
    "polymer": "polymer-rdkit",
    "molecule": "molecule-rdkit",
    "polymer-solvent": "polymer-solvent",
    "features": "columns",
    "vector": "vector",
}

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

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

# ---------------------------------------------------------------------------------------------
# Guessing what a column holds
# ---------------------------------------------------------------------------------------------

ELEMENTS = set(
    "H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr Rb Sr Y Zr "
    "Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt "
    "Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr Rf Db Sg Bh Hs Mt Ds Rg Cn Nh Fl Mc "
    "Lv Ts Og D T".split()
)
_SMILES_TOKEN = re.compile(r"\[[^\[\]]+\]|Br|Cl|[BCNOPSFI]|[bcnops]|\*|%\d\d|[=#$:/\\\-+().~@]|\d")
_FORMULA_TOKEN = re.compile(r"[A-Z][a-z]?|\d+(?:\.\d+)?|\.\d+|[()\[\]{}·•]|\s+")
_SIDE_WORDS = {
    "sim": {"calc", "calculated", "calulated", "computed", "sim", "simulated", "simulation", "md", "dft", "pbe", "cosmo",
            "predicted", "pred", "theory", "theoretical", "mp"},
    "real": {"exp", "expt", "experiment", "experimental", "measured", "meas", "obs", "observed", "real"},
}
_CONDITION_RE = re.compile(r"(^|[^a-z])(temp|temperature|pressure)([^a-z]|$)|^(t|p)(\s*[\[(_].*)?$", re.I)
_UNCERTAINTY_RE = re.compile(r"std|stdev|st\.?\s*dev|sigma|error|err\b|uncert|\bunc\b|\bsd\b", re.I)
_ID_RE = re.compile(r"^(unnamed:\s*\d+|id|index|idx|sl_?num|sn|s\.?\s?no\.?|serial.*|no\.?|#|row|sample|.*[_ ]id|.*[_ ]no\.?)$", re.I)


def looks_smiles(s: str) -> bool:
    """Every character is part of a SMILES token, there is an atom, and ring-closure digits pair up."""
    s = s.strip()
    if not s or " " in s:
        return False
    pos, atoms, digits = 0, 0, Counter()
    for m in _SMILES_TOKEN.finditer(s):
        if m.start() != pos:
            return False
        tok = m.group()
        pos = m.end()
        if tok[0] == "[" or tok[0].isalpha() or tok == "*":
            atoms += 1
        elif tok.isdigit() or tok.startswith("%"):
            digits[tok] += 1
    return pos == len(s) and atoms > 0 and all(v % 2 == 0 for v in digits.values())


def looks_polymer(s: str) -> bool:
    """A SMILES repeat unit with two attachment points: ``*`` / ``[*]``, or the ``[Ce]``/``[Th]`` placeholders."""
    s = s.strip()
    return looks_smiles(s) and (s.count("*") == 2 or ("[Ce]" in s and "[Th]" in s))


def looks_formula(s: str) -> bool:
    """Element symbols with optional amounts and brackets (``Fe2O3``, ``Ca(OH)2``, ``Li0.5CoO2``)."""
    s = s.strip()
    if not s:
        return False
    pos, elements = 0, 0
    for m in _FORMULA_TOKEN.finditer(s):
        if m.start() != pos:
            return False
        tok = m.group()
        pos = m.end()
        if tok[0].isupper():
            if tok not in ELEMENTS:
                return False
            elements += 1
    return pos == len(s) and elements > 0


@dataclass
class ColumnGuess:
    column: str
    kind: str | None
    score: float
    why: str


def guess_column_kind(name: str, values: pd.Series) -> ColumnGuess:
    """What a text column holds, from a sample of its values and a hint from its name."""
    vals = [str(v) for v in values.dropna().astype(str).head(300) if str(v).strip()]
    if not vals:
        return ColumnGuess(name, None, 0.0, "empty")
    low = name.lower()
    frac = {
        "polymer": np.mean([looks_polymer(v) for v in vals]),
        "molecule": np.mean([looks_smiles(v) for v in vals]),
        "composition": np.mean([looks_formula(v) for v in vals]),
    }
    hint = {"polymer": 0.0, "molecule": 0.0, "composition": 0.0}
    if "smiles" in low or "smi" == low or "mol" in low:
        hint["molecule"] += 0.3
        hint["polymer"] += 0.3
    if any(w in low for w in ("polymer", "repeat", "monomer", "psmiles")):
        hint["polymer"] += 0.2
    if any(w in low for w in ("formula", "composition", "compound", "material")):
        hint["composition"] += 0.3
    if frac["polymer"] >= 0.5:
        return ColumnGuess(name, "polymer", frac["polymer"] + hint["polymer"], f"{frac['polymer']:.0%} SMILES with two attachment points")
    scores = {k: frac[k] + hint[k] for k in ("molecule", "composition")}
    best = max(scores, key=lambda k: (scores[k], k == "molecule"))
    if frac[best] < 0.5:
        return ColumnGuess(name, None, 0.0, "no SMILES or formulas")
    what = "SMILES" if best == "molecule" else "chemical formulas"
    return ColumnGuess(name, best, scores[best], f"{frac[best]:.0%} look like {what}")


def guess_values_kind(values: list[str]) -> str | None:
    """The kind that the standardized input strings of one side look like (None: no idea)."""
    if not values:
        return None
    parts = [v.split(PART_SEP) for v in values[:300]]
    width = Counter(len(p) for p in parts).most_common(1)[0][0]

    def number(s: str) -> bool:
        try:
            return math.isfinite(float(s))
        except ValueError:
            return False

    if np.mean([all(number(x) for x in p) for p in parts]) >= 0.5:
        return "features"
    if width == 2:
        if np.mean([len(p) == 2 and looks_polymer(p[0]) and looks_smiles(p[1]) for p in parts]) >= 0.5:
            return "polymer-solvent"
    if width == 1:
        g = guess_column_kind("", pd.Series([p[0] for p in parts]))
        return g.kind
    return None


# ---------------------------------------------------------------------------------------------
# Numeric columns: target candidates, conditions, units
# ---------------------------------------------------------------------------------------------


def _words(name: str) -> set[str]:
    return {w for w in re.split(r"[^a-z0-9]+", re.sub(r"[\(\[][^\)\]]*[\)\]]", " ", name.lower())) if w}


def unit_of(name: str) -> str:
    m = re.search(r"[\(\[]([^\(\)\[\]]+)[\)\]]\s*$", name.strip())
    return m.group(1).strip() if m else ""


def property_name(name: str) -> str:
    base = re.sub(r"\s*[\(\[][^\(\)\[\]]*[\)\]]\s*$", "", name.strip())
    words = [w for w in re.split(r"(\s+|_)", base) if w.strip(" _") and w.lower() not in _SIDE_WORDS["sim"] | _SIDE_WORDS["real"]]
    out = " ".join(w for w in words if w.strip())
    return out.strip() or name.strip()


def _is_id_like(name: str, col: pd.Series) -> bool:
    if _ID_RE.match(name.strip()):
        return True
    v = pd.to_numeric(col, errors="coerce").dropna().to_numpy()
    # integers that only ever increase are row numbers (a subset of a table keeps them increasing)
    return len(v) > 2 and np.all(v == np.round(v)) and np.all(np.diff(v) > 0)


def numeric_columns(frame: pd.DataFrame) -> list[str]:
    out = []
    for c in frame.columns:
        v = pd.to_numeric(frame[c], errors="coerce")
        present = frame[c].notna()
        if present.sum() and v[present].notna().mean() >= 0.95:
            out.append(str(c))
    return out


def _target_score(name: str, frame: pd.DataFrame, side: str) -> float:
    w = _words(name)
    other = "real" if side == "sim" else "sim"
    score = float(pd.to_numeric(frame[name], errors="coerce").notna().mean())
    score += 2.0 * bool(w & _SIDE_WORDS[side]) - 2.0 * bool(w & _SIDE_WORDS[other])
    score += 1.0 * bool(w & {"target", "y", "value", "property", "label"})
    return score


def target_candidates(frame: pd.DataFrame, exclude: set[str]) -> list[str]:
    return [
        c for c in numeric_columns(frame)
        if c not in exclude and not _is_id_like(c, frame[c]) and not _UNCERTAINTY_RE.search(c) and not _CONDITION_RE.search(c)
    ]


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
            return [best.column, solvent[0].column], "polymer-solvent", f"column {best.column!r}: polymers, {solvent[0].column!r}: solvents"
    return [best.column], best.kind, f"column {best.column!r}: {best.why}"


def _pick_targets(sim: pd.DataFrame, real: pd.DataFrame, exclude: dict[str, set[str]]) -> dict[str, tuple[str | None, list[str]]]:
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


def _count_valid(featurizer_name: str, inputs: list[str]) -> int | None:
    """How many inputs the featurizer can canonicalize (None when it is not installed)."""
    try:
        from .plugins import get_featurizer

        feat = get_featurizer(featurizer_name)
        return sum(c is not None for c in feat.canonicalize(inputs))
    except Exception:  # a guess for the m grid only; a missing or failing featurizer is reported by `task check`
        return None


def _m_grid(train: int) -> list[int]:
    return sorted({v for v in (train // 8, train // 4, train // 2, train) if v >= 5} or {train})


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
"""

TEMPLATE_SIDE = """
[{side}]
file = {file}
input = {input}{input_comment}
target = {target}{target_comment}
{alternatives}{conditions}# drop_missing_target = true  # drop rows with an empty target instead of refusing the table
# query = "column > 0"         # keep only the rows a pandas query selects
{group}"""

TEMPLATE_FILE = """
[files.{key}]
path = {path}{sha}
# url = "https://..."  # where others can download it (keep sha256 with it)
# licence = ""
"""

TEMPLATE_PROTOCOL = """
[protocol]
split = "random"        # or "group": whole groups (the [real] `group` column) go to the test split
test_fraction = 0.2
sizes = {sizes}  # the n grid: simulated pretraining set sizes{sizes_comment}
quick_sizes = {quick_sizes}
trials = 100
quick_trials = 5
trial_block = 25
seed = 0
# m = 100               # real fine-tuning rows of a plain run (default: all that the test split leaves{m_comment})
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
        raise S2RBenchError(f"task name {name!r} must be letters, digits, '.', '_' or '-' (e.g. polymer-tg); choose another NAME")
    path = Path(out) if out else Path(f"{name}.toml")
    if path.suffix != ".toml":
        path = path / f"{name}.toml" if path.is_dir() else path.with_suffix(".toml")
    where = f"task card {path}"
    if path.exists() and not force:
        raise S2RBenchError(f"{where} already exists; pass --force to overwrite it, or choose another --out")
    if (sim is None) != (real is None):
        raise S2RBenchError("task init: give both --sim and --real (or neither, for a template to fill in)")
    from .plugins import get_registry, plugin_of

    reg = get_registry()
    if name in reg.tasks:
        info = plugin_of("tasks", name)
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
            raise S2RBenchError(f"task init: --{side} file {f} does not exist; give the path of your {side} table (CSV or Parquet)")
        frames[side] = data_mod.read_table(f, what=f"task init --{side}")
    same_file = files["sim"].resolve() == files["real"].resolve()
    sides: dict[str, SideGuess] = {}
    for side, frame in frames.items():
        cols, kind, why = _guess_inputs(frame)
        sides[side] = SideGuess(file_key="data" if same_file else side, input=cols, kind=kind, target=None, alternatives=[],
                                conditions=[], why=why, rows=len(frame), frame=frame)
    kinds = {s.kind for s in sides.values()}
    if None in kinds and kinds != {None}:
        known = [s for s in sides.values() if s.kind][0]
        for s in sides.values():
            if s.kind is None:
                notes.append(f"--{[k for k, v in sides.items() if v is s][0]}: no input column recognised; set `input` by hand")
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
            notes.append(f"[{s}] column(s) {conds[s][n_cond:]} look like conditions but the other table has no counterpart; left out")
    exclude = {s: set(sides[s].input) | set(sides[s].conditions) for s in sides}
    if kind == "features":
        shared = [c for c in numeric_columns(frames["sim"]) if c in set(numeric_columns(frames["real"]))]
        picks = _pick_targets(frames["sim"], frames["real"], exclude)
        t_sim, t_real = picks["sim"][0], picks["real"][0]
        feats = [c for c in shared if c not in (t_sim, t_real) and c not in exclude["sim"] | exclude["real"]
                 and not _is_id_like(c, frames["sim"][c]) and not _UNCERTAINTY_RE.search(c)]
        if not feats:
            raise S2RBenchError(
                "task init: found no input column (SMILES, formulas) and no numeric feature columns shared by both tables; "
                "name the input columns in the card by hand (run `s2rbench task init NAME` for a template)"
            )
        for s in sides:
            sides[s].input = feats
            sides[s].why = f"no SMILES or formula column; {len(feats)} numeric columns shared by both tables are the features"
            exclude[s] |= set(feats)
    picks = _pick_targets(frames["sim"], frames["real"], exclude)
    for s in sides:
        sides[s].target, sides[s].alternatives = picks[s]
        if sides[s].target is None:
            notes.append(f"[{s}] no numeric target column found; set `target` by hand")
    featurizer = KIND_FEATURIZER.get(kind, "")
    # grid sizes from the rows that have a target (and, if the featurizer is installed, an input it reads)
    counts = {}
    for s, g in sides.items():
        f = g.frame
        ok = pd.to_numeric(f[g.target], errors="coerce").notna() if g.target else pd.Series(True, index=f.index)
        if g.input:
            ok &= f[g.input].notna().all(axis=1)
        rows = f[ok]
        valid = None
        if g.input and featurizer and (s == "real" or len(rows) <= 5000):  # the m grid must fit exactly; the n grid need not
            joined = rows[g.input[0]].astype(str).str.strip()
            for c in g.input[1:]:
                joined = joined + PART_SEP + rows[c].astype(str).str.strip()
            valid = _count_valid(featurizer, joined.tolist())
        counts[s] = valid if valid is not None else int(ok.sum())
    n_sim, n_real = max(1, counts["sim"]), counts["real"]
    test = proto.test_size(max(n_real, 2), 0.2)
    train = max(1, n_real - test)
    text = _filled(name, path, today, kind, featurizer, sides, files, card_dir, n_sim, n_real, train, same_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    load_card(path)  # what init writes must parse
    guesses = {
        "input_kind": kind, "featurizer": featurizer,
        **{s: {"input": g.input, "target": g.target, "conditions": g.conditions, "why": g.why, "alternatives": g.alternatives}
           for s, g in sides.items()},
    }
    return InitResult(path=path, guesses=guesses, notes=notes)


def _kinds_line() -> str:
    return ", ".join(k for k in INPUT_KINDS if k != "vector")


def _featurizers_for(kind: str) -> list[str]:
    try:
        from .plugins import get_registry

        return sorted(n for n, f in get_registry().featurizers.items() if f.input_kind == kind)
    except Exception:
        return []


def _template(name: str, path: Path, today: str) -> str:
    head = TEMPLATE_HEAD.format(
        today=today, from_files="", card_name=path.name, fmt=CARD_FORMAT, name=_q(name), title=_q(""),
        description="What is simulated (method, conditions), what is measured, and where both tables come from.",
        kinds=_kinds_line(), kind=_q("polymer"), kind_comment="  # polymer repeat units; change to your inputs",
        featurizer=_q("polymer-rdkit"), featurizer_comment="", target_name=_q("property"), unit=_q(""),
    )
    body = ""
    for side, col_hint in (("sim", "simulated"), ("real", "measured")):
        body += TEMPLATE_SIDE.format(
            side=side, file=_q(side), input=_q("smiles"), input_comment=f"  # the input column of the {col_hint} table",
            target=_q("value"), target_comment=f"  # the {col_hint} property (numeric)",
            conditions="# conditions = [\"temperature\"]  # numeric columns passed to the model as extra inputs (same order on both sides)\n",
            alternatives="", group="# group = \"polymer\"          # rows of one group go to the same side of the test split\n" if side == "real" else "",
        )
    for side in ("sim", "real"):
        body += TEMPLATE_FILE.format(key=side, path=_q(f"{side}.csv"), sha="\n# sha256 = \"\"  # written by `s2rbench task hash`")
    body += TEMPLATE_PROTOCOL.format(
        sizes=_qint([16, 32, 64, 128, 256, 512, 1024]), sizes_comment=" (at most the simulated rows)", quick_sizes=_qint([16, 128, 1024]),
        m_comment="", m_grid=_qint([25, 50, 100]), quick_m_grid=_qint([50, 100]),
    )
    return head + body


def _qint(v: list[int]) -> str:
    return "[" + ", ".join(str(int(x)) for x in v) + "]"


def _filled(name, path, today, kind, featurizer, sides, files, card_dir, n_sim, n_real, train, same_file) -> str:
    feats = _featurizers_for(kind)
    feat_comment = ""
    if featurizer and feats and featurizer not in feats:
        feat_comment = f"  # not installed here; installed for {kind}: {', '.join(feats)}"
    elif len(feats) > 1:
        feat_comment = f"  # for {kind} inputs also: {', '.join(f for f in feats if f != featurizer)}"
    elif not feats:
        feat_comment = f"  # no featurizer for {kind} inputs is installed here"
    t_real = sides["real"].target or sides["sim"].target or "value"
    head = TEMPLATE_HEAD.format(
        today=today, from_files=f" from {files['sim'].name} and {files['real'].name}", card_name=path.name, fmt=CARD_FORMAT,
        name=_q(name), title=_q(f"{property_name(t_real)}: simulation ({files['sim'].name}) to experiment ({files['real'].name})"),
        description=f"Simulated: {sides['sim'].rows} rows of {files['sim'].name}. Real: {sides['real'].rows} rows of {files['real'].name}.\n"
                    "Say what was simulated (method, settings) and measured, and cite the sources.",
        kinds=_kinds_line(), kind=_q(kind), kind_comment=f"  # guessed: {sides['sim'].why}",
        featurizer=_q(featurizer), featurizer_comment=feat_comment,
        target_name=_q(property_name(t_real)), unit=_q(unit_of(t_real) or unit_of(sides["sim"].target or "")),
    )
    body = ""
    for side, g in sides.items():
        inp = _q(g.input[0]) if len(g.input) == 1 else (_qlist(g.input) if g.input else _q("FILL_IN"))
        alts = ""
        if g.alternatives:
            alts = f"# other numeric columns that could be the target: {', '.join(g.alternatives[:12])}{' ...' if len(g.alternatives) > 12 else ''}\n"
        cond = (f"conditions = {_qlist(g.conditions)}  # passed to the model as extra inputs (same order on both sides)\n" if g.conditions
                else "# conditions = [\"temperature\"]  # numeric columns passed to the model as extra inputs (same order on both sides)\n")
        body += TEMPLATE_SIDE.format(
            side=side, file=_q(g.file_key), input=inp, input_comment="" if g.input else "  # fill in: the input column",
            target=_q(g.target or "FILL_IN"), target_comment="" if g.target else "  # fill in: the numeric target column",
            conditions=cond, alternatives=alts,
            group="# group = \"polymer\"          # rows of one group go to the same side of the test split\n" if side == "real" else "",
        )
    keys = {"data": files["sim"]} if same_file else files
    for key, f in keys.items():
        rel = os.path.relpath(f.resolve(), card_dir)
        body += TEMPLATE_FILE.format(key=key, path=_q(Path(rel).as_posix()), sha=f"\nsha256 = {_q(data_mod.sha256_of(f))}")
    sizes = _sizes(n_sim)
    quick = sorted(set(sizes[::2]) | {sizes[-1]})
    grid = _m_grid(train)
    body += TEMPLATE_PROTOCOL.format(
        sizes=_qint(sizes), sizes_comment=f" (the simulated table has {n_sim} usable rows)", quick_sizes=_qint(quick),
        m_comment=f": {train} of {n_real}", m_grid=_qint(grid), quick_m_grid=_qint(sorted({grid[len(grid) // 2], grid[-1]})),
    )
    return head + body


# ---------------------------------------------------------------------------------------------
# task hash
# ---------------------------------------------------------------------------------------------

_HEADER = re.compile(r"""^\s*\[\s*files\s*\.\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*\]\s*(?:#.*)?$""")
_ANY_HEADER = re.compile(r"^\s*\[")
_SHA_LINE = re.compile(r"""^(\s*)sha256\s*=\s*(?:"[^"]*"|'[^']*')(.*)$""")
_ANCHOR_LINE = re.compile(r"^\s*(path|url|mirror)\s*=")


def _table_spans(lines: list[str]) -> dict[str, tuple[int, int]]:
    """[files.KEY] header line -> (header index, end index exclusive), skipping multi-line strings."""
    spans: dict[str, tuple[int, int]] = {}
    in_string: str | None = None
    current: tuple[str, int] | None = None
    for i, line in enumerate(lines):
        if in_string is None and _ANY_HEADER.match(line):
            if current:
                spans[current[0]] = (current[1], i)
                current = None
            m = _HEADER.match(line)
            if m:
                key = m.group(1) if m.group(1) is not None else (m.group(2) if m.group(2) is not None else m.group(3))
                current = (key, i)
        for q in ('"""', "'''"):
            if line.count(q) % 2 == 1 and (in_string in (None, q)):
                in_string = None if in_string == q else q
    if current:
        spans[current[0]] = (current[1], len(lines))
    return spans


def set_sha256(text: str, key: str, sha: str, where: str) -> str:
    """The card text with `sha256 = "<sha>"` in its [files.KEY] table; every other byte is kept."""
    lines = text.splitlines(keepends=True)
    spans = _table_spans(lines)
    if key not in spans:
        raise S2RBenchError(
            f"{where}: file {key!r} is not written as a [files.{key}] table, so its sha256 cannot be filled in; "
            f"write it as a [files.{key}] table, or add `sha256 = \"{sha}\"` by hand"
        )
    start, end = spans[key]
    for i in range(start + 1, end):
        m = _SHA_LINE.match(lines[i].rstrip("\r\n"))
        if m:
            eol = lines[i][len(lines[i].rstrip("\r\n")):]
            lines[i] = f'{m.group(1)}sha256 = "{sha}"{m.group(2)}{eol or chr(10)}'
            return "".join(lines)
    anchor = next((i for i in range(start + 1, end) if _ANCHOR_LINE.match(lines[i])), start)
    if not lines[anchor].endswith("\n"):
        lines[anchor] += "\n"
    lines.insert(anchor + 1, f'sha256 = "{sha}"\n')
    return "".join(lines)


def _locate_for_hash(card: TaskCard, key: str, data_dir) -> Path:
    entry = card.files[key]
    if entry.path:
        local = Path(entry.path)
        if not local.is_absolute() and card.card_dir is not None:
            local = card.card_dir / local
        if local.is_file():
            return local
    if entry.url and entry.sha256:
        return fetch_file(card, key, data_dir)  # a pinned download is verified, never re-pinned
    try:
        return data_mod.fetch(replace(entry, sha256=None), card_dir=card.card_dir, data_dir=data_dir)
    except S2RBenchError as exc:
        raise S2RBenchError(f"{_where(card.path, card.name)} [files.{key}]: {exc}") from None


def hash_card(path: str | os.PathLike, *, data_dir: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """Write the sha256 of every file of the card at `path` into it; returns one row per file.

    Local files (`path`) are always re-hashed: that is how a changed table is re-pinned. A file
    downloaded from a `url` whose sha256 is already given is verified instead (an upstream change
    is an error, never silently accepted); delete its sha256 line to pin the new content.
    """
    path = Path(path)
    card = load_card(path)
    where = _where(path, card.name)
    if card.loader != "tables" and not card.files:
        raise S2RBenchError(f"{where} names no data files (loader {card.loader!r}); nothing to hash")
    text = original = path.read_text()
    rows = []
    for key, entry in card.files.items():
        f = _locate_for_hash(card, key, data_dir)
        sha = data_mod.sha256_of(f)
        old = (entry.sha256 or "").lower()
        status = "unchanged" if old == sha else ("added" if not old else "updated")
        if status != "unchanged":
            text = set_sha256(text, key, sha, where)
        rows.append({"file": key, "path": str(f), "sha256": sha, "status": status, "previous": old or None})
    if text != original:
        raw_new = tomllib.loads(text)
        raw_old = tomllib.loads(original)
        for r in rows:
            raw_old.setdefault("files", {}).setdefault(r["file"], {})["sha256"] = r["sha256"]
        if raw_new != raw_old:  # the edit must change the sha256 values and nothing else
            raise S2RBenchError(f"{where}: could not edit the sha256 lines safely; set them by hand: " +
                                ", ".join(f"[files.{r['file']}] sha256 = \"{r['sha256']}\"" for r in rows))
        tmp = path.with_suffix(".toml.tmp")
        tmp.write_text(text)
        tmp.replace(path)
    return rows


# ---------------------------------------------------------------------------------------------
# task check
# ---------------------------------------------------------------------------------------------


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


def _resolve_featurizer(card: TaskCard, name: str | None, where: str):
    from .plugins import get_registry

    reg = get_registry()
    fname = name or card.featurizer
    field_ = "--featurizer" if name else "`featurizer`"
    same_kind = sorted(n for n, f in reg.featurizers.items() if f.input_kind == card.input_kind)
    if fname not in reg.featurizers:
        fix = (f"set {field_} to one of {', '.join(same_kind)}" if same_kind
               else f"install a plugin that reads {card.input_kind!r} inputs (none is installed)")
        raise S2RBenchError(f"{where}: featurizer {fname!r} ({field_}) is not installed; {fix} (see `s2rbench list featurizers`)")
    feat = reg.featurizers[fname]
    if feat.input_kind != card.input_kind:
        fix = f"set {field_} to one of {', '.join(same_kind)}" if same_kind else f"no installed featurizer reads {card.input_kind!r} inputs"
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
    return {"n": int(len(y)), "mean": float(y.mean()), "std": float(y.std(ddof=1)) if len(y) > 1 else 0.0,
            "min": float(q[0]), "p25": float(q[1]), "median": float(q[2]), "p75": float(q[3]), "max": float(q[4])}


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
            if spec.query:
                q = q.query(spec.query)
            tgt_missing = int(pd.to_numeric(q[spec.target], errors="coerce").isna().sum())
            empty = q[list(spec.input)].isna()
            has_target = pd.to_numeric(q[spec.target], errors="coerce").notna().to_numpy()
            inp_missing = {int(r): [c for c in spec.input if empty.at[r, c]]
                           for r in q.index[empty.any(axis=1).to_numpy() & has_target]}
            info[side] = {
                "file": spec.file, "path": str(path), "format": "parquet" if path.suffix.lower() in {".parquet", ".pq"} else "csv",
                "sha256": "verified" if entry.sha256 else "not pinned",
                "rows_in_file": int(len(raw)), "rows_after_query": int(len(q)) if spec.query else None,
                "rows_without_target": tgt_missing, "missing_input_rows": inp_missing,
                "input_columns": list(spec.input), "target_column": spec.target, "conditions": list(spec.conditions),
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
        info[side] = {"file": spec.file or None, "loader": card.loader, "sha256": ("verified" if entry.sha256 else "not pinned") if entry else "—",
                      "rows_in_file": int(len(f)), "rows_after_query": None, "rows_without_target": 0, "missing_input_rows": {},
                      "input_columns": list(spec.input), "target_column": spec.target, "conditions": list(tables.conditions)}
    return frames, info, tuple(tables.conditions)


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
    unknown_keys(card.raw, where)
    feat = _resolve_featurizer(card, featurizer, where)
    frames, info, conditions = _load_sides(card, data_dir)
    report_warnings: list[str] = []
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
            invalid_rows.append({"side": side, "row": int(r), "line": int(r) + 2 if is_csv else None, "input": None,
                                 "reason": f"empty {', '.join(map(repr, cols))}"})
        for i in bad:
            invalid_rows.append({"side": side, "row": int(rows[i]), "line": int(rows[i]) + 2 if is_csv else None,
                                 "input": inputs[i], "reason": f"does not parse as {card.input_kind} ({feat.name})"})
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
            report_warnings.append(f"{len(info[side]['missing_input_rows'])} {side} row(s) have an empty input and are dropped")
        if info[side].get("rows_without_target"):
            report_warnings.append(f"{info[side]['rows_without_target']} {side} row(s) have no target and are dropped (drop_missing_target)")
        valid = frame[keep].reset_index(drop=True)
        canon = [c for c, k in zip(fm.canonical, keep) if k]
        sides[side] = {"frame": valid, "canon": canon, "n_valid": n_valid, "n_invalid": len(bad), "features": int(fm.X.shape[1])}
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
    pairs = []
    for i, k in enumerate(real_keys):
        idx = sim_by_key.get(k)
        if idx:
            s = float(sim_y[idx].mean())
            pairs.append({
                "real_row": int(real_f["_row"].iloc[i]), "sim_rows": [int(sim_f["_row"].iloc[j]) for j in idx][:5],
                "sim_rows_count": len(idx), "input": str(real_f["input"].iloc[i]), "canonical": str(real_canon[i]),
                **({c: float(real_f[c].iloc[i]) for c in conditions} if conditions else {}),
                "sim": s, "real": float(real_y[i]), "sim_minus_real": s - float(real_y[i]),
            })
    gap: dict[str, Any] = {"pairs": len(pairs), "matched_on": ["input", *conditions] if use_cond else ["input"], "note": gap_note}
    if pairs:
        s = np.array([p["sim"] for p in pairs])
        r = np.array([p["real"] for p in pairs])
        d = s - r
        gap.update({
            "mae": float(np.abs(d).mean()), "bias": float(d.mean()), "rmse": float(np.sqrt((d**2).mean())),
            "max_abs": float(np.abs(d).max()),
            "real_mad": float(np.abs(r - r.mean()).mean()),
        })
        if len(pairs) >= 3 and s.std() > 0 and r.std() > 0:
            from scipy.stats import spearmanr

            gap["pearson_r"] = float(np.corrcoef(s, r)[0, 1])
            gap["spearman_rho"] = float(spearmanr(s, r).statistic)
        else:
            gap["pearson_r"] = gap["spearman_rho"] = None
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
    real_std = real_f.drop(columns="_row")
    real_key = proto.fingerprint(real_std)
    if p.split == "group":
        groups = (real_std["group"].to_numpy(dtype=str) if "group" in real_std
                  else np.array([c.split(PART_SEP)[0] for c in real_canon], dtype=str))
        m_all = min(len(proto.real_split(n_real, real_key, p.seed, t, p.test_fraction, groups).train_order) for t in range(p.trials))
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
        raise S2RBenchError(f"{where}: the real table has {n_real} usable rows, too few for a test split and training rows; add real rows")
    dropped = [s for s in p.sizes if s > n_sim]
    if len(dropped) == len(p.sizes):
        raise S2RBenchError(
            f"{where}: [protocol] sizes {list(p.sizes)} all exceed the {n_sim} usable simulated rows; use sizes up to {n_sim}"
        )
    if dropped:
        report_warnings.append(f"sizes {dropped} exceed the {n_sim} usable simulated rows and are dropped by the sweep")
    for key, entry in card.files.items():
        if not entry.sha256:
            report_warnings.append(f"file {key!r} is not pinned by sha256; run `s2rbench task hash {card.path or card.name}`")
    data = {
        "ok": True,
        "card": str(card.path) if card.path else None,
        "name": card.name, "version": card.version, "hash": card.hash,
        "input_kind": card.input_kind, "featurizer": feat.name, "featurizer_version": feat.version,
        "target": {"name": card.target_name, "unit": unit},
        "conditions": list(conditions),
        "sides": {
            side: {
                **info[side],
                "rows_with_target": int(len(frames[side])) + len(info[side]["missing_input_rows"]),
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
            "real_rows_in_sim": len(overlap_rows), "real_rows": n_real,
            "distinct_real_inputs_in_sim": len({real_canon[i] for i in overlap_rows}),
            "distinct_real_inputs": len(set(real_canon)),
        },
        "gap": gap,
        "largest_gaps": largest,
        "protocol": {
            "split": p.split, "test_fraction": p.test_fraction, "real_rows": n_real, "test_rows": n_test, "m_all": m_all,
            "m": p.m, "m_grid": list(p.m_grid), "largest_m": largest_m[1] if largest_m else m_all,
            "sizes": list(p.sizes), "sizes_dropped": dropped, "sim_rows": n_sim, "trials": p.trials,
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
        f"target {d['target']['name']} ({u or 'no unit'})" + (f" · conditions {', '.join(d['conditions'])}" if d["conditions"] else ""),
        "",
        "Simulation vs experiment on the shared inputs (sim − real):",
    ]
    if g["pairs"]:
        lines.append(
            f"  {g['pairs']} pairs · MAE {_f(g['mae'])}{uu} · bias {_f(g['bias'])}{uu} · RMSE {_f(g['rmse'])}{uu} · "
            f"Pearson r {_f(g.get('pearson_r'), 3)} · Spearman ρ {_f(g.get('spearman_rho'), 3)}"
        )
        lines.append(f"  (for scale: the measured values of these pairs deviate from their mean by {_f(g['real_mad'])}{uu} on average)")
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
    if s.get("rows_after_query") is not None or r.get("rows_after_query") is not None:
        rows.append(["rows after query", _f(s.get("rows_after_query")), _f(r.get("rows_after_query"))])
    rows += [
        ["rows without target", s["rows_without_target"], r["rows_without_target"]],
        ["inputs that do not parse", s["invalid_inputs"], r["invalid_inputs"]],
        ["usable rows", s["rows_valid"], r["rows_valid"]],
        ["distinct inputs", s["distinct_inputs"], r["distinct_inputs"]],
        ["features", s["features"], r["features"]],
    ]
    lines.append(tabulate(rows, headers=["", "sim", "real"], tablefmt="simple"))
    lines += ["", f"Target {d['target']['name']} ({u or 'no unit'}):"]
    st = [[side, *(_f(d["sides"][side]["target_stats"].get(k)) for k in ("n", "mean", "std", "min", "p25", "median", "p75", "max"))]
          for side in ("sim", "real")]
    lines.append(tabulate(st, headers=["", "n", "mean", "std", "min", "25%", "median", "75%", "max"], tablefmt="simple"))
    if d["largest_gaps"]:
        lines += ["", f"Largest |sim − real| on the overlap (rows count from 0 after the header; judge them before training):"]
        lg = []
        for p in d["largest_gaps"]:
            sim_rows = ",".join(map(str, p["sim_rows"])) + ("…" if p["sim_rows_count"] > len(p["sim_rows"]) else "")
            inp = p["input"] if len(p["input"]) <= 48 else p["input"][:45] + "..."
            lg.append([p["real_row"], sim_rows, inp, *(p[c] for c in d["conditions"]), _f(p["sim"]), _f(p["real"]), _f(p["sim_minus_real"])])
        lines.append(tabulate(lg, headers=["real row", "sim row(s)", "input", *d["conditions"], "sim", "real", "sim − real"], tablefmt="simple", disable_numparse=True))
    if d["invalid"]:
        lines += ["", "Inputs that do not parse (dropped by the sweep):"]
        inv = [[i["side"], i["row"], _f(i["line"]), "" if i["input"] is None else (i["input"] if len(i["input"]) <= 48 else i["input"][:45] + "..."), i["reason"]]
               for i in d["invalid"][:20]]
        lines.append(tabulate(inv, headers=["side", "row", "line", "input", "reason"], tablefmt="simple", disable_numparse=True))
        if len(d["invalid"]) > 20:
            lines.append(f"  ... and {len(d['invalid']) - 20} more (--json lists all)")
    pr = d["protocol"]
    lines += [
        "",
        f"Protocol: {pr['split']} split, test {pr['test_rows']} of {pr['real_rows']} real rows, up to m = {pr['m_all']} for fine-tuning "
        f"(largest m asked: {pr['largest_m']}); n grid {pr['sizes']} over {pr['sim_rows']} simulated rows"
        + (f" ({pr['sizes_dropped']} dropped)" if pr["sizes_dropped"] else "") + f"; {pr['trials']} trials",
    ]
    if d["warnings"]:
        lines += ["", "Warnings:"] + [f"  - {w}" for w in d["warnings"]]
    lines += ["", "OK: the card and both tables pass the check" + (" (see the warnings)" if d["warnings"] else "") + "."]
    return "\n".join(lines)
