"""Scaling laws of real-world error versus data size, their uncertainty, and what they imply.

A model pretrained on ``n`` simulated samples and fine-tuned on ``m`` real samples has a test MAE
that falls as ``E(n) = D * n**(-alpha) + C``. This module fits that law (and the pure power law,
``C = 0``) to per-trial MAEs, puts bootstrap intervals on its parameters by resampling *trials*
(the unit that is independent: a trial's sizes share a seed and a real split, so its MAEs are
correlated across ``n``), and turns a fit into decisions: how many simulations reach a target
(`plan_n`), the cheapest mix of simulations and experiments on the two-size surface of Mikami et
al. 2022, arXiv 2108.11018 (`fit_surface`, `plan_cost`), what a simulation is worth in real
samples (`equivalent_real`), and whether the law extrapolates at all on the data at hand
(`backtest`).

Numerical choices, and why:

* Sizes are divided by their geometric mean before fitting, so the amplitude parameter is the
  excess error at the *middle* of the measured grid. With raw ``n`` the amplitude ``D`` is the error
  at ``n = 1``, far outside the data, and it is almost perfectly correlated with ``alpha``
  (``log D`` moves by ``alpha * log n`` for every change of ``alpha``), which makes the normal
  equations ill-conditioned. ``D`` is converted back to raw ``n`` units on output.
* Residuals are taken in log space by default (``space="log"``): an MAE is a positive scale
  quantity spanning decades across a curve and its noise is roughly proportional to its size, so
  relative residuals weigh every size alike. Linear residuals let the few small-``n`` points (largest
  errors, largest absolute noise) dominate and leave the tail, which is what pins ``C``, nearly
  unweighted. ``space="linear"`` is available for curves with near-zero MAEs.
* The point estimate uses `scipy.optimize.least_squares` (bounded trust-region) from a grid of
  starting points and keeps the best, because the offset law has a long curved valley between
  ``alpha`` and ``C``. Bootstrap refits instead run a small vectorised, bound-projected
  Levenberg-Marquardt over all replicates at once, warm-started at the point estimate: a replicate is
  a small perturbation of the data, so it needs no global search, and one batched solve of 1000
  replicates costs milliseconds where 1000 scipy calls cost seconds.
* Intervals are bootstrap percentile intervals over trials. With one trial (or ``n_boot=0``)
  there is nothing to resample: intervals are NaN rather than a misleading zero width.

Layout: `solve` (the multi-start and the batched bounded solvers every family uses), `common` (input
checks, the trial bootstrap), `formula` (each law written once, over rows of parameters), `curve`
(the 1-D law), `surface` (the (n, m) law), `families` (laws beside the power law that a backtest
can choose), `decisions` (plan n, cost plan, equivalence: each written once over (B, P) rows, the
point estimate being B = 1), `backtest`, `jsonable` (THE JSON converter).

Only numpy, scipy, pandas and the package's error type are imported, so the package is cheap to use
from analysis code, notebooks and the CLI alike; it never reads a run directory.
"""

from __future__ import annotations

from .backtest import Backtest, backtest, holdout_count, prediction_interval
from .common import (
    _aic,
    _boot_counts,
    _check_boot_args,
    _check_space,
    _mae_array,
    _means,
    _percentile_ci,
    _r2,
    _r2_rows,
    _sizes,
)
from .curve import PowerLawFit, PurePowerLawFit, _curve_offset, _curve_pure, _fit_curve, fit_power_law, fit_scratch
from .decisions import (
    CostOption,
    CostPlan,
    Equivalence,
    Plan,
    _check_target,
    argmin_cost,
    cost_options,
    equivalence_rows,
    equivalent_real,
    interval,
    n_for_target,
    plan_cost,
    plan_n,
)
from .families import FAMILIES, FamilyBacktest, FamilyFit, backtest_families, family_n_for, fit_family
from .formula import curve_mae, curve_n_for, sims_per_experiment, surface_m_for, surface_mae, surface_n_for
from .jsonable import _jsonable, jsonable
from .solve import (
    EXPONENT_MAX,
    _fit_multistart,
    _lm_batch,
)
from .solve import (
    EXPONENT_MIN as _EXPONENT_MIN,
)
from .solve import (
    GAMMA_NORM_MAX as _GAMMA_NORM_MAX,
)
from .surface import SurfaceFit, _surface, fit_surface

__all__ = [
    "Backtest",
    "CostOption",
    "CostPlan",
    "Equivalence",
    "FamilyBacktest",
    "FamilyFit",
    "Plan",
    "PowerLawFit",
    "PurePowerLawFit",
    "SurfaceFit",
    "backtest",
    "backtest_families",
    "equivalent_real",
    "fit_family",
    "fit_power_law",
    "fit_scratch",
    "fit_surface",
    "plan_cost",
    "plan_n",
]
