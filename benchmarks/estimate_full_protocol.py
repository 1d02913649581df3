"""Wall time of a task's full protocol, estimated from the per-trial costs a quick run measured.

Every stored row carries ``seconds``: its unit's wall time divided by the unit's trials. For each
quick RUN_DIR this script interpolates that cost over n (log-log, between the measured quick sizes;
constant beyond them), sums it over the card's full n grid plus scratch at the card's default m, and
multiplies by the full protocol's trials. The quick run's blocks are smaller than the full
protocol's (``trial_block``), and a batched ensemble costs less per trial in bigger blocks, so the
estimate leans high for the network models. Printed next to the measured quick wall time:

    python benchmarks/estimate_full_protocol.py runs/chi-mlp-quick runs/chi-gbdt-delta-quick ...
"""

from __future__ import annotations

import sys

import numpy as np
from tabulate import tabulate

from s2rbench.sweep.store import Store
from s2rbench.tasks import get_task


def estimate(run_dir: str) -> dict:
    with Store(run_dir, create=False) as st:
        cfg = st.get_meta("config") or {}
        rows = st.results()
    card = get_task(cfg["task"])
    per_n = rows.groupby("n")["seconds"].mean()
    quick_cpu = float((rows.groupby("unit")["seconds"].first() * rows.groupby("unit").size()).sum())
    n_meas = np.array([n for n in per_n.index if n > 0], float)
    s_meas = np.array([per_n[n] for n in n_meas])

    def cost(n: float) -> float:
        if n == 0:
            return float(per_n.get(0, s_meas[0]))
        return float(np.exp(np.interp(np.log(n), np.log(n_meas), np.log(s_meas))))

    p = card.protocol
    full = p.trials * (cost(0) + sum(cost(n) for n in p.sizes))
    return {
        "run": run_dir.rstrip("/").split("/")[-1],
        "model": cfg.get("model"),
        "quick: units' wall (s)": f"{quick_cpu:.0f}",
        "full grid": f"{len(p.sizes)} sizes + scratch × {p.trials} trials",
        "full, estimated (CPU h)": f"{full / 3600:.2f}",
        "on 2 cores (h)": f"{full / 7200:.2f}",
    }


if __name__ == "__main__":
    print(tabulate([estimate(d) for d in sys.argv[1:]], headers="keys", tablefmt="github"))
