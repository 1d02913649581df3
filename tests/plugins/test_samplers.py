"""Samplers (random, diverse, near-real, stratified), `s2rbench compare` and `s2rbench suggest`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import install_plugin_package

from s2rbench import sweep
from s2rbench.cli import cli
from s2rbench.models import Model
from s2rbench.plugins import get_registry, get_sampler
from s2rbench.samplers import RandomSampler, SamplingContext, SuggestContext, checked_order, checked_suggestion
from s2rbench.sweep import protocol as proto
from s2rbench.sweep.store import Store
from s2rbench_plugins.samplers.structured import (
    Diverse,
    NearReal,
    Stratified,
    backbone_class,
    composition_family,
    family_labels,
)

BUILTIN = ("random", "diverse", "near-real", "stratified")
RIDGE = {"random_features": 64}
KEY = "5eed" * 16


def toy_ctx(n=600, d=6, trial=0, seed=0, inputs=None, families=None) -> SamplingContext:
    rng = np.random.Generator(np.random.PCG64(42))
    X = rng.normal(size=(n, d))
    X[:, 0] *= 5.0  # unequal scales: samplers standardize
    real = rng.normal(size=(100, d))
    Xr = real[proto.permutation(100, KEY, seed, trial, "real-order")[:25]]  # each trial its own training rows
    if inputs is None:
        inputs = tuple(["Fe2O3", "NaCl", "Fe", "LiFePO4", "BaSrTiCuO", "SiO2"][i % 6] for i in range(n))
    return SamplingContext(
        X_pool=X, inputs=tuple(inputs), X_real_train=Xr, key=KEY, seed=seed, trial=trial, families=families
    )


# ---------------------------------------------------------------------------------------------
# Orderings: registered, deterministic, nested, independent of the n grid and of the global RNG
# ---------------------------------------------------------------------------------------------


def test_builtin_samplers_are_registered_and_listed():
    reg = get_registry()
    assert set(BUILTIN) <= set(reg.samplers)
    assert reg.origin[("samplers", "diverse")].name == "samplers"
    res = CliRunner().invoke(cli, ["list", "samplers"])
    assert res.exit_code == 0 and all(s in res.output for s in BUILTIN)


@pytest.mark.parametrize("name", BUILTIN)
def test_order_is_a_deterministic_permutation_for_a_seed(name):
    sampler = get_sampler(name)
    state = np.random.get_state()
    np.random.seed(1)
    a = checked_order(sampler, toy_ctx(), 50)
    np.random.seed(2)  # the global RNG plays no part...
    b = checked_order(sampler, toy_ctx(), 600)  # ...and neither does n_max
    assert np.array_equal(a, b)
    assert np.array_equal(np.sort(a), np.arange(600))
    np.random.set_state(state)
    assert not np.array_equal(a, checked_order(sampler, toy_ctx(trial=1), 50))  # trials differ
    assert not np.array_equal(a, checked_order(sampler, toy_ctx(seed=3), 50))  # seeds differ


class Recorder(Model):
    """Predicts zeros and records each trial's pretraining rows."""

    name = "recorder"
    defaults: dict = {}

    def __init__(self, **params):
        super().__init__(**params)
        self.seen: dict[tuple[int, int], np.ndarray] = {}

    def fit_predict(self, block):
        for t, seed in enumerate(block.seeds):
            self.seen[(int(seed), block.n)] = block.sim_idx[t].copy()
        return np.zeros((block.n_trials, len(block.X_real)))


@pytest.fixture(scope="module")
def synth():
    return sweep.prepare("synthetic")


@pytest.mark.parametrize("name", BUILTIN)
def test_pretraining_sets_are_nested_across_n_through_the_sweep(name, synth):
    sizes = [16, 64, 256, 1024]
    rec = Recorder()
    for unit in sweep.plan_units("synthetic", "recorder", "vector", sizes, [60], 3, 2, 0, sampler=name):
        sweep.run_unit(unit, synth, rec)
    for seed in {s for s, _ in rec.seen}:
        sets = [rec.seen[(seed, n)] for n in sizes]
        for small, big in zip(sets, sets[1:]):
            assert np.array_equal(big[: len(small)], small)  # the first n rows of one ordering
        assert len(np.unique(sets[-1])) == sizes[-1]


