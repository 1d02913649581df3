"""The sweep on the synthetic task with the closed-form ridge model (fast): storage, resume, crashes."""

import numpy as np
import pandas as pd
import pytest

from s2rbench import sweep
from s2rbench.errors import S2RBenchError
from s2rbench.plugins import get_model
from s2rbench.sweep.store import Store
from s2rbench.tasks import get_task

RIDGE = {"random_features": 256, "alpha_pretrain": 0.1, "alpha_finetune": 1.0}
FAST = dict(model="ridge", sizes=[32, 128, 512, 2048], trials=4, progress=False, fit=False, model_params=RIDGE)


def test_run_stores_every_cell_and_transfer_beats_scratch(tmp_path):
    res = sweep.run("synthetic", out=tmp_path / "r", **FAST)
    rows = res.results
    assert len(rows) == 5 * 4  # scratch + 4 sizes, 4 trials each
    assert set(rows["n"]) == {0, 32, 128, 512, 2048}
    assert rows["m"].nunique() == 1 and rows["m"].iloc[0] == get_task("synthetic").protocol.m  # the card's m
    means = rows.groupby("n")["mae"].mean()
    assert means[2048] < 0.8 * means[32] and means[2048] < means[0]
    cfg = res.config
    for key in ("card_hash", "packages", "hyperparameters", "seed", "device", "featurizer_version", "data"):
        assert cfg[key] is not None
    assert cfg["model_plugin"]["name"] == "linear"


def test_same_seed_same_numbers_other_seed_other_numbers(tmp_path):
    a = sweep.run("synthetic", out=tmp_path / "a", **FAST).results
    b = sweep.run("synthetic", out=tmp_path / "b", **FAST).results
    c = sweep.run("synthetic", out=tmp_path / "c", seed=7, **FAST).results
    assert np.array_equal(a["mae"].to_numpy(), b["mae"].to_numpy())
    assert not np.allclose(a["mae"].to_numpy(), c["mae"].to_numpy())


class CountingExecutor(sweep.LocalExecutor):
    def __init__(self, fail_after: int | None = None):
        self.ran = []
        self.fail_after = fail_after

    def map(self, units, prep, model, device):
        for unit in units:
            if self.fail_after is not None and len(self.ran) >= self.fail_after:
                raise RuntimeError("simulated crash")
            self.ran.append(unit)
            yield unit, sweep.run_unit(unit, prep, model, device)


def test_resume_skips_finished_work_and_crash_loses_nothing_finished(tmp_path):
    out = tmp_path / "r"
    crashing = CountingExecutor(fail_after=3)
    with pytest.raises(RuntimeError):
        sweep.run("synthetic", out=out, executor=crashing, **FAST)
    with Store(out) as store:
        assert len(store.results()) == 3 * 4  # three finished units of 4 trials survive the crash
    resumed = CountingExecutor()
    res = sweep.run("synthetic", out=out, executor=resumed, **FAST)
    assert len(resumed.ran) == 2  # only the two unfinished units ran
    assert len(res.results) == 20
    again = CountingExecutor()
    sweep.run("synthetic", out=out, executor=again, **FAST)
    assert again.ran == []
    # more trials is another protocol: refused, unless asked for explicitly; then only the new ones run
    with pytest.raises(S2RBenchError, match=r"different trials.*--extend"):
        sweep.run("synthetic", out=out, executor=CountingExecutor(), **{**FAST, "trials": 6})
    more = CountingExecutor()
    sweep.run("synthetic", out=out, executor=more, extend=True, **{**FAST, "trials": 6})
    assert sum(len(u.trials) for u in more.ran) == 5 * 2


def test_a_grid_grown_one_size_at_a_time_is_the_grid_run_at_once(tmp_path):
    """What ``benchmarks/run_strategies.py --by-size`` relies on: growing a run by ``extend``, one
    size at a time, gives the same rows and the same protocol as one call over the whole grid."""
    once = sweep.run("synthetic", out=tmp_path / "once", **FAST)
    sizes = FAST["sizes"]
    for k in range(1, len(sizes) + 1):
        grown = sweep.run("synthetic", out=tmp_path / "grown", extend=True, **{**FAST, "sizes": sizes[:k]})
    cols = ["n", "m", "trial", "seed", "mae", "rmse", "n_test"]
    a, b = (r.results.sort_values(["n", "trial"])[cols].reset_index(drop=True) for r in (once, grown))
    pd.testing.assert_frame_equal(a, b)
    assert grown.config["protocol"] == once.config["protocol"]


def test_a_model_with_independent_trials_runs_one_trial_per_unit_with_the_same_rows(tmp_path, monkeypatch):
    """``trials_independent`` changes the scheduling (units of one trial: resumable per trial, and
    parallel over ``--workers``), never the numbers."""
    blocks = CountingExecutor()
    a = sweep.run("synthetic", out=tmp_path / "a", executor=blocks, **FAST).results
    assert {len(u.trials) for u in blocks.ran} == {4}
    monkeypatch.setattr(type(get_model("ridge")), "trials_independent", True)
    single = CountingExecutor()
    b = sweep.run("synthetic", out=tmp_path / "b", executor=single, **FAST).results
    assert [len(u.trials) for u in single.ran] == [1] * (5 * 4)  # scratch + 4 sizes, 4 trials each
    cols = ["n", "m", "trial", "seed", "mae", "rmse", "n_test"]
    x, y = (r.sort_values(["n", "trial"])[cols].reset_index(drop=True) for r in (a, b))
    pd.testing.assert_frame_equal(x, y)
    # a stopped run keeps every finished trial: a crash after 6 units loses nothing of them
    crashing = CountingExecutor(fail_after=6)
    with pytest.raises(RuntimeError):
        sweep.run("synthetic", out=tmp_path / "c", executor=crashing, **FAST)
    with Store(tmp_path / "c") as store:
        assert len(store.results()) == 6


