"""Planning commands: `surface`, `plan`, `equivalence`, `backtest`. Parse, call `s2rbench.planning`, print.

Each command prints a short human-readable answer, or with ``--json`` the result's ``to_dict()``
(strict JSON: NaN and inf become null; ``*_extrapolation`` and ``reachable`` fields say which).
"""

from __future__ import annotations

import json
import math
from typing import Any

import click
from tabulate import tabulate

_COMMON = [
    click.option(
        "--boot", type=int, default=1000, show_default=True, help="Bootstrap resamples over trials for the intervals."
    ),
    click.option(
        "--allow-incomplete", is_flag=True, help="Fit what is stored even if the run's protocol grid is not complete."
    ),
    click.option("--json", "as_json", is_flag=True, help="Machine-readable output."),
]


def _common(f):
    for opt in reversed(_COMMON):
        f = opt(f)
    return f


def _r2_option(f):
    return click.option(
        "--r2-min", type=float, default=0.90, show_default=True, help="R² below which a law is reported as not fitting."
    )(f)


def _emit(obj: Any) -> None:
    click.echo(json.dumps(obj.to_dict(), indent=2, allow_nan=False))


# --------------------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------------------


from ..report.format import (
    ci as _ci,
)  # one formatter for the commands and the report
from ..report.format import (
    num as _num,
)
from ..report.format import (
    pct as _pct,
)
from ..report.format import (
    r2 as _r2,
)
from ..report.format import (
    vci as _vci,
)


def _extra(ext: dict[str, Any], axis: str) -> str:
    """'' inside the measured range, else 'extrapolates 3.2× above the largest measured n (2,048)'."""
    d = ext.get("direction")
    if d is None:
        return ""
    lo, hi = ext["measured"]
    f = float(ext["factor"]) if ext.get("factor") is not None else math.inf
    fs = "∞" if math.isinf(f) else (f"{f:.3f}" if f < 1.1 else _num(f))
    if d == "above":
        return f"extrapolates {fs}× above the largest measured {axis} ({_num(hi)})"
    return f"extrapolates {fs}× below the smallest measured {axis} ({_num(lo)})"


def _extra_short(ext: dict[str, Any], axis: str) -> str:
    """'' inside the measured range, else 'n 3.2× above' (table cells)."""
    d = ext.get("direction")
    if d is None:
        return ""
    f = float(ext["factor"]) if ext.get("factor") is not None else math.inf
    fs = "∞" if math.isinf(f) else (f"{f:.3f}" if f < 1.1 else _num(f))
    return f"{axis} {fs}× {d}"


def _head(run: dict[str, Any]) -> str:
    return f"{run.get('task')} · {run.get('model')} · {run.get('featurizer')}  ({run.get('run_dir')})"


def _problems(check: Any) -> str:
    return "; ".join(check.problems)


# --------------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------------


