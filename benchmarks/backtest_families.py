"""Which law family extrapolates, on every leaderboard entry: the README's family × task × strategy table.

Reads the raw per-trial MAEs already stored in ``leaderboard/submissions/**/*.json`` (quick and
full entries of every strategy on every task; nothing is rerun), backtests each law family of
`s2rbench.laws.families` on each entry (fit every size but the largest, predict the largest, 1000
bootstrap resamples over trials, seed 0) and prints a markdown table: per entry the mean |relative
error| of each family on the held-out size (✓ where it passed: within 10%), the best passing family
that is also a law when fitted on every size (`law_verdict`: a flat curve extrapolates trivially
but has no law), and whether the power law is a law on every size. Below it, one line per task
says which family gives a law that extrapolates on it, or that none does.

    python benchmarks/backtest_families.py                # print the table
    python benchmarks/backtest_families.py --write        # and replace it in README.md between the markers
    python benchmarks/backtest_families.py --holdout 3    # hold out the 3 largest sizes instead
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import warnings
from pathlib import Path

import numpy as np

from s2rbench.analysis.lawcheck import law_verdict
from s2rbench.laws import fit_power_law
from s2rbench.laws.families import FAMILIES, backtest_families, fit_family, pick_family

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- backtest-families:start -->", "<!-- backtest-families:end -->"


def entries(root: Path) -> list[dict]:
    out = []
    for p in sorted((root / "leaderboard" / "submissions").glob("**/*.json")):
        d = json.loads(p.read_text())
        r = d["results"]
        out.append(
            {
                "task": d["task"]["name"],
                "strategy": f"{d['model']['name']} v{d['model']['version']}",  # versions sit side by side
                "protocol": "quick" if d["protocol"].get("quick") else "full",
                "n": np.asarray(r["sizes"], dtype=float),
                "mae": np.asarray(r["mae"], dtype=float),
                "file": p.name,
            }
        )
    out.sort(key=lambda e: (e["task"], e["protocol"] != "full", e["strategy"]))
    return out


def table(root: Path, holdout: int, n_boot: int) -> str:
    fams = list(FAMILIES)
    head = [
        "task",
        "strategy",
        "protocol",
        "sizes × trials",
        *[f"{f}" for f in fams],
        "law that extrapolates",
        "power law on all sizes",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    per_task: dict[str, dict[str, list[bool]]] = {}
    for e in entries(root):
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            bt = backtest_families(e["n"], e["mae"], holdout=holdout, n_boot=n_boot, seed=0)
            v = law_verdict(fit_power_law(e["n"], e["mae"], n_boot=n_boot, seed=0))
        cells = []
        good: dict[str, float] = {}
        for f in fams:
            r = bt.results.get(f, {})
            cells.append(
                "—" if "error" in r else f"{100 * r['mean_abs_rel_error']:.1f}%" + (" ✓" if r["passed"] else "")
            )
            ok = False
            if r.get("passed"):  # passed its backtest: is the family, fitted on every size, a law at all?
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")
                    full = fit_family(f, e["n"], e["mae"], n_boot=n_boot, seed=0)
                ok = law_verdict(full.to_dict()).holds
                if ok:
                    good[f] = r["mean_abs_rel_error"]
            per_task.setdefault(e["task"], {}).setdefault(f, []).append(ok)
        law = "law" if v.holds else "no law"
        lines.append(
            f"| {e['task']} | {e['strategy']} | {e['protocol']} | {len(e['n'])} × {e['mae'].shape[0]} | "
            + " | ".join(cells)
            + f" | {pick_family(good) or 'none'} | {law} |"
        )
    lines.append("")
    for task, res in per_task.items():
        ok = [f"{f} ({sum(v)}/{len(v)} entries)" for f, v in res.items() if any(v)]
        if ok:
            lines.append(f"- **{task}**: a law that extrapolates to the largest n: " + ", ".join(ok) + ".")
        else:
            lines.append(f"- **{task}**: no family extrapolates on any entry — that is the finding.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--holdout", type=int, default=1, help="largest sizes held out (default 1)")
    ap.add_argument("--boot", type=int, default=1000)
    ap.add_argument("--write", action="store_true", help="replace the table in README.md between the markers")
    a = ap.parse_args(argv)
    text = table(ROOT, a.holdout, a.boot)
    print(text)
    if a.write:
        readme = ROOT / "README.md"
        s = readme.read_text()
        if START not in s or END not in s:
            print(f"README.md has no {START} ... {END} markers", file=sys.stderr)
            return 1
        s = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: f"{START}\n{text}\n{END}", s, flags=re.S)
        readme.write_text(s)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
