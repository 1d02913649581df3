"""Preparing a task once: its two tables, canonical inputs, features and overlap, in the arrays every
unit of work indexes into."""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..contracts import protocol as proto
from ..contracts.featurizer import Featurizer, InvalidInputsWarning
from ..errors import S2RBenchError
from ..overlap import canonical_ids
from ..plugins import get_featurizer
from ..tasks import TaskCard, get_task, load_tables
from ..tasks.featurecache import cached_featurize
from ..tasks.repeats import aggregate_side, repeat_groups

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Preparing a task: tables, canonical inputs, features, overlap
# ---------------------------------------------------------------------------------------------


@dataclass
class Prepared:
    """A task's two tables featurized once, in the arrays every unit indexes into."""

    card: TaskCard
    featurizer: Featurizer
    X_sim: np.ndarray
    y_sim: np.ndarray
    X_real: np.ndarray
    y_real: np.ndarray
    groups: np.ndarray | None
    sim_inputs: list[str]
    real_inputs: list[str]
    feature_names: list[str]
    sim_key: str
    real_key: str
    invalid: dict[str, int] = field(default_factory=dict)
    invalid_examples: dict[str, list[str]] = field(default_factory=dict)
    overlap: int = 0
    excluded_overlap: int = 0
    sim_families: np.ndarray | None = None
    input_ids: tuple[np.ndarray, np.ndarray] | None = None  # canonical inputs as integer ids (s2rbench.overlap)

    def data_info(self) -> dict[str, Any]:
        return {
            "sim_rows": len(self.y_sim),
            "real_rows": len(self.y_real),
            "features": int(self.X_sim.shape[1]),
            "sim_fingerprint": self.sim_key,
            "real_fingerprint": self.real_key,
            "invalid_inputs": dict(self.invalid),
            "real_inputs_in_sim": int(self.overlap),
            "sim_rows_excluded_for_overlap": int(self.excluded_overlap),
        }


def split_groups(split: str, frame: pd.DataFrame, canon: list[str], conditions: Any) -> np.ndarray | None:
    """The groups the real train/test split keeps together, for the valid real rows ``frame``
    (canonical inputs ``canon``): the card's ``group`` column (or the first part of a multi-part
    input) for a group split; for a random split the copies of one input (None when none repeats).
    The one rule, used by `prepare` and by the leaderboard's rescoring."""
    if split not in ("random", "group"):
        raise S2RBenchError(f"--split {split!r} must be 'random' or 'group'")
    if split == "group":
        if "group" in frame:
            return frame["group"].to_numpy(dtype=str)
        return np.array([c.split("|")[0] for c in canon], dtype=str)
    return repeat_groups(canon, frame, conditions)


def prepare(
    task: str | TaskCard,
    featurizer: str | None = None,
    *,
    data_dir: str | os.PathLike | None = None,
    exclude_overlap: bool = False,
    use_cache: bool = True,
    split: str | None = None,
) -> Prepared:
    card = task if isinstance(task, TaskCard) else get_task(task)
    feat: Featurizer = get_featurizer(featurizer or card.featurizer)
    if feat.input_kind != card.input_kind:
        raise S2RBenchError(
            f"featurizer {feat.name!r} reads {feat.input_kind!r} inputs, but task {card.name!r} has {card.input_kind!r} inputs; "
            "choose a matching --featurizer (see `s2rbench list featurizers`)"
        )
    tables = load_tables(card, data_dir)
    sides: dict[str, Any] = {}
    invalid: dict[str, int] = {}
    examples: dict[str, list[str]] = {}
    for side in ("sim", "real"):
        frame: pd.DataFrame = getattr(tables, side)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", InvalidInputsWarning)
            fm = cached_featurize(feat, frame["input"].tolist(), what=f"{card.name} {side}", use_cache=use_cache)
        for w in caught:
            if issubclass(w.category, InvalidInputsWarning):
                warnings.warn(f"task {card.name!r}: {w.message}", InvalidInputsWarning, stacklevel=2)
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        keep = np.ones(len(frame), bool)
        keep[fm.invalid] = False
        invalid[side] = int((~keep).sum())
        examples[side] = fm.invalid_inputs[:10]
        X = fm.X[keep]
        conds = [frame[c].to_numpy(dtype=float)[keep][:, None] for c in tables.conditions]
        if conds:
            X = np.hstack([X, *conds])
        canon = fm.canonical
        sides[side] = {
            "X": np.ascontiguousarray(X, dtype=np.float32),
            "y": frame["target"].to_numpy(dtype=np.float32)[keep],
            "frame": frame[keep].reset_index(drop=True),
            "canon": [c for c, k in zip(canon, keep) if k],
        }
    sim_set = set(sides["sim"]["canon"])
    overlap = sum(c in sim_set for c in sides["real"]["canon"])
    excluded = 0
    if exclude_overlap:
        real_set = set(sides["real"]["canon"])
        keep = np.array([c not in real_set for c in sides["sim"]["canon"]], bool)
        excluded = int((~keep).sum())
        s = sides["sim"]
        sides["sim"] = {
            "X": s["X"][keep],
            "y": s["y"][keep],
            "frame": s["frame"][keep].reset_index(drop=True),
            "canon": [c for c, k in zip(s["canon"], keep) if k],
        }
    if len(sides["sim"]["y"]) == 0 or len(sides["real"]["y"]) < 3:
        raise S2RBenchError(
            f"task {card.name!r}: too few valid rows after featurizing (sim {len(sides['sim']['y'])}, real {len(sides['real']['y'])}); check the inputs"
        )
    sides["sim"] = aggregate_side(sides["sim"], card.sim.aggregate, tables.conditions)  # [sim] aggregate (default keep)
    groups = split_groups(
        split or card.protocol.split, sides["real"]["frame"], sides["real"]["canon"], tables.conditions
    )
    names = list(fm.names) + list(tables.conditions)
    return Prepared(
        card=card,
        featurizer=feat,
        X_sim=sides["sim"]["X"],
        y_sim=sides["sim"]["y"],
        X_real=sides["real"]["X"],
        y_real=sides["real"]["y"],
        groups=groups,
        sim_inputs=sides["sim"]["canon"],
        real_inputs=sides["real"]["canon"],
        feature_names=names,
        sim_key=proto.fingerprint(sides["sim"]["frame"]),
        real_key=proto.fingerprint(sides["real"]["frame"]),
        invalid=invalid,
        invalid_examples=examples,
        overlap=overlap,
        excluded_overlap=excluded,
        input_ids=canonical_ids(sides["sim"]["canon"], sides["real"]["canon"]),
    )
