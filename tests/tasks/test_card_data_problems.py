"""`task check` names the data problems a scientist would catch (issue 16): units and signs, repeated
simulated inputs, targets spanning decades, repeated real inputs; a clean pair passes quietly. And the
card options that answer them (scale/offset, aggregate, transform) work end to end on a reduced grid."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest
from cardkit import clean_pair, write_pair
from click.testing import CliRunner

from s2rbench.cli import cli
from s2rbench.tasks import load_card
from s2rbench.tasks.check import check_card


def check(card) -> dict:
    return check_card(str(card)).to_dict()


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_a_clean_pair_passes_quietly(tmp_path):
    sim, real = clean_pair()
    rep = check(write_pair(tmp_path, sim, real))
    assert rep["ok"] and rep["warnings"] == []
    g = rep["gap"]
    assert g["pairs"] == 40 and g["pearson_r"] > 0.9 and 0.5 < g["spread_ratio"] < 2 and 0.5 < g["median_ratio"] < 2
    assert rep["repeats"]["sim"]["repeated_inputs"] == 0 and rep["repeats"]["real"]["repeated_inputs"] == 0


def test_units_that_differ_are_flagged_with_the_numbers(tmp_path):
    sim, real = clean_pair()
    real["y_real"] *= 96.485  # eV/atom on one side, kJ/mol on the other: r stays high, the spreads differ ~96x
    rep = check(write_pair(tmp_path, sim, real))
    assert rep["gap"]["pearson_r"] > 0.9
    ratio = rep["gap"]["spread_ratio"]
    assert ratio < 1 / 50
    spread = [w for w in rep["warnings"] if w.startswith("units?") and "spread" in w]
    assert spread and f"{ratio:.3g}×" in spread[0] and "scale" in spread[0]
    assert any("median" in w for w in rep["warnings"])
    # declaring the conversion on the real side (value * scale) makes the pair clean again
    rep = check(write_pair(tmp_path, sim, real, real_extra="scale = 0.010364"))
    assert not [w for w in rep["warnings"] if w.startswith("units?")] and 0.5 < rep["gap"]["spread_ratio"] < 2


def test_declared_units_that_differ_without_a_conversion_are_flagged(tmp_path):
    sim, real = clean_pair()
    rep = check(write_pair(tmp_path, sim, real, sim_extra='unit = "eV/atom"', real_extra='unit = "kJ/mol"'))
    assert any("'eV/atom'" in w and "'kJ/mol'" in w and "scale" in w for w in rep["warnings"])
    rep = check(
        write_pair(
            tmp_path, sim, real, sim_extra='unit = "eV/atom"\nscale = 1.0\noffset = 0.0', real_extra='unit = "eV/atom"'
        )
    )
    assert not any(w.startswith("units") for w in rep["warnings"])


def test_a_flipped_sign_is_flagged(tmp_path):
    sim, real = clean_pair()
    real["y_real"] = -real["y_real"]
    rep = check(write_pair(tmp_path, sim, real))
    r = rep["gap"]["pearson_r"]
    assert r < -0.9
    assert any(w.startswith("sign?") and f"r = {r:.2f}" in w and "scale = -1" in w for w in rep["warnings"])
    rep = check(write_pair(tmp_path, sim, real, sim_extra="scale = -1.0"))
    assert rep["gap"]["pearson_r"] > 0.9 and not any(w.startswith("sign?") for w in rep["warnings"])


def _polymorphs(sim):
    """Every shared input simulated four times: the ground state (lowest) plus three higher polymorphs."""
    extra = [sim.iloc[:40].assign(y_sim=sim["y_sim"].iloc[:40] + d) for d in (1.5, 2.5, 3.0)]
    import pandas as pd

    return pd.concat([sim, *extra], ignore_index=True)


def test_repeated_simulated_inputs_are_counted_and_the_aggregation_named(tmp_path):
    sim, real = clean_pair()
    sim = _polymorphs(sim)
    rep = check(write_pair(tmp_path, sim, real))
    rs = rep["repeats"]["sim"]
    assert (rs["repeated_inputs"], rs["rows_of_repeated_inputs"], rs["max_copies"]) == (40, 160, 4)
    assert rep["repeats"]["compared_with"] == "mean"
    assert any("40 sim input(s) repeat" in w and "aggregate" in w for w in rep["warnings"])
    mae_mean = rep["gap"]["mae"]
    rep = check(write_pair(tmp_path, sim, real, sim_extra='aggregate = "min"'))
    assert rep["repeats"]["compared_with"] == "min" and any("by their min" in w for w in rep["warnings"])
    assert rep["gap"]["mae"] < mae_mean / 3  # the mean invents a gap that the ground state does not have
    assert "compared by their min" in check_card(str(tmp_path / "pair.toml")).text()


def test_aggregation_shapes_the_pretraining_set(tmp_path):
    from s2rbench.sweep.prepare import prepare

    sim, real = clean_pair()
    sim = _polymorphs(sim)
    keep = prepare(load_card(write_pair(tmp_path / "keep", sim, real)))
    low = prepare(load_card(write_pair(tmp_path / "min", sim, real, sim_extra='aggregate = "min"')))
    high = prepare(load_card(write_pair(tmp_path / "max", sim, real, sim_extra='aggregate = "max"')))
    assert len(keep.y_sim) == 320 and len(low.y_sim) == len(high.y_sim) == 200
    assert len(set(low.sim_inputs)) == 200
    np.testing.assert_allclose(high.y_sim[:40] - low.y_sim[:40], 3.0, atol=1e-5)  # max - min of each polymorph set
    np.testing.assert_allclose(low.y_sim, sim["y_sim"].to_numpy()[:200], atol=1e-5)  # the ground states


def test_a_target_spanning_decades_is_flagged_and_a_transform_declared(tmp_path):
    sim, real = clean_pair()
    sim["y_sim"] = 10.0 ** (sim["y_sim"] - 1.0)
    real["y_real"] = 10.0 ** (real["y_real"] - 1.0)
    rep = check(write_pair(tmp_path, sim, real))
    assert any("decades" in w and "transform" in w for w in rep["warnings"])
    rep = check(write_pair(tmp_path, sim, real, target='transform = "log10"'))
    assert rep["transform"] == "log10" and not any("decades" in w for w in rep["warnings"])


def test_non_positive_targets_under_a_log_are_one_line_naming_rows(tmp_path):
    sim, real = clean_pair()
    real.loc[[3, 7], "y_real"] = [0.0, -1.0]
    line = invoke("task", "check", write_pair(tmp_path, sim, real, target='transform = "log"')).output
    err = [ln for ln in line.splitlines() if ln.startswith("Error:")]
    assert len(err) == 1 and "[real]" in err[0] and "row 3 (0)" in err[0] and "row 7 (-1)" in err[0]


def test_repeated_real_inputs_are_reported_and_never_straddle_the_split(tmp_path):
    from s2rbench.sweep.prepare import prepare
    from s2rbench.sweep.units import split_for

    sim, real = clean_pair()
    import pandas as pd

    real = pd.concat([real, real.iloc[:20]], ignore_index=True)  # 20 real inputs measured twice
    card = write_pair(tmp_path, sim, real)
    rep = check(card)
    rr = rep["repeats"]["real"]
    assert (rr["repeated_inputs"], rr["rows_of_repeated_inputs"]) == (20, 40)
    assert any("20 real input(s) repeat" in w and "one side" in w for w in rep["warnings"])
    assert rep["protocol"]["repeats_kept_together"] is True
    prep = prepare(load_card(card))
    assert prep.groups is not None
    for t in range(8):
        s = split_for(prep, 0, t)
        test = {prep.real_inputs[i] for i in s.test}
        train = {prep.real_inputs[i] for i in s.train_order}
        assert not test & train, f"trial {t}: a repeated input on both sides of the split"
    # the leaderboard's rescoring re-derives the very same splits (one grouping rule, not a copy)
    from s2rbench.leaderboard.rescore import real_side

    side = real_side(load_card(card), prep.featurizer.name, "random")
    assert side.key == prep.real_key and np.array_equal(side.groups, prep.groups)
    # a table without repeats keeps its row-wise random split
    clean = prepare(load_card(write_pair(tmp_path / "clean", *clean_pair())))
    assert clean.groups is None


def test_the_same_file_on_both_sides_is_warned_about(tmp_path):
    sim, real = clean_pair()
    rep = check(write_pair(tmp_path, sim, real, same_file=True))
    assert any("same file" in w for w in rep["warnings"])


def test_transform_and_aggregation_end_to_end_with_ridge(tmp_path):
    sim, real = clean_pair()
    sim = _polymorphs(sim)
    sim["y_sim"] = 10.0 ** (sim["y_sim"] - 1.0)
    real["y_real"] = 10.0 ** (real["y_real"] - 1.0)
    card = write_pair(tmp_path, sim, real, target='transform = "log10"', sim_extra='aggregate = "min"')
    out = tmp_path / "run"
    res = invoke(
        "run",
        card,
        "--model",
        "ridge",
        "--sizes",
        "16,64",
        "--trials",
        "2",
        "--out",
        out,
        "--no-progress",
        "--boot",
        "20",
    )
    assert res.exit_code == 0, res.output
    conn = sqlite3.connect(out / "results.sqlite")
    rows = conn.execute("SELECT n, trial, mae, mae_original FROM results ORDER BY n, trial").fetchall()
    config = json.loads(conn.execute("SELECT value FROM meta WHERE key='config'").fetchone()[0])
    conn.close()
    assert len(rows) == 6 and all(r[3] is not None and r[3] > 0 for r in rows)
    assert config["target_transform"] == "log10" and config["data_info"]["sim_rows"] == 200  # polymorphs combined
    # mae is in log10 units (a fraction of a decade), mae_original in the original units: they differ
    assert all(r[2] < 1.0 for r in rows) and any(abs(r[3] - r[2]) > 0.1 for r in rows)
    # a run without a transform stores NULL there
    plain = tmp_path / "plain"
    res = invoke(
        "run",
        write_pair(tmp_path / "p", *clean_pair()),
        "--model",
        "ridge",
        "--sizes",
        "16",
        "--trials",
        "1",
        "--out",
        plain,
        "--no-progress",
        "--boot",
        "20",
    )
    assert res.exit_code == 0, res.output
    conn = sqlite3.connect(plain / "results.sqlite")
    assert {r[0] for r in conn.execute("SELECT mae_original FROM results")} == {None}
    conn.close()


def test_mae_original_inverts_the_transform():
    from s2rbench.tasks.transform import original_metrics

    y = np.log10(np.array([1.0, 10.0, 100.0]))
    pred = np.log10(np.array([2.0, 10.0, 50.0]))
    assert original_metrics("log10", pred, y)["mae_original"] == pytest.approx((1 + 0 + 50) / 3)
    assert original_metrics("log", np.log([2.0]), np.log([1.0]))["mae_original"] == pytest.approx(1.0)
    assert original_metrics("none", pred, y) == {"mae_original": None}


def test_an_older_row_wise_run_of_a_task_with_repeats_is_refused_not_resumed(tmp_path):
    import pandas as pd

    sim, real = clean_pair()
    card = write_pair(tmp_path, sim, pd.concat([real, real.iloc[:20]], ignore_index=True))
    out = tmp_path / "run"
    args = [
        "run",
        card,
        "--model",
        "ridge",
        "--sizes",
        "16",
        "--trials",
        "1",
        "--out",
        out,
        "--no-progress",
        "--boot",
        "20",
    ]
    assert invoke(*args).exit_code == 0
    conn = sqlite3.connect(out / "results.sqlite")
    config = json.loads(conn.execute("SELECT value FROM meta WHERE key='config'").fetchone()[0])
    assert config["split_groups"] == "repeated real inputs"
    config.pop("split_groups")  # what a run stored before repeated inputs were kept together
    with conn:
        conn.execute("UPDATE meta SET value=? WHERE key='config'", (json.dumps(config),))
    conn.close()
    res = CliRunner().invoke(cli, [str(a) for a in args])
    assert res.exit_code == 1 and "split_groups" in res.output


def test_init_reads_nested_units_and_writes_three_quick_m_values(tmp_path):
    import pandas as pd
    import tomllib

    sim, real = clean_pair()
    sim = sim.rename(columns={"y_sim": "k calc (W/(m K))"})
    real = real.rename(columns={"y_real": "k exp (W/(m K))"})
    sim.to_csv(tmp_path / "sim.csv", index=False)
    real.to_csv(tmp_path / "real.csv", index=False)
    res = invoke(
        "task",
        "init",
        "kappa",
        "--sim",
        tmp_path / "sim.csv",
        "--real",
        tmp_path / "real.csv",
        "--out",
        tmp_path / "kappa.toml",
    )
    assert res.exit_code == 0, res.output
    raw = tomllib.loads((tmp_path / "kappa.toml").read_text())
    assert raw["target"]["unit"] == "W/(m K)" and raw["target"]["name"] == "k"
    assert (
        len(raw["protocol"]["quick_m_grid"]) >= 3
        and raw["protocol"]["quick_m_grid"][-1] == raw["protocol"]["m_grid"][-1]
    )
    assert raw["protocol"]["split"] == "random"  # no repeated real input: nothing to keep together
    assert (
        " of 60" not in (tmp_path / "kappa.toml").read_text()
    )  # the m comment names no count a split change would stale
    # repeated real inputs: the m grid still fits what check computes (for features, whose group split would group by
    # the first column only, init keeps the random split, which keeps copies together; a polymer card gets split = "group",
    # see test_user_tasks and the tutorial)
    pd.concat([real, real.iloc[:10]]).to_csv(tmp_path / "real.csv", index=False)
    res = invoke(
        "task",
        "init",
        "kappa",
        "--sim",
        tmp_path / "sim.csv",
        "--real",
        tmp_path / "real.csv",
        "--out",
        tmp_path / "kappa.toml",
        "--force",
    )
    assert res.exit_code == 0 and "10 real input(s) repeat" in res.output and "stay on one side" in res.output
    raw = tomllib.loads((tmp_path / "kappa.toml").read_text())
    assert raw["protocol"]["split"] == "random"
    rep = check(tmp_path / "kappa.toml")
    assert rep["protocol"]["largest_m"] <= rep["protocol"]["m_all"]


def test_init_writes_side_units_when_they_differ(tmp_path):
    import tomllib

    sim, real = clean_pair()
    sim.rename(columns={"y_sim": "Hf calc (eV/atom)"}).to_csv(tmp_path / "sim.csv", index=False)
    real.rename(columns={"y_real": "Hf exp (kJ/mol)"}).to_csv(tmp_path / "real.csv", index=False)
    assert (
        invoke(
            "task",
            "init",
            "hf",
            "--sim",
            tmp_path / "sim.csv",
            "--real",
            tmp_path / "real.csv",
            "--out",
            tmp_path / "hf.toml",
        ).exit_code
        == 0
    )
    raw = tomllib.loads((tmp_path / "hf.toml").read_text())
    assert (raw["sim"]["unit"], raw["real"]["unit"]) == ("eV/atom", "kJ/mol")
    assert any("'eV/atom'" in w and "'kJ/mol'" in w for w in check(tmp_path / "hf.toml")["warnings"])
