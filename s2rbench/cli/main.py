"""The command line: parse arguments, call the Python API, print. Nothing here computes."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable
from typing import Any

import click
from tabulate import tabulate

from ..errors import S2RBenchError
from ..limits import MAX_ROWS, MAX_SEED, MAX_TRIALS

#: bootstrap resamples: at least one; a million is already minutes of refitting
BOOT = click.IntRange(1, 1_000_000)
from ..registry import register_commands


class _Group(click.Group):
    """Every mistake a user can make ends as one ``Error:`` line and exit 1: our own errors, click's
    usage errors (missing argument, bad choice, no such option, a value of the wrong type), and the
    faults of the machine (a full disk, no permission, no memory). Anything else is a bug and keeps
    its traceback."""

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.ClickException as exc:  # the group's own options (e.g. `s2rbench --bogus`)
            click.echo(_usage_line(exc), err=True)
            raise click.exceptions.Exit(1) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.ClickException as exc:
            click.echo(_usage_line(exc), err=True)
        except S2RBenchError as exc:
            click.echo(f"Error: {exc}", err=True)
        except KeyboardInterrupt:
            click.echo(
                "Error: interrupted; every finished unit is stored, and the same command resumes from there", err=True
            )
            ctx.exit(130)
        except MemoryError:
            click.echo(
                "Error: this machine ran out of memory; use fewer --trials or smaller --sizes, or a larger machine",
                err=True,
            )
        except OSError as exc:
            where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
            click.echo(f"Error: {_os_reason(exc)}{where}; free space or fix the permissions and run again", err=True)
        ctx.exit(1)


def _usage_line(exc: click.ClickException) -> str:
    """click's message, on one line, with where to read the command's usage."""
    msg = " ".join(exc.format_message().split())
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.UsageError) and ctx is not None:
        msg = msg.rstrip(".") + f"; see `{ctx.command_path} --help`"
    return f"Error: {msg}"


def _os_reason(exc: OSError) -> str:
    from ..sweep.rundir import os_reason

    return os_reason(exc)


#: NumPy's floating-point warnings: intermediate arithmetic (a law's exponent overflowing while a
#: solver explores) that the code handles; they say nothing a user can act on
_FLOATING_POINT = r".*(overflow|underflow|invalid value|divide by zero) encountered"


def _warning_line(message, category, filename, lineno, file=None, line=None):
    click.echo(f"Warning: {message}", err=True)


def _int_list(value: str | None, option: str = "--sizes") -> list[int] | None:
    from ..limits import parse_int_list

    return parse_int_list(value, option)


#: a --param value longer than this is refused (a hyperparameter is a number, a word or a short list)
MAX_PARAM_CHARS = 10_000


def parse_params(pairs: Iterable[str]) -> dict[str, Any]:
    """``name=value`` pairs as model hyperparameters; values are JSON where they parse, else strings."""
    out: dict[str, Any] = {}
    for p in pairs:
        if "=" not in p:
            raise S2RBenchError(f"--param {p!r} must look like name=value")
        k, v = p.split("=", 1)
        k = k.strip()
        if not k:
            raise S2RBenchError(f"--param {p!r} has no name; write name=value")
        if len(v) > MAX_PARAM_CHARS:
            raise S2RBenchError(
                f"--param {k}= is {len(v):,} characters long; a hyperparameter value is at most {MAX_PARAM_CHARS:,}"
            )
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
        except RecursionError:
            raise S2RBenchError(f"--param {k}= is nested too deeply; pass a number, a word or a flat list") from None
    return out


@click.group(cls=_Group)
@click.version_option(package_name="s2rbench")
def cli() -> None:
    """s2rbench: scaling laws of Sim2Real transfer learning in materials science."""
    warnings.showwarning = _warning_line
    warnings.filterwarnings("ignore", message=_FLOATING_POINT, category=RuntimeWarning)


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
    """Installed plugins: versions, the hooks each implements, what each provides, and any problems."""
    from ..catalog import plugin_table

    rows, problems = plugin_table()
    if as_json:
        click.echo(json.dumps({"plugins": rows, "problems": problems}, indent=2))
        return
    shown = [
        {
            "name": r["name"],
            "distribution": f"{r['distribution']} {r['version']}",
            "module": r["module"],
            "hooks": ", ".join(h.removeprefix("register_") for h in r["hooks"]) or "(none)",
            "provides": "; ".join(f"{k}: {', '.join(v)}" for k, v in r["provides"].items()),
        }
        for r in rows
    ]
    click.echo(tabulate(shown, headers="keys"))
    for p in problems:
        click.echo(f"Problem: {p}", err=True)


@cli.command()
@click.argument("task")
@click.option("--model", default="mlp", show_default=True)
@click.option("--featurizer", default=None, help="Default: the task card's.")
@click.option("--quick", is_flag=True, help="The card's quick grid and few trials (minutes).")
@click.option("--sizes", default=None, help="Comma-separated n grid, overriding the card's.")
@click.option(
    "--trials", type=click.IntRange(1, MAX_TRIALS), default=None, help="Trials per cell (default: the card's)."
)
@click.option("--seed", type=click.IntRange(0, MAX_SEED), default=None)
@click.option(
    "--m",
    "m",
    type=click.IntRange(1, MAX_ROWS),
    default=None,
    help="Real training rows used for fine-tuning (default: the card's).",
)
@click.option("--surface", is_flag=True, help="Sweep the card's (n, m) grid: every n at every m of its m_grid.")
@click.option("--m-grid", default=None, help="Comma-separated m grid for --surface, overriding the card's.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Run directory (resumed if it exists, with the same settings).",
)
@click.option(
    "--extend",
    is_flag=True,
    help="Grow an existing run directory by the given sizes, trials or m values (recorded in its history).",
)
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Local mirror of the data files.")
@click.option("--exclude-overlap", is_flag=True, help="Drop simulated rows whose input also occurs in the real table.")
@click.option(
    "--sampler",
    default="random",
    show_default=True,
    help="Which simulated rows pretrain first (see `s2rbench list samplers`).",
)
@click.option(
    "--split", type=click.Choice(["random", "group"]), default=None, help="Real train/test split (default: the card's)."
)
@click.option("--param", "params", multiple=True, help="Model hyperparameter override, name=value (repeatable).")
@click.option(
    "--executor",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="Where units of work run.",
)
@click.option("--address", default=None, help="Ray cluster address to join (default: start a local one).")
@click.option(
    "--workers",
    type=click.IntRange(1, 100_000),
    default=None,
    help="Ray: concurrent units (default: the cluster's CPUs).",
)
@click.option(
    "--gpus-per-unit",
    type=click.FloatRange(0.0, 64.0),
    default=0.0,
    show_default=True,
    help="Ray: GPUs reserved per unit.",
)
@click.option("--boot", type=BOOT, default=1000, show_default=True, help="Bootstrap resamples for the intervals.")
@click.option("--no-progress", is_flag=True)
@click.option(
    "--no-cache",
    is_flag=True,
    help="Featurize again instead of reusing cached features (e.g. after changing a featurizer's code).",
)
def run(
    task,
    model,
    featurizer,
    quick,
    sizes,
    trials,
    seed,
    m,
    surface,
    m_grid,
    device,
    out,
    extend,
    data_dir,
    exclude_overlap,
    sampler,
    split,
    params,
    executor,
    address,
    workers,
    gpus_per_unit,
    boot,
    no_progress,
    no_cache,
) -> None:
    """Run (or resume) the standardized sweep of TASK and print the fitted law."""
    from ..analysis import summarize
    from ..report import summary_row, write_report
    from ..sweep import run as run_sweep
    from ..sweep.executors import make_executor

    sizes_list, m_list, model_params = _int_list(sizes), _int_list(m_grid, "--m-grid"), parse_params(params)
    ex = make_executor(executor, address=address, workers=workers, gpus_per_unit=gpus_per_unit)
    try:
        res = run_sweep(
            task,
            model,
            featurizer,
            quick=quick,
            sizes=sizes_list,
            trials=trials,
            seed=seed,
            m=m,
            surface=surface,
            m_grid=m_list,
            device=device,
            out=out,
            data_dir=data_dir,
            exclude_overlap=exclude_overlap,
            sampler=sampler,
            split=split,
            model_params=model_params,
            progress=not no_progress,
            fit=False,
            executor=ex,
            extend=extend,
            use_cache=not no_cache,
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
    if surface or m_grid:
        click.echo(f"this table is the law at m = {summary.m} only; the (n, m) laws: s2rbench surface {res.run_dir}")


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--m", "m", type=click.IntRange(1, MAX_ROWS), default=None)
@click.option("--boot", type=BOOT, default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def fit(run_dir, m, boot, as_json) -> None:
    """Refit the scaling law from the raw per-trial rows of RUN_DIR."""
    from ..analysis import summarize
    from ..report import summary_row
    from ..report.run import fit_text

    s = summarize(run_dir, m=m, n_boot=boot)
    if as_json:
        import pandas as pd

        from ..laws import jsonable
        from ..overlap import overlap_summary

        # where the gain comes from: in pool / out of pool, from the rows the summary already read
        pool = overlap_summary(s.rows if s.rows is not None else pd.DataFrame(), m=s.m, n_boot=boot)
        click.echo(json.dumps(jsonable({**s.to_dict(), "overlap": pool}), indent=2, allow_nan=False))
        return
    click.echo(tabulate([summary_row(s)], headers="keys", tablefmt="simple", disable_numparse=True))
    for line in fit_text(s):
        click.echo(line)


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--boot", type=BOOT, default=1000, show_default=True)
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


# Every other command comes through the `register_commands` hook: the core's families
# (s2rbench/cli/families.py, by entry point) and any third-party package's.
register_commands(cli)


def main() -> None:
    cli(prog_name="s2rbench")


if __name__ == "__main__":
    main()
