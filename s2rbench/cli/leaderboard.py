"""`s2rbench submit` and `s2rbench leaderboard build|check`: the leaderboard by pull request."""

from __future__ import annotations

import click

_ROOT_HELP = "Leaderboard directory (default: ./leaderboard, the repository's, when run from its root)."


def _print_problems(exc) -> None:
    for line in getattr(exc, "problems", []):
        click.echo(line, err=True)


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--name", required=True, help="Display name of the entry (also the start of its id).")
@click.option("--author", default=None)
@click.option("--url", default=None, help="Code, paper or model card (http/https).")
@click.option("--description", default=None)
@click.option("--root", type=click.Path(file_okay=False), default=None, help=_ROOT_HELP)
def submit(run_dir, name, author, url, description, root) -> None:
    """Write RUN_DIR's results as a leaderboard submission: ROOT/submissions/<task>/<id>.json."""
    from ..leaderboard import Entry, _plot, resolve_root
    from ..submission import from_run, submission_path, write_submission

    root = resolve_root(root)
    sub = from_run(run_dir, name=name, author=author, url=url, description=description)
    existed = submission_path(root, sub).exists()
    path = write_submission(sub, root)
    entry = Entry(rel=path.relative_to(root), sub=sub)
    _plot(entry, root / entry.plot_rel)
    f = sub["fit"]
    click.echo(f"{'replaced' if existed else 'wrote'} {path}")
    click.echo(
        f"{sub['task']['name']} · {sub['model']['name']} · {sub['featurizer']['name']} · "
        f"{'quick' if sub['protocol']['quick'] else 'full'}: alpha={f['alpha']:.3g}, C={f['C']:.3g}, D={f['D']:.3g}, "
        f"MAE at n={sub['summary']['largest_n']}: {sub['summary']['mae_at_largest_n']:.4g}"
    )
    click.echo(f"next: s2rbench leaderboard build{'' if root.as_posix() == 'leaderboard' else f' --root {root}'} && s2rbench leaderboard check, then open a pull request")


@click.group("leaderboard")
def leaderboard_group() -> None:
    """Build and check the leaderboard page from the submission files."""


@leaderboard_group.command("build")
@click.option("--root", type=click.Path(file_okay=False), default=None, help=_ROOT_HELP)
@click.option("--replot", is_flag=True, help="Rewrite every plot, not only the missing ones.")
def build_cmd(root, replot) -> None:
    """Regenerate ROOT/README.md (and the plots) from ROOT/submissions."""
    from ..leaderboard import LeaderboardError, build

    try:
        res = build(root, replot=replot)
    except LeaderboardError as exc:
        _print_problems(exc)
        raise
    click.echo(
        f"wrote {res.readme}: {res.entries} entr{'y' if res.entries == 1 else 'ies'} for {res.tasks} task(s); "
        f"plots written: {len(res.plots_written)}, removed: {len(res.plots_removed)}"
    )


@leaderboard_group.command("check")
@click.option("--root", type=click.Path(file_okay=False), default=None, help=_ROOT_HELP)
def check_cmd(root) -> None:
    """Validate every submission, recompute every fit from its raw trials, and fail on a stale page."""
    from ..leaderboard import LeaderboardError, check, resolve_root

    root = resolve_root(root)
    try:
        n = check(root)
    except LeaderboardError as exc:
        _print_problems(exc)
        raise
    click.echo(f"leaderboard OK: {n} submission(s) in {root}")


def register(cli: click.Group) -> None:
    cli.add_command(submit)
    cli.add_command(leaderboard_group)
