"""``roost``: Roost (Goodall & Lee, Nat. Commun. 11, 6280 (2020)) from ``aviary-models``, pretrained
on simulated compositions and fine-tuned on real ones.

Why this model: every other built-in model reads a descriptor vector; Roost learns its own
representation from the stoichiometry (a dense graph of the elements, weighted by their fractions,
with attention message passing), and its authors showed it transfers from DFT to experimental band
gaps, the setting of the ``bandgap`` task. The network, its element embeddings (``matscholar200``,
shipped inside the package: nothing is downloaded at run time), the minibatch collation
(`aviary.roost.data.collate_batch`), the target normalizer (`aviary.data.Normalizer`) and the
robust loss (`aviary.losses.robust_l1_loss`) are aviary's own; this module only adapts them to the
plugin contract. It is an optional extra: ``pip install 's2rbench[roost]'``. Without aviary the
plugin is skipped with one line in ``s2rbench plugins``; nothing else changes.

Input: compositions, not descriptors. The model decodes the columns of the ``composition-elements``
featurizer (``s2rbench_plugins.featurizers.elements``: atomic numbers and atomic fractions of up to
K elements) and builds, for each row, exactly the inputs aviary's ``CompositionData`` builds from a
formula (fractional weights, atomic numbers as embedding indices, all ordered element pairs
including self-pairs). Any other featurizer is refused with one ``Error:`` line.

Procedure for one trial
-----------------------
1. Initial weights from the trial seed (the torch CPU generator is forked, seeded and restored, so
   the process's global random state is untouched and the same seed gives the same network on any
   device).
2. Pretraining (n > 0): the trial's n simulated rows (non-finite targets dropped) are split into
   training and validation rows (``val_fraction``, drawn from the trial seed); targets are
   standardized with aviary's ``Normalizer`` fitted on them; AdamW (``lr``, ``weight_decay``) on the
   L1 loss (or aviary's robust L1 with ``robust=True``), early stopping on the validation MAE
   (``pretrain_patience`` rounds, at most ``pretrain_epochs``), best weights restored.
3. Fine-tuning, ALL weights: the trial's real training rows (``train_mask`` False rows are never
   used) are split into training and validation rows the same way (at least one validation row
   from 5 rows on; below that the training rows are monitored). For every learning rate of
   ``finetune_lrs``, training restarts from the pretrained weights with a fresh AdamW and runs
   with early stopping (``finetune_patience``, at most ``finetune_epochs`` rounds); the pretrained
   weights themselves are the round-0 candidate. The (learning rate, round) with the lowest
   validation MAE wins; its weights predict. ``selected`` records, per trial, ``{"lr", "epochs",
   "val_mae", "val_rows", "pretrain_epochs"}``. The normalizer of pretraining is kept (as the
   ``mlp`` keeps its scalers: the pretrained function is the starting point, a sim-to-real offset is
   learnt by the weights).
4. n == 0 (the scratch baseline): no pretraining; the normalizer is fitted on the real training
   rows, and the same learning-rate grid and early stopping run from the seeded initial weights
   (round 0, an untrained network, is not a candidate).

One round is ``max(ceil(rows / batch_size), min_steps_per_epoch)`` minibatch steps from a stream of
the stage's shuffled training rows (reshuffled when exhausted), drawn from the trial seed.

Determinism: every draw comes from the trial seed; trials are trained one after another with the
same code, so a trial's predictions do not depend on the block it is in, and the same block gives
the same predictions (on a CPU, for a fixed number of torch threads; on CUDA aviary's scatter
reductions use atomics, so bit-equality is not promised there).

Defaults: aviary's own defaults for the network (those of the paper: ``elem_fea_len=64``, 3
message-passing layers of 3 heads, 3 pooling heads, gate and message networks (256,), trunk
(1024, 512), output (256, 128, 64); 2.3 M weights including the trainable 104 x 200 element embedding) and aviary's
example training settings (AdamW, ``lr=3e-4``, ``weight_decay=1e-6``, ``batch_size=128``, L1
loss). ``finetune_lrs=(3e-5, 1e-4, 3e-4)``: from a tenth of the pretraining rate up to it.

``roost-small`` is a named, smaller configuration of the same model (recorded like any
hyperparameter, and under its own name on a leaderboard): ``elem_fea_len=32``, 2 message-passing
layers, gate/message networks (128,), trunk (256, 128), output (128, 64), ``pretrain_epochs=30``,
``finetune_epochs=50``, ``finetune_lrs=(1e-4, 3e-4)``. It exists because the paper's network costs
hours per quick run on a 2-core CPU (README, "Roost"); it is not the model of the paper.

Cost (measured on the shared 2-core development CPU, one torch thread, side by side in one
process): a training step on 128 compositions takes 0.62 s with the paper's network and 0.13 s
with ``roost-small`` (4.9x); prediction 1.0 ms and 0.22 ms per composition. A pretraining round
is ``ceil(0.9 n / batch_size)`` steps, so the n = 100,000 rows of ``bandgap`` cost ~700 steps a
round (7 min of the paper's network per round) and dominate any sweep; README ("Roost") prices
the quick and full protocols. On CUDA (``block.device``) the same code runs on the GPU; no GPU
was available when this was written, so that path is untested here.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import math
from typing import Any

import numpy as np

from s2rbench.contracts.model import Model, TrainingBlock
from s2rbench.errors import S2RBenchError
from s2rbench.hookspecs import hookimpl

__all__ = ["Roost", "RoostSmall", "register_models"]

_LAYER_KEYS = ("elem_gate", "elem_msg", "cry_gate", "cry_msg", "trunk_hidden", "out_hidden")
_EMBEDDINGS = {"matscholar200": 200, "cgcnn92": 92, "megnet16": 16, "onehot112": 112}


def _linear_params(sizes: list[int]) -> int:
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def roost_param_count(hp: dict[str, Any]) -> int:
    """Number of weights of aviary's Roost for these hyperparameters (computed, no torch needed)."""
    f = int(hp["elem_fea_len"])
    emb = _EMBEDDINGS.get(str(hp["elem_embedding"]), 200)
    gate, msg = list(hp["elem_gate"]), list(hp["elem_msg"])
    count = 119 * emb + emb * (f - 1) + (f - 1)  # embedding table (upper bound) + input projection
    head = _linear_params([2 * f, *gate, 1]) + _linear_params([2 * f, *msg, f]) + 1
    count += int(hp["n_graph"]) * int(hp["elem_heads"]) * head
    count += int(hp["cry_heads"]) * (
        _linear_params([f, *hp["cry_gate"], 1]) + _linear_params([f, *hp["cry_msg"], f]) + 1
    )
    for dims, out in (
        ([f, *hp["trunk_hidden"]], hp["out_hidden"][0]),
        (list(hp["out_hidden"]), 2 if hp["robust"] else 1),
    ):
        count += _linear_params([*dims, out]) + sum(a * b for a, b in zip(dims[:-1], dims[1:]) if a != b)
    return int(count)


