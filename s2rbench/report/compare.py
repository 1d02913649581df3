"""The tables and the figure of `s2rbench compare`: per run its law (only where `law_verdict` says there
is one: no α, C or D for a no-law run, in text or in the figure), and the paired per-n MAEs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..analysis.compare import Comparison
from ..analysis.lawcheck import law_verdict
from .axes import mae_axis, size_ticks, title
from .format import num
from .format import r2 as fmt_r2
from .format import vci as fmt_ci


def fit_table(self: Comparison) -> list[dict[str, Any]]:
    unit = (self.entries[0].config.get("target") or {}).get("unit", "")
    rows = []
    for e in self.entries:
        f = e.summary.fit
        law = f is not None and law_verdict(f).holds
        rows.append(
            {
                "run": e.label,
                "alpha [90% CI]": fmt_ci(f.alpha, f.alpha_ci) if law else ("no law" if f else "—"),
                "C [90% CI]": fmt_ci(f.C, f.C_ci) if law else "—",
                "D [90% CI]": fmt_ci(f.D, f.D_ci) if law else "—",
                "R2": fmt_r2(f.r2) if f else "—",
                f"scratch MAE ({unit})": num(e.summary.scratch_mae, 4),
                "trials": int(e.rows["trial"].nunique()),
                "run dir": str(e.run_dir),
            }
        )
    return rows


def _p_value(p: Any) -> str:
    """A p-value as printed: below 1e-4 as a bound (100 paired trials give p ~ 1e-18, which `num`
    would print as 0, and no test of trials gives p = 0)."""
    if p is not None and np.isfinite(p) and p < 1e-4:
        return "<1e-4"
    return num(p)


def mae_table(self: Comparison) -> list[dict[str, Any]]:
    out = []
    for n, grp in self.per_n.groupby("n", sort=True):
        row: dict[str, Any] = {"n": "0 (scratch)" if n == 0 else int(n)}
        for e in self.entries:
            r = grp[grp["run"] == e.label]
            if r.empty:
                row[e.label] = "—"
                continue
            r = r.iloc[0]
            cell = f"{num(r['mean'], 4)} ± {num(r['sem'], 2)}" if np.isfinite(r["sem"]) else num(r["mean"], 4)
            if e.label != self.reference and self.paired and r["pairs"] > 0:
                p = _p_value(r["p"])
                p = p if p.startswith("<") else f"={p}"
                cell += f" (Δ {'+' if r['diff'] > 0 else ''}{num(r['diff'])}, p{p}, better {int(r['wins'])}/{int(r['pairs'])})"
            row[e.label] = cell
        out.append(row)
    return out


def plot(cmp: Comparison, path: str | os.PathLike) -> Path:
    """The runs' mean-MAE curves (90% CI of the mean), fitted laws and scratch baselines on one log-log plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    unit = (cmp.entries[0].config.get("target") or {}).get("unit", "")
    fig, ax = plt.subplots(figsize=(7.0, 4.8), dpi=120)
    ns = cmp.per_n.loc[cmp.per_n["n"] > 0, "n"]
    grid = np.geomspace(ns.min(), ns.max(), 200) if len(ns) else None
    for i, e in enumerate(cmp.entries):
        color = f"C{i % 10}"
        c = cmp.per_n[(cmp.per_n["run"] == e.label) & (cmp.per_n["n"] > 0)]
        f = e.summary.fit
        holds = f is not None and law_verdict(f).holds
        law = f" — α={num(f.alpha, 2)}, C={num(f.C)}" if holds else (" — no law" if f is not None else "")
        dodge = 10 ** (0.012 * (i - (len(cmp.entries) - 1) / 2))  # side by side, so the error bars stay readable
        ax.errorbar(
            c["n"] * dodge,
            c["mean"],
            yerr=1.645 * c["sem"].fillna(0),
            fmt="o",
            ms=4,
            capsize=3,
            color=color,
            label=f"{e.label}{law}",
        )
        if holds and grid is not None:  # no fitted curve through a run without a law
            ax.plot(grid, f.predict(grid), color=color, lw=1.2)
        sig = c[(c["pairs"] > 0) & (c["p"].astype(float) < 0.05)] if cmp.paired else c.iloc[0:0]
        if len(sig):
            ax.plot(sig["n"] * dodge, sig["mean"], "*", color=color, ms=11, mec="k", mew=0.5)
        if e.summary.scratch_mae is not None:
            ax.axhline(e.summary.scratch_mae, color=color, ls="--", lw=0.8, alpha=0.7)
    ax.set_xscale("log")
    ax.set_yscale("log")
    if len(ns):
        size_ticks(ax, ns)
    mae_axis(ax)
    ax.set_xlabel("n (simulated pretraining samples)")
    ax.set_ylabel(f"MAE on real test data ({unit})")
    factor = ", ".join(cmp.factors) if cmp.factors else "nothing"
    title(ax, f"{cmp.task} · m={cmp.m} · runs differ in: {factor}", fontsize=10)
    ax.legend(
        fontsize=7,
        title="error bars: 90% CI of the mean; dashed: scratch"
        + (f"; ★: p<0.05 vs {cmp.reference}" if cmp.paired else ""),
        title_fontsize=7,
    )
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