def register(cli: click.Group) -> None:
    """Add `surface`, `plan`, `equivalence` and `backtest` to the s2rbench command group."""

    @cli.command("surface")
    @click.argument("run_dir", type=click.Path(file_okay=False))
    @_r2_option
    @_common
    def surface_cmd(run_dir, r2_min, boot, allow_incomplete, as_json) -> None:
        """The (n, m) laws of a surface run: E(n, m), E(n) at each m, the scratch curve E0(m)."""
        from ..planning import fit_surface_run

        rep = fit_surface_run(run_dir, n_boot=boot, r2_min=r2_min, allow_incomplete=allow_incomplete)
        if as_json:
            _emit(rep)
            return
        pct = round(100 * rep.ci)
        s = rep.surface
        click.echo(_head(rep.run))
        click.echo(
            f"n grid {[int(v) for v in s.n]}, m grid {[int(v) for v in s.m]}, {s.n_trials} trials; {pct}% bootstrap intervals over trials"
        )
        click.echo("")
        click.echo("E(n, m) = δ·(γ + n^−α)·m^−β, fitted to all cells at once:")
        if rep.adequate:
            click.echo(
                f"  α = {_vci(s.alpha, s.alpha_ci)}  β = {_vci(s.beta, s.beta_ci)}  γ = {_vci(s.gamma, s.gamma_ci)}  "
                f"δ = {_vci(s.delta, s.delta_ci)}  R² = {_vci(s.r2, s.r2_ci)}"
            )
        else:
            click.echo(f"  does not fit: {_problems(rep.surface_check)}")
        click.echo("")
        click.echo("E(n) = D·n^−α + C at each m:")
        rows = []
        for c in rep.per_m:
            if c.fit is None:
                rows.append({"m": _num(c.m), "law": f"no fit: {c.error}"})
            elif not c.adequate:
                rows.append({"m": _num(c.m), "law": f"does not fit: {_problems(c.check)}"})
            else:
                f = c.fit
                rows.append(
                    {
                        "m": _num(c.m),
                        "α": _vci(f.alpha, f.alpha_ci),
                        "C": _vci(f.C, f.C_ci),
                        "D": _vci(f.D, f.D_ci),
                        "R²": _r2(f.r2),
                    }
                )
        click.echo(tabulate(rows, headers="keys", tablefmt="simple"))
        click.echo(f"  {rep.alpha_vs_m['verdict']}")
        click.echo("")
        sc = rep.scratch
        click.echo("E0(m) = a·m^−b + c, trained on real data only:")
        if sc.fit is None:
            click.echo(f"  no fit: {sc.error}")
        elif not sc.adequate:
            click.echo(f"  does not fit: {_problems(sc.check)}")
        else:
            f = sc.fit
            click.echo(
                f"  a = {_vci(f.D, f.D_ci)}  b = {_vci(f.alpha, f.alpha_ci)}  c = {_vci(f.C, f.C_ci)}  R² = {_r2(f.r2)}"
            )

    @cli.command("plan")
    @click.argument("run_dir", type=click.Path(file_okay=False))
    @click.option("--target-mae", type=float, required=True, help="The MAE to reach, in the task's unit.")
    @click.option(
        "--m", "m", type=int, default=None, help="Real samples to plan at (a measured m; default: the run's m)."
    )
    @click.option(
        "--cost-sim",
        type=float,
        default=None,
        help="Cost of one simulated sample (with --cost-exp: cost planning on the surface).",
    )
    @click.option("--cost-exp", type=float, default=None, help="Cost of one real sample (experiment).")
    @click.option("--n-max", type=float, default=math.inf, help="Cost planning: the most simulations possible.")
    @click.option("--m-max", type=float, default=math.inf, help="Cost planning: the most experiments possible.")
    @click.option(
        "--law",
        type=click.Choice(["auto", "surface", "curve"]),
        default="auto",
        show_default=True,
        help="n planning: the surface law at m, the 1-D law at m, or auto (surface when it fits).",
    )
    @_r2_option
    @_common
    def plan_cmd(
        run_dir, target_mae, m, cost_sim, cost_exp, n_max, m_max, law, r2_min, boot, allow_incomplete, as_json
    ) -> None:
        """The n that reaches --target-mae at one m, or with costs the cheapest (n, m) on the fitted surface."""
        from ..planning import plan

        res = plan(
            run_dir,
            target_mae,
            m=m,
            cost_sim=cost_sim,
            cost_exp=cost_exp,
            n_max=n_max,
            m_max=m_max,
            law=law,
            n_boot=boot,
            r2_min=r2_min,
            allow_incomplete=allow_incomplete,
        )
        if as_json:
            _emit(res)
            return
        if type(res).__name__ == "NPlan":
            _print_n_plan(res)
        else:
            _print_cost_plan(res)

    @cli.command("equivalence")
    @click.argument("run_dir", type=click.Path(file_okay=False))
    @click.option("--n", "n", type=float, default=None, help="Simulated samples (default: the largest measured n).")
    @click.option(
        "--m", "m", type=float, default=None, help="Real samples, within the measured m range (default: the run's m)."
    )
    @_r2_option
    @_common
    def equivalence_cmd(run_dir, n, m, r2_min, boot, allow_incomplete, as_json) -> None:
        """What n simulations are worth in real samples at (n, m), and one more experiment in simulations."""
        from ..planning import equivalence

        e = equivalence(run_dir, n=n, m=m, n_boot=boot, r2_min=r2_min, allow_incomplete=allow_incomplete)
        if as_json:
            _emit(e)
            return
        _print_equivalence(e)

    @cli.command("backtest")
    @click.argument("run_dir", type=click.Path(file_okay=False))
    @click.option(
        "--holdout",
        type=int,
        default=None,
        help="How many of the largest n to predict (default: half the grid with 6+ sizes, else all but the 3 smallest).",
    )
    @click.option(
        "--split",
        type=float,
        default=None,
        help="Deprecated alias: the fraction of the n grid (smallest sizes) to fit on; use --holdout.",
    )
    @_common
    def backtest_cmd(run_dir, holdout, split, boot, allow_incomplete, as_json) -> None:
        """Fit the laws on the smaller sizes of the n grid, predict the held-out largest, check the intervals."""
        from ..planning import backtest_run

        b = backtest_run(run_dir, holdout=holdout, split=split, n_boot=boot, allow_incomplete=allow_incomplete)
        if split is not None:
            click.echo(
                "warning: --split is deprecated (it is not `run --split random|group`); use --holdout K", err=True
            )
        if as_json:
            _emit(b)
            return
        _print_backtest(b)