class Roost(Model):
    """Roost (aviary-models) pretrained on simulated compositions, fine-tuned (all weights) on real ones."""

    name = "roost"
    version = "1"
    #: trials train one after another from their own seeds: the harness runs one trial per unit, so
    #: a stopped run loses at most one trial (46 CPU min for ``roost-small`` at n = 10⁵) and
    #: ``--workers`` trains the trials of one n side by side
    trials_independent = True
    description = (
        "Roost (Goodall & Lee 2020, aviary-models): message passing over the stoichiometry; pretrained on "
        "sim, all weights fine-tuned on real with lr and length chosen on validation rows; needs "
        "--featurizer composition-elements and the extra s2rbench[roost]"
    )
    defaults: dict[str, Any] = {
        "elem_embedding": "matscholar200",
        "elem_fea_len": 64,
        "n_graph": 3,
        "elem_heads": 3,
        "elem_gate": (256,),
        "elem_msg": (256,),
        "cry_heads": 3,
        "cry_gate": (256,),
        "cry_msg": (256,),
        "trunk_hidden": (1024, 512),
        "out_hidden": (256, 128, 64),
        "robust": False,
        "lr": 3e-4,
        "weight_decay": 1e-6,
        "batch_size": 128,
        "pretrain_epochs": 100,
        "pretrain_patience": 10,
        "finetune_lrs": (3e-5, 1e-4, 3e-4),
        "finetune_epochs": 100,
        "finetune_patience": 10,
        "val_fraction": 0.1,
        "min_steps_per_epoch": 10,
        "eval_batch_size": 1024,
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self.params
        for key in (*_LAYER_KEYS, "finetune_lrs"):
            value = p[key]
            if isinstance(value, (int, float)):
                value = (value,)
            if not isinstance(value, (list, tuple)) or not value:
                raise S2RBenchError(f"model {self.name!r}: {key} must be a non-empty list of numbers, got {value!r}")
            p[key] = tuple(float(v) if key == "finetune_lrs" else int(v) for v in value)
        if str(p["elem_embedding"]) not in _EMBEDDINGS:
            raise S2RBenchError(
                f"model {self.name!r}: elem_embedding must be one of {', '.join(_EMBEDDINGS)} (shipped with aviary), "
                f"got {p['elem_embedding']!r}"
            )
        for key in ("elem_fea_len", "n_graph", "elem_heads", "cry_heads", "batch_size", "pretrain_epochs",
                    "finetune_epochs", "min_steps_per_epoch", "eval_batch_size"):  # fmt: skip
            if not isinstance(p[key], int) or isinstance(p[key], bool) or p[key] < 1 or p[key] > 1_000_000:
                raise S2RBenchError(f"model {self.name!r}: {key} must be a positive integer, got {p[key]!r}")
        if p["elem_fea_len"] < 2:
            raise S2RBenchError(f"model {self.name!r}: elem_fea_len must be at least 2")
        for key in ("pretrain_patience", "finetune_patience"):
            if not isinstance(p[key], int) or p[key] < 0:
                raise S2RBenchError(f"model {self.name!r}: {key} must be a non-negative integer, got {p[key]!r}")
        if not 0.0 <= float(p["val_fraction"]) < 1.0:
            raise S2RBenchError(f"model {self.name!r}: val_fraction must be in [0, 1), got {p['val_fraction']!r}")
        if not all(math.isfinite(v) and v > 0 for v in (float(p["lr"]), *p["finetune_lrs"])):
            raise S2RBenchError(f"model {self.name!r}: learning rates must be positive numbers")

    @property
    def hyperparameters(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.params.items()}

    # ------------------------------------------------------------------------------------------
    # Memory (issue contract: the core never knows a model's internals)
    # ------------------------------------------------------------------------------------------

    def state_bytes(self, n: int, m: int, d: int, n_real: int) -> tuple[int, int]:
        """(once, per_trial) bytes. Trials train one after another, so everything is ``once``:
        the per-row aviary inputs of the pretraining and real rows (tensors of a K-element
        composition: ~K² pair indices; with Python object overhead ~1.5 KB a row at K = 8), the
        weights with their gradients, two AdamW moments, the best and the pretrained copies (6
        float32 copies), and the activations of one training minibatch and one evaluation chunk
        (each element pair carries the message features through every head and layer, with
        autograd keeping them for the backward pass). Per trial: its predictions and indices."""
        hp = self.params
        k = max(1, int(d) // 2)
        pairs = k * k
        f = int(hp["elem_fea_len"])
        widest = max(*hp["elem_gate"], *hp["elem_msg"], 2 * f)
        per_row_inputs = 200 + 12 * k + 16 * pairs + 1024
        weights = 6 * 4 * roost_param_count(hp)
        rows = int(hp["batch_size"]) + int(hp["eval_batch_size"])
        heads = int(hp["n_graph"]) * int(hp["elem_heads"]) + int(hp["cry_heads"])
        acts = 4 * 3 * rows * (pairs * heads * (widest + 3 * f) + sum(hp["trunk_hidden"]) + sum(hp["out_hidden"]))
        once = per_row_inputs * (int(n) + int(n_real)) + weights + acts
        per_trial = 8 * (2 * int(n) + 3 * int(m) + 2 * int(n_real))
        return int(once), int(per_trial)

    # ------------------------------------------------------------------------------------------
    # Training
    # ------------------------------------------------------------------------------------------

    def fit_predict(self, block: TrainingBlock) -> np.ndarray:
        from . import _roost_train  # torch and aviary are imported here, never at plugin load

        preds, selected = _roost_train.fit_predict_block(self.params, block)
        self.selected = selected
        return preds

    #: fast settings for the check kit (s2rbench.testing): a tiny network and a few rounds
    check_params: dict[str, Any] = {
        "elem_fea_len": 8,
        "n_graph": 1,
        "elem_heads": 1,
        "cry_heads": 1,
        "elem_gate": (8,),
        "elem_msg": (8,),
        "cry_gate": (8,),
        "cry_msg": (8,),
        "trunk_hidden": (16,),
        "out_hidden": (8,),
        "batch_size": 16,
        "pretrain_epochs": 2,
        "pretrain_patience": 2,
        "finetune_epochs": 2,
        "finetune_patience": 2,
        "finetune_lrs": (1e-3,),
        "min_steps_per_epoch": 1,
    }

    @staticmethod
    def check_features(rng: Any, rows: int) -> Any:
        """Valid composition-elements rows for the check kit: random binary and ternary compositions."""
        from s2rbench_plugins.featurizers.elements import DEFAULT_MAX_ELEMENTS, encode_formulas

        symbols = ("Li", "Na", "Mg", "Al", "Si", "Ti", "Fe", "Zn", "O", "S", "N", "F")
        formulas = []
        for _ in range(rows):
            k = int(rng.integers(2, 4))
            els = rng.choice(len(symbols), size=k, replace=False)
            formulas.append("".join(f"{symbols[e]}{int(rng.integers(1, 4))}" for e in els))
        return encode_formulas(formulas, DEFAULT_MAX_ELEMENTS)[0]


class RoostSmall(Roost):
    """A named smaller configuration of ``roost`` (see the module docstring); not the paper's network."""

    name = "roost-small"
    description = (
        "roost with a smaller network and shorter training (elem_fea_len 32, 2 graph layers, trunk (256,128)); "
        "a named reduced configuration for CPUs, not the paper's model"
    )
    defaults = {
        **Roost.defaults,
        "elem_fea_len": 32,
        "n_graph": 2,
        "elem_gate": (128,),
        "elem_msg": (128,),
        "cry_gate": (128,),
        "cry_msg": (128,),
        "trunk_hidden": (256, 128),
        "out_hidden": (128, 64),
        "pretrain_epochs": 30,
        "finetune_epochs": 50,
        "finetune_lrs": (1e-4, 3e-4),
    }


def aviary_available() -> bool:
    """Whether aviary-models is installed (a cheap check of the installed distributions: nothing is
    imported; another PyPI package is also called ``aviary``, so the import name alone is not enough)."""
    try:
        importlib.metadata.distribution("aviary-models")
    except importlib.metadata.PackageNotFoundError:
        return False
    return importlib.util.find_spec("aviary") is not None


@hookimpl
def register_models(register):
    if not aviary_available():
        raise S2RBenchError("roost needs aviary-models: pip install 's2rbench[roost]'")
    register(Roost())
    register(RoostSmall())