def test_resume_refuses_another_configuration(tmp_path):
    out = tmp_path / "r"
    sweep.run("synthetic", out=out, **FAST)
    with pytest.raises(S2RBenchError, match="different seed"):
        sweep.run("synthetic", out=out, seed=3, **FAST)
    with pytest.raises(S2RBenchError, match="different hyperparameters"):
        sweep.run("synthetic", out=out, **{**FAST, "model_params": {**RIDGE, "alpha_finetune": 2.0}})


def test_a_run_recorded_before_a_hyperparameter_existed_resumes_and_extends(tmp_path):
    """A model may gain an opt-in hyperparameter within a version (its default reproduces the
    version: ``mlp``'s pretraining levers); a run stored without the key ran at that default and is
    resumed, not refused. A key set to another value, or another model version, is still refused."""
    out = tmp_path / "r"
    small = {**FAST, "sizes": FAST["sizes"][:2]}
    sweep.run("synthetic", out=out, **small)
    with Store(out) as store:
        cfg = store.get_meta("config")
        dropped = sorted(set(cfg["hyperparameters"]) - set(RIDGE))[0]  # a key the run left at its default
        default = cfg["hyperparameters"].pop(dropped)
        store.set_meta("config", cfg)
    grown = sweep.run("synthetic", out=out, extend=True, **FAST)
    assert grown.config["hyperparameters"][dropped] == default and len(grown.results) == 4 * (len(FAST["sizes"]) + 1)
    with Store(out) as store:
        cfg = store.get_meta("config")
        cfg["hyperparameters"].pop(dropped)
        cfg["model_version"] = "0"
        store.set_meta("config", cfg)
    with pytest.raises(S2RBenchError, match="different hyperparameters"):
        sweep.run("synthetic", out=out, **FAST)


def test_unit_is_pure_and_independent_of_block(tmp_path):
    prep = sweep.prepare("synthetic")
    model = get_model("ridge").with_params(**RIDGE)
    u_all = sweep.WorkUnit("synthetic", "ridge", "vector", 128, 100, (0, 1, 2), 0)
    u_one = sweep.WorkUnit("synthetic", "ridge", "vector", 128, 100, (1,), 0)
    rows_all = sweep.run_unit(u_all, prep, model)
    rows_one = sweep.run_unit(u_one, prep, model)
    assert rows_all[1]["mae"] == pytest.approx(rows_one[0]["mae"], rel=1e-12)
    import pickle

    assert pickle.loads(pickle.dumps(u_all)) == u_all


def test_export_csv_and_parquet(tmp_path):
    out = tmp_path / "r"
    sweep.run("synthetic", out=out, **FAST)
    with Store(out) as store:
        csv = store.export(tmp_path / "x.csv")
        pq = store.export(tmp_path / "x.parquet")
        with pytest.raises(S2RBenchError, match=r"\.csv or \.parquet"):
            store.export(tmp_path / "x.xlsx")
    a, b = pd.read_csv(csv), pd.read_parquet(pq)
    assert len(a) == len(b) == 20 and np.allclose(a["mae"], b["mae"])


def test_bad_arguments(tmp_path):
    with pytest.raises(S2RBenchError, match="unknown task 'nope'"):
        sweep.run("nope", out=tmp_path / "x", **FAST)
    with pytest.raises(S2RBenchError, match="unknown model 'nope'"):
        sweep.run("synthetic", **{**FAST, "model": "nope"}, out=tmp_path / "x")
    with pytest.raises(S2RBenchError, match="--m 10000 is outside"):
        sweep.run("synthetic", out=tmp_path / "x", m=10000, **FAST)
    with pytest.raises(S2RBenchError, match="unknown device"):
        sweep.run("synthetic", out=tmp_path / "x", device="tpu", **FAST)


def test_feature_cache_second_run_featurizes_nothing(tmp_path, monkeypatch):
    from s2rbench.plugins import get_featurizer

    feat = get_featurizer("vector")
    calls = []
    original = type(feat).featurize_canonical
    monkeypatch.setattr(
        type(feat), "featurize_canonical", lambda self, inputs: calls.append(len(inputs)) or original(self, inputs)
    )
    monkeypatch.setenv("S2RBENCH_CACHE_DIR", str(tmp_path / "cache"))
    sweep.prepare("synthetic")
    assert calls  # cold: featurized
    calls.clear()
    sweep.prepare("synthetic")
    assert calls == []  # warm: nothing featurized


def test_describe_stored_says_what_the_rows_hold(tmp_path):
    from s2rbench.sweep.store import describe_stored

    out = tmp_path / "r"
    crashing = CountingExecutor(fail_after=1)
    with pytest.raises(RuntimeError):
        sweep.run("synthetic", out=out, executor=crashing, **FAST)
    with Store(out, create=False) as store:
        d = describe_stored(store.get_meta("config"), store.results())
    m = get_task("synthetic").protocol.m  # the card's default m
    assert d["sizes"] == [] and d["m_values"] == [m] and d["complete"] is False and d["missing_cells"] == 4
    sweep.run("synthetic", out=out, **FAST)
    with Store(out, create=False) as store:
        d = describe_stored(store.get_meta("config"), store.results())
        history = store.get_meta("history")
    assert d == {
        "sizes": [32, 128, 512, 2048],
        "m_values": [m],
        "trials_min": 4,
        "trials_max": 4,
        "complete": True,
        "missing_cells": 0,
    }
    assert [h["action"] for h in history] == ["create", "resume"]
