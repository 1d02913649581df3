"""`columns`: a card's own numeric columns are the features (input kind ``features``).

A user who already has descriptors for every row (from their own code, a DFT workflow, a
descriptor package...) needs no featurizer: the card sets ``input_kind = "features"`` and names
the descriptor columns as its input, on both sides, in the same order::

    input_kind = "features"          # featurizer defaults to "columns"
    [sim]
    input = ["d1", "d2", "d3"]
    [real]
    input = ["d1", "d2", "d3"]

The core joins a row's input columns with `PART_SEP` (``"0.12|3.4|-1"``), exactly as it does for
any multi-column input; this featurizer parses that string back. A row with a missing or
non-numeric value does not parse and is reported (and dropped) like an unparseable SMILES. The
canonical form writes every number with 12 significant digits, so two rows with the same
descriptors are the same input when the overlap between the tables is counted.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from s2rbench.contracts.featurizer import PART_SEP, Featurizer
from s2rbench.hookspecs import hookimpl


def _parse(s: str) -> list[float] | None:
    try:
        vals = [float(v) for v in str(s).split(PART_SEP)]
    except ValueError:
        return None
    if not vals or not all(math.isfinite(v) for v in vals):
        return None
    return vals


class ColumnsFeaturizer(Featurizer):
    """The card's numeric input columns, as they are."""

    name = "columns"
    version = "1"
    input_kind = "features"
    description = "the card's own numeric columns as features (input_kind 'features'; no chemistry)"

    def __init__(self) -> None:
        self._dim = 0

    def canonicalize(self, inputs):
        parsed = [_parse(s) for s in inputs]
        widths = Counter(len(v) for v in parsed if v is not None)
        # every row of one table has the same columns; the width of this call is the common one
        self._dim = widths.most_common(1)[0][0] if widths else 0
        return [
            PART_SEP.join(f"{x:.12g}" for x in v) if v is not None and len(v) == self._dim else None for v in parsed
        ]

    def featurize_canonical(self, inputs):
        X = np.array([[float(x) for x in s.split(PART_SEP)] for s in inputs], dtype=np.float64)
        return X.reshape(len(inputs), self._dim)

    def feature_names(self):
        return [f"column{i}" for i in range(self._dim)]


@hookimpl
def register_featurizers(register):
    register(ColumnsFeaturizer())
