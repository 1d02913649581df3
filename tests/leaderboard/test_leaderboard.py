"""Leaderboard by pull request: submit, build, check — on temp copies, never the repo's leaderboard/."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from click.testing import CliRunner
from cpupaths import CPU_PATHS, path_id, run_under

from s2rbench import leaderboard as lb
from s2rbench import submission as S
from s2rbench.cli import cli
from s2rbench.errors import S2RBenchError
from s2rbench.sweep.store import Store
from s2rbench.tasks import get_task

REPO = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------------------------------
# Fixtures: one real quick sweep (ridge, 64 random features), everything else derived in memory
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    from s2rbench.sweep import run

    out = tmp_path_factory.mktemp("run") / "ridge64"
    run(
        "synthetic",
        "ridge",
        quick=True,
        model_params={"random_features": 64},
        out=out,
        device="cpu",
        progress=False,
        fit=False,
    )
    return out


@pytest.fixture(scope="module")
def run_data(run_dir):
    with Store(run_dir, create=False) as store:
        return store.results(), store.get_meta("config"), store.predictions()


@pytest.fixture(scope="module")
def sub_a(run_data) -> dict:
    rows, config, preds = run_data
    return S.build_submission(rows, config, name="Ridge RFF-64", author="Tester", date="2026-01-02", predictions=preds)


@pytest.fixture(scope="module")
def run_dir_b(tmp_path_factory) -> Path:
    from s2rbench.sweep import run

    out = tmp_path_factory.mktemp("run") / "ridge4"
    run(
        "synthetic",
        "ridge",
        quick=True,
        model_params={"random_features": 4, "alpha_finetune": 1e4},
        out=out,
        device="cpu",
        progress=False,
        fit=False,
    )
    return out


@pytest.fixture(scope="module")
def sub_b(run_dir_b) -> dict:
    """A second, clearly worse entry: ridge on 4 random features, heavily regularised."""
    return S.from_run(run_dir_b, name="Worse ridge", url="https://example.org/worse", date="2026-01-03")


@pytest.fixture
def root(tmp_path) -> Path:
    """A temp copy of the repo's leaderboard directory without its entries (the baselines)."""
    dst = tmp_path / "leaderboard"
    shutil.copytree(REPO / "leaderboard", dst, ignore=shutil.ignore_patterns("*.json", "*.png"))
    return dst


@pytest.fixture(scope="module")
def built(tmp_path_factory, sub_a, sub_b) -> Path:
    """A leaderboard with two submissions, built once (plots included); tests copy it."""
    root = tmp_path_factory.mktemp("built") / "leaderboard"
    root.mkdir()
    S.write_submission(sub_a, root)
    S.write_submission(sub_b, root)
    lb.build(root)
    return root


@pytest.fixture
def two(tmp_path, built) -> Path:
    dst = tmp_path / "leaderboard"
    shutil.copytree(built, dst)
    return dst


def _edit(path: Path, fn) -> None:
    data = json.loads(path.read_text())
    fn(data)
    path.write_text(json.dumps(data, indent=1))


def _file(root: Path, sub: dict) -> Path:
    return S.submission_path(root, sub)


# ---------------------------------------------------------------------------------------------
# Submissions
# ---------------------------------------------------------------------------------------------


def test_schema_is_shipped_and_is_a_valid_schema():
    jsonschema.Draft202012Validator.check_schema(S.schema())
    assert S.schema()["properties"]["fit"]["properties"]["seed"] == {"const": S.FIT_SEED}


def test_submission_carries_raw_data_provenance_and_fit(sub_a, run_data, run_dir):
    from s2rbench.tasks import get_task

    rows, config, _ = run_data
    card = get_task("synthetic")
    assert S.schema_problems(sub_a) == []
    assert {k: sub_a["task"][k] for k in ("name", "version", "hash")} == {
        "name": "synthetic",
        "version": card.version,
        "hash": card.hash,
    }
    assert sub_a["model"]["name"] == "ridge" and sub_a["model"]["hyperparameters"]["random_features"] == 64
    assert sub_a["featurizer"]["name"] == "vector" and sub_a["featurizer"]["version"]
    assert sub_a["packages"]["numpy"] and sub_a["device"]["type"] == "cpu" and sub_a["date"] == "2026-01-02"
    assert sub_a["protocol"]["quick"] is True and sub_a["protocol"]["m"] == config["protocol"]["m"]
    res = sub_a["results"]
    assert res["sizes"] == list(card.protocol.quick_sizes)
    assert len(res["mae"]) == len(res["seeds"]) == len(res["scratch_mae"]) == card.protocol.quick_trials
    first = rows[(rows["n"] == res["sizes"][0]) & (rows["trial"] == 0)]["mae"].item()
    assert res["mae"][0][0] == first
    # The stated fit is what `s2rbench fit --boot 1000` reports for the run.
    from s2rbench.analysis import summarize

    s = summarize(run_dir, n_boot=S.FIT_BOOT)
    assert sub_a["fit"]["alpha"] == pytest.approx(s.fit.alpha, rel=1e-12)
    assert sub_a["fit"]["C_ci"] == pytest.approx(list(s.fit.C_ci), rel=1e-12)
    assert sub_a["summary"]["mae_at_largest_n"] == pytest.approx(s.mae_at_largest_n)
    lo, hi = sub_a["summary"]["mae_at_largest_n_ci"]
    assert lo < sub_a["summary"]["mae_at_largest_n"] < hi


