"""Tests of the ``mlp`` model plugin (batched ensemble MLP). Small networks and budgets keep it fast."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from s2rbench.errors import S2RBenchError
from s2rbench.models import TrainingBlock, informative_columns
from s2rbench_plugins.models import mlp as mlp_plugin
from s2rbench_plugins.models.mlp import MLP, one_se_choice

# a small, quick configuration for most tests (the defaults are exercised where it matters)
FAST = dict(
    hidden=(32, 32),
    pretrain_epochs=60,
    finetune_epochs=80,
    pretrain_patience=8,
    finetune_patience=10,
    min_steps_per_epoch=4,
)


@pytest.fixture(autouse=True, scope="module")
def single_thread():
    """One intra-op thread: fast for these tiny networks on a shared CPU, and the setting under which
    a replica's numbers are bit-identical whatever the block size (with several threads a one-replica
    small gemm may take another BLAS path: ~1e-6 relative differences)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _f(X):
    return X[:, 0] - 0.5 * X[:, 1] + np.sin(2 * X[:, 2]) + 0.5 * X[:, 3] * X[:, 4]


def make_block(T=3, n=100, m=40, M=60, d=6, pool=400, seed=0, sim_shift=0.2, noise=0.05, seeds=None):
    """A block and the real targets; trial k trains on a random m-subset of the M real rows."""
    rng = np.random.default_rng(seed)
    X_sim = rng.normal(size=(pool, d)).astype(np.float32)
    y_sim = (_f(X_sim) + sim_shift * X_sim[:, 0] + sim_shift).astype(np.float32)
    X_real = rng.normal(size=(M, d)).astype(np.float32)
    y_real = (_f(X_real) + noise * rng.normal(size=M)).astype(np.float32)
    perm_real = np.stack([rng.permutation(M) for _ in range(T)])
    train_idx = perm_real[:, :m].copy()
    sim_idx = np.stack([rng.permutation(pool)[:n] for _ in range(T)]).astype(np.int64)
    block = TrainingBlock(
        X_sim=X_sim,
        y_sim=y_sim,
        sim_idx=sim_idx,
        X_real=X_real,
        train_idx=train_idx.astype(np.int64),
        train_mask=np.ones((T, m), dtype=bool),
        y_train=y_real[train_idx],
        seeds=np.arange(T, dtype=np.int64) + 100 if seeds is None else seeds,
    )
    return block, y_real, perm_real[:, m:]


def test_mae(pred, y_real, test_idx):
    return float(np.mean([np.abs(pred[k, t] - y_real[t]).mean() for k, t in enumerate(test_idx)]))


test_mae.__test__ = False  # a helper, not a test


def sub_block(block, ids):
    ids = np.asarray(ids)
    return dataclasses.replace(
        block,
        sim_idx=block.sim_idx[ids],
        train_idx=block.train_idx[ids],
        train_mask=block.train_mask[ids],
        y_train=block.y_train[ids],
        seeds=block.seeds[ids],
    )


def test_registers_through_hook():
    got = []
    mlp_plugin.register_models(got.append)
    assert len(got) == 1 and isinstance(got[0], MLP) and got[0].name == "mlp"
    hp = got[0].hyperparameters
    assert hp["batched"] is True and hp["hidden"] == (128, 64)


def test_unknown_or_bad_hyperparameters_raise():
    with pytest.raises(S2RBenchError):
        MLP(nonsense=1)
    with pytest.raises(S2RBenchError):
        MLP(activation="sigmoidish")
    with pytest.raises(S2RBenchError):
        MLP(val_fraction=1.5)
    assert MLP().with_params(hidden=[16]).hyperparameters["hidden"] == (16,)


def test_shape_and_finite():
    block, _, _ = make_block(T=3, n=80, m=30, M=50)
    pred = MLP(**FAST).fit_predict(block)
    assert pred.shape == (3, 50)
    assert np.isfinite(pred).all()


