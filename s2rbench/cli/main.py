"""The command line: parse arguments, call the Python API, print. Nothing here computes."""

from __future__ import annotations

import importlib
import json
import sys
import warnings
from pathlib import Path
from typing import Any, Iterable

import click
from tabulate import tabulate

from ..errors import S2RBenchError


class _Group(click.Group):
    """Prints user errors as one line and exits 1; anything else is a bug and keeps its traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except S2RBenchError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(1)


def _warning_line(message, category, filename, lineno, file=None, line=None):
    click.echo(f"Warning: {message}", err=True)


def _int_list(value: str | None) -> list[int] | None:
    if value is None:
        return None
    try:
        return [int(float(v)) for v in value.replace(" ", "").split(",") if v]
    except ValueError:
        raise S2RBenchError(f"--sizes {value!r} must be comma-separated integers, e.g. 100,1000,10000") from None


def parse_params(pairs: Iterable[str]) -> dict[str, Any]:
    """``name=value`` pairs as model hyperparameters; values are JSON where they parse, else strings."""
    out: dict[str, Any] = {}
    for p in pairs:
        if "=" not in p:
            raise S2RBenchError(f"--param {p!r} must look like name=value")
        k, v = p.split("=", 1)
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out


@click.group(cls=_Group)
@click.version_option(package_name="s2rbench")
def cli() -> None:
    """s2rbench: scaling laws of Sim2Real transfer learning in materials science."""
    warnings.showwarning = _warning_line


@cli.command("list")
@click.argument("kind", type=click.Choice(["tasks", "models", "featurizers", "samplers", "all"]), default="all")
@click.option("--details", is_flag=True, help="Load task data and show rows, overlap and invalid inputs.")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Local mirror of the data files.")
@click.option("--json", "as_json", is_flag=True)
def list_cmd(kind: str, details: bool, data_dir: str | None, as_json: bool) -> None:
    """List the registered tasks, models and featurizers."""
    from ..catalog import catalog

    data = catalog(kind, details=details, data_dir=data_dir)
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    for k, rows in data.items():
        click.echo(f"\n{k}:")
        click.echo(tabulate(rows, headers="keys", tablefmt="simple") if rows else "  (none)")


@cli.command()
@click.option("--json", "as_json", is_flag=True)
def plugins(as_json: bool) -> None:
    """Installed plugins, their versions, and what each provides."""
    from ..catalog import plugin_table

    rows, problems = plugin_table()
    if as_json:
        click.echo(json.dumps({"plugins": rows, "problems": problems}, indent=2))
        return
    click.echo(tabulate([{**r, "provides": "; ".join(f"{k}: {', '.join(v)}" for k, v in r["provides"].items())} for r in rows], headers="keys"))
    for p in problems:
        click.echo(f"Problem: {p}", err=True)


@cli.command()
@click.argument("task")
@click.option("--model", default="mlp", show_default=True)
@click.option("--featurizer", default=None, help="Default: the task card's.")
@click.option("--quick", is_flag=True, help="The card's quick grid and few trials (minutes).")
@click.option("--sizes", default=None, help="Comma-separated n grid, overriding the card's.")
@click.option("--trials", type=int, default=None)
@click.option("--seed", type=int, default=None)
@click.option("--m", "m", type=int, default=None, help="Real training rows used for fine-tuning (default: the card's).")
@click.option("--surface", is_flag=True, help="Sweep the card's (n, m) grid: every n at every m of its m_grid.")
@click.option("--m-grid", default=None, help="Comma-separated m grid for --surface, overriding the card's.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Run directory (resumed if it exists).")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Local mirror of the data files.")
@click.option("--exclude-overlap", is_flag=True, help="Drop simulated rows whose input also occurs in the real table.")
@click.option("--sampler", default="random", show_default=True, help="Which simulated rows pretrain first (see `s2rbench list samplers`).")
@click.option("--split", type=click.Choice(["random", "group"]), default=None, help="Real train/test split (default: the card's).")
@click.option("--param", "params", multiple=True, help="Model hyperparameter override, name=value (repeatable).")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True, help="Where units of work run.")
@click.option("--address", default=None, help="Ray cluster address to join (default: start a local one).")
@click.option("--workers", type=int, default=None, help="Ray: concurrent units (default: the cluster's CPUs).")
@click.option("--gpus-per-unit", type=float, default=0.0, show_default=True, help="Ray: GPUs reserved per unit.")
@click.option("--boot", type=int, default=1000, show_default=True, help="Bootstrap resamples for the intervals.")
@click.option("--no-progress", is_flag=True)
def run(task, model, featurizer, quick, sizes, trials, seed, m, surface, m_grid, device, out, data_dir, exclude_overlap, sampler, split, params, executor, address, workers, gpus_per_unit, boot, no_progress) -> None:
    """Run (or resume) the standardized sweep of TASK and print the fitted law."""
    from ..analysis import summarize, summary_row
    from ..report import write_report
    from ..sweep import run as run_sweep

    from ..sweep.executors import make_executor

    ex = make_executor(executor, address=address, workers=workers, gpus_per_unit=gpus_per_unit)
    try:
        res = run_sweep(
            task, model, featurizer, quick=quick, sizes=_int_list(sizes), trials=trials, seed=seed, m=m, surface=surface,
            m_grid=_int_list(m_grid), device=device, out=out, data_dir=data_dir, exclude_overlap=exclude_overlap,
            sampler=sampler, split=split, model_params=parse_params(params), progress=not no_progress, fit=False, executor=ex,
        )
    finally:
        if hasattr(ex, "close"):
            ex.close()
    summary = summarize(res.run_dir, n_boot=boot)
    report = write_report(res.run_dir, n_boot=boot)
    click.echo(tabulate([summary_row(summary)], headers="keys", tablefmt="simple"))
    if summary.fit_error:
        click.echo(f"No law fitted: {summary.fit_error}")
    click.echo(f"results: {res.run_dir}/results.sqlite · report: {report}")


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--m", "m", type=int, default=None)
@click.option("--boot", type=int, default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def fit(run_dir, m, boot, as_json) -> None:
    """Refit the scaling law from the raw per-trial rows of RUN_DIR."""
    from ..analysis import summarize, summary_row

    from ..overlap import overlap_text, run_overlap

    s = summarize(run_dir, m=m, n_boot=boot)
    pool = run_overlap(run_dir, m=s.m, n_boot=boot)  # where the gain comes from: in pool / out of pool
    if as_json:
        click.echo(json.dumps({**s.to_dict(), "overlap": pool}, indent=2, default=float))
        return
    click.echo(tabulate([summary_row(s)], headers="keys", tablefmt="simple"))
    if s.fit_error:
        click.echo(f"No law fitted: {s.fit_error}")
    click.echo("\n" + overlap_text(pool))


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--boot", type=int, default=1000, show_default=True)
def report(run_dir, boot) -> None:
    """Write RUN_DIR/report.md and RUN_DIR/mae_vs_n.png."""
    from ..report import write_report

    click.echo(str(write_report(run_dir, n_boot=boot)))


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.argument("dest", type=click.Path(dir_okay=False))
def export(run_dir, dest) -> None:
    """Export the per-trial rows of RUN_DIR to DEST (.csv or .parquet)."""
    from ..sweep.store import Store

    with Store(run_dir, create=False) as store:
        click.echo(str(store.export(dest)))


# Sub-commands live in their own modules; each exposes register(cli).
for _name in ("task", "planning", "leaderboard", "samplers"):
    importlib.import_module(f".{_name}", __package__).register(cli)


def main() -> None:
    cli(prog_name="s2rbench")


if __name__ == "__main__":
    main()