def test_id_is_deterministic_and_ignores_metadata(run_data, sub_a):
    rows, config, preds = run_data
    again = S.build_submission(
        rows,
        config,
        name="Ridge RFF-64",
        author="Someone else",
        description="edited",
        date="2027-05-05",
        predictions=preds,
    )
    assert again["id"] == sub_a["id"]
    assert sub_a["id"].startswith("ridge-rff-64-synthetic-")
    other = S.build_submission(rows, config, name="Ridge RFF-64", date="2026-01-02", author=None, predictions=preds)
    assert other["id"] == sub_a["id"]


def test_submit_refuses_incomplete_and_nonstandard_runs(run_data):
    rows, config, preds = run_data
    with pytest.raises(S2RBenchError, match="incomplete"):
        S.build_submission(rows[~((rows["n"] == 128) & (rows["trial"] == 1))], config, name="x", predictions=preds)
    fewer = rows[rows["trial"] < 3]
    cfg = copy.deepcopy(config)
    cfg["protocol"]["trials"] = 3
    with pytest.raises(S2RBenchError, match=r"protocol\.trials: 3 is not the card's quick 4"):
        S.build_submission(fewer, cfg, name="x", predictions=preds)
    with pytest.raises(S2RBenchError, match="--name"):
        S.build_submission(rows, config, name="!!!", predictions=preds)
    cfg = copy.deepcopy(config)
    cfg["task"] = "no-such-task"
    with pytest.raises(S2RBenchError, match="not a registered task"):
        S.build_submission(rows, cfg, name="x", predictions=preds)
    with pytest.raises(S2RBenchError, match="kept no test predictions"):
        S.build_submission(rows, config, name="x")


def test_submit_cli_writes_file_and_plot(root, run_dir):
    res = CliRunner().invoke(
        cli, ["submit", str(run_dir), "--name", "Ridge RFF-64", "--author", "Tester", "--root", str(root)]
    )
    assert res.exit_code == 0, res.output
    files = list((root / "submissions" / "synthetic").glob("*.json"))
    assert len(files) == 1 and files[0].stem.startswith("ridge-rff-64-synthetic-")
    sub = json.loads(files[0].read_text())
    assert S.validate(sub, files[0]) == []
    assert (root / "plots" / "synthetic" / f"{sub['id']}.png").stat().st_size > 1000
    # After a build the directory passes the check, through the CLI too.
    assert CliRunner().invoke(cli, ["leaderboard", "build", "--root", str(root)]).exit_code == 0
    res = CliRunner().invoke(cli, ["leaderboard", "check", "--root", str(root)])
    assert res.exit_code == 0, res.output
    assert "leaderboard OK: 1 submission(s)" in res.output


def test_submit_needs_an_existing_leaderboard_dir(tmp_path, run_dir):
    res = CliRunner().invoke(cli, ["submit", str(run_dir), "--name", "x", "--root", str(tmp_path / "nowhere")])
    assert res.exit_code == 1
    assert "does not exist" in res.output and "--root" in res.output and "Traceback" not in res.output


# ---------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------


def test_build_and_check_on_empty_dirs(tmp_path, root):
    bare = tmp_path / "bare"
    bare.mkdir()  # not even a submissions/ folder
    for r in (bare, root):
        res = lb.build(r)
        assert res.entries == 0
        assert "No submissions yet" in (r / "README.md").read_text()
        assert lb.find_problems(r) == []
        assert lb.check(r) == 0


def test_build_ranks_and_links(two, sub_a, sub_b):
    text = (two / "README.md").read_text()
    assert "## synthetic" in text and "Ranking" in text and "Ties" in text
    a_row = next(line for line in text.splitlines() if "Ridge RFF-64" in line)
    b_row = next(line for line in text.splitlines() if "Worse ridge" in line)
    assert text.index(a_row) < text.index(b_row)
    assert a_row.split("|")[1].strip() == "1" and b_row.split("|")[1].strip() == "2"  # disjoint intervals: ordered
    assert f"(plots/synthetic/{sub_a['id']}.png)" in a_row and f"(submissions/synthetic/{sub_a['id']}.json)" in a_row
    assert "[code](https://example.org/worse)" in b_row and "quick" in b_row
    assert f"{sub_a['fit']['alpha']:.3g} [" in a_row
    for s in (sub_a, sub_b):
        assert (two / "plots" / "synthetic" / f"{s['id']}.png").is_file()
    assert lb.find_problems(two) == []


def _entry(name, lo, hi, quick=False, n=8192):
    mid = (lo + hi) / 2 if lo is not None else 1.0
    sub = {
        "id": name,
        "task": {"name": "t"},
        "protocol": {"quick": quick},
        "summary": {"mae_at_largest_n": mid, "mae_at_largest_n_ci": [lo, hi], "largest_n": n},
    }
    return lb.Entry(rel=Path(f"submissions/t/{name}.json"), sub=sub)


