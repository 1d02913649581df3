"""The (n, m) part of a run's report: four figures and a markdown section, for runs with several m.

`surface_figures(run_dir)` writes the PNGs into the run directory and returns their paths;
`surface_markdown(run_dir)` returns a markdown section (laws with intervals, or why a law does not
fit; whether alpha depends on m; the scratch curve; what simulations are worth; the backtest) that
links those PNGs by file name, so it belongs in a page written into the run directory. Both accept
an incomplete run and say so; when no surface can be fitted yet (one m so far, too few cells) the
markdown says why and `surface_figures` returns [] with a warning, so a report never fails on it. Fits are cached on the
run's `RunData`, so calling both with the same data costs one set of fits.
"""

from __future__ import annotations

import math
import textwrap
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from tabulate import tabulate

from ..analysis.backtest import backtest_run
from ..analysis.equivalence import _equivalence, equivalence_curve
from ..analysis.lawcheck import R2_MIN
from ..analysis.rundata import RunData, _sem, load_run
from ..analysis.runlaws import surface_report
from ..errors import S2RBenchError
from ..laws.decisions import finite_rows
from ..laws.formula import curve_mae
from .axes import mae_axis, size_ticks, title
from .format import num as format_number
from .format import pct
from .format import r2 as fmt_r2
from .format import vci as _vci

FIGURES = {
    "heatmap": "surface_heatmap.png",
    "curves": "surface_curves.png",
    "scratch": "surface_scratch.png",
    "equivalence": "surface_equivalence.png",
}


def _fits(run_dir: Path, n_boot: int, data: RunData | None = None) -> tuple[Any, Any, Any, Any]:
    """(RunData, SurfaceReport or error str, EquivalenceResult or error str, BacktestResult or error str).

    Computed once per `RunData` (cached on it): the report passes its run data to both the figures
    and the markdown, so the store is opened once and each law fitted once.
    """
    if data is None:
        data = load_run(run_dir, allow_incomplete=True)

    def make() -> tuple[Any, Any, Any, Any]:
        with np.errstate(all="ignore"):  # replicates that blow up are dropped by the fits; their warnings are noise
            return _compute_fits(data, n_boot)

    return data.cached(("report-surface", n_boot), make)


def _compute_fits(data: RunData, n_boot: int) -> tuple[Any, Any, Any, Any]:
    try:
        rep = surface_report(data, n_boot=n_boot, ci=0.90, seed=0, r2_min=R2_MIN)
    except S2RBenchError as exc:  # too few cells or one m so far: the report says so instead of failing
        return (data, str(exc), None, None)
    try:
        eq: Any = _equivalence(rep, data, float(data.n.max()), float(data.m_default), rep.ci)
    except S2RBenchError as exc:
        eq = str(exc)
    try:
        bt: Any = backtest_run(data, n_boot=n_boot, allow_incomplete=True)
    except S2RBenchError as exc:
        bt = str(exc)
    return (data, rep, eq, bt)


def backtest_split(k: int) -> float:
    """The fraction of a k-size n grid a report fits its backtest on: half when that leaves the law
    its 3 points (k >= 6), else the 3 smallest sizes (a quick grid of 4 sizes predicts its largest)."""
    return 0.5 if k >= 6 else (3 / k if k >= 4 else 0.5)


def _edges(v: np.ndarray) -> np.ndarray:
    """Cell edges on a log axis: geometric midpoints, and half a step beyond the ends."""
    lv = np.log(v)
    if len(v) == 1:
        return np.exp([lv[0] - 0.5, lv[0] + 0.5])
    mid = (lv[1:] + lv[:-1]) / 2
    return np.exp(np.concatenate([[lv[0] - (mid[0] - lv[0])], mid, [lv[-1] + (lv[-1] - mid[-1])]]))


def _grid_ticks(ax: Any, n: np.ndarray, m: np.ndarray | None = None) -> None:
    """Ticks at the measured sizes, compact labels (`s2rbench.report.axes.size_ticks`)."""
    size_ticks(ax, n, "x")
    if m is not None:
        size_ticks(ax, m, "y")


