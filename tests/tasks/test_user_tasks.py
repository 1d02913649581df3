"""Bring your own Sim2Real pair: `s2rbench task init/check/hash`, cards wherever a task name goes,
card directories on S2RBENCH_TASKS_PATH, the `features` input kind, and every card mistake as one
line through the CLI.

Two real pairs from the data mirror are used:
* polymer Tg: MD-computed vs experimental glass transition temperature of the 315 polymers of
  Afzal et al. 2021 (SMILES repeat units with [Ce]/[Th] ends; one SMILES is malformed: row 266);
* descriptor density: a user's own descriptors (RadonPy's monomer QM/size descriptors) as input,
  PI1070 MD density as the simulated target and Afzal's experimental density (64 polymers also in
  PI1070) as the real one, with no featurizer at all (input_kind "features").
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tomllib
from click.testing import CliRunner

from s2rbench.cli import cli
from s2rbench.data import sha256_of

AFZAL = "polymer-experimental/afzal2021_md_vs_exp.csv"
PI1070 = "radonpy-pi1070/PI1070.csv"
SMILES_COL = "SMILES (Atoms Ce and Th are placeholders for head and tail information, respectively)"
DESCRIPTORS = [
    "mol_weight_monomer",
    "vdw_volume_monomer",
    "qm_homo_monomer",
    "qm_lumo_monomer",
    "qm_dipole_monomer",
    "qm_polarizability_monomer",
]


def invoke(*args: str):
    res = CliRunner().invoke(cli, [str(a) for a in args])
    assert "Traceback" not in res.output, res.output
    return res


def ok(*args: str):
    res = invoke(*args)
    assert res.exit_code == 0, res.output
    return res


def error_line(res) -> str:
    """The single `Error:` line of a failed command (plugin warnings may come with it)."""
    assert res.exit_code == 1, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    lines = [line for line in res.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, res.output
    assert not any(line.startswith(("  File ", "Traceback")) for line in res.output.splitlines())
    return lines[0]


@pytest.fixture(scope="module")
def tg_tables(data_dir, tmp_path_factory) -> Path:
    """Two CSV files, as a user would have them: MD Tg and experimental Tg of the same polymers."""
    d = tmp_path_factory.mktemp("tg")
    raw = pd.read_csv(data_dir / AFZAL)
    raw[[SMILES_COL, "Calculated Tg (K)"]].set_axis(["smiles", "Tg_md (K)"], axis=1).to_csv(
        d / "tg_md.csv", index=False
    )
    raw[[SMILES_COL, "Experiment Tg (K)"]].set_axis(["smiles", "Tg_exp (K)"], axis=1).to_csv(
        d / "tg_exp.csv", index=False
    )
    return d


@pytest.fixture(scope="module")
def tg_card(tg_tables) -> Path:
    res = ok(
        "task",
        "init",
        "polymer-tg",
        "--sim",
        tg_tables / "tg_md.csv",
        "--real",
        tg_tables / "tg_exp.csv",
        "--out",
        tg_tables / "polymer-tg.toml",
    )
    assert "polymer-tg.toml" in res.output
    return tg_tables / "polymer-tg.toml"


@pytest.fixture(scope="module")
def desc_tables(data_dir, tmp_path_factory) -> Path:
    """A user's own descriptors on both sides: PI1070 rows (MD density) and the Afzal polymers also in PI1070."""
    from s2rbench.plugins import get_featurizer

    d = tmp_path_factory.mktemp("desc")
    pi = pd.read_csv(data_dir / PI1070)
    af = pd.read_csv(data_dir / AFZAL).dropna(subset=["Experiment density at 300K (g/cc)"])
    canon = get_featurizer("polymer-rdkit").canonicalize
    pi["key"] = canon(pi["smiles"].tolist())
    af["key"] = canon(af[SMILES_COL].tolist())
    real = af.dropna(subset=["key"]).merge(pi[["key", *DESCRIPTORS]], on="key")
    pi[[*DESCRIPTORS, "density"]].rename(columns={"density": "density_md"}).to_csv(d / "sim.csv", index=False)
    real[[*DESCRIPTORS, "Experiment density at 300K (g/cc)"]].rename(
        columns={"Experiment density at 300K (g/cc)": "density_exp"}
    ).to_csv(d / "real.csv", index=False)
    return d


