"""How `s2rbench compare` names runs: by what differs between them, never by what one version lacks."""

from __future__ import annotations

from pathlib import Path

from s2rbench.analysis.compare import _labels


def test_a_hyperparameter_only_the_newer_version_has_is_not_a_label_difference():
    old = {"model_version": "4", "hyperparameters": {"lr": 0.001, "batch_size": 64}}
    new = {"model_version": "5", "hyperparameters": {"lr": 0.001, "batch_size": 64, "pretrain_loss": "auto"}}
    dirs = [Path("runs/a"), Path("runs/b")]
    assert _labels([old, new], ["hyperparameters", "model_version"], dirs) == ["defaults · 4", "defaults · 5"]
    # A setting both runs record and that differs is still named.
    tuned = {"model_version": "5", "hyperparameters": {"lr": 0.003, "batch_size": 64, "pretrain_loss": "auto"}}
    assert _labels([new, tuned], ["hyperparameters"], dirs) == ["lr=0.001", "lr=0.003"]
