"""The report of a run: a markdown page and a log-log plot of MAE versus n with the fitted law."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tabulate import tabulate

from .analysis import Summary, summarize, summary_row
from .overlap import overlap_markdown


def plot(summary: Summary, path: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    cfg = summary.config
    unit = (cfg.get("target") or {}).get("unit", "")
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    c = summary.curve
    ax.errorbar(c["n"], c["mean"], yerr=c["sem"] * 1.645, fmt="o", color="C0", capsize=3, label=f"transfer (mean ± 90% CI, {int(c['trials'].max())} trials)")
    if summary.matrix is not None:
        for row in summary.matrix:
            ax.plot(c["n"], row, color="C0", alpha=0.08, lw=0.8)
    f = summary.fit
    if f is not None:
        grid = np.geomspace(c["n"].min(), c["n"].max(), 200)
        ax.plot(grid, f.predict(grid), color="C1", label=f"fit: {f.D:.3g}·n^(−{f.alpha:.3g}) + {f.C:.3g}  (R²={f.r2:.2f})")
        boot = getattr(f, "boot", None)
        if boot is not None and len(boot):
            curves = boot[:, 2][:, None] * grid[None, :] ** (-boot[:, 0][:, None]) + boot[:, 1][:, None]
            lo, hi = np.nanpercentile(curves, [5, 95], axis=0)
            ax.fill_between(grid, lo, hi, color="C1", alpha=0.2, label="90% bootstrap band")
        if f.C > 0.01 * float(c["mean"].min()):  # a C at its lower bound (≈0) would only stretch the log axis
            ax.axhline(f.C, color="C1", ls=":", lw=1, label=f"transfer gap C = {f.C:.3g}")
    if summary.scratch_mae is not None:
        ax.axhline(summary.scratch_mae, color="C3", ls="--", label=f"scratch (real data only): {summary.scratch_mae:.3g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("n (simulated pretraining samples)")
    ax.set_ylabel(f"MAE on real test data ({unit})")
    ax.set_title(f"{cfg.get('task')} · {cfg.get('model')} · {cfg.get('featurizer')} · m={summary.m}")
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
        tabulate([summary_row(summary)], headers="keys", tablefmt="github"),
        "",
    ]
    f = summary.fit
    if f is not None:
        pure = f.pure
        lines += [
            f"E(n) = D·n^(−α) + C fitted to the mean MAE over trials (90% intervals: bootstrap over trials). "
            f"The pure power law (C = 0) gives α = {pure.alpha:.3g}, R² = {pure.r2:.3f}; the better description is the **{f.better}** law.",
            "",
        ]
    elif summary.fit_error:
        lines += [f"No law fitted: {summary.fit_error}.", ""]
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
        + (f"; {info.get('sim_rows_excluded_for_overlap')} simulated rows excluded for overlap" if cfg.get("exclude_overlap") else ""),
        f"- model: {cfg.get('model')} v{cfg.get('model_version')}, hyperparameters {cfg.get('hyperparameters')}",
        f"- featurizer: {cfg.get('featurizer')} v{cfg.get('featurizer_version')}",
        f"- seed {cfg.get('seed')}; device {cfg.get('device')} ({cfg.get('device_name')})",
        f"- packages: {', '.join(f'{k} {v}' for k, v in (cfg.get('packages') or {}).items())}",
        "",
    ]
    return "\n".join(lines)


def write_report(run_dir: str | Path, *, n_boot: int = 1000) -> Path:
    run_dir = Path(run_dir)
    summary = summarize(run_dir, n_boot=n_boot)
    png = plot(summary, run_dir / "mae_vs_n.png")
    text = markdown(summary, png.name)
    text += overlap_markdown(run_dir, m=summary.m, n_boot=n_boot)  # in pool / out of pool (s2rbench.overlap)
    if (summary.config.get("protocol") or {}).get("surface"):
        # a surface run (several m): the (n, m) law, heat map, per-m curves, scratch and equivalence plots
        from .report_surface import surface_figures, surface_markdown

        figures = surface_figures(run_dir, n_boot=n_boot)
        text += "\n" + surface_markdown(run_dir, n_boot=n_boot, figures=figures)
    out = run_dir / "report.md"
    out.write_text(text)
    return out
