"""The hostile corpus, cards and tables (issue 15 parts 1, 2, 6): a card is data, never code; its
paths stay in its folder or the mirror; its urls are public https; one schema refuses every bad key,
type and range in one line; bad files (binary, non-UTF-8, huge, deeply nested) are refused before
they cost memory; one bad card on S2RBENCH_TASKS_PATH spoils only itself; data traps are named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cardkit import clean_pair, write_pair

from .conftest import expect_error, run_cli


@pytest.fixture
def pair(tmp_path) -> Path:
    sim, real = clean_pair()
    return write_pair(tmp_path / "card", sim, real)


def edit(card: Path, old: str, new: str) -> Path:
    text = card.read_text()
    assert old in text, old
    card.write_text(text.replace(old, new, 1))
    return card


def add(card: Path, section: str, line: str) -> Path:
    """Insert `line` right after the `[section]` header."""
    return edit(card, f"[{section}]\n", f"[{section}]\n{line}\n")


# --- a card runs no code -------------------------------------------------------------------------


def test_a_query_that_writes_a_file_is_refused_and_runs_nothing(pair, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    add(pair, "sim", "query = \"(x1 == x1) | (x1.to_csv('pwned.sh', index=False) == 0)\"")
    line = expect_error(["task", "check", pair], ["[sim] `query` is no longer supported", "[[sim.filter]]"])
    assert "can run code" in line
    expect_error(["run", pair, "--model", "ridge", "--quick", "--no-progress", "--out", tmp_path / "r"], "query")
    assert not list(tmp_path.rglob("pwned.sh"))


def test_a_query_on_the_tasks_path_runs_nothing_when_listed(pair, tmp_path, monkeypatch, fresh_plugins):
    monkeypatch.chdir(tmp_path)
    add(pair, "real", "query = \"x1.to_csv('pwned.sh') == 0\"")
    monkeypatch.setenv("S2RBENCH_TASKS_PATH", str(pair.parent))
    res = run_cli(["list", "tasks", "--details"])
    assert res.exit_code == 0 and "Traceback" not in res.output
    assert "query" in res.output  # the refused card is named as a problem
    assert not list(tmp_path.rglob("pwned.sh"))


def test_a_simple_query_gets_its_filter_spelled_out(pair):
    add(pair, "sim", 'query = "x1 > 0.5"')
    expect_error(["task", "check", pair], '[[sim.filter]] column = "x1", op = ">", value = 0.5')


def test_filters_select_rows_with_plain_comparisons(pair):
    from s2rbench.tasks import load_card, load_tables

    edit(
        pair,
        "[files.sim]",
        '[[sim.filter]]\ncolumn = "x1"\nop = ">="\nvalue = 0.5\n\n'
        '[[real.filter]]\ncolumn = "x2"\nop = "not_in"\nvalue = [0.0, 1.0]\n\n[files.sim]',
    )
    import pandas as pd

    t = load_tables(load_card(pair))
    sim = pd.read_csv(pair.parent / "sim.csv")
    assert len(t.sim) == int((sim["x1"] >= 0.5).sum()) > 0 and len(t.real) == 60


@pytest.mark.parametrize(
    "filter_toml, fragment",
    [
        ('column = "x1"\nop = "=~"\nvalue = 1', "one of == != < <= > >= in not_in"),
        ('column = "x1"\nop = "in"\nvalue = 1', "needs a non-empty list"),
        ('column = "x1"\nop = ">"\nvalue = "a"', "needs a number"),
        ('column = "x1"\nop = "=="\nvalue = [1, 2]', 'use op = "in"'),
        ('column = "x1"\nop = "=="', "has no `value`"),
        ('column = "x1"\nop = "=="\nvalue = 1\nexpr = "x"', "unknown key `expr`"),
        ('column = "nope"\nop = "=="\nvalue = 1', "column 'nope' is not in the table"),
    ],
)
def test_bad_filters_are_one_line(pair, filter_toml, fragment):
    edit(pair, "[files.sim]", f"[[sim.filter]]\n{filter_toml}\n\n[files.sim]")
    expect_error(["task", "check", pair], fragment)


# --- paths stay in the card's folder or the mirror; urls are public https ------------------------


@pytest.mark.parametrize(
    "path, fragment",
    [
        ("../outside.csv", "climbs out of its folder"),
        ("sub/../../outside.csv", "climbs out of its folder"),
        ("/etc/passwd", "absolute path"),
        ("~/secret.csv", "absolute path"),
    ],
)
def test_a_path_may_not_leave_the_card_folder(pair, path, fragment):
    (pair.parent.parent / "outside.csv").write_text("x1,x2,y_sim\n1,2,3\n")
    edit(pair, 'path = "sim.csv"', f'path = "{path}"')
    expect_error(["task", "check", pair], ["[files.sim] path", fragment])


def test_a_symlink_out_of_the_card_folder_is_refused(pair, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text((pair.parent / "sim.csv").read_text())
    (pair.parent / "link.csv").symlink_to(secret)
    edit(pair, 'path = "sim.csv"', 'path = "link.csv"')
    expect_error(["task", "check", pair], ["outside the card's folder", "link"])
    expect_error(["task", "hash", pair], ["outside the card's folder", "link"])
    expect_error(
        ["run", pair, "--model", "ridge", "--sizes", "16", "--trials", "1", "--no-progress"],
        "outside the card's folder",
    )


def test_a_mirror_path_may_not_leave_the_mirror(pair):
    add(pair, "files.sim", 'mirror = "../../etc/passwd"')
    expect_error(["task", "check", pair], ["[files.sim] mirror", "climbs out"])


@pytest.mark.parametrize(
    "url, fragment",
    [
        ("http://example.org/sim.csv", "plain http"),
        ("file:///etc/passwd", "file://"),
        ("https://127.0.0.1/sim.csv", "loopback"),
        ("https://localhost:8443/sim.csv", "loopback"),
        ("https://[::1]/sim.csv", "loopback"),
        ("https://10.1.2.3/sim.csv", "private"),
        ("https://192.168.0.10/sim.csv", "private"),
        ("https://169.254.169.254/latest/meta-data", "private"),
        ("ftp://example.org/sim.csv", "only https://"),
        ("https:///nohost.csv", "no host"),
    ],
)
def test_only_public_https_urls_are_fetched(pair, url, fragment):
    add(pair, "files.sim", f'url = "{url}"')
    line = expect_error(["task", "check", pair], ["[files.sim] url", "refused", fragment])
    assert "sha256" not in line


# --- one schema, every command -------------------------------------------------------------------


@pytest.mark.parametrize(
    "section, line, fragment",
    [
        (
            "protocol",
            'quick_trials = "five"',
            '[protocol] quick_trials = "five" is not valid: expected a whole number ≥ 1',
        ),
        ("protocol", "quick_trials = 5.5", "[protocol] quick_trials = 5.5 is not valid"),
        ("protocol", 'quick_m_grid = "16,43"', 'quick_m_grid = "16,43" is not valid: expected a list'),
        ("protocol", "trial_block = 0", "[protocol] trial_block = 0 is not valid: expected a whole number ≥ 1"),
        ("protocol", "trials = 0", "[protocol] trials = 0"),
        ("protocol", "test_fraction = 1.5", "test_fraction = 1.5 is not valid: expected a fraction between 0 and 1"),
        ("protocol", "test_fraction = nan", "test_fraction is not a finite number"),
        ("protocol", 'split = "kfold"', 'split = "kfold" is not valid: expected "random" or "group"'),
        ("protocol", "seed = -1", "seed = -1 is not valid"),
        ("protocol", "trails = 5", "unknown key `trails` in [protocol]; did you mean `trials`?"),
        ("sim", 'targte = "y"', "unknown key `targte` in [sim]; did you mean `target`?"),
        ("real", 'aggregate = "min"', "unknown key `aggregate` in [real]"),
        (
            "sim",
            'aggregate = "sum"',
            '[sim] aggregate = "sum" is not valid: expected "keep", "mean", "median", "min" or "max"',
        ),
        ("sim", "scale = 0", "[sim] scale = 0 is not valid: expected a non-zero number"),
        ("sim", 'offset = "1"', "[sim] offset"),
        ("sim", "drop_missing_target = 1", "drop_missing_target = 1 is not valid: expected true or false"),
        ("target", 'transform = "sqrt"', '[target] transform = "sqrt" is not valid'),
        ("files.sim", 'sha265 = "ab"', "unknown key `sha265` in [files.sim]; did you mean `sha256`?"),
        ("files.sim", 'sha256 = "abc"', '[files.sim] sha256 = "abc" is not valid: expected 64 hex digits'),
    ],
)
def test_schema_violations_name_the_key_and_the_fix(pair, section, line, fragment):
    text = pair.read_text()
    key = line.split("=")[0].strip()
    if section in (
        "protocol",
        "files.sim",
    ):  # replace an existing key rather than declaring it twice (TOML refuses that)
        lines = text.splitlines()
        if section == "files.sim":
            i = lines.index("[files.sim]")
            lines = (
                lines[: i + 1] + [ln for ln in lines[i + 1 : i + 3] if not ln.startswith(f"{key} ")] + lines[i + 3 :]
            )
        else:
            lines = [ln for ln in lines if not ln.startswith(f"{key} ")]
        pair.write_text("\n".join(lines) + "\n")
    add(pair, section, line)
    expect_error(["task", "check", pair], [str(pair.name), fragment])


def test_quick_sizes_out_of_range_and_wrong_type(pair):
    edit(pair, "quick_sizes = [16, 64]", "quick_sizes = [-16, 0, 43]")
    expect_error(["task", "check", pair], "[protocol] quick_sizes[0] = -16 is not valid: expected whole numbers ≥ 1")
    edit(pair, "quick_sizes = [-16, 0, 43]", 'quick_sizes = "16,43"')
    expect_error(["run", pair, "--model", "ridge", "--quick"], 'quick_sizes = "16,43" is not valid')


@pytest.mark.parametrize(
    "old, new, fragment",
    [
        ('name = "pair"', 'nmae = "pair"', "unknown key `nmae` in [top level]; did you mean `name`?"),
        ('name = "pair"', "name = 5", "name = 5 is not valid"),
        ('name = "pair"', 'name = "my pair"', 'name = "my pair" is not valid: expected letters, digits'),
        (
            'input = ["x1", "x2"]\ntarget = "y_sim"',
            'input = 5\ntarget = "y_sim"',
            "[sim] input = 5 is not valid: expected a column name",
        ),
        (
            '[files.sim]\npath = "sim.csv"',
            '[files]\nsim = "sim.csv"\n[files.x]\npath = "sim.csv"',
            '[files] sim = "sim.csv" is not valid: expected a table with url/sha256 or path',
        ),
    ],
)
def test_wrong_types_at_the_top_and_in_tables(pair, old, new, fragment):
    edit(pair, old, new)
    expect_error(["task", "check", pair], fragment)


def test_run_applies_the_same_schema_as_check(pair, tmp_path):
    add(pair, "protocol", "nonsense = 1")
    expect_error(
        ["run", pair, "--model", "ridge", "--sizes", "16", "--trials", "1", "--no-progress", "--out", tmp_path / "r"],
        "unknown key `nonsense` in [protocol]",
    )
    assert not (tmp_path / "r" / "results.sqlite").exists()


# --- files that are not cards -----------------------------------------------------------------------


def test_a_binary_card_is_refused(tmp_path):
    p = tmp_path / "bin.toml"
    p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    expect_error(["task", "check", p], "is a binary file")


def test_a_non_utf8_card_is_refused(pair):
    pair.write_bytes(pair.read_bytes().replace(b'unit = "eV"', 'unit = "°C"'.encode("latin-1")))
    expect_error(["task", "check", pair], ["is not UTF-8 text", "line 9"])


def test_a_huge_card_is_refused_before_it_is_read(pair):
    with open(pair, "a") as fh:
        fh.write(("# padding " + "x" * 1000 + "\n") * 1100)
    expect_error(["task", "check", pair], "far too large for a card")


def test_a_deeply_nested_card_is_one_line(tmp_path):
    p = tmp_path / "deep.toml"
    p.write_text("x = " + "[" * 50000 + "]" * 50000 + "\n")
    expect_error(["task", "check", p], "not valid TOML")


def test_a_directory_named_like_a_card_is_refused(tmp_path):
    (tmp_path / "d.toml").mkdir()
    expect_error(["task", "check", tmp_path / "d.toml"], "does not exist (or is not a file)")


# --- one bad card on S2RBENCH_TASKS_PATH spoils only itself -------------------------------------------


def test_a_bad_card_on_the_tasks_path_is_a_problem_and_everything_else_works(
    pair, tmp_path, monkeypatch, fresh_plugins
):
    cards = tmp_path / "cards"
    cards.mkdir()
    (cards / "broken.toml").write_text('format = 1\nname = "broken"\n[protocol]\ntrials = "many"\n')
    (cards / "binary.toml").write_bytes(b"\x00\x01\x02")
    monkeypatch.setenv("S2RBENCH_TASKS_PATH", str(cards))
    res = run_cli(["list", "tasks"])
    assert res.exit_code == 0 and "synthetic" in res.output
    plugins = run_cli(["plugins"])
    assert plugins.exit_code == 0 and "broken.toml" in plugins.output and "binary.toml" in plugins.output
    expect_error(["task", "check", cards / "broken.toml"], '[protocol] trials = "many" is not valid')
    expect_error(["run", "broken", "--model", "ridge"], "unknown task 'broken'")
    ok = run_cli(
        [
            "run",
            pair,
            "--model",
            "ridge",
            "--sizes",
            "16",
            "--trials",
            "1",
            "--no-progress",
            "--out",
            tmp_path / "r",
            "--boot",
            "20",
        ]
    )
    assert ok.exit_code == 0, ok.output


# --- data traps -------------------------------------------------------------------------------------


def test_infinite_targets_are_refused_by_check_and_run(tmp_path):
    sim, real = clean_pair()
    real.loc[5, "y_real"] = np.inf
    card = write_pair(tmp_path, sim, real)
    expect_error(["task", "check", card], ["[real]", "infinite value", "row 5"])
    expect_error(
        ["run", card, "--model", "ridge", "--sizes", "16", "--trials", "1", "--no-progress", "--out", tmp_path / "r"],
        "infinite value",
    )


def test_infinite_conditions_are_refused(tmp_path):
    sim, real = clean_pair()
    sim["T"], real["T"] = 300.0, 300.0
    sim.loc[2, "T"] = -np.inf
    card = write_pair(tmp_path, sim, real, sim_extra='conditions = ["T"]', real_extra='conditions = ["T"]')
    expect_error(["task", "check", card], ["condition column 'T'", "infinite"])


def test_duplicates_in_both_tables_are_reported(tmp_path):
    import pandas as pd

    sim, real = clean_pair()
    card = write_pair(tmp_path, pd.concat([sim, sim], ignore_index=True), pd.concat([real, real], ignore_index=True))
    res = run_cli(["task", "check", card])
    assert res.exit_code == 0
    assert "200 sim input(s) repeat" in res.output and "60 real input(s) repeat" in res.output
    assert "copies of one real input stay together" in res.output


def test_the_same_file_for_both_tables_is_warned(tmp_path):
    sim, real = clean_pair()
    res = run_cli(["task", "check", write_pair(tmp_path, sim, real, same_file=True)])
    assert res.exit_code == 0 and "the simulated and the real table are the same file" in res.output


def test_a_reordered_feature_cache_file_is_not_trusted(tmp_path, monkeypatch):
    from s2rbench.featurecache import cache_key, cached_featurize
    from s2rbench.plugins import get_featurizer

    monkeypatch.setenv("S2RBENCH_CACHE_DIR", str(tmp_path / "cache"))
    feat = get_featurizer("columns")
    inputs = [f"{i}|{2 * i}" for i in range(50)]
    first = cached_featurize(feat, inputs)
    path = tmp_path / "cache" / "features" / f"{feat.name}-{cache_key(feat, inputs)[:24]}.npz"
    assert path.is_file()
    with np.load(path) as z:
        parts = {k: z[k] for k in z.files}
    perm = np.random.default_rng(0).permutation(50)
    parts["X"], parts["canonical"] = parts["X"][perm], parts["canonical"][perm]  # valid rows, another order
    np.savez(path, **parts)
    again = cached_featurize(feat, inputs)
    np.testing.assert_array_equal(again.X, first.X)
    assert again.canonical == first.canonical


def test_run_no_cache_featurizes_afresh(pair, tmp_path, monkeypatch):
    monkeypatch.setenv("S2RBENCH_CACHE_DIR", str(tmp_path / "cache"))
    res = run_cli(
        [
            "run",
            pair,
            "--model",
            "ridge",
            "--sizes",
            "16",
            "--trials",
            "1",
            "--no-progress",
            "--out",
            tmp_path / "r",
            "--boot",
            "20",
            "--no-cache",
        ]
    )
    assert res.exit_code == 0, res.output
    assert not list((tmp_path / "cache").rglob("*.npz"))
