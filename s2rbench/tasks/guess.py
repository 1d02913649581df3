"""Guessing what a table's columns hold (input kind, targets, conditions, units), from names and content.

Shared by `task init` (which writes its guesses into a card) and `task check` (which names the kind
a side's inputs look like when they do not parse as the card's). The core stays free of chemistry:
the kind of a column is guessed from its characters only.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..contracts.featurizer import PART_SEP, has_two_attachments

# ---------------------------------------------------------------------------------------------
# Guessing what a column holds
# ---------------------------------------------------------------------------------------------

ELEMENTS = set(
    [
        "H",
        "He",
        "Li",
        "Be",
        "B",
        "C",
        "N",
        "O",
        "F",
        "Ne",
        "Na",
        "Mg",
        "Al",
        "Si",
        "P",
        "S",
        "Cl",
        "Ar",
        "K",
        "Ca",
        "Sc",
        "Ti",
        "V",
        "Cr",
        "Mn",
        "Fe",
        "Co",
        "Ni",
        "Cu",
        "Zn",
        "Ga",
        "Ge",
        "As",
        "Se",
        "Br",
        "Kr",
        "Rb",
        "Sr",
        "Y",
        "Zr",
        "Nb",
        "Mo",
        "Tc",
        "Ru",
        "Rh",
        "Pd",
        "Ag",
        "Cd",
        "In",
        "Sn",
        "Sb",
        "Te",
        "I",
        "Xe",
        "Cs",
        "Ba",
        "La",
        "Ce",
        "Pr",
        "Nd",
        "Pm",
        "Sm",
        "Eu",
        "Gd",
        "Tb",
        "Dy",
        "Ho",
        "Er",
        "Tm",
        "Yb",
        "Lu",
        "Hf",
        "Ta",
        "W",
        "Re",
        "Os",
        "Ir",
        "Pt",
        "Au",
        "Hg",
        "Tl",
        "Pb",
        "Bi",
        "Po",
        "At",
        "Rn",
        "Fr",
        "Ra",
        "Ac",
        "Th",
        "Pa",
        "U",
        "Np",
        "Pu",
        "Am",
        "Cm",
        "Bk",
        "Cf",
        "Es",
        "Fm",
        "Md",
        "No",
        "Lr",
        "Rf",
        "Db",
        "Sg",
        "Bh",
        "Hs",
        "Mt",
        "Ds",
        "Rg",
        "Cn",
        "Nh",
        "Fl",
        "Mc",
        "Lv",
        "Ts",
        "Og",
        "D",
        "T",
    ]
)
_SMILES_TOKEN = re.compile(r"\[[^\[\]]+\]|Br|Cl|[BCNOPSFI]|[bcnops]|\*|%\d\d|[=#$:/\\\-+().~@]|\d")
_FORMULA_TOKEN = re.compile(r"[A-Z][a-z]?|\d+(?:\.\d+)?|\.\d+|[()\[\]{}·•]|\s+")
_SIDE_WORDS = {
    "sim": {
        "calc",
        "calculated",
        "calulated",
        "computed",
        "sim",
        "simulated",
        "simulation",
        "md",
        "dft",
        "pbe",
        "cosmo",
        "predicted",
        "pred",
        "theory",
        "theoretical",
        "mp",
    },
    "real": {"exp", "expt", "experiment", "experimental", "measured", "meas", "obs", "observed", "real"},
}
_CONDITION_RE = re.compile(r"(^|[^a-z])(temp|temperature|pressure)([^a-z]|$)|^(t|p)(\s*[\[(_].*)?$", re.I)
_UNCERTAINTY_RE = re.compile(r"std|stdev|st\.?\s*dev|sigma|error|err\b|uncert|\bunc\b|\bsd\b", re.I)
_ID_RE = re.compile(
    r"^(unnamed:\s*\d+|id|index|idx|sl_?num|sn|s\.?\s?no\.?|serial.*|no\.?|#|row|sample|.*[_ ]id|.*[_ ]no\.?)$", re.I
)


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
    return looks_smiles(s) and has_two_attachments(s)


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
    if "smiles" in low or low == "smi" or "mol" in low:
        hint["molecule"] += 0.3
        hint["polymer"] += 0.3
    if any(w in low for w in ("polymer", "repeat", "monomer", "psmiles")):
        hint["polymer"] += 0.2
    if any(w in low for w in ("formula", "composition", "compound", "material")):
        hint["composition"] += 0.3
    if frac["polymer"] >= 0.5:
        return ColumnGuess(
            name,
            "polymer",
            frac["polymer"] + hint["polymer"],
            f"{frac['polymer']:.0%} SMILES with two attachment points",
        )
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
    if width == 2 and np.mean([len(p) == 2 and looks_polymer(p[0]) and looks_smiles(p[1]) for p in parts]) >= 0.5:
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


def split_unit(name: str) -> tuple[str, str]:
    """(property, unit) of a column name "property (unit)" or "property [unit]"; brackets may nest: ``k (W/(m K))``."""
    text = name.strip()
    if not text or text[-1] not in ")]":
        return text, ""
    pairs = {")": "(", "]": "["}
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        ch = text[i]
        if ch in ")]":
            depth += 1
        elif ch in "([":
            depth -= 1
            if depth == 0:
                if pairs[text[-1]] != ch and ch != "(" and ch != "[":
                    return text, ""
                unit = text[i + 1 : -1].strip()
                return (text[:i].strip(), unit) if unit else (text, "")
    return text, ""  # unbalanced: no unit


def unit_of(name: str) -> str:
    return split_unit(name)[1]


def property_name(name: str) -> str:
    base = split_unit(name)[0] if unit_of(name) else name.strip()
    words = [
        w
        for w in re.split(r"(\s+|_)", base)
        if w.strip(" _") and w.lower() not in _SIDE_WORDS["sim"] | _SIDE_WORDS["real"]
    ]
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
        c
        for c in numeric_columns(frame)
        if c not in exclude
        and not _is_id_like(c, frame[c])
        and not _UNCERTAINTY_RE.search(c)
        and not _CONDITION_RE.search(c)
    ]