def test_rank_rule_ties_overlapping_intervals():
    es = [
        _entry("c", 2.5, 4.0),
        _entry("a", 1.0, 2.0),
        _entry("b", 1.8, 3.0),
        _entry("q", 0.1, 0.2, quick=True),
        _entry("d", 5.0, 6.0),
    ]
    got = [(label, e.id) for label, e in lb.rank(es)]
    # a and b overlap: tied. c is beaten only by a (disjoint), d by a, b and c. Quick entries come after full ones.
    assert got == [("1=", "a"), ("1=", "b"), ("2", "c"), ("4", "d"), ("5", "q")]
    # No interval (one trial): never placed below anything, never above anything.
    got = [
        (label, e.id) for label, e in lb.rank([_entry("a", 1.0, 2.0), _entry("x", None, None), _entry("d", 5.0, 6.0)])
    ]
    assert dict((i, label) for label, i in got) == {"a": "1=", "x": "1=", "d": "2"}


def test_build_removes_orphan_plots_and_refuses_broken_files(two, sub_b):
    _file(two, sub_b).unlink()
    res = lb.build(two)
    assert [p.name for p in res.plots_removed] == [f"{sub_b['id']}.png"]
    assert "Worse ridge" not in (two / "README.md").read_text()
    (two / "submissions" / "synthetic" / "broken.json").write_text("{")
    with pytest.raises(lb.LeaderboardError, match="1 problem"):
        lb.build(two)


# ---------------------------------------------------------------------------------------------
# Check
# ---------------------------------------------------------------------------------------------


def test_check_rejects_a_tampered_fit_naming_file_and_field(two, sub_a):
    path = _file(two, sub_a)
    _edit(path, lambda d: d["fit"].__setitem__("alpha", d["fit"]["alpha"] * 1.2))
    lb.build(two)  # an up-to-date page does not save a wrong number
    problems = lb.find_problems(two)
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}: fit.alpha: stated ")
    with pytest.raises(lb.LeaderboardError) as info:
        lb.check(two)
    assert info.value.problems == problems and "1 problem(s)" in str(info.value) and "\n" not in str(info.value)


def test_check_tolerates_numerical_noise(two, sub_a):
    path = _file(two, sub_a)
    _edit(
        path,
        lambda d: (
            d["fit"].__setitem__("C", d["fit"]["C"] * (1 + 1e-5)),
            d["fit"]["D_ci"].__setitem__(0, d["fit"]["D_ci"][0] * (1 - 1e-3)),
        ),
    )
    lb.build(two)
    assert lb.find_problems(two) == []


def test_check_rejects_edited_raw_data(two, sub_a):
    path = _file(two, sub_a)
    _edit(path, lambda d: d["results"]["mae"][0].__setitem__(-1, d["results"]["mae"][0][-1] * 0.5))
    lb.build(two)
    problems = lb.find_problems(two)
    assert any(p.startswith(f"{path}: id:") and "content hash" in p for p in problems)
    assert any(f"{path}: summary.mae_at_largest_n:" in p for p in problems)


def test_check_reports_every_offender(two, sub_a, sub_b):
    """A tampered fit, an unknown task, a malformed file, a schema violation and a stale page: all reported."""
    subs = two / "submissions"
    _edit(_file(two, sub_a), lambda d: d["fit"].__setitem__("D", d["fit"]["D"] * 3))
    unknown = copy.deepcopy(sub_b)
    unknown["task"]["name"] = "no-such-task"
    unknown["id"] = S.make_id(unknown["name"], "no-such-task", S.content_hash(unknown))
    S.write_submission(unknown, two)
    (subs / "synthetic" / "malformed.json").write_text('{"format": 1, "id": ')
    bad = copy.deepcopy(sub_b)
    bad["protocol"]["quick"] = "yes"
    del bad["fit"]["C"]
    (subs / "synthetic" / "schema-bad.json").write_text(json.dumps(bad))
    (subs / "stray.txt").write_text("hello")

    res = CliRunner().invoke(cli, ["leaderboard", "check", "--root", str(two)])
    assert res.exit_code == 1
    lines = [line for line in res.output.splitlines() if line.strip() and not line.startswith("Warning:")]
    *problems, summary = lines
    assert summary.startswith("Error: leaderboard check found") and f"{len(problems)} problem(s)" in summary
    text = "\n".join(problems)
    assert f"{_file(two, sub_a)}: fit.D: stated" in text
    unknown_path = subs / "no-such-task" / f"{unknown['id']}.json"
    assert f"{unknown_path}: task.name: 'no-such-task' is not a registered task" in text
    assert f"{subs / 'synthetic' / 'malformed.json'}: is not valid JSON" in text
    assert f"{subs / 'synthetic' / 'schema-bad.json'}: protocol.quick:" in text
    assert f"{subs / 'synthetic' / 'schema-bad.json'}: fit: 'C' is a required property" in text
    assert f"{subs / 'stray.txt'}: unexpected file" in text
    assert f"{two / 'README.md'}: stale" in text
    assert f"{two / 'plots' / 'no-such-task' / unknown['id']}.png: missing plot" in text
    assert all(line.startswith(str(two)) for line in problems)  # one problem per line, each naming its file


