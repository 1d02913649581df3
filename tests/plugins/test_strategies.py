"""Tests of the transfer-strategy models (issue #6): ``mlp-head``, ``delta``, ``stack`` (on mlp's
pretrained network) and ``gbdt-delta``, ``gbdt-stack`` (LightGBM), and of the ``selected`` record.

Small networks and synthetic blocks keep it fast (one intra-op thread, as the harness runs units)."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from s2rbench import sweep
from s2rbench.errors import S2RBenchError
from s2rbench.models import Model
from s2rbench.plugins import get_model, plugin_of
from s2rbench.sweep.store import Store
from s2rbench_plugins.models import mlp as mlp_plugin
from s2rbench_plugins.models.mlp import MLP
from s2rbench_plugins.models.strategies import OFFSET_ONLY, RidgePath, hidden_activations, pretrain, val_split

sys.path.insert(0, str(Path(__file__).parent))
from test_mlp import FAST, make_block

NEURAL = ("mlp-head", "delta", "stack")
GBDT = ("gbdt-delta", "gbdt-stack")
ALL = NEURAL + GBDT
GBDT_FAST = dict(sim_max_rounds=150, max_rounds=150, patience=15)


@pytest.fixture(autouse=True, scope="module")
def single_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def fast(name: str, **extra) -> Model:
    """The registered model with a small network / few boosting rounds."""
    model = get_model(name)
    small = {**FAST, **GBDT_FAST}
    return model.with_params(**{k: v for k, v in small.items() if k in model.defaults}, **extra)


def scratch(block):
    return dataclasses.replace(block, sim_idx=block.sim_idx[:, :0])


def no_real(block):
    return dataclasses.replace(
        block, train_idx=block.train_idx[:, :0], train_mask=block.train_mask[:, :0], y_train=block.y_train[:, :0]
    )


def with_targets(block, y_train):
    return dataclasses.replace(block, y_train=np.asarray(y_train, dtype=np.float32))


def real_equals(block, F):
    """The block whose real training targets are F (predictions at every real row) at its rows."""
    return with_targets(block, np.stack([F[k, block.train_idx[k]] for k in range(block.n_trials)]))


# ---------------------------------------------------------------------------------------------
# registration and the contract
# ---------------------------------------------------------------------------------------------


def test_registered_through_entry_points():
    for name in ALL:
        model = get_model(name)
        assert model.name == name and model.version == ("1" if name in GBDT else "3") and model.description
        assert plugin_of("models", name).name == ("gbdt" if name in GBDT else "strategies")
    # the network hyperparameters are mlp's; the unused fine-tuning step is not recorded
    assert get_model("mlp-head").hyperparameters["hidden"] == MLP.defaults["hidden"]
    assert "finetune_lr" not in get_model("mlp-head").hyperparameters
    # delta does not fine-tune, but its pretraining chooses its loss as mlp's does, with the
    # scratch settings for the real-row probe
    assert "finetune_lr" not in get_model("delta").hyperparameters
    probe_keys = {"loss_candidates", "loss_folds", "finetune_epochs", "finetune_patience"}
    assert probe_keys <= set(get_model("delta").hyperparameters)
    assert max(get_model("delta").hyperparameters["alphas"]) >= OFFSET_ONLY
    with pytest.raises(S2RBenchError, match="alphas"):
        get_model("stack").with_params(alphas=[-1.0])


@pytest.mark.parametrize("name", ALL)
def test_contract_shape_determinism_seeds(name):
    block, _, _ = make_block(T=3, n=120, m=30, M=50, pool=300)
    model = fast(name)
    for b in (block, scratch(block)):
        a = model.fit_predict(b)
        assert a.shape == (3, 50) and np.isfinite(a).all()
        assert len(model.selected) == 3
        mlp_plugin._PRETRAINED.clear()  # a fresh pretraining, not the memo's copy
        np.testing.assert_array_equal(a, model.fit_predict(b))  # same seeds: bit-identical
        other = model.fit_predict(dataclasses.replace(b, seeds=b.seeds + 7))
        assert not np.allclose(a, other)


@pytest.mark.parametrize("name", ALL)
def test_train_mask_is_respected(name):
    block, _, _ = make_block(T=3, n=100, m=36, M=60, pool=300)
    mask = block.train_mask.copy()
    mask[0, -8:] = False
    mask[2, -3:] = False
    clean = dataclasses.replace(
        block, train_mask=mask, y_train=np.where(mask, block.y_train, np.nan).astype(np.float32)
    )
    rng = np.random.default_rng(5)
    dirty = dataclasses.replace(
        clean,
        y_train=np.where(mask, block.y_train, 1e6 * rng.normal(size=mask.shape)).astype(np.float32),
        train_idx=np.where(mask, block.train_idx, rng.integers(0, 60, size=mask.shape)),
    )
    model = fast(name)
    for a, b in ((clean, dirty), (scratch(clean), scratch(dirty))):
        np.testing.assert_array_equal(model.fit_predict(a), model.fit_predict(b))


@pytest.mark.parametrize("name", ALL)
def test_missing_features_nan_sim_targets_and_tiny_real_sets(name):
    block, _, _ = make_block(T=3, n=80, m=5, M=40, d=6, pool=200)
    X_sim, X_real, y_sim = block.X_sim.copy(), block.X_real.copy(), block.y_sim.copy()
    X_sim[:, 5] = X_real[:, 5] = np.nan  # an all-missing column
    X_sim[::7, 1] = np.nan
    X_real[::5, 2] = np.nan
    X_sim[3, 0] = np.inf
    y_sim[block.sim_idx[0, :6]] = np.nan
    mask = block.train_mask.copy()
    mask[1, 1:] = False  # trial 1: a single real row
    block = dataclasses.replace(
        block,
        X_sim=X_sim,
        X_real=X_real,
        y_sim=y_sim,
        train_mask=mask,
        y_train=np.where(mask, block.y_train, np.nan).astype(np.float32),
    )
    model = fast(name)
    for b in (block, scratch(block), no_real(block)):
        pred = model.fit_predict(b)
        assert pred.shape == (3, 40) and np.isfinite(pred).all()
    model.fit_predict(block)
    sel = model.selected
    # m = 5 keeps a one-row validation split; one row has none: the documented fallback
    assert sel[0]["val_rows"] == 1 and sel[1]["val_rows"] == 0
    if name in GBDT:
        assert sel[1]["rounds_real"] == 0 and sel[0]["rounds_sim"] >= 0
    else:
        assert sel[1]["alpha"] == max(model.hyperparameters["alphas"])


# ---------------------------------------------------------------------------------------------
# what each strategy is
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ("delta", "stack"))
def test_neural_delta_and_stack_reduce_to_the_sim_model(name):
    block, _, _ = make_block(T=3, n=150, m=40, M=80, pool=300)
    # a fixed pretraining loss: under "auto" the real rows choose it, so f_sim would move with them
    model = fast(name, pretrain_loss="l1")
    F = model.fit_predict(no_real(block))  # no real rows: the simulation model itself
    # ... which is mlp's pretrained network, bit for bit (same seeds, same code)
    np.testing.assert_array_equal(F, MLP(**FAST, pretrain_loss="l1").fit_predict(no_real(block)))
    same = real_equals(block, F)  # real targets = the sim model's own predictions (float32)
    pred = model.fit_predict(same)
    np.testing.assert_allclose(pred, F, rtol=0, atol=1e-5)
    # a constant sim-to-real offset is learnt (the intercept is never penalized)
    shifted = with_targets(same, same.y_train.astype(np.float64) + 0.7)
    np.testing.assert_allclose(model.fit_predict(shifted), F + 0.7, rtol=0, atol=1e-5)
    # and a real signal the simulation lacks is learnt (predictions move away from F)
    assert np.abs(model.fit_predict(block) - F).max() > 0.05


@pytest.mark.parametrize("name", GBDT)
def test_gbdt_delta_and_stack_reduce_to_the_sim_model(name):
    block, _, _ = make_block(T=2, n=200, m=40, M=80, pool=300)
    model = fast(name)
    F = model.fit_predict(no_real(block))
    np.testing.assert_array_equal(F, fast("gbdt-delta").fit_predict(no_real(block)))  # one sim model
    pred = model.fit_predict(real_equals(block, F))
    np.testing.assert_allclose(pred, F, rtol=0, atol=1e-5)
    assert np.abs(model.fit_predict(block) - F).max() > 0.05


def test_scratch_baselines_are_shared():
    """n == 0: delta and stack are the same validated ridge; gbdt-delta and gbdt-stack the same trees;
    mlp-head is mlp's scratch, bit for bit."""
    block, _, _ = make_block(T=2, n=60, m=40, M=70)
    s = scratch(block)
    np.testing.assert_array_equal(fast("delta").fit_predict(s), fast("stack").fit_predict(s))
    np.testing.assert_array_equal(fast("gbdt-delta").fit_predict(s), fast("gbdt-stack").fit_predict(s))
    np.testing.assert_array_equal(fast("mlp-head").fit_predict(s), MLP(**FAST).fit_predict(s))