# --------------------------------------------------------------------------------------------------
# Printers
# --------------------------------------------------------------------------------------------------


def _print_n_plan(p) -> None:
    pct = round(100 * p.ci)
    unit = p.run.get("unit") or ""
    click.echo(_head(p.run))
    if p.law == "surface":
        law = "surface E(n, m) = δ·(γ + n^−α)·m^−β"
    elif p.family == "power":
        law = f"1-D law E(n) = D·n^−α + C at m={p.m}"
    else:
        law = f"1-D {p.family} law {p.law_params.get('law')} at m={p.m}, chosen by backtest"
    click.echo(f"target MAE {_num(p.target_mae, 4)} {unit} at m = {p.m}; law: {law} (R² {_r2(p.check.r2)})")
    bt = p.backtest
    if bt and bt.get("errors"):
        errs = ", ".join(
            f"{f} {_pct(e) if e is not None else '—'}{' ✓' if bt['passed'].get(f) else ''}"
            for f, e in bt["errors"].items()
        )
        click.echo(
            f"  backtest (fit n ≤ {_num(bt['n_fit'][-1])}, predict n = {', '.join(_num(v) for v in bt['n_held'])}): {errs}"
        )
    elif bt and "passed" in bt:
        click.echo(
            f"  backtest of the surface (predict the largest n): {'passed' if bt['passed'] else 'FAILED'}"
            + (f", mean |error| {_pct(bt['mean_abs_rel_error'])}" if bt.get("mean_abs_rel_error") is not None else "")
        )
    if not p.adequate:
        click.echo(f"No plan: the law does not fit: {_problems(p.check)}.")
        alt = p.alternative
        if alt and alt["check"]["adequate"]:
            click.echo(f"  the {alt['law']} law does fit: rerun with --law {alt['law']}")
        click.echo("  (--json shows the numbers anyway)")
        return
    if p.reachable:
        ext = _extra(p.n_extrapolation, "n")
        click.echo(f"n = {_vci(p.n, p.n_ci)}  ({pct}% CI){'  — ' + ext if ext else ''}")
        if p.n_ci[1] == math.inf:
            click.echo(
                f"  the upper bound is ∞: {p.frac_unreachable:.0%} of the bootstrap fits cannot reach the target"
            )
    else:
        click.echo(f"unreachable: the target is below the asymptote at m = {p.m}")
    click.echo(f"best reachable MAE at m = {p.m} (n → ∞): {_vci(p.best_mae, p.best_mae_ci, 4)} {unit}")
    click.echo(
        f"measured: MAE {_num(p.observed_mae_at_n_max, 4)} at the largest n = {_num(p.n_max_measured)}; scratch (n = 0) {_num(p.scratch_mae, 4)}"
    )
    alt = p.alternative
    if alt is not None:
        other = "1-D law at this m alone" if alt["law"] == "curve" else "surface law"
        ok = "" if alt["check"]["adequate"] else " (that law does not fit)"
        if alt["reachable"]:
            click.echo(f"  cross-check, {other}: n = {_vci(alt['n'], alt['n_ci'])}{ok}")
        else:
            click.echo(f"  cross-check, {other}: unreachable, best MAE {_num(alt['best_mae'], 4)}{ok}")
    for note in p.notes:
        click.echo(f"note: {note}")