@pytest.fixture(scope="module")
def desc_card(desc_tables) -> Path:
    ok(
        "task",
        "init",
        "desc-density",
        "--sim",
        desc_tables / "sim.csv",
        "--real",
        desc_tables / "real.csv",
        "--out",
        desc_tables / "desc-density.toml",
    )
    return desc_tables / "desc-density.toml"


# ---------------------------------------------------------------------------------------------
# init
# ---------------------------------------------------------------------------------------------


def test_init_infers_a_polymer_card_from_two_csv_files(tg_card, tg_tables):
    text = tg_card.read_text()
    raw = tomllib.loads(text)
    assert raw["input_kind"] == "polymer" and raw["featurizer"] == "polymer-rdkit"
    assert raw["sim"] == {"file": "sim", "input": "smiles", "target": "Tg_md (K)"}
    assert raw["real"] == {"file": "real", "input": "smiles", "target": "Tg_exp (K)"}
    assert raw["target"] == {"name": "Tg", "unit": "K"}
    assert raw["files"]["sim"] == {"path": "tg_md.csv", "sha256": sha256_of(tg_tables / "tg_md.csv")}
    assert raw["files"]["real"]["sha256"] == sha256_of(tg_tables / "tg_exp.csv")
    # 314 of 315 SMILES parse; one polymer is measured twice, so init proposes a group split (copies of one input
    # never straddle the split): the test split may take one row more than 63, so the largest m is 250, not 251
    assert raw["protocol"]["split"] == "group" and len(raw["protocol"]["quick_m_grid"]) >= 3
    assert raw["protocol"]["m_grid"][-1] == 250 and raw["protocol"]["sizes"][-1] == 314
    assert "# conditions = " in text and "# drop_missing_target" in text  # the template's comments stay


def test_init_lists_alternative_targets_and_pairs_them_by_name(data_dir, tmp_path):
    # the whole Afzal table given as both sides: the pairing words pick calculated vs experimental Tg
    src = tmp_path / "afzal.csv"
    shutil.copy(data_dir / AFZAL, src)
    ok("task", "init", "afzal", "--sim", src, "--real", src, "--out", tmp_path / "afzal.toml")
    text = (tmp_path / "afzal.toml").read_text()
    raw = tomllib.loads(text)
    assert raw["sim"]["target"] == "Calculated Tg (K)" and raw["real"]["target"] == "Experiment Tg (K)"
    assert raw["sim"]["input"] == SMILES_COL and list(raw["files"]) == ["data"]
    alternatives = re.search(
        r"\[real\]\n(?:[^\n]*\n)*?# other numeric columns that could be the target: ([^\n]*)", text
    ).group(1)
    assert "Experiment density at 300K (g/cc)" in alternatives and "sl_num" not in alternatives
    assert "std. dev." not in alternatives


def test_init_features_kind_needs_no_featurizer(desc_card):
    raw = tomllib.loads(desc_card.read_text())
    assert raw["input_kind"] == "features" and raw["featurizer"] == "columns"
    assert raw["sim"]["input"] == DESCRIPTORS and raw["real"]["input"] == DESCRIPTORS
    assert (raw["sim"]["target"], raw["real"]["target"]) == ("density_md", "density_exp")


