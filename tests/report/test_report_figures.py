"""Figures follow the one "is there a law?" policy: a no-law run's figures draw no fitted curve.

Checked on the matplotlib artists (lines, bands, contours, labels), not on pixels: a fitted curve is
a line on a dense grid (the measured points are a handful), a bootstrap band is a filled polygon,
an iso-MAE contour is a contour set, and their legend labels name a fit.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from s2rbench.report import write_report
from s2rbench.sweep.store import Store

NS = [32, 128, 512, 2048]
MS = [30, 60, 120]


def write_run(run_dir, transfer, scratch, *, trials=4, noise=0.03, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(trials):
        for m in MS:
            for n in [0, *NS]:
                v = (scratch(m) if n == 0 else transfer(n, m)) * math.exp(rng.normal(0.0, noise))
                rows.append(
                    {
                        "task": "law",
                        "model": "flat",
                        "featurizer": "none",
                        "sampler": "random",
                        "n": n,
                        "m": m,
                        "trial": t,
                        "seed": t,
                        "mae": v,
                        "rmse": v,
                        "n_test": 100,
                        "n_train": m,
                        "seconds": 0.0,
                        "device": "cpu",
                        "unit": "u",
                    }
                )
    config = {
        "task": "law",
        "model": "flat",
        "featurizer": "none",
        "target": {"name": "y", "unit": "eV"},
        "protocol": {"sizes": NS, "m_grid": MS, "m": max(MS), "trials": trials, "surface": True},
    }
    with Store(run_dir) as st:
        st.set_meta("config", config)
        st.commit(rows)
    return run_dir


@pytest.fixture
def figures(monkeypatch):
    """Every matplotlib figure the report closes, kept for inspection."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kept = []
    real_close = plt.close

    def close(fig=None):
        if fig is not None and hasattr(fig, "axes"):
            kept.append(fig)
        else:
            real_close(fig)

    monkeypatch.setattr(plt, "close", close)
    yield kept
    for f in kept:
        real_close(f)


def fitted_artists(fig) -> list[str]:
    from matplotlib.collections import PolyCollection

    found = []
    for ax in fig.axes:
        for ln in ax.get_lines():
            label = str(ln.get_label())
            if len(ln.get_xdata()) >= 50:
                found.append(f"dense line {label!r}")
            if any(w in label for w in ("fit", "E0(m) =", "transfer gap", "law (passed")):
                found.append(f"label {label!r}")
        for coll in ax.collections:
            if isinstance(coll, PolyCollection) and "band" in str(coll.get_label()):
                found.append(f"band {coll.get_label()!r}")
            if type(coll).__name__ in ("QuadContourSet", "ContourSet") or "Contour" in type(coll).__name__:
                found.append("contour")
        if getattr(ax, "containers", None):
            pass
    return found


def test_every_figure_of_a_no_law_run_draws_no_fitted_curve(tmp_path, figures):
    run = write_run(
        tmp_path / "flat", transfer=lambda n, m: 0.5 * (m / 30) ** -0.05, scratch=lambda m: 0.5 * (m / 30) ** -0.05
    )
    write_report(run, n_boot=60)
    assert len(figures) == 5  # mae_vs_n + heat map, curves, scratch, equivalence
    for fig in figures:
        assert fitted_artists(fig) == [], [a.get_title() for a in fig.axes]
        for ax in fig.axes:
            assert ax.get_title() == "" or len(max(ax.get_title().split("\n"), key=len)) <= 80  # wrapped, not cut off
    titles = " ".join(ax.get_title() for f in figures for ax in f.axes)
    assert "no law" in titles or "no surface law" in titles
    md = (run / "report.md").read_text()
    assert "**No law:**" in md and "better description" not in md and "pure power law (C = 0) gives α" not in md


def test_a_run_with_a_law_draws_it(tmp_path, figures):
    """The control: the same check finds the fitted curves of a run that has a law (so the test can fail)."""
    run = write_run(
        tmp_path / "law",
        transfer=lambda n, m: 2.0 * (0.02 + n**-0.5) * m**-0.3,
        scratch=lambda m: 1.2 * m**-0.35 + 0.005,
        noise=0.005,
        trials=6,
    )
    write_report(run, n_boot=60)
    found = [a for f in figures for a in fitted_artists(f)]
    assert any("fit:" in a for a in found) and any("contour" in a for a in found)