def test_learns_a_simple_function():
    block, y_real, test_idx = make_block(T=2, n=0, m=240, M=300, d=5, seed=1)  # n=0: real rows only
    pred = MLP(
        **{**FAST, "finetune_epochs": 150, "finetune_patience": 20, "min_steps_per_epoch": 10, "lr": 3e-3}
    ).fit_predict(block)
    mae = test_mae(pred, y_real, test_idx)
    trivial = float(np.mean([np.abs(y_real[t] - block.y_train[k].mean()).mean() for k, t in enumerate(test_idx)]))
    assert mae < 0.3 * trivial, (mae, trivial)


def test_pretraining_helps_when_real_data_are_few():
    # The simulator knows the nonlinear function up to a small shift; 12 real rows cannot teach it.
    kw = dict(T=2, m=12, M=212, d=5, pool=800, seed=2, sim_shift=0.1)
    pre, y_real, test_idx = make_block(n=800, **kw)
    scratch = dataclasses.replace(pre, sim_idx=pre.sim_idx[:, :0])
    model = MLP(**FAST)
    mae_pre = test_mae(model.fit_predict(pre), y_real, test_idx)
    mae_scratch = test_mae(model.fit_predict(scratch), y_real, test_idx)
    assert mae_pre < 0.6 * mae_scratch, (mae_pre, mae_scratch)


def test_deterministic_and_seed_dependent():
    block, _, _ = make_block(T=2, n=60, m=30)
    model = MLP(**FAST)
    a = model.fit_predict(block)
    mlp_plugin._PRETRAINED.clear()  # a fresh pretraining, not the memo's copy
    b = model.fit_predict(block)
    np.testing.assert_array_equal(a, b)
    other = model.fit_predict(dataclasses.replace(block, seeds=block.seeds + 7))
    assert not np.allclose(a, other)


def test_trials_are_independent_of_block_composition():
    """Trial k of a block equals the same trial trained alone; also batched=False == batched (CPU)."""
    block, _, _ = make_block(T=4, n=70, m=30)
    # different real row counts per trial (padding) so replicas stop at different epochs
    mask = block.train_mask.copy()
    mask[1, -6:] = False
    mask[3, -11:] = False
    y = np.where(mask, block.y_train, np.nan).astype(np.float32)
    block = dataclasses.replace(block, train_mask=mask, y_train=y)
    model = MLP(**FAST)
    full = model.fit_predict(block)
    for k in (0, 1, 3):
        alone = model.fit_predict(sub_block(block, [k]))
        np.testing.assert_array_equal(full[k], alone[0])
    pair = model.fit_predict(sub_block(block, [3, 1]))
    np.testing.assert_array_equal(full[[3, 1]], pair)
    loop = model.with_params(batched=False).fit_predict(block)
    np.testing.assert_allclose(loop, full, rtol=0, atol=1e-5)  # bit-identical on the CPU by design


def test_train_mask_is_respected():
    block, _, _ = make_block(T=3, n=50, m=36)
    mask = block.train_mask.copy()
    mask[0, -8:] = False
    mask[2, -3:] = False
    clean = dataclasses.replace(
        block, train_mask=mask, y_train=np.where(mask, block.y_train, np.nan).astype(np.float32)
    )
    rng = np.random.default_rng(5)
    garbage_y = np.where(mask, block.y_train, 1e6 * rng.normal(size=mask.shape)).astype(np.float32)
    garbage_idx = np.where(mask, block.train_idx, rng.integers(0, block.X_real.shape[0], size=mask.shape))
    garbage_idx[0, -1], garbage_idx[2, -1] = -1, 10**9  # padded indices need not even be valid
    dirty = dataclasses.replace(clean, y_train=garbage_y, train_idx=garbage_idx)
    model = MLP(**FAST)
    np.testing.assert_array_equal(model.fit_predict(clean), model.fit_predict(dirty))


def test_nan_and_inf_features_do_not_crash():
    block, _y_real, _test_idx = make_block(T=2, n=80, m=40, M=60, d=6)
    X_sim = block.X_sim.copy()
    X_real = block.X_real.copy()
    X_sim[:, 5] = np.nan  # an all-missing column
    X_real[:, 5] = np.nan
    X_sim[::7, 1] = np.nan  # scattered gaps
    X_real[::5, 2] = np.nan
    X_sim[3, 0] = np.inf
    block = dataclasses.replace(block, X_sim=X_sim, X_real=X_real)
    for n in (80, 0):
        b = block if n else dataclasses.replace(block, sim_idx=block.sim_idx[:, :0])
        pred = MLP(**FAST).fit_predict(b)
        assert pred.shape == (2, 60) and np.isfinite(pred).all()


