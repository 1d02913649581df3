"""The featurizer contract, and `featurize`: inputs in, a feature matrix out, invalid rows reported.

A featurizer owns the meaning of its input kind: it canonicalizes inputs (so that overlap between
simulated and real tables can be counted, and caches keyed) and turns canonical inputs into a
fixed-width float matrix. The core never imports RDKit or pymatgen; only featurizer plugins do.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import S2RBenchError

log = logging.getLogger(__name__)

#: Multi-part inputs (a polymer-solvent pair) are one string whose parts are joined by this.
PART_SEP = "|"

#: Input kinds a card may declare. Featurizers say which one they read.
INPUT_KINDS = ("composition", "polymer", "molecule", "polymer-solvent", "features", "vector")

#: The one home of the polymer repeat-unit notation. Attachment points are written ``*`` / ``[*]``
#: (RadonPy PI1070, polyVERSE) or as the head/tail placeholders ``[Ce]`` / ``[Th]`` of Afzal et al.
#: 2021; the placeholders are these exact bracket atoms only (a charged ``[Ce+3]`` stays cerium).
POLYMER_PLACEHOLDERS = ("[Ce]", "[Th]")
#: atomic numbers an attachment point can carry once parsed: 0 for ``*``, then Ce and Th
POLYMER_ATTACHMENT_Z = (0, 58, 90)


def unify_attachments(smiles: str) -> str:
    """A repeat unit with its ``[Ce]``/``[Th]`` placeholders written as ``[*]`` (stripped)."""
    s = smiles.strip()
    for placeholder in POLYMER_PLACEHOLDERS:
        s = s.replace(placeholder, "[*]")
    return s


def has_two_attachments(smiles: str) -> bool:
    """Two ``*`` attachment points, or both placeholders ``[Ce]`` and ``[Th]``."""
    return smiles.count("*") == 2 or all(p in smiles for p in POLYMER_PLACEHOLDERS)


class InvalidInputsWarning(UserWarning):
    """Some inputs did not parse; they are dropped (NaN rows) and counted with the results."""


class Featurizer:
    """Base class for featurizer plugins.

    Subclasses set `name`, `version`, `input_kind` and implement `canonicalize`, `featurize_canonical`
    and `feature_names`. `featurize_canonical` receives only inputs that canonicalized, and must
    return one row per input (NaN rows allowed for inputs that fail late).
    """

    name: str = ""
    version: str = ""  # required: the registry refuses an object without one
    input_kind: str = ""
    description: str = ""

    def canonicalize(self, inputs: Sequence[str]) -> list[str | None]:
        """Canonical form of each input, or None where it does not parse."""
        raise NotImplementedError

    def featurize_canonical(self, inputs: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def feature_names(self) -> list[str]:
        raise NotImplementedError

    def config(self) -> dict:
        """Settings that change the features; they go into cache keys and provenance."""
        return {}


@dataclass
class FeatureMatrix:
    """Features for a list of inputs, rows in input order; `invalid` lists rows that did not parse."""

    X: np.ndarray
    names: list[str]
    invalid: list[int] = field(default_factory=list)
    invalid_inputs: list[str] = field(default_factory=list)
    canonical: list[str | None] = field(default_factory=list)


def describe_invalid(rows: Sequence[int], inputs: Sequence[str], what: str, limit: int = 5) -> str:
    shown = ", ".join(f"row {r}: {inputs[r]!r}" for r in list(rows)[:limit])
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return f"{len(rows)} {what} input(s) did not parse and were dropped ({shown}{more})"


def featurize_with(featurizer: Featurizer, inputs: Sequence[str], *, what: str = "") -> FeatureMatrix:
    """Canonicalize then featurize; invalid inputs become NaN rows and one warning names them."""
    inputs = [str(s) for s in inputs]
    canon = featurizer.canonicalize(inputs)
    if len(canon) != len(inputs):
        raise S2RBenchError(
            f"featurizer {featurizer.name!r} returned {len(canon)} canonical forms for {len(inputs)} inputs; "
            "fix the plugin's canonicalize()"
        )
    ok = [i for i, c in enumerate(canon) if c is not None]
    names = list(featurizer.feature_names())
    X = np.full((len(inputs), len(names)), np.nan, dtype=np.float64)
    if ok:
        Xok = np.asarray(featurizer.featurize_canonical([canon[i] for i in ok]), dtype=np.float64)
        if Xok.shape != (len(ok), len(names)):
            raise S2RBenchError(
                f"featurizer {featurizer.name!r} returned shape {Xok.shape}, expected {(len(ok), len(names))}; "
                "fix the plugin's featurize_canonical()"
            )
        X[ok] = Xok
    bad = [i for i in range(len(inputs)) if not np.all(np.isfinite(X[i]))]
    if bad:
        X[bad] = np.nan
        label = f"{what} " if what else ""
        warnings.warn(
            describe_invalid(bad, inputs, f"{label}{featurizer.input_kind}".strip()),
            InvalidInputsWarning,
            stacklevel=2,
        )
    badset = set(bad)
    canonical = [None if i in badset else canon[i] for i in range(len(inputs))]
    return FeatureMatrix(X=X, names=names, invalid=bad, invalid_inputs=[inputs[i] for i in bad], canonical=canonical)
