"""Leaderboard entries state where the gain comes from (issue 17, part 4): the MAE and gain on test
rows whose input is / is not in the trial's pretraining set. `submit` states it as `fit --json`
reports it, the check re-derives it from the predictions and the pretraining sets and refuses a
forged one, the page shows it at n_max, and entries without it still pass."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from cardkit import write_lookup_task

from s2rbench import leaderboard as lb
from s2rbench import submission as S
from s2rbench.analysis.overlap_view import run_overlap
from s2rbench.leaderboard import page
from s2rbench.leaderboard.poolcheck import overlap_problems, pool_rows
from s2rbench.sweep.store import Store
from s2rbench.tasks import load_card


@pytest.fixture(scope="module")
def lookup(tmp_path_factory) -> Path:
    """An own-data card: simulated inputs 0..199, real inputs 100..239 (100 of 140 in the pool)."""
    return write_lookup_task(tmp_path_factory.mktemp("lookup"), "half of the real inputs are simulated too")


@pytest.fixture(scope="module")
def card(lookup):
    return load_card(lookup)


@pytest.fixture(scope="module")
def run_dir(lookup, tmp_path_factory) -> Path:
    from s2rbench.sweep import run

    out = tmp_path_factory.mktemp("run") / "lookup-ridge"
    run(str(lookup), "ridge", quick=True, out=out, device="cpu", progress=False, fit=False)
    return out


@pytest.fixture(scope="module")
def sub(run_dir, card) -> dict:
    with Store(run_dir, create=False) as store:
        rows, config, preds = store.results(), store.get_meta("config"), store.predictions()
    return S.build_submission(
        rows, config, name="Ridge lookup", date="2026-01-02", predictions=preds, cards={"lookup": card}
    )


def _validate(s: dict, card) -> list[str]:
    return S.validate(s, cards={"lookup": card})


def _overlap(s: dict, card) -> list[str]:
    return overlap_problems(s, card, n_boot=S.FIT_BOOT, seed=S.FIT_SEED, ci=S.CI)


def test_a_run_with_overlap_states_the_split_fit_reports(sub, run_dir, card):
    ov = sub["overlap_summary"]
    assert S.schema_problems(sub) == []
    assert [e["n"] for e in ov["by_n"]] == sub["results"]["sizes"] == [20, 80, 200]
    assert (ov["m"], ov["n_boot"], ov["seed"]) == (sub["results"]["m"], S.FIT_BOOT, S.FIT_SEED)
    last = ov["by_n"][-1]
    assert last["n_test_in_pool"] > 0 and last["n_test_out_pool"] > 0  # both sides populated at n = 200
    assert last["n_test_in_pool"] + last["n_test_out_pool"] == last["n_test"]
    for side in ("in_pool", "out_pool"):
        lo, hi = last[f"mae_{side}_ci"]
        assert lo <= last[f"mae_{side}"] <= hi and last[f"gain_{side}"] is not None
    # the numbers `s2rbench fit --json` gives for the run directory (the same function, same bootstrap)
    fit = json.loads(json.dumps(run_overlap(run_dir, n_boot=S.FIT_BOOT, seed=S.FIT_SEED), default=float))
    assert ov["by_n"] == fit["by_n"]
    # the split is derived, not measured: it does not enter the content id
    assert S.content_hash(sub) == S.content_hash({k: v for k, v in sub.items() if k != "overlap_summary"})
    assert _validate(sub, card) == []


def test_the_check_re_derives_the_pretraining_sets(sub, run_dir, card):
    """The rows re-derived from the predictions are the run's own in-pool / out-of-pool columns."""
    rows, scale = pool_rows(sub, card)
    with Store(run_dir, create=False) as store:
        stored = store.results()
    assert scale > 0
    key = ["n", "trial"]
    a = rows.sort_values(key).reset_index(drop=True)
    b = stored.sort_values(key).reset_index(drop=True)
    assert a["n_test_in_pool"].tolist() == b["n_test_in_pool"].tolist()
    assert a["n_test_out_pool"].tolist() == b["n_test_out_pool"].tolist()
    for col in ("mae_in_pool", "mae_out_pool"):
        x, y = a[col].to_numpy(dtype=float), b[col].to_numpy(dtype=float)
        assert np.array_equal(np.isnan(x), np.isnan(y))
        assert np.allclose(x[~np.isnan(x)], y[~np.isnan(y)], rtol=1e-5, atol=1e-6)  # float32 predictions
    # scratch rows: the same pool entry ranks (which n each test row's input enters the pool at)
    for ra, rb in zip(a[a["n"] == 0]["pool_entry"], b[b["n"] == 0]["pool_entry"]):
        assert json.loads(ra)["entry"] == json.loads(rb)["entry"]