def test_nan_sim_targets_and_tiny_real_sets():
    block, _, _ = make_block(T=2, n=60, m=3)
    y_sim = block.y_sim.copy()
    y_sim[block.sim_idx[0, :5]] = np.nan
    mask = block.train_mask.copy()
    mask[1, 1:] = False  # trial 1 has a single real row
    block = dataclasses.replace(
        block, y_sim=y_sim, train_mask=mask, y_train=np.where(mask, block.y_train, np.nan).astype(np.float32)
    )
    for b in (block, dataclasses.replace(block, sim_idx=block.sim_idx[:, :0])):
        pred = MLP(**FAST).fit_predict(b)
        assert np.isfinite(pred).all()
    # no real rows at all: the pretrained network predicts
    none = dataclasses.replace(
        block, train_idx=block.train_idx[:, :0], train_mask=block.train_mask[:, :0], y_train=block.y_train[:, :0]
    )
    assert np.isfinite(MLP(**FAST).fit_predict(none)).all()


def test_unbatched_reference_reaches_equal_accuracy():
    block, y_real, test_idx = make_block(T=3, n=150, m=40, M=100, seed=3)
    model = MLP(**FAST)
    mae_b = test_mae(model.fit_predict(block), y_real, test_idx)
    mae_l = test_mae(model.with_params(batched=False).fit_predict(block), y_real, test_idx)
    assert abs(mae_b - mae_l) <= 0.05 * max(mae_b, mae_l) + 1e-6, (mae_b, mae_l)


def test_constant_columns_are_dropped_losslessly():
    """Columns constant over the sim pool and the real inputs cannot change an output: a block with
    such columns added gives the same predictions as the block without them; a column constant in
    one table but not the other is kept."""
    block, _, _ = make_block(T=2, n=60, m=30, M=50, d=5)
    fast = dict(pretrain_epochs=5, finetune_epochs=5, hidden=(16,))

    def widen(X, value):
        pad = np.full((X.shape[0], 3), value, dtype=np.float32)
        return np.hstack([pad[:, :1], X, pad[:, 1:]])

    wide = dataclasses.replace(block, X_sim=widen(block.X_sim, 7.0), X_real=widen(block.X_real, 7.0))
    np.testing.assert_array_equal(MLP(**fast).fit_predict(block), MLP(**fast).fit_predict(wide))
    assert informative_columns(wide.X_sim, wide.X_real).tolist() == [1, 2, 3, 4, 5]
    shifted = dataclasses.replace(block, X_sim=widen(block.X_sim, 7.0), X_real=widen(block.X_real, 8.0))
    assert informative_columns(shifted.X_sim, shifted.X_real).tolist() == list(range(8))


def test_replicas_train_in_groups_that_fit_with_identical_numbers(monkeypatch):
    """When the free memory holds fewer replicas than the block, the mlp trains them in groups; on a
    CPU each trial's numbers are those of the whole-block run, and the harness's memory check then
    asks for one replica, not T."""
    from s2rbench_plugins.models import _network as ex

    block, _, _ = make_block(T=5, n=60, m=30, M=50, d=5)
    fast = dict(pretrain_epochs=5, finetune_epochs=5, hidden=(32,))
    whole = MLP(**fast)
    ref = whole.fit_predict(block)
    assert whole.last_groups == [5]
    once, per = whole.state_bytes(block.n, block.m, 5, 50)
    monkeypatch.setattr(ex, "available_memory_bytes", lambda device="cpu": int((once + 2.5 * per) / 0.8))
    chunked = MLP(**fast)
    np.testing.assert_array_equal(chunked.fit_predict(block), ref)
    assert chunked.last_groups == [2, 2, 1]
    capped = MLP(**fast)
    capped.max_replicas = 3
    monkeypatch.setattr(ex, "available_memory_bytes", lambda device="cpu": None)
    np.testing.assert_array_equal(capped.fit_predict(block), ref)
    assert capped.last_groups == [3, 2]


