"""Composition featurizer ``composition-elements``: the stoichiometry itself, in fixed-width columns.

Why: the plugin contract hands a model a float matrix (``X_sim``, ``X_real``), and every built-in
featurizer fills it with *descriptors* (Magpie statistics). A model that learns its own
representation from the elements and their amounts (Roost, ``s2rbench_plugins.models.roost``)
needs the composition instead. Rather than widening the contract, this featurizer writes each
composition losslessly into fixed-width columns, which such a model decodes:

* ``element_1`` .. ``element_K``: atomic numbers (1 = H ... 118), as floats (exact in float32);
  0 marks an empty slot;
* ``fraction_1`` .. ``fraction_K``: the atomic fractions of those elements (they sum to 1; 0 in
  empty slots).

Slots are ordered by decreasing fraction, ties in canonical formula order (Pauling
electronegativity, then symbol), so that a composition always gives the same row.

The cap K (``max_elements``, default 8): the widest composition of the built-in ``bandgap`` task
has 8 elements (15 of the 106,113 Materials Project formulas; the experimental table has at most
4), so the default loses nothing there. A composition with more than K elements keeps its K most
abundant elements (same order as above), their fractions renormalized to sum to 1, and one
warning per table says how many compositions were truncated; a larger ``max_elements`` keeps them
whole. Columns a descriptor model would standardize are meaningless to it here (atomic numbers
are labels), so this featurizer is for models that decode it.

Canonical form and invalid inputs are exactly those of the ``magpie`` featurizer
(`s2rbench_plugins.featurizers.composition.canonical_formula`): both featurizers count the same
simulated/real overlap, and deuterium and tritium are hydrogen.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from s2rbench.contracts.featurizer import Featurizer
from s2rbench.errors import S2RBenchError
from s2rbench.hookspecs import hookimpl
from s2rbench_plugins.featurizers.composition import canonicalize_formulas

__all__ = ["DEFAULT_MAX_ELEMENTS", "CompositionElements", "decode_elements", "register_featurizers"]

#: Default cap on the elements of one composition (see the module docstring).
DEFAULT_MAX_ELEMENTS = 8
#: Largest cap accepted (bounds the width before any memory is allocated).
MAX_MAX_ELEMENTS = 32

_TOKEN = re.compile(r"([A-Z][a-z]*)(\d*(?:\.\d*)?)")


class TruncatedCompositionsWarning(UserWarning):
    """Some compositions had more elements than the cap; their least abundant ones were dropped."""


@lru_cache(maxsize=1)
def _atomic_numbers() -> dict[str, int]:
    from pymatgen.core import Element

    return {el.symbol: int(el.Z) for el in Element}


def encode_formulas(formulas: Sequence[str], max_elements: int) -> tuple[np.ndarray, int]:
    """(len(formulas), 2K) matrix for canonical formulas, and how many were truncated to K."""
    z_of = _atomic_numbers()
    k = int(max_elements)
    out = np.zeros((len(formulas), 2 * k), dtype=np.float64)
    truncated = 0
    for row, formula in enumerate(formulas):
        tokens = _TOKEN.findall(formula)
        amounts = np.array([float(num) if num else 1.0 for _, num in tokens], dtype=np.float64)
        z = np.array([z_of[sym] for sym, _ in tokens], dtype=np.float64)
        order = np.argsort(-amounts, kind="stable")  # ties keep canonical formula order
        if len(order) > k:
            truncated += 1
            order = order[:k]
        kept = amounts[order]
        out[row, : len(order)] = z[order]
        out[row, k : k + len(order)] = kept / kept.sum()
    return out, truncated


def decode_elements(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split a ``composition-elements`` matrix into (atomic numbers int64, fractions float64), each (rows, K).

    Raises `S2RBenchError` when the matrix cannot be such a matrix (odd width, non-integer or
    negative atomic numbers, negative fractions): the usual cause is a model that decodes
    compositions run with a descriptor featurizer.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] == 0 or X.shape[1] % 2:
        raise S2RBenchError(
            f"expected composition-elements columns (element_1..K, fraction_1..K), got a matrix of shape "
            f"{X.shape}; run this model with --featurizer composition-elements"
        )
    k = X.shape[1] // 2
    z, frac = X[:, :k], X[:, k:]
    finite = np.isfinite(X).all(axis=1)
    zf, ff = z[finite], frac[finite]
    if (
        np.any(zf != np.round(zf))
        or np.any(zf < 0)
        or np.any(zf > 118)
        or np.any(ff < 0)
        or np.any((zf == 0) != (ff == 0))
        or np.any(zf[:, 0] == 0)
    ):
        raise S2RBenchError(
            "the feature columns are not composition-elements columns (atomic numbers and fractions); "
            "run this model with --featurizer composition-elements"
        )
    return np.where(np.isfinite(z), z, 0).astype(np.int64), np.where(np.isfinite(frac), frac, 0.0)


class CompositionElements(Featurizer):
    """Elements (atomic numbers) and atomic fractions of a composition, K slots each."""

    name = "composition-elements"
    version = "1"
    input_kind = "composition"
    description = (
        "atomic numbers and fractions of a composition's K most abundant elements (K = max_elements, "
        "default 8), for models that learn from the stoichiometry itself (roost)"
    )

    def __init__(self, max_elements: int = DEFAULT_MAX_ELEMENTS, parallel: bool = True) -> None:
        if not isinstance(max_elements, int) or not 1 <= max_elements <= MAX_MAX_ELEMENTS:
            raise S2RBenchError(
                f"composition-elements: max_elements must be an integer in 1..{MAX_MAX_ELEMENTS}, got {max_elements!r}"
            )
        self.max_elements = max_elements
        self.parallel = bool(parallel)

    def canonicalize(self, inputs: Sequence[str]) -> list[str | None]:
        return canonicalize_formulas(inputs, parallel=self.parallel)

    def featurize_canonical(self, inputs: Sequence[str]) -> np.ndarray:
        unique = list(dict.fromkeys(inputs))
        X, truncated = encode_formulas(unique, self.max_elements)
        if truncated:
            warnings.warn(
                f"composition-elements: {truncated} composition(s) have more than {self.max_elements} elements; "
                f"only their {self.max_elements} most abundant were kept (fractions renormalized)",
                TruncatedCompositionsWarning,
                stacklevel=2,
            )
        pos = {s: i for i, s in enumerate(unique)}
        return X[[pos[s] for s in inputs]]

    def feature_names(self) -> list[str]:
        k = self.max_elements
        return [f"element_{i}" for i in range(1, k + 1)] + [f"fraction_{i}" for i in range(1, k + 1)]

    def config(self) -> dict:
        return {"max_elements": self.max_elements, "canonical": "reduced-integer-v1", "order": "fraction-desc-v1"}


@hookimpl
def register_featurizers(register):
    register(CompositionElements())