@pytest.mark.parametrize(
    "forge, field",
    [
        (lambda e: e.__setitem__("gain_out_pool", e["gain_out_pool"] + 0.05), "gain_out_pool"),
        (lambda e: e.__setitem__("mae_in_pool", e["mae_in_pool"] * 0.9), "mae_in_pool"),
        (lambda e: e.__setitem__("n_test_in_pool", e["n_test_in_pool"] + 1), "n_test_in_pool"),
        (lambda e: e["gain_in_pool_ci"].__setitem__(1, e["gain_in_pool_ci"][1] + 0.02), "gain_in_pool_ci[1]"),
        (lambda e: e.__setitem__("gain_in_pool", None), "gain_in_pool"),
    ],
)
def test_a_forged_split_is_refused(sub, card, forge, field):
    forged = copy.deepcopy(sub)
    forge(forged["overlap_summary"]["by_n"][-1])
    assert S.schema_problems(forged) == [] and S.identity_problems(forged, None) == []  # a valid-looking file
    problems = _validate(forged, card)
    assert any(p.startswith(f"overlap_summary.by_n[2].{field}: stated ") for p in problems), problems


def test_a_split_that_claims_other_sizes_or_no_evidence_is_refused(sub, card):
    forged = copy.deepcopy(sub)
    forged["overlap_summary"]["by_n"].pop(0)
    assert any(p.startswith("overlap_summary.by_n: sizes [80, 200]") for p in _validate(forged, card))
    # stated without predictions to re-derive it from: refused (whatever else is wrong with the file)
    bare = copy.deepcopy(sub)
    bare["results"].pop("predictions")
    assert any(
        p.startswith("overlap_summary: stated, but the entry carries no predictions") for p in _overlap(bare, card)
    )
    # the split is re-derived from the task's simulated data: another pool cannot be checked
    other = copy.deepcopy(sub)
    other["data"]["sim"] = "0" * 64
    got = _overlap(other, card)
    assert len(got) == 1 and "data.sim: the run's simulated-data fingerprint 000000000000" in got[0]


def test_entries_without_a_split_still_pass(sub, card):
    old = copy.deepcopy(sub)
    del old["overlap_summary"]
    assert S.schema_problems(old) == [] and _validate(old, card) == []
    assert page._pool_cell(old) == "—"


def test_the_page_shows_the_split_at_n_max(sub, card, tmp_path):
    cell = page._pool_cell(sub)
    last = sub["overlap_summary"]["by_n"][-1]
    assert cell.startswith(
        f"in {page._g(last['n_test_in_pool'])}: {page._g(last['mae_in_pool'])} ({last['gain_in_pool']:+.1%})"
    )
    assert f" · new {page._g(last['n_test_out_pool'])}: {page._g(last['mae_out_pool'])}" in cell
    root = tmp_path / "leaderboard"
    root.mkdir()
    S.write_submission(sub, root)
    old = copy.deepcopy(sub)
    del old["overlap_summary"]
    old["name"] = "Ridge lookup without split"
    old["id"] = S.make_id(old["name"], "lookup", S.content_hash(old))
    S.write_submission(old, root)
    lb.build(root)
    text = (root / "README.md").read_text()
    lines = text.splitlines()
    header = [c.strip() for c in next(ln for ln in lines if page.POOL_COLUMN in ln).split("|")]
    col = header.index(page.POOL_COLUMN)
    assert [c.strip() for c in next(ln for ln in lines if "Ridge lookup]" in ln).split("|")][col] == cell
    assert [c.strip() for c in next(ln for ln in lines if "without split" in ln).split("|")][col] == "—"


def test_predictions_edited_with_their_mae_but_not_the_split_are_refused(sub, card):
    """A better prediction and its MAE restated (rescoring and the fit agree); the split no longer does."""
    from s2rbench.leaderboard.rescore import real_side
    from s2rbench.sweep import predictions as P
    from s2rbench.sweep import protocol as proto

    side = real_side(card, "vector", "random")
    forged = copy.deepcopy(sub)
    res, j = forged["results"], len(sub["results"]["sizes"]) - 1
    for i, t in enumerate(res["trials"]):
        test = proto.real_split(len(side.y), side.key, 0, t, card.protocol.test_fraction, side.groups).test
        v = 0.5 * P.decode(res["predictions"]["sizes"][i][j]) + 0.5 * side.y[test]
        res["predictions"]["sizes"][i][j] = P.encode(v)
        res["mae"][i][j] = float(np.mean(np.abs(P.decode(P.encode(v)) - side.y[test])))
    forged["fit"], forged["summary"] = S.stated_numbers(S.recompute(forged))
    forged["name"] = "Better lookup"
    forged["id"] = S.make_id(forged["name"], "lookup", S.content_hash(forged))
    problems = _validate(forged, card)
    assert problems and problems[0].startswith("overlap_summary.by_n[2].mae_")
    assert all(p.startswith("overlap_summary") for p in problems), problems
    # restated with the project's own functions it is self-consistent again (reproduction catches it)
    forged["overlap_summary"] = S.restated_overlap(forged, card)
    assert _validate(forged, card) == []
