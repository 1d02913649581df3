"""Reproducing an entry: re-run a deterministic sample of its units and compare the predictions.

Why: rescoring (`s2rbench.leaderboard.rescore`) proves that the stated MAEs are the scores of the
carried predictions, not that the declared model made those predictions. Reproduction re-runs, from
the declared model, featurizer and sampler at their declared versions and hyperparameters, the
smallest and the largest n of one trial block — the block of the protocol's ``trial_block`` that
the run itself trained together, so that a model that trains a block's trials as one batch sees the
same batch — and compares the predictions. Which block is picked follows from the protocol the entry
was measured under (`protocol_key`: the task card's hash, the seed, m, the split, the grid and the
trials), never from the entry itself: deterministic, not steered by editing the entry's name or
description, and the same block for every entry of one protocol. The last is what makes a batch
reproduction affordable: ``mlp``, ``mlp-head``, ``delta`` and ``stack`` share one pretraining per
(n, block), so reproducing the four entries of a bandgap full protocol in one process pretrains the
n = 10⁵ block once (about 25 CPU min) instead of four times. (Keyed by the entry's content hash,
as it was, each entry drew its own block.) The block is known to a submitter in advance either way;
what keeps the other blocks honest is that their predictions are rescored, and that any block can be
re-run by anyone at the declared versions.

A model that declares ``trials_independent`` (the GBDT models, ``roost``) was run one trial per
unit (`s2rbench.sweep.runner`), so its "block" is one trial: reproduction re-runs one trial at the
smallest and the largest n, as the run trained it. That is what the run itself did, and it is what
makes the entry affordable to check: the ``roost-small`` quick entry's n = 10⁵ cell costs ~24 CPU
min a trial, so re-running the card's block (all 4 quick trials) would take ~1.6 CPU h, and a
``gbdt-stack`` full entry's 25-trial block ~26 CPU min instead of ~1.

Tolerance (`PRED_RTOL`, `MAE_RTOL`): on one machine with the same versions a unit is
bit-reproducible (same seeds, same numbers; measured: ridge and gbdt-delta on synthetic, ridge on
polymer-density, mean |Δprediction| 0.00% of the MAE; with NumPy's AVX-512 kernels switched off,
``NPY_DISABLE_CPU_FEATURES=X86_V4``, ridge, gbdt-delta and mlp on synthetic still reproduce to
0.00%). Across other code paths (torch's ``ATEN_CPU_CAPABILITY``, another CPU) float32 training
need not be bit-identical: a SIMD kernel's reduction order changes the last bits, and gradient
training can amplify them into a different but equally good model. The allowance is therefore set by what separates two
*models*, not by numerical noise: the mean |Δprediction| of every re-run trial must stay within
`PRED_RTOL` (5%) of the entry's MAE for that cell and its MAE within `MAE_RTOL` (2%) — the
built-in baselines differ from one another by 10–50% in MAE, and a forged cell moved halfway to
the truth differs by ~50% (tests/leaderboard/test_leaderboard.py). Measured across two CPUs (the
``mlp`` v4 full bandgap protocol re-run on an AMD EPYC with AVX-512 against the entry made without
it): every trial within 0.3% up to n = 3·10⁴, but at 10⁵ per-trial MAEs up to 12.9% apart (15 of
100 trials beyond 2%) while the 25-trial block means stay within 0.8%, so this per-trial
allowance does not hold for a long float32 training re-run on another CPU.

Diverged trials, judged by their block (`judge`). A trial outside the per-trial allowance is
*diverged*; the reproduction then passes at the level of the block (``level = "block"``, recorded
and shown) only if all of the following hold, and fails otherwise:

1. The smallest n reproduces trial by trial. Its training is short, and short training does not
   diverge across CPUs or kernels (measured: every trial within 0.3% up to n = 3·10⁴ on the AMD
   EPYC; at n = 10² within 0.01% on other kernels, below), so this pins the declared model, data,
   split and seeds; an entry forged everywhere, or made with another model, fails here.
2. No diverged trial's MAE is further from its re-run's than a divergence of float32 training goes:
   within `DIVERGED_MAE_RTOL` (20%). A cell moved halfway to the truth halves its MAE and fails.
   The predictions themselves are not bounded here: two equally good models disagree row by row
   far more than their MAEs do (measured below: up to a mean 68% of the MAE).
3. The block's mean MAE of the re-run is within `MAE_RTOL` of the entry's: the allowance of one trial,
   applied to the block's mean. This bounds what a forger can gain in the ranking to what a
   per-trial reproduction would allow every trial anyway.
4. The entry is not better than its re-run more often than chance: a divergence goes either way, a
   forgery one way. One-sided Wilcoxon signed-rank test on the block's paired MAEs (re-run minus
   entry), failing at p < `SIGN_P`; with fewer than 5 trials it cannot reach that level, so quick
   blocks (4 trials) rely on 1-3.

Measured (the bounds come from these). The ``mlp`` v4 full bandgap entry's sampled block (trials
25-49, n = 10² and 10⁵; ~15 CPU min) re-run on an Intel Xeon with AVX-512 reproduced bit for bit,
as on the machine that made it. Forced onto other kernels there (``ATEN_CPU_CAPABILITY=avx2
MKL_ENABLE_INSTRUCTIONS=AVX2``, standing in for another CPU; MKL picks its kernels by vendor as
well as by instruction set), n = 10² still agreed within 0.01% in MAE and 0.05% in predictions,
but at n = 10⁵ 8 of the 25 trials diverged: MAEs up to 14.2% apart (three more beyond 2%: 6.6%,
3.6%, 2.2%), predictions up to a mean 68% of the MAE apart, the block means 0.5680 against 0.5683
eV (0.06%), the signs 11 against 14 (Wilcoxon p = 0.85): a pass at block level, kept as a test
(``tests/data/reproduce/avx2-rerun.json``). The whole protocol re-run on an AMD EPYC with AVX-512
showed the same picture: per-trial MAEs up to 12.9% apart (15 of 100 trials beyond 2%), the
25-trial block means within 0.8%.

So the price of a reproduction on another CPU is bounded: a forged entry can hide at most a 2% gain
on a block mean, inside the noise of a re-run, and never a trial moved beyond the measured spread.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import S2RBenchError

PRED_RTOL = 0.05
MAE_RTOL = 0.02
DIVERGED_MAE_RTOL = 0.20
SIGN_P = 0.05
REPRODUCTIONS = "reproductions"


@dataclass
class Reproduction:
    entry: str
    content_hash: str
    units: list[dict[str, Any]] = field(default_factory=list)
    reproduced: bool = False
    problems: list[str] = field(default_factory=list)
    worst_pred_rel: float = 0.0
    worst_mae_rel: float = 0.0
    tolerance: dict[str, float] = field(
        default_factory=lambda: {
            "pred_rtol": PRED_RTOL,
            "mae_rtol": MAE_RTOL,
            "diverged_mae_rtol": DIVERGED_MAE_RTOL,
            "sign_p": SIGN_P,
        }
    )
    level: str = "trial"  # "block": some trials diverged and the block rule accepted them (`judge`)
    diverged: list[dict[str, Any]] = field(default_factory=list)
    blocks: list[dict[str, Any]] = field(default_factory=list)
    packages: dict[str, str] = field(default_factory=dict)
    device: str = "cpu"
    cpu: str = ""  # the CPU that re-ran the units (`s2rbench.sweep.provenance.cpu_description`)
    date: str = ""
    seconds: float = 0.0

    def describe(self) -> str:
        sizes, span = units_span(self.units)
        out = f"n = {sizes} · {span}"
        if self.level == "block":
            out += f" · {block_note(self.diverged)}"
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def units_span(units: list[dict[str, Any]]) -> tuple[str, str]:
    """("100, 100000", "trials 25–49"): the sizes and trials re-run, in words (the CLI, the page)."""
    ns = sorted({int(u["n"]) for u in units})
    trials = sorted({int(t) for u in units for t in u["trials"]})
    span = f"trial {trials[0]}" if len(trials) == 1 else f"trials {trials[0]}–{trials[-1]}"
    return ", ".join(map(str, ns)), span


def protocol_key(sub: dict[str, Any]) -> str:
    """A hash of what every entry of one measurement protocol shares (not of the entry: see the module docstring)."""

    p = sub["protocol"]
    shared = {
        "task": [sub["task"]["name"], sub["task"].get("hash")],
        "protocol": {k: p.get(k) for k in ("split", "test_fraction", "m", "seed", "exclude_overlap")},
        "sizes": [int(n) for n in sub["results"]["sizes"]],
        "trials": [int(t) for t in sub["results"]["trials"]],
    }
    return hashlib.sha256(json.dumps(shared, sort_keys=True).encode()).hexdigest()


def sample(sub: dict[str, Any], card: Any, model: Any = None) -> list[tuple[int, tuple[int, ...]]]:
    """The (n, trial block) units re-run: smallest and largest n of one trial block, chosen by `protocol_key`.

    The block has the size of the run's units (`trials_per_unit`): single trials for a ``model`` that
    declares ``trials_independent`` (see the module docstring), else the card's ``trial_block``.
    """
    from ..contracts.model import trials_per_unit

    trials = list(sub["results"]["trials"])
    block = trials_per_unit(model, card.protocol.trial_block)
    blocks = [tuple(trials[i : i + block]) for i in range(0, len(trials), block)]
    pick = blocks[int(protocol_key(sub)[:8], 16) % len(blocks)]
    sizes = sub["results"]["sizes"]
    return [(int(min(sizes)), pick), (int(max(sizes)), pick)]


def _versions(sub: dict[str, Any]) -> tuple[Any, Any, list[str]]:
    from ..plugins import get_featurizer, get_model, get_sampler

    out = []
    try:
        model = get_model(sub["model"]["name"]).with_params(**(sub["model"].get("hyperparameters") or {}))
    except S2RBenchError as exc:
        return None, None, [f"model: {exc}"]
    if str(model.version) != str(sub["model"]["version"]):
        out.append(
            f"model.version: declared {sub['model']['version']} but the installed {model.name} is v{model.version}; "
            "install the version the entry was made with"
        )
    feat = get_featurizer(sub["featurizer"]["name"])
    if str(feat.version) != str(sub["featurizer"]["version"]):
        out.append(
            f"featurizer.version: declared {sub['featurizer']['version']} but the installed {feat.name} is v{feat.version}"
        )
    s = sub.get("sampler") or {"name": "random", "version": None}
    sampler = get_sampler(s["name"])
    if s.get("version") not in (None, str(sampler.version)):
        out.append(f"sampler.version: declared {s['version']} but the installed {sampler.name} is v{sampler.version}")
    return model, sampler, out


def reproduce(sub: dict[str, Any], card: Any, data_dir: Any = None) -> Reproduction:
    """Re-run `sample` of ``sub`` and compare its predictions (see the module docstring)."""
    import time

    from ..sweep import predictions as P
    from ..sweep.prepare import prepare
    from ..sweep.provenance import cpu_description, package_versions
    from ..sweep.units import WorkUnit, run_unit
    from .submission import content_hash

    t0 = time.perf_counter()
    rep = Reproduction(
        entry=sub["id"],
        content_hash=content_hash(sub),
        packages=package_versions(),
        cpu=cpu_description(),
        date=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    pred = sub["results"].get("predictions")
    if pred is None:
        rep.problems.append(
            "results.predictions: the entry carries no predictions (made before they were kept); nothing to compare"
        )
        return rep
    model, sampler, problems = _versions(sub)
    if problems:
        rep.problems += problems
        return rep
    p = sub["protocol"]
    prep = prepare(
        card,
        sub["featurizer"]["name"],
        data_dir=data_dir,
        exclude_overlap=bool(p.get("exclude_overlap")),
        split=p["split"],
    )
    sizes = sub["results"]["sizes"]
    index = {t: i for i, t in enumerate(sub["results"]["trials"])}
    compared: list[list[dict[str, Any]]] = []
    for n, trials in sample(sub, card, model):
        unit = WorkUnit(
            card.name,
            model.name,
            sub["featurizer"]["name"],
            n,
            int(p["m"]),
            trials,
            int(p["seed"]),
            sampler.name,
            max(sizes),
        )
        rows = run_unit(unit, prep, model, "cpu", sampler)
        rep.units.append({"n": n, "m": int(p["m"]), "trials": list(trials)})
        j = sizes.index(n)
        cells = []
        for row in rows:
            i = index[row["trial"]]
            mine = P.from_blob(row[P.KEY]).astype(np.float64)
            theirs = P.decode(pred["sizes"][i][j])
            mae = float(sub["results"]["mae"][i][j])
            if mine.shape != theirs.shape:
                rep.problems.append(
                    f"n={n}, trial {row['trial']}: {mine.size} test predictions re-run, {theirs.size} in the entry"
                )
                continue
            d_pred = float(np.mean(np.abs(mine - theirs))) / max(mae, 1e-300)
            cells.append(
                {"n": n, "trial": row["trial"], "entry_mae": mae, "rerun_mae": float(row["mae"]), "d_pred": d_pred}
            )
        compared.append(cells)
    if not rep.problems:
        judge(rep, compared)
    rep.reproduced = not rep.problems
    rep.seconds = round(time.perf_counter() - t0, 1)
    return rep


def _rel(cell: dict[str, Any]) -> float:
    return abs(cell["rerun_mae"] - cell["entry_mae"]) / max(cell["entry_mae"], 1e-300)


def _matches(cell: dict[str, Any]) -> bool:
    return cell["d_pred"] <= PRED_RTOL and _rel(cell) <= MAE_RTOL


def _one_line(cell: dict[str, Any]) -> str:
    return (
        f"n={cell['n']}, trial {cell['trial']}: re-run predictions differ by a mean {cell['d_pred']:.2%} of the MAE "
        f"(allowed {PRED_RTOL:.0%}), MAE {cell['rerun_mae']:.6g} vs the entry's {cell['entry_mae']:.6g} "
        f"({_rel(cell):.2%}, allowed {MAE_RTOL:.0%})"
    )


def block_note(diverged: list[dict[str, Any]]) -> str:
    """What a block-level pass accepted, in words (the CLI, the page)."""
    worst = max((abs(d["d_mae"]) for d in diverged), default=0.0)
    ns = sorted({int(d["n"]) for d in diverged})
    return (
        f"{len(diverged)} trial{'s' if len(diverged) != 1 else ''} at n = {', '.join(map(str, ns))} diverged "
        f"(worst |ΔMAE| {worst:.1%}), accepted at block level"
    )


def judge(rep: Reproduction, units: list[list[dict[str, Any]]]) -> None:
    """Apply the per-trial allowance and, where trials diverged, the block rule (module docstring).

    ``units`` holds one list of compared cells per re-run unit, the smallest n first; each cell has
    ``n``, ``trial``, ``entry_mae``, ``rerun_mae`` and ``d_pred`` (mean |Δprediction| / the entry's
    MAE). Fills ``rep``'s worst figures, ``problems``, ``level``, ``diverged`` and ``blocks``.
    """
    from scipy.stats import wilcoxon

    cells = [c for unit in units for c in unit]
    rep.worst_pred_rel = max([rep.worst_pred_rel] + [c["d_pred"] for c in cells])
    rep.worst_mae_rel = max([rep.worst_mae_rel] + [_rel(c) for c in cells])
    if all(_matches(c) for c in cells):
        return
    first = units[0] if units else []
    problems: list[str] = []
    if any(not _matches(c) for c in first):
        rep.problems += [_one_line(c) for c in first if not _matches(c)]
        rep.problems.append(
            f"n={first[0]['n']} (the smallest n) must reproduce trial by trial: short training does not diverge "
            "across CPUs, so a difference there is a different model, data or split"
        )
        return
    for unit in units[1:]:
        bad = [c for c in unit if not _matches(c)]
        if not bad:
            continue
        problems += [
            f"n={c['n']}, trial {c['trial']}: MAE {c['rerun_mae']:.6g} re-run vs the entry's {c['entry_mae']:.6g} "
            f"({_rel(c):.2%}): beyond what a divergence of float32 training gives (allowed {DIVERGED_MAE_RTOL:.0%})"
            for c in bad
            if _rel(c) > DIVERGED_MAE_RTOL
        ]
        entry = float(np.mean([c["entry_mae"] for c in unit]))
        rerun = float(np.mean([c["rerun_mae"] for c in unit]))
        rel = abs(rerun - entry) / max(entry, 1e-300)
        diff = np.array([c["rerun_mae"] - c["entry_mae"] for c in unit])
        p_value = float(wilcoxon(diff, alternative="greater").pvalue) if np.any(diff != 0) else 1.0
        rep.blocks.append(
            {"n": unit[0]["n"], "entry_mean": entry, "rerun_mean": rerun, "rel": rel, "wilcoxon_p": p_value}
        )
        if rel > MAE_RTOL:
            problems.append(
                f"n={unit[0]['n']}: {len(bad)} trial(s) diverged and the block's mean MAE re-runs at {rerun:.6g} "
                f"against the entry's {entry:.6g} ({rel:.2%}, allowed {MAE_RTOL:.0%})"
            )
        if p_value < SIGN_P:
            problems.append(
                f"n={unit[0]['n']}: the entry's MAEs are lower than their re-runs' in "
                f"{int(np.sum(diff > 0))} of {diff.size} trials (one-sided Wilcoxon p = {p_value:.3g} < {SIGN_P}): "
                "a divergence of float32 training goes either way, a forgery one way"
            )
        rep.diverged += [
            {"n": int(c["n"]), "trial": int(c["trial"]), "d_pred": c["d_pred"], "d_mae": _rel(c)} for c in bad
        ]
    rep.problems += problems
    rep.level = "block"


def record_path(root: Path, sub: dict[str, Any]) -> Path:
    return Path(root) / REPRODUCTIONS / sub["task"]["name"] / f"{sub['id']}.json"


def write_record(root: Path, sub: dict[str, Any], rep: Reproduction) -> Path:
    path = record_path(root, sub)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rep.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def read_record(root: Path, sub: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """(record, None), (None, None) when there is none, or (None, problem)."""
    from .safety import InputTooLarge, read_bounded

    path = record_path(root, sub)
    if not path.is_file():
        return None, None
    try:
        rec = read_bounded(path, max_bytes=64 * 1024)
    except (InputTooLarge, OSError, ValueError) as exc:
        return None, f"{path}: unreadable reproduction record ({exc}); rerun `s2rbench leaderboard reproduce --record`"
    from .submission import content_hash

    if not isinstance(rec, dict) or rec.get("content_hash") != content_hash(sub) or rec.get("entry") != sub["id"]:
        return (
            None,
            f"{path}: the reproduction record is not of this entry's content; rerun `s2rbench leaderboard reproduce --record`",
        )
    if not _well_formed(rec):
        return None, f"{path}: malformed reproduction record; rerun `s2rbench leaderboard reproduce --record`"
    return rec, None


def _well_formed(rec: dict[str, Any]) -> bool:
    """The fields the page reads have the types it formats: units (n, trials) and, at block level,
    the diverged trials (n, trial, d_mae)."""
    units, diverged = rec.get("units"), rec.get("diverged") or []
    return (
        isinstance(units, list)
        and all(
            isinstance(u, dict) and isinstance(u.get("n"), int) and isinstance(u.get("trials"), list) for u in units
        )
        and rec.get("level", "trial") in ("trial", "block")
        and all(
            isinstance(d, dict)
            and isinstance(d.get("n"), int)
            and isinstance(d.get("trial"), int)
            and isinstance(d.get("d_mae"), (int, float))
            for d in diverged
        )
    )