def test_check_rejects_a_card_hash_mismatch_and_misplaced_or_renamed_files(two, sub_a):
    path = _file(two, sub_a)
    _edit(path, lambda d: d["task"].__setitem__("hash", "0" * 64))
    renamed = path.with_name("renamed.json")
    shutil.copy(_file(two, sub_a), renamed)
    problems = lb.find_problems(two)
    assert any(
        p.startswith(f"{path}: task: card synthetic v{get_task('synthetic').version}")
        and "not the registered card" in p
        for p in problems
    )
    assert any(p.startswith(f"{renamed}: id: the file is named renamed.json") for p in problems)
    assert sum(": the same measurement as " in p for p in problems) == 1


def test_stale_readme_fails_and_build_fixes_it(two):
    readme = two / "README.md"
    readme.write_text(readme.read_text().replace("| 2 ", "| 1=", 1))
    problems = lb.find_problems(two)
    assert len(problems) == 1 and problems[0].startswith(f"{readme}: stale (first difference at line")
    readme.unlink()
    assert lb.find_problems(two)[0].startswith(f"{readme}: missing")
    lb.build(two)
    assert lb.find_problems(two) == []


def test_default_root_is_leaderboard_in_the_working_directory(tmp_path, root):
    runner = CliRunner()
    with runner.isolated_filesystem(temp_dir=tmp_path):
        res = runner.invoke(cli, ["leaderboard", "check"])
        assert res.exit_code == 1 and "leaderboard does not exist" in res.output
        shutil.copytree(root, "leaderboard")
        assert runner.invoke(cli, ["leaderboard", "build"]).exit_code == 0  # the copy dropped the entries
        res = runner.invoke(cli, ["leaderboard", "check"])
        assert res.exit_code == 0, res.output


def test_the_repository_leaderboard_passes_the_check():
    """The CI gate: the committed leaderboard/ (read only here) validates, refits and is up to date."""
    assert lb.find_problems(REPO / "leaderboard") == []


def test_a_curve_without_a_law_shows_no_law_instead_of_parameters():
    fit = {"alpha": 0.01, "alpha_ci": [0.0, 0.02], "C": 0.3, "C_ci": [0.2, 0.4], "D": 0.1, "D_ci": [0.0, 0.2]}
    flat = lb._law_cells({**fit, "r2": 0.31})
    assert flat["α [90% CI]"] == "no law" and flat["C [90% CI]"] == "—" and flat["R²"] == "0.31"
    # R² alone is not a law: α's interval reaches its bound 0 (issue 16), so this is no law either
    assert lb._law_cells({**fit, "r2": 0.95})["α [90% CI]"] == "no law"
    tight = {"alpha": 0.3, "alpha_ci": [0.25, 0.35], "C": 0.3, "C_ci": [0.2, 0.4], "D": 1.0, "D_ci": [0.8, 1.2]}
    good = lb._law_cells({**tight, "r2": 0.95})
    assert good["α [90% CI]"] == "0.3 [0.25, 0.35]" and good["C [90% CI]"] == "0.3 [0.2, 0.4]"


