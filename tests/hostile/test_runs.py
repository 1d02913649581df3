"""Hostile corpus, run directories (issue 15 parts 3, 4, 5, 7): identity, --extend, locks, --out,
store and file-system faults, values, usage errors and warnings.

Each case asserts one ``Error:`` line, a non-zero exit and no traceback (`expect_error`), and, where
it acts on an existing run, that every stored row is still there and unchanged (`stored_rows`).
Runs use the synthetic task with the closed-form ridge and a tiny grid, so the corpus takes seconds.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import warnings
from pathlib import Path

import click
import numpy as np
import pytest

from s2rbench.errors import S2RBenchError

from .conftest import expect_error, run_cli, stored_rows

BASE = ["--model", "ridge", "--sizes", "16,43", "--trials", "2", "--no-progress", "--boot", "10"]


def run_args(out: Path, *extra: str, base: list[str] = BASE) -> list[str]:
    """`s2rbench run synthetic` with the tiny grid, overridden by ``extra`` (later options win)."""
    return ["run", "synthetic", *base, "--out", str(out), *extra]


@pytest.fixture(scope="module")
def base_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hostile") / "base"
    res = run_cli(run_args(out))
    assert res.exit_code == 0, res.output
    return out


@pytest.fixture
def run_dir(base_run, tmp_path) -> Path:
    """A private copy of the finished base run."""
    out = tmp_path / "run"
    shutil.copytree(base_run, out)
    return out


def unchanged(run_dir: Path, before: list[tuple]) -> None:
    assert stored_rows(run_dir) == before


def meta(run_dir: Path, key: str):
    con = sqlite3.connect(f"file:{run_dir / 'results.sqlite'}?mode=ro", uri=True)
    try:
        row = con.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else None
    finally:
        con.close()


# ---------------------------------------------------------------------------------------------
# Identity: a run directory never silently changes its protocol
# ---------------------------------------------------------------------------------------------

IDENTITY_CASES = {
    "sizes": (["--sizes", "16,43,100"], ["sizes", "[16, 43]", "[16, 43, 100]", "--extend"]),
    "trials": (["--trials", "3"], ["trials", "stored 2", "this call 3", "--extend"]),
    "quick": (["--quick", "--sizes", "16,43", "--trials", "2"], ["quick", "--quick"]),
    "surface": (["--surface"], ["m_grid"]),
    "m": (["--m", "100"], ["different m:", "--m"]),
    "m-grid": (["--m-grid", "30,240"], ["m_grid", "--m-grid"]),
    "split": (["--split", "group"], ["split", "--split"]),
    "sampler": (["--sampler", "diverse"], ["sampler", "--sampler"]),
    "param": (["--param", "alpha_finetune=3.0"], ["hyperparameters", "--param"]),
    "seed": (["--seed", "7"], ["seed", "stored 0", "this call 7"]),
    "model": (["--model", "gbdt-delta"], ["model", "--model"]),
    "exclude-overlap": (["--exclude-overlap"], ["exclude_overlap"]),
}


@pytest.mark.parametrize("case", sorted(IDENTITY_CASES))
def test_another_protocol_is_refused_naming_the_setting(run_dir, case):
    extra, fragments = IDENTITY_CASES[case]
    before = stored_rows(run_dir)
    cfg = meta(run_dir, "config")
    expect_error(run_args(run_dir, *extra), fragments)
    unchanged(run_dir, before)
    assert meta(run_dir, "config") == cfg  # the stored protocol is not rewritten either


def test_extend_grows_the_grid_records_it_and_keeps_every_row(run_dir):
    before = stored_rows(run_dir)
    res = run_cli(run_args(run_dir, "--sizes", "100", "--trials", "3", "--extend"))
    assert res.exit_code == 0, res.output
    after = stored_rows(run_dir)
    assert set(before) <= set(after)  # nothing stored before changed
    assert {(r[4], r[6]) for r in after} == {(n, t) for n in (0, 16, 43, 100) for t in range(3)}
    proto = meta(run_dir, "config")["protocol"]
    assert proto["sizes"] == [16, 43, 100] and proto["trials"] == 3
    history = meta(run_dir, "history")
    assert [h["action"] for h in history] == ["create", "extend"]
    assert history[-1]["added"] == {"sizes": [100], "trials": [2, 3]}
    # the report describes exactly what is stored: the grid of the union
    report = (run_dir / "report.md").read_text()
    assert "[16, 43, 100]" in report and "3 trials" in report
    # the grown run resumes with its new settings only
    expect_error(run_args(run_dir), ["sizes", "[16, 43, 100]"])


def test_extend_with_nothing_new_runs_nothing(run_dir):
    before = stored_rows(run_dir)
    res = run_cli(run_args(run_dir, "--trials", "1", "--extend"))
    assert res.exit_code == 0, res.output
    unchanged(run_dir, before)
    assert meta(run_dir, "config")["protocol"]["trials"] == 2


def test_extend_still_refuses_another_identity(run_dir):
    before = stored_rows(run_dir)
    expect_error(run_args(run_dir, "--seed", "3", "--extend"), "different seed")
    expect_error(run_args(run_dir, "--m", "100", "--extend"), "different m:")
    unchanged(run_dir, before)


def test_same_settings_resume_and_record_one_resume(run_dir):
    before = stored_rows(run_dir)
    for _ in range(2):
        res = run_cli(run_args(run_dir))
        assert res.exit_code == 0, res.output
    unchanged(run_dir, before)
    assert [h["action"] for h in meta(run_dir, "history")] == ["create", "resume"]


def test_grid_order_and_repeats_are_not_a_new_identity(run_dir):
    before = stored_rows(run_dir)
    res = run_cli(run_args(run_dir, "--sizes", "43,16,16"))
    assert res.exit_code == 0, res.output
    unchanged(run_dir, before)


# ---------------------------------------------------------------------------------------------
# Locks: two processes on one run directory never interleave
# ---------------------------------------------------------------------------------------------


def test_second_process_is_refused_naming_the_holder(run_dir, monkeypatch):
    from s2rbench.sweep.rundir import run_lock

    monkeypatch.setenv("S2RBENCH_LOCK_WAIT", "0.2")
    before = stored_rows(run_dir)
    with run_lock(run_dir):
        line = expect_error(run_args(run_dir, "--sizes", "16,43"), ["in use by", f"pid {os.getpid()}", "another --out"])
    assert "since" in line
    unchanged(run_dir, before)
    res = run_cli(run_args(run_dir))  # released: the same run resumes
    assert res.exit_code == 0, res.output


def test_lock_held_by_another_process(run_dir, monkeypatch):
    import subprocess
    import sys
    import time

    monkeypatch.setenv("S2RBENCH_LOCK_WAIT", "0.2")
    code = (
        "import sys, time; from s2rbench.sweep.rundir import run_lock\n"
        f"with run_lock({str(run_dir)!r}):\n    print('held', flush=True); time.sleep(30)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        before = stored_rows(run_dir)
        expect_error(run_args(run_dir), f"pid {proc.pid}")
        unchanged(run_dir, before)
    finally:
        proc.kill()
        proc.wait()
    time.sleep(0.05)
    assert run_cli(run_args(run_dir)).exit_code == 0  # the kernel dropped the dead holder's lock


# ---------------------------------------------------------------------------------------------
# --out: never overwrite what is not a run
# ---------------------------------------------------------------------------------------------


def test_out_into_a_users_folder_is_refused_and_nothing_is_overwritten(tmp_path):
    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "report.md").write_text("my own report")
    (mine / "mae_vs_n.png").write_bytes(b"my figure")
    expect_error(run_args(mine), ["not an s2rbench run directory", "report.md"])
    assert (mine / "report.md").read_text() == "my own report"
    assert (mine / "mae_vs_n.png").read_bytes() == b"my figure"
    assert sorted(p.name for p in mine.iterdir()) == ["mae_vs_n.png", "report.md"]


def test_default_run_dir_that_is_not_a_run_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "runs" / "synthetic-ridge-vector"
    target.mkdir(parents=True)
    (target / "notes.txt").write_text("keep me")
    expect_error(["run", "synthetic", *BASE], "not an s2rbench run directory")
    assert (target / "notes.txt").read_text() == "keep me"


def test_out_below_a_regular_file(tmp_path):
    (tmp_path / "afile").write_text("x")
    expect_error(run_args(tmp_path / "afile" / "run"), ["is a file, not a directory"])


def test_out_is_a_regular_file(tmp_path):
    (tmp_path / "afile").write_text("x")
    expect_error(run_args(tmp_path / "afile"))
    assert (tmp_path / "afile").read_text() == "x"


def test_out_in_an_unwritable_directory(tmp_path, monkeypatch):
    target = tmp_path / "locked"
    target.mkdir()
    real = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode, **kw: False if Path(p) == target and mode & os.W_OK else real(p, mode, **kw)
    )
    expect_error(run_args(target), ["not writable", "another --out"])


def test_out_that_cannot_be_created(tmp_path, monkeypatch):
    def refuse(self, *a, **k):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    expect_error(run_args(tmp_path / "new"), ["cannot be created", "permission denied"])


def test_directory_with_only_a_stale_lock_counts_as_empty(tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    (out / ".s2rbench.lock").write_text("{}")
    assert run_cli(run_args(out)).exit_code == 0


# ---------------------------------------------------------------------------------------------
# Store faults: damaged, foreign, not JSON, huge, read-only, full
# ---------------------------------------------------------------------------------------------


def _truncate(db: Path) -> None:
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 2])


def _garbage(db: Path) -> None:
    db.write_bytes(np.random.default_rng(0).bytes(6000))


def _foreign(db: Path) -> None:
    db.unlink()
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE addresses (name TEXT)")
    con.commit()
    con.close()


DAMAGE = {"truncated": _truncate, "garbage": _garbage, "foreign": _foreign}
COMMANDS = {
    "fit": lambda d, tmp: ["fit", str(d), "--boot", "10"],
    "report": lambda d, tmp: ["report", str(d), "--boot", "10"],
    "export": lambda d, tmp: ["export", str(d), str(tmp / "rows.csv")],
    "run": lambda d, tmp: run_args(d),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_or_foreign_store_is_one_line(run_dir, tmp_path, damage, command):
    db = run_dir / "results.sqlite"
    for side in ("-wal", "-shm"):
        (run_dir / f"results.sqlite{side}").unlink(missing_ok=True)
    DAMAGE[damage](db)
    content = db.read_bytes()
    expect_error(COMMANDS[command](run_dir, tmp_path), str(db.name))
    assert db.read_bytes() == content  # not "repaired" or rewritten
    assert not (tmp_path / "rows.csv").exists()


def _set_meta(run_dir: Path, key: str, text: str) -> None:
    con = sqlite3.connect(run_dir / "results.sqlite")
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, text))
    con.commit()
    con.close()


META_FAULTS = {
    "not-json": ("{'task': 'synthetic',", "not JSON"),
    "nested": ("[" * 200_000 + "]" * 200_000, "nested too deeply"),
    "huge": (json.dumps({"pad": "x" * (9 * 2**20)}), "MiB"),
}


@pytest.mark.parametrize("command", ["fit", "run"])
@pytest.mark.parametrize("fault", sorted(META_FAULTS))
def test_bad_meta_is_one_line(run_dir, tmp_path, fault, command):
    text, fragment = META_FAULTS[fault]
    _set_meta(run_dir, "config", text)
    before = stored_rows(run_dir)
    expect_error(COMMANDS[command](run_dir, tmp_path), ["meta entry 'config'", fragment])
    unchanged(run_dir, before)


def test_readers_open_read_only_and_never_switch_the_journal_mode(run_dir, tmp_path):
    db = run_dir / "results.sqlite"
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA journal_mode=DELETE").fetchone()[0] == "delete"
    con.close()
    content = db.read_bytes()
    for args in (["fit", str(run_dir), "--boot", "10"], ["export", str(run_dir), str(tmp_path / "x.csv")]):
        res = run_cli(args)
        assert res.exit_code == 0, res.output
    assert db.read_bytes() == content  # byte for byte: no WAL switch, no migration, nothing written
    assert not (run_dir / "results.sqlite-wal").exists()


def test_a_reader_cannot_write(run_dir):
    from s2rbench.sweep.store import Store

    with Store(run_dir, create=False) as store:
        assert len(store.results()) == len(stored_rows(run_dir))
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            store.conn.execute("DELETE FROM results")


def test_a_store_sqlite_cannot_open_beside_it_is_read_as_immutable(run_dir, monkeypatch):
    """A WAL store in a directory nobody may write to: SQLite cannot create its -shm file there and
    refuses a plain read-only open; the reader then opens it immutable (nobody can be writing)."""
    from s2rbench.sweep import store as store_module

    real = sqlite3.connect
    uris = []

    def no_shm(database, *a, **k):
        uris.append(str(database))
        if k.get("uri") and "immutable=1" not in str(database):
            raise sqlite3.OperationalError("unable to open database file")
        return real(database, *a, **k)

    before = stored_rows(run_dir)
    monkeypatch.setattr(store_module.sqlite3, "connect", no_shm)
    with store_module.Store(run_dir, create=False) as store:
        assert len(store.results()) == len(before)
    assert uris[-1].endswith("?mode=ro&immutable=1")


def test_interrupted_run_is_one_line(run_dir, monkeypatch):
    from s2rbench.sweep import units

    before = stored_rows(run_dir)

    def interrupt(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(units, "run_unit", interrupt)
    from s2rbench.sweep import executors

    monkeypatch.setattr(executors, "run_unit", interrupt)
    line = expect_error(run_args(run_dir, "--trials", "3", "--extend"), ["interrupted", "resumes"])
    assert line
    unchanged(run_dir, before)


def test_old_store_without_a_newer_column_reads_null_and_is_migrated_by_a_writer(run_dir):
    from s2rbench.sweep.store import OPTIONAL_COLUMNS, Store

    con = sqlite3.connect(run_dir / "results.sqlite")
    con.execute("ALTER TABLE results DROP COLUMN selected")
    con.commit()
    con.close()
    with Store(run_dir, create=False) as store:
        assert store.results()["selected"].isna().all()
    with Store(run_dir) as store:
        assert set(OPTIONAL_COLUMNS) <= set(store.results().columns)


def test_full_disk_while_storing_keeps_every_finished_row(run_dir, monkeypatch):
    from s2rbench.sweep.store import Store

    before = stored_rows(run_dir)
    original = Store._migrate

    def small_disk(self):
        original(self)
        pages = self.conn.execute("PRAGMA page_count").fetchone()[0]
        self.conn.execute(f"PRAGMA max_page_count={pages + 1}")

    monkeypatch.setattr(Store, "_migrate", small_disk)
    expect_error(run_args(run_dir, "--trials", "400", "--extend"), ["disk is full", "resumes"])
    after = stored_rows(run_dir)
    assert set(before) <= set(after)  # nothing stored before was lost
    per_cell = {}
    for r in after:
        per_cell.setdefault((r[4], r[5]), set()).add(r[6])
    assert all(t == set(range(len(t))) for t in per_cell.values())  # whole units only, in order
    monkeypatch.setattr(Store, "_migrate", original)
    res = run_cli(run_args(run_dir, "--trials", "400", "--extend"))  # space again: it resumes
    assert res.exit_code == 0, res.output
    assert len(stored_rows(run_dir)) == 3 * 400


def test_results_path_is_a_directory(tmp_path):
    out = tmp_path / "r"
    (out / "results.sqlite").mkdir(parents=True)
    expect_error(["fit", str(out)])
    expect_error(run_args(out))


def test_fit_on_a_directory_without_results(tmp_path):
    expect_error(["fit", str(tmp_path)], ["holds no s2rbench results", "s2rbench run"])


def test_fit_on_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    expect_error(["fit", str(tmp_path / "f")])


# ---------------------------------------------------------------------------------------------
# File-system faults: export, atomic writes, full disk
# ---------------------------------------------------------------------------------------------


def test_export_into_a_missing_directory(run_dir, tmp_path):
    expect_error(["export", str(run_dir), str(tmp_path / "nope" / "rows.csv")], ["does not exist", "create it"])
    assert not (tmp_path / "nope").exists()


def test_export_below_a_regular_file(run_dir, tmp_path):
    (tmp_path / "f").write_text("x")
    expect_error(["export", str(run_dir), str(tmp_path / "f" / "rows.csv")], "does not exist")


def test_export_to_an_unknown_format(run_dir, tmp_path):
    expect_error(["export", str(run_dir), str(tmp_path / "rows.xlsx")], [".csv or .parquet"])


def test_export_on_a_full_disk_leaves_the_old_file_and_no_temp(run_dir, tmp_path, monkeypatch):
    import pandas as pd

    dest = tmp_path / "rows.csv"
    dest.write_text("old export")

    def full(self, path, *a, **k):
        Path(path).write_text("partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    expect_error(["export", str(run_dir), str(dest)], ["no space left"])
    assert dest.read_text() == "old export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.csv", "run"]


def test_atomic_write_on_a_full_disk(tmp_path, monkeypatch):
    from s2rbench import fileio

    dest = tmp_path / "report.md"
    dest.write_text("the good report")
    real_write = os.write
    calls = []

    def full(fd, data):
        if calls:
            raise OSError(errno.ENOSPC, "No space left on device")
        calls.append(1)
        return real_write(fd, bytes(data[:10]))

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(S2RBenchError, match="no space left on the device"):
        fileio.atomic_write(dest, "a new report " * 100)
    monkeypatch.undo()
    assert dest.read_text() == "the good report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]  # no temp file left
    fileio.atomic_write(dest, "new")
    assert dest.read_text() == "new"


def test_atomic_path_removes_its_temp_on_any_error(tmp_path):
    from s2rbench import fileio

    with pytest.raises(ZeroDivisionError), fileio.atomic_path(tmp_path / "fig.png") as tmp:
        assert tmp.suffix == ".png" and tmp.parent == tmp_path
        tmp.write_bytes(b"half")
        1 / 0
    assert list(tmp_path.iterdir()) == []


def test_report_on_a_full_disk_is_one_line(run_dir, monkeypatch):
    before = stored_rows(run_dir)

    def full(self, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_text", full)
    expect_error(["report", str(run_dir), "--boot", "10"], "no space left")
    unchanged(run_dir, before)


# ---------------------------------------------------------------------------------------------
# Values: checked before any work starts
# ---------------------------------------------------------------------------------------------

VALUE_CASES = {
    "param-negative": (["--param", "alpha_pretrain=-1"], ["alpha_pretrain=-1", "out of range", "> 0"]),
    "param-nan": (["--param", "alpha_pretrain=NaN"], ["not finite"]),
    "param-inf": (["--param", "alpha_pretrain=Infinity"], ["not finite"]),
    "param-word": (["--param", "alpha_pretrain=abc"], ["'abc'", "not a number"]),
    "param-misspelled": (
        ["--param", "alpha_pretrian=1"],
        ["no hyperparameter 'alpha_pretrian'", "did you mean alpha_pretrain"],
    ),
    "param-int-fraction": (["--param", "random_features=1.5"], ["not an integer"]),
    "param-bool-as-int": (["--param", "random_features=true"], ["not a number"]),
    "param-list": (["--param", "alpha_pretrain=[1,2]"], ["not a number"]),
    "param-no-equals": (["--param", "alpha_pretrain"], ["name=value"]),
    "param-no-name": (["--param", "=3"], ["no name"]),
    "param-huge": (["--param", "alpha_pretrain=" + "1" * 20_000], ["characters long"]),
    "param-nested": (["--param", "alpha_pretrain=" + "[" * 5000 + "]" * 5000], ["alpha_pretrain"]),
    "mlp-lr-negative": (["--model", "mlp", "--param", "lr=-1"], ["model 'mlp'", "lr=-1"]),
    "mlp-lr-nan": (["--model", "mlp", "--param", "lr=NaN"], ["lr=nan", "not finite"]),
    "mlp-lr-word": (["--model", "mlp", "--param", "lr=abc"], ["lr='abc'"]),
    "mlp-hidden-zero": (["--model", "mlp", "--param", "hidden=[64,0]"], ["hidden", "entry 0"]),
    "mlp-activation": (["--model", "mlp", "--param", "activation=tanhh"], ["one of"]),
    "gbdt-fraction": (["--model", "gbdt-delta", "--param", "feature_fraction=0"], ["feature_fraction", "(0, 1]"]),
    "sizes-fraction": (["--sizes", "10.5"], ["--sizes", "integer", "10.5"]),
    "sizes-inf": (["--sizes", "inf"], ["--sizes", "'inf'"]),
    "sizes-nan": (["--sizes", "16,nan"], ["--sizes"]),
    "sizes-negative": (["--sizes", "-16,43"], ["--sizes", "-16"]),
    "sizes-zero": (["--sizes", "0"], ["--sizes"]),
    "sizes-word": (["--sizes", "16,abc"], ["'abc'"]),
    "sizes-empty": (["--sizes", ","], ["--sizes"]),
    "sizes-huge": (["--sizes", "1e30"], ["--sizes"]),
    "m-grid-fraction": (["--m-grid", "30,60.5"], ["--m-grid"]),
    "trials-zero": (["--trials", "0"], ["--trials"]),
    "trials-negative": (["--trials", "-3"], ["--trials"]),
    "trials-enormous": (["--trials", "99999999999999999999"], ["--trials", "10000"]),
    "trials-fraction": (["--trials", "1.5"], ["--trials"]),
    "seed-negative": (["--seed", "-1"], ["--seed"]),
    "seed-enormous": (["--seed", str(2**40)], ["--seed"]),
    "m-zero": (["--m", "0"], ["--m"]),
    "boot-negative": (["--boot", "-5"], ["--boot"]),
    "gpus-nan": (["--gpus-per-unit", "nan"], ["--gpus-per-unit"]),
    "workers-zero": (["--executor", "ray", "--workers", "0"], ["--workers"]),
    "plan-too-large": (
        ["--sizes", ",".join(map(str, range(1, 1001))), "--trials", "10000"],
        ["would plan", "fewer --trials"],
    ),
}


@pytest.mark.parametrize("case", sorted(VALUE_CASES))
def test_bad_values_are_refused_before_any_work(tmp_path, case, monkeypatch):
    from s2rbench import sweep

    extra, fragments = VALUE_CASES[case]
    if case != "plan-too-large":  # nothing is loaded or featurized before the values are checked
        monkeypatch.setattr(sweep, "prepare", lambda *a, **k: pytest.fail("prepare ran before the values were checked"))
    out = tmp_path / "r"
    expect_error(run_args(out, *extra), fragments)
    assert not (out / "results.sqlite").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["fit", "{run}", "--boot", "-5"],
        ["fit", "{run}", "--boot", "0"],
        ["report", "{run}", "--boot", "0"],
        ["fit", "{run}", "--m", "0"],
    ],
)
def test_bad_counts_of_the_readers(run_dir, args):
    before = stored_rows(run_dir)
    expect_error([a.replace("{run}", str(run_dir)) for a in args])
    unchanged(run_dir, before)


def test_memory_is_checked_before_a_unit_runs(run_dir, monkeypatch):
    import s2rbench.sweep.executors as ex

    before = stored_rows(run_dir)
    monkeypatch.setattr(ex, "available_memory_bytes", lambda device="cpu": 1000)
    expect_error(run_args(run_dir, "--trials", "3", "--extend"), ["needs about", "GiB"])
    unchanged(run_dir, before)


def test_every_builtin_model_declares_a_spec_its_defaults_pass():
    from s2rbench.plugins import get_model

    for name in ("mlp", "mlp-head", "delta", "stack", "gbdt-delta", "gbdt-stack", "ridge"):
        model = get_model(name)
        assert set(model.param_specs) == set(model.defaults), name
        model.with_params(**model.params)  # the (normalized) defaults pass their own specs


# ---------------------------------------------------------------------------------------------
# Usage errors look like every other error
# ---------------------------------------------------------------------------------------------

USAGE_CASES = {
    "missing-argument": (["run"], ["Missing argument 'TASK'", "s2rbench run --help"]),
    "bad-choice": (["list", "nope"], ["'nope' is not one of"]),
    "no-such-option": (["run", "synthetic", "--bogus"], ["No such option", "--bogus"]),
    "bad-int": (["run", "synthetic", "--trials", "abc"], ["--trials", "'abc'"]),
    "no-such-command": (["nosuch"], ["No such command 'nosuch'"]),
    "group-option": (["--bogus"], ["No such option"]),
    "export-missing-dest": (["export", "somewhere"], ["Missing argument 'DEST'"]),
    "bad-executor": (["run", "synthetic", "--executor", "dask"], ["'dask' is not one of"]),
    "subgroup-option": (["task", "check", "--bogus"], ["No such option"]),
}


@pytest.mark.parametrize("case", sorted(USAGE_CASES))
def test_usage_errors_are_one_line_with_exit_1(case):
    args, fragments = USAGE_CASES[case]
    res = run_cli(args)
    assert res.exit_code == 1, res.output
    assert res.output.strip().count("\n") == 0, res.output  # one line, not click's four
    expect_error(args, fragments)


def test_help_and_version_still_exit_0():
    assert run_cli(["--help"]).exit_code == 0
    assert run_cli(["run", "--help"]).exit_code == 0
    assert run_cli(["--version"]).exit_code == 0


# ---------------------------------------------------------------------------------------------
# Warnings: no floating-point noise; what a user sees says what it means
# ---------------------------------------------------------------------------------------------


def test_numpy_floating_point_warnings_do_not_reach_the_user():
    from s2rbench.cli import cli

    @cli.command("_overflow")
    def _overflow() -> None:
        with np.errstate(all="warn"):
            np.exp(np.array([1000.0]))
            np.log(np.array([-1.0]))
            np.array([1.0]) / np.array([0.0])
        warnings.warn("a warning that matters", UserWarning, stacklevel=2)
        click.echo("done")

    try:
        with warnings.catch_warnings():
            res = run_cli(["_overflow"])
    finally:
        cli.commands.pop("_overflow", None)
    assert res.exit_code == 0 and "done" in res.output
    assert "encountered" not in res.output
    assert "Warning: a warning that matters" in res.output


def test_dropped_sizes_warning_says_what_it_means(tmp_path):
    with warnings.catch_warnings():
        res = run_cli(run_args(tmp_path / "r", "--sizes", "16,43,99999999"))
    assert res.exit_code == 0, res.output
    lines = [ln for ln in res.output.splitlines() if ln.startswith("Warning:")]
    assert len(lines) == 1 and "99999999" in lines[0] and "law is fitted over n <=" in lines[0]


def test_fuzzed_hyperparameter_values_are_accepted_or_one_line():
    """Any JSON value for any hyperparameter of any built-in model: accepted, or our own error."""
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import strategies as st

    from s2rbench.cli import parse_params
    from s2rbench.plugins import get_model

    models = {name: get_model(name) for name in ("mlp", "mlp-head", "delta", "gbdt-delta", "ridge")}
    names = sorted({(m, k) for m, model in models.items() for k in model.defaults})
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=8),
        st.sampled_from(["NaN", "Infinity", "-1", "1e400", "[]", "{}", "[[1]]"]),
    )
    values = st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
        max_leaves=8,
    )

    @hypothesis.settings(max_examples=300, deadline=None, derandomize=True)
    @hypothesis.given(st.sampled_from(names), values, st.booleans())
    def check(model_name, value, through_cli):
        model, key = model_name
        if through_cli:  # as the CLI parses --param key=<text>
            try:
                params = parse_params([f"{key}={json.dumps(value)}"])
            except (S2RBenchError, ValueError):
                return
        else:
            params = {key: value}
        try:
            models[model].with_params(**params)
        except S2RBenchError as exc:
            assert "\n" not in str(exc) and key in str(exc)

    check()
