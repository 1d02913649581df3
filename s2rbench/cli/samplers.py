"""`s2rbench compare` (runs that differ in one factor) and `s2rbench suggest` (what to simulate next)."""

from __future__ import annotations

import json

import click
from tabulate import tabulate


@click.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path())
@click.option(
    "--m",
    "m",
    type=int,
    default=None,
    help="Real training rows to compare at (default: the runs' own m, which must agree).",
)
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write the curves together to this PNG.")
@click.option("--boot", type=int, default=1000, show_default=True, help="Bootstrap resamples for the intervals.")
@click.option("--json", "as_json", is_flag=True)
def compare(run_dirs, m, out, boot, as_json) -> None:
    """Compare RUN_DIRS of one task, seed and m: fitted laws, MAE per n, a paired test per n.

    The first RUN_DIR is the reference of the paired test (Wilcoxon signed-rank, trials paired).
    A leaderboard submission file (leaderboard/submissions/TASK/ID.json) can stand for a run: its
    raw per-trial rows are compared like a run's.
    """
    from ..analysis.compare import compare as compare_runs
    from ..report.compare import plot

    cmp = compare_runs([_run_or_submission(p) for p in run_dirs], m=m, n_boot=boot)
    png = plot(cmp, out) if out else None
    if as_json:
        d = cmp.to_dict()
        d["plot"] = str(png) if png else None
        click.echo(json.dumps(d, indent=2, default=str))
        return
    factor = ", ".join(cmp.factors) if cmp.factors else "nothing (same configuration)"
    click.echo(f"task {cmp.task} · m={cmp.m} · the runs differ in: {factor}")
    click.echo("")
    click.echo(tabulate(cmp.fit_table(), headers="keys", tablefmt="simple", disable_numparse=True))
    click.echo("")
    click.echo("mean MAE ± s.e.m. per n" + (f"; Δ and p vs {cmp.reference!r}: {cmp.test}" if cmp.paired else ""))
    click.echo(tabulate(cmp.mae_table(), headers="keys", tablefmt="simple"))
    for note in cmp.notes:
        click.echo(f"Note: {note}")
    if png:
        click.echo(f"plot: {png}")


def _run_or_submission(path: str):
    """A run directory as given, or a submission file read as a run (`s2rbench.leaderboard.as_run`)."""
    from pathlib import Path

    from ..errors import S2RBenchError

    p = Path(path)
    if p.is_dir() or not p.exists():
        return p  # a run directory (a missing one gets the store's own error)
    if p.suffix.lower() != ".json":
        raise S2RBenchError(
            f"{path} is a file, but compare takes run directories or leaderboard submission files (.json)"
        )
    from ..leaderboard.submission import as_run

    return as_run(p)


@click.command()
@click.argument("task")
@click.option(
    "--pool",
    required=True,
    type=click.Path(dir_okay=False),
    help="CSV (or Parquet) of candidate inputs not yet simulated.",
)
@click.option("--k", "k", required=True, type=int, help="How many candidates to rank.")
@click.option(
    "--sampler", default="diverse", show_default=True, help="Which sampler ranks them (see `s2rbench list samplers`)."
)
@click.option(
    "--column", multiple=True, help="Input column(s) of the pool (default: the task card's [sim] input columns)."
)
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write the ranked candidates to this CSV.")
@click.option("--seed", type=int, default=None, help="Seed for ties and random choices (default: the card's).")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Local mirror of the data files.")
def suggest(task, pool, k, sampler, column, out, seed, data_dir) -> None:
    """Rank the K candidates of --pool that a sampler would simulate next for TASK, with the reason for each."""
    from ..analysis.suggest import suggest as run_suggest

    res = run_suggest(task, pool, k, sampler, column=list(column) or None, seed=seed, data_dir=data_dir)
    if out:
        path = res.to_csv(out)
        click.echo(
            f"wrote {len(res.table)} of {res.usable} usable candidates ({res.pool_rows} pool rows), ranked by {res.sampler!r}, to {path}"
        )
        return
    shown = res.table.drop(columns=[c for c in ("sampler", "canonical") if c in res.table.columns])
    click.echo(tabulate(shown.to_dict(orient="list"), headers="keys", tablefmt="simple", floatfmt=".4g"))


def register(cli: click.Group) -> None:
    cli.add_command(compare)
    cli.add_command(suggest)