_GROUPS_SCRIPT = """
import numpy as np, torch
torch.set_num_threads(1)
from s2rbench.models import TrainingBlock
from s2rbench_plugins.models.mlp import MLP
rng = np.random.default_rng(0)
T, n, m, M, d, pool = 5, 60, 30, 50, 5, 400
X_sim = rng.normal(size=(pool, d)).astype(np.float32)
y_sim = (X_sim[:, 0] + np.sin(2 * X_sim[:, 1])).astype(np.float32)
X_real = rng.normal(size=(M, d)).astype(np.float32)
y_real = (X_real[:, 0] + np.sin(2 * X_real[:, 1])).astype(np.float32)
train_idx = np.stack([rng.permutation(M)[:m] for _ in range(T)]).astype(np.int64)
block = TrainingBlock(X_sim=X_sim, y_sim=y_sim, sim_idx=np.stack([rng.permutation(pool)[:n] for _ in range(T)]),
                      X_real=X_real, train_idx=train_idx, train_mask=np.ones((T, m), bool),
                      y_train=y_real[train_idx], seeds=np.arange(T, dtype=np.int64) + 100)
fast = dict(pretrain_epochs=5, finetune_epochs=5, hidden=(32,))
ref = MLP(**fast).fit_predict(block)
worst = 0.0
for cap in (1, 2, 3, 4):
    model = MLP(**fast)
    model.max_replicas = cap
    worst = max(worst, float(np.abs(model.fit_predict(block) - ref).max()))
print(torch.backends.cpu.get_cpu_capability(), worst)
"""