def test_init_recognises_formulas_molecules_and_polymer_solvent_pairs(data_dir, tmp_path):
    from s2rbench.taskcards import guess_column_kind

    pv = pd.read_csv(data_dir / "flory-huggins-chi" / "chi_parameter_polyverse.csv")
    assert guess_column_kind("Solvent_SMILES", pv["Solvent_SMILES"]).kind == "molecule"
    assert guess_column_kind("Polymer_SMILES", pv["Polymer_SMILES"]).kind == "polymer"
    assert guess_column_kind("Polymer", pv["Polymer"]).kind is None  # names are not inputs
    # polymer-solvent pairs with a temperature column on both sides: the temperature becomes a condition
    pv.iloc[::2].to_csv(tmp_path / "a.csv", index=False)
    pv.iloc[1::2].to_csv(tmp_path / "b.csv", index=False)
    ok(
        "task",
        "init",
        "pairs",
        "--sim",
        tmp_path / "a.csv",
        "--real",
        tmp_path / "b.csv",
        "--out",
        tmp_path / "pairs.toml",
    )
    raw = tomllib.loads((tmp_path / "pairs.toml").read_text())
    assert raw["input_kind"] == "polymer-solvent" and raw["featurizer"] == "polymer-solvent"
    assert raw["real"]["input"] == ["Polymer_SMILES", "Solvent_SMILES"] and raw["real"]["conditions"] == ["temperature"]
    assert raw["real"]["target"] == "chi"
    # chemical formulas (band gaps): composition, featurized by magpie
    for name in ("mp_gap", "expt_gap"):
        pd.read_csv(data_dir / "bandgap" / f"{name}.csv", nrows=300).to_csv(tmp_path / f"{name}.csv", index=False)
    ok(
        "task",
        "init",
        "gaps",
        "--sim",
        tmp_path / "mp_gap.csv",
        "--real",
        tmp_path / "expt_gap.csv",
        "--out",
        tmp_path / "gaps.toml",
    )
    raw = tomllib.loads((tmp_path / "gaps.toml").read_text())
    assert (raw["input_kind"], raw["featurizer"], raw["real"]["input"]) == ("composition", "magpie", "formula")


def test_parquet_tables_work_like_csv(desc_tables, tmp_path, monkeypatch):
    for name in ("sim", "real"):
        pd.read_csv(desc_tables / f"{name}.csv").to_parquet(tmp_path / f"{name}.parquet")
    (tmp_path / "cards").mkdir()
    monkeypatch.chdir(tmp_path / "cards")
    # a card's `path` may not leave its folder: init refuses tables outside the card's folder, saying how to fix it
    line = error_line(invoke("task", "init", "desc-pq", "--sim", "../sim.parquet", "--real", "../real.parquet"))
    assert "outside the card's folder" in line and "--out" in line and not Path("desc-pq.toml").exists()
    monkeypatch.chdir(tmp_path)
    ok("task", "init", "desc-pq", "--sim", "sim.parquet", "--real", "real.parquet")  # writes ./desc-pq.toml
    assert tomllib.loads(Path("desc-pq.toml").read_text())["files"]["sim"]["path"] == "sim.parquet"
    rep = json.loads(ok("task", "check", "desc-pq.toml", "--json").stdout)
    assert rep["sides"]["sim"]["rows_valid"] == 1075 and rep["gap"]["pairs"] == 64
    assert {i["line"] for i in rep["invalid"]} == {None}  # rows of a Parquet file have no line numbers


def test_init_without_files_writes_a_template_and_refuses_to_overwrite(tmp_path):
    card = tmp_path / "mine.toml"
    ok("task", "init", "mine", "--out", card)
    raw = tomllib.loads(card.read_text())
    assert raw["name"] == "mine" and raw["files"]["sim"]["path"] == "sim.csv"
    line = error_line(invoke("task", "init", "mine", "--out", card))
    assert f"task card {card} already exists; pass --force" in line
    ok("task", "init", "mine", "--out", card, "--force")


# ---------------------------------------------------------------------------------------------
# check
# ---------------------------------------------------------------------------------------------