@pytest.mark.parametrize("env", CPU_PATHS, ids=path_id)
def test_the_repository_leaderboard_passes_the_check_on_every_cpu_code_path(env, data_dir):
    """Issue 18: what the check verifies is a property of the data, not of the SIMD path.

    The code paths (tests/cpupaths.py): NumPy without its AVX-512 kernels, OpenBLAS forced to older
    cores, torch's ATen dispatch at default/avx2. The native path is the in-process test above."""
    res = run_under(
        {**env, "S2RBENCH_DATA_DIR": str(data_dir)},
        ["-c", "from s2rbench.cli import cli; cli()", "leaderboard", "check", "--root", str(REPO / "leaderboard")],
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "leaderboard OK" in res.stdout and "Traceback" not in res.stderr


# ---------------------------------------------------------------------------------------------
# Issue 18: rescoring, forgeries, near-duplicates, reproduction
# ---------------------------------------------------------------------------------------------


def _forge(sub: dict, fn, name: str | None = None) -> dict:
    """Edit the measured data, then make the file self-consistent with the project's own functions."""
    forged = copy.deepcopy(sub)
    fn(forged)
    if name:
        forged["name"] = name
    forged["fit"], forged["summary"] = S.stated_numbers(S.recompute(forged))
    if "overlap_summary" in forged and forged["results"].get("predictions") is not None:
        forged["overlap_summary"] = S.restated_overlap(forged, get_task(forged["task"]["name"]))
    forged["id"] = S.make_id(forged["name"], forged["task"]["name"], S.content_hash(forged))
    return forged


def test_submission_carries_predictions_sampler_and_task_provenance(sub_a):
    from s2rbench.sweep import predictions as P

    pred = sub_a["results"]["predictions"]
    assert pred["encoding"] == P.ENCODING
    assert len(pred["scratch"]) == len(sub_a["results"]["trials"])
    assert [len(row) for row in pred["sizes"]] == [len(sub_a["results"]["sizes"])] * len(sub_a["results"]["trials"])
    assert sub_a["sampler"]["name"] == "random" and sub_a["sampler"]["version"]
    assert (
        sub_a["task"]["plugin"]["distribution"] == "s2rbench" and "card" not in sub_a["task"]
    )  # built-in: no card copy


def test_rescoring_recomputes_every_mae_from_the_predictions(sub_a):
    from s2rbench.leaderboard.rescore import real_side, rescore
    from s2rbench.sweep import predictions as P
    from s2rbench.sweep import protocol as proto
    from s2rbench.tasks import get_task

    card = get_task("synthetic")
    assert rescore(sub_a, card) == []
    # The rescoring is real: the split re-derived from (fingerprint, seed, trial) scores to the stated MAE.
    side = real_side(card, "vector", "random")
    split = proto.real_split(len(side.y), side.key, 0, 2, card.protocol.test_fraction)
    v = P.decode(sub_a["results"]["predictions"]["sizes"][2][1])
    assert np.mean(np.abs(v - side.y[split.test])) == pytest.approx(sub_a["results"]["mae"][2][1], rel=1e-6)
    # Predictions of another trial's rows, a truncated vector, a wrong seed and other data all fail.
    bad = copy.deepcopy(sub_a)
    sizes = bad["results"]["predictions"]["sizes"]
    sizes[0][0], sizes[1][0] = sizes[1][0], sizes[0][0]
    bad["results"]["predictions"]["scratch"][3] = P.encode(P.decode(bad["results"]["predictions"]["scratch"][3])[:-1])
    bad["results"]["seeds"][2] += 1
    got = "\n".join(rescore(bad, card))
    assert "results.mae[0][0]: stated" in got and "its predictions score" in got
    assert "test rows of trial 3" in got and "results.seeds[2]" in got
    other = copy.deepcopy(sub_a)
    other["data"]["real"] = "0" * 64  # another key: other splits and seeds
    assert rescore(other, card)[0].startswith("results.seeds[0]: ")
    other["data"]["real_f32"] = "1" * 64  # and other data
    assert rescore(other, card)[0].startswith("data.real: the run's real-data fingerprint 000000000000")


def test_a_forged_self_consistent_entry_fails(two, sub_a):
    """Issue 18: one raw MAE changed, the fit and the content id recomputed, the file renamed."""
    forged = _forge(sub_a, lambda d: d["results"]["mae"][1].__setitem__(-1, d["results"]["mae"][1][-1] * 0.7))
    assert forged["id"] != sub_a["id"] and S.fit_problems(forged) == []  # self-consistent, as in the issue
    _file(two, sub_a).unlink()
    path = S.write_submission(forged, two)
    lb.build(two)
    problems = lb.find_problems(two)
    assert any(
        p.startswith(f"{path}: results.mae[1][3]: stated ") and "its predictions score" in p for p in problems
    ), problems
    # Dropping the predictions is no way out: only the legacy entries may lack them.
    no_preds = _forge(sub_a, lambda d: d["results"].pop("predictions"), name="No preds")
    assert any(p.startswith("results.predictions: missing") for p in S.validate(no_preds))


def test_a_forged_prediction_is_caught_by_reproduction(sub_a):
    """Predictions edited together with their MAE pass rescoring; re-running the unit does not."""
    from s2rbench.leaderboard.reproduce import reproduce, sample
    from s2rbench.leaderboard.rescore import real_side
    from s2rbench.sweep import predictions as P
    from s2rbench.sweep import protocol as proto
    from s2rbench.tasks import get_task

    card = get_task("synthetic")
    side = real_side(card, "vector", "random")
    (n_hi, block) = sample(sub_a, card)[1]
    t, j = block[0], sub_a["results"]["sizes"].index(n_hi)

    def better(d):
        split = proto.real_split(len(side.y), side.key, 0, t, card.protocol.test_fraction)
        v = P.decode(d["results"]["predictions"]["sizes"][t][j])
        v = 0.5 * v + 0.5 * side.y[split.test]  # halfway to the truth
        d["results"]["predictions"]["sizes"][t][j] = P.encode(v)
        d["results"]["mae"][t][j] = float(np.mean(np.abs(P.decode(P.encode(v)) - side.y[split.test])))

    forged = _forge(sub_a, better, name="Better ridge")
    assert S.validate(forged, cards={"synthetic": card}) == []  # rescoring alone cannot tell
    honest = reproduce(sub_a, card)
    assert honest.reproduced and honest.worst_pred_rel < 1e-6, honest.problems
    assert [u["n"] for u in honest.units] == [min(sub_a["results"]["sizes"]), n_hi]
    caught = reproduce(forged, card)
    assert not caught.reproduced and any(
        p.startswith(f"n={n_hi}, trial {t}: MAE ") and "beyond what a divergence of float32 training gives" in p
        for p in caught.problems
    ), caught.problems


def test_the_reproduced_block_follows_the_protocol_not_the_entry(sub_a, sub_b):
    """Every entry of one protocol re-runs the same block (strategies that share a pretraining then
    share it in a batch reproduction); editing an entry's name or text cannot move it, a new seed can."""
    from types import SimpleNamespace

    from s2rbench.leaderboard.reproduce import protocol_key, sample

    def many(sub, **protocol):  # 40 trials in blocks of 1, so that the pick has 40 places to go
        d = copy.deepcopy(sub)
        d["results"]["trials"] = list(range(40))
        d["protocol"].update(protocol)
        return d

    card = SimpleNamespace(protocol=SimpleNamespace(trial_block=1))
    a, b = many(sub_a), many(sub_b)
    assert a["model"]["hyperparameters"] != b["model"]["hyperparameters"] and a["protocol"] == b["protocol"]
    assert S.content_hash(a) != S.content_hash(b)
    assert sample(a, card) == sample(b, card)  # two entries, one protocol: one block
    renamed = copy.deepcopy(a)
    renamed["name"], renamed["description"] = "Another name", "other words"
    assert sample(renamed, card) == sample(a, card)
    keys = {protocol_key(many(sub_a, seed=seed)) for seed in range(8)}
    picks = {sample(many(sub_a, seed=seed), card)[1][1] for seed in range(8)}
    assert len(keys) == 8 and len(picks) > 1  # the protocol does choose the block
    assert all(len(u[1]) == 1 for u in sample(a, card))


def test_a_model_with_independent_trials_reproduces_one_trial_as_its_run_trained_it(sub_a, monkeypatch):
    """Such a model ran one trial per unit, so reproduction re-runs one trial (not the card's block
    of 25: for the roost-small quick entry that is ~24 CPU min instead of ~1.6 h)."""
    from types import SimpleNamespace

    from s2rbench.leaderboard.reproduce import reproduce, sample
    from s2rbench.plugins import get_model
    from s2rbench.tasks import get_task

    d = copy.deepcopy(sub_a)
    d["results"]["trials"] = list(range(40))
    card25 = SimpleNamespace(protocol=SimpleNamespace(trial_block=25))
    assert [len(u[1]) for u in sample(d, card25)] in ([25, 25], [15, 15])
    alone = sample(d, card25, SimpleNamespace(trials_independent=True))
    assert [len(u[1]) for u in alone] == [1, 1] and alone[0][1] == alone[1][1] and alone[0][1][0] in range(40)

    card = get_task("synthetic")
    assert len(sub_a["results"]["trials"]) > 1 and card.protocol.trial_block > 1
    monkeypatch.setattr(type(get_model(sub_a["model"]["name"])), "trials_independent", True, raising=False)
    rep = reproduce(sub_a, card)
    assert rep.reproduced, rep.problems
    assert [len(u["trials"]) for u in rep.units] == [1, 1] and rep.describe().endswith(
        f"trial {rep.units[0]['trials'][0]}"
    )


def test_reproduce_cli_records_and_the_page_shows_what_was_rerun(two, sub_a, sub_b):
    res = CliRunner().invoke(cli, ["leaderboard", "reproduce", sub_a["id"], "--root", str(two), "--record"])
    assert res.exit_code == 0, res.output
    from s2rbench.tasks import get_task

    grid = get_task("synthetic").protocol.quick_sizes  # the smallest and the largest n are re-run
    assert (
        f"reproduced (n = {min(grid)}, {max(grid)} · trials 0–3" in res.output and "reproduce OK: 1 entry" in res.output
    )
    assert lb.find_problems(two)[0].startswith(f"{two / 'README.md'}: stale")  # the page now has more to say
    lb.build(two)
    assert lb.find_problems(two) == []
    text = (two / "README.md").read_text()
    a_row = next(line for line in text.splitlines() if "Ridge RFF-64" in line)
    b_row = next(line for line in text.splitlines() if "Worse ridge" in line)
    assert (
        f"rescored · reproduced: n = {min(grid)}, {max(grid)}, trials 0–3" in a_row
        and "rescored · not reproduced yet" in b_row
    )
    # A record of another content is refused.
    rec = two / "reproductions" / "synthetic" / f"{sub_a['id']}.json"
    shutil.copy(rec, rec.with_name(f"{sub_b['id']}.json"))
    assert any("is not of this entry's content" in p for p in lb.find_problems(two))


def test_a_block_level_reproduction_is_recorded_and_the_page_says_what_was_accepted(two, sub_a):
    """A record of diverged trials accepted by the block rule shows on the page as such; a record
    with an unknown level or a malformed diverged list is refused, not rendered."""
    from s2rbench.leaderboard.reproduce import Reproduction, write_record

    sizes = sub_a["results"]["sizes"]
    rep = Reproduction(entry=sub_a["id"], content_hash=S.content_hash(sub_a), reproduced=True, level="block")
    rep.units = [{"n": int(n), "m": 20, "trials": [0, 1, 2, 3]} for n in (min(sizes), max(sizes))]
    rep.diverged = [{"n": int(max(sizes)), "trial": 2, "d_pred": 0.21, "d_mae": 0.061}]
    path = write_record(two, sub_a, rep)
    lb.build(two)
    assert lb.find_problems(two) == []
    row = next(line for line in (two / "README.md").read_text().splitlines() if "Ridge RFF-64" in line)
    assert f"1 trial at n = {max(sizes)} diverged (worst |ΔMAE| 6.1%), accepted at block level" in row
    for bad in ({"level": "<b>x</b>"}, {"diverged": [{"n": "1", "trial": 2, "d_mae": 0.1}]}):
        rec = json.loads(path.read_text())
        rec.update(bad)
        path.write_text(json.dumps(rec))
        assert any("malformed reproduction record" in p for p in lb.find_problems(two)), bad


def test_a_near_duplicate_entry_fails(two, sub_a):
    """Issue 18: the same measurement resubmitted under a new name with 1e-12 added to one MAE."""
    dup = _forge(
        sub_a, lambda d: d["results"]["mae"][0].__setitem__(0, d["results"]["mae"][0][0] + 1e-12), name="Ridge again"
    )
    path = S.write_submission(dup, two)
    lb.build(two)
    problems = lb.find_problems(two)
    assert (
        len(problems) == 1 and "near-duplicate of" in problems[0] and "(every trial MAE agrees within" in problems[0]
    ), problems
    assert {str(path), str(_file(two, sub_a))} <= set(problems[0].replace(":", " ").split()), problems


XSS = {
    "name": "<script>alert(1)</script>",
    "author": '<img src=x onerror="alert(1)">',
    "description": "[click](javascript:alert(1))",
    "url": "https://example.org/a)![t](https://tracker.example/p.png",
}


@pytest.mark.parametrize("field", sorted(XSS))
def test_each_unsafe_user_field_is_rejected(two, sub_a, run_dir, field):
    res = CliRunner().invoke(
        cli, ["submit", str(run_dir), "--name", "ok", f"--{field}", XSS[field], "--root", str(two)]
    )
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert res.output.startswith(f"Error: --{field} ") and res.output.count("\n") == 1, res.output
    path = _file(two, sub_a)
    _edit(path, lambda d: d.__setitem__(field, XSS[field]))
    problems = [p for p in lb.find_problems(two) if not p.startswith(str(two / "README.md"))]
    assert any(p.startswith(f"{path}: {field} ") or p.startswith(f"{path}: {field}: ") for p in problems), problems


def test_the_page_escapes_user_text_that_reaches_it(sub_a):
    sub = copy.deepcopy(sub_a)
    sub.update(name=XSS["name"], author=XSS["author"] + " " + XSS["description"], url=XSS["url"])
    sub["model"]["name"] = "<b>m</b>"
    page = lb.render([lb.Entry(rel=Path("submissions/synthetic/x.json"), sub=sub)])
    row = next(line for line in page.splitlines() if "alert" in line)
    assert "<script" not in page and "<img" not in page and "<b>" not in page and "](javascript" not in page
    assert "tracker.example" not in page  # an invalid URL is not linked at all
    assert "&lt;script&gt;" in row and "\\[click\\]\\(javascript:alert\\(1\\)\\)" in row


def test_oversize_and_deep_json_fail_fast_with_one_line(two):
    import time

    subs = two / "submissions" / "synthetic"
    (subs / "big.json").write_bytes(b" " * (50 * 2**20))
    (subs / "deep.json").write_text("[" * 200_000 + "]" * 200_000)
    t0 = time.perf_counter()
    res = CliRunner().invoke(cli, ["leaderboard", "check", "--root", str(two)])
    assert time.perf_counter() - t0 < 60
    assert res.exit_code == 1 and "Traceback" not in res.output and "RecursionError" not in res.output
    lines = res.output.splitlines()
    assert (
        f"{subs / 'big.json'}: is 50.0 MiB, over the 16 MiB limit of a submission; regenerate it with `s2rbench submit` (nothing else belongs in it)"
        in lines
    )
    assert any(line.startswith(f"{subs / 'deep.json'}: nests arrays/objects deeper than 16 levels") for line in lines)


def test_a_plugin_task_entry_carries_its_card_pinned_by_hash(sub_a):
    from s2rbench.tasks import get_task

    card = get_task("synthetic")
    sub = copy.deepcopy(sub_a)
    sub["task"]["card"] = Path(card.path).read_text()
    sub["id"] = S.make_id(sub["name"], "synthetic", S.content_hash(sub))
    got, problems = S.travelling_card(sub)
    assert problems == [] and got.hash == card.hash
    # Validated against the carried card when no installed plugin registers the task.
    assert S.validate(sub, cards={}) == []
    old_version = f'version = "{card.version}"'
    assert old_version in sub["task"]["card"]
    sub["task"]["card"] = sub["task"]["card"].replace(old_version, 'version = "9.9.9"', 1)
    sub["id"] = S.make_id(sub["name"], "synthetic", S.content_hash(sub))
    problems = S.validate(sub, cards={})
    assert len(problems) == 1 and problems[0].startswith("task.card: the carried card is 'synthetic' with sha256"), (
        problems
    )
    sub["task"].pop("card")
    sub["id"] = S.make_id(sub["name"], "synthetic", S.content_hash(sub))
    assert "carries no card" in S.validate(sub, cards={})[0]


def test_no_law_everywhere_submit_line_and_entry_plot(tmp_path, root, run_dir, sub_a, monkeypatch):
    """A run without a law: submit's line says so (no α), its figure draws no curve, the table says "no law"."""
    import matplotlib.axes

    from s2rbench.cli.leaderboard import summary_line
    from s2rbench.lawcheck import law_verdict
    from s2rbench.leaderboard import plot as P

    flat, lawful = copy.deepcopy(sub_a), copy.deepcopy(sub_a)
    flat["fit"].update(r2=0.31, alpha=1e-6, C=0.3, D=3e-8)
    lawful["fit"].update(r2=0.99, alpha=0.5, C=0.1, D=1.0)
    assert not law_verdict(flat["fit"]).holds and law_verdict(lawful["fit"]).holds
    line = summary_line(flat)
    assert "no law (" in line and "alpha=" not in line and "D=" not in line
    assert "alpha=0.5, C=0.1, D=1" in summary_line(lawful)
    labels: list[str] = []
    real_plot = matplotlib.axes.Axes.plot
    monkeypatch.setattr(
        matplotlib.axes.Axes,
        "plot",
        lambda self, *a, **k: (labels.append(str(k.get("label"))), real_plot(self, *a, **k))[1],
    )
    P.plot_entry(flat, tmp_path / "flat.png")
    assert labels and not any(label.startswith("law") for label in labels)
    P.plot_entry(lawful, tmp_path / "law.png")
    assert any(label.startswith("law: 1·n^(−0.5) + 0.1") for label in labels)
    assert lb._law_cells(flat["fit"])["α [90% CI]"] == "no law"
    # submit's "next:" hint names the root it wrote to, in every command.
    res = CliRunner().invoke(cli, ["submit", str(run_dir), "--name", "Hint", "--root", str(root)])
    assert res.exit_code == 0, res.output
    hint = next(line for line in res.output.splitlines() if line.startswith("next:"))
    assert hint.count(f"--root {root}") == 3 and "reproduce" in hint


def test_requirements_names_only_validated_plugin_distributions(sub_a, tmp_path):
    from s2rbench.leaderboard.select import plugin_requirements

    assert plugin_requirements(sub_a) == ([], [])  # everything built in
    sub = copy.deepcopy(sub_a)
    sub["model"]["plugin"] = {"name": "m", "distribution": "s2rbench-mymodel", "version": "0.2.1", "module": "x"}
    sub["featurizer"]["plugin"] = {
        "name": "f",
        "distribution": "--index-url",
        "version": "https://evil.example/simple",
        "module": "x",
    }
    reqs, problems = plugin_requirements(sub)
    assert reqs == ["s2rbench-mymodel==0.2.1"]
    assert problems == [
        'featurizer.plugin: "--index-url" "https://evil.example/simple" is not a distribution name and exact version'
    ]


def test_the_float32_fingerprint_ignores_last_bit_differences_of_a_computed_table():
    """A computed table (the synthetic generator) differs in its last float64 bits on another BLAS kernel."""
    import pandas as pd

    from s2rbench.leaderboard.rescore import fingerprint_f32
    from s2rbench.sweep.protocol import fingerprint

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"input": [f"x{i}" for i in range(50)], "target": rng.normal(size=50)})
    nudged = frame.assign(target=np.nextafter(frame["target"].to_numpy(), np.inf))
    assert fingerprint(frame) != fingerprint(nudged)
    assert fingerprint_f32(frame) == fingerprint_f32(nudged)
    assert fingerprint_f32(frame) != fingerprint_f32(frame.assign(target=frame["target"] * (1 + 1e-6)))


