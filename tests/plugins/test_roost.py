"""Tests of the ``roost`` model plugin (aviary-models) and the ``composition-elements`` featurizer.

A tiny network (8-wide features, one message-passing layer) and a few rounds keep them fast; the
contract checks are those of every model: shapes, determinism, trial independence, train_mask,
test targets never read (+100 on every test target changes no prediction and no ``selected``)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

from s2rbench import sweep
from s2rbench.contracts.featurizer import InvalidInputsWarning, featurize_with
from s2rbench.contracts.model import Model, TrainingBlock
from s2rbench.errors import S2RBenchError
from s2rbench_plugins.featurizers.composition import Magpie
from s2rbench_plugins.featurizers.elements import CompositionElements, TruncatedCompositionsWarning, decode_elements

aviary = pytest.importorskip("aviary.roost.model", reason="the roost extra (aviary-models) is not installed")
torch = pytest.importorskip("torch")

from s2rbench_plugins.models import roost as roost_plugin
from s2rbench_plugins.models.roost import Roost, roost_param_count

TINY = dict(
    elem_fea_len=8,
    n_graph=1,
    elem_heads=1,
    cry_heads=1,
    elem_gate=[8],
    elem_msg=[8],
    cry_gate=[8],
    cry_msg=[8],
    trunk_hidden=[16],
    out_hidden=[8],
    batch_size=16,
    pretrain_epochs=3,
    pretrain_patience=2,
    finetune_epochs=3,
    finetune_patience=2,
    finetune_lrs=[1e-3, 3e-4],
    min_steps_per_epoch=2,
)
ELEMENTS = ("Li", "Na", "K", "Mg", "Ca", "Al", "Ga", "Si", "Ti", "Fe", "Zn", "O", "S", "N", "F", "Cl")


@pytest.fixture(autouse=True, scope="module")
def single_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def formulas(k: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(k):
        els = rng.choice(len(ELEMENTS), size=int(rng.integers(1, 4)), replace=False)
        out.append("".join(f"{ELEMENTS[e]}{int(rng.integers(1, 4))}" for e in els))
    return out


def target(X: np.ndarray) -> np.ndarray:
    Z, W = decode_elements(X)
    return (Z * W).sum(axis=1) / 10.0


def make_block(T=3, n=60, m=24, M=40, pool=120, seed=0) -> tuple[TrainingBlock, np.ndarray]:
    f = CompositionElements()
    X_sim = featurize_with(f, formulas(pool, seed)).X.astype(np.float32)
    X_real = featurize_with(f, formulas(M, seed + 1)).X.astype(np.float32)
    y_sim, y_real = target(X_sim).astype(np.float32) + 0.3, target(X_real).astype(np.float32)
    rng = np.random.default_rng(seed)
    train_idx = np.stack([rng.permutation(M)[:m] for _ in range(T)]).astype(np.int64)
    sim_idx = np.stack([rng.permutation(pool)[:n] for _ in range(T)]).astype(np.int64)
    block = TrainingBlock(X_sim=X_sim, y_sim=y_sim, sim_idx=sim_idx, X_real=X_real, train_idx=train_idx,
                          train_mask=np.ones((T, m), bool), y_train=y_real[train_idx],
                          seeds=np.arange(T, dtype=np.int64) + 11)  # fmt: skip
    return block, y_real


def sub_block(block: TrainingBlock, ids) -> TrainingBlock:
    ids = np.asarray(ids)
    return dataclasses.replace(
        block,
        sim_idx=block.sim_idx[ids],
        train_idx=block.train_idx[ids],
        train_mask=block.train_mask[ids],
        y_train=block.y_train[ids],
        seeds=block.seeds[ids],
    )


# ---------------------------------------------------------------------------------------------
# the featurizer
# ---------------------------------------------------------------------------------------------


def test_elements_and_fractions_most_abundant_first():
    f = CompositionElements(max_elements=3)
    with pytest.warns(InvalidInputsWarning, match="Xx2O"):
        fm = featurize_with(f, ["Fe2O3", "O3Fe2", "NaCl", "Xx2O"])
    assert fm.names == ["element_1", "element_2", "element_3", "fraction_1", "fraction_2", "fraction_3"]
    np.testing.assert_allclose(fm.X[0], [8, 26, 0, 0.6, 0.4, 0])
    np.testing.assert_array_equal(fm.X[0], fm.X[1])  # same canonical composition, same row
    np.testing.assert_allclose(fm.X[2], [11, 17, 0, 0.5, 0.5, 0])  # a tie keeps formula order (Na before Cl)
    assert fm.invalid == [3] and np.isnan(fm.X[3]).all()
    assert fm.canonical[:3] == Magpie().canonicalize(["Fe2O3", "O3Fe2", "NaCl"])  # magpie's canonical form
    Z, W = decode_elements(fm.X[[0, 2]])
    assert Z.dtype == np.int64 and Z[0].tolist() == [8, 26, 0]
    np.testing.assert_allclose(W.sum(axis=1), 1.0)


def test_beyond_the_cap_keeps_the_most_abundant_and_warns():
    f = CompositionElements(max_elements=2)
    with pytest.warns(TruncatedCompositionsWarning, match="1 composition"):
        X = f.featurize_canonical(f.canonicalize(["Li2FeO4", "NaCl"]))
    np.testing.assert_allclose(X[0], [8, 3, 4 / 6, 2 / 6])  # Fe dropped, O and Li renormalized
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        CompositionElements().featurize_canonical(["Li2FeO4"])  # the default cap keeps it whole
    with pytest.raises(S2RBenchError, match="max_elements"):
        CompositionElements(max_elements=0)


def test_roost_refuses_descriptor_columns():
    block, _ = make_block(T=1)
    magpie_like = dataclasses.replace(block, X_real=np.random.default_rng(0).normal(size=(40, 16)).astype(np.float32))
    with pytest.raises(S2RBenchError, match="--featurizer composition-elements"):
        Roost(**TINY).fit_predict(magpie_like)


# ---------------------------------------------------------------------------------------------
# the model contract
# ---------------------------------------------------------------------------------------------


def test_shapes_determinism_selection_and_global_rng_untouched():
    block, _ = make_block()
    torch.manual_seed(1234)
    before = torch.get_rng_state()
    model = Roost(**TINY)
    a = model.fit_predict(block)
    sel = model.selected
    assert torch.equal(torch.get_rng_state(), before)  # the plugin forks the generator it seeds
    b = Roost(**TINY).fit_predict(block)
    assert a.shape == (3, 40) and np.isfinite(a).all()
    np.testing.assert_array_equal(a, b)
    assert len(sel) == 3
    for s in sel:
        assert s["lr"] in TINY["finetune_lrs"] and 0 <= s["epochs"] <= TINY["finetune_epochs"]
        assert s["val_rows"] == 2 and 1 <= s["pretrain_epochs"] <= TINY["pretrain_epochs"]  # 10% of 24 rows
        json.dumps(s)
    assert not np.allclose(a[0], a[1])  # different seeds and rows, different networks


def test_a_trial_gets_the_same_predictions_alone_or_in_a_block():
    block, _ = make_block()
    whole = Roost(**TINY).fit_predict(block)
    alone = Roost(**TINY).fit_predict(sub_block(block, [2]))
    np.testing.assert_array_equal(whole[2], alone[0])


def test_train_mask_is_respected():
    block, _ = make_block(T=2)
    mask = block.train_mask.copy()
    mask[:, -6:] = False
    masked = dataclasses.replace(block, train_mask=mask)
    y = block.y_train.copy()
    y[:, -6:] = np.nan
    idx = block.train_idx.copy()
    idx[:, -6:] = 0
    other = dataclasses.replace(masked, y_train=y, train_idx=idx)  # padded rows changed: nothing may change
    model = Roost(**TINY)
    a, sa = model.fit_predict(masked), model.selected
    b, sb = model.fit_predict(other), model.selected
    np.testing.assert_array_equal(a, b)
    assert sa == sb


def test_scratch_when_n_is_zero():
    block, _ = make_block(T=2)
    scratch = dataclasses.replace(block, sim_idx=block.sim_idx[:, :0])
    model = Roost(**TINY)
    p = model.fit_predict(scratch)
    assert p.shape == (2, 40) and np.isfinite(p).all()
    assert all("pretrain_epochs" not in s and s["epochs"] >= 1 for s in model.selected)
    assert not np.array_equal(p, Roost(**TINY).fit_predict(block))


def test_hyperparameters_are_checked_and_recorded():
    with pytest.raises(S2RBenchError, match="elem_embedding"):
        Roost(elem_embedding="https://example.org/x.json")
    with pytest.raises(S2RBenchError, match="finetune_lrs"):
        Roost(finetune_lrs=[])
    with pytest.raises(S2RBenchError, match="no hyperparameter"):
        Roost(hidden=3)
    hp = Roost(**TINY).hyperparameters
    assert hp["finetune_lrs"] == [1e-3, 3e-4] and json.dumps(hp)


def test_state_bytes_counts_the_network_and_grows_with_n():
    model = Roost()
    net = aviary.Roost(task_dict={"t": "regression"}, robust=False, n_targets=[1], device="cpu")
    exact = sum(p.numel() for p in net.parameters())
    assert exact <= roost_param_count(model.params) <= 1.01 * exact  # the embedding table is bounded above
    once_small, per_small = model.state_bytes(n=100, m=500, d=16, n_real=4604)
    once_big, per_big = model.state_bytes(n=100_000, m=500, d=16, n_real=4604)
    assert once_big > once_small > 6 * 4 * exact and per_big > per_small > 0


# ---------------------------------------------------------------------------------------------
# the plugin
# ---------------------------------------------------------------------------------------------


def test_loading_the_plugin_imports_neither_torch_nor_aviary():
    code = ("import sys, s2rbench_plugins.models.roost, s2rbench_plugins.featurizers.elements; "
            "print('torch' in sys.modules, 'aviary' in sys.modules)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_without_aviary_the_plugin_is_one_problem_line_and_the_rest_works(fresh_plugins):
    from s2rbench import plugins

    assert plugins.get_model("roost").name == "roost"
    plugins.reset()
    fresh_plugins.setattr(roost_plugin, "aviary_available", lambda: False)
    reg = plugins.get_registry()
    assert "roost" not in reg.models and "mlp" in reg.models and "composition-elements" in reg.featurizers
    lines = [p for p in reg.problems if "roost" in p]
    assert len(lines) == 1 and "pip install 's2rbench[roost]'" in lines[0] and "\n" not in lines[0]


# ---------------------------------------------------------------------------------------------
# through the harness: test targets never read
# ---------------------------------------------------------------------------------------------


class Recorder(Model):
    def __init__(self, inner: Model) -> None:
        self.inner, self.name, self.params = inner, inner.name, inner.params

    def fit_predict(self, block):
        self.pred = self.inner.fit_predict(block)
        self.selected = self.inner.selected
        return self.pred


@pytest.fixture(scope="module")
def comp_task(tmp_path_factory):
    """A tiny composition task (a user card on two CSV files) prepared with composition-elements."""
    from click.testing import CliRunner

    from s2rbench.cli import cli

    root = tmp_path_factory.mktemp("comp")
    for name, k, seed in (("sim", 200, 0), ("real", 60, 1)):
        fs = formulas(k, seed)
        X = featurize_with(CompositionElements(), fs).X
        y = target(X) + (0.3 if name == "sim" else 0.0)
        (root / f"{name}.csv").write_text("formula,gap\n" + "".join(f"{a},{b:.6f}\n" for a, b in zip(fs, y)))
    res = CliRunner().invoke(cli, ["task", "init", "comp", "--sim", str(root / "sim.csv"), "--real",
                                   str(root / "real.csv"), "--out", str(root / "comp.toml")])  # fmt: skip
    assert res.exit_code == 0, res.output
    return sweep.prepare(str(root / "comp.toml"), featurizer="composition-elements", use_cache=False)


def test_test_targets_are_never_read(comp_task):
    prep = comp_task
    seed = prep.card.protocol.seed
    common = None
    for t in (0, 1):
        test = sweep.split_for(prep, seed, t).test
        common = test if common is None else np.intersect1d(common, test)
    assert common.size > 0
    y = prep.y_real.copy()
    y[common] += 100.0
    other = dataclasses.replace(prep, y_real=y)
    unit = sweep.WorkUnit("comp", "roost", "composition-elements", 50, 30, (0, 1), seed, n_max=50)
    runs = []
    for p in (prep, other):
        rec = Recorder(Roost(**TINY))
        rows = sweep.run_unit(unit, p, rec)
        runs.append((rec.pred, [r["selected"] for r in rows], [r["mae"] for r in rows]))
    (pa, sa, ma), (pb, sb, mb) = runs
    np.testing.assert_array_equal(pa, pb)
    assert sa == sb and all(json.loads(s)["lr"] for s in sa)
    assert all(b > a + 1 for a, b in zip(ma, mb))  # the perturbation did hit the scored rows