def test_check_reports_rows_parse_errors_overlap_and_the_sim_real_gap(tg_card, data_dir):
    res = ok("task", "check", tg_card, "--json")
    rep = json.loads(res.stdout)
    raw = pd.read_csv(data_dir / AFZAL).drop(index=266)  # the one malformed SMILES ('O[[Ce]]')
    diff = raw["Calculated Tg (K)"] - raw["Experiment Tg (K)"]
    g = rep["gap"]
    assert g["pairs"] == 314 and rep["overlap"]["real_rows_in_sim"] == 314
    assert g["mae"] == pytest.approx(diff.abs().mean()) and g["bias"] == pytest.approx(diff.mean())
    # one polymer is listed twice: its simulated value is the mean of its two rows, hence the tolerance
    assert g["pearson_r"] == pytest.approx(
        np.corrcoef(raw["Calculated Tg (K)"], raw["Experiment Tg (K)"])[0, 1], abs=1e-4
    )
    assert rep["target"]["unit"] == "K"
    assert rep["sides"]["real"]["target_stats"]["mean"] == pytest.approx(raw["Experiment Tg (K)"].mean())
    assert [(i["side"], i["row"], i["line"]) for i in rep["invalid"]] == [("sim", 266, 268), ("real", 266, 268)]
    top = rep["largest_gaps"][0]
    assert top["real_row"] == int(diff.abs().idxmax()) and top["sim_minus_real"] == pytest.approx(
        diff.loc[diff.abs().idxmax()]
    )
    assert rep["protocol"]["m_all"] == 250 and rep["ok"] is True  # the group split of the repeated polymer
    text = ok("task", "check", tg_card).stdout
    # the gap is the first thing shown, with units; then the tables, the distributions, the suspicious rows
    assert text.index("Simulation vs experiment") < text.index("Tables:") < text.index("Largest |sim − real|")
    assert re.search(r"314 pairs · MAE 80\.\d+ K · bias 79\.\d+ K", text)
    assert "OK: the card and both tables pass the check" in text


def test_check_works_for_a_builtin_task_name(data_dir):
    rep = json.loads(ok("task", "check", "polymer-density", "--data-dir", data_dir, "--json", "--top", "3").stdout)
    # PROVENANCE.md of the Afzal table: 64 shared polymers, MD minus experiment MAE 0.118, bias -0.092 g/cm^3
    assert rep["gap"]["pairs"] == 64
    assert rep["gap"]["mae"] == pytest.approx(0.118, abs=5e-4) and rep["gap"]["bias"] == pytest.approx(-0.092, abs=5e-4)
    suspicious = {p["input"] for p in rep["largest_gaps"]}
    assert "[Ce]CC(C)(C)[Th]" in suspicious  # polyisobutylene listed at 1.3 g/cm^3
    assert rep["sides"]["real"]["rows_without_target"] == 198


# ---------------------------------------------------------------------------------------------
# hash
# ---------------------------------------------------------------------------------------------


def test_hash_writes_sha256_and_keeps_comments(tg_card, tmp_path):
    d = tmp_path / "h"
    shutil.copytree(tg_card.parent, d)
    card = d / tg_card.name
    text = card.read_text()
    sim_sha = sha256_of(d / "tg_md.csv")
    edited = text.replace(f'sha256 = "{sim_sha}"\n', "")  # never hashed
    edited = edited.replace('path = "tg_exp.csv"\n', 'path = "tg_exp.csv"   # the measured side\n')
    with open(d / "tg_exp.csv", "a") as fh:  # the user adds a measurement: the pinned hash is stale
        fh.write("[Ce]CC(CC)[Th],250\n")
    card.write_text(edited)
    assert "expects" in error_line(invoke("task", "check", card))
    res = ok("task", "hash", card)
    assert "[files.sim]" in res.output and "added" in res.output and "updated" in res.output
    new_real = sha256_of(d / "tg_exp.csv")
    after = card.read_text()
    # only the two sha256 lines differ; every comment is kept
    assert after == edited.replace('path = "tg_md.csv"\n', f'path = "tg_md.csv"\nsha256 = "{sim_sha}"\n').replace(
        re.search(r'\[files\.real\]\npath[^\n]*\nsha256 = "([0-9a-f]+)"', edited).group(1), new_real
    )
    assert "unchanged" in ok("task", "hash", card).output and card.read_text() == after
    assert json.loads(ok("task", "check", card, "--json").stdout)["sides"]["real"]["rows_valid"] == 315


