"""What is installed, as plain rows: tasks, models, featurizers and plugins (for `list` and `plugins`)."""

from __future__ import annotations

import os
from dataclasses import asdict
from typing import Any

from .registry import get_registry


def _origin(kind: str, name: str) -> str:
    info = get_registry().origin.get((kind, name))
    return f"{info.name} ({info.distribution} {info.version})" if info else "?"


def task_details(card, data_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    from .sweep import prepare

    prep = prepare(card, data_dir=data_dir)
    return prep.data_info()


def catalog(
    kind: str = "all", *, details: bool = False, data_dir: str | None = None
) -> dict[str, list[dict[str, Any]]]:
    reg = get_registry()
    out: dict[str, list[dict[str, Any]]] = {}
    if kind in ("tasks", "all"):
        rows = []
        for name, card in sorted(reg.tasks.items()):
            row = {
                "name": name,
                "version": card.version,
                "input": card.input_kind,
                "target": f"{card.target_name} ({card.unit})",
                "featurizer": card.featurizer,
                "plugin": _origin("tasks", name),
            }
            if details:
                info = task_details(card, data_dir)
                row.update(
                    {
                        "sim rows": info["sim_rows"],
                        "real rows": info["real_rows"],
                        "real in sim": info["real_inputs_in_sim"],
                        "invalid (sim/real)": "{}/{}".format(
                            info["invalid_inputs"].get("sim", 0), info["invalid_inputs"].get("real", 0)
                        ),
                    }
                )
            rows.append(row)
        out["tasks"] = rows
    if kind in ("models", "all"):
        out["models"] = [
            {"name": n, "version": m.version, "description": m.description, "plugin": _origin("models", n)}
            for n, m in sorted(reg.models.items())
        ]
    if kind in ("featurizers", "all"):
        out["featurizers"] = [
            {
                "name": n,
                "version": f.version,
                "input": f.input_kind,
                "description": f.description,
                "plugin": _origin("featurizers", n),
            }
            for n, f in sorted(reg.featurizers.items())
        ]
    if kind in ("samplers", "all"):
        out["samplers"] = [
            {"name": n, "version": s.version, "description": s.description, "plugin": _origin("samplers", n)}
            for n, s in sorted(reg.samplers.items())
        ]
    return out


def plugin_table() -> tuple[list[dict[str, Any]], list[str]]:
    """One row per loaded plugin: where it comes from, the hooks it implements, what it registered."""
    reg = get_registry()
    rows = [{**asdict(p), "hooks": reg.hooks_of(p), "provides": reg.provided_by(p)} for p in reg.plugins]
    return rows, list(reg.problems)
