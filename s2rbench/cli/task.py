"""`s2rbench task`: write, check and hash task cards (a user's own Sim2Real pair, no code)."""

from __future__ import annotations

import json

import click


def register(cli: click.Group) -> None:
    @cli.group("task")
    def task() -> None:
        """Bring your own Sim2Real pair: a task card and two tables.

        \b
          s2rbench task init NAME --sim sim.csv --real real.csv   write NAME.toml
          s2rbench task check NAME.toml                           the data report
          s2rbench task hash NAME.toml                            pin the files' sha256
        A card works wherever a task name does (run, list, ...); a directory of
        cards on S2RBENCH_TASKS_PATH shows up in `s2rbench list tasks`.
        """

    @task.command("init")
    @click.argument("name")
    @click.option(
        "--sim", "sim", type=click.Path(dir_okay=False), default=None, help="The simulated table (CSV or Parquet)."
    )
    @click.option(
        "--real",
        "real",
        type=click.Path(dir_okay=False),
        default=None,
        help="The real (measured) table (CSV or Parquet).",
    )
    @click.option("--out", type=click.Path(), default=None, help="Where to write the card (default: ./NAME.toml).")
    @click.option("--force", is_flag=True, help="Overwrite an existing card.")
    def init(name: str, sim: str | None, real: str | None, out: str | None, force: bool) -> None:
        """Write a commented task card NAME.toml.

        With --sim and --real, the input column and kind, the targets, condition columns, the unit,
        the n and m grids and the files' sha256 are inferred (nothing is asked); check the result
        with `s2rbench task check`.
        """
        from ..tasks.init import init_card

        res = init_card(name, sim, real, out=out, force=force)
        click.echo(f"wrote {res.path}")
        g = res.guesses
        if g:
            click.echo(f"  input kind: {g['input_kind']} · featurizer: {g['featurizer']}")
            for side in ("sim", "real"):
                s = g[side]
                cond = f", conditions {s['conditions']}" if s["conditions"] else ""
                click.echo(f"  [{side}] input {s['input']} ({s['why']}), target {s['target']!r}{cond}")
                if s["alternatives"]:
                    click.echo(
                        f"         other numeric columns: {', '.join(s['alternatives'][:8])}{' ...' if len(s['alternatives']) > 8 else ''}"
                    )
        for note in res.notes:
            click.echo(f"  note: {note}")
        click.echo(f"next: s2rbench task check {res.path}")

    @task.command("check")
    @click.argument("card")
    @click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Local mirror of the data files.")
    @click.option("--featurizer", default=None, help="Check with this featurizer instead of the card's.")
    @click.option(
        "--top", type=int, default=10, show_default=True, help="How many rows with the largest |sim - real| to show."
    )
    @click.option("--json", "as_json", is_flag=True, help="The report as JSON.")
    def check(card: str, data_dir: str | None, featurizer: str | None, top: int, as_json: bool) -> None:
        """Validate CARD (a .toml path or a task name) and both tables; print the data report.

        Rows, inputs that do not parse (by file row), target distributions, how many real inputs
        also occur in the simulated table, and on that overlap how far simulation is from
        experiment (MAE, bias, correlation) with the rows that disagree most. Exits 1 on any
        problem that would stop a run.
        """
        from ..tasks.check import check_card

        report = check_card(card, data_dir=data_dir, featurizer=featurizer, top=top)
        if as_json:
            click.echo(json.dumps(report.to_dict(), indent=2, default=str))
        else:
            click.echo(report.text())

    @task.command("hash")
    @click.argument("card", type=click.Path(dir_okay=False))
    @click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Local mirror of the data files.")
    def hash_cmd(card: str, data_dir: str | None) -> None:
        """Compute the sha256 of every file CARD names and write it into CARD (comments are kept).

        Local files are re-hashed (that is how a changed table is re-pinned); a downloaded file
        whose sha256 is already given is verified, not re-pinned (delete its sha256 line first).
        """
        from ..tasks.pin import hash_card

        for row in hash_card(card, data_dir=data_dir):
            was = f" (was {row['previous'][:12]}…)" if row["status"] == "updated" else ""
            click.echo(f"[files.{row['file']}] {row['path']}: sha256 {row['sha256']} {row['status']}{was}")
