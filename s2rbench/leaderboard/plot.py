"""The figure of one leaderboard entry: its per-trial MAEs against n, and the law only where there is one.

Why its own figure: the page says "no law" for an entry when `s2rbench.lawcheck.law_verdict` says
so, and the figure linked from that row must not contradict it by drawing a fitted curve (issue 18:
"8.53e-306·n^(−10) + 33.5" was drawn through a flat run). The figure is drawn from the file's
numbers alone (trial MAEs, scratch MAEs, the stated fit), so it is what the check verified.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def _plain(text: Any) -> str:
    return str(text).replace("$", r"\$")  # user text is never mathtext


def plot_entry(sub: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..lawcheck import law_verdict

    res, f = sub["results"], sub["fit"]
    n = np.asarray(res["sizes"], dtype=float)
    mat = np.asarray(res["mae"], dtype=float)
    mean = mat.mean(axis=0)
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=110)
    for row in mat:
        ax.plot(n, row, color="C0", alpha=0.25, lw=0.8)
    if len(mat) > 1:
        sem = mat.std(axis=0, ddof=1) / np.sqrt(len(mat))
        ax.errorbar(
            n,
            mean,
            yerr=1.645 * sem,
            fmt="o",
            color="C0",
            capsize=3,
            label=f"transfer (mean ± 90% CI, {len(mat)} trials)",
        )
    else:
        ax.plot(n, mean, "o", color="C0", label="transfer (1 trial)")
    verdict = law_verdict(f)
    if verdict.holds:
        grid = np.geomspace(n.min(), n.max(), 200)
        ax.plot(
            grid,
            f["D"] * grid ** (-f["alpha"]) + f["C"],
            color="C1",
            label=f"law: {f['D']:.3g}·n^(−{f['alpha']:.3g}) + {f['C']:.3g}  (R² {f['r2']:.2f})",
        )
    else:
        ax.text(0.02, 0.03, f"no law: {verdict.reason}", transform=ax.transAxes, fontsize=7, color="0.3")
    scratch = float(np.mean(res["scratch_mae"]))
    ax.axhline(scratch, color="C3", ls="--", label=f"scratch (real data only): {scratch:.3g}")
    ax.set_xscale("log")
    ax.set_xticks(n)
    ax.set_xticklabels([f"{int(v):,}" for v in n], rotation=30 if len(n) > 5 else 0, fontsize=8)
    ax.minorticks_off()
    unit = (sub.get("target") or {}).get("unit", "")
    ax.set_xlabel("n (simulated pretraining samples)")
    ax.set_ylabel(_plain(f"MAE on real test data ({unit})"))
    p = sub["protocol"]
    ax.set_title(
        _plain(
            f"{sub['task']['name']} · {sub['model']['name']} · {sub['featurizer']['name']} · "
            f"{'quick' if p['quick'] else 'full'} · m={p['m']}"
        ),
        fontsize=9,
    )
    ax.legend(fontsize=7)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
