"""Behaviour frozen across a redesign: the same command with the same seed stores the same rows.

The expected rows in ``tests/data/regression/*.json`` were written by the code as it stood before
the package was regrouped by pipeline stage (issue 14), from frozen, renamed copies of two cards
(the synthetic task v1.0.0 and polymer-density v1.2.0) run quick with ``ridge``. A redesign that
changes any stored digit fails here. A *deliberate* change of numbers (a new split rule, a new model
version) regenerates them with ``S2RBENCH_REGEN_REGRESSION=1 python -m pytest
tests/sweep/test_regression_rows.py`` and says why in its commit message.

Exact comparison is right here, and only here: the fixtures are compared on the machine type CI
runs on, with one BLAS thread per unit; they promise "this code path gives these bytes", not
"every CPU gives these bytes" (see the leaderboard check for what holds across CPUs).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

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
    # json round-trips a float exactly (repr), so this compares every stored digit
    assert json.loads(json.dumps(got, sort_keys=True)) == expected
