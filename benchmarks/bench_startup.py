"""Start-up time of ``s2rbench list`` and ``s2rbench plugins`` in fresh processes (issue 20).

Every plugin module is imported when the registry loads, so a plugin that imports a heavy library
at module level makes every command slow, including the ones that never featurize or train. This
prints, side by side in one run (the commands interleaved, each repeated, the median kept: the
machine is shared and noisy, so the ratios are what to read):

- ``python -c pass`` (the interpreter alone) and ``python -c "import torch"`` (one heavy library),
  as references;
- ``python -m s2rbench.cli list`` and ``... plugins`` (output discarded);
- which heavy modules (torch, rdkit, pymatgen, matminer, lightgbm) loading the registry imported.

    python benchmarks/bench_startup.py [--repeat 5]

Measured on the 2-core development machine while seven other sessions ran (load average 18, so
only the ratios and the import list mean anything; 5 repeats, medians): ``python -c pass`` 0.19 s,
``import torch`` 7.5 s, ``s2rbench list`` 9.9 s, ``plugins`` 9.7 s; imported at plugin load:
torch only (before this change: torch and RDKit). torch comes from the model plugins (mlp,
strategies, gbdt via mlp); once they import it lazily, ``list`` costs what Python, NumPy, pandas
and the plugin modules cost. Issue 20 quotes 1.8 s idle before.

Measured 2026-12-02 on an Intel Xeon with AVX-512 (load 1.2, one core busy; 3 repeats): ``python -c
pass`` 0.033 s, ``import torch`` 1.22 s, ``s2rbench list`` 1.00 s, ``plugins`` 0.99 s; no heavy library
imported at plugin load. Of the 1.0 s, importing ``s2rbench.cli`` is 0.76 s (``python -X importtime``):
pandas 0.23 s (first through ``s2rbench.cards.files``, then ``s2rbench.tasks.tables``) and SciPy's
optimizers 0.26 s (through ``s2rbench.laws``, which ``s2rbench.report.format`` and
``s2rbench.analysis.lawcheck`` import at module level). Each is reached by several module-level
imports, so "well under a second" needs all of them moved to where they are used (not done).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

HEAVY = ("torch", "rdkit", "pymatgen", "matminer", "lightgbm")

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "python -c 'import torch'": [sys.executable, "-c", "import torch"],
    "s2rbench list": [sys.executable, "-m", "s2rbench.cli", "list"],
    "s2rbench plugins": [sys.executable, "-m", "s2rbench.cli", "plugins"],
}

PROBE = (
    "import sys, json; from s2rbench.cli import cli; from s2rbench.registry import get_registry; get_registry(); "
    f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
)


def wall(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    times: dict[str, list[float]] = {k: [] for k in COMMANDS}
    for _ in range(args.repeat):  # interleaved: load drifts affect every command alike
        for name, cmd in COMMANDS.items():
            times[name].append(wall(cmd))
    base = statistics.median(times["python -c pass"])
    print(
        f"cores: {os.cpu_count()}, load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}, "
        f"repeats: {args.repeat}"
    )
    print(f"{'command':28s} {'median s':>9s} {'min s':>7s} {'x python':>9s}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:28s} {med:9.3f} {min(ts):7.3f} {med / base:9.1f}")
    imported = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout.strip()
    print(f"heavy modules imported by loading the CLI and the registry: {imported}")


if __name__ == "__main__":
    main()