def test_run_records_the_sampler_and_differs_from_random(tmp_path):
    kw = dict(
        model="ridge", sizes=[32, 128, 512], trials=2, progress=False, fit=False, model_params=RIDGE, device="cpu"
    )
    res = sweep.run("synthetic", out=tmp_path / "d", sampler="diverse", **kw)
    assert set(res.results["sampler"]) == {"diverse"}
    assert res.config["sampler"] == "diverse" and res.config["sampler_version"] == Diverse.version
    assert res.config["sampler_plugin"]["name"] == "samplers"
    rnd = sweep.run("synthetic", out=tmp_path / "r", **kw).results
    d = res.results
    assert np.array_equal(d[d.n == 0]["mae"].to_numpy(), rnd[rnd.n == 0]["mae"].to_numpy())  # scratch: no sim rows
    assert not np.allclose(d[d.n == 32]["mae"].to_numpy(), rnd[rnd.n == 32]["mae"].to_numpy())


# ---------------------------------------------------------------------------------------------
# `random` is the protocol of the runs made before samplers existed
# ---------------------------------------------------------------------------------------------

#: MAEs of `synthetic` / ridge(random_features=64) / sizes 32,128,512 / 3 trials / seed 0, computed with
#: the code of commit d0d5d70 (before samplers: run_unit took `proto.sim_order(...)[:n]` directly), with
#: today's s2rbench_plugins/models/linear.py copied in (ridge's intercept fix came later) and one BLAS thread.
PRE_SAMPLER_MAE = {
    (0, 0): 0.33898047061935793,
    (0, 1): 0.4139101959198512,
    (0, 2): 0.36321993866892427,
    (32, 0): 0.4533010421321364,
    (32, 1): 0.46564444396290355,
    (32, 2): 0.46130743843012806,
    (128, 0): 0.37954466310621027,
    (128, 1): 0.436887473085277,
    (128, 2): 0.40880809342302077,
    (512, 0): 0.34405470233072283,
    (512, 1): 0.40481546273790575,
    (512, 2): 0.3803376455285569,
}


def test_random_sampler_is_the_protocol_sim_order(synth):
    for trial in range(5):
        train = sweep.split_for(synth, 0, trial).train(60)
        sweep._ORDER_CACHE.clear()
        order = sweep.sim_order_for(synth, RandomSampler(), 0, trial, train, 100)
        assert np.array_equal(order, proto.sim_order(len(synth.y_sim), synth.sim_key, 0, trial))


#: the pinned MAEs are of the synthetic card v1.0.0 (generator v1), frozen in tests/data/regression
SYNTHETIC_V1 = str(Path(__file__).resolve().parents[1] / "data" / "regression" / "synthetic-v1.toml")


def test_random_sampler_reproduces_pre_sampler_results(tmp_path):
    synth = sweep.prepare(SYNTHETIC_V1)
    res = sweep.run(
        SYNTHETIC_V1,
        "ridge",
        sizes=[32, 128, 512],
        trials=3,
        progress=False,
        fit=False,
        model_params=RIDGE,
        device="cpu",
        out=tmp_path / "r",
        sampler="random",
    )
    got = {(int(n), int(t)): float(m) for n, t, m in zip(res.results["n"], res.results["trial"], res.results["mae"])}
    assert got.keys() == PRE_SAMPLER_MAE.keys()
    for k, v in PRE_SAMPLER_MAE.items():
        assert got[k] == pytest.approx(v, rel=1e-9, abs=1e-12), k
    # and the old code path, by hand: proto.sim_order's first n rows, no sampler involved
    from s2rbench.models import TrainingBlock

    model = get_registry().models["ridge"].with_params(**RIDGE)
    m = int(res.config["protocol"]["m"])
    for n in (32, 512):
        for t in range(3):
            split = sweep.split_for(synth, 0, t)
            tr = split.train(m)
            block = TrainingBlock(
                X_sim=synth.X_sim,
                y_sim=synth.y_sim,
                sim_idx=proto.sim_order(len(synth.y_sim), synth.sim_key, 0, t)[None, :n],
                X_real=synth.X_real,
                train_idx=tr[None],
                train_mask=np.ones((1, m), bool),
                y_train=synth.y_real[tr][None],
                seeds=np.array([proto.trial_seed(synth.real_key, 0, t)]),
                device="cpu",
            )
            pred = model.fit_predict(block)[0]
            assert np.mean(np.abs(pred[split.test] - synth.y_real[split.test])) == pytest.approx(got[(n, t)], rel=1e-12)