def test_mlp_head_freezes_mlps_pretrained_body_and_refits_the_head():
    block, _, _ = make_block(T=3, n=150, m=40, M=80, pool=300)
    head = fast("mlp-head", pretrain_loss="l1")  # fixed: under "auto" the real rows choose the loss
    pre = MLP(**FAST, pretrain_loss="l1").fit_predict(no_real(block))  # mlp after stage 1 only
    np.testing.assert_array_equal(head.fit_predict(no_real(block)), pre)  # body AND head are mlp's
    pred = head.fit_predict(block)
    assert np.abs(pred - pre).max() > 1e-3  # the head moved
    # ... and only the head: the change is an affine function of the pretrained body's activations
    dev = torch.device("cpu")
    X_sim, X_real = torch.as_tensor(block.X_sim), torch.as_tensor(block.X_real)
    params, scal = pretrain(head, block, np.arange(3), X_sim, dev)
    np.testing.assert_array_equal(head._predict(params, X_real, scal, dev), pre)
    H = hidden_activations(head, params, X_real, scal, dev)
    for k in range(3):
        A = np.column_stack([H[k], np.ones(len(H[k]))])
        coef, *_ = np.linalg.lstsq(A, pred[k] - pre[k], rcond=None)
        assert np.abs(A @ coef - (pred[k] - pre[k])).max() < 1e-4 * max(1.0, np.abs(pred[k] - pre[k]).max())
    # a model fine-tuning the whole network (mlp) is not in that span: the test can fail
    full = MLP(**FAST, pretrain_loss="l1").fit_predict(block)
    k = int(np.argmax(np.abs(full - pre).max(1)))  # a trial whose fine-tuning moved the network
    A = np.column_stack([H[k], np.ones(len(H[k]))])
    coef, *_ = np.linalg.lstsq(A, full[k] - pre[k], rcond=None)
    assert np.abs(A @ coef - (full[k] - pre[k])).max() > 1e-3