def _print_cost_plan(p) -> None:
    pct = round(100 * p.ci)
    unit = p.run.get("unit") or ""
    click.echo(_head(p.run))
    click.echo(
        f"target MAE {_num(p.target_mae, 4)} {unit}; cost {_num(p.cost_sim)} per simulation, {_num(p.cost_exp)} per experiment; "
        f"surface E(n, m) = δ·(γ + n^−α)·m^−β (R² {_r2(p.check.r2)})"
    )
    if not p.adequate:
        click.echo(f"No plan: the surface law does not fit: {_problems(p.check)}. (--json shows the numbers anyway)")
        return
    click.echo(
        f"now: largest measured (n, m) = ({_num(p.n0)}, {_num(p.m0)}), fitted MAE {_num(p.current_mae_fit, 4)} "
        f"(observed {_num(p.current_mae_observed, 4)})"
    )
    rows = []
    for label, o in (
        ("cheapest (from zero)", p.cheapest),
        ("cheapest extension of now", p.from_current),
        ("more simulations only", p.more_sims),
        ("more experiments only", p.more_exps),
    ):
        if not o["reachable"]:
            rows.append(
                {
                    "option": label,
                    "n": "unreachable",
                    "m": "",
                    "cost": "",
                    "extra cost": "",
                    f"fitted MAE {pct}% CI": f"best {_num(o['best_mae'], 4)}",
                    "extrapolation": "",
                }
            )
            continue
        ext = ", ".join(
            x for x in (_extra_short(o["n_extrapolation"], "n"), _extra_short(o["m_extrapolation"], "m")) if x
        )
        rows.append(
            {
                "option": label,
                "n": _vci(o["n"], o.get("n_ci")),
                "m": _vci(o["m"], o.get("m_ci")),
                "cost": _vci(o["cost"], o.get("cost_ci")),
                "extra cost": _vci(o["extra_cost"], o.get("extra_cost_ci")),
                f"fitted MAE {pct}% CI": _ci(o.get("mae_ci"), 3),
                "extrapolation": ext or "none (inside)",
            }
        )
    click.echo(tabulate(rows, headers="keys", tablefmt="simple"))
    click.echo(
        f"intervals: {pct}% bootstrap over trials (each replicate re-optimised); extrapolation: factor beyond the measured "
        f"n {_num(p.run['n_grid'][0])}..{_num(p.run['n_grid'][-1])} / m {_num(p.run['m_grid'][0])}..{_num(p.run['m_grid'][-1])}; "
        "sizes are continuous, round up"
    )
    for note in p.notes:
        click.echo(f"note: {note}")