# ---------------------------------------------------------------------------------------------
# near-real: only the trial's real *training* inputs count
# ---------------------------------------------------------------------------------------------


def test_near_real_never_reads_real_test_inputs(synth):
    """Test rows are replaced by copies of 'bait' pool rows: a sampler that read them would put the
    bait first. The order must not move; the same bait in a *training* row must move it."""
    from dataclasses import replace

    seed, trial, m = 0, 0, 60
    split = sweep.split_for(synth, seed, trial)
    train = split.train(m)
    unit = sweep.WorkUnit("synthetic", "recorder", "vector", 200, m, (trial,), seed, "near-real", 200)

    def first_rows(prep):
        sweep._ORDER_CACHE.clear()  # the memo is keyed by fingerprints, which this test keeps fixed
        rec = Recorder()
        sweep.run_unit(unit, prep, rec)
        return next(iter(rec.seen.values()))

    clean = first_rows(synth)
    bait = np.setdiff1d(np.arange(len(synth.X_sim)), clean)[:50]  # pool rows near-real does not pick first
    Xp = synth.X_real.copy()
    Xp[split.test[: len(bait)]] = synth.X_sim[bait]  # poison: test inputs sit exactly on the bait
    Xp[split.test[len(bait) :]] = np.nan  # and the other test rows are NaN
    assert np.array_equal(first_rows(replace(synth, X_real=Xp)), clean)
    assert np.isin(split.test, train).sum() == 0
    Xt = synth.X_real.copy()
    Xt[train[:1]] = synth.X_sim[bait[:1]]  # the same bait on a training row is found at once
    assert first_rows(replace(synth, X_real=Xt))[0] == bait[0]
    sweep._ORDER_CACHE.clear()


def test_near_real_is_nan_safe_and_ranks_by_distance():
    X = np.array([[0.0, 0.0], [1.0, np.nan], [5.0, 5.0], [2.0, 2.0], [np.nan, np.nan]])
    ctx = SamplingContext(
        X_pool=X, inputs=tuple("abcde"), X_real_train=np.array([[2.1, 2.0], [np.nan, 4.0]]), key=KEY, seed=0, trial=0
    )
    order = checked_order(NearReal(), ctx, 5)
    assert sorted(order) == list(range(5)) and order[0] == 3  # (2, 2) is next to the real (2.1, 2)


# ---------------------------------------------------------------------------------------------
# stratified and diverse
# ---------------------------------------------------------------------------------------------


def test_family_rules():
    assert [composition_family(f) for f in ("Fe", "NaCl", "Fe2O3", "LiFePO4", "BaSrTiCuO3")] == [
        "1 element",
        "2 elements",
        "2 elements",
        "4 elements",
        "5+ elements",
    ]
    assert backbone_class("*CC*") == "all-carbon backbone"
    assert backbone_class("*CC(*)c1ccccc1") == "all-carbon backbone"  # polystyrene: the ring hangs off the backbone
    assert backbone_class("*Oc1ccc(*)cc1") == "aromatic backbone"
    assert backbone_class("*CCO*") == "heteroatom backbone"
    assert backbone_class("[Ce]CC(C)(C)[Th]") == "all-carbon backbone"
    assert list(family_labels(["*CC*|CCO", "*CCO*|O"])) == ["*CC*", "*CCO*"]
    X = np.random.Generator(np.random.PCG64(0)).normal(size=(400, 5))  # no chemistry: principal-component octants
    fams = family_labels([",".join(map(str, r)) for r in X], X=X)
    assert set(fams) == {f"pc{a}{b}{c}" for a in "+-" for b in "+-" for c in "+-"}


