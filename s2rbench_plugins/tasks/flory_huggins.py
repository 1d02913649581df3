"""The `flory-huggins` loader: the COSMO-RS and experimental chi tables in one polymer notation.

The COSMO-RS table writes each polymer as a cyclic oligomer (the model COSMO-RS computes); the
experimental table gives, for the same cyclic form, the repeat unit with `*` ends. This loader maps
the simulated side onto the repeat-unit form through that correspondence, so that the same
polymer has the same input on both sides (overlap, group splits and featurizers depend on it).
"""

from __future__ import annotations

import pandas as pd

from s2rbench.data import fetch, read_table
from s2rbench.errors import S2RBenchError
from s2rbench.hookspecs import hookimpl
from s2rbench.tasks import TaskTables, standardize


def _split_pair(series: pd.Series, what: str) -> pd.DataFrame:
    parts = series.astype(str).str.split("_", n=1, expand=True)
    if parts.shape[1] != 2 or parts[1].isna().any():
        raise S2RBenchError(f"{what}: column ps_pair must be 'POLYMER_SOLVENT' on every row; fix the file")
    return parts.rename(columns={0: "polymer", 1: "solvent"})


def flory_huggins_loader(card, data_dir=None) -> TaskTables:
    frames = {}
    for side in ("sim", "real"):
        spec = getattr(card, side)
        path = fetch(card.files[spec.file], card_dir=card.card_dir, data_dir=data_dir)
        frames[side] = read_table(path, what=f"task {card.name!r} [{side}] ({path.name})")
    real, sim = frames["real"], frames["sim"]
    for col in ("ps_pair", "ps_pair_nonCyclic"):
        if col not in real.columns:
            raise S2RBenchError(
                f"task {card.name!r} [real]: column {col!r} missing; the flory-huggins loader needs both pair columns"
            )
    cyc = _split_pair(real["ps_pair"], f"task {card.name!r} [real]")
    lin = _split_pair(real["ps_pair_nonCyclic"], f"task {card.name!r} [real]")
    polymer_map = dict(zip(cyc["polymer"], lin["polymer"]))
    solvent_map = dict(zip(cyc["solvent"], lin["solvent"]))
    real = real.assign(polymer=lin["polymer"].to_numpy(), solvent=lin["solvent"].to_numpy())
    sc = _split_pair(sim["ps_pair"], f"task {card.name!r} [sim]")
    mapped = sc["polymer"].map(polymer_map)
    notes = []
    if mapped.isna().any():
        notes.append(
            f"{int(mapped.isna().sum())} simulated rows keep the cyclic-oligomer polymer form (no repeat unit known)"
        )
    sim = sim.assign(
        polymer=mapped.fillna(sc["polymer"]).to_numpy(),
        solvent=sc["solvent"].map(solvent_map).fillna(sc["solvent"]).to_numpy(),
    )
    out = TaskTables(
        sim=standardize(sim, card.sim, where=f"task {card.name!r} [sim]"),
        real=standardize(real, card.real, where=f"task {card.name!r} [real]"),
        conditions=card.sim.conditions,
        notes=notes,
    )
    return out


@hookimpl
def register_loaders(register):
    register("flory-huggins", flory_huggins_loader)
