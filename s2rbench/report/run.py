"""The report of a run: a markdown page, the one-line summary row, and a log-log plot of MAE versus n.

Every number goes through `s2rbench.report.format`, every "is there a law?" through
`s2rbench.analysis.lawcheck.law_verdict`: a run for which the table says "no law" gets no fitted
curve, no α in the prose line and no "transfer gap C" line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from tabulate import tabulate

from ..analysis.lawcheck import law_verdict
from ..analysis.overlap_view import pool_split
from ..analysis.summary import Summary, summarize, target_space
from ..laws.decisions import finite_rows
from ..laws.formula import curve_mae
from .axes import mae_axis, size_ticks, title
from .format import num, vci
from .format import pct as pct_fmt
from .format import r2 as fmt_r2


def fmt_ci(value: float, ci: tuple[float, float] | None, digits: int = 3) -> str:
    """Deprecated alias of `s2rbench.report.format.vci` (kept for `s2rbench.analysis.fmt_ci`)."""
    return vci(value, ci, digits)


def summary_row(s: Summary) -> dict[str, Any]:
    """The one-line result of a run, as the CLI table and the leaderboard show it."""
    f = s.fit
    unit = (s.config.get("target") or {}).get("unit", "")
    # where the law does not describe the curve its parameters mean nothing: say so instead
    # (`s2rbench fit RUN --json` still gives them)
    law = f is not None and law_verdict(f).holds
    return {
        "task": s.config.get("task"),
        "model": s.config.get("model"),
        "featurizer": s.config.get("featurizer"),
        "m": s.m,
        "alpha [90% CI]": vci(f.alpha, f.alpha_ci) if law else ("no law" if f else "—"),
        "C [90% CI]": vci(f.C, f.C_ci) if law else "—",
        "D [90% CI]": vci(f.D, f.D_ci) if law else "—",
        "R2": fmt_r2(f.r2) if f else "—",
        f"scratch MAE ({unit})": num(s.scratch_mae, 4),
        f"MAE at n={s.largest_n}": num(s.mae_at_largest_n, 4),
        "gain": pct_fmt(s.gain, 1, signed=True),
        "extrapolates (backtest)": backtest_cell(s),
    }


def fit_text(s: Summary) -> list[str]:
    """The lines `s2rbench fit` prints under its table: why there is no law, the transform, which
    family extrapolates (with its parameters), in-pool / out-of-pool MAEs where stored."""
    out: list[str] = []
    if s.fit_error:
        out.append(f"No law fitted: {s.fit_error}")
    elif s.fit is not None and not law_verdict(s.fit).holds:
        out.append(f"no law: {law_verdict(s.fit).reason}")
    space = target_space(s.config)
    if space:
        out.append(f"law fitted on {space}")
    bt = s.families
    if bt is not None:
        errs = ", ".join(
            f"{k} {'—' if 'error' in r else pct_fmt(r['mean_abs_rel_error'])}{' ✓' if r.get('passed') else ''}"
            for k, r in bt.results.items()
        )
        out.append(
            f"backtest (fit n ≤ {num(bt.n_fit[-1])}, predict n = {', '.join(num(v) for v in bt.n_held)}): {errs}"
        )
        ff = s.family_fit
        if ff is None:
            out.append("  no family extrapolates on this run")
        elif law_verdict(ff.to_dict()).holds:
            out.append(
                f"  chosen: {ff.family} {ff.formula}: "
                + ", ".join(f"{k} = {vci(ff.values[k], ff.cis[k])}" for k in ff.names)
            )
        else:
            out.append(
                f"  chosen by backtest: {ff.family}, but on every size it is no law: {law_verdict(ff.to_dict()).reason}"
            )
    pools = pool_split(s.rows, m=s.m) if s.rows is not None else None
    if pools is not None:
        out.append("in-pool / out-of-pool test rows:")
        out.append(tabulate(pools, headers="keys", tablefmt="simple"))
    return out


def backtest_cell(s: Summary) -> str:
    """'power (4.1%)': the family chosen by backtest and its mean |error| on the held-out sizes;
    'no family' when none passes; '—' when the grid is too small to hold a size out."""
    bt = s.families
    if bt is None:
        return "—"
    if bt.chosen is None:
        return "no family"
    return f"{bt.chosen} ({pct_fmt(bt.results[bt.chosen]['mean_abs_rel_error'])})"


def family_lines(summary: Summary) -> list[str]:
    """The report's section on law families: per family its backtest error; the chosen one's parameters."""
    bt = summary.families
    if bt is None:
        return []
    pct = round(100 * bt.ci)
    rows = []
    for fam, r in bt.results.items():
        if "error" in r:
            rows.append(
                {
                    "family": fam,
                    "mean abs error": "not fitted: " + r["error"],
                    "max": "",
                    f"{pct}% intervals cover": "",
                    "passed": "",
                }
            )
            continue
        cov = r["coverage"]
        rows.append(
            {
                "family": fam,
                "mean abs error": pct_fmt(r["mean_abs_rel_error"]),
                "max": pct_fmt(r["max_abs_rel_error"]),
                f"{pct}% intervals cover": "—" if cov != cov else f"{100 * cov:.0f}%",
                "passed": "yes" if r["passed"] else "no",
            }
        )
    out = [
        "## Which law extrapolates (backtest)",
        "",
        f"Each family fitted on n = {[int(v) for v in bt.n_fit]} predicts n = {[int(v) for v in bt.n_held]}; it passes when every "
        f"held-out mean lies within {100 * bt.tol:.0f}% of the prediction ({pct}% bootstrap prediction intervals shown for the noise; families: D·n^−α + C; "
        "small-data E0·(1 + n/n0)^−α, Hestness et al. 2017; broken a·n^−α1·(1 + n/nb)^(α1 − α2), Caballero et al. 2022).",
        "",
        tabulate(rows, headers="keys", tablefmt="github"),
        "",
    ]
    ff = summary.family_fit
    if ff is None:
        out += [
            "**No family extrapolates on this run**: plans built on any of these laws would not be trustworthy.",
            "",
        ]
    else:
        v = law_verdict(ff.to_dict())
        if v.holds:
            ps = ", ".join(f"{k} = {vci(ff.values[k], ff.cis[k])}" for k in ff.names)
            out += [f"Chosen: **{ff.family}**, {ff.formula} fitted on every size: {ps}.", ""]
        else:
            out += [f"Chosen by backtest: **{ff.family}**, but fitted on every size it is no law: {v.reason}.", ""]
    return out


def plot(summary: Summary, path: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    cfg = summary.config
    unit = (cfg.get("target") or {}).get("unit", "")
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    c = summary.curve
    ax.errorbar(
        c["n"],
        c["mean"],
        yerr=c["sem"] * 1.645,
        fmt="o",
        color="C0",
        capsize=3,
        label=f"transfer (mean ± 90% CI, {int(c['trials'].max())} trials)",
    )
    if summary.matrix is not None:
        for row in summary.matrix:
            ax.plot(c["n"], row, color="C0", alpha=0.08, lw=0.8)
    f = summary.fit
    verdict = law_verdict(f) if f is not None else None
    grid = np.geomspace(c["n"].min(), c["n"].max(), 200) if len(c) else None
    if f is not None and verdict.holds and grid is not None:
        ax.plot(
            grid,
            f.predict(grid),
            color="C1",
            label=f"fit: {num(f.D)}·n^(−{num(f.alpha)}) + {num(f.C)}  (R² {fmt_r2(f.r2)})",
        )
        boot = finite_rows(getattr(f, "boot", np.empty((0, 3))), 3)
        if len(boot):
            lo, hi = np.nanpercentile(curve_mae(boot, grid[None, :]), [5, 95], axis=0)
            ax.fill_between(grid, lo, hi, color="C1", alpha=0.2, label="90% bootstrap band")
        if 0.01 * float(c["mean"].min()) < f.C:  # a C at its lower bound (≈0) would only stretch the log axis
            ax.axhline(f.C, color="C1", ls=":", lw=1, label=f"transfer gap C = {num(f.C)}")
    ff = summary.family_fit if (summary.families is not None and grid is not None) else None
    if ff is not None and ff.family != "power" and law_verdict(ff.to_dict()).holds:
        ax.plot(
            grid, ff.predict(grid), color="C2", ls="--", label=f"{ff.family} law (passed its backtest): {ff.formula}"
        )
    if summary.scratch_mae is not None:
        ax.axhline(
            summary.scratch_mae, color="C3", ls="--", label=f"scratch (real data only): {num(summary.scratch_mae)}"
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    size_ticks(ax, c["n"])
    mae_axis(ax)
    ax.set_xlabel("n (simulated pretraining samples)")
    space = target_space(cfg)
    ax.set_ylabel(f"MAE on real test data ({unit})" + (f", on {space}" if space else ""))
    head = f"{cfg.get('task')} · {cfg.get('model')} · {cfg.get('featurizer')} · m={summary.m}"
    if verdict is not None and not verdict.holds:
        head += "\nno law (no fitted curve drawn): " + verdict.reasons[0]
    title(ax, head)
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def markdown(summary: Summary, plot_name: str | None = None) -> str:
    cfg = summary.config
    proto = cfg.get("protocol") or {}
    info = cfg.get("data_info") or {}
    lines = [
        f"# s2rbench report: {cfg.get('task')} · {cfg.get('model')} · {cfg.get('featurizer')}",
        "",
        tabulate([summary_row(summary)], headers="keys", tablefmt="github", disable_numparse=True),
        "",
    ]
    space = target_space(cfg)
    if space:
        lines += [f"The law is fitted on {space}: every MAE above is in the transformed space.", ""]
    f = summary.fit
    verdict = law_verdict(f) if f is not None else None
    if f is not None and verdict is not None and verdict.holds:
        pure = f.pure
        better = (
            "the offset law (with the floor C) earns its extra parameter"
            if f.better == "offset"
            else "the floor C does not earn its parameter (AIC): the pure power law describes the curve as well"
        )
        lines += [
            f"E(n) = D·n^(−α) + C fitted to the mean MAE over trials (90% intervals: bootstrap over trials). "
            f"The pure power law (C = 0) gives α = {num(pure.alpha)}, R² = {fmt_r2(pure.r2)}; {better}.",
            "",
        ]
    elif f is not None and verdict is not None:
        lines += [
            f"**No law:** {verdict.reason}. No exponent is reported (`s2rbench fit RUN --json` has the raw fit).",
            "",
        ]
    elif summary.fit_error:
        lines += [f"No law fitted: {summary.fit_error}.", ""]
    lines += family_lines(summary)
    pools = pool_split(summary.rows, m=summary.m) if summary.rows is not None else None
    if pools is not None:
        lines += [
            "## In-pool and out-of-pool test rows",
            "",
            "Test rows whose canonical input is / is not in the trial's pretraining set.",
            "",
            tabulate(pools, headers="keys", tablefmt="github"),
            "",
        ]
    if plot_name:
        lines += [f"![MAE versus n]({plot_name})", ""]
    lines += ["## MAE per pretraining size", ""]
    table = summary.curve.rename(columns={"mean": "mean MAE", "std": "std", "sem": "s.e.m."})
    lines += [tabulate(table.to_dict(orient="list"), headers="keys", tablefmt="github", floatfmt=".4g"), ""]
    lines += [
        "## Protocol and provenance",
        "",
        f"- protocol: {'quick' if proto.get('quick') else 'full'}; {proto.get('split')} split, test fraction {proto.get('test_fraction')}, "
        f"n grid {proto.get('sizes')}, {proto.get('trials')} trials, m = {proto.get('m')} real training rows (of {proto.get('m_all')})",
        f"- task card: {cfg.get('task')} v{cfg.get('card_version')} (sha256 {str(cfg.get('card_hash'))[:16]}…)",
        f"- data: {info.get('sim_rows')} simulated and {info.get('real_rows')} real rows; invalid inputs dropped: {info.get('invalid_inputs')}; "
        f"real inputs also in the simulated table: {info.get('real_inputs_in_sim')}"
        + (
            f"; {info.get('sim_rows_excluded_for_overlap')} simulated rows excluded for overlap"
            if cfg.get("exclude_overlap")
            else ""
        ),
        f"- model: {cfg.get('model')} v{cfg.get('model_version')}, hyperparameters {cfg.get('hyperparameters')}",
        f"- featurizer: {cfg.get('featurizer')} v{cfg.get('featurizer_version')}",
        f"- seed {cfg.get('seed')}; device {cfg.get('device')} ({cfg.get('device_name')})",
        f"- packages: {', '.join(f'{k} {v}' for k, v in (cfg.get('packages') or {}).items())}",
        "",
    ]
    return "\n".join(lines)


def write_report(run_dir: str | Path, *, n_boot: int = 1000) -> Path:
    """Write RUN_DIR/report.md and its figures; the run directory is read once (one `RunData`)."""
    from ..analysis.rundata import load_run
    from ..errors import S2RBenchError

    run_dir = Path(run_dir)
    try:
        data: Any = load_run(run_dir, allow_incomplete=True)
    except S2RBenchError:  # e.g. only scratch rows so far: the summary says what is missing
        data = None
    summary = summarize(data if data is not None else run_dir, n_boot=n_boot)
    png = plot(summary, run_dir / "mae_vs_n.png")
    text = markdown(summary, png.name)
    if (summary.config.get("protocol") or {}).get("surface"):
        # a surface run (several m): the (n, m) law, heat map, per-m curves, scratch and equivalence plots
        from .surface import surface_figures, surface_markdown

        figures = surface_figures(run_dir, n_boot=n_boot, data=data)
        text += "\n" + surface_markdown(run_dir, n_boot=n_boot, figures=figures, data=data)
    out = run_dir / "report.md"
    out.write_text(text)
    return out