def test_stratified_gives_an_equal_share_per_family():
    fams = np.array(["big"] * 300 + ["mid"] * 200 + ["tiny"] * 5 + ["one"] * 1 + ["rest"] * 94, dtype=object)
    ctx = toy_ctx(families=fams)
    order = checked_order(Stratified(), ctx, 600)
    head = pd.Series(fams[order[:21]]).value_counts()  # 5 rounds: 5 + 4 * 4 rows ("one" runs out)
    assert head["big"] == head["mid"] == head["rest"] == head["tiny"] == 5 and head["one"] == 1
    assert sorted(pd.Series(fams[order[:40]]).value_counts()) == [1, 5, 11, 11, 12]  # then "tiny" is out too
    assert set(fams[order[:5]]) == {"big", "mid", "tiny", "one", "rest"}  # one of each, first round
    # without a family column: element counts of the compositions
    order = checked_order(Stratified(), toy_ctx(), 600)
    first = [composition_family(ctx.inputs[i]) for i in order[:4]]
    assert sorted(first) == ["1 element", "2 elements", "4 elements", "5+ elements"]


def test_diverse_head_is_farthest_point_and_spreads_over_clusters():
    rng = np.random.Generator(np.random.PCG64(0))
    centres = np.array([[0, 0], [10, 0], [0, 10], [10, 10], [30, 30]], float)
    sizes = [400, 400, 400, 400, 8]  # a small far cluster: random sampling rarely reaches it
    X = np.vstack([c + rng.normal(scale=0.5, size=(s, 2)) for c, s in zip(centres, sizes)])
    label = np.repeat(np.arange(5), sizes)
    ctx = SamplingContext(X_pool=X, inputs=tuple(map(str, range(len(X)))), X_real_train=X[:3], key=KEY, seed=0, trial=0)
    order = checked_order(Diverse(), ctx, len(X))
    assert set(label[order[:5]]) == {0, 1, 2, 3, 4}  # five farthest points: one per cluster
    far_diverse = (label[order[:40]] == 4).sum()  # coverage, not density: the far cluster gets picked...
    far_random = (label[ctx.random_order()[:40]] == 4).sum()  # ...where random expects 40 * 8/1608 = 0.2 rows
    assert far_diverse >= 3 and far_random < far_diverse


def test_diverse_scales_to_a_large_pool():
    """10^4 × 130 here (the docs time 10^5 × 130); complexity O(N·CAP·p)."""
    rng = np.random.Generator(np.random.PCG64(1))
    X = rng.normal(size=(10_000, 130)).astype(np.float32)
    ctx = SamplingContext(
        X_pool=X, inputs=tuple("x" for _ in range(len(X))), X_real_train=X[:100], key=KEY, seed=0, trial=0
    )
    t0 = time.perf_counter()
    order = checked_order(Diverse(), ctx, len(X))
    assert time.perf_counter() - t0 < 30
    assert np.array_equal(np.sort(order), np.arange(len(X)))


def test_real_task_families_and_orders(data_dir):
    """chi (cheap to featurize): polymer-of-the-pair families, the backbone rule on its polymers, valid orders."""
    prep = sweep.prepare("chi", data_dir=data_dir)
    fams = family_labels(prep.sim_inputs, None, prep.X_sim)  # inferred: the inputs are POLYMER|SOLVENT pairs
    assert len(set(fams)) > 10 and all("*" in f for f in fams)
    backbones = family_labels(sorted(set(fams)), "polymer")
    assert set(backbones) == {
        "heteroatom backbone",
        "all-carbon backbone",
    }  # (no aromatic backbone among chi's 46 polymers)
    train = sweep.split_for(prep, 0, 0).train(50)
    for name in BUILTIN:
        sweep._ORDER_CACHE.clear()
        a = sweep.sim_order_for(prep, get_sampler(name), 0, 0, train, 256)
        sweep._ORDER_CACHE.clear()
        assert np.array_equal(a, sweep.sim_order_for(prep, get_sampler(name), 0, 0, train, 256))
        assert len(np.unique(a)) == len(prep.y_sim)
    order = sweep.sim_order_for(prep, get_sampler("stratified"), 0, 0, train, 256)
    first = pd.Series(fams[order[: len(set(fams))]])
    assert first.nunique() == len(set(fams))  # the first round holds one pair of every polymer