# ---------------------------------------------------------------------------------------------
# the building blocks
# ---------------------------------------------------------------------------------------------


def test_ridge_path_solves_the_partially_penalized_problem():
    rng = np.random.default_rng(0)
    Z, U = rng.normal(size=(30, 7)), np.column_stack([np.ones(30), rng.normal(size=30)])
    y = rng.normal(size=30)
    path = RidgePath(Z, U, y)
    for alpha in (1e-3, 0.5, 20.0):
        w, c = path.coef(alpha)
        D = np.hstack([Z, U])
        P = np.diag([30 * alpha] * 7 + [0.0, 0.0])  # mean loss: the penalty scales with the rows
        np.testing.assert_allclose(np.concatenate([w, c]), np.linalg.solve(D.T @ D + P, D.T @ y), atol=1e-10)
    w, c = path.coef(OFFSET_ONLY)
    assert not w.any()
    np.testing.assert_allclose(c, np.linalg.lstsq(U, y, rcond=None)[0])
    w, c = RidgePath(Z[:0], U[:0], y[:0]).coef(1.0)
    assert not w.any() and not c.any()


def test_validation_split_is_mlps_stage_split():
    from s2rbench_plugins.models._network import Stage as _Stage

    seeds = np.array([3, 99, 123456789])
    mask = np.ones((3, 30), bool)
    mask[1, 20:] = False
    mask[2, 4:] = False  # 4 rows: no split
    st = _Stage(mask, seeds, 2, 0.15, 64, 10)
    for k in range(3):
        valid = np.flatnonzero(mask[k])
        fit, val = val_split(np.arange(valid.size), seeds[k], 2, 0.15)
        np.testing.assert_array_equal(valid[fit], st.train_pos[k])
        if val.size:
            np.testing.assert_array_equal(valid[val], np.sort(st.val_pos[k][st.val_w[k] > 0]))
    assert val.size == 0  # the 4-row trial