def test_compare_takes_a_submission_file_as_the_run_it_was_made_from(two, run_dir, run_dir_b, sub_a, sub_b):
    """A submission's raw rows stand in for its run: the same numbers, paired by trial; the file is
    read with the same bounded, schema-checked read as the check, and a broken one is one Error line."""
    file_a, file_b = _file(two, sub_a), _file(two, sub_b)
    runner = CliRunner()
    d = json.loads(runner.invoke(cli, ["compare", str(run_dir), str(file_a), "--json", "--boot", "20"]).stdout)
    assert d["paired"] and d["factor"] == []  # the entry has its run's configuration
    per_n = {(r["run"], r["n"]): r for r in d["per_n"]}
    ref, sub = d["runs"][0]["run"], d["runs"][1]["run"]
    for n in {r["n"] for r in d["per_n"]}:
        assert per_n[(sub, n)]["mean"] == pytest.approx(per_n[(ref, n)]["mean"], rel=1e-12)
        assert per_n[(sub, n)]["diff"] == pytest.approx(0.0, abs=1e-12) and per_n[(sub, n)]["p"] == 1.0
    # two entries, and an entry against another run: the factor is what differs between them
    d = json.loads(runner.invoke(cli, ["compare", str(file_a), str(file_b), "--json", "--boot", "20"]).stdout)
    assert "hyperparameters" in d["factor"] and d["paired"]
    mixed = json.loads(runner.invoke(cli, ["compare", str(file_a), str(run_dir_b), "--json", "--boot", "20"]).stdout)
    assert [r["mean"] for r in mixed["per_n"]] == pytest.approx([r["mean"] for r in d["per_n"]], rel=1e-12)
    # hostile or wrong files: one line each, no traceback
    _edit(file_b, lambda s: s["results"].update(mae="forged"))
    other = two / "notes.txt"
    other.write_text("not a run")
    for args, culprit in (([file_a, file_b], str(file_b)), ([file_a, other], str(other))):
        res = runner.invoke(cli, ["compare", *map(str, args)])
        lines = [line for line in res.output.splitlines() if line.strip()]
        assert res.exit_code != 0 and "Traceback" not in res.output
        assert len(lines) == 1 and lines[0].startswith("Error: ") and culprit in lines[0], res.output