# ---------------------------------------------------------------------------------------------
# suggest: hand-computed toy pools, Python and CLI
# ---------------------------------------------------------------------------------------------


def line_ctx(existing, candidates, real, families=None):
    """Points on a line (second feature constant: dropped by the standardization)."""
    col = lambda xs: np.column_stack([np.asarray(xs, float), np.ones(len(xs))])
    return SuggestContext(
        X_existing=col(existing),
        existing_inputs=tuple(map(str, existing)),
        X_candidates=col(candidates),
        candidate_inputs=tuple(map(str, candidates)),
        X_real=col(real),
        real_inputs=tuple(map(str, real)),
        key=KEY,
        seed=0,
        existing_families=None if families is None else np.array(families[0], dtype=object),
        candidate_families=None if families is None else np.array(families[1], dtype=object),
    )


EXISTING = [0, 1, 2, 3]
CANDIDATES = [0.5, 3.5, 6, 8, 10]
REAL = [5.8, 9.5]


def test_suggest_hand_computed():
    ctx = line_ctx(EXISTING, CANDIDATES, REAL)
    # diverse: distances to {0..3} are .5 .5 3 5 7 -> 10; then min(3, 4)=3 for 6 vs min(5, 2)=2 for 8 -> 6; then 8 (2)
    s = checked_suggestion(Diverse(), ctx, 3)
    assert [CANDIDATES[i] for i in s.index] == [10, 6, 8]
    sd = np.std(EXISTING + CANDIDATES)  # distances are in standardized units
    assert s.reasons[0]["distance_to_existing"] == pytest.approx(7 / sd, rel=1e-5)
    assert s.reasons[1]["distance_to_chosen"] == pytest.approx(4 / sd, rel=1e-5)
    assert s.reasons[1]["nearest_existing"] == "3"
    # near-real: distances to {5.8, 9.5}: 5.3 2.3 .2 1.5 .5
    s = checked_suggestion(NearReal(), ctx, 5)
    assert [CANDIDATES[i] for i in s.index] == [6, 10, 8, 3.5, 0.5]
    assert s.reasons[0]["nearest_real"] == "5.8"
    # stratified: existing counts a=3, b=2, c=0 -> c (0), c (1, still below b's 2), then c has no candidate left -> b
    fam = (["a", "a", "a", "b", "b"], ["a", "b", "c", "c", "b"])
    s = checked_suggestion(Stratified(), line_ctx([*EXISTING, 4], CANDIDATES, REAL, fam), 3)
    assert [fam[1][i] for i in s.index] == ["c", "c", "b"]
    assert [r["family_count_before"] for r in s.reasons] == [0, 1, 2] and s.reasons[2]["family_existing"] == 2


TOY_CARD = """
format = 1
name = "toy-line"
version = "1.0.0"
input_kind = "features"
[target]
name = "y"
unit = "u"
[sim]
file = "sim"
input = ["a", "b"]
target = "y"
[real]
file = "real"
input = ["a", "b"]
target = "y"
[files.sim]
path = "sim.csv"
[files.real]
path = "real.csv"
[protocol]
sizes = [1, 2, 3]
"""


