"""In-pool / out-of-pool test rows (s2rbench.overlap): a tiny task whose in-pool rows a look-up model
answers exactly shows the split; counts add up; gains are paired with scratch on the same rows; old
stores still load."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from cardkit import write_lookup_task

from s2rbench import sweep
from s2rbench.analysis.overlap_view import run_overlap
from s2rbench.models import Model
from s2rbench.overlap import canonical_ids, entry_ranks, overlap_summary
from s2rbench.plugins import get_sampler
from s2rbench.sweep.store import Store


@pytest.fixture(scope="module")
def lookup_task(tmp_path_factory) -> Path:
    """Simulated inputs 0..199 with exact real values; real inputs 100..239: 100 of 140 in the pool."""
    return write_lookup_task(tmp_path_factory.mktemp("lookup"), "in-pool rows are answered exactly")


class Lookup(Model):
    """Recalls the simulated value of an input it pretrained on; the real training mean otherwise."""

    name = "lookup"
    version = "1"
    description = "test model"
    defaults: dict = {}

    def fit_predict(self, block):
        out = np.empty((block.n_trials, len(block.X_real)))
        for t in range(block.n_trials):
            out[t] = block.y_train[t][block.train_mask[t]].mean()
            seen = {float(block.X_sim[i, 0]): float(block.y_sim[i]) for i in block.sim_idx[t]}
            for r, x in enumerate(block.X_real[:, 0]):
                if float(x) in seen:
                    out[t, r] = seen[float(x)]
        return out


def _rows(prep, model, n, trials=(0, 1, 2, 3), m=60):
    units = sweep.plan_units("lookup", "lookup", "vector", [20, 80, 200], [m], 4, 4, 0)
    unit = next(u for u in units if u.n == n)
    return sweep.run_unit(unit, prep, model)


def test_in_pool_rows_are_split_from_the_others_and_counts_add_up(lookup_task):
    prep = sweep.prepare(str(lookup_task), use_cache=False)
    model = Lookup()
    for n in (0, 20, 80, 200):
        for t, row in enumerate(_rows(prep, model, n)):
            assert row["n_test_in_pool"] + row["n_test_out_pool"] == row["n_test"] == 35
            split = sweep.split_for(prep, 0, t)
            # membership by plain string sets, independently of the ids and np.isin
            order = sweep.sim_order_for(prep, get_sampler("random"), 0, t, split.train(60), 200)
            pool = {prep.sim_inputs[i] for i in order[:n]}
            inside = np.array([prep.real_inputs[i] in pool for i in split.test])
            assert row["n_test_in_pool"] == int(inside.sum())
            if n == 0:
                assert row["n_test_in_pool"] == 0 and row["mae_in_pool"] is None
                assert row["mae_out_pool"] == pytest.approx(row["mae"]) and row["pool_entry"] is not None
            else:
                assert row["pool_entry"] is None
            if row["n_test_in_pool"]:
                assert row["mae_in_pool"] < 1e-6  # recalled exactly (float32 storage)
            if row["n_test_out_pool"]:
                assert row["mae_out_pool"] > 0.3
            assert row["mae"] == pytest.approx(
                (
                    (row["mae_in_pool"] or 0) * row["n_test_in_pool"]
                    + (row["mae_out_pool"] or 0) * row["n_test_out_pool"]
                )
                / row["n_test"]
            )
    # at n = 200 every simulated input is in pool: exactly the test rows with inputs below 200
    rows = _rows(prep, model, 200)
    for t, row in enumerate(rows):
        test = sweep.split_for(prep, 0, t).test
        assert row["n_test_in_pool"] == sum(float(prep.real_inputs[i]) < 200 for i in test)


def test_summary_pairs_each_side_with_scratch_on_the_same_rows(lookup_task, tmp_path):
    out = tmp_path / "run"
    with Store(out) as store:
        prep = sweep.prepare(str(lookup_task), use_cache=False)
        for n in (0, 20, 80, 200):
            store.commit(_rows(prep, Lookup(), n))
        rows = store.results()
    s = overlap_summary(rows, n_boot=200)
    assert s["available"] and [e["n"] for e in s["by_n"]] == [20, 80, 200]
    for e in s["by_n"]:
        assert e["n_test_in_pool"] + e["n_test_out_pool"] == e["n_test"] == 35
        assert e["mae_in_pool"] < 1e-6 and e["gain_in_pool"] > 0.999
        # out of pool the look-up model *is* the scratch model (the real mean): no gain, exactly
        assert e["gain_out_pool"] == pytest.approx(0.0, abs=1e-6)
        lo, hi = e["mae_out_pool_ci"]
        assert lo <= e["mae_out_pool"] <= hi
    # more simulated rows: more test rows in pool (nested pretraining sets)
    shares = [e["share_in_pool"] for e in s["by_n"]]
    assert shares == sorted(shares) and shares[0] < shares[-1]
    # scratch on the in-pool rows of each n comes from the scratch rows' pool entries, paired by trial
    for e in s["by_n"]:
        assert e["scratch_in_pool"] > 0.3


def test_fit_json_reports_the_split_of_the_rows_it_fitted(lookup_task, tmp_path):
    """`s2rbench fit --json` gives the in-pool / out-of-pool split computed from the rows its summary
    read: the same numbers as reading the run directory again (`run_overlap`)."""
    import json

    from click.testing import CliRunner

    from s2rbench.cli import cli

    out = tmp_path / "fitted"
    sweep.run(str(lookup_task), "ridge", sizes=[20, 80, 200], trials=3, m=60, out=out, progress=False)
    res = CliRunner().invoke(cli, ["fit", str(out), "--json", "--boot", "50"])
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)["overlap"]
    expected = json.loads(json.dumps(run_overlap(out, n_boot=50), default=float))
    assert got["available"] and [e["n"] for e in got["by_n"]] == [20, 80, 200]
    assert got == expected


def test_entry_ranks_are_the_first_position_in_the_order():
    sim, real = canonical_ids(["a", "b", "a", "c"], ["c", "a", "z"])
    assert sim.tolist()[0] == sim.tolist()[2] and real[0] == sim[3]
    assert entry_ranks(sim, np.array([3, 2, 1, 0]), real).tolist() == [1, 2, 0]
    assert entry_ranks(sim, np.array([1]), real).tolist() == [0, 0, 0]


def test_old_stores_load_and_say_the_split_is_not_available(tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    conn = sqlite3.connect(old / "results.sqlite")
    conn.executescript("""
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE results (
        task TEXT NOT NULL, model TEXT NOT NULL, featurizer TEXT NOT NULL, sampler TEXT NOT NULL DEFAULT 'random',
        n INTEGER NOT NULL, m INTEGER NOT NULL, trial INTEGER NOT NULL, seed INTEGER NOT NULL,
        mae REAL NOT NULL, rmse REAL NOT NULL, n_test INTEGER NOT NULL, n_train INTEGER NOT NULL,
        seconds REAL NOT NULL, device TEXT NOT NULL, unit TEXT NOT NULL,
        created TEXT NOT NULL DEFAULT (datetime('now')),
        PRIMARY KEY (task, model, featurizer, sampler, n, m, trial));
    INSERT INTO meta VALUES ('config', '{"protocol": {"m": 10}}');
    INSERT INTO results (task, model, featurizer, n, m, trial, seed, mae, rmse, n_test, n_train, seconds, device, unit)
        VALUES ('t', 'x', 'f', 0, 10, 0, 1, 0.5, 0.6, 5, 10, 0.1, 'cpu', 'u'), ('t', 'x', 'f', 16, 10, 0, 1, 0.4, 0.5, 5, 10, 0.1, 'cpu', 'u');
    """)
    conn.commit()
    conn.close()
    with Store(old, create=False) as store:
        rows = store.results()
    assert len(rows) == 2 and rows["n_test_in_pool"].isna().all() and rows["selected"].isna().all()
    s = run_overlap(old)
    assert s["available"] is False and "before" in s["reason"]
