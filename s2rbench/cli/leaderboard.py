"""`s2rbench submit` and `s2rbench leaderboard build|check`: the leaderboard by pull request."""

from __future__ import annotations

from pathlib import Path

import click

_ROOT_HELP = "Leaderboard directory (default: ./leaderboard, the repository's, when run from its root)."


def _print_problems(exc) -> None:
    for line in getattr(exc, "problems", []):
        click.echo(line, err=True)


def summary_line(sub: dict) -> str:
    """One line: task, model, featurizer, protocol; the law only where `law_verdict` says there is one."""
    from ..lawcheck import law_verdict

    f = sub["fit"]
    verdict = law_verdict(f)
    law = f"alpha={f['alpha']:.3g}, C={f['C']:.3g}, D={f['D']:.3g}" if verdict.holds else f"no law ({verdict.reason})"
    return (
        f"{sub['task']['name']} · {sub['model']['name']} · {sub['featurizer']['name']} · "
        f"{'quick' if sub['protocol']['quick'] else 'full'}: {law}, "
        f"MAE at n={sub['summary']['largest_n']}: {sub['summary']['mae_at_largest_n']:.4g}"
    )


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
    click.echo(f"{'replaced' if existed else 'wrote'} {path}")
    click.echo(summary_line(sub))
    click.echo(
        f"next: s2rbench leaderboard reproduce {path} --root {root} --record && s2rbench leaderboard build --root {root} "
        f"&& s2rbench leaderboard check --root {root}, then open a pull request"
    )


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


@leaderboard_group.command("reproduce")
@click.argument("entries", nargs=-1)
@click.option("--root", type=click.Path(file_okay=False), default=None, help=_ROOT_HELP)
@click.option(
    "--record", is_flag=True, help="Write ROOT/reproductions/<task>/<id>.json for each entry that reproduces."
)
def reproduce_cmd(entries, root, record) -> None:
    """Re-run the smallest and largest n of one trial block of each ENTRY and compare the predictions.

    ENTRY is a submission file or an id; none: every entry that carries predictions.
    """
    from ..errors import S2RBenchError
    from ..leaderboard import LeaderboardError, resolve_root
    from ..leaderboard.reproduce import reproduce, write_record
    from ..leaderboard.select import select_entries

    root = resolve_root(root)
    problems: list[str] = []
    chosen, problems = select_entries(root, entries)
    done = 0
    for where, sub, card in chosen:
        if sub["results"].get("predictions") is None:
            click.echo(f"{where}: skipped (not rescored: made before entries carried predictions)")
            continue
        rep = reproduce(sub, card)
        if rep.reproduced:
            done += 1
            extra = ""
            if record:
                extra = f"; recorded in {write_record(root, sub, rep)}"
            click.echo(
                f"{where}: reproduced ({rep.describe()}; worst mean |Δprediction| {rep.worst_pred_rel:.2%} of the MAE, "
                f"worst |ΔMAE| {rep.worst_mae_rel:.2%}; {rep.seconds:.0f} s){extra}"
            )
        else:
            problems += [f"{where}: not reproduced: {p}" for p in rep.problems]
    if problems:
        exc = LeaderboardError(problems, root, what="reproduce")
        _print_problems(exc)
        raise exc
    if not chosen:
        raise S2RBenchError(f"no entry to reproduce in {root}; name submission files or ids")
    click.echo(f"reproduce OK: {done} entr{'y' if done == 1 else 'ies'} reproduced")


@leaderboard_group.command("requirements")
@click.argument("entries", nargs=-1, required=True)
@click.option("--root", type=click.Path(file_okay=False), default=None, help=_ROOT_HELP)
def requirements_cmd(entries, root) -> None:
    """Print `name==version` of each plugin distribution the ENTRY files name (for `pip install -r`)."""
    from ..leaderboard import LeaderboardError, resolve_root
    from ..leaderboard import submission as S
    from ..leaderboard.select import plugin_requirements

    root = resolve_root(root)
    lines, problems = [], []
    for name in entries:
        sub, err = S.load_json(Path(name))
        if err:
            problems.append(f"{name}: {err}")
            continue
        reqs, found = plugin_requirements(sub)
        problems += [f"{name}: {p}" for p in found]
        lines += [r for r in reqs if r not in lines]
    if problems:
        exc = LeaderboardError(problems, root, what="requirements")
        _print_problems(exc)
        raise exc
    for line in lines:
        click.echo(line)


def register(cli: click.Group) -> None:
    cli.add_command(submit)
    cli.add_command(leaderboard_group)
