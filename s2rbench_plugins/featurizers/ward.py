"""Composition featurizer ``magpie-ward``: Ward et al. 2016's general-purpose attribute set, vectorised.

Why: ``magpie`` gives only the element-property statistics of Ward, Agrawal, Choudhary & Wolverton,
"A general-purpose machine learning framework for predicting properties of inorganic materials"
(npj Comput. Mater. 2, 16028 (2016)). The paper's set also has stoichiometric, valence-orbital and
ionic-character attributes, and issue 17 reported an independent bandgap implementation, on about
155 composition features, that beat the ``mlp`` model. This featurizer is that wider set, so that
its effect can be measured (the measurement is below).

Columns (148), as matminer composes them, each equal to the matminer featurizer named:

* the 132 ``magpie`` columns (``ElementProperty.from_preset("magpie")``), computed by ``magpie``'s
  own vectorised code (`s2rbench_plugins.featurizers.composition.magpie_statistics`);
* ``Stoichiometry()`` (6): the number of elements (``0-norm``) and the p-norms
  (sum_i f_i^p)^(1/p) of the atomic fractions f_i for p = 2, 3, 5, 7, 10;
* ``ValenceOrbital()`` (8): the fraction-weighted mean numbers of s, p, d, f valence electrons
  (``avg s valence electrons`` ...) and each divided by the mean total number of valence
  electrons (``frac s valence electrons`` ...), from the same Magpie element data;
* ``IonProperty()`` without ``compound possible`` (2): with the ionic character of a pair of
  elements I(i, j) = 1 - exp(-(chi_i - chi_j)^2 / 4) from Pauling electronegativities (pymatgen's,
  imputed as matminer's ``PymatgenData`` does: the mean over elements for noble gases and others
  without one), ``max ionic char`` = max over pairs of I and ``avg ionic char`` =
  sum over pairs i < j of f_i f_j I(i, j); both 0 for a single element.

Omitted: IonProperty's ``compound possible`` (whether charge-neutral oxidation states exist).
matminer answers it with pymatgen's ``oxi_state_guesses``, an enumeration of oxidation-state
combinations per composition that takes from milliseconds to seconds each (minutes to hours for a
10^5-row simulated table), and it is one boolean; the paper lists it, so the set here has 148
columns where Ward et al. have 149 in matminer's composition (with ``ValenceOrbital``'s averages).

Everything is computed with numpy over all (composition, element) pairs at once from the one parse
``magpie`` does; the pairwise ionic character runs once per distinct number of elements, not per
row. Canonical form, invalid inputs and parallel parsing are ``magpie``'s, so both featurizers count
the same simulated/real overlap, and values equal matminer's up to the same rounding (a relative
1e-6 at worst, exact for integer formulas; tests/plugins/test_featurizers.py compares them).

Measured on bandgap (issue 17, part 2; ``s2rbench run bandgap --m 200 --sizes 100,1000,10000,30000
--seed 3 --featurizer magpie-ward``, ``mlp`` v4, paired with the same runs on ``magpie``): with 16
trials MAE 0.787 / 0.769 / 0.666 / 0.624 eV at n = 10² / 10³ / 10⁴ / 3·10⁴ against 0.788 / 0.764 /
0.676 / 0.621, α = 0.042 [0.036, 0.049], R² 0.90 (``magpie``: 0.042 [0.037, 0.047], 0.91); with the
polymorphs averaged 0.775 / 0.767 / 0.673 / 0.610 (``magpie``: 0.777 / 0.776 / 0.670 / 0.624). No
difference beyond 0.011 eV except -0.014 at 3·10⁴ with averaging (14/16 trials, p = 0.058); far
from the issue's target (α >= 0.06, MAE <= 0.57 eV at 3·10⁴). The table, with the 4-trial runs and
wall times, is in the ``mlp`` model's docstring (s2rbench_plugins/models/mlp.py, "What matters,
measured", finding 4). Featurizing the 106,113 simulated formulas takes 7-9 s on a loaded 2-core
machine, as ``magpie`` does (the parse dominates both; the extra columns add well under a second).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from s2rbench_plugins.featurizers.composition import (
    MAGPIE_PROPERTIES,
    MAGPIE_STATS,
    Magpie,
    composition_pairs,
    element_index,
    magpie_statistics,
)

__all__ = ["ORBITALS", "P_NORMS", "MagpieWard", "pauling_table", "ward_extras"]

#: Stoichiometry's p-norms (matminer's default p_list; p = 0 is the number of elements).
P_NORMS: tuple[int, ...] = (0, 2, 3, 5, 7, 10)
#: ValenceOrbital's orbitals, in its order.
ORBITALS: tuple[str, ...] = ("s", "p", "d", "f")


@lru_cache(maxsize=2)
def pauling_table(impute_nan: bool = True) -> np.ndarray:
    """Pauling electronegativity per element row of `element_index`, exactly as matminer's
    ``PymatgenData(impute_nan=...)`` gives it to ``IonProperty`` (NaN where missing and not imputed)."""
    from matminer.utils.data import PymatgenData
    from pymatgen.core import Element

    data = PymatgenData(impute_nan=impute_nan)
    index = element_index()
    chi = np.empty(len(index))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pymatgen warns for elements without an electronegativity
        for el in Element:
            chi[index[el.symbol]] = float(data.get_elemental_property(el, "X"))
    return chi


def _column(prop: str, stat: str) -> int:
    return MAGPIE_PROPERTIES.index(prop) * len(MAGPIE_STATS) + MAGPIE_STATS.index(stat)


def ward_extras(magpie: np.ndarray, pairs: tuple, impute_nan: bool = True) -> np.ndarray:
    """(rows, 6 + 8 + 2) Stoichiometry, ValenceOrbital and ionic-character columns.

    ``magpie``: the rows' `magpie_statistics` (the valence means are its ``mean`` columns);
    ``pairs``: their `composition_pairs`.
    """
    rows, elems, amounts, starts = pairs
    n = len(starts)
    if n == 0:
        return np.zeros((0, len(P_NORMS) + 2 * len(ORBITALS) + 2))
    counts = np.diff(np.r_[starts, len(rows)])
    frac = amounts / np.add.reduceat(amounts, starts)[rows]

    stoich = np.empty((n, len(P_NORMS)))
    for k, p in enumerate(P_NORMS):
        stoich[:, k] = counts if p == 0 else np.add.reduceat(frac**p, starts) ** (1.0 / p)

    avg = np.stack([magpie[:, _column(f"N{o}Valence", "mean")] for o in ORBITALS], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):  # no valence electrons: NaN/inf, as matminer
        valence = np.hstack([avg, avg / magpie[:, [_column("NValence", "mean")]]])

    chi = pauling_table(impute_nan)[elems]
    ionic = np.zeros((n, 2))  # single elements: 0 and 0
    for k in np.unique(counts[counts >= 2]):
        sel = np.flatnonzero(counts == k)
        idx = starts[sel, None] + np.arange(k)  # (compositions with k elements, k) pair positions
        i, j = np.triu_indices(k, 1)
        x, f = chi[idx], frac[idx]
        char = 1.0 - np.exp(-0.25 * (x[:, i] - x[:, j]) ** 2)
        ionic[sel, 0] = char.max(axis=1)
        ionic[sel, 1] = (f[:, i] * f[:, j] * char).sum(axis=1)
    return np.hstack([stoich, valence, ionic])


class MagpieWard(Magpie):
    """Ward et al. 2016's general-purpose composition attributes (148 columns; module docstring)."""

    name = "magpie-ward"
    version = "1"
    input_kind = "composition"
    description = (
        "Ward et al. 2016 general-purpose set: magpie's 132 element-property statistics + Stoichiometry "
        "p-norms (6) + ValenceOrbital (8) + max/avg ionic character (2), equal to matminer's "
        "featurizers (IonProperty's 'compound possible' omitted)"
    )

    def featurize_canonical(self, inputs: Sequence[str]) -> np.ndarray:
        unique = list(dict.fromkeys(inputs))
        if not unique:
            return np.zeros((0, len(self.feature_names())))
        pairs = composition_pairs(unique)
        magpie = magpie_statistics(unique, self.impute_nan, pairs=pairs)
        X = np.hstack([magpie, ward_extras(magpie, pairs, self.impute_nan)])
        pos = {s: i for i, s in enumerate(unique)}
        return X[[pos[s] for s in inputs]]

    def feature_names(self) -> list[str]:
        return [
            *super().feature_names(),
            *(f"{p}-norm" for p in P_NORMS),
            *(f"{kind} {o} valence electrons" for kind in ("avg", "frac") for o in ORBITALS),
            "max ionic char",
            "avg ionic char",
        ]

    def config(self) -> dict:
        return {**super().config(), "preset": "ward2016", "omitted": ["compound possible"]}