# ---------------------------------------------------------------------------------------------
# through the harness: selection never sees the test targets, and `selected` is stored
# ---------------------------------------------------------------------------------------------


def _perturbed_test_targets(prep, seed: int, trials) -> np.ndarray:
    """The real targets with the rows that are test rows of every given trial changed by +100."""
    common = None
    for t in trials:
        test = sweep.split_for(prep, seed, t).test
        common = test if common is None else np.intersect1d(common, test)
    assert common.size > 0
    y = prep.y_real.copy()
    y[common] += 100.0
    return y


class Recorder(Model):
    """Passes a block to a model and keeps its predictions (the harness stores only errors)."""

    def __init__(self, inner: Model) -> None:
        self.inner, self.name, self.params = inner, inner.name, inner.params

    def fit_predict(self, block):
        self.pred = self.inner.fit_predict(block)
        self.selected = self.inner.selected
        return self.pred


@pytest.fixture(scope="module")
def synthetic():
    return sweep.prepare("synthetic")


@pytest.mark.parametrize("name", (*ALL, "mlp"))
def test_selection_never_sees_the_test_targets(name, synthetic):
    """Same split and seeds (the real key is kept), test targets changed by +100: every prediction
    and every selected value is identical, while the scored error changes."""
    seed = synthetic.card.protocol.seed
    other = dataclasses.replace(synthetic, y_real=_perturbed_test_targets(synthetic, seed, (0, 1)))
    unit = sweep.WorkUnit("synthetic", name, "vector", 128, 60, (0, 1), seed, n_max=128)
    runs = []
    for prep in (synthetic, other):
        rec = Recorder(fast(name))
        rows = sweep.run_unit(unit, prep, rec)
        runs.append((rec.pred, [r["selected"] for r in rows], [r["mae"] for r in rows]))
    (pa, sa, ma), (pb, sb, mb) = runs
    np.testing.assert_array_equal(pa, pb)
    assert sa == sb and all(json.loads(s) for s in sa)
    assert all(b > a + 1 for a, b in zip(ma, mb))  # the perturbation did hit the scored rows


@pytest.mark.parametrize("name", (*ALL, "mlp"))
def test_reduced_sweep_stores_selected_and_ignores_test_targets(name, tmp_path, monkeypatch):
    kw = dict(
        model=name,
        sizes=[32, 128],
        trials=2,
        m=240,
        progress=False,
        fit=False,
        model_params={k: v for k, v in {**FAST, **GBDT_FAST}.items() if k in get_model(name).defaults},
    )
    a = sweep.run("synthetic", out=tmp_path / "a", **kw).results
    original = sweep.prepare

    def perturbed(*args, **kwargs):
        prep = original(*args, **kwargs)
        return dataclasses.replace(prep, y_real=_perturbed_test_targets(prep, prep.card.protocol.seed, (0, 1)))

    monkeypatch.setattr(sweep, "prepare", perturbed)  # the runner looks the package's prepare up when called
    b = sweep.run("synthetic", out=tmp_path / "b", **kw).results
    assert len(a) == len(b) == 6 and list(a["n"]) == list(b["n"])
    assert list(a["selected"]) == list(b["selected"])
    assert (b["mae"] > a["mae"] + 1).all()
    for n, sel in zip(a["n"], a["selected"]):
        got = json.loads(sel)
        assert got and got["val_rows"] == 36  # 15% of the 240 real training rows
        if name == "mlp" or (name == "mlp-head" and n == 0):  # the loss chosen per trial by cross-validation
            assert got["finetune_loss"] in MLP.defaults["loss_candidates"] and got["finetune_loss_folds"] == 5
        if name in ("mlp-head", "mlp") and n == 0:  # mlp's scratch: one learning rate, the loss chosen
            assert got["epochs"] >= 0 and "finetune_lr" not in got
            continue
        if name == "mlp":
            assert got["finetune_lr"] in MLP.defaults["finetune_lr"] and got["epochs"] >= 0
            assert len(got["val_mae_std"]) == len(MLP.defaults["finetune_lr"])
            continue
        if name in ("mlp-head", "delta", "stack") and n > 0:  # the loss their pretraining trained with
            assert got["pretrain_loss"] in MLP.defaults["loss_candidates"]
        assert ("alpha" in got) if name in NEURAL else ("rounds_real" in got and ("rounds_sim" in got) == (n > 0))


