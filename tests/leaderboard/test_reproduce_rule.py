"""The reproduction rule for trials that diverge on another CPU (`s2rbench.leaderboard.reproduce.judge`).

The cells are built by hand: the rule is arithmetic on (entry MAE, re-run MAE, mean |Δprediction|),
and what it must tell apart is spelled out case by case (an honest divergence, a forged cell, a
systematic edge, a shifted block, a short training that differs).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from s2rbench.leaderboard.reproduce import (
    DIVERGED_MAE_RTOL,
    MAE_RTOL,
    PRED_RTOL,
    Reproduction,
    judge,
)


def cells(n: int, entry: np.ndarray, rerun: np.ndarray, d_pred: np.ndarray | None = None) -> list[dict]:
    d_pred = np.abs(rerun - entry) / entry * 2 if d_pred is None else d_pred
    return [
        {"n": n, "trial": 25 + i, "entry_mae": float(e), "rerun_mae": float(r), "d_pred": float(d)}
        for i, (e, r, d) in enumerate(zip(entry, rerun, d_pred, strict=True))
    ]


def exact(n: int, t: int = 25) -> list[dict]:
    e = np.linspace(0.7, 0.9, t)
    return cells(n, e, e.copy(), np.zeros(t))


def honest(t: int = 25, seed: int = 0) -> list[dict]:
    """What the AMD EPYC re-run of the mlp v4 full bandgap entry looked like at n = 10⁵: most trials
    within 2%, some up to ~13% either way, the block mean within 1%."""
    rng = np.random.default_rng(seed)
    e = rng.uniform(0.5, 0.62, t)
    rel = rng.normal(0, 0.01, t)
    rel[:: max(t // 4, 1)] = [0.12, -0.11, 0.06, -0.07, 0.04][: len(rel[:: max(t // 4, 1)])]
    rel -= rel.mean()  # no drift: a divergence goes either way
    return cells(100000, e, e * (1 + rel))


def run(*units: list[dict]) -> Reproduction:
    rep = Reproduction(entry="x", content_hash="0" * 64)
    rep.units = [{"n": u[0]["n"], "m": 200, "trials": [c["trial"] for c in u]} for u in units]
    judge(rep, list(units))
    rep.reproduced = not rep.problems
    return rep


def test_every_trial_within_the_allowance_is_a_trial_level_pass():
    rep = run(exact(100), exact(100000))
    assert rep.reproduced and rep.level == "trial" and rep.diverged == [] and rep.blocks == []
    assert rep.worst_pred_rel == 0 and rep.worst_mae_rel == 0


def test_an_honest_divergence_at_the_largest_n_passes_at_block_level_and_says_so():
    big = honest()
    rep = run(exact(100), big)
    assert rep.reproduced, rep.problems
    assert rep.level == "block"
    bad = {c["trial"] for c in big if abs(c["rerun_mae"] / c["entry_mae"] - 1) > MAE_RTOL or c["d_pred"] > PRED_RTOL}
    assert {d["trial"] for d in rep.diverged} == bad and len(bad) >= 4
    assert rep.blocks[0]["n"] == 100000 and rep.blocks[0]["rel"] < MAE_RTOL
    assert "diverged" in rep.describe() and "accepted at block level" in rep.describe()
    assert rep.worst_mae_rel > 0.1  # the record keeps what was accepted


def test_the_smallest_n_must_reproduce_trial_by_trial():
    small = exact(100)
    small[3]["rerun_mae"] *= 1.03  # a short training that differs is another model, data or split
    rep = run(small, exact(100000))
    assert not rep.reproduced
    assert any(p.startswith("n=100, trial 28: ") for p in rep.problems)
    assert any("the smallest n" in p and "trial by trial" in p for p in rep.problems)


def test_a_cell_moved_halfway_to_the_truth_fails_even_inside_an_honest_block():
    big = honest()
    big[5]["entry_mae"] = big[5]["rerun_mae"] / 2  # halfway to the truth halves the MAE
    rep = run(exact(100), big)
    assert not rep.reproduced
    assert any(p.startswith("n=100000, trial 30: MAE ") and "beyond what a divergence" in p for p in rep.problems)
    far = honest()
    far[7]["rerun_mae"] = far[7]["entry_mae"] * (1 + DIVERGED_MAE_RTOL + 0.05)
    assert any(p.startswith("n=100000, trial 32: MAE ") for p in run(exact(100), far).problems)


def test_the_measured_divergence_on_other_kernels_passes_at_block_level():
    """The real re-run (entry mlp v4 full bandgap, AVX2 kernels on an AVX-512 CPU): 8 of 25 trials
    diverged at n = 10⁵, one by 14.2% in MAE and one by a mean 68% of the MAE in its predictions;
    the rule must accept it, and it would not without the block level."""
    data = json.loads((Path(__file__).parents[1] / "data" / "reproduce" / "avx2-rerun.json").read_text())
    units = [[c for c in data["cells"] if c["n"] == n] for n in (100, 100000)]
    assert [len(u) for u in units] == [25, 25]
    rep = run(*units)
    assert rep.reproduced, rep.problems
    assert rep.level == "block" and len(rep.diverged) == 8 and {d["n"] for d in rep.diverged} == {100000}
    assert max(d["d_pred"] for d in rep.diverged) > 0.6 and max(d["d_mae"] for d in rep.diverged) > 0.14
    assert rep.blocks[0]["rel"] < 0.001 and rep.blocks[0]["wilcoxon_p"] > 0.5
    # The same block with the entry's largest-n MAEs made 3% better each: the mean and the sign test catch it.
    forged = [dict(c, entry_mae=c["entry_mae"] * 0.97) for c in units[1]]
    bad = run(units[0], forged)
    assert not bad.reproduced and any("the block's mean MAE" in p for p in bad.problems)
    assert any("one-sided Wilcoxon" in p for p in bad.problems)


def test_a_systematic_edge_inside_every_bound_fails_the_sign_test():
    """Eight of 25 trials made 4.5% better each: every trial inside the divergence bound and the
    block mean inside 2%, but an honest divergence does not favour the entry in every large trial."""
    rng = np.random.default_rng(1)
    e = rng.uniform(0.5, 0.62, 25)
    rerun = e * (1 + rng.normal(0, 0.002, 25))
    entry = e.copy()
    entry[:8] = e[:8] * 0.955
    rep = run(exact(100), cells(100000, entry, rerun))
    block = rep.blocks[0]
    assert block["rel"] < MAE_RTOL and all(d["d_mae"] < DIVERGED_MAE_RTOL for d in rep.diverged)
    assert not rep.reproduced and any("one-sided Wilcoxon" in p for p in rep.problems), rep.problems
    # The same edges in both directions (what a divergence looks like) pass.
    entry[4:8] = e[4:8] * 1.045
    assert run(exact(100), cells(100000, entry, rerun)).reproduced


def test_a_shifted_block_mean_fails():
    big = honest()
    for c in big:
        c["rerun_mae"] *= 1.03
    rep = run(exact(100), big)
    assert not rep.reproduced
    assert any("the block's mean MAE re-runs at" in p and "allowed 2%" in p for p in rep.problems)


@pytest.mark.parametrize("t", [3, 4])
def test_small_blocks_cannot_fail_the_sign_test_and_rely_on_the_bounds(t):
    """With fewer than 5 trials a one-sided Wilcoxon cannot reach p < 0.05: the bounds decide."""
    e = np.full(t, 0.6)
    rep = run(exact(100, t), cells(100000, e * 0.97, e))  # every trial 3% better than its re-run
    assert rep.blocks[0]["wilcoxon_p"] >= 0.05
    assert not rep.reproduced and any("the block's mean MAE" in p for p in rep.problems)