# ---------------------------------------------------------------------------------------------
# a card wherever a task name goes; card directories
# ---------------------------------------------------------------------------------------------


def test_card_path_runs_fits_and_reports(desc_card, tmp_path, monkeypatch):
    rep = json.loads(ok("task", "check", desc_card, "--json").stdout)
    assert rep["gap"]["pairs"] == 64 and rep["sides"]["sim"]["rows_valid"] == 1075  # 2 PI1070 rows lack a descriptor
    assert {i["reason"] for i in rep["invalid"]} == {"empty 'qm_polarizability_monomer'"}
    monkeypatch.chdir(tmp_path)  # the card's files are found relative to the card, not the working directory
    res = ok(
        "run",
        desc_card,
        "--model",
        "ridge",
        "--param",
        "random_features=64",
        "--sizes",
        "16,64,256,1024",
        "--trials",
        "3",
        "--no-progress",
        "--boot",
        "50",
        "--out",
        "r",
    )
    assert "desc-density" in res.output and "columns" in res.output
    fitted = json.loads(ok("fit", "r", "--json", "--boot", "50").stdout)
    assert fitted["curve"]["n"] == [16, 64, 256, 1024] and fitted["task"] == "desc-density"
    report = Path(ok("report", "r", "--boot", "50").stdout.strip())
    assert "desc-density" in report.read_text() and (tmp_path / "r" / "mae_vs_n.png").is_file()


def test_tasks_path_registers_a_directory_of_cards(desc_card, tmp_path, fresh_plugins):
    cards = tmp_path / "cards"
    shutil.copytree(desc_card.parent, cards, ignore=shutil.ignore_patterns("runs", "r"))
    fresh_plugins.setenv("S2RBENCH_TASKS_PATH", str(cards))
    listed = json.loads(ok("list", "tasks", "--json").stdout)["tasks"]
    mine = [t for t in listed if t["name"] == "desc-density"]
    assert mine and mine[0]["input"] == "features" and "S2RBENCH_TASKS_PATH" in mine[0]["plugin"]
    assert json.loads(ok("task", "check", "desc-density", "--json").stdout)["gap"]["pairs"] == 64  # by name
    # a second, different card with the same name: listed once, reported, and refused when used
    dup = cards / "zz-copy.toml"
    dup.write_text(desc_card.read_text().replace('version = "0.1.0"', 'version = "0.2.0"'))
    from s2rbench import plugins

    plugins.reset()
    res = ok("list", "tasks")
    assert f"task card {dup} names task 'desc-density', which is already registered; rename it" in res.stderr
    line = error_line(invoke("task", "check", dup))
    assert (
        f"task card {dup} names task 'desc-density', which is already registered" in line and "another `name`" in line
    )


def test_a_plugin_package_can_ship_cards(desc_card, fresh_plugins):
    """A plugin registers cards exactly as the built-in `cards` plugin does (`register(load_card(path))`)."""
    from s2rbench import hookimpl, plugins
    from s2rbench.tasks import load_card

    class ShipsCards:
        @staticmethod
        @hookimpl
        def register_tasks(register):
            register(load_card(desc_card))

    plugins.register_module(ShipsCards, "my-cards", "2.0")
    listed = {t["name"]: t for t in json.loads(ok("list", "tasks", "--json").stdout)["tasks"]}
    assert listed["desc-density"]["plugin"].startswith("my-cards") and "polymer-density" in listed
    assert json.loads(ok("task", "check", "desc-density", "--json").stdout)["sides"]["real"]["rows_valid"] == 64
    ok("task", "check", desc_card)  # the card file itself is that task, not a duplicate of it


