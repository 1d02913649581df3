"""What makes a Sim2Real pair suspect before anyone trains on it: `task check`'s data diagnostics.

Each finding is a plain sentence with the numbers that triggered it (the report lists them as
warnings; none stops a run, because each can be right: a simulation may truly be anticorrelated).

- **Units and signs.** On the inputs both tables share, the ratio of spreads (std) and of medians
  of sim vs real should be near 1 when both sides are in one unit: eV/atom against kJ/mol gave
  spreads 82× apart with r = 0.97, a flipped sign r = −0.97; both passed silently before. A spread
  or median ratio outside [1/3, 3] or a Pearson r below −0.3 is flagged, and so are declared units
  (`[sim] unit`, `[real] unit`) that differ with no conversion (`scale`, `offset`) declared.
- **Repeated inputs.** How many canonical inputs repeat in each table, and which aggregation the
  comparison used (`[sim] aggregate`; the mean of polymorphs invents outliers where the minimum,
  the ground state, is right).
- **The same file on both sides** (the real table would be compared with itself).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

#: A ratio of spreads or medians outside [1/RATIO_LIMIT, RATIO_LIMIT] is flagged (same-unit pairs sit near 1).
RATIO_LIMIT = 3.0
#: A correlation below this on the shared inputs is flagged as a possible flipped sign.
NEGATIVE_R = -0.3
#: A positive target spanning this many decades (max/min) is flagged when no transform is declared.
DECADES = 3.0
#: Fewest shared inputs for the ratio and sign checks (fewer pairs say little).
MIN_PAIRS = 5


def scale_findings(sim: np.ndarray, real: np.ndarray, r: float | None) -> tuple[dict[str, Any], list[str]]:
    """Spread ratio, median ratio and sign of sim vs real on shared inputs, with the warnings they trigger."""
    sim, real = np.asarray(sim, float), np.asarray(real, float)
    out: dict[str, Any] = {"spread_ratio": None, "median_ratio": None}
    found: list[str] = []
    if len(sim) < MIN_PAIRS:
        return out, found
    s_sd, r_sd = float(np.std(sim, ddof=1)), float(np.std(real, ddof=1))
    if s_sd > 0 and r_sd > 0:
        ratio = s_sd / r_sd
        out["spread_ratio"] = ratio
        if not 1 / RATIO_LIMIT <= ratio <= RATIO_LIMIT:
            found.append(
                f"units? on the {len(sim)} shared inputs the simulated values spread {ratio:.3g}× as widely as the measured ones "
                f"(std {s_sd:.4g} vs {r_sd:.4g}); if the sides use different units, declare the conversion ([sim] scale, offset)"
            )
    s_med, r_med = float(np.median(sim)), float(np.median(real))
    # a median ratio means something when both medians stand clear of zero on their own side's scale
    if s_med * r_med > 0 and abs(s_med) > 0.25 * s_sd and abs(r_med) > 0.25 * r_sd:
        ratio = s_med / r_med
        out["median_ratio"] = ratio
        if not 1 / RATIO_LIMIT <= ratio <= RATIO_LIMIT:
            found.append(
                f"units? on the {len(sim)} shared inputs the simulated median is {ratio:.3g}× the measured one "
                f"({s_med:.4g} vs {r_med:.4g}); if the sides use different units, declare the conversion ([sim] scale, offset)"
            )
    if r is not None and r < NEGATIVE_R:
        found.append(
            f"sign? simulation and experiment are anticorrelated on the {len(sim)} shared inputs (Pearson r = {r:.2f}); "
            "if one side's sign convention is flipped, declare [sim] scale = -1"
        )
    return out, found


def unit_findings(card: Any) -> list[str]:
    """Declared units that differ between the sides with no declared conversion."""
    su, ru = card.sim.unit.strip(), card.real.unit.strip()
    if su and ru and su != ru and not (card.sim.converts or card.real.converts):
        return [
            f"units: [sim] unit is {su!r} but [real] unit is {ru!r} and no conversion is declared; "
            "add [sim] scale (and offset) so that value·scale + offset is in the real unit"
        ]
    return []


def repeat_sentence(side: str, counts: dict[str, int], how: str | None = None) -> str | None:
    if not counts["repeated_inputs"]:
        return None
    head = (
        f"{counts['repeated_inputs']} {side} input(s) repeat ({counts['rows_of_repeated_inputs']} rows, up to "
        f"{counts['max_copies']} copies of one input)"
    )
    if side == "sim":
        if how in (None, "keep"):
            return (
                head + '; the comparison uses their mean and pretraining keeps every row ([sim] aggregate = "keep"); '
                'declare aggregate = "min" (e.g. ground states), "median" or "mean" to combine them'
            )
        return head + f"; combined by their {how} for the comparison and for pretraining ([sim] aggregate = {how!r})"
    return head + "; all copies of one input stay on one side of every train/test split (as one group)"


def decades_finding(side: str, y: np.ndarray, transform: str) -> list[str]:
    """A positive target spanning three decades or more, with no transform declared."""
    y = np.asarray(y, float)
    if transform != "none" or len(y) < 3 or not np.all(y > 0):
        return []
    span = float(np.log10(y.max() / y.min()))
    if span < DECADES:
        return []
    return [
        f"the {side} target spans {span:.1f} decades ({y.min():.3g} to {y.max():.3g}): a few extreme rows dominate "
        'every MAE; consider [target] transform = "log10" (models then train in log space; runs also store mae_original)'
    ]


def same_file_finding(paths: dict[str, str | None], shas: dict[str, str | None]) -> list[str]:
    a, b = paths.get("sim"), paths.get("real")
    if (
        a
        and b
        and (Path(a).resolve() == Path(b).resolve() or (shas.get("sim") and shas.get("sim") == shas.get("real")))
    ):
        return [
            f"the simulated and the real table are the same file ({Path(a).name}); unless both columns live in one "
            "table on purpose, point [sim] and [real] at different files"
        ]
    return []
