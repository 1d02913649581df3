"""Behaviour frozen across a redesign: the same command with the same seed stores the same rows.

The expected rows in ``tests/data/regression/*.json`` were written by the code as it stood before
the package was regrouped by pipeline stage (issue 14), from frozen, renamed copies of two cards
(the synthetic task v1.0.0 and polymer-density v1.2.0) run quick with ``ridge``. A redesign that
changes any stored digit fails here. A *deliberate* change of numbers (a new split rule, a new model
version) regenerates them with ``S2RBENCH_REGEN_REGRESSION=1 python -m pytest
tests/sweep/test_regression_rows.py`` and says why in its commit message.

What is compared exactly: every column that identifies a row or counts rows (the unit, seeds,
sizes, split sizes, the choices in ``selected``), so a changed split rule, seed stream, grid or
unit layout fails. The errors (``mae``, ``rmse``) are compared to a relative 1e-9: the fixtures were
written on a CPU without AVX-512, and on an AMD EPYC with AVX-512 the same code and package versions
give ridge MAEs that differ from them by ~1e-13 relative (0.15837465933456416 against
0.15837465933457723): NumPy's and OpenBLAS's kernels sum in another order there. Float64 rounding of
a ridge solve on these sizes moves digits around 1e-15 to 1e-12; any change of behaviour (another
split, another penalty, another model version) moves an MAE by 1e-4 or more. A digit-for-digit
promise holds only on one CPU code path, which CI does not pin (see the leaderboard check for what
holds across CPUs).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from s2rbench import run

HERE = Path(__file__).resolve().parents[1] / "data" / "regression"
#: Columns that depend only on the protocol, the data and the model (not on timing or the clock).
STABLE = (
    "task",
    "model",
    "featurizer",
    "sampler",
    "n",
    "m",
    "trial",
    "seed",
    "mae",
    "rmse",
    "n_test",
    "n_train",
    "unit",
    "selected",
)

#: Columns compared to a relative tolerance (see the module docstring), the rest exactly.
ERRORS = ("mae", "rmse")
RTOL = 1e-9

CASES = {
    "synthetic-ridge-quick": ("synthetic-v1.toml", False),
    "polymer-density-ridge-quick": ("polymer-density-v1.2.toml", True),
}


def _rows(card: str, tmp_path: Path, data_dir: Path | None) -> list[dict]:
    result = run(
        str(HERE / card), "ridge", quick=True, out=tmp_path / "run", data_dir=data_dir, progress=False, fit=False
    )
    frame = result.results.sort_values(["n", "m", "trial"])
    return [
        {c: (None if row[c] != row[c] else row[c]) for c in STABLE} for row in frame[list(STABLE)].to_dict("records")
    ]


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_command_same_seed_stores_the_same_rows(case, tmp_path, request):
    card, needs_data = CASES[case]
    data_dir = request.getfixturevalue("data_dir") if needs_data else None
    got = _rows(card, tmp_path, data_dir)
    path = HERE / f"{case}.json"
    if os.environ.get("S2RBENCH_REGEN_REGRESSION") == "1":
        path.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    expected = json.loads(path.read_text())
    assert len(got) == len(expected) > 0
    got = json.loads(json.dumps(got, sort_keys=True))  # the types a fixture holds
    exact = [{k: v for k, v in row.items() if k not in ERRORS} for row in got]
    assert exact == [{k: v for k, v in row.items() if k not in ERRORS} for row in expected]
    for col in ERRORS:
        g = np.array([row[col] for row in got], dtype=float)
        e = np.array([row[col] for row in expected], dtype=float)
        np.testing.assert_allclose(g, e, rtol=RTOL, atol=0, err_msg=f"{case}: column {col}")


def test_the_tolerance_still_catches_a_change_of_behaviour(tmp_path):
    """A fine-tuning ridge penalty 1% larger (10.1 for 10) (a change far smaller than any redesign makes) moves the MAEs by more
    than the tolerance: the comparison above is not vacuous."""
    result = run(
        str(HERE / "synthetic-v1.toml"),
        "ridge",
        quick=True,
        out=tmp_path / "run",
        model_params={"alpha_finetune": 10.1},
        progress=False,
        fit=False,
    )
    frame = result.results.sort_values(["n", "m", "trial"])
    expected = json.loads((HERE / "synthetic-ridge-quick.json").read_text())
    moved = np.abs(frame["mae"].to_numpy() / np.array([r["mae"] for r in expected]) - 1)
    assert (moved[frame["n"].to_numpy() > 0] > 100 * RTOL).all()
