"""The hostile-input corpus (issue 15): every bad input or fault gets exactly one ``Error:`` line,
a non-zero exit, no traceback, and every row stored before is still there, unchanged.

`expect_error` runs the CLI in-process (click's runner: faithful for parsing, errors and exit codes,
and seconds faster than a subprocess per case); `stored_rows` snapshots a run directory's rows so a
case can assert that nothing already computed was lost or altered.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner, Result


def run_cli(args: Sequence[str], **kwargs) -> Result:
    from s2rbench.cli import cli

    kwargs.setdefault("prog_name", "s2rbench")
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=True, **kwargs)


def expect_error(args: Sequence[str], fragment: str | Sequence[str] = (), **kwargs) -> str:
    """Run ``s2rbench ARGS``; assert one ``Error:`` line (containing every ``fragment``), a non-zero
    exit and no traceback; return that line."""
    res = run_cli(args, **kwargs)
    text = res.output + (res.stderr if res.stderr_bytes is not None and res.stderr not in res.output else "")
    assert res.exit_code != 0, f"exit 0 for {list(args)}:\n{text}"
    assert "Traceback" not in text, f"traceback for {list(args)}:\n{text}"
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise AssertionError(f"{list(args)} raised {type(res.exception).__name__}: {res.exception}") from res.exception
    errors = [ln for ln in text.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1, f"expected one Error: line for {list(args)}, got:\n{text}"
    for frag in [fragment] if isinstance(fragment, str) else fragment:
        assert frag in errors[0], f"{frag!r} not in {errors[0]!r}"
    return errors[0]


def stored_rows(run_dir: Path) -> list[tuple]:
    """Every row of a run directory's results table (read-only), in a stable order."""
    db = Path(run_dir) / "results.sqlite"
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT * FROM results ORDER BY n, m, trial").fetchall()
    finally:
        conn.close()


@pytest.fixture
def cli_error():
    return expect_error