def test_store_adds_the_selected_column_to_an_old_store(tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    conn = sqlite3.connect(old / "results.sqlite")
    conn.execute(
        "CREATE TABLE results (task TEXT NOT NULL, model TEXT NOT NULL, featurizer TEXT NOT NULL, "
        "sampler TEXT NOT NULL DEFAULT 'random', n INTEGER NOT NULL, m INTEGER NOT NULL, trial INTEGER NOT NULL, "
        "seed INTEGER NOT NULL, mae REAL NOT NULL, rmse REAL NOT NULL, n_test INTEGER NOT NULL, "
        "n_train INTEGER NOT NULL, seconds REAL NOT NULL, device TEXT NOT NULL, unit TEXT NOT NULL, "
        "created TEXT NOT NULL DEFAULT (datetime('now')), PRIMARY KEY (task, model, featurizer, sampler, n, m, trial))"
    )
    row = {
        "task": "t",
        "model": "x",
        "featurizer": "f",
        "sampler": "random",
        "n": 0,
        "m": 5,
        "trial": 0,
        "seed": 1,
        "mae": 1.0,
        "rmse": 1.0,
        "n_test": 3,
        "n_train": 5,
        "seconds": 0.1,
        "device": "cpu",
        "unit": "u",
    }
    conn.execute(f"INSERT INTO results ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", tuple(row.values()))
    conn.commit()
    conn.close()
    with Store(old) as store:
        store.commit([{**row, "trial": 1, "selected": json.dumps({"alpha": 1.0})}, {**row, "trial": 2}])
        res = store.results()
    assert list(res["selected"]) == [None, '{"alpha": 1.0}', None]


# ---------------------------------------------------------------------------------------------
# loading cost, threads, memory declarations (issues 14, 20)
# ---------------------------------------------------------------------------------------------


def test_loading_the_model_plugins_imports_neither_torch_nor_lightgbm():
    """``s2rbench list`` loads every plugin: the model modules import torch / LightGBM only when a
    model trains."""
    import subprocess

    code = (
        "import sys; import s2rbench_plugins.models.mlp, s2rbench_plugins.models.strategies, "
        "s2rbench_plugins.models.gbdt, s2rbench_plugins.models.linear; "
        "print(sorted(m for m in ('torch', 'lightgbm') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("name", GBDT)
def test_lightgbm_uses_the_units_threads_and_gives_the_same_numbers_with_any(name, monkeypatch):
    from s2rbench.sweep.executors import unit_threads

    block, _, _ = make_block(T=2, n=300, m=40, M=60, pool=400)
    model = fast(name)
    seen = []
    original = model._lgb_params
    monkeypatch.setattr(model, "_lgb_params", lambda *a: seen.append(original(*a)["num_threads"]) or original(*a))
    preds = {}
    for threads in (1, 2):
        seen.clear()
        with unit_threads(threads):
            preds[threads] = model.fit_predict(block)
        assert seen and set(seen) == {threads}
    np.testing.assert_array_equal(preds[1], preds[2])


@pytest.mark.parametrize("name", ("mlp", "ridge", *ALL))
def test_every_model_declares_its_memory_and_the_harness_uses_it(name):
    from s2rbench.sweep.executors import model_bytes

    model = get_model(name)
    small, big = model.state_bytes(1000, 100, 50, 2000), model.state_bytes(100_000, 100, 50, 2000)
    assert all(isinstance(v, int) and v > 0 for v in (*small, *big))
    assert big[0] > small[0] + 100_000 * 50  # at least the pretraining rows of one trial, once
    assert model_bytes(model, 1000, 100, 50, 2000) == small
    if "hidden" in model.defaults:  # a wider network holds more per replica
        wide = model.with_params(hidden=(512, 512)).state_bytes(1000, 100, 50, 2000)
        assert wide[1] > small[1]
    if name.startswith("gbdt"):  # the histogram pool grows with the leaves
        assert model.with_params(num_leaves=63, sim_num_leaves=1023).state_bytes(1000, 100, 50, 2000)[0] > small[0]