def _print_equivalence(e) -> None:
    pct = round(100 * e.ci)
    unit = e.run.get("unit") or ""
    click.echo(_head(e.run))
    where = "; ".join(x for x in (_extra(e.n_extrapolation, "n"), _extra(e.m_extrapolation, "m")) if x)
    click.echo(
        f"at n = {_num(e.n)} simulations and m = {_num(e.m)} real samples{' (' + where + ')' if where else ''}; {pct}% bootstrap intervals"
    )
    bt = getattr(e, "backtest", None)
    click.echo(
        "laws: surface E(n, m) = δ·(γ + n^−α)·m^−β and scratch E0(m) = a·m^−b + c"
        + (
            ""
            if not bt
            else f"; surface backtest (predict the largest n): {'passed' if bt['passed'] else 'FAILED'}"
            + (f", mean |error| {_pct(bt['mean_abs_rel_error'])}" if bt.get("mean_abs_rel_error") is not None else "")
        )
    )
    if not e.adequate:
        bad = [c for c in (e.surface_check, e.scratch_check) if not c.adequate]
        click.echo(
            "No answer: "
            + "; ".join(f"{c.law} does not fit: {_problems(c)}" for c in bad)
            + ". (--json shows the numbers anyway)"
        )
        return
    click.echo(
        f"  transfer MAE E(n, m) = {_vci(e.transfer_mae, e.transfer_mae_ci, 4)} {unit}   scratch MAE E0(m) = {_vci(e.scratch_mae, e.scratch_mae_ci, 4)} {unit}"
    )
    if e.reachable:
        ext = _extra(e.m_equiv_extrapolation, "m")
        click.echo(
            f"  pretraining on {_num(e.n)} simulations is worth m' = {_vci(e.m_equiv, e.m_equiv_ci)} real samples"
            + (f" — {ext}" if ext else "")
        )
        click.echo(
            f"    (training from scratch needs m' real samples to match transfer with m = {_num(e.m)}: "
            f"{_vci(e.equiv_ratio, e.equiv_ratio_ci)}× the real data, {_vci(e.sims_worth_real, e.sims_worth_real_ci)} real samples saved)"
        )
    else:
        click.echo("  m' = ∞: transfer at (n, m) is below the scratch floor c; no amount of real data alone matches it")
    if e.sims_per_experiment_reachable:
        ext = _extra(e.n_plus_dn_extrapolation, "n")
        click.echo(
            f"  one more experiment is worth Δn = {_vci(e.sims_per_experiment, e.sims_per_experiment_ci)} more simulations at this point"
            + (f" — {ext}" if ext else "")
        )
    else:
        click.echo("  one more experiment gains more than any number of simulations can at this m (Δn = ∞)")
    for note in e.notes:
        click.echo(f"note: {note}")


def _print_backtest(b) -> None:
    pct = round(100 * b.ci)
    click.echo(_head(b.run))
    click.echo(
        f"fit on n = {[int(v) for v in b.n_fit]}, predict n = {[int(v) for v in b.n_held]}; {pct}% bootstrap prediction intervals"
    )

    def table(rows: list[dict[str, Any]], with_m: bool) -> str:
        out = []
        for r in rows:
            cov = r.get("covered")
            d = {"n": _num(r["n"])}
            if with_m:
                d["m"] = _num(r["m"])
            d.update(
                {
                    "observed": _num(r["observed"], 4),
                    "predicted": _num(r["predicted"], 4),
                    f"{pct}% PI": _ci((r["pi_lo"], r["pi_hi"]), 4),
                    "error": f"{100 * r['rel_error']:+.1f}%",
                    "covered": "—" if cov is None else ("yes" if cov else "NO"),
                    "extrapolation": f"{_num(r['extrapolation'])}×",
                }
            )
            out.append(d)
        return tabulate(out, headers="keys", tablefmt="simple")

    def summary(d: dict[str, Any]) -> str:
        cov = d.get("coverage")
        covs = "—" if cov is None or (isinstance(cov, float) and math.isnan(cov)) else f"{100 * cov:.0f}%"
        return f"mean |error| {100 * d['mean_abs_rel_error']:.1f}%, max {100 * d['max_abs_rel_error']:.1f}%, intervals covered {covs}"

    for d in b.per_m:
        click.echo("")
        if "error" in d:
            click.echo(f"E(n) at m = {_num(d['m'])}: no backtest: {d['error']}")
            continue
        click.echo(f"E(n) = D·n^−α + C at m = {_num(d['m'])}: {summary(d)}")
        click.echo(table(d["table"], False))
        fam = d.get("families") or {}
        if fam.get("families"):
            errs = ", ".join(
                f"{f} {'—' if r.get('error') else _pct(r.get('mean_abs_rel_error'))}{' ✓' if r.get('passed') else ''}"
                for f, r in fam["families"].items()
            )
            chosen = fam.get("chosen")
            click.echo(
                f"  law families (pass: within {100 * fam['tol']:.0f}%): {errs} → "
                + (f"chosen: {chosen}" if chosen else "no family extrapolates")
            )
    if b.surface is not None:
        click.echo("")
        if "error" in b.surface:
            click.echo(f"surface: no backtest: {b.surface['error']}")
        else:
            click.echo(f"surface E(n, m) = δ·(γ + n^−α)·m^−β fitted on all m: {summary(b.surface)}")
            click.echo(table(b.surface["table"], True))