# ---------------------------------------------------------------------------------------------
# every mistake: one line naming the card, the field or file, and the fix; exit 1; no traceback
# ---------------------------------------------------------------------------------------------


def _sub(old: str, new: str):
    def edit(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)

    return edit


def _append(path: Path, text: str) -> None:
    with open(path, "a") as fh:
        fh.write(text)


def _rewrite_real(fn):
    def files(d: Path) -> None:
        frame = pd.read_csv(d / "real.csv")
        fn(frame).to_csv(d / "real.csv", index=False)

    return files


def _set(frame: pd.DataFrame, row: int, col: str, value) -> pd.DataFrame:
    frame[col] = frame[col].astype(object)
    frame.loc[row, col] = value
    return frame


MISTAKES = {
    # name: (card edit, file edit, re-pin the files after the edit, fragments of the message)
    "missing file": (
        None,
        lambda d: (d / "real.csv").unlink(),
        False,
        ["[files.real]", "data file 'real' not found at", "put the file there or fix `path` in the card"],
    ),
    "hash mismatch": (
        None,
        lambda d: _append(d / "real.csv", "1,2,3,4,5,6,1.0\n"),
        False,
        ["[files.real]", "has sha256", "the card expects", "run `s2rbench task hash"],
    ),
    "column not in table": (
        _sub('target = "density_exp"', 'target = "density_expt"'),
        None,
        False,
        [
            "[real] (real.csv)",
            "column(s) ['density_expt'] not in the table",
            "density_exp",
            "fix the card's column names",
        ],
    ),
    "non-numeric target": (
        None,
        _rewrite_real(lambda f: _set(f, 3, "density_exp", "1.2 g/cc")),
        True,
        [
            "[real] (real.csv)",
            "target column 'density_exp' has 1 non-numeric value(s)",
            "row 3: '1.2 g/cc'",
            "clean the table",
        ],
    ),
    "NaN target": (
        None,
        _rewrite_real(lambda f: _set(f, 5, "density_exp", np.nan)),
        True,
        ["[real] (real.csv)", "target column 'density_exp' has 1 missing value(s)", "set drop_missing_target = true"],
    ),
    "empty table": (
        None,
        _rewrite_real(lambda f: f.iloc[:0]),
        True,
        ["[real] (real.csv)", "has no rows", "point the card at a table with data"],
    ),
    "unknown input kind": (
        _sub('input_kind = "features"', 'input_kind = "descriptors"'),
        None,
        False,
        ['input_kind = "descriptors" is not valid', "expected one of composition, polymer"],
    ),
    "unknown featurizer": (
        _sub('featurizer = "columns"', 'featurizer = "my-descriptors"'),
        None,
        False,
        ["featurizer 'my-descriptors' (`featurizer`) is not installed", "set `featurizer` to one of columns"],
    ),
    "featurizer of another kind": (
        _sub('featurizer = "columns"', 'featurizer = "polymer-rdkit"'),
        None,
        False,
        [
            "featurizer 'polymer-rdkit' (`featurizer`) reads 'polymer' inputs",
            "input_kind is 'features'",
            "set `featurizer` to one of columns",
        ],
    ),
    "sides of different input kinds": (
        _sub('[real]\nfile = "real"', '[real]\ninput_kind = "polymer"\nfile = "real"'),
        None,
        False,
        [
            "[real] input_kind 'polymer' differs from the card's input_kind 'features'",
            "must hold the same kind of input",
            "make the two kinds agree",
        ],
    ),
    "feature columns differ": (
        _sub(
            '"qm_dipole_monomer", "qm_polarizability_monomer"]\ntarget = "density_exp"',
            '"qm_dipole_monomer"]\ntarget = "density_exp"',
        ),
        None,
        False,
        [
            "input_kind 'features' needs the same number of feature columns on both sides",
            "[sim] input names 6",
            "[real] input names 5",
            "list the same descriptors",
        ],
    ),
    "real table too small": (
        _sub("m_grid = [6, 12, 25, 51]", "m_grid = [6, 12, 25, 60]"),
        None,
        False,
        [
            "[protocol] m_grid asks for m = 60 real training rows",
            "64 usable rows",
            "takes 13, leaving 51",
            "lower m/m_grid/quick_m_grid to at most 51",
        ],
    ),
    "duplicate task name": (
        _sub('name = "desc-density"', 'name = "polymer-density"'),
        None,
        False,
        ["names task 'polymer-density', which is already registered", "give this card another `name`"],
    ),
    "newer card format": (
        _sub("format = 1", "format = 2"),
        None,
        False,
        ["is in card format 2, newer than this s2rbench understands (1)", "upgrade s2rbench"],
    ),
    "misspelt key": (
        _sub('target = "density_md"', 'target = "density_md"\ncondition = ["temp"]'),
        None,
        False,
        ["unknown key `condition` in [sim]", "did you mean `conditions`?"],
    ),
    "invalid TOML": (lambda t: t + "\n[protocol\n", None, False, ["is not valid TOML", "fix the syntax"]),
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_every_card_mistake_is_one_line_through_the_cli(mistake, desc_card, tmp_path):
    from s2rbench.taskcards import hash_card

    edit_card, edit_files, repin, fragments = MISTAKES[mistake]
    d = tmp_path / "task"
    shutil.copytree(desc_card.parent, d, ignore=shutil.ignore_patterns("r", "runs", "*.toml"))
    card = d / desc_card.name
    card.write_text(desc_card.read_text())
    if edit_files:
        edit_files(d)
    if repin:
        hash_card(card)
    if edit_card:
        card.write_text(edit_card(card.read_text()))
    line = error_line(invoke("task", "check", card))
    assert f"task card {card}" in line, line
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    if mistake in ("missing file", "hash mismatch", "duplicate task name", "newer card format"):
        # a card goes wherever a task name goes, and so do its errors: `run` stops before training
        assert error_line(invoke("run", card, "--model", "ridge", "--out", tmp_path / "run", "--no-progress")) == line


def test_real_inputs_of_another_kind_are_named(tg_card, tmp_path):
    """A polymer card whose real table holds chemical formulas: the check says what the column looks like."""
    d = tmp_path / "kinds"
    shutil.copytree(tg_card.parent, d, ignore=shutil.ignore_patterns("*.toml"))
    card = d / tg_card.name
    card.write_text(tg_card.read_text())
    formulas = ["Fe2O3", "NaCl", "SiO2", "GaAs", "TiO2", "LiCoO2", "MgO", "ZnS", "CdTe", "BaTiO3"] * 4
    pd.DataFrame({"smiles": formulas, "Tg_exp (K)": np.linspace(300, 500, len(formulas))}).to_csv(
        d / "tg_exp.csv", index=False
    )
    ok("task", "hash", card)
    line = error_line(invoke("task", "check", card))
    assert (
        f"task card {card}: [real] input column(s) ['smiles'] look like composition inputs, but the card's input_kind is 'polymer'"
        in line
    )
    assert (
        "40 of 40 rows do not parse as polymer" in line and "convert this table, or fix `input` / `input_kind`" in line
    )


def test_declared_side_kinds_must_agree(tg_card, tmp_path):
    card = tmp_path / "sides.toml"
    text = tg_card.read_text().replace('input_kind = "polymer"', "")
    text = text.replace('[sim]\nfile = "sim"', '[sim]\ninput_kind = "polymer"\nfile = "sim"')
    text = text.replace('[real]\nfile = "real"', '[real]\ninput_kind = "composition"\nfile = "real"')
    card.write_text(text)
    line = error_line(invoke("task", "check", card))
    assert f"task card {card}: [sim] input_kind 'polymer' differs from [real] input_kind 'composition'" in line
    # both sides declaring the same kind is the same card as a top-level input_kind
    card.write_text(text.replace('input_kind = "composition"', 'input_kind = "polymer"'))
    from s2rbench.tasks import load_card

    assert load_card(card).input_kind == "polymer"