def surface_figures(run_dir: str | Path, *, n_boot: int = 1000, data: RunData | None = None) -> list[Path]:
    """Write the heat map, per-m curves, scratch curve and equivalence PNGs into RUN_DIR; return their paths.

    One policy with the tables (`law_verdict` through the laws' checks): a law that does not hold is
    not drawn (no surface contours or curves, no per-m or scratch fit), and the equivalence figure
    shows only what `s2rbench equivalence` would print; otherwise it says why in its panel.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run_dir = Path(run_dir)
    data, rep, eq, _ = _fits(run_dir, n_boot, data)
    if isinstance(rep, str):
        warnings.warn(f"no surface figures for {run_dir}: {rep}", UserWarning, stacklevel=2)
        return []
    s = rep.surface
    unit = data.unit
    head = f"{data.config.get('task')} · {data.config.get('model')} · {data.config.get('featurizer')}"
    law = rep.adequate
    fit_note = "" if law else "; no surface law (not drawn): " + rep.surface_check.problems[0]
    cmap = plt.get_cmap("viridis")
    colors = [cmap(i / max(len(data.m) - 1, 1) * 0.9) for i in range(len(data.m))]
    out: list[Path] = []

    def save(fig: Any, key: str) -> None:
        fig.tight_layout()
        p = run_dir / FIGURES[key]
        fig.savefig(p)
        plt.close(fig)
        out.append(p)

    # 1. Heat map of measured means, with iso-MAE contours of the fitted surface where it is a law.
    fig, ax = plt.subplots(figsize=(6.6, 4.8), dpi=120)
    ne, me = _edges(data.n), _edges(data.m)
    mesh = ax.pcolormesh(ne, me, s.mean_mae.T, cmap="viridis_r", shading="flat")
    fig.colorbar(mesh, ax=ax, label=f"mean MAE, measured ({unit})")
    finite = s.mean_mae[np.isfinite(s.mean_mae)]
    if law and finite.size:
        gn = np.geomspace(ne[0], ne[-1], 200)
        gm = np.geomspace(me[0], me[-1], 200)
        Z = s.predict(gn[None, :], gm[:, None])
        levels = np.unique(np.round(np.geomspace(finite.min(), finite.max(), 7), 6))
        if len(levels) > 1:
            cs = ax.contour(gn, gm, Z, levels=levels, colors="white", linewidths=1.0)
            ax.clabel(cs, fmt=lambda v: format_number(v), fontsize=7)
    for i, n in enumerate(data.n):
        for j, m in enumerate(data.m):
            v = s.mean_mae[i, j]
            if np.isfinite(v):
                ax.text(
                    n,
                    m,
                    format_number(v),
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="black",
                    bbox={"boxstyle": "round,pad=0.1", "fc": "white", "alpha": 0.6, "lw": 0},
                )
    ax.set_xscale("log")
    ax.set_yscale("log")
    _grid_ticks(ax, data.n, data.m)
    ax.set_xlabel("n (simulated pretraining samples)")
    ax.set_ylabel("m (real fine-tuning samples)")
    title(ax, f"{head}\nMAE over (n, m)" + ("; white: iso-MAE of the fitted surface" if law else fit_note), width=70)
    save(fig, "heatmap")

    # 2. Per-m curves with the fitted surface (solid) and the per-m 1-D fits (dashed), each only where it is a law.
    fig, ax = plt.subplots(figsize=(6.6, 4.6), dpi=120)
    sem = _sem(data.transfer)
    grid = np.geomspace(data.n.min(), data.n.max(), 200)
    any_curve = False
    for j, m in enumerate(data.m):
        c = colors[j]
        ax.errorbar(
            data.n,
            s.mean_mae[:, j],
            yerr=1.645 * np.nan_to_num(sem[:, j]),
            fmt="o",
            color=c,
            capsize=2,
            ms=4,
            label=f"m = {m:g}",
        )
        if law:
            ax.plot(grid, s.predict(grid, m), color=c, lw=1.5)
        cr = rep.per_m[j]
        if cr.fit is not None and cr.adequate:
            ax.plot(grid, cr.fit.predict(grid), color=c, lw=1, ls="--", alpha=0.7)
            any_curve = True
        scr = np.nanmean(data.scratch[:, j]) if np.isfinite(data.scratch[:, j]).any() else np.nan
        if np.isfinite(scr):
            ax.axhline(scr, color=c, ls=":", lw=1)
    if law:
        ax.plot([], [], color="gray", lw=1.5, label=f"surface fit (R² {fmt_r2(s.r2)})")
    if any_curve:
        ax.plot([], [], color="gray", lw=1, ls="--", label="per-m fit D·n^−α + C (where it is a law)")
    ax.plot([], [], color="gray", lw=1, ls=":", label="scratch (n = 0)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    _grid_ticks(ax, data.n)
    mae_axis(ax)
    ax.set_xlabel("n (simulated pretraining samples)")
    ax.set_ylabel(f"MAE on real test data ({unit})")
    title(ax, f"{head}\nMAE versus n at each m (±90% CI of the mean){fit_note}", width=70)
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)
    save(fig, "curves")

    # 3. The scratch curve E0(m) (drawn only where it is a law), with transfer at the largest n.
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    smean = np.nanmean(data.scratch, axis=0)
    ssem = _sem(data.scratch)
    ax.errorbar(
        data.m,
        smean,
        yerr=1.645 * np.nan_to_num(ssem),
        fmt="s",
        color="C3",
        capsize=3,
        label="scratch (real data only)",
    )
    gm = np.geomspace(data.m.min(), data.m.max(), 200)
    sc = rep.scratch.fit
    sc_law = sc is not None and rep.scratch.adequate
    if sc_law:
        ax.plot(
            gm,
            sc.predict(gm),
            color="C3",
            label=f"E0(m) = {format_number(sc.D)}·m^−{format_number(sc.alpha)} + {format_number(sc.C)}",
        )
        b = finite_rows(sc.boot, 3)
        if len(b):
            lo, hi = np.nanpercentile(curve_mae(b, gm[None, :]), [5, 95], axis=0)
            ax.fill_between(gm, lo, hi, color="C3", alpha=0.15, label="90% bootstrap band")
    ax.plot(data.m, s.mean_mae[-1, :], "o", color="C0", label=f"transfer at n = {format_number(data.n.max())}")
    if law:
        ax.plot(gm, s.predict(data.n.max(), gm), color="C0", lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    _grid_ticks(ax, data.m)
    mae_axis(ax)
    ax.set_xlabel("m (real training samples)")
    ax.set_ylabel(f"MAE on real test data ({unit})")
    sc_note = (
        ""
        if sc_law
        else (
            "; no scratch law (not drawn): "
            + (rep.scratch.check.problems[0] if rep.scratch.check else str(rep.scratch.error))
        )
    )
    title(ax, f"{head}\nscratch learning curve E0(m){sc_note}", width=70)
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)
    save(fig, "scratch")

    # 4. Equivalence m'(n) at each m, only where `s2rbench equivalence` would answer.
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    answer = not isinstance(eq, str) and eq is not None and eq.adequate
    if answer and sc is not None:
        gn = np.geomspace(data.n.min(), data.n.max() * 10, 200)
        for j, m in enumerate(data.m):
            mq = equivalence_curve(s, sc, gn, float(m))
            mq = np.where(np.isfinite(mq), mq, np.nan)
            ax.plot(gn, mq, color=colors[j], label=f"m = {m:g}")
            ax.axhline(m, color=colors[j], ls=":", lw=1)
        if math.isfinite(eq.m_equiv):
            lo, hi = eq.m_equiv_ci
            yerr = [[eq.m_equiv - lo], [hi - eq.m_equiv]] if math.isfinite(lo) and math.isfinite(hi) else None
            ax.errorbar(
                [eq.n],
                [eq.m_equiv],
                yerr=yerr,
                fmt="o",
                color="k",
                capsize=3,
                label=f"m' at (n={format_number(eq.n)}, m={format_number(eq.m)})" + (", 90% CI" if yerr else ""),
            )
        ax.axvspan(data.n.max(), gn[-1], color="gray", alpha=0.12, label="n beyond the measured range")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.axhspan(data.m.max(), ax.get_ylim()[1], color="orange", alpha=0.08, label="m' beyond the measured m")
        ax.set_xlabel("n (simulated pretraining samples)")
        ax.set_ylabel("m' (real samples scratch needs to match)")
        ax.legend(fontsize=7)
        ax.grid(True, which="both", alpha=0.3)
        title(ax, f"{head}\nwhat pretraining is worth: E0(m') = E(n, m); dotted: m' = m (break-even)", width=70)
    else:
        if isinstance(eq, str) or eq is None:
            why = str(eq or rep.scratch.error or "no scratch curve")
        else:
            bad = [c for c in (eq.surface_check, eq.scratch_check) if not c.adequate]
            why = "; ".join(f"{c.law}: {c.problems[0]}" for c in bad)
        ax.set_axis_off()
        ax.text(
            0.5,
            0.5,
            "\n".join(textwrap.wrap("No exchange rate: " + why, 60)),
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=9,
        )
        title(ax, f"{head}\nwhat pretraining is worth (not available, as in `s2rbench equivalence`)", width=70)
    save(fig, "equivalence")
    return out


_n = format_number


def gain_by_m(data: Any, *, n_boot: int = 1000, seed: int = 0) -> list[dict[str, str]]:
    """Per measured m: scratch MAE, transfer MAE at the largest n, the gain with a 90% bootstrap
    interval over trials, and the trials transfer wins. This is the evidence for a card's default m:
    the gain shrinks as real data grow, and the benchmark measures the regime where it does not vanish."""
    rows = []
    rng = np.random.default_rng(seed)
    for j, m in enumerate(data.m):
        t = data.transfer[:, -1, j]
        s0 = data.scratch[:, j]
        ok = np.isfinite(t) & np.isfinite(s0)
        t, s0 = t[ok], s0[ok]
        if not t.size:
            continue
        gain = 1.0 - t.mean() / s0.mean()
        idx = rng.integers(0, t.size, size=(n_boot, t.size))
        boot = 1.0 - t[idx].mean(1) / s0[idx].mean(1)
        lo, hi = np.quantile(boot, [0.05, 0.95])
        rows.append(
            {
                "m": format_number(m),
                "scratch MAE": format_number(s0.mean(), 4),
                f"MAE at n={format_number(data.n[-1])}": format_number(t.mean(), 4),
                "gain [90% CI]": f"{pct(gain, 1, True)} [{pct(lo, 1, True)}, {pct(hi, 1, True)}]",
                "wins": f"{int((t < s0).sum())}/{t.size}",
            }
        )
    return rows


def surface_markdown(
    run_dir: str | Path, *, n_boot: int = 1000, figures: list[Path] | None = None, data: RunData | None = None
) -> str:
    """A markdown section on the (n, m) surface of RUN_DIR; links the figures of `surface_figures` that exist."""
    run_dir = Path(run_dir)
    data, rep, eq, bt = _fits(run_dir, n_boot, data)
    L: list[str] = ["## The (n, m) surface", ""]
    if data.missing:
        L += [
            f"**Incomplete run:** {data.missing} of {data.expected} (n, m, trial) cells are missing; `s2rbench run` resumes it. The fits below use what is stored.",
            "",
        ]
    if len(data.m) and len(data.n):
        L += [
            "### Transfer gain over scratch at each m",
            "",
            tabulate(gain_by_m(data), headers="keys", tablefmt="github"),
            "",
            "Gain = 1 − MAE(transfer at the largest n) / MAE(scratch), paired by trial (both use the trial's "
            "real split and m rows); 90% bootstrap interval over trials. Wins: trials in which transfer beats scratch.",
            "",
        ]
    if isinstance(rep, str):
        return "\n".join([*L, f"No surface fit: {rep}", ""])
    s = rep.surface
    pct = round(100 * rep.ci)
    L += [
        f"n grid {[int(v) for v in data.n]}, m grid {[int(v) for v in data.m]}, {len(data.trials)} trials. "
        f"Intervals: {pct}% bootstrap over trials ({rep.n_boot} resamples). Definitions: docs/planning.md.",
        "",
        "### Two-variable law E(n, m) = δ·(γ + n^−α)·m^−β (Mikami et al. 2022)",
        "",
    ]
    if rep.adequate:
        L += [
            tabulate(
                [
                    {
                        "α": _vci(s.alpha, s.alpha_ci),
                        "β": _vci(s.beta, s.beta_ci),
                        "γ": _vci(s.gamma, s.gamma_ci),
                        "δ": _vci(s.delta, s.delta_ci),
                        "R²": _vci(s.r2, s.r2_ci, 4),
                    }
                ],
                headers="keys",
                tablefmt="github",
            ),
            "",
        ]
    else:
        L += [
            f"**The law does not fit:** {'; '.join(rep.surface_check.problems)}. Its parameters are not reported.",
            "",
        ]
    L += ["### E(n) = D·n^−α + C at each m", ""]
    rows = []
    for c in rep.per_m:
        if c.fit is None:
            rows.append({"m": _n(c.m), "α": "no fit", "C": c.error or "", "D": "", "R²": ""})
        elif not c.adequate:
            more = f" (and {len(c.check.problems) - 1} more)" if len(c.check.problems) > 1 else ""
            rows.append(
                {"m": _n(c.m), "α": "does not fit", "C": c.check.problems[0] + more, "D": "", "R²": _n(c.fit.r2, 4)}
            )
        else:
            f = c.fit
            rows.append(
                {
                    "m": _n(c.m),
                    "α": _vci(f.alpha, f.alpha_ci),
                    "C": _vci(f.C, f.C_ci),
                    "D": _vci(f.D, f.D_ci),
                    "R²": _n(f.r2, 4),
                }
            )
    L += [
        tabulate(rows, headers="keys", tablefmt="github"),
        "",
        f"Does α depend on m? {rep.alpha_vs_m['verdict']}.",
        "",
    ]
    L += ["### Scratch curve E0(m) = a·m^−b + c (real data only)", ""]
    sc = rep.scratch
    if sc.fit is None:
        L += [f"No fit: {sc.error}.", ""]
    elif not sc.adequate:
        L += [f"**The scratch law does not fit:** {'; '.join(sc.check.problems)}.", ""]
    else:
        f = sc.fit
        L += [
            f"a = {_vci(f.D, f.D_ci)}, b = {_vci(f.alpha, f.alpha_ci)}, c = {_vci(f.C, f.C_ci)}, R² = {_n(f.r2, 4)}.",
            "",
        ]
    L += ["### What simulations are worth", ""]
    if isinstance(eq, str):
        L += [f"Not available: {eq}", ""]
    elif not eq.adequate:
        L += ["Not reported: a law it rests on does not fit (see above).", ""]
    else:
        ext = eq.m_equiv_extrapolation
        ext_s = (
            f" (extrapolated {ext['factor']:.3g}× beyond the largest measured m)" if ext["direction"] == "above" else ""
        )
        if eq.reachable:
            L.append(
                f"At n = {_n(eq.n)} and m = {_n(eq.m)}: pretraining is worth m' = {_vci(eq.m_equiv, eq.m_equiv_ci)} real samples "
                f"({_vci(eq.equiv_ratio, eq.equiv_ratio_ci)}× the real data){ext_s}."
            )
        else:
            L.append(f"At n = {_n(eq.n)} and m = {_n(eq.m)}: transfer beats anything scratch can reach (m' = ∞).")
        if eq.sims_per_experiment_reachable:
            L.append(
                f"One more experiment is worth Δn = {_vci(eq.sims_per_experiment, eq.sims_per_experiment_ci)} simulations there."
            )
        else:
            L.append("One more experiment gains more than any number of simulations can at this m.")
        L.append("")
    L += ["### Backtest (fit on the smaller sizes of the n grid, predict the larger ones)", ""]
    if isinstance(bt, str):
        L += [f"Not available: {bt}", ""]
    else:
        brows = []
        for d in bt.per_m:
            if "error" in d:
                brows.append(
                    {
                        "law": f"E(n) at m={_n(d['m'])}",
                        "mean abs error": d["error"],
                        "max abs error": "",
                        "intervals covered": "",
                    }
                )
            else:
                brows.append(_bt_row(f"E(n) at m={_n(d['m'])}", d))
        if bt.surface is not None:
            brows.append(
                {"law": "surface", "mean abs error": bt.surface["error"], "max abs error": "", "intervals covered": ""}
                if "error" in bt.surface
                else _bt_row("surface E(n, m)", bt.surface)
            )
        L += [
            f"Fitted on n = {[int(v) for v in bt.n_fit]}, predicted n = {[int(v) for v in bt.n_held]}.",
            "",
            tabulate(brows, headers="keys", tablefmt="github"),
            "",
        ]
    names = (
        [p.name for p in figures] if figures is not None else [v for v in FIGURES.values() if (run_dir / v).exists()]
    )
    with_law = "" if rep.adequate else " (no surface law: none drawn)"
    captions = {
        FIGURES["heatmap"]: (
            "MAE over (n, m) with iso-MAE contours of the fitted surface" if rep.adequate else "MAE over (n, m)"
        )
        + with_law,
        FIGURES["curves"]: (
            "MAE versus n at each m with the fitted surface" if rep.adequate else "MAE versus n at each m"
        )
        + with_law,
        FIGURES["scratch"]: "scratch learning curve",
        FIGURES["equivalence"]: "equivalent real samples m'(n)",
    }
    for nm in names:
        L += [f"![{captions.get(nm, nm)}]({nm})", ""]
    return "\n".join(L)


def _bt_row(label: str, d: dict[str, Any]) -> dict[str, str]:
    cov = d.get("coverage")
    covs = "—" if cov is None or (isinstance(cov, float) and math.isnan(cov)) else f"{100 * cov:.0f}%"
    return {
        "law": label,
        "mean abs error": f"{100 * d['mean_abs_rel_error']:.1f}%",
        "max abs error": f"{100 * d['max_abs_rel_error']:.1f}%",
        "intervals covered": covs,
    }
