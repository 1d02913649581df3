"""Small Sim2Real pairs written from arrays, for the card tests: a `features` card (the `columns`
featurizer: no chemistry, milliseconds) whose data problems are built in on purpose."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

BASE = """\
format = 1
name = "{name}"
version = "0.1.0"
input_kind = "features"
featurizer = "columns"
{top}
[target]
name = "y"
unit = "{unit}"
{target}
[sim]
file = "{sim_key}"
input = ["x1", "x2"]
target = "y_sim"
{sim}
[real]
file = "{real_key}"
input = ["x1", "x2"]
target = "y_real"
{real}
[files.sim]
path = "{sim_path}"
{sim_file}
[files.real]
path = "{real_path}"
{real_file}
[protocol]
sizes = [16, 64, 160]
quick_sizes = [16, 64]
trials = 4
quick_trials = 2
trial_block = 2
m_grid = [10, 20, 30]
{protocol}
"""


def inputs(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.round(rng.uniform(0, 1, size=(n, 2)), 4)


def truth(x: np.ndarray) -> np.ndarray:
    return 2.0 + 3.0 * x[:, 0] - 1.5 * x[:, 1] ** 2


def clean_pair(
    n_sim: int = 200, n_real: int = 60, shared: int = 40, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A pair with no data problem: one unit, one sign, no repeats, a small systematic shift."""
    rng = np.random.default_rng(seed + 1)
    xs = inputs(n_sim, seed)
    xr = np.vstack([xs[:shared], inputs(n_real - shared, seed + 7)])
    sim = pd.DataFrame({"x1": xs[:, 0], "x2": xs[:, 1], "y_sim": truth(xs) + 0.05 * rng.normal(size=n_sim)})
    real = pd.DataFrame({"x1": xr[:, 0], "x2": xr[:, 1], "y_real": truth(xr) + 0.3 + 0.05 * rng.normal(size=n_real)})
    return sim, real


def write_pair(
    d: Path,
    sim: pd.DataFrame,
    real: pd.DataFrame,
    *,
    name: str = "pair",
    unit: str = "eV",
    top: str = "",
    target: str = "",
    sim_extra: str = "",
    real_extra: str = "",
    protocol: str = "",
    same_file: bool = False,
    sim_file: str = "",
    real_file: str = "",
) -> Path:
    """Write sim.csv, real.csv and NAME.toml into `d`; returns the card's path."""
    d.mkdir(parents=True, exist_ok=True)
    sim.to_csv(d / "sim.csv", index=False)
    real.to_csv(d / "real.csv", index=False)
    if same_file:  # both targets in one table: the real table is the simulated one
        both = sim.assign(y_real=sim["y_sim"])
        both.to_csv(d / "sim.csv", index=False)
    import hashlib

    def pin(f: str) -> str:
        return f'sha256 = "{hashlib.sha256((d / f).read_bytes()).hexdigest()}"'

    sim_file = sim_file or pin("sim.csv")
    real_file = real_file or pin("sim.csv" if same_file else "real.csv")
    card = d / f"{name}.toml"
    card.write_text(
        BASE.format(
            name=name,
            unit=unit,
            top=top,
            target=target,
            sim=sim_extra,
            real=real_extra,
            protocol=protocol,
            sim_key="sim",
            real_key="real",
            sim_path="sim.csv",
            real_path="sim.csv" if same_file else "real.csv",
            sim_file=sim_file,
            real_file=real_file,
        )
    )
    return card


def write_lookup_task(root: Path, title: str) -> Path:
    """A vector card whose simulated inputs are 0..199 and real inputs 100..239 (the real value of an
    input equals its simulated one): 100 of the 140 real inputs are in the pool, so a run shows the
    in-pool / out-of-pool split (tests/sweep/test_overlap.py, tests/leaderboard/test_pool_split.py)."""
    rng = np.random.Generator(np.random.PCG64(7))
    values = rng.normal(size=240)
    pd.DataFrame({"x": [f"{k}" for k in range(200)], "y": values[:200]}).to_csv(root / "sim.csv", index=False)
    pd.DataFrame({"x": [f"{k}" for k in range(100, 240)], "y": values[100:]}).to_csv(root / "real.csv", index=False)

    def sha(name: str) -> str:
        return hashlib.sha256((root / name).read_bytes()).hexdigest()

    card = root / "lookup.toml"
    card.write_text(
        f"""format = 1
name = "lookup"
version = "0.1.0"
title = "{title}"
input_kind = "vector"
featurizer = "vector"
[target]
name = "y"
unit = "arb."
[sim]
file = "sim"
input = "x"
target = "y"
[real]
file = "real"
input = "x"
target = "y"
[files.sim]
path = "sim.csv"
sha256 = "{sha("sim.csv")}"
[files.real]
path = "real.csv"
sha256 = "{sha("real.csv")}"
[protocol]
split = "random"
test_fraction = 0.25
sizes = [20, 80, 200]
quick_sizes = [20, 80, 200]
trials = 4
quick_trials = 4
trial_block = 4
seed = 0
"""
    )
    return card