@pytest.fixture
def toy_task(tmp_path):
    (tmp_path / "sim.csv").write_text("a,b,y\n" + "".join(f"{x},1,{x}\n" for x in EXISTING))
    (tmp_path / "real.csv").write_text("a,b,y\n" + "".join(f"{x},1,{x}\n" for x in [*REAL, 20.0]))
    (tmp_path / "toy.toml").write_text(TOY_CARD)
    return tmp_path


def test_cli_suggest_toy_pool(toy_task):
    pool = toy_task / "pool.csv"
    pool.write_text("a,b\n" + "".join(f"{x},1\n" for x in CANDIDATES) + "oops,1\n2,1\n")
    runner = CliRunner()
    card = str(toy_task / "toy.toml")
    out = toy_task / "next.csv"
    res = runner.invoke(
        cli, ["suggest", card, "--pool", str(pool), "--k", "3", "--sampler", "diverse", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "row 5: 'oops|1'" in res.output and "row 6" in res.output and "already in the simulated table" in res.output
    table = pd.read_csv(out)
    assert list(table["a"]) == [10, 6, 8] and list(table["rank"]) == [1, 2, 3] and list(table["row"]) == [4, 2, 3]
    assert {"distance_to_existing", "distance_to_chosen", "reason"} <= set(table.columns)
    res = runner.invoke(
        cli, ["suggest", card, "--pool", str(pool), "--k", "5", "--sampler", "near-real", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert list(pd.read_csv(out)["a"]) == [6, 10, 8, 3.5, 0.5]  # nearest to the real inputs 5.8, 9.5 (and 20)
    res = runner.invoke(cli, ["suggest", card, "--pool", str(pool), "--k", "2", "--sampler", "random"])
    assert res.exit_code == 0 and "chosen at random" in res.output


@pytest.mark.parametrize(
    "args, pool_text, fragment",
    [
        (["--k", "2", "--sampler", "nope"], "a,b\n5,1\n", "unknown sampler 'nope'"),
        (["--k", "9"], "a,b\n5,1\n6,1\n", "--k 9 is larger than the 2 usable candidates"),
        (["--k", "1"], "a,b\nx,1\ny,1\n", "none of the 2 inputs"),
        (["--k", "1"], "c,d\n5,1\n", "has no column(s) ['a', 'b']"),
        (["--k", "0"], "a,b\n5,1\n", "--k 0 must be a positive"),
        (["--k", "1"], "a,b\n1,1\n", "holds no new candidate"),
    ],
)
def test_cli_suggest_bad_input_is_one_line(toy_task, args, pool_text, fragment):
    pool = toy_task / "pool.csv"
    pool.write_text(pool_text)
    res = CliRunner().invoke(cli, ["suggest", str(toy_task / "toy.toml"), "--pool", str(pool), *args])
    assert res.exit_code == 1, res.output
    assert fragment in res.output and "Traceback" not in res.output
    assert sum(line.startswith("Error:") for line in res.output.splitlines()) == 1


# ---------------------------------------------------------------------------------------------
# compare
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("cmp")
    kw = dict(
        model="ridge", sizes=[32, 128, 512], trials=6, progress=False, fit=False, model_params=RIDGE, device="cpu"
    )
    out = {}
    for s in ("random", "diverse"):
        out[s] = sweep.run("synthetic", out=root / s, sampler=s, **kw).run_dir
    tiny = {**kw, "sizes": [32], "trials": 1}  # refused before anything is fitted
    out["seed1"] = sweep.run("synthetic", out=root / "seed1", seed=1, **tiny).run_dir
    out["m30"] = sweep.run("synthetic", out=root / "m30", m=30, **tiny).run_dir
    out["rf32"] = sweep.run(
        "synthetic", out=root / "rf32", **{**kw, "trials": 3, "model_params": {"random_features": 32}}
    ).run_dir
    return out


def test_compare_samplers_pairs_trials(runs, tmp_path):
    from scipy.stats import wilcoxon

    res = CliRunner().invoke(
        cli,
        [
            "compare",
            str(runs["random"]),
            str(runs["diverse"]),
            "--json",
            "--boot",
            "50",
            "--out",
            str(tmp_path / "c.png"),
        ],
    )
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["factor"] == ["sampler"] and d["paired"] and "Wilcoxon" in d["test"] and d["reference"] == "random"
    assert [r["run"] for r in d["runs"]] == ["random", "diverse"]
    assert all(r["alpha"] is not None and len(r["alpha_ci"]) == 2 for r in d["runs"])
    per = pd.DataFrame(d["per_n"])
    assert sorted(set(per["n"])) == [0, 32, 128, 512]
    assert per[(per.n == 0) & (per.run == "diverse")]["diff"].iloc[0] == 0  # scratch does not depend on the sampler
    # the p-value is Wilcoxon's on the trial-paired MAEs
    a, b = Store(runs["diverse"], create=False).results(), Store(runs["random"], create=False).results()
    x, y = a[a.n == 32].sort_values("trial")["mae"].to_numpy(), b[b.n == 32].sort_values("trial")["mae"].to_numpy()
    row = per[(per.n == 32) & (per.run == "diverse")].iloc[0]
    assert (
        row["p"] == pytest.approx(wilcoxon(x, y).pvalue)
        and row["pairs"] == 6
        and row["diff"] == pytest.approx(np.mean(x - y))
    )
    png = tmp_path / "c.png"
    assert png.read_bytes()[:4] == b"\x89PNG" and d["plot"] == str(png)
    text = CliRunner().invoke(cli, ["compare", str(runs["random"]), str(runs["diverse"]), "--boot", "50"])
    assert text.exit_code == 0 and "differ in: sampler" in text.output and "alpha [90% CI]" in text.output


def test_compare_detects_a_model_factor(runs):
    res = CliRunner().invoke(cli, ["compare", str(runs["random"]), str(runs["rf32"]), "--json", "--boot", "20"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["factor"] == ["hyperparameters"] and {r["pairs"] for r in d["per_n"] if r["run"] != d["reference"]} == {3}
    # each run is labelled by the hyperparameters that differ, not by the start of the whole dict
    assert [r["run"] for r in d["runs"]] == ["random_features=64", "random_features=32"]


def test_compare_fills_a_hyperparameter_the_older_run_did_not_record(runs, tmp_path):
    """A run made before a model gained an opt-in hyperparameter (same version, a default that
    reproduces it: issue 20's pretraining levers of ``mlp``) does not differ in it from a new run."""
    import shutil
    import sqlite3

    def edited(name: str, fn) -> str:
        d = tmp_path / name
        shutil.copytree(runs["random"], d)
        with sqlite3.connect(d / "results.sqlite") as db:
            cfg = json.loads(db.execute("select value from meta where key = 'config'").fetchone()[0])
            fn(cfg)
            db.execute("update meta set value = ? where key = 'config'", (json.dumps(cfg),))
        return str(d)

    dropped = sorted(set(cfg_hp(runs["random"])) - set(RIDGE))[0]  # a key the run left at its default
    older = edited("older", lambda c: c["hyperparameters"].pop(dropped))
    d = json.loads(CliRunner().invoke(cli, ["compare", str(runs["random"]), older, "--json", "--boot", "20"]).stdout)
    assert d["factor"] == [] and any("same configuration" in n for n in d["notes"]), d
    # another version: its defaults say nothing about the older run, so the gap is reported
    other = edited("other", lambda c: (c["hyperparameters"].pop(dropped), c.update(model_version="0")))
    d = json.loads(CliRunner().invoke(cli, ["compare", str(runs["random"]), other, "--json", "--boot", "20"]).stdout)
    assert set(d["factor"]) == {"hyperparameters", "model_version"}, d


def cfg_hp(run_dir) -> dict:
    with Store(run_dir, create=False) as store:
        return store.get_meta("config")["hyperparameters"]


def test_compare_refuses_mismatched_runs(runs, toy_task, tmp_path):
    runner = CliRunner()
    toy = sweep.run(
        str(toy_task / "toy.toml"),
        "ridge",
        sizes=[1, 2],
        trials=1,
        progress=False,
        fit=False,
        model_params=RIDGE,
        device="cpu",
        out=tmp_path / "toy",
    ).run_dir
    cases = [
        ([runs["random"], runs["seed1"]], "different seeds"),
        ([runs["random"], runs["m30"]], "different m"),
        ([runs["random"], toy], "different tasks"),
        ([runs["random"]], "at least two run directories"),
        ([runs["random"], tmp_path / "nothing"], "holds no s2rbench results"),
        ([runs["random"], runs["m30"], "--m", "120"], "holds no results at m=120"),
    ]
    for args, fragment in cases:
        res = runner.invoke(cli, ["compare", *map(str, args)])
        assert res.exit_code == 1, (args, res.output)
        assert fragment in res.output and "Traceback" not in res.output
        assert sum(line.startswith("Error:") for line in res.output.splitlines()) == 1


# ---------------------------------------------------------------------------------------------
# a third-party sampler, installed as a package, discovered and used
# ---------------------------------------------------------------------------------------------

SAMPLER_PYPROJECT = """
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "s2rbench-toy-sampler"
version = "0.2.0"

[project.entry-points.s2rbench]
toy-sampler = "s2rbench_toy_sampler"

[tool.setuptools]
py-modules = ["s2rbench_toy_sampler"]
"""

SAMPLER_MODULE = '''
import numpy as np
from s2rbench import hookimpl
from s2rbench.samplers import Sampler


class Reversed(Sampler):
    """The random order, backwards: a sampler with no `suggest` of its own."""

    name = "toy-reversed"
    version = "0.2.0"
    description = "the trial's random order reversed"

    def order(self, ctx, n_max):
        return ctx.random_order()[::-1]


@hookimpl
def register_samplers(register):
    register(Reversed())
'''


def test_third_party_sampler_is_discovered_and_used(tmp_path):
    target = install_plugin_package(tmp_path, SAMPLER_PYPROJECT, {"s2rbench_toy_sampler": SAMPLER_MODULE})
    env = {
        **os.environ,
        "PYTHONPATH": str(target),
        "S2RBENCH_LOAD_PLUGINS": "cards,synthetic,linear,random-sampler,samplers,toy-sampler",
    }
    script = """
import json
from s2rbench import sweep
from s2rbench.suggest import suggest
res = sweep.run("synthetic", "ridge", sizes=[32, 128, 512], trials=1, sampler="toy-reversed", model_params={"random_features": 64},
                device="cpu", progress=False, fit=False, out="run")
open("pool.csv", "w").write("input\\n" + "".join('"' + ",".join(["0.%d" % i] * 64) + '"\\n' for i in range(1, 6)))
nxt = suggest("synthetic", "pool.csv", 3, "toy-reversed")
print(json.dumps({"samplers": sorted(set(res.results["sampler"])), "plugin": res.config["sampler_plugin"],
                  "version": res.config["sampler_version"], "next": nxt.table.to_csv(index=False)}))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    d = json.loads(out.stdout.strip().splitlines()[-1])
    assert d["samplers"] == ["toy-reversed"] and d["version"] == "0.2.0"
    assert d["plugin"]["distribution"] == "s2rbench-toy-sampler" and d["plugin"]["name"] == "toy-sampler"
    lines = d["next"].strip().splitlines()
    assert lines[0].startswith("rank,row,input") and "rank_in_order" in lines[0] and len(lines) == 4


def test_suggest_refuses_a_pool_of_another_input_width(tmp_path):
    """A pool whose vectors are shorter than the task's inputs is one Error: line, not a NumPy traceback."""
    pool = tmp_path / "pool.csv"
    pool.write_text("input\n" + "".join('"' + ",".join([f"0.{i}"] * 8) + '"\n' for i in range(1, 6)))
    res = CliRunner().invoke(cli, ["suggest", "synthetic", "--pool", str(pool), "--k", "2", "--sampler", "random"])
    assert res.exit_code == 1 and "Traceback" not in res.output, res.output
    errors = [ln for ln in res.output.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1 and "8 features" in errors[0] and "64" in errors[0], res.output