@pytest.mark.parametrize("capability", ["default", "avx2", "avx512"])
def test_group_size_changes_no_number_on_any_cpu_code_path(capability):
    """ATen's vectorized loops handle two SIMD vectors per iteration (AVX2: 16 floats, AVX-512: 32)
    and the remainder of a tensor through scalar code, whose exp (SiLU, GELU, tanh) rounds
    differently; with hidden widths that are multiples of 32 every replica's activations are whole
    iterations, so the group size cannot move a replica's numbers on any of torch's CPU code paths
    (a width of 16 with an odd batch differed by 4.5e-8 under AVX-512). Each path runs in its own
    process (``ATEN_CPU_CAPABILITY`` is read at start-up; a path the CPU lacks falls back to the
    best it has)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "ATEN_CPU_CAPABILITY": capability}
    out = subprocess.run([sys.executable, "-c", _GROUPS_SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    path, worst = out.stdout.split()
    assert float(worst) == 0.0, (capability, path, worst)


def test_reduced_precision_is_opt_in_close_and_restores_settings():
    block, y_real, test_idx = make_block(T=2, n=200, m=40)
    fast = dict(pretrain_epochs=60, finetune_epochs=30, hidden=(32,))
    before = torch.get_float32_matmul_precision()
    ref = MLP(**fast).fit_predict(block)
    for precision in ("tf32", "bf16"):
        pred = MLP(**fast, precision=precision).fit_predict(block)
        assert pred.dtype == np.float64 and np.isfinite(pred).all()
        # same training, coarser arithmetic: the test error moves by a little, not a lot
        assert abs(test_mae(pred, y_real, test_idx) - test_mae(ref, y_real, test_idx)) < 0.05 * test_mae(
            ref, y_real, test_idx
        )
    assert torch.get_float32_matmul_precision() == before
    with pytest.raises(S2RBenchError, match="precision must be one of fp32, tf32, bf16"):
        MLP(precision="fp16")


@pytest.mark.parametrize("name", ["mlp", "ridge"])
def test_a_nearly_constant_column_cannot_blow_up_predictions(name):
    """One simulated row in 60 carries a tiny nonzero value in a column (a rare element property);
    a real row with an ordinary value there would get a z-score of ~1e6 without clipping."""
    from s2rbench.plugins import get_model

    block, y_real, test_idx = make_block(T=2, n=60, m=30, M=50, d=5)
    rare = np.zeros((block.X_sim.shape[0], 1), np.float32)
    rare[block.sim_idx[:, 0]] = 1e-6  # the first pretraining row of each trial
    real_col = np.zeros((block.X_real.shape[0], 1), np.float32)
    real_col[test_idx[0][:3]] = 1.0  # three test rows of trial 0 have the property
    wide = dataclasses.replace(block, X_sim=np.hstack([block.X_sim, rare]), X_real=np.hstack([block.X_real, real_col]))
    fast = dict(pretrain_epochs=10, finetune_epochs=10, hidden=(16,)) if name == "mlp" else {}
    model = get_model(name).with_params(**fast)
    clipped = model.fit_predict(wide)
    assert np.abs(clipped).max() < 20 * np.abs(y_real).max()
    unclipped = model.with_params(input_clip=0.0).fit_predict(wide)
    assert np.abs(unclipped).max() > 100 * np.abs(y_real).max()  # what the clip prevents


def test_pretraining_memo_is_exact_and_keyed_on_what_pretraining_reads():
    """A memo hit returns the weights a fresh pretraining computes (same predictions, bit for bit);
    a change of anything stage 1 reads (a pretraining hyperparameter, the seeds) is a miss, and a
    fine-tuning hyperparameter is not part of the key."""
    from s2rbench.plugins import get_model

    block, _, _ = make_block(T=2, n=60, m=30)
    mlp_plugin._PRETRAINED.clear()
    cold = MLP(**FAST).fit_predict(block)
    assert len(mlp_plugin._PRETRAINED) == 1
    np.testing.assert_array_equal(MLP(**FAST).fit_predict(block), cold)
    MLP(**FAST, finetune_lr=1e-4).fit_predict(block)  # fine-tuning only: a hit
    assert len(mlp_plugin._PRETRAINED) == 1
    # delta pretrains the same network: a hit
    get_model("delta").with_params(**FAST).fit_predict(block)
    assert len(mlp_plugin._PRETRAINED) == 1
    MLP(**{**FAST, "finetune_patience": 3}).fit_predict(block)  # the probe's setting: a miss under "auto"
    assert len(mlp_plugin._PRETRAINED) == 2
    MLP(**{**FAST, "finetune_patience": 3, "pretrain_loss": "l1"}).fit_predict(block)  # a fixed loss: no probe
    MLP(**{**FAST, "finetune_patience": 4, "pretrain_loss": "l1"}).fit_predict(block)  # ... not in the key: a hit
    assert len(mlp_plugin._PRETRAINED) == 3
    real_changed = dataclasses.replace(block, y_train=block.y_train + np.float32(1.0))
    MLP(**FAST).fit_predict(real_changed)  # under "auto" the real rows choose the loss: a miss
    MLP(**FAST, pretrain_loss="l1").fit_predict(real_changed)  # a fixed loss reads no real row: a hit
    assert len(mlp_plugin._PRETRAINED) == 4
    MLP(**{**FAST, "lr": 3e-3}).fit_predict(block)
    MLP(**FAST).fit_predict(dataclasses.replace(block, seeds=block.seeds + 1))
    assert len(mlp_plugin._PRETRAINED) == 6


def test_pretraining_memo_is_bounded_by_bytes_not_by_a_count_of_units(monkeypatch):
    """All of a full protocol's units (bandgap: 28) stay in the memo, so that strategies compared in
    one process pretrain each unit once; the bound is on bytes: past it, the oldest entries go first."""
    block, _, _ = make_block(T=2, n=60, m=30)
    mlp_plugin._PRETRAINED.clear()
    for s in range(30):
        MLP(**FAST).fit_predict(dataclasses.replace(block, seeds=block.seeds + 10 * s))
    assert len(mlp_plugin._PRETRAINED) == 30
    first = next(iter(mlp_plugin._PRETRAINED))
    one = mlp_plugin._memo_bytes() // 30
    monkeypatch.setattr(mlp_plugin, "_PRETRAINED_MAX_BYTES", 5 * one)
    MLP(**FAST).fit_predict(dataclasses.replace(block, seeds=block.seeds + 1000))
    assert len(mlp_plugin._PRETRAINED) == 5
    assert first not in mlp_plugin._PRETRAINED
    assert mlp_plugin._memo_bytes() <= 5 * one
    mlp_plugin._PRETRAINED.clear()


def test_finetuning_rate_is_chosen_per_trial_on_its_validation_rows():
    """The candidates of the learning-rate grid train as extra replicas of the block: each trial's
    ``selected`` names the rate with the lowest validation MAE among those it reports; a one-value
    grid selects nothing (version 3's behaviour)."""
    block, _y_real, _test_idx = make_block(T=3, n=100, m=40)
    grid = (1e-4, 1e-3, 1e-2)
    model = MLP(**FAST, finetune_lr=grid)
    pred = model.fit_predict(block)
    assert np.isfinite(pred).all() and len(model.selected) == 3
    for sel in model.selected:
        assert sel["val_rows"] == 6 and len(sel["val_mae_std"]) == 3  # 15% of 40 rows
        assert sel["finetune_lr"] == grid[int(np.argmin(sel["val_mae_std"]))]
    single = MLP(**FAST, finetune_lr=1e-3, pretrain_loss="mse", finetune_loss="mse")
    single.fit_predict(block)
    assert single.selected is None  # nothing chosen: nothing recorded
    with pytest.raises(S2RBenchError, match="finetune_lr"):
        MLP(finetune_lr=[1e-3, -1.0])


def test_the_loss_is_chosen_per_trial_by_cross_validation_and_both_stages_train_with_it():
    """Version 5: with "auto" losses each trial cross-validates scratch fits, one per candidate loss
    and fold, on its own real training rows; the record is consistent with the one-standard-error
    rule; each trial then equals the fixed-loss model with the loss it chose, bit for bit; the
    scratch baseline (n == 0) makes the same choice; a trial alone makes the same choice, with the
    same numbers, as in its block."""
    block, _y, _t = make_block(T=4, n=100, m=40)
    model = MLP(**FAST)
    pred = model.fit_predict(block)
    chosen = [sel["finetune_loss"] for sel in model.selected]
    for sel in model.selected:
        cv, se = sel["finetune_loss_cv_mae"], sel["finetune_loss_cv_se"]
        assert len(cv) == 2 and sel["finetune_loss"] == ("mse", "l1")[one_se_choice(cv, se)]
        assert sel["pretrain_loss"] == sel["finetune_loss"] and sel["finetune_loss_folds"] == 5
        assert "finetune_lr" in sel and sel["val_rows"] == 6
    for loss in set(chosen):
        fixed = MLP(**FAST, pretrain_loss=loss, finetune_loss=loss).fit_predict(block)
        for k, c in enumerate(chosen):
            if c == loss:
                np.testing.assert_array_equal(pred[k], fixed[k])
    one = MLP(**FAST)
    alone = one.fit_predict(sub_block(block, [2]))
    assert one.selected[0]["finetune_loss"] == chosen[2]
    np.testing.assert_array_equal(alone[0], pred[2])
    scratch = MLP(**FAST)
    scratch.fit_predict(dataclasses.replace(block, sim_idx=block.sim_idx[:, :0]))
    assert [s["finetune_loss"] for s in scratch.selected] == chosen
    assert all("pretrain_loss" not in s for s in scratch.selected)
    mixed = MLP(**FAST, finetune_loss="huber")  # auto pretraining, a fixed fine-tuning loss
    mixed.fit_predict(block)
    assert [s["pretrain_loss"] for s in mixed.selected] == chosen
    assert {s["finetune_loss"] for s in mixed.selected} == {"huber"}
    with pytest.raises(S2RBenchError, match="loss_candidates"):
        MLP(loss_candidates=["l1", "l1"])


def test_torch_imported_by_the_first_fit_gets_the_units_thread_limit():
    """Loading the plugin imports no torch; the first fit imports it inside the harness's thread
    limit (``unit_threads``), and torch then computes with that many threads."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from s2rbench_plugins.models import _network as nw\n"
        "import s2rbench_plugins.models.mlp\n"
        "assert 'torch' not in sys.modules\n"
        "from s2rbench.sweep.executors import unit_threads\n"
        "with unit_threads(1):\n"
        "    torch = nw.torch_module()\n"
        "    print(torch.get_num_threads(), nw.compute_threads())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["1", "1"]


def test_pretraining_levers_are_opt_in_recorded_and_keep_trials_independent(monkeypatch):
    """Issue 20's levers (``pretrain_schedule``, ``pretrain_lr``, ``pretrain_batch_size``): the
    defaults are the version-4 path; the cosine schedule decays stage 1's rate step by step to 0 over
    ``pretrain_epochs`` rounds and leaves fine-tuning's grid alone; the pretraining batch is stage 1's
    only; and a trial still trains to the same numbers alone as in its block."""
    from s2rbench_plugins.models import _network as net

    f = net.cosine_lr(2e-3, 4)
    assert [f(t) for t in (1, 3, 5, 9)] == pytest.approx([2e-3, 1e-3, 0.0, 0.0], abs=1e-12)
    hp = MLP().hyperparameters
    assert (hp["pretrain_schedule"], hp["pretrain_lr"], hp["pretrain_batch_size"]) == ("constant", 0.0, 0)
    for bad in ({"pretrain_schedule": "linear"}, {"pretrain_lr": -1e-3}, {"pretrain_batch_size": -1}):
        with pytest.raises(S2RBenchError, match=next(iter(bad))):
            MLP(**bad)

    rates: list[tuple[int, float]] = []  # (stage-1 optimizer id, lr) of every step taken with a scalar rate
    step = net.AdamW.step

    def spy(self):
        step(self)
        if self.scalar_lr:
            rates.append((id(self), self.lr))

    monkeypatch.setattr(net.AdamW, "step", spy)
    block, _, _ = make_block(T=3, n=120, m=30)
    kw = {**FAST, "pretrain_epochs": 6, "pretrain_patience": 100, "finetune_lr": (3e-4, 1e-3)}
    kw.update(pretrain_loss="mse", finetune_loss="mse")  # no loss probe: its scratch fit steps at lr too
    plain = MLP(**kw)
    plain.trace = []
    base = plain.fit_predict(block)
    # constant: every stage-1 step at lr (fine-tuning trains a grid: one rate per replica, not scalar)
    assert {lr for _, lr in rates} == {plain.params["lr"]} and len({i for i, _ in rates}) == 1
    assert {t[3] for t in plain.trace if t[0] == 1} == {plain.params["batch_size"]}
    rates.clear()
    lever = MLP(**kw, pretrain_schedule="cosine", pretrain_lr=4e-3, pretrain_batch_size=16)
    lever.trace = []
    mlp_plugin._PRETRAINED.clear()
    got = lever.fit_predict(block)
    lrs = [lr for _, lr in rates]
    assert lrs[0] == pytest.approx(4e-3) and lrs == sorted(lrs, reverse=True) and lrs[-1] < 4e-3 * 0.01
    assert {t[3] for t in lever.trace if t[0] == 1} == {16}
    assert {t[3] for t in lever.trace if t[0] == 2} == {t[3] for t in plain.trace if t[0] == 2}
    assert not np.allclose(got, base)
    for k in range(3):
        mlp_plugin._PRETRAINED.clear()
        np.testing.assert_array_equal(lever.fit_predict(sub_block(block, [k]))[0], got[k])


def test_the_training_losses_are_opt_in_each_trains_its_stage_and_keep_trials_independent():
    """``pretrain_loss`` / ``finetune_loss`` fixed (mse | l1 | huber; "auto", version 5's default,
    is tested above): mse is the version-4 path; the fine-tuning loss changes the real-data stage
    (fine-tuning, and the scratch baseline's training), never the pretrained weights; the
    pretraining loss changes those (and the memo key); a trial trains to the same numbers alone as
    in its block whatever the loss."""
    hp = MLP().hyperparameters
    assert (hp["pretrain_loss"], hp["finetune_loss"], hp["loss_candidates"]) == ("auto", "auto", ("mse", "l1"))
    assert "pretrain_loss" in MLP.PRETRAIN_KEYS and "finetune_loss" not in MLP.PRETRAIN_KEYS
    for key in ("pretrain_loss", "finetune_loss"):
        with pytest.raises(S2RBenchError, match=key):
            MLP(**{key: "hinge"})
    block, _, _ = make_block(T=3, n=120, m=30)
    kw = {**FAST, "finetune_lr": (3e-4, 1e-3), "pretrain_loss": "mse"}
    preds, pretrained = {}, {}
    for loss in ("mse", "l1", "huber"):
        mlp_plugin._PRETRAINED.clear()
        preds[loss] = MLP(**kw, finetune_loss=loss).fit_predict(block)
        ((key, (weights, _, _)),) = mlp_plugin._PRETRAINED.items()
        pretrained[loss] = (key, [w.clone() for w in weights])
    for loss in ("l1", "huber"):
        assert pretrained[loss][0] == pretrained["mse"][0]  # stage 1 does not read the loss...
        for a, b in zip(pretrained[loss][1], pretrained["mse"][1]):
            torch.testing.assert_close(a, b, rtol=0, atol=0)  # ...and trains the same weights
        assert not np.allclose(preds[loss], preds["mse"])  # stage 2 does
    assert not np.allclose(preds["l1"], preds["huber"])
    for k in range(3):
        mlp_plugin._PRETRAINED.clear()
        alone = MLP(**kw, finetune_loss="l1").fit_predict(sub_block(block, [k]))
        np.testing.assert_array_equal(alone[0], preds["l1"][k])
    mlp_plugin._PRETRAINED.clear()
    l1_pre = MLP(**{**kw, "pretrain_loss": "l1", "finetune_loss": "mse"}).fit_predict(block)
    ((key, (weights, _, _)),) = mlp_plugin._PRETRAINED.items()
    assert key != pretrained["mse"][0]
    assert not all(torch.equal(a, b) for a, b in zip(weights, pretrained["mse"][1]))
    assert not np.allclose(l1_pre, preds["mse"])
    scratch, _, _ = make_block(T=3, n=0, m=30)
    s_mse, s_l1 = (MLP(**kw, finetune_loss=loss).fit_predict(scratch) for loss in ("mse", "l1"))
    assert not np.allclose(s_mse, s_l1)  # the scratch baseline trains with the same loss


def test_one_standard_error_rule_keeps_the_default_unless_another_loss_is_clearly_better():
    assert one_se_choice([1.0, 0.99], [0.0, 0.02]) == 0  # better by less than one s.e.: the default
    assert one_se_choice([1.0, 0.95], [0.0, 0.02]) == 1
    assert one_se_choice([1.0, 0.97, 0.90], [0.0, 0.01, 0.2]) == 1  # the best of the clear ones
    assert one_se_choice([np.inf, 0.5], [0.0, 0.0]) == 1


def test_the_loss_follows_the_noise_of_the_real_targets():
    """Gaussian noise keeps the squared error; a heavy tail (a fifth of the rows off by several
    units, as a spike-and-tail target is for a squared loss) makes the cross-validation choose l1,
    and l1 then predicts the clean function better: the choice is made for a reason, not by chance."""
    block, y_real, test_idx = make_block(T=4, n=0, m=150, M=300, noise=0.1)
    rng = np.random.default_rng(5)
    y = block.y_train.astype(np.float64)
    tail = y + np.where(rng.random(y.shape) < 0.2, rng.standard_cauchy(y.shape) * 3.0, 0.0)
    gauss = MLP(**FAST)
    gauss.fit_predict(block)
    assert [s["finetune_loss"] for s in gauss.selected].count("mse") >= 3
    heavy = MLP(**FAST)
    pred = heavy.fit_predict(dataclasses.replace(block, y_train=tail.astype(np.float32)))
    assert [s["finetune_loss"] for s in heavy.selected].count("l1") >= 3
    fixed = MLP(**FAST, finetune_loss="mse").fit_predict(dataclasses.replace(block, y_train=tail.astype(np.float32)))
    assert test_mae(pred, y_real, test_idx) < test_mae(fixed, y_real, test_idx)
